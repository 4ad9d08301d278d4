"""write_back_ids end to end, HubSpot <-> ConnectWise and HubSpot <-> Dynamics on the emulators:
each side's record carries the other side's id in a field the run creates through the vendor's
own API, written in the sync's batched calls, and never echoing back."""

from __future__ import annotations

import pytest
from django.test import Client

from mappings.models import ObjectMapping
from syncsmart.engine import previews
from syncsmart.models import InboxItem, RecordLink, SyncRun
from tests.engine.conftest import CollectingSender, build_pair, write_calls

pytestmark = pytest.mark.django_db

HUB_FIELD = {"connectwise": "syncsmart_connectwise_id", "dynamics": "syncsmart_dynamics_id"}
OTHER_OBJECTS = {"companies": {"connectwise": "companies", "dynamics": "accounts"}, "contacts": {"connectwise": "contacts"}}


def other_id_field(pair, other_object: str, record_id: str):
    """What the other system's record holds in its HubSpot-id field (ConnectWise: the custom
    field captioned 'SyncSmart HubSpot ID'; Dynamics: the column new_syncsmarthubspotid)."""
    if pair.integration.other_system == "connectwise":
        record = pair.other.get(other_object, record_id)
        return next((c["value"] for c in record.get("customFields") or [] if c["caption"] == "SyncSmart HubSpot ID"), None)
    return pair.other.record(other_object, record_id).get("new_syncsmarthubspotid")


def seed(pair) -> None:
    """Records on both sides: some only in HubSpot, some only in the other system, one contact
    and one company on both (matched by e-mail / domain)."""
    hub_company = pair.hubspot.create_record("companies", {"name": "Initech", "domain": "initech.example.com"})
    shared_hub = pair.hubspot.create_record("companies", {"name": "Globex", "domain": "globex.example.com"})
    for n in range(3):
        pair.hubspot.create_record(
            "contacts", {"email": f"h{n}@initech.example.com", "firstname": f"H{n}"}, associations={"companies": [hub_company]}
        )
    pair.hubspot.create_record(
        "contacts", {"email": "both@globex.example.com", "firstname": "Both"}, associations={"companies": [shared_hub]}
    )
    if pair.integration.other_system == "connectwise":
        globex = pair.other.add_company("Globex Corp", website="globex.example.com")
        zenith = pair.other.add_company("Zenith", website="zenith.example.com")
        pair.other.add_contact("Both", "Person", company_id=globex["id"], email="both@globex.example.com")
        for n in range(3):
            pair.other.add_contact(f"C{n}", "Person", company_id=zenith["id"], email=f"c{n}@zenith.example.com")
    else:
        globex = pair.other.create_record("accounts", {"name": "Globex Corp", "websiteurl": "globex.example.com"})
        zenith = pair.other.create_record("accounts", {"name": "Zenith", "websiteurl": "zenith.example.com"})
        pair.other.create_record(
            "contacts", {"lastname": "Person", "emailaddress1": "both@globex.example.com", "parentcustomerid": globex}
        )
        for n in range(3):
            pair.other.create_record(
                "contacts", {"lastname": f"C{n}", "emailaddress1": f"c{n}@zenith.example.com", "parentcustomerid": zenith}
            )


def assert_ids_on_both_sides(pair) -> int:
    links = list(RecordLink.objects.filter(integration=pair.integration, hubspot_object__in=("companies", "contacts")))
    hub_field = HUB_FIELD[pair.integration.other_system]
    for link in links:
        assert pair.hubspot.get_record(link.hubspot_object, link.hubspot_id)[hub_field] == link.other_id, link
        assert other_id_field(pair, link.other_object, link.other_id) == link.hubspot_id, link
    return len(links)


@pytest.fixture(params=["connectwise", "dynamics"])
def pair(request, db):
    built = build_pair(request.param, write_back_ids=True)
    yield built
    built.close()


def test_a_backfill_leaves_each_sides_id_on_the_other_and_the_next_run_writes_nothing(pair):
    seed(pair)
    run = pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    assert assert_ids_on_both_sides(pair) == 3 + 7  # companies: 1 + 1 matched + 1; contacts: 3 + 1 matched + 3
    pair.reset_counters()
    again = pair.sync()
    assert pair.writes() == (0, 0), (again.counts, pair.hubspot.counters()["calls"], pair.other.counters()["calls"])
    assert again.counts.get("ids_written", 0) == 0


