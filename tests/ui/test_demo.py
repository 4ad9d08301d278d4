"""The full demo's wiring: the demo tenant connected to running emulators (real ports),
integrations on with default mappings, and a first sync that moves demo records across."""

import pytest

from connectors.connectwise.emulator import ConnectWiseEmulator
from connectors.dynamics.emulator import DynamicsEmulator
from connectors.hubspot.emulator import HubSpotEmulator
from connectors.models import Connection
from mappings import demo
from mappings.models import Integration
from syncsmart.engine.slices import run_slice
from syncsmart.models import RecordLink, SyncRun
from tests.factories import TenantFactory

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def running():
    emulators = [
        HubSpotEmulator.demo(seed_size=6, limits=False),
        ConnectWiseEmulator.demo(seed_size=6, limits=False),
        DynamicsEmulator(seed_size=6, limits=False),
    ]
    started = [e.serve("127.0.0.1", 0) for e in emulators]
    yield started
    for r in started:
        r.stop()


def sync_to_the_end(integration) -> SyncRun:
    run = SyncRun.objects.create(integration=integration, trigger=SyncRun.Trigger.MANUAL)
    for _ in range(100):
        run_slice(str(run.pk))
        run.refresh_from_db()
        if run.status in SyncRun.FINISHED:
            return run
    raise AssertionError(f"run did not finish: {run.status} {run.error}")


def test_the_demo_connects_every_emulator_and_switches_both_integrations_on(running):
    tenant = TenantFactory(name="Demo Company")
    lines = demo.connect(tenant, running, "http://127.0.0.1:8000")
    connections = Connection.objects.filter(tenant=tenant)
    assert sorted(c.system for c in connections) == ["connectwise", "dynamics", "hubspot"], lines
    assert all(c.status == "ok" and c.schema_cache and c.config["emulator"] for c in connections), lines
    integrations = Integration.objects.filter(tenant=tenant)
    assert sorted(i.other_system for i in integrations) == ["connectwise", "dynamics"]
    for integration in integrations:
        assert integration.enabled and not integration.test_mode and integration.schedule_minutes == 1
        assert integration.object_mappings.filter(is_default=True).count() >= 3
    # The product registered its webhooks with all three emulators (read from their own lists):
    # the HubSpot app's one target routes events to both integrations of the portal.
    by_system = {r.emulator.system: r.emulator for r in running}
    assert by_system["hubspot"].app_webhooks.settings["targetUrl"] == "http://127.0.0.1:8000/webhooks/hubspot"
    assert {"contact.creation", "contact.deletion", "company.associationChange"} <= {
        s.event_type for s in by_system["hubspot"].app_webhooks.subscriptions.values()
    }
    assert {c["type"] for c in by_system["connectwise"].store["callbacks"].values()} >= {"company", "contact"}
    assert {(s.message, s.entity) for s in by_system["dynamics"].steps.steps.values()} >= {
        ("Update", "contact"),
        ("Delete", "account"),
    }
    assert all("webhooks: HubSpot active" in line for line in lines if line.startswith("HubSpot ↔")), lines


def test_a_restart_re_points_the_same_connections_instead_of_adding_new_ones(running):
    tenant = TenantFactory(name="Demo Company")
    demo.connect(tenant, running, "http://127.0.0.1:8000")
    demo.connect(tenant, running, "http://127.0.0.1:8000")
    assert Connection.objects.filter(tenant=tenant).count() == 3
    assert Integration.objects.filter(tenant=tenant).count() == 2


def test_the_first_demo_sync_moves_demo_records_across(running):
    tenant = TenantFactory(name="Demo Company")
    demo.connect(tenant, running, "http://127.0.0.1:8000")
    integration = Integration.objects.get(tenant=tenant, other_connection__system="connectwise")
    run = sync_to_the_end(integration)
    assert run.status in ("succeeded", "partial"), (run.error, run.counts)
    assert run.counts.get("created", 0) > 0
    assert RecordLink.objects.filter(integration=integration, hubspot_object="companies").count() >= 6
