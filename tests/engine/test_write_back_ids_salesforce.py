"""write_back_ids HubSpot <-> Salesforce on the emulators (issue 23/18): each record carries its
counterpart's id, Salesforce's in a Text custom field the run creates through the Tooling API
(POST tooling/sobjects/CustomField), HubSpot's in a property; the extra API calls counted."""

from __future__ import annotations

import pytest

from connectors.salesforce.connector import SalesforceConnector
from syncsmart.models import RecordLink
from tests.engine.conftest import build_pair

pytestmark = pytest.mark.django_db
SF_FIELD, HUB_FIELD = "SyncSmart_HubSpot_ID__c", "syncsmart_salesforce_id"


def seed(pair, n: int) -> None:
    """n HubSpot contacts (Leads in Salesforce) with their company, n Salesforce Contacts with theirs."""
    company = pair.hubspot.create_record("companies", {"name": "Initech", "domain": "initech.example.com"})
    for i in range(n):
        pair.hubspot.create_record(
            "contacts", {"email": f"h{i}@initech.example.com", "lastname": f"H{i}"}, associations={"companies": [company]}
        )
    account = pair.other.create_record("Account", {"Name": "Zenith", "Website": "https://zenith.example.com"})
    for i in range(n):
        pair.other.create_record("Contact", {"LastName": f"C{i}", "Email": f"c{i}@zenith.example.com", "AccountId": account})


def backfill(n: int, write_back_ids: bool):
    pair = build_pair("salesforce", write_back_ids=write_back_ids)
    seed(pair, n)
    pair.reset_counters()
    run = pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    return pair


def test_each_side_carries_the_others_id_in_a_field_made_through_the_tooling_api_and_a_rerun_writes_nothing(db):
    pair = backfill(5, True)
    try:
        links = list(RecordLink.objects.filter(integration=pair.integration, hubspot_object__in=("companies", "contacts")))
        assert len(links) == 2 + 10
        for link in links:
            assert pair.hubspot.get_record(link.hubspot_object, link.hubspot_id)[HUB_FIELD] == link.other_id, link
            assert pair.other.record(link.other_object, link.other_id)[SF_FIELD] == link.hubspot_id, link
        made = pair.other.custom_fields
        assert {sobject: list(fields) for sobject, fields in made.items()} == {
            "Account": [SF_FIELD],
            "Contact": [SF_FIELD],
            "Lead": [SF_FIELD],
        }
        assert (made["Contact"][SF_FIELD].type, made["Contact"][SF_FIELD].length) == ("string", 100)
        pair.hubspot.advance_clock(5000)
        pair.reset_counters()
        again = pair.sync()
        assert (pair.writes()[0], pair.other.counters()["writes"]) == (0, 0), again.counts
        assert again.counts.get("ids_written", 0) == 0
        assert not any("tooling" in key for key in pair.other.counters()["calls"])  # made once
    finally:
        pair.close()


def extra(on: dict, off: dict) -> dict:
    return {k: on.get(k, 0) - off.get(k, 0) for k in set(on) | set(off) if on.get(k, 0) != off.get(k, 0)}


def test_ids_cost_batched_calls_per_page_not_calls_per_record(db):
    """The same backfill with and without ids written back, calls counted by the emulators. Ids
    add the fields' creation and one describe re-read per object (once), and per page one batched
    update of the side whose records were created on the other side (their ids exist only after
    the create): Salesforce takes 200 per sObject Collections call, HubSpot 100 per batch update."""
    n = 120
    off = backfill(n, False)
    on = backfill(n, True)
    try:
        hub = extra(on.hubspot.counters()["calls"], off.hubspot.counters()["calls"])
        other = extra(on.other.counters()["calls"], off.other.counters()["calls"])
    finally:
        off.close()
        on.close()
    # HubSpot: its property on companies and contacts, created and re-read once; the 121 HubSpot
    # records made from Salesforce get their Salesforce ids in batches of 100: companies 1, contacts 2.
    assert hub == {"POST properties/create": 2, "GET properties/list": 2, "POST batch/update": 3}, hub
    # Salesforce: the custom field on Account, Contact and Lead through the Tooling API, each
    # sObject described again once; the records made from HubSpot carry their HubSpot id in the
    # create itself (0 calls); the 121 Salesforce records HubSpot got their ids back in one sObject
    # Collections PATCH per object type (200 a call): Account 1, Contact 1.
    assert other == {"POST tooling CustomField create": 3, "GET describe": 3, "PATCH composite/sobjects": 2}, other
    assert sum(other.values()) / (4 * n + 2) < 0.05  # extra calls per record synced


def test_a_name_salesforce_refuses_is_refused_by_the_connector_check():
    assert SalesforceConnector.id_field_problem("SyncSmart_HubSpot_ID__c") is None
    for bad in ("HubSpot ID", "hubspot_id", "Two__Underscores__c", "_Leading__c", "Trailing___c"):
        assert SalesforceConnector.id_field_problem(bad), bad
    assert SalesforceConnector.default_id_field("Contact", "HubSpot") == "SyncSmart_HubSpot_ID__c"
    assert SalesforceConnector.default_id_field("Task", "HubSpot") == ""
