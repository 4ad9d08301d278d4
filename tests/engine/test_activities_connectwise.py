"""Activity sync HubSpot <-> ConnectWise (issue 19): notes <-> contact / company notes, and calls,
e-mails, tasks and meetings <-> sales activities of the matching type, both ways, on the right
records, parents first, no orphans, no duplicates."""

import pytest

from connectors.hubspot.emulator_engagements import ENGAGEMENT_TYPES, orphans
from mappings.models import ObjectMapping
from syncsmart.models import DeferredRecord, RecordEvent, RecordLink

pytestmark = pytest.mark.django_db
WHEN = "2026-03-02T10:00:00Z"


@pytest.fixture(autouse=True)
def notes_read_every_run(cw_pair):
    """ConnectWise notes are walked at most every 15 minutes by default; these tests read them every run."""
    connection = cw_pair.integration.other_connection
    connection.config = {**connection.config, "notes_every_minutes": 0}
    connection.save()


def other_id(hubspot_object, hubspot_id, other_object=None):
    links = RecordLink.objects.filter(hubspot_object=hubspot_object, hubspot_id=str(hubspot_id))
    if other_object:
        links = links.filter(other_object=other_object)
    return links.get().other_id


def hubspot_id(other_object, other_id):
    return RecordLink.objects.get(other_object=other_object, other_id=str(other_id)).hubspot_id


def synced_contact(pair, email="kim@contoso.example.com"):
    company = pair.hubspot.create_record("companies", {"name": "Contoso", "domain": "contoso.example.com"})
    contact = pair.hubspot.create_record(
        "contacts", {"email": email, "firstname": "Kim", "lastname": "Lee"}, associations={"companies": [company]}
    )
    run = pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    return company, contact, int(other_id("companies", company)), int(other_id("contacts", contact))


def connectwise_orphans(pair):
    """Activities with no contact, company or opportunity (notes cannot exist without their record)."""
    return [a for a in pair.other.records("activities") if not (a.get("contact") or a.get("company") or a.get("opportunity"))]


def assert_no_orphans(pair):
    assert all(orphans(pair.hubspot, kind) == [] for kind in ENGAGEMENT_TYPES)
    assert connectwise_orphans(pair) == []


def assert_rerun_writes_nothing(pair):
    pair.hubspot.advance_clock(5000)
    pair.reset_counters()
    run = pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    assert pair.writes() == (0, 0), run.counts


def failures():
    return list(RecordEvent.objects.filter(outcome="failed").values_list("message", flat=True))


def test_hubspot_call_becomes_a_connectwise_call_activity_on_its_contact_and_company_and_updates(cw_pair):
    company, contact, cw_company, cw_contact = synced_contact(cw_pair)
    call = cw_pair.hubspot.create_record(
        "calls",
        {"hs_call_title": "Discovery call", "hs_call_body": "<p>Budget <b>approved</b></p>", "hs_timestamp": WHEN},
        associations={"contacts": [contact], "companies": [company]},
    )
    run = cw_pair.sync()
    assert run.status == "succeeded", (run.error, failures())
    activity = cw_pair.other.get("activities", other_id("calls", call))
    assert (activity["name"], activity["notes"], activity["type"]["name"]) == ("Discovery call", "Budget approved", "Call")
    assert (activity["contact"]["id"], activity["company"]["id"]) == (cw_contact, cw_company)
    assert activity["assignTo"]["identifier"] == "apimember"  # required by ConnectWise; no owner mapped
    assert activity["dateStart"].startswith("2026-03-02T10:00:00")
    cw_pair.hubspot.advance_clock(5000)
    cw_pair.hubspot.edit_record("calls", call, {"hs_call_title": "Discovery call (done)"})
    assert cw_pair.sync().status == "succeeded"
    assert cw_pair.other.get("activities", other_id("calls", call))["name"] == "Discovery call (done)"
    assert cw_pair.other.count("activities") == 1
    assert_rerun_writes_nothing(cw_pair)
    assert_no_orphans(cw_pair)


