"""The NetSuite emulator mounted in-process for engine tests (Token-Based Authentication)."""

from __future__ import annotations

import itertools

from connectors import http
from connectors.netsuite.emulator import (
    DEMO_ACCOUNT,
    DEMO_CONSUMER_KEY,
    DEMO_CONSUMER_SECRET,
    DEMO_TOKEN_ID,
    DEMO_TOKEN_SECRET,
    NetSuiteEmulator,
)

_hosts = itertools.count(1)
SCRIPT_SECRET = "netsuite-script-secret"


def make_netsuite() -> tuple[NetSuiteEmulator, str, dict, dict]:
    emulator = NetSuiteEmulator(limits=False)
    url = f"https://ns{next(_hosts)}.suitetalk.api.netsuite.test"
    http.mount(url, emulator.transport())
    config = {
        "account_id": DEMO_ACCOUNT,
        "base_url": url,
        "auth_method": "tba",
        "consumer_key": DEMO_CONSUMER_KEY,
        "default_subsidiary": "1",
    }
    credentials = {
        "consumer_secret": DEMO_CONSUMER_SECRET,
        "token_id": DEMO_TOKEN_ID,
        "token_secret": DEMO_TOKEN_SECRET,
        "webhook_secret": SCRIPT_SECRET,
    }
    return emulator, url, config, credentials
