"""A historical sync's total comes from the vendors' own count answers (in-process emulators),
and "since a date" starts the sides that can start at a time from that date."""

import datetime as dt

import pytest
from django.urls import reverse

from connectors import http
from connectors.base import WriteInput
from connectors.connectwise.emulator import DEMO_CLIENT_ID, DEMO_COMPANY, DEMO_PRIVATE_KEY, DEMO_PUBLIC_KEY, ConnectWiseEmulator
from connectors.hubspot.emulator import DEFAULT_TOKEN, HubSpotEmulator
from mappings.services import actions
from mappings.views.record_log import looked_up_ids
from syncsmart.engine import historical
from syncsmart.engine.counts import count_records
from syncsmart.models import SyncCursor
from tests.factories import ConnectionFactory
from tests.ui.factories import RecordEventFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def emulated(team):
    hubspot, connectwise = HubSpotEmulator(limits=False), ConnectWiseEmulator(limits=False)
    hubspot.seed_demo(8)
    connectwise.seed_demo(5)
    urls = ["https://hubspot-ui-counts.test", "https://connectwise-ui-counts.test"]
    http.mount(urls[0], hubspot.transport())
    http.mount(urls[1], connectwise.transport())
    hub = ConnectionFactory(
        tenant=team.tenant, system="hubspot", config={"base_url": urls[0]}, credentials={"token": DEFAULT_TOKEN}
    )
    cw = ConnectionFactory(
        tenant=team.tenant,
        system="connectwise",
        credentials={"private_key": DEMO_PRIVATE_KEY},
        config={"base_url": urls[1], "company_id": DEMO_COMPANY, "public_key": DEMO_PUBLIC_KEY, "client_id": DEMO_CLIENT_ID},
    )
    integration = actions.create_integration(team.tenant, None, hub, cw, enabled=True)
    yield integration
    for url in urls:
        http.unmount(url)


def test_each_vendor_answers_how_many_records_there_are(emulated):
    assert count_records(emulated.hubspot_connection, "contacts") == 8
    assert count_records(emulated.hubspot_connection, "companies") == 8
    assert count_records(emulated.other_connection, "companies") == 5


def test_a_historical_sync_gets_its_total_from_the_counts(emulated, monkeypatch):
    monkeypatch.setattr("syncsmart.engine.historical.count_records", count_records)  # undo the UI tests' stand-in
    contacts = emulated.object_mappings.get(hubspot_object="contacts")
    run = historical.start_historical_sync(emulated, None, object_mapping=contacts, estimate=True)
    hub_contacts = count_records(emulated.hubspot_connection, "contacts")
    cw_contacts = count_records(emulated.other_connection, "contacts")
    assert run.progress_total == hub_contacts + cw_contacts  # both directions are read


def test_since_a_date_starts_each_side_from_that_date(emulated, monkeypatch):
    monkeypatch.setattr("syncsmart.engine.historical.count_records", count_records)
    run = historical.start_historical_sync(emulated, None, since=dt.date(2031, 1, 1), estimate=True)
    cursors = SyncCursor.objects.filter(integration=emulated, kind="historical")
    assert {c.side for c in cursors} == {"hubspot", "other"}
    hub = cursors.filter(side="hubspot").first().cursor
    assert hub == {"floor": int(dt.datetime(2031, 1, 1, tzinfo=dt.UTC).timestamp() * 1000)}
    assert run.progress_total == 0  # nothing changed after 2031 in the emulators


def test_an_email_that_never_synced_is_looked_up_in_both_systems(emulated, team):
    hub_id = emulated_hubspot_contact(emulated, "never.synced@acme.example")
    contacts = emulated.object_mappings.get(hubspot_object="contacts")
    event = RecordEventFactory(
        integration=emulated,
        object_mapping=contacts,
        source_id=hub_id,
        outcome="failed",
        message="The firstName field is required.",
    )
    ids, problems = looked_up_ids(emulated, "never.synced@acme.example")
    assert hub_id in ids and problems == []
    url = reverse("record_log", args=[emulated.pk])
    plain = team.owner.get(url, {"q": "never.synced@acme.example"}).content.decode()
    assert f'id="event-{event.pk}"' not in plain and "lookup=1" in plain
    looked_up = team.owner.get(url, {"q": "never.synced@acme.example", "lookup": "1"}).content.decode()
    assert f'id="event-{event.pk}"' in looked_up


def emulated_hubspot_contact(integration, email: str) -> str:
    connector = integration.hubspot_connection.connector()
    try:
        [result] = connector.create("contacts", [WriteInput({"email": email, "firstname": ""}, ref="x")])
        return result.id
    finally:
        connector.close()