def test_connectwise_activities_of_each_type_become_the_matching_hubspot_engagement(cw_pair):
    _company, contact, cw_company, cw_contact = synced_contact(cw_pair)
    made = {
        kind: cw_pair.other.add_activity(
            f"{kind} with Kim", type=kind, contact_id=cw_contact, company_id=cw_company, notes=f"{kind} notes", dateStart=WHEN
        )
        for kind in ("Call", "Email", "Task", "Meeting")
    }
    run = cw_pair.sync()
    assert run.status == "succeeded", (run.error, failures())
    subjects = {
        "calls": "hs_call_title",
        "emails": "hs_email_subject",
        "tasks": "hs_task_subject",
        "meetings": "hs_meeting_title",
    }
    for (kind, activity), (hubspot_type, subject) in zip(made.items(), subjects.items(), strict=True):
        engagement = hubspot_id(f"{kind.lower()}_activities", activity["id"])
        assert cw_pair.hubspot.get_record(hubspot_type, engagement)[subject] == f"{kind} with Kim"
        assert cw_pair.hubspot.associated_ids(hubspot_type, engagement, "contacts") == [contact]
        assert cw_pair.hubspot.count(hubspot_type) == 1
    cw_pair.other.edit("activities", made["Email"]["id"], {"name": "Email with Kim (replied)"})
    assert cw_pair.sync().status == "succeeded"
    email = hubspot_id("email_activities", made["Email"]["id"])
    assert cw_pair.hubspot.get_record("emails", email)["hs_email_subject"] == "Email with Kim (replied)"
    assert cw_pair.other.count("activities") == 4  # nothing came back as a second activity
    assert_rerun_writes_nothing(cw_pair)
    assert_no_orphans(cw_pair)


def test_hubspot_task_email_and_meeting_become_connectwise_activities_of_their_type(cw_pair):
    _company, contact, _cw_company, cw_contact = synced_contact(cw_pair)
    task = cw_pair.hubspot.create_record(
        "tasks", {"hs_task_subject": "Send quote", "hs_timestamp": WHEN}, associations={"contacts": [contact]}
    )
    email = cw_pair.hubspot.create_record(
        "emails",
        {"hs_email_subject": "Quote", "hs_email_text": "Please find attached", "hs_timestamp": WHEN},
        associations={"contacts": [contact]},
    )
    meeting = cw_pair.hubspot.create_record(
        "meetings",
        {"hs_meeting_title": "Kick-off", "hs_timestamp": WHEN, "hs_meeting_end_time": "2026-03-02T11:00:00Z"},
        associations={"contacts": [contact]},
    )
    assert cw_pair.sync().status == "succeeded", failures()
    for hubspot_type, record, other_object, kind, name in (
        ("tasks", task, "task_activities", "Task", "Send quote"),
        ("emails", email, "email_activities", "Email", "Quote"),
        ("meetings", meeting, "meeting_activities", "Meeting", "Kick-off"),
    ):
        activity = cw_pair.other.get("activities", other_id(hubspot_type, record, other_object))
        assert (activity["type"]["name"], activity["name"], activity["contact"]["id"]) == (kind, name, cw_contact)
    assert cw_pair.other.get("activities", other_id("meetings", meeting))["dateEnd"].startswith("2026-03-02T11:00:00")
    assert_rerun_writes_nothing(cw_pair)
    assert_no_orphans(cw_pair)


