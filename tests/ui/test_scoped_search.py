"""Finding a record (issue 20): the record log and the demo sandbox find a record by e-mail,
name, domain or either side's id, scoped to its object — an e-mail finds the contact, not a
deal that happens to share one of its numeric ids — and the sandbox finds records edited since
start however many records the emulator holds."""

import pytest
from django.urls import reverse

from connectors import http
from connectors.hubspot.emulator import DEFAULT_TOKEN, HubSpotEmulator
from tenants.connections import refresh_schema
from tests.factories import ConnectionFactory
from tests.ui.factories import IntegrationFactory, ObjectMappingFactory, RecordEventFactory, RecordLinkFactory

pytestmark = pytest.mark.django_db


def shown(event) -> str:
    return f'id="event-{event.pk}"'


def records(team, integration, q: str) -> str:
    return team.owner.get(reverse("record_log", args=[integration.pk]), {"q": q}).content.decode()


@pytest.fixture
def ann_and_a_deal(contacts):
    """Ann's contact is HubSpot 101 / ConnectWise 9; a deal is HubSpot 101 too (HubSpot numbers
    each object separately in this story) and an opportunity is ConnectWise 9."""
    integration = contacts.integration
    deals = ObjectMappingFactory(integration=integration, name="Deals", hubspot_object="deals", other_object="opportunities")
    RecordLinkFactory(
        integration=integration,
        object_mapping=contacts,
        hubspot_id="101",
        other_id="9",
        hubspot_values={"email": "ann@acme.example", "firstname": "Ann"},
        other_values={"email": "ann@acme.example", "firstName": "Ann"},
    )
    RecordLinkFactory(
        integration=integration,
        object_mapping=deals,
        hubspot_object="deals",
        other_object="opportunities",
        hubspot_id="101",
        other_id="9",
        hubspot_values={"dealname": "Renewal 2027"},
    )
    event = {
        "ann_out": RecordEventFactory(integration=integration, object_mapping=contacts, source_id="101", target_id="9"),
        "ann_in": RecordEventFactory(integration=integration, object_mapping=contacts, source_side="other", source_id="9"),
        "deal_out": RecordEventFactory(
            integration=integration, object_mapping=deals, source_object="deals", source_id="101", target_id="9"
        ),
        "deal_in": RecordEventFactory(
            integration=integration, object_mapping=deals, source_side="other", source_object="opportunities", source_id="9"
        ),
    }
    return integration, event


def test_an_email_finds_the_contacts_events_and_not_a_deal_sharing_its_ids(team, ann_and_a_deal):
    integration, event = ann_and_a_deal
    body = records(team, integration, "ann@acme.example")
    assert shown(event["ann_out"]) in body and shown(event["ann_in"]) in body
    assert shown(event["deal_out"]) not in body and shown(event["deal_in"]) not in body


def test_a_name_finds_only_its_own_record(team, ann_and_a_deal):
    integration, event = ann_and_a_deal
    body = records(team, integration, "Renewal 2027")
    assert shown(event["deal_out"]) in body and shown(event["deal_in"]) in body
    assert shown(event["ann_out"]) not in body and shown(event["ann_in"]) not in body


def test_either_sides_id_finds_the_record_from_both_sides(team, ann_and_a_deal):
    integration, event = ann_and_a_deal
    by_connectwise_id = records(team, integration, "9")
    assert shown(event["ann_out"]) in by_connectwise_id and shown(event["ann_in"]) in by_connectwise_id
    by_hubspot_id = records(team, integration, "101")
    assert shown(event["ann_out"]) in by_hubspot_id and shown(event["ann_in"]) in by_hubspot_id


def test_a_domain_finds_the_company(team, contacts):
    integration = contacts.integration
    companies = ObjectMappingFactory(
        integration=integration, name="Companies", hubspot_object="companies", other_object="companies"
    )
    RecordLinkFactory(
        integration=integration,
        object_mapping=companies,
        hubspot_object="companies",
        other_object="companies",
        hubspot_id="501",
        other_id="12",
        hubspot_values={"name": "Initech", "domain": "initech.example.com"},
    )
    company = RecordEventFactory(
        integration=integration, object_mapping=companies, source_side="other", source_object="companies", source_id="12"
    )
    other = RecordEventFactory(integration=integration, object_mapping=contacts, source_id="12")
    body = records(team, integration, "initech.example.com")
    assert shown(company) in body and shown(other) not in body


