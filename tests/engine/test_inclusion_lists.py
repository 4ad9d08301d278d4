"""Inclusion lists end to end on the emulators: a HubSpot list in the contacts mapping's HubSpot →
other filter lets only its members sync; a member that leaves follows the mapping's delete policy."""

from __future__ import annotations

import pytest
from django.test import Client

from mappings import filters
from mappings.models import ObjectMapping
from mappings.services import actions
from syncsmart.models import PendingDeletion, RecordEvent
from tests.engine.conftest import CollectingSender, build_pair
from tests.engine.test_deletions import Sides

pytestmark = pytest.mark.django_db
P = ObjectMapping.DeletePolicy
Outcome = RecordEvent.Outcome


@pytest.fixture(params=["connectwise", "dynamics"])
def sides(request):
    pair = build_pair(request.param)
    yield Sides(pair)
    pair.close()


@pytest.fixture
def cw(request):
    pair = build_pair("connectwise")
    yield Sides(pair)
    pair.close()


def only_list(sides: Sides, name: str, policy: str = P.IGNORE) -> None:
    """The contacts mapping syncs HubSpot → other only the members of the list called `name`."""
    mapping = sides.mapping
    mapping.filter_to_other = {
        "match": "all",
        "conditions": [{"field": filters.LIST_FIELD, "operator": "in_list", "value": name}],
    }
    mapping.delete_to_other = policy
    actions.save_object_mapping(mapping, None)


def synced(sides: Sides):
    run = sides.pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    return run


def test_only_the_members_of_a_static_list_sync_and_the_list_is_read_once_per_run(cw):
    a, b, c = cw.hub_contact(1), cw.hub_contact(2), cw.hub_contact(3)
    vip = cw.pair.hubspot.lists.create_list("VIP", "contacts", "MANUAL")
    cw.pair.hubspot.lists.add_members(vip, [a, b])
    only_list(cw, "vip")  # picked by name, in any case: stored as HubSpot spells it, with its id
    assert cw.mapping.filter_to_other["conditions"][0] | {} == {
        "field": filters.LIST_FIELD,
        "operator": "in_list",
        "value": "VIP",
        "list_id": vip,
    }
    cw.pair.reset_counters()
    run = synced(cw)
    assert cw.link(hubspot_id=a) is not None and cw.link(hubspot_id=b) is not None
    assert cw.link(hubspot_id=c) is None
    stopped = RecordEvent.objects.get(source_side="hubspot", source_id=c, outcome=Outcome.FILTERED)
    assert stopped.message == "Filter: not in the HubSpot list “VIP”."
    assert cw.pair.hubspot.calls("lists/memberships") == 1  # one page of members, read once for the whole run
    assert run.counts["list_reads"] == 1


def test_a_contact_added_to_the_list_syncs_on_the_next_run_without_any_change_to_it(cw):
    a, b = cw.hub_contact(1), cw.hub_contact(2)
    vip = cw.pair.hubspot.lists.create_list("VIP", "contacts", "MANUAL")
    cw.pair.hubspot.lists.add_members(vip, [a])
    only_list(cw, "VIP")
    synced(cw)
    assert cw.link(hubspot_id=b) is None
    cw.pair.hubspot.lists.add_members(vip, [b])  # the contact itself does not change
    run = synced(cw)
    assert cw.link(hubspot_id=b) is not None
    assert run.counts["list_joined"] == 1
    assert RecordEvent.objects.filter(source_id=b, outcome=Outcome.CREATED, run=run).exists()