def test_notes_go_to_contact_notes_or_company_notes_and_come_back_on_the_right_record(cw_pair):
    company, contact, cw_company, cw_contact = synced_contact(cw_pair)
    on_contact = cw_pair.hubspot.create_record(
        "notes",
        {"hs_note_body": "<p>Called about renewal</p>", "hs_timestamp": WHEN},
        associations={"contacts": [contact], "companies": [company]},
    )
    on_company = cw_pair.hubspot.create_record(
        "notes", {"hs_note_body": "<p>Company-wide memo</p>", "hs_timestamp": WHEN}, associations={"companies": [company]}
    )
    contact_note = cw_pair.other.add_note("contacts", cw_contact, "Met at the fair\nWants a demo")
    company_note = cw_pair.other.add_note("companies", cw_company, "Credit approved")
    run = cw_pair.sync()
    assert run.status == "succeeded", (run.error, failures())
    # HubSpot -> ConnectWise: the note on the contact is a contact note only, the other a company note
    [made_contact_note] = [n for n in cw_pair.other.records("contact_notes") if n["id"] != contact_note["id"]]
    assert (made_contact_note["contactId"], made_contact_note["text"]) == (cw_contact, "Called about renewal")
    assert other_id("notes", on_contact, "contact_notes") == f"{cw_contact}:{made_contact_note['id']}"
    [made_company_note] = [n for n in cw_pair.other.records("company_notes") if n["id"] != company_note["id"]]
    assert (made_company_note["company"]["id"], made_company_note["text"]) == (cw_company, "Company-wide memo")
    assert other_id("notes", on_company, "company_notes") == f"{cw_company}:{made_company_note['id']}"
    # ConnectWise -> HubSpot: each on its record, with the note's entered time as its activity date
    from_contact = hubspot_id("contact_notes", f"{cw_contact}:{contact_note['id']}")
    assert cw_pair.hubspot.get_record("notes", from_contact)["hs_note_body"] == "<p>Met at the fair<br>Wants a demo</p>"
    assert cw_pair.hubspot.associated_ids("notes", from_contact, "contacts") == [contact]
    assert cw_pair.hubspot.get_record("notes", from_contact)["hs_timestamp"]
    from_company = hubspot_id("company_notes", f"{cw_company}:{company_note['id']}")
    assert cw_pair.hubspot.associated_ids("notes", from_company, "companies") == [company]
    assert cw_pair.hubspot.count("notes") == 4 and cw_pair.other.count("contact_notes") == 2
    assert cw_pair.other.count("company_notes") == 2
    cw_pair.other.edit("contact_notes", contact_note["id"], {"text": "Demo booked"})
    cw_pair.hubspot.advance_clock(5000)
    cw_pair.hubspot.edit_record("notes", on_contact, {"hs_note_body": "<p>Renewal signed</p>"})
    assert cw_pair.sync().status == "succeeded"
    assert cw_pair.hubspot.get_record("notes", from_contact)["hs_note_body"] == "<p>Demo booked</p>"
    assert cw_pair.other.get("contact_notes", made_contact_note["id"])["text"] == "Renewal signed"
    assert_rerun_writes_nothing(cw_pair)
    assert_no_orphans(cw_pair)


def test_a_note_on_a_contact_not_yet_synced_waits_then_lands_on_it_with_no_orphans(cw_pair):
    contacts = ObjectMapping.objects.get(integration=cw_pair.integration, hubspot_object="contacts", other_object="contacts")
    ObjectMapping.objects.filter(pk=contacts.pk).update(enabled=False)  # contacts are switched on later
    company = cw_pair.hubspot.create_record("companies", {"name": "Late Co", "domain": "late.example.com"})
    contact = cw_pair.hubspot.create_record(
        "contacts", {"email": "late@late.example.com", "firstname": "Late"}, associations={"companies": [company]}
    )
    note = cw_pair.hubspot.create_record(
        "notes", {"hs_note_body": "<p>Early note</p>", "hs_timestamp": WHEN}, associations={"contacts": [contact]}
    )
    call = cw_pair.hubspot.create_record(
        "calls", {"hs_call_title": "Early call", "hs_timestamp": WHEN}, associations={"contacts": [contact]}
    )
    assert cw_pair.sync().status == "succeeded"
    assert cw_pair.other.count("contact_notes") == 0 and cw_pair.other.count("activities") == 0
    waiting = RecordEvent.objects.filter(source_id=note, outcome=RecordEvent.Outcome.DEFERRED).latest("pk")
    assert waiting.message == f"Waiting for its contact {contact} to be synced first."
    assert DeferredRecord.objects.filter(record_id=note).exists() and DeferredRecord.objects.filter(record_id=call).exists()
    ObjectMapping.objects.filter(pk=contacts.pk).update(enabled=True)
    run = cw_pair.sync()
    assert run.status == "succeeded", failures()
    cw_contact = int(other_id("contacts", contact))
    [landed] = cw_pair.other.records("contact_notes")
    assert (landed["contactId"], landed["text"]) == (cw_contact, "Early note")
    assert other_id("notes", note, "contact_notes") == f"{cw_contact}:{landed['id']}"
    assert cw_pair.other.get("activities", other_id("calls", call))["contact"]["id"] == cw_contact
    assert cw_pair.other.count("company_notes") == 0  # a note on a contact is not copied to its company
    assert_rerun_writes_nothing(cw_pair)
    assert_no_orphans(cw_pair)