def test_the_id_fields_are_created_through_the_vendors_metadata_api_once(pair):
    seed(pair)
    pair.sync()
    system = pair.integration.other_system
    for hub_object, other_object in (
        ("companies", "companies" if system == "connectwise" else "accounts"),
        ("contacts", "contacts"),
    ):
        prop = pair.hubspot.properties[hub_object][HUB_FIELD[system]]
        assert (prop["type"], prop["fieldType"], prop["hubspotDefined"]) == ("string", "text", False)
        if system == "connectwise":
            screen = "Company" if hub_object == "companies" else "Contact"
            udfs = [
                u for u in pair.other.store["udfs"].values() if u["screenId"] == screen and u["caption"] == "SyncSmart HubSpot ID"
            ]
            assert [(u["fieldTypeIdentifier"], u["entryTypeIdentifier"]) for u in udfs] == [("Text", "EntryField")]
        else:
            column = pair.other.entities[other_object[:-1] if other_object == "contacts" else "account"].attr(
                "new_syncsmarthubspotid"
            )
            assert (column.type, column.max_length) == ("String", 100)
    created = "userDefinedFields create" if system == "connectwise" else "Attributes create"
    assert sum(n for key, n in pair.other.counters()["calls"].items() if created in key) == 2
    pair.reset_counters()
    pair.sync()
    assert not any("properties/create" in key for key in pair.hubspot.counters()["calls"])
    assert not any(created in key for key in pair.other.counters()["calls"])


def test_an_edit_after_convergence_syncs_the_field_and_no_id_again(pair):
    seed(pair)
    pair.sync()
    pair.sync()
    link = RecordLink.objects.filter(integration=pair.integration, hubspot_object="contacts").first()
    pair.hubspot.advance_clock(5_000)
    pair.hubspot.edit_record("contacts", link.hubspot_id, {"firstname": "Renamed"})
    pair.reset_counters()
    run = pair.sync()
    assert run.counts.get("ids_written", 0) == 0, run.counts
    assert write_calls(pair.hubspot) == 0  # our update on the other side did not come back as a change
    pair.reset_counters()
    pair.sync()
    assert pair.writes() == (0, 0)


def test_names_given_in_the_mapping_are_the_fields_used(pair):
    for mapping in ObjectMapping.objects.filter(integration=pair.integration):
        mapping.write_back_field_hubspot = "erp_ref"
        mapping.write_back_field_other = (
            "HubSpot record" if pair.integration.other_system == "connectwise" else "new_hubspotrecord"
        )
        mapping.save()
    pair.hubspot.create_record("companies", {"name": "Initech", "domain": "initech.example.com"})
    pair.sync()
    link = RecordLink.objects.get(integration=pair.integration, hubspot_object="companies")
    assert pair.hubspot.get_record("companies", link.hubspot_id)["erp_ref"] == link.other_id
    if pair.integration.other_system == "connectwise":
        record = pair.other.get("companies", link.other_id)
        assert {c["caption"]: c["value"] for c in record["customFields"]}["HubSpot record"] == link.hubspot_id
    else:
        assert pair.other.record("accounts", link.other_id)["new_hubspotrecord"] == link.hubspot_id


def test_without_write_back_ids_no_field_is_created_or_written(db):
    pair = build_pair("connectwise")
    try:
        seed(pair)
        pair.sync()
        assert "syncsmart_connectwise_id" not in pair.hubspot.properties["contacts"]
        assert not any("userDefinedFields create" in key for key in pair.other.counters()["calls"])
    finally:
        pair.close()


