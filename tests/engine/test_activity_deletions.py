"""Activity deletes (issue 19): an activity removed on one side is removed on the other when the
mapping's delete policy says so, in both directions on both pairs, and the mass-deletion guard
holds a run that would remove too many."""

from __future__ import annotations

import httpx
import pytest
from django.test import Client

from connectors.hubspot.emulator import DEFAULT_TOKEN
from mappings.models import ObjectMapping
from syncsmart.models import PendingDeletion, RecordEvent, RecordLink
from tests.engine.conftest import CollectingSender

pytestmark = pytest.mark.django_db
P = ObjectMapping.DeletePolicy
WHEN = "2026-03-02T10:00:00Z"


@pytest.fixture(autouse=True)
def reconcile_every_run(settings):
    settings.SYNC_RECONCILE_MINUTES = 0


def mapping(pair, hubspot_object, other_object, **policies):
    found = pair.integration.object_mappings.get(hubspot_object=hubspot_object, other_object=other_object)
    for name, value in policies.items():
        setattr(found, name, value)
    found.save()
    return found


def link_of(hubspot_object, **ids):
    return RecordLink.objects.filter(hubspot_object=hubspot_object, **ids).first()


def hub_archive(pair, object_type, record_id):
    http = httpx.Client(transport=pair.hubspot.transport(), base_url="https://hubspot.test")
    answer = http.delete(f"/crm/v3/objects/{object_type}/{record_id}", headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"})
    assert answer.status_code == 204


def hub_archived(pair, object_type, record_id) -> bool:
    with pair.hubspot.lock:
        record = pair.hubspot.records[object_type].get(int(record_id))
    return record is None or record.archived


def synced(pair):
    run = pair.sync()
    assert run.status == "succeeded", (run.error, run.counts, failures())
    return run


def failures():
    return list(RecordEvent.objects.filter(outcome="failed").values_list("message", flat=True))


# --- HubSpot <-> ConnectWise ----------------------------------------------------------------------
def cw_contact(pair):
    company = pair.hubspot.create_record("companies", {"name": "Contoso", "domain": "contoso.example.com"})
    contact = pair.hubspot.create_record(
        "contacts", {"email": "kim@contoso.example.com", "firstname": "Kim"}, associations={"companies": [company]}
    )
    synced(pair)
    return contact, int(link_of("contacts", hubspot_id=contact).other_id)


def test_a_hubspot_call_archived_is_deleted_in_connectwise_when_the_policy_says_delete(cw_pair):
    mapping(cw_pair, "calls", "call_activities", delete_to_other=P.DELETE)
    contact, _ = cw_contact(cw_pair)
    call = cw_pair.hubspot.create_record(
        "calls", {"hs_call_title": "Discovery", "hs_timestamp": WHEN}, associations={"contacts": [contact]}
    )
    synced(cw_pair)
    activity = link_of("calls", hubspot_id=call).other_id
    hub_archive(cw_pair, "calls", call)
    synced(cw_pair)
    assert cw_pair.other.get("activities", activity) is None
    assert link_of("calls", hubspot_id=call) is None
    noticed = RecordEvent.objects.get(source_id=call, outcome=RecordEvent.Outcome.DELETED)
    assert noticed.message == "Deleted in HubSpot; to be deleted in ConnectWise."
    assert RecordEvent.objects.filter(source_id=call, outcome=RecordEvent.Outcome.REMOVED).exists()
    cw_pair.reset_counters()
    synced(cw_pair)
    assert cw_pair.writes() == (0, 0)


def test_a_hubspot_call_archived_stays_in_connectwise_when_deletions_are_ignored(cw_pair):
    contact, _ = cw_contact(cw_pair)  # the default policy: ignore
    call = cw_pair.hubspot.create_record(
        "calls", {"hs_call_title": "Discovery", "hs_timestamp": WHEN}, associations={"contacts": [contact]}
    )
    synced(cw_pair)
    activity = link_of("calls", hubspot_id=call).other_id
    hub_archive(cw_pair, "calls", call)
    synced(cw_pair)
    assert cw_pair.other.get("activities", activity) is not None


def test_a_connectwise_activity_deleted_is_archived_in_hubspot_from_its_callback(
    cw_pair, settings, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr("syncsmart.engine.queue.enqueue_run", lambda run_id: None)
    mapping(cw_pair, "emails", "email_activities", delete_to_hubspot=P.DELETE)
    mapping(cw_pair, "calls", "call_activities", delete_to_hubspot=P.DELETE)
    contact, cw_id = cw_contact(cw_pair)
    cw_pair.other.webhooks = CollectingSender()
    connectors = cw_pair.connectors()
    connectors["other"].register_callbacks(f"http://testserver/webhooks/{cw_pair.integration.pk}/other")
    connectors["other"].close()
    activity = cw_pair.other.add_activity("Quote sent", type="Email", contact_id=cw_id, dateStart=WHEN)["id"]
    synced(cw_pair)
    email = link_of("emails", other_id=str(activity)).hubspot_id
    settings.SYNC_RECONCILE_MINUTES = 600  # the reconcile of ids is not due: the callback alone tells
    cw_pair.other.webhooks.deliveries.clear()
    cw_pair.other.delete("activities", activity)
    with django_capture_on_commit_callbacks(execute=True):
        [answer] = cw_pair.other.webhooks.deliver(Client())
    assert answer.status_code == 200
    synced(cw_pair)
    assert hub_archived(cw_pair, "emails", email)
    noticed = RecordEvent.objects.get(source_side="other", source_id=str(activity), outcome=RecordEvent.Outcome.DELETED)
    assert noticed.message == "Deleted in ConnectWise; to be deleted in HubSpot."
    # The callback does not say it was an e-mail: the other activity types did not take it as theirs.
    others = RecordEvent.objects.filter(source_id=str(activity), source_object__endswith="_activities")
    assert others.exclude(source_object="email_activities").count() == 0


def test_a_connectwise_contact_note_deleted_is_archived_in_hubspot(cw_pair):
    connection = cw_pair.integration.other_connection
    connection.config = {**connection.config, "notes_every_minutes": 0}
    connection.save()
    mapping(cw_pair, "notes", "contact_notes", delete_to_hubspot=P.DELETE)
    contact, cw_id = cw_contact(cw_pair)
    note = cw_pair.other.add_note("contacts", cw_id, "Met at the fair")
    synced(cw_pair)
    hub_note = link_of("notes", other_id=f"{cw_id}:{note['id']}").hubspot_id
    cw_pair.other.delete("contact_notes", note["id"])
    synced(cw_pair)
    assert hub_archived(cw_pair, "notes", hub_note)


def test_a_hubspot_note_archived_deletes_the_connectwise_contact_note_under_its_contact(cw_pair):
    mapping(cw_pair, "notes", "contact_notes", delete_to_other=P.DELETE)
    contact, cw_id = cw_contact(cw_pair)
    note = cw_pair.hubspot.create_record(
        "notes", {"hs_note_body": "<p>Met at the fair</p>", "hs_timestamp": WHEN}, associations={"contacts": [contact]}
    )
    synced(cw_pair)
    cw_note = link_of("notes", hubspot_id=note, other_object="contact_notes").other_id
    assert cw_note.startswith(f"{cw_id}:")
    hub_archive(cw_pair, "notes", note)
    synced(cw_pair)
    assert cw_pair.other.count("contact_notes") == 0
    assert link_of("notes", hubspot_id=note, other_object="contact_notes") is None


def test_the_mass_deletion_guard_holds_too_many_activity_deletions(cw_pair):
    mapping(cw_pair, "calls", "call_activities", delete_to_other=P.DELETE)
    contact, _ = cw_contact(cw_pair)
    calls = [
        cw_pair.hubspot.create_record(
            "calls", {"hs_call_title": f"Call {n}", "hs_timestamp": WHEN}, associations={"contacts": [contact]}
        )
        for n in range(7)
    ]
    synced(cw_pair)
    for call in calls[:6]:  # more than the guard's minimum of 5 without a person
        hub_archive(cw_pair, "calls", call)
    synced(cw_pair)
    assert cw_pair.other.count("activities") == 7
    assert PendingDeletion.objects.filter(status=PendingDeletion.Status.HELD).count() == 6


# --- HubSpot <-> Dynamics 365 ---------------------------------------------------------------------
def dyn_contact(pair):
    contact = pair.hubspot.create_record("contacts", {"email": "kim@contoso.example.com", "firstname": "Kim", "lastname": "Lee"})
    synced(pair)
    return contact, link_of("contacts", hubspot_id=contact).other_id


def test_a_hubspot_email_archived_is_deleted_in_dynamics_when_the_policy_says_delete(dyn_pair):
    mapping(dyn_pair, "emails", "emails", delete_to_other=P.DELETE)
    contact, _ = dyn_contact(dyn_pair)
    email = dyn_pair.hubspot.create_record(
        "emails", {"hs_email_subject": "Quote", "hs_timestamp": WHEN}, associations={"contacts": [contact]}
    )
    synced(dyn_pair)
    dyn_email = link_of("emails", hubspot_id=email).other_id
    hub_archive(dyn_pair, "emails", email)
    synced(dyn_pair)
    assert dyn_pair.other.record("emails", dyn_email) is None
    assert link_of("emails", hubspot_id=email) is None
    noticed = RecordEvent.objects.get(source_id=email, outcome=RecordEvent.Outcome.DELETED)
    assert noticed.message == "Deleted in HubSpot; to be deleted in Dynamics 365."


def test_a_dynamics_phone_call_deleted_is_archived_in_hubspot_from_change_tracking(dyn_pair):
    mapping(dyn_pair, "calls", "phonecalls", delete_to_hubspot=P.DELETE)
    contact, dyn_id = dyn_contact(dyn_pair)
    phonecall = dyn_pair.other.create_record("phonecalls", {"subject": "Follow-up", "regardingobjectid": dyn_id})
    synced(dyn_pair)
    call = link_of("calls", other_id=phonecall).hubspot_id
    dyn_pair.other.delete_record("phonecalls", phonecall)
    synced(dyn_pair)
    assert hub_archived(dyn_pair, "calls", call)
    noticed = RecordEvent.objects.get(source_side="other", source_id=phonecall, outcome=RecordEvent.Outcome.DELETED)
    assert noticed.message == "Deleted in Dynamics 365; to be deleted in HubSpot."
