"""The demo with the Salesforce emulator: its connection signs in server to server (JWT bearer, a key
pair made by the emulator), the HubSpot ↔ Salesforce integration is on with default mappings,
and the first sync moves demo records across."""

import pytest

from connectors.hubspot.emulator import HubSpotEmulator
from connectors.models import Connection
from connectors.salesforce.emulator import SalesforceEmulator
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
        SalesforceEmulator.demo(seed_size=5).serve("127.0.0.1", 0),
    ]
    yield started
    for r in started:
        r.stop()


def test_the_demo_connects_salesforce_and_the_first_sync_moves_records(running):
    tenant = TenantFactory(name="Demo Company")
    lines = demo.connect(tenant, running, "http://127.0.0.1:8000")
    connection = Connection.objects.get(tenant=tenant, system="salesforce")
    assert connection.status == "ok" and connection.schema_cache, lines
    integration = Integration.objects.get(tenant=tenant, other_connection=connection)
    assert integration.enabled and integration.object_mappings.filter(is_default=True).count() == 8
    run = sync_to_the_end(integration)
    assert run.status in ("succeeded", "partial"), (run.error, run.counts)
    assert RecordLink.objects.filter(integration=integration, other_object="Account").count() >= 5
    assert RecordLink.objects.filter(integration=integration, other_object="Lead").count() >= 5
    # the demo's calls, meetings and e-mails arrive on their contacts and leads
    for activity in ("Task.Call", "Event", "Task.Email"):
        assert RecordLink.objects.filter(integration=integration, other_object=activity).exists(), activity
    connection.refresh_from_db()
    assert connection.oauth_tokens["access_token"]  # the session is kept (encrypted) for the next run
