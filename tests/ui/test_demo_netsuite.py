"""The demo with the NetSuite emulator: its connection signs with Token-Based Authentication, the
HubSpot ↔ NetSuite integration is on with the default mappings, and the first sync moves the
demo's company customers, contacts and individual customers across."""

import pytest

from connectors.hubspot.emulator import HubSpotEmulator
from connectors.models import Connection
from connectors.netsuite.emulator import NetSuiteEmulator
from mappings import demo
from mappings.models import Integration
from syncsmart.models import RecordLink
from tests.factories import TenantFactory
from tests.ui.test_demo import sync_to_the_end

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def running():
    started = [
        HubSpotEmulator.demo(seed_size=5, limits=False).serve("127.0.0.1", 0),
        NetSuiteEmulator.demo(seed_size=10).serve("127.0.0.1", 0),
    ]
    yield started
    for r in started:
        r.stop()


def test_the_demo_connects_netsuite_and_the_first_sync_moves_records(running):
    tenant = TenantFactory(name="Demo Company")
    lines = demo.connect(tenant, running, "http://127.0.0.1:8000")
    connection = Connection.objects.get(tenant=tenant, system="netsuite")
    assert connection.status == "ok" and connection.schema_cache, lines
    integration = Integration.objects.get(tenant=tenant, other_connection=connection)
    assert integration.enabled and integration.object_mappings.filter(is_default=True).count() == 4
    run = sync_to_the_end(integration)
    assert run.status in ("succeeded", "partial"), (run.error, run.counts)
    assert RecordLink.objects.filter(integration=integration, hubspot_object="companies", other_object="customers").count() >= 10
    assert RecordLink.objects.filter(integration=integration, hubspot_object="contacts", other_object="contacts").count() >= 10
    assert RecordLink.objects.filter(integration=integration, hubspot_object="contacts", other_object="customers").count() >= 1
