"""Activity sync HubSpot <-> Dynamics 365 (issue 19): notes <-> annotations and calls <->
phone calls, both ways, on the right records, parents first, no orphans, no duplicates."""

import pytest

from connectors.hubspot.emulator_engagements import orphans
from mappings.models import ObjectMapping
from syncsmart.engine.bodies import TRUNCATED_MARKER
from syncsmart.models import DeferredRecord, RecordEvent, RecordLink
from tests.engine.dynamics_support import lookup_id

pytestmark = pytest.mark.django_db
WHEN = "2026-03-02T10:00:00Z"


def other_id(hubspot_object, hubspot_id):
    return RecordLink.objects.get(hubspot_object=hubspot_object, hubspot_id=str(hubspot_id)).other_id


def hubspot_id(other_object, other_id):
    return RecordLink.objects.get(other_object=other_object, other_id=str(other_id)).hubspot_id


def synced_contact(pair, email="kim@contoso.example.com"):
    contact = pair.hubspot.create_record("contacts", {"email": email, "firstname": "Kim", "lastname": "Lee"})
    assert pair.sync().status == "succeeded"
    return contact, other_id("contacts", contact)


def dynamics_orphans(pair):
    notes = [r for r in pair.other.rows["annotation"].values() if not r.get("objectid")]
    calls = [r for r in pair.other.rows["phonecall"].values() if not r.get("regardingobjectid")]
    return notes + calls


def assert_no_orphans(pair):
    assert orphans(pair.hubspot, "notes") == [] and orphans(pair.hubspot, "calls") == []
    assert dynamics_orphans(pair) == []


def assert_rerun_writes_nothing(pair):
    pair.hubspot.advance_clock(5000)
    pair.reset_counters()
    run = pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    assert pair.writes() == (0, 0)


def test_hubspot_note_lands_on_the_dynamics_contact_as_plain_text_and_updates(dyn_pair):
    contact, dyn_contact = synced_contact(dyn_pair)
    note = dyn_pair.hubspot.create_record(
        "notes",
        {"hs_note_body": "<p>Called about <b>renewal</b></p><p>Next: send quote &amp; terms</p>", "hs_timestamp": WHEN},
        associations={"contacts": [contact]},
    )
    assert dyn_pair.sync().status == "succeeded"
    annotation = dyn_pair.other.record("annotations", other_id("notes", note))
    assert annotation["notetext"] == "Called about renewal\nNext: send quote & terms"
    assert lookup_id(annotation["objectid"]) == dyn_contact
    dyn_pair.hubspot.advance_clock(5000)
    dyn_pair.hubspot.edit_record("notes", note, {"hs_note_body": "<p>Quote sent</p>"})
    assert dyn_pair.sync().status == "succeeded"
    assert dyn_pair.other.record("annotations", other_id("notes", note))["notetext"] == "Quote sent"
    assert_rerun_writes_nothing(dyn_pair)
    assert_no_orphans(dyn_pair)


def test_dynamics_note_becomes_a_hubspot_note_associated_to_the_contact_and_updates(dyn_pair):
    contact, dyn_contact = synced_contact(dyn_pair)
    annotation = dyn_pair.other.create_record(
        "annotations", {"notetext": "Met at the fair\nWants a demo", "objectid": dyn_contact}
    )
    assert dyn_pair.sync().status == "succeeded"
    note = hubspot_id("annotations", annotation)
    assert dyn_pair.hubspot.get_record("notes", note)["hs_note_body"] == "<p>Met at the fair<br>Wants a demo</p>"
    assert dyn_pair.hubspot.get_record("notes", note)["hs_timestamp"]  # required by HubSpot: the note's creation time
    assert dyn_pair.hubspot.associated_ids("notes", note, "contacts") == [contact]
    dyn_pair.other.edit_record("annotations", annotation, {"notetext": "Demo booked"})
    assert dyn_pair.sync().status == "succeeded"
    assert dyn_pair.hubspot.get_record("notes", note)["hs_note_body"] == "<p>Demo booked</p>"
    assert_rerun_writes_nothing(dyn_pair)
    assert_no_orphans(dyn_pair)


