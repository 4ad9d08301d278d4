"""End-to-end fixtures: an integration between the HubSpot emulator and another system's
emulator, both in-process, reached by the real connectors through `connectors.http.mount`."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import pytest

from connectors import http
from connectors.connectwise.emulator import DEMO_CLIENT_ID, DEMO_COMPANY, DEMO_PRIVATE_KEY, DEMO_PUBLIC_KEY, ConnectWiseEmulator
from connectors.hubspot.emulator import DEFAULT_TOKEN, HubSpotEmulator
from mappings.models import Integration
from mappings.services import actions
from syncsmart.engine.slices import run_slice
from syncsmart.models import SyncRun
from tests.connectors.hubspot_harness import fast_retry
from tests.engine.netsuite_support import make_netsuite
from tests.engine.salesforce_support import make_salesforce
from tests.factories import ConnectionFactory, NoLimit, TenantFactory

_hosts = itertools.count(1)


@dataclass
class Pair:
    integration: Integration
    hubspot: HubSpotEmulator
    other: Any
    urls: list[str] = field(default_factory=list)

    def connectors(self) -> dict[str, Any]:
        kwargs = dict(retry=fast_retry(10), limiter=NoLimit())
        return {
            "hubspot": self.integration.hubspot_connection.connector(**kwargs),
            "other": self.integration.other_connection.connector(**kwargs),
        }

    def sync(self, trigger: str = SyncRun.Trigger.MANUAL, max_slices: int = 200, **run_fields: Any) -> SyncRun:
        """Run one pass to the end in the foreground (slices included) and return the run."""
        run = SyncRun.objects.create(integration=self.integration, trigger=trigger, **run_fields)
        connectors = self.connectors()
        try:
            for _ in range(max_slices):
                run_slice(str(run.pk), connectors=connectors)
                run.refresh_from_db()
                if run.status in SyncRun.FINISHED:
                    return run
            raise AssertionError(f"run did not finish in {max_slices} slices: {run.status} {run.error}")
        finally:
            for connector in connectors.values():
                connector.close()

    def writes(self) -> tuple[int, int]:
        """Write calls each emulator answered (HubSpot's search is a POST but reads)."""
        return write_calls(self.hubspot), write_calls(self.other)

    def reset_counters(self) -> None:
        self.hubspot.reset_counters()
        self.other.reset_counters()

    def close(self) -> None:
        for url in self.urls:
            http.unmount(url)


READ_ROUTES = ("search", "batch/read", "oauth", "token", "suiteql")  # SuiteQL is a POST that reads


def write_calls(emulator) -> int:
    calls = emulator.counters()["calls"]
    return sum(
        n
        for key, n in calls.items()
        if key.split(" ", 1)[0] in ("POST", "PATCH", "PUT", "DELETE") and not any(r in key for r in READ_ROUTES)
    )


def make_hubspot() -> tuple[HubSpotEmulator, str, dict]:
    emulator = HubSpotEmulator(limits=False)
    url = f"https://hubspot-{next(_hosts)}.test"
    http.mount(url, emulator.transport())
    return emulator, url, {"base_url": url, "portal_id": str(emulator.portal_id) if hasattr(emulator, "portal_id") else ""}


def make_connectwise() -> tuple[ConnectWiseEmulator, str, dict, dict]:
    emulator = ConnectWiseEmulator(limits=False)
    url = f"https://connectwise-{next(_hosts)}.test"
    http.mount(url, emulator.transport())
    config = {"base_url": url, "company_id": DEMO_COMPANY, "public_key": DEMO_PUBLIC_KEY, "client_id": DEMO_CLIENT_ID}
    return emulator, url, config, {"private_key": DEMO_PRIVATE_KEY}


def build_pair(other_system: str = "connectwise", **integration_options: Any) -> Pair:
    tenant = TenantFactory()
    hubspot, hub_url, hub_config = make_hubspot()
    hub_conn = ConnectionFactory(
        tenant=tenant,
        system="hubspot",
        config=hub_config,
        credentials={"token": DEFAULT_TOKEN, "client_secret": hubspot.client_secret},
    )
    tokens = {}
    if other_system == "connectwise":
        other, other_url, config, secrets = make_connectwise()
    elif other_system == "salesforce":
        other, other_url, config, secrets, tokens = make_salesforce()
    elif other_system == "netsuite":
        other, other_url, config, secrets = make_netsuite()
    else:
        from tests.engine.dynamics_support import make_dynamics

        other, other_url, config, secrets = make_dynamics()
    other_conn = ConnectionFactory(tenant=tenant, system=other_system, config=config, credentials=secrets, oauth_tokens=tokens)
    integration = actions.create_integration(tenant, None, hub_conn, other_conn, enabled=True, **integration_options)
    return Pair(integration, hubspot, other, [hub_url, other_url])


@pytest.fixture
def cw_pair(db):
    pair = build_pair("connectwise")
    yield pair
    pair.close()


class CollectingSender:
    """Stands in for an emulator's background WebhookSender: keeps each signed delivery so the
    test posts it, byte for byte, to the app through Django's test client (same thread, same DB)."""

    def __init__(self):
        self.deliveries: list[tuple[str, bytes, dict]] = []

    def send(self, url: str, body: bytes, headers: dict) -> None:
        self.deliveries.append((url, body, dict(headers)))

    def deliver(self, client) -> list:
        from urllib.parse import urlsplit

        responses = []
        pending, self.deliveries = self.deliveries, []
        for url, body, headers in pending:
            extra = {k: v for k, v in headers.items() if k.lower() != "content-type"}
            parts = urlsplit(url)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            responses.append(client.post(target, data=body, content_type="application/json", headers=extra))
        return responses


@pytest.fixture
def dyn_pair(db):
    pair = build_pair("dynamics")
    yield pair
    pair.close()


@pytest.fixture
def sf_pair(db):
    pair = build_pair("salesforce")
    yield pair
    pair.close()


@pytest.fixture
def ns_pair(db):
    pair = build_pair("netsuite")
    yield pair
    pair.close()
