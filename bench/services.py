"""Real processes and servers a scenario needs besides the emulators: the Django app on an
ephemeral port (for webhooks) and a django-q2 cluster in a child process (the worker)."""

from __future__ import annotations

import os
import signal
import socketserver
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from django.core.wsgi import get_wsgi_application
from django.db import connections

from bench.runs import MANAGE


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - wsgiref's signature
        pass

    def finish(self) -> None:
        """Each request has a thread of its own here (a real server reuses its threads): the
        thread's database connection is closed with it, or persistent connections (CONN_MAX_AGE)
        pile up until PostgreSQL refuses more clients."""
        try:
            super().finish()
        finally:
            connections.close_all()


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


@dataclass
class RunningSite:
    server: WSGIServer
    thread: threading.Thread
    base_url: str

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve_site() -> RunningSite:
    """The Django app (webhook endpoints included) on 127.0.0.1 and a free port, in threads."""
    server = _ThreadingServer(("127.0.0.1", 0), _QuietHandler)
    server.set_app(get_wsgi_application())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True, name="bench-site")
    thread.start()
    return RunningSite(server, thread, f"http://127.0.0.1:{server.server_address[1]}")


class Worker:
    """`manage.py qcluster` as a child process in its own process group, so that SIGKILL takes
    the cluster's sentinel, pusher, monitor and workers down together, as a machine crash would."""

    def __init__(self, env: dict[str, str], log_path: str | None = None):
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self.kills = 0

    def start(self) -> None:
        # The child keeps its own copy of the log's descriptor; ours is closed once it has started.
        with open(self.log_path or os.devnull, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, MANAGE, "qcluster"], env=self.env, stdout=log, stderr=log, start_new_session=True
            )

    def kill(self) -> None:
        """SIGKILL, no warning, no clean-up: what the soak proves the design survives."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self.kills += 1
        self.process = None

    def stop(self) -> None:
        """A clean stop (SIGTERM to the group, then SIGKILL if it lingers)."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None


def wait_until(condition, timeout: float, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()