def test_calls_sync_both_ways_with_their_contact(dyn_pair):
    contact, dyn_contact = synced_contact(dyn_pair)
    call = dyn_pair.hubspot.create_record(
        "calls",
        {"hs_call_title": "Discovery call", "hs_call_body": "<p>Budget approved</p>", "hs_timestamp": WHEN},
        associations={"contacts": [contact]},
    )
    phonecall = dyn_pair.other.create_record(
        "phonecalls", {"subject": "Follow-up", "description": "Left a voicemail", "regardingobjectid": dyn_contact}
    )
    run = dyn_pair.sync()
    assert run.status == "succeeded", (
        run.counts,
        list(RecordEvent.objects.filter(outcome="failed").values_list("message", flat=True)),
    )
    made = dyn_pair.other.record("phonecalls", other_id("calls", call))
    assert (made["subject"], made["description"]) == ("Discovery call", "Budget approved")
    assert lookup_id(made["regardingobjectid"]) == dyn_contact
    arrived = hubspot_id("phonecalls", phonecall)
    assert dyn_pair.hubspot.get_record("calls", arrived)["hs_call_title"] == "Follow-up"
    assert dyn_pair.hubspot.get_record("calls", arrived)["hs_call_body"] == "<p>Left a voicemail</p>"
    assert dyn_pair.hubspot.associated_ids("calls", arrived, "contacts") == [contact]
    dyn_pair.hubspot.advance_clock(5000)
    dyn_pair.hubspot.edit_record("calls", call, {"hs_call_title": "Discovery call (done)"})
    dyn_pair.other.edit_record("phonecalls", phonecall, {"subject": "Follow-up 2"})
    assert dyn_pair.sync().status == "succeeded"
    assert dyn_pair.other.record("phonecalls", other_id("calls", call))["subject"] == "Discovery call (done)"
    assert dyn_pair.hubspot.get_record("calls", arrived)["hs_call_title"] == "Follow-up 2"
    assert_rerun_writes_nothing(dyn_pair)
    assert_no_orphans(dyn_pair)


def test_a_note_on_a_contact_not_yet_synced_waits_then_lands_on_it(dyn_pair):
    contacts = ObjectMapping.objects.get(integration=dyn_pair.integration, hubspot_object="contacts", other_object="contacts")
    ObjectMapping.objects.filter(pk=contacts.pk).update(enabled=False)  # contacts are switched on later
    contact = dyn_pair.hubspot.create_record("contacts", {"email": "late@contoso.example.com", "lastname": "Late"})
    note = dyn_pair.hubspot.create_record(
        "notes", {"hs_note_body": "<p>Early note</p>", "hs_timestamp": WHEN}, associations={"contacts": [contact]}
    )
    assert dyn_pair.sync().status == "succeeded"
    assert dyn_pair.other.count("annotations") == 0
    waiting = RecordEvent.objects.filter(source_id=note, outcome=RecordEvent.Outcome.DEFERRED).latest("pk")
    assert waiting.message == f"Waiting for its contact {contact} to be synced first."
    assert DeferredRecord.objects.filter(record_id=note).exists()
    ObjectMapping.objects.filter(pk=contacts.pk).update(enabled=True)
    assert dyn_pair.sync().status == "succeeded"
    annotation = dyn_pair.other.record("annotations", other_id("notes", note))
    assert lookup_id(annotation["objectid"]) == other_id("contacts", contact)
    assert dyn_pair.other.count("annotations") == 1
    assert_rerun_writes_nothing(dyn_pair)
    assert_no_orphans(dyn_pair)


def test_a_note_without_any_record_is_not_created_as_an_orphan(dyn_pair):
    dyn_pair.hubspot.create_record("notes", {"hs_note_body": "<p>Loose</p>", "hs_timestamp": WHEN})
    dyn_pair.other.create_record("annotations", {"notetext": "Loose too"})
    assert dyn_pair.sync().status == "succeeded"
    assert dyn_pair.other.count("annotations") == 1 and dyn_pair.hubspot.count("notes") == 1  # only the two originals
    assert RecordEvent.objects.filter(message__contains="it would be an orphan").count() == 2


def test_a_body_longer_than_dynamics_accepts_is_truncated_not_failed(dyn_pair):
    contact, _ = synced_contact(dyn_pair)
    call = dyn_pair.hubspot.create_record(
        "calls",
        {"hs_call_title": "Long", "hs_call_body": "<p>" + "x" * 5000 + "</p>", "hs_timestamp": WHEN},
        associations={"contacts": [contact]},
    )
    assert dyn_pair.sync().status == "succeeded"
    description = dyn_pair.other.record("phonecalls", other_id("calls", call))["description"]
    assert len(description) == 2000 and description.endswith(TRUNCATED_MARKER)
    assert_rerun_writes_nothing(dyn_pair)