def test_a_member_removed_from_the_list_under_ignore_stays_linked_and_the_record_log_says_so(cw):
    a = cw.hub_contact(1)
    vip = cw.pair.hubspot.lists.create_list("VIP", "contacts", "MANUAL")
    cw.pair.hubspot.lists.add_members(vip, [a])
    only_list(cw, "VIP", P.IGNORE)
    synced(cw)
    other_id = cw.link(hubspot_id=a).other_id
    cw.pair.hubspot.lists.remove_members(vip, [a])
    synced(cw)
    left = RecordEvent.objects.get(source_side="hubspot", source_id=a, outcome=Outcome.LEFT_LIST)
    assert left.message.startswith("Left the HubSpot list “VIP”; kept in ConnectWise (this mapping does not sync deletions).")
    assert "The link stays" in left.message
    assert cw.link(hubspot_id=a).other_id == other_id and cw.other_state(other_id) == "live"
    assert not PendingDeletion.objects.exists()
    synced(cw)  # said once, not every run
    assert RecordEvent.objects.filter(source_id=a, outcome=Outcome.LEFT_LIST).count() == 1


def test_a_member_leaving_the_list_under_archive_is_archived_on_the_other_side(sides):
    a, b = sides.hub_contact(1), sides.hub_contact(2)
    vip = sides.pair.hubspot.lists.create_list("VIP", "contacts", "MANUAL")
    sides.pair.hubspot.lists.add_members(vip, [a, b])
    only_list(sides, "VIP", P.ARCHIVE)
    synced(sides)
    other_a, other_b = sides.link(hubspot_id=a).other_id, sides.link(hubspot_id=b).other_id
    sides.pair.hubspot.lists.remove_members(vip, [a])
    synced(sides)
    assert sides.other_state(other_a) == "archived"
    assert sides.other_state(other_b) == "live"
    assert sides.hub_state(a) == "live"  # leaving a list deletes nothing in HubSpot
    row = PendingDeletion.objects.get(source_id=a)
    assert (row.reason, row.status) == (PendingDeletion.Reason.LEFT_LIST, PendingDeletion.Status.APPLIED)
    removed = RecordEvent.objects.get(source_id=a, outcome=Outcome.REMOVED)
    assert removed.message == f"Left the HubSpot inclusion list; archived in {sides.label}."
    sides.pair.reset_counters()
    synced(sides)
    assert sides.pair.writes() == (0, 0)  # nothing archived twice


def test_a_contact_leaving_an_active_list_by_a_property_change_is_archived_in_dynamics(request):
    pair = build_pair("dynamics")
    request.addfinalizer(pair.close)
    sides = Sides(pair)
    a = sides.hub_contact(1)
    pair.hubspot.edit_record("contacts", a, {"lifecyclestage": "customer"})
    rule = {"filterType": "PROPERTY", "property": "lifecyclestage"}
    rule["operation"] = {"operationType": "ENUMERATION", "operator": "IS_EQUAL_TO", "value": "customer"}
    pair.hubspot.lists.create_list(
        "Customers",
        "contacts",
        "DYNAMIC",
        {"filterBranchType": "OR", "filterBranches": [{"filterBranchType": "AND", "filters": [rule]}]},
    )
    only_list(sides, "Customers", P.ARCHIVE)
    synced(sides)
    other_id = sides.link(hubspot_id=a).other_id
    pair.hubspot.edit_record("contacts", a, {"lifecyclestage": "lead"})  # out of the active list
    synced(sides)
    assert sides.other_state(other_id) == "archived"
    assert RecordEvent.objects.filter(source_id=a, outcome=Outcome.LEFT_LIST).exists()


def test_a_list_leaver_back_in_the_list_before_the_removal_is_applied_is_not_removed(cw, settings):
    settings.SYNC_DELETE_GUARD_MIN = 0
    settings.SYNC_DELETE_GUARD_COUNT = 0  # every removal waits for a person
    a = cw.hub_contact(1)
    vip = cw.pair.hubspot.lists.create_list("VIP", "contacts", "MANUAL")
    cw.pair.hubspot.lists.add_members(vip, [a])
    only_list(cw, "VIP", P.DELETE)
    synced(cw)
    other_id = cw.link(hubspot_id=a).other_id
    cw.pair.hubspot.lists.remove_members(vip, [a])
    synced(cw)
    row = PendingDeletion.objects.get(source_id=a)
    assert row.status == PendingDeletion.Status.HELD
    cw.pair.hubspot.lists.add_members(vip, [a])
    PendingDeletion.objects.filter(pk=row.pk).update(status=PendingDeletion.Status.CONFIRMED)
    synced(cw)
    row.refresh_from_db()
    assert row.status == PendingDeletion.Status.CANCELLED and row.message.startswith("Back in the inclusion list")
    assert cw.other_state(other_id) == "live" and cw.link(hubspot_id=a) is not None