def seed_many(pair, n: int) -> None:
    """n contacts (and their company) only in HubSpot, n only in the other system."""
    hub_company = pair.hubspot.create_record("companies", {"name": "Initech", "domain": "initech.example.com"})
    for i in range(n):
        pair.hubspot.create_record(
            "contacts", {"email": f"h{i}@initech.example.com", "firstname": f"H{i}"}, associations={"companies": [hub_company]}
        )
    if pair.integration.other_system == "connectwise":
        zenith = pair.other.add_company("Zenith", website="zenith.example.com")
        for i in range(n):
            pair.other.add_contact(f"C{i}", "Person", company_id=zenith["id"], email=f"c{i}@zenith.example.com")
    else:
        zenith = pair.other.create_record("accounts", {"name": "Zenith", "websiteurl": "zenith.example.com"})
        for i in range(n):
            pair.other.create_record(
                "contacts", {"lastname": f"C{i}", "emailaddress1": f"c{i}@zenith.example.com", "parentcustomerid": zenith}
            )


def backfill_calls(system: str, n: int, write_back_ids: bool) -> tuple[dict, dict]:
    pair = build_pair(system, write_back_ids=write_back_ids)
    try:
        seed_many(pair, n)
        pair.reset_counters()
        run = pair.sync()
        assert run.status == "succeeded", (run.error, run.counts)
        return dict(pair.hubspot.counters()["calls"]), dict(pair.other.counters()["calls"])
    finally:
        pair.close()


def extra(on: dict, off: dict) -> dict:
    return {k: on.get(k, 0) - off.get(k, 0) for k in set(on) | set(off) if on.get(k, 0) != off.get(k, 0)}


@pytest.mark.parametrize("system", ["connectwise", "dynamics"])
def test_ids_cost_batched_calls_per_page_not_calls_per_record(system, db):
    """The same backfill (n contacts and a company only in HubSpot, as many only in the other
    system) with and without ids written back, calls counted by the emulators. What ids add:
    the fields' creation and a re-read of the field lists (once), and per page one batched
    update of the side whose records were created on the other side (their new ids exist only
    after the create); ConnectWise, which has no batch write, one PATCH per ConnectWise record
    created in HubSpot and one GET per 25 of them. Ids on the records a create makes travel in
    the create itself: 0 calls."""
    n = 120
    hub_off, other_off = backfill_calls(system, n, False)
    hub_on, other_on = backfill_calls(system, n, True)
    hub, other = extra(hub_on, hub_off), extra(other_on, other_off)
    # HubSpot: 2 property creates + 2 property-list re-reads (once), and the 121 HubSpot records'
    # new counterpart ids in batch updates of 100: companies 1 call, contacts 2.
    assert hub == {"POST properties/create": 2, "GET properties/list": 2, "POST batch/update": 3}, hub
    if system == "dynamics":
        # 2 column creates + 2 table re-reads (once); 121 ids in one UpdateMultiple per page and table.
        assert other == {"POST EntityDefinitions/Attributes create": 2, "GET EntityDefinitions": 2, "POST bulk": 2}, other
    else:
        # 2 custom field creates + 1 re-read (once); per ConnectWise record created in HubSpot one
        # PATCH, and a GET of the current custom fields per 25 (contacts 120 -> 5, company 1).
        assert other == {
            "POST system/userDefinedFields create": 2,
            "GET system/userDefinedFields list": 1,
            "PATCH company/contacts patch": n,
            "GET company/contacts list": 5,
            "PATCH company/companies patch": 1,
            "GET company/companies list": 1,
        }, other


def test_a_preview_with_ids_written_back_creates_no_field_and_writes_nothing(pair):
    seed(pair)
    pair.reset_counters()
    preview = previews.request_preview(pair.integration, None, enqueue=False)
    done = previews.run_preview(str(preview.pk), connectors=pair.connectors())
    assert done.status == "done", done.error
    assert pair.writes() == (0, 0)
    assert HUB_FIELD[pair.integration.other_system] not in pair.hubspot.properties["contacts"]


def test_each_connector_makes_its_id_field_once_and_finds_it_again(pair):
    connectors = pair.connectors()
    hub, other = connectors["hubspot"], connectors["other"]
    other_name = "SyncSmart HubSpot ID" if pair.integration.other_system == "connectwise" else "new_syncsmarthubspotid"
    try:
        first = (hub.ensure_id_field("contacts", "syncsmart_x_id", "X"), other.ensure_id_field("contacts", other_name, "HubSpot"))
        again = (hub.ensure_id_field("contacts", "syncsmart_x_id", "X"), other.ensure_id_field("contacts", other_name, "HubSpot"))
    finally:
        hub.close()
        other.close()
    assert first == again
    assert pair.hubspot.counters()["calls"]["POST properties/create"] == 1
    created = "userDefinedFields create" if pair.integration.other_system == "connectwise" else "Attributes create"
    assert sum(n for key, n in pair.other.counters()["calls"].items() if created in key) == 1


