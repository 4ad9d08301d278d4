"""Emulators for the installer tests.

HubSpot runs on a real loopback port: the OAuth install flow goes through social-auth, which calls
the token and token-info endpoints with `requests`, and (in the browser tests) Chromium opens the
authorize page. ConnectWise / Dynamics are mounted in-process on the base URL the credential form
derives from what the customer types, so the connector code needs no test hooks.
"""

from __future__ import annotations

import itertools
import os

import pytest
from django.test import override_settings

from connectors.http import mount, unmount

CW_SITE = "127.0.0.1:18443"  # what the customer types; served by the mounted emulator, no socket opened
_portal_ids = itertools.count(7_000_000 + (os.getpid() % 10_000) * 100)


@pytest.fixture
def hubspot():
    """The HubSpot emulator on a real port, with social-auth and the connector pointed at it."""
    from connectors.hubspot.emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, HubSpotEmulator

    # A portal id of its own: the HubSpot rate limiter's buckets are shared by every process per
    # portal, and other suites running at the same time must not spend this test's budget.
    running = HubSpotEmulator(portal_id=next(_portal_ids)).serve()
    base = running.base_url
    with override_settings(
        SOCIAL_AUTH_HUBSPOT_KEY=DEFAULT_CLIENT_ID,
        SOCIAL_AUTH_HUBSPOT_SECRET=DEFAULT_CLIENT_SECRET,
        SOCIAL_AUTH_HUBSPOT_AUTHORIZATION_URL=base + "/oauth/authorize",
        SOCIAL_AUTH_HUBSPOT_ACCESS_TOKEN_URL=base + "/oauth/v1/token",
        SOCIAL_AUTH_HUBSPOT_USER_DATA_URL=base + "/oauth/v1/access-tokens/",
        HUBSPOT_API_BASE=base,
    ):
        yield running.emulator
    running.stop()


@pytest.fixture
def connectwise():
    from connectors.connectwise.emulator import ConnectWiseEmulator

    emulator = ConnectWiseEmulator()
    mount(f"http://{CW_SITE}", emulator.transport())
    yield emulator
    unmount(f"http://{CW_SITE}")


def confirm_the_switch(client, url: str, integration, mappings: str = "keep"):
    """The go-live page's "Switch to production" shows a preview against production first; this
    confirms it (marked done: no worker runs here; the real one is in tests/browser/test_go_live_first_day.py)."""
    from syncsmart.models import Preview  # App loading: conftest is imported before Django's apps are ready

    preview = Preview.objects.get(integration=integration, purpose="go_live")
    Preview.objects.filter(pk=preview.pk).update(status=Preview.Status.DONE)
    confirmed = {"action": "start_previewed", "confirm": "on", "mappings": mappings, "confirmed_preview": str(preview.pk)}
    return client.post(url, confirmed)
