"""Fixtures for the security tests: a TCP listener that counts every connection made to it."""

from __future__ import annotations

import socket
import threading

import pytest


class CountingListener:
    """A socket on 127.0.0.1 that accepts, counts and drops connections: every vendor base URL of
    the webhook tests points here, so any outbound call the server makes is counted."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.connections = 0
        self.requests: list[bytes] = []
        self.answer = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            with conn:
                conn.settimeout(1.0)
                try:
                    self.requests.append(conn.recv(65536))
                    conn.sendall(self.answer)
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def listener():
    server = CountingListener()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The lock-out notice is remembered in the cache (tenants.throttle): start each test without it."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