def test_the_webhooks_our_id_writes_cause_come_back_as_our_own_change(db, monkeypatch, django_capture_on_commit_callbacks):
    """Both vendors notify the app of every record whose id we wrote (HubSpot property change,
    ConnectWise callback): the run those notifications start writes nothing."""
    pair = build_pair("connectwise", write_back_ids=True)
    try:
        monkeypatch.setattr("syncsmart.engine.queue.enqueue_run", lambda run_id: None)
        base = f"http://testserver/webhooks/{pair.integration.pk}"
        pair.hubspot.webhooks = CollectingSender()
        pair.hubspot.subscribe(f"{base}/hubspot")
        pair.other.webhooks = CollectingSender()
        connectors = pair.connectors()
        connectors["other"].register_callbacks(f"{base}/other")
        connectors["other"].close()
        seed(pair)
        pair.hubspot.webhooks.deliveries.clear()
        pair.other.webhooks.deliveries.clear()
        pair.sync()
        assert pair.sync().counts.get("ids_written", 0) == 0
        assert pair.hubspot.webhooks.deliveries and pair.other.webhooks.deliveries  # our writes, ids included
        with django_capture_on_commit_callbacks(execute=True):
            pair.hubspot.webhooks.deliver(Client())
            pair.other.webhooks.deliver(Client())
        assert InboxItem.objects.filter(status="pending").exists()
        pair.reset_counters()
        run = pair.sync(trigger="webhook")
        assert pair.writes() == (0, 0), run.counts
        assert run.counts.get("echo", 0) > 0 and not InboxItem.objects.filter(status="pending").exists()
    finally:
        pair.close()


def test_an_id_field_named_after_a_field_that_is_not_text_leaves_ids_out_not_the_sync(pair):
    """A name that finds an existing number field (set without the editor's check) is refused
    by the connector: the run syncs as without ids and counts the field it could not use."""
    companies = ObjectMapping.objects.get(integration=pair.integration, hubspot_object="companies")
    companies.write_back_field_hubspot = "numberofemployees"
    companies.write_back_field_other = "Employees (estimate)" if pair.integration.other_system == "connectwise" else "revenue"
    companies.save()
    company = pair.hubspot.create_record("companies", {"name": "Initech", "domain": "initech.example.com"})
    run = pair.sync()
    assert run.status == "succeeded" and run.counts["id_field_unavailable"] == 2, run.counts
    link = RecordLink.objects.get(integration=pair.integration, hubspot_object="companies", hubspot_id=company)
    assert pair.hubspot.get_record("companies", company).get("numberofemployees") is None
    assert link.other_id


@pytest.mark.parametrize("system", ["connectwise", "dynamics"])
def test_switched_on_for_records_already_linked_a_historical_sync_writes_their_ids(system, db):
    """Records linked before ids were written back get theirs when they next come through a
    feed: a historical sync brings them all, as our own change (echo), and writes each side's id
    in batched updates; the run after it writes nothing."""
    pair = build_pair(system)
    try:
        seed(pair)
        pair.sync()
        pair.integration.write_back_ids = True
        pair.integration.save()
        run = pair.sync(trigger=SyncRun.Trigger.HISTORICAL)
        assert run.status == "succeeded", run.error
        # Each of the 10 pairs written once on each side: in the batched id write-back, or riding on
        # the update of a counterpart the page read anyway.
        assert run.counts.get("created", 0) == 0, run.counts
        assert run.counts["writes_hubspot"] == run.counts["writes_other"] == 10, run.counts
        assert assert_ids_on_both_sides(pair) == 10
        pair.reset_counters()
        after = pair.sync()
        assert pair.writes() == (0, 0), (after.counts, pair.other.counters()["calls"], system)
    finally:
        pair.close()
