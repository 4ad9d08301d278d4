"""write_back_ids HubSpot <-> NetSuite (issue 24/18): NetSuite's REST API cannot create a custom
field, so its id field must exist (an administrator makes it): found, it carries the HubSpot id;
missing, the run syncs, writes the NetSuite ids on the HubSpot side only and says what to do."""

from __future__ import annotations

import pytest

from connectors.netsuite.connector import NetSuiteConnector
from mappings.forms import ObjectMappingForm
from mappings.models import ObjectMapping
from syncsmart.models import RecordLink
from tests.engine.conftest import build_pair

pytestmark = pytest.mark.django_db
NS_FIELD, HUB_FIELD = "custentity_syncsmart_hubspot_id", "syncsmart_netsuite_id"


def seed(pair, n: int) -> None:
    company = pair.hubspot.create_record("companies", {"name": "Initech", "domain": "initech.example.com"})
    for i in range(n):
        pair.hubspot.create_record(
            "contacts", {"email": f"h{i}@initech.example.com", "lastname": f"H{i}"}, associations={"companies": [company]}
        )
    zenith = pair.other.add_customer("Zenith", url="https://zenith.example.com")
    for i in range(n):
        pair.other.add_contact(f"C{i}", "Person", email=f"c{i}@zenith.example.com", company=zenith["id"])


def backfill(n: int, write_back_ids: bool, *, field_made: bool = True):
    pair = build_pair("netsuite", write_back_ids=write_back_ids)
    if field_made:
        for record_type in ("customer", "contact"):
            pair.other.add_custom_field(record_type, NS_FIELD, "HubSpot ID")
    seed(pair, n)
    pair.reset_counters()
    run = pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    return pair, run


def test_an_id_field_made_by_an_administrator_carries_the_hubspot_id_and_a_rerun_writes_nothing(db):
    pair, _ = backfill(4, True)
    try:
        links = list(RecordLink.objects.filter(integration=pair.integration, hubspot_object__in=("companies", "contacts")))
        assert len(links) == 2 + 8
        for link in links:
            assert pair.hubspot.get_record(link.hubspot_object, link.hubspot_id)[HUB_FIELD] == link.other_id, link
            record = pair.other.get(link.other_object[:-1], link.other_id)
            assert record[NS_FIELD] == link.hubspot_id, link
        pair.hubspot.advance_clock(5000)
        pair.reset_counters()
        again = pair.sync()
        assert pair.writes() == (0, 0), (again.counts, pair.other.counters()["calls"])
    finally:
        pair.close()


def test_a_missing_id_field_is_not_created_the_run_syncs_and_the_editor_says_how_to_make_it(db):
    pair, run = backfill(2, True, field_made=False)
    try:
        assert run.counts["id_field_unavailable"] == 2, run.counts  # customers and contacts
        link = RecordLink.objects.filter(integration=pair.integration, hubspot_object="contacts").first()
        assert pair.hubspot.get_record("contacts", link.hubspot_id)[HUB_FIELD] == link.other_id  # HubSpot's side still
        assert NS_FIELD not in pair.other.get("contact", link.other_id)
        form = ObjectMappingForm(instance=ObjectMapping.objects.get(integration=pair.integration, other_object="contacts"))
        help_text = str(form.fields["write_back_field_other"].help_text)
        assert "Not created by SyncSmart: NetSuite's REST API cannot make custom fields" in help_text
        assert "Customization > Lists, Records & Fields > Entity Fields > New" in help_text
        hub_help = str(form.fields["write_back_field_hubspot"].help_text)
        assert "Created in HubSpot by the first run that needs it." in hub_help
    finally:
        pair.close()


def test_ids_cost_no_call_per_record_beyond_netsuite_s_one_record_writes(db):
    """NetSuite has no batch write: a record created in HubSpot from NetSuite gets its HubSpot id
    in one PATCH each (as ConnectWise); ids on records made in NetSuite ride on the create."""
    n = 20
    off, _ = backfill(n, False)
    on, _ = backfill(n, True)
    try:
        hub_on, hub_off = on.hubspot.counters()["calls"], off.hubspot.counters()["calls"]
        ns_on, ns_off = on.other.counters()["calls"], off.other.counters()["calls"]
        hub = {
            k: hub_on.get(k, 0) - hub_off.get(k, 0) for k in set(hub_on) | set(hub_off) if hub_on.get(k, 0) != hub_off.get(k, 0)
        }
        ns = {k: ns_on.get(k, 0) - ns_off.get(k, 0) for k in set(ns_on) | set(ns_off) if ns_on.get(k, 0) != ns_off.get(k, 0)}
    finally:
        off.close()
        on.close()
    assert hub == {"POST properties/create": 2, "GET properties/list": 2, "POST batch/update": 2}, hub
    patches = sum(v for k, v in ns.items() if k.startswith("PATCH"))
    assert patches == n + 1, ns  # the n + 1 NetSuite records HubSpot got: one PATCH each
    assert sum(ns.values()) == patches, ns  # nothing else: the field's schema was read by the sync anyway


def test_netsuite_id_field_names_follow_its_custom_field_ids():
    assert NetSuiteConnector.default_id_field("contacts", "HubSpot") == NS_FIELD
    assert NetSuiteConnector.default_id_field("opportunities", "HubSpot") == ""
    assert NetSuiteConnector.id_field_problem(NS_FIELD) is None
    assert NetSuiteConnector.id_field_problem("HubSpot ID")
