"""The Dynamics 365 emulator mounted in-process for engine tests."""

from __future__ import annotations

import itertools

from connectors import http
from connectors.dynamics.emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT, DynamicsEmulator

_hosts = itertools.count(1)


def make_dynamics() -> tuple[DynamicsEmulator, str, dict, dict]:
    emulator = DynamicsEmulator(limits=False)
    url = f"https://org{next(_hosts)}.crm.dynamics.test"
    http.mount(url, emulator.transport())
    config = {"org_url": url, "tenant_id": DEFAULT_TENANT, "client_id": DEFAULT_CLIENT_ID, "token_url_base": url}
    return emulator, url, config, {"client_secret": DEFAULT_CLIENT_SECRET}


def lookup_id(value):
    """A stored lookup is a (logical name, id) pair."""
    return value[1] if isinstance(value, tuple) else value
