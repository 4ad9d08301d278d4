"""The Salesforce emulator mounted in-process for engine tests."""

from __future__ import annotations

import itertools

from connectors import http
from connectors.salesforce.emulator import DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET, SalesforceEmulator

_hosts = itertools.count(1)


def make_salesforce() -> tuple[SalesforceEmulator, str, dict, dict, dict]:
    """(emulator, url, config, credentials, oauth tokens) of an org mounted at a fresh URL."""
    emulator = SalesforceEmulator(limits=False)
    url = f"https://org{next(_hosts)}.my.salesforce.test"
    http.mount(url, emulator.transport())
    session = emulator.issue_session()
    config = {"instance_url": url, "login_url": url, "client_id": DEFAULT_CONSUMER_KEY}
    tokens = {"access_token": session["access_token"], "refresh_token": session["refresh_token"], "instance_url": url}
    return emulator, url, config, {"client_secret": DEFAULT_CONSUMER_SECRET}, tokens
