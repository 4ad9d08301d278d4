"""Fixtures for connector tests: the HubSpot emulator in-process and on a real (ephemeral) port."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.emulator import DEFAULT_TOKEN, HubSpotEmulator
from tests.connectors.hubspot_harness import fast_retry

IN_PROCESS_BASE = "https://api.hubapi.test"


@pytest.fixture
def hubspot() -> HubSpotEmulator:
    """An empty HubSpot portal with two owners, limits off (tests switch them on)."""
    emulator = HubSpotEmulator(limits=False)
    emulator.add_owner("sam.rivera@example.com", "Sam", "Rivera")
    emulator.add_owner("alex.kim@example.com", "Alex", "Kim")
    return emulator


@pytest.fixture(params=["in_process", "real_port"])
def connector(request, hubspot: HubSpotEmulator) -> Iterator[HubSpotConnector]:
    """A connector against the emulator, in-process and again over a real (ephemeral) port."""
    running = None
    if request.param == "in_process":
        base_url, transport = IN_PROCESS_BASE, hubspot.transport()
    else:
        running = hubspot.serve("127.0.0.1", 0)
        base_url, transport = running.base_url, None
    connector = HubSpotConnector(
        base_url, token=DEFAULT_TOKEN, transport=transport, retry=fast_retry(), client_secret=hubspot.client_secret
    )
    yield connector
    connector.close()
    if running is not None:
        running.stop()


@pytest.fixture
def served(hubspot: HubSpotEmulator) -> Iterator[str]:
    """The emulator on a real port; yields its base URL."""
    running = hubspot.serve("127.0.0.1", 0)
    yield running.base_url
    running.stop()


@pytest.fixture
def api(served: str) -> Iterator[httpx.Client]:
    """A plain HTTP client on the real port with the private-app token, as a customer's script would use."""
    with httpx.Client(base_url=served, headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"}, timeout=10) as client:
        yield client
