"""The HTTP seam checks every connection at connect time: the resolved address must be public
(IPv4, IPv6, and IPv4 hidden in mapped / 6to4 / NAT64 / Teredo forms); emulator hosts are
allowed in development only. A counting listener on loopback proves nothing got through."""

from __future__ import annotations

import socket

import pytest
from httpx_retries import Retry

from connectors.base import ConnectorError, ErrorKind
from connectors.http import VendorHttp

HOSTILE = [
    "127.0.0.1",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[64:ff9b::7f00:1]",
    "[2002:7f00:1::]",
    "[::7f00:1]",
    "0.0.0.0",
    "169.254.169.254",
    "10.0.0.5",
    "[fd00::1]",
    "[fe80::1]",
    "localhost",
]


@pytest.fixture
def no_emulator_hosts(settings):
    settings.SYNCSMART_ALLOWED_EMULATOR_HOSTS = []


def _get(base_url: str):
    http = VendorHttp(base_url, system="Vendor", retry=Retry(total=2, backoff_factor=0))
    try:
        return http.request("GET", "/")
    finally:
        http.close()


@pytest.mark.parametrize("host", HOSTILE)
def test_private_and_loopback_addresses_are_refused_at_connect_time(no_emulator_hosts, listener, host):
    with pytest.raises(ConnectorError) as refused:
        _get(f"http://{host}:{listener.port}")
    assert refused.value.kind == ErrorKind.CONFIG
    assert "public" in refused.value.message
    assert listener.connections == 0


def test_a_name_is_checked_by_what_it_resolves_to_when_connecting(no_emulator_hosts, listener, monkeypatch):
    real = socket.getaddrinfo

    def rebinding(host, *args, **kwargs):
        if host == "crm.vendor.example":
            return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("64:ff9b::7f00:1", listener.port, 0, 0))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with pytest.raises(ConnectorError) as refused:
        _get(f"https://crm.vendor.example:{listener.port}")
    assert refused.value.kind == ErrorKind.CONFIG
    assert listener.connections == 0


def test_a_name_that_does_not_resolve_is_not_accepted(no_emulator_hosts):
    with pytest.raises(ConnectorError) as failed:
        _get("https://no-such-host.invalid")
    assert failed.value.kind == ErrorKind.NETWORK


def test_emulator_hosts_are_allowed_in_development(settings, listener):
    settings.SYNCSMART_ALLOWED_EMULATOR_HOSTS = ["127.0.0.1"]
    with pytest.raises(ConnectorError):  # the listener answers 503 and hangs up: not a refusal
        _get(listener.url)
    assert listener.connections >= 1


def test_emulator_hosts_are_refused_in_production(settings, listener):
    settings.SYNCSMART_ALLOWED_EMULATOR_HOSTS = ["127.0.0.1"]
    settings.PRODUCTION = True
    with pytest.raises(ConnectorError) as refused:
        _get(listener.url)
    assert refused.value.kind == ErrorKind.CONFIG
    assert listener.connections == 0
