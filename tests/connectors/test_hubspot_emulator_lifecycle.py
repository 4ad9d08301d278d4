"""The HubSpot emulator's merges, restores and association-change events, as HubSpot sends them
to an app subscribed through webhooks v3."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from connectors.http import default_retry
from connectors.hubspot import webhooks as hubspot_webhooks
from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.emulator import DEFAULT_TOKEN, HubSpotEmulator
from connectors.hubspot.emulator_webhooks import DEFAULT_APP_ID, DEFAULT_DEVELOPER_KEY
from connectors.registrars import registrar_for
from connectors.subscriptions import Wanted

TARGET = "https://syncsmart.example/webhooks/hubspot"


class Inbox:
    def __init__(self):
        self.events: list[dict] = []
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.events += json.loads(request.read())
        return httpx.Response(200)


@pytest.fixture
def hub():
    emulator = HubSpotEmulator(limits=False)
    inbox = Inbox()
    emulator.webhooks.transport = httpx.MockTransport(inbox)
    connector = HubSpotConnector(
        "https://api.hubapi.test",
        token=DEFAULT_TOKEN,
        transport=emulator.transport(),
        retry=default_retry(backoff_factor=0.01, max_backoff_wait=0.05),
    )
    registrar_for(connector, {"app_id": DEFAULT_APP_ID}, {"developer_api_key": DEFAULT_DEVELOPER_KEY}).ensure(
        TARGET, Wanted(["contacts", "companies"])
    )
    yield emulator, inbox, connector
    connector.close()


def settle(emulator, inbox) -> list[dict]:
    assert emulator.webhooks.wait_idle(5)
    events, inbox.events = inbox.events, []
    return events


def test_merge_keeps_the_primary_id_moves_associations_and_fires_a_merge_event(hub):
    emulator, inbox, connector = hub
    acme = emulator.create_record("companies", {"name": "Acme"})
    primary = emulator.create_record("contacts", {"email": "ann@acme.example"})
    other = emulator.create_record(
        "contacts", {"email": "ann.lee@acme.example", "jobtitle": "CTO"}, associations={"companies": [acme]}
    )
    settle(emulator, inbox)
    answer = connector.http.request(
        "POST", "/crm/v3/objects/contacts/merge", json={"primaryObjectId": primary, "objectIdToMerge": other}
    )
    assert answer.json()["id"] == primary
    survivor = emulator.get_record("contacts", primary)
    assert survivor["hs_merged_object_ids"] == other and survivor["jobtitle"] == "CTO"
    assert emulator.get_record("contacts", other) is None
    assert emulator.associated_ids("contacts", primary, "companies") == [acme]
    events = settle(emulator, inbox)
    [merge] = [e for e in events if e["subscriptionType"] == "contact.merge"]
    assert (merge["primaryObjectId"], merge["mergedObjectIds"], merge["newObjectId"]) == (
        int(primary),
        [int(other)],
        int(primary),
    )
    assert merge["subscriptionId"] and merge["appId"] == DEFAULT_APP_ID
    parsed = hubspot_webhooks.parse_events(json.dumps([merge]).encode())
    assert parsed[0].record_id == primary
    listed = connector.http.request("GET", "/crm/v3/objects/contacts", params={"archived": "true"}).json()["results"]
    assert other not in [r["id"] for r in listed]  # merged away is not a deletion


def test_restore_brings_an_archived_record_back_under_its_id(hub):
    emulator, inbox, connector = hub
    contact = emulator.create_record("contacts", {"email": "back@example.com"})
    connector.http.request("DELETE", f"/crm/v3/objects/contacts/{contact}")
    assert [e["subscriptionType"] for e in settle(emulator, inbox)] == ["contact.creation", "contact.deletion"]
    emulator.lifecycle.restore_record("contacts", contact)
    assert emulator.get_record("contacts", contact)["email"] == "back@example.com"
    [restore] = settle(emulator, inbox)
    assert (restore["subscriptionType"], restore["objectId"]) == ("contact.restore", int(contact))


def test_reassociation_fires_association_change_for_both_ends_without_a_property_change(hub):
    emulator, inbox, connector = hub
    old, new = emulator.create_record("companies", {"name": "Old"}), emulator.create_record("companies", {"name": "New"})
    contact = emulator.create_record("contacts", {"email": "mover@example.com"}, associations={"companies": [old]})
    settle(emulator, inbox)
    emulator.lifecycle.reassociate("contacts", contact, "companies", new)
    events = settle(emulator, inbox)
    assert {e["subscriptionType"] for e in events} == {"contact.associationChange", "company.associationChange"}
    contact_side = sorted(
        (e["toObjectId"], e["associationRemoved"]) for e in events if e["subscriptionType"] == "contact.associationChange"
    )
    assert contact_side == sorted([(int(old), True), (int(new), False)])
    assert emulator.associated_ids("contacts", contact, "companies") == [new]


def test_association_writes_through_the_v4_api_fire_association_change(hub):
    emulator, inbox, connector = hub
    company = emulator.create_record("companies", {"name": "Acme"})
    contact = emulator.create_record("contacts", {"email": "api@example.com"})
    settle(emulator, inbox)
    connector.http.request(
        "POST",
        "/crm/v4/associations/contacts/companies/batch/associate/default",
        json={"inputs": [{"from": {"id": contact}, "to": {"id": company}}]},
        ok_statuses=(207,),
    )
    events = settle(emulator, inbox)
    parsed = hubspot_webhooks.parse_events(json.dumps(events).encode())
    assert {(e.object_type, e.record_id, e.change) for e in parsed} == {
        ("contacts", contact, "association_change"),
        ("companies", company, "association_change"),
    }
    assert {(e["subscriptionType"], e["fromObjectId"], e["changeSource"]) for e in events} == {
        ("contact.associationChange", int(contact), "INTEGRATION"),
        ("company.associationChange", int(company), "INTEGRATION"),
    }