def test_a_list_deleted_in_hubspot_fails_the_run_naming_the_filter_to_fix_and_syncs_nothing_through_it(cw):
    a = cw.hub_contact(1)
    vip = cw.pair.hubspot.lists.create_list("VIP", "contacts", "MANUAL")
    cw.pair.hubspot.lists.add_members(vip, [a])
    only_list(cw, "VIP")
    with cw.pair.hubspot.lock:
        del cw.pair.hubspot.lists.lists[int(vip)]
    run = cw.pair.sync()
    assert run.status == "failed"
    assert "The HubSpot list “VIP” in a filter no longer exists in HubSpot" in run.error
    assert cw.link(hubspot_id=a) is None


def test_membership_costs_one_call_per_250_members_per_run_however_many_pages_of_records(cw):
    company = cw.pair.hubspot.create_record("companies", {"name": "SyncSmart Many", "domain": "many.example.com"})
    ids = [
        cw.pair.hubspot.create_record(
            "contacts",
            {"email": f"m{n}@many.example.com", "firstname": "Mo", "lastname": f"M{n}"},
            associations={"companies": [company]},
        )
        for n in range(450)
    ]
    vip = cw.pair.hubspot.lists.create_list("Many", "contacts", "MANUAL")
    cw.pair.hubspot.lists.add_members(vip, ids[:400])
    only_list(cw, "Many")
    cw.pair.reset_counters()
    run = synced(cw)
    assert cw.pair.hubspot.calls("search") >= 3  # the contacts came in three pages of 200...
    assert cw.pair.hubspot.calls("lists/memberships") == 2  # ...and the 400 members in two calls, once
    assert run.counts["list_reads"] == 1 and run.counts["list_joined"] == 0  # the change feed brought them all
    assert len(cw.pair.other.store["contacts"]) == 400
    cw.pair.reset_counters()
    synced(cw)  # an idle run reads the list again (joins and leaves are not in the change feed): two calls
    assert cw.pair.hubspot.calls("lists/memberships") == 2


def test_a_webhook_run_asks_for_the_lists_of_its_records_instead_of_reading_the_lists(
    cw, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr("syncsmart.engine.queue.enqueue_run", lambda run_id: None)
    a, b = cw.hub_contact(1), cw.hub_contact(2)
    vip = cw.pair.hubspot.lists.create_list("VIP", "contacts", "MANUAL")
    cw.pair.hubspot.lists.add_members(vip, [a])
    only_list(cw, "VIP")
    synced(cw)
    cw.pair.hubspot.webhooks = CollectingSender()
    cw.pair.hubspot.subscribe(f"http://testserver/webhooks/{cw.pair.integration.pk}/hubspot")
    cw.pair.hubspot.edit_record("contacts", a, {"firstname": "Ann"})
    cw.pair.hubspot.edit_record("contacts", b, {"firstname": "Bob"})
    with django_capture_on_commit_callbacks(execute=True):
        assert all(r.status_code == 200 for r in cw.pair.hubspot.webhooks.deliver(Client()))
    cw.pair.reset_counters()
    run = cw.pair.sync(trigger="webhook")
    assert run.status == "succeeded", run.error
    assert cw.other_state(cw.link(hubspot_id=a).other_id) == "live"
    assert cw.pair.other.store["contacts"][int(cw.link(hubspot_id=a).other_id)]["firstName"] == "Ann"
    assert cw.link(hubspot_id=b) is None
    assert cw.pair.hubspot.calls("lists/memberships") == 0  # no list read whole...
    assert cw.pair.hubspot.calls("lists/record-memberships") == 2  # ...one call per notified record
