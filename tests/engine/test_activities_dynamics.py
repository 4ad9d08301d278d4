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


def test_tasks_emails_and_meetings_sync_both_ways_with_their_contact(dyn_pair):
    contact, dyn_contact = synced_contact(dyn_pair)
    task = dyn_pair.hubspot.create_record(
        "tasks",
        {
            "hs_task_subject": "Send quote",
            "hs_task_body": "<p>By <b>Friday</b></p>",
            "hs_timestamp": WHEN,
            "hs_task_priority": "HIGH",
        },
        associations={"contacts": [contact]},
    )
    email = dyn_pair.hubspot.create_record(
        "emails",
        {"hs_email_subject": "Quote", "hs_email_text": "Attached, as promised", "hs_timestamp": WHEN},
        associations={"contacts": [contact]},
    )
    meeting = dyn_pair.hubspot.create_record(
        "meetings",
        {
            "hs_meeting_title": "Kick-off",
            "hs_meeting_location": "Room 4",
            "hs_timestamp": WHEN,
            "hs_meeting_start_time": WHEN,
            "hs_meeting_end_time": "2026-03-02T11:00:00Z",
        },
        associations={"contacts": [contact]},
    )
    dyn_task = dyn_pair.other.create_record(
        "tasks", {"subject": "Call back", "prioritycode": 0, "regardingobjectid": dyn_contact}
    )
    dyn_email = dyn_pair.other.create_record(
        "emails", {"subject": "Re: Quote", "description": "Looks good", "regardingobjectid": dyn_contact}
    )
    dyn_appointment = dyn_pair.other.create_record(
        "appointments",
        {
            "subject": "Review",
            "scheduledstart": "2026-03-05T09:00:00Z",
            "scheduledend": "2026-03-05T10:00:00Z",
            "regardingobjectid": dyn_contact,
        },
    )
    run = dyn_pair.sync()
    assert run.status == "succeeded", (
        run.counts,
        list(RecordEvent.objects.filter(outcome="failed").values_list("message", flat=True)),
    )
    made_task = dyn_pair.other.record("tasks", other_id("tasks", task))
    assert (made_task["subject"], made_task["description"], made_task["prioritycode"]) == ("Send quote", "By Friday", 2)
    assert lookup_id(made_task["regardingobjectid"]) == dyn_contact
    made_email = dyn_pair.other.record("emails", other_id("emails", email))
    assert (made_email["subject"], made_email["description"]) == ("Quote", "Attached, as promised")
    made_meeting = dyn_pair.other.record("appointments", other_id("meetings", meeting))
    assert (made_meeting["subject"], made_meeting["location"]) == ("Kick-off", "Room 4")
    assert made_meeting["scheduledend"].isoformat().startswith("2026-03-02T11:00:00")
    back_task = hubspot_id("tasks", dyn_task)
    assert dyn_pair.hubspot.get_record("tasks", back_task)["hs_task_subject"] == "Call back"
    assert dyn_pair.hubspot.get_record("tasks", back_task)["hs_task_priority"] == "LOW"
    back_email = hubspot_id("emails", dyn_email)
    assert dyn_pair.hubspot.get_record("emails", back_email)["hs_email_subject"] == "Re: Quote"
    back_meeting = hubspot_id("appointments", dyn_appointment)
    assert dyn_pair.hubspot.get_record("meetings", back_meeting)["hs_meeting_title"] == "Review"
    assert dyn_pair.hubspot.get_record("meetings", back_meeting)["hs_timestamp"].startswith("2026-03-05T09:00:00")
    for kind, record in (("tasks", back_task), ("emails", back_email), ("meetings", back_meeting)):
        assert dyn_pair.hubspot.associated_ids(kind, record, "contacts") == [contact]
        assert dyn_pair.hubspot.count(kind) == 2
    dyn_pair.hubspot.advance_clock(5000)
    dyn_pair.hubspot.edit_record("tasks", task, {"hs_task_subject": "Send quote (sent)"})
    dyn_pair.other.edit_record("appointments", dyn_appointment, {"subject": "Review (moved)"})
    assert dyn_pair.sync().status == "succeeded"
    assert dyn_pair.other.record("tasks", other_id("tasks", task))["subject"] == "Send quote (sent)"
    assert dyn_pair.hubspot.get_record("meetings", back_meeting)["hs_meeting_title"] == "Review (moved)"
    assert_rerun_writes_nothing(dyn_pair)
    for kind in ("tasks", "emails", "meetings"):
        assert orphans(dyn_pair.hubspot, kind) == []
    assert [
        r
        for kind in ("task", "email", "appointment")
        for r in dyn_pair.other.rows[kind].values()
        if not r.get("regardingobjectid")
    ] == []


def test_a_call_entered_on_both_sides_is_matched_not_duplicated(dyn_pair):
    contact, dyn_contact = synced_contact(dyn_pair)
    call = dyn_pair.hubspot.create_record(
        "calls", {"hs_call_title": "Pricing call", "hs_timestamp": "2026-03-02T10:00:20Z"}, associations={"contacts": [contact]}
    )
    twin = dyn_pair.other.create_record(
        "phonecalls", {"subject": "Pricing Call", "actualend": "2026-03-02T10:01:10Z", "regardingobjectid": dyn_contact}
    )
    run = dyn_pair.sync()
    assert run.status == "succeeded", (
        run.counts,
        list(RecordEvent.objects.filter(outcome="failed").values_list("message", flat=True)),
    )
    assert other_id("calls", call) == twin
    assert dyn_pair.other.count("phonecalls") == 1 and dyn_pair.hubspot.count("calls") == 1
    assert_rerun_writes_nothing(dyn_pair)
    assert_no_orphans(dyn_pair)