def test_connectwise_notes_are_walked_at_most_every_interval(cw_pair):
    _company, contact, _cw_company, cw_contact = synced_contact(cw_pair)
    connection = cw_pair.integration.other_connection
    connection.config = {**connection.config, "notes_every_minutes": 15}
    connection.save()
    assert cw_pair.sync().status == "succeeded"  # a walk: nothing new
    cw_pair.other.add_note("contacts", cw_contact, "Written between two walks")
    cw_pair.reset_counters()
    assert cw_pair.sync().status == "succeeded"
    assert not [key for key in cw_pair.other.counters()["calls"] if "notes" in key]  # no walk within 15 minutes
    assert cw_pair.hubspot.count("notes") == 0
    connection.config = {**connection.config, "notes_every_minutes": 0}
    connection.save()
    assert cw_pair.sync().status == "succeeded"
    [note] = [n for n in cw_pair.hubspot.records["notes"]]
    assert cw_pair.hubspot.associated_ids("notes", note, "contacts") == [contact]


def test_connectwise_refuses_an_activity_without_assignee_or_name_and_a_note_without_text(cw_pair):
    connector = cw_pair.connectors()["other"]
    with pytest.raises(ValueError, match="assignTo field is required"):
        cw_pair.other._helper_write("activities", {"name": "No one"})
    with pytest.raises(ValueError, match="name field is required"):
        cw_pair.other._helper_write("activities", {"assignTo": {"id": cw_pair.other.api_member_id}})
    company = cw_pair.other.add_company("Acme")
    with pytest.raises(ValueError, match="text field is required"):
        cw_pair.other.add_note("companies", company["id"], "")
    assert connector.read_by_ids("company_notes", ["999:1", "junk"]) == []
    connector.close()


def test_a_call_entered_on_both_sides_is_matched_not_duplicated(cw_pair):
    _company, contact, _cw_company, cw_contact = synced_contact(cw_pair)
    call = cw_pair.hubspot.create_record(
        "calls", {"hs_call_title": "Pricing call", "hs_timestamp": "2026-03-02T10:00:50Z"}, associations={"contacts": [contact]}
    )
    twin = cw_pair.other.add_activity("pricing call ", type="Call", contact_id=cw_contact, dateStart="2026-03-02T10:01:30Z")
    other_subject = cw_pair.other.add_activity(
        "Support call", type="Call", contact_id=cw_contact, dateStart="2026-03-02T10:01:30Z"
    )
    too_late = cw_pair.other.add_activity("Pricing call", type="Call", contact_id=cw_contact, dateStart="2026-03-02T10:03:30Z")
    run = cw_pair.sync()
    assert run.status == "succeeded", (run.error, failures())
    assert other_id("calls", call) == str(twin["id"])  # the same call: linked, not copied either way
    assert cw_pair.other.count("activities") == 3
    assert cw_pair.hubspot.count("calls") == 3  # the support call and the later one are other calls
    separate = {hubspot_id("call_activities", a["id"]) for a in (other_subject, too_late)}
    assert len(separate) == 2 and call not in separate
    assert RecordEvent.objects.filter(source_id=call, message__contains="Matched an existing record").exists()
    assert_rerun_writes_nothing(cw_pair)
    assert_no_orphans(cw_pair)