def test_a_nul_in_the_search_is_not_an_error(team, ann_and_a_deal):
    integration, event = ann_and_a_deal
    response = team.owner.get(reverse("record_log", args=[integration.pk]), {"q": "ann@acme\x00.example"})
    assert response.status_code == 200


# --- the demo sandbox ------------------------------------------------------------------------------


@pytest.fixture
def crowded_hubspot(team):
    """A HubSpot emulator holding more contacts than one read of its change feed used to keep
    (about 1,000; the demo's HubSpot holds ~1,500: its own and those of four other systems)."""
    emulator = HubSpotEmulator(limits=False)
    ids = [
        emulator.create_record("contacts", {"email": f"person{n}@crowd.example", "firstname": f"Person{n}"}) for n in range(1_600)
    ]
    url = "https://hubspot-crowded.test"
    http.mount(url, emulator.transport())
    connection = ConnectionFactory(
        tenant=team.tenant, system="hubspot", credentials={"token": DEFAULT_TOKEN}, config={"base_url": url, "emulator": True}
    )
    refresh_schema(connection)
    yield connection, emulator, ids
    http.unmount(url)


def sandbox(team, connection, q: str = "") -> str:
    return team.owner.get(reverse("sandbox_records", args=[connection.pk, "contacts"]), {"q": q}).content.decode()


def test_the_sandbox_finds_a_record_edited_since_start_by_email_name_or_id(team, crowded_hubspot):
    connection, emulator, ids = crowded_hubspot
    first = ids[0]
    emulator.advance_clock(5_000)
    emulator.edit_record("contacts", first, {"email": "renamed@crowd.example", "firstname": "Renamed"})
    link = f">{first}</a>"
    assert link in sandbox(team, connection, "renamed@crowd.example")
    assert link in sandbox(team, connection, "Renamed")
    assert link in sandbox(team, connection, first)
    assert link in sandbox(team, connection)  # the newest edit leads the unfiltered list too
    assert "No records" in sandbox(team, connection, "nobody@crowd.example")


def test_the_sandbox_finds_a_record_by_its_counterparts_id(team, crowded_hubspot):
    connection, emulator, ids = crowded_hubspot
    integration = IntegrationFactory(tenant=team.tenant, hubspot_connection=connection)
    contacts = ObjectMappingFactory(integration=integration)
    RecordLinkFactory(integration=integration, object_mapping=contacts, hubspot_id=ids[3], other_id="CW-4242")
    body = sandbox(team, connection, "CW-4242")
    assert f">{ids[3]}</a>" in body and f">{ids[4]}</a>" not in body


# --- a bare id shared by several objects ---------------------------------------------------------


def test_a_bare_id_in_several_objects_offers_the_object_choice(team, ann_and_a_deal):
    integration, event = ann_and_a_deal
    body = records(team, integration, "101")
    assert 'id="id-choices"' in body
    assert "Only Deals" in body and f"mapping={event['deal_out'].object_mapping_id}" in body
    assert f"mapping={event['ann_out'].object_mapping_id}" in body


def test_choosing_the_object_lists_only_that_objects_record(team, ann_and_a_deal):
    integration, event = ann_and_a_deal
    deals = event["deal_out"].object_mapping_id
    body = team.owner.get(reverse("record_log", args=[integration.pk]), {"q": "101", "mapping": deals}).content.decode()
    assert shown(event["deal_out"]) in body and shown(event["deal_in"]) in body
    assert shown(event["ann_out"]) not in body and shown(event["ann_in"]) not in body
    assert 'id="id-choices"' not in body


def test_an_email_or_an_id_of_one_object_offers_no_choice(team, ann_and_a_deal):
    integration, _ = ann_and_a_deal
    assert 'id="id-choices"' not in records(team, integration, "ann@acme.example")
    assert 'id="id-choices"' not in records(team, integration, "Renewal 2027")


def test_a_hostile_object_filter_is_not_an_error(team, ann_and_a_deal):
    integration, _ = ann_and_a_deal
    response = team.owner.get(reverse("record_log", args=[integration.pk]), {"q": "101", "mapping": "9" * 40})
    assert response.status_code == 200
