"""Dynamics activity parties (issue 19): an e-mail's recipients, a meeting's attendees, a phone
call's parties <-> the HubSpot engagement's associations to contacts, both ways on the emulators;
what cannot be carried (a user, a bare address, a contact not synced) is said on the event."""

from __future__ import annotations

import pytest

from connectors.dynamics.schema_activities import CC_RECIPIENT, OPTIONAL_ATTENDEE, REQUIRED_ATTENDEE, SENDER, TO_RECIPIENT
from syncsmart.models import RecordEvent, RecordLink
from tests.engine.dynamics_support import lookup_id

pytestmark = pytest.mark.django_db
WHEN = "2026-03-02T10:00:00Z"


def other_id(hubspot_object, hubspot_id):
    return RecordLink.objects.get(hubspot_object=hubspot_object, hubspot_id=str(hubspot_id)).other_id


def hubspot_id(other_object, other_id):
    return RecordLink.objects.get(other_object=other_object, other_id=str(other_id)).hubspot_id


def synced(pair):
    run = pair.sync()
    failed = list(RecordEvent.objects.filter(outcome="failed").values_list("message", flat=True))
    assert run.status == "succeeded", (run.error, run.counts, failed)
    return run


def three_contacts(pair):
    hub = [
        pair.hubspot.create_record("contacts", {"email": f"{name}@contoso.example.com", "firstname": name, "lastname": "Lee"})
        for name in ("ann", "bob", "cy")
    ]
    synced(pair)
    return hub, [other_id("contacts", c) for c in hub]


def parties(pair, set_name, record_id):
    """(role, (kind, id) or address) of a Dynamics activity's parties, sorted."""
    row = pair.other.record(set_name, record_id)
    return sorted(
        (p["participationtypemask"], p["partyid"] or ("address", p["addressused"])) for p in row.get("_activity_parties") or []
    )


def bind(contact_id, role):
    return {"partyid_contact@odata.bind": f"/contacts({contact_id})", "participationtypemask": role}


def assert_rerun_writes_nothing(pair):
    pair.hubspot.advance_clock(5000)
    pair.reset_counters()
    synced(pair)
    assert pair.writes() == (0, 0)


def test_a_hubspot_email_to_three_contacts_becomes_a_dynamics_email_with_them_as_recipients(dyn_pair):
    hub, dyn = three_contacts(dyn_pair)
    email = dyn_pair.hubspot.create_record(
        "emails", {"hs_email_subject": "Quote", "hs_timestamp": WHEN}, associations={"contacts": hub}
    )
    synced(dyn_pair)
    made = other_id("emails", email)
    assert lookup_id(dyn_pair.other.record("emails", made)["regardingobjectid"]) == dyn[0]
    assert parties(dyn_pair, "emails", made) == sorted((TO_RECIPIENT, ("contact", c)) for c in dyn)
    assert_rerun_writes_nothing(dyn_pair)


def test_a_contact_removed_from_the_hubspot_meeting_leaves_the_attendees_and_the_others_stay(dyn_pair):
    hub, dyn = three_contacts(dyn_pair)
    meeting = dyn_pair.hubspot.create_record(
        "meetings",
        {"hs_meeting_title": "Kick-off", "hs_timestamp": WHEN, "hs_meeting_start_time": WHEN, "hs_meeting_end_time": WHEN},
        associations={"contacts": hub[:2]},
    )
    synced(dyn_pair)
    appointment = other_id("meetings", meeting)
    # In Dynamics someone adds an optional attendee who is a contact HubSpot does not have yet,
    # and the organizer (a user): HubSpot gets the contact, and the user is said on the event.
    user = next(iter(dyn_pair.other.rows["systemuser"]))
    row_parties = [bind(dyn[0], REQUIRED_ATTENDEE), bind(dyn[1], REQUIRED_ATTENDEE), bind(dyn[2], OPTIONAL_ATTENDEE)]
    row_parties.append({"partyid_systemuser@odata.bind": f"/systemusers({user})", "participationtypemask": 7})
    dyn_pair.other.edit_record("appointments", appointment, {"appointment_activity_parties": row_parties})
    run = synced(dyn_pair)
    assert sorted(dyn_pair.hubspot.associated_ids("meetings", meeting, "contacts"), key=int) == sorted(hub, key=int)
    event = RecordEvent.objects.get(run=run, source_side="other", source_id=appointment, outcome="updated")
    assert "Parties HubSpot cannot hold (not contacts) are not carried: a user (organizer)." in event.details["notes"]
    # HubSpot then drops bob: his attendance goes, the optional attendee and the organizer stay as they were.
    dyn_pair.hubspot.advance_clock(5000)
    with dyn_pair.hubspot.lock:
        dyn_pair.hubspot._unassociate("meetings", int(meeting), "contacts", int(hub[1]))
    dyn_pair.hubspot.edit_record("meetings", meeting, {"hs_meeting_title": "Kick-off (Bob cannot come)"})
    synced(dyn_pair)
    assert parties(dyn_pair, "appointments", appointment) == sorted(
        [(REQUIRED_ATTENDEE, ("contact", dyn[0])), (OPTIONAL_ATTENDEE, ("contact", dyn[2])), (7, ("systemuser", user))]
    )
    assert_rerun_writes_nothing(dyn_pair)


def test_a_dynamics_email_becomes_a_hubspot_email_associated_to_every_contact_party(dyn_pair):
    hub, dyn = three_contacts(dyn_pair)
    email = dyn_pair.other.create_record(
        "emails",
        {
            "subject": "Re: Quote",
            "regardingobjectid": dyn[0],
            "email_activity_parties": [
                bind(dyn[0], SENDER),
                bind(dyn[1], TO_RECIPIENT),
                bind(dyn[2], CC_RECIPIENT),
                {"addressused": "someone@elsewhere.example", "participationtypemask": CC_RECIPIENT},
            ],
        },
    )
    run = synced(dyn_pair)
    made = hubspot_id("emails", email)
    assert sorted(dyn_pair.hubspot.associated_ids("emails", made, "contacts"), key=int) == sorted(hub, key=int)
    event = RecordEvent.objects.get(run=run, source_side="other", source_id=email, outcome="created")
    assert (
        "Parties HubSpot cannot hold (not contacts) are not carried: the address someone@elsewhere.example (cc)."
        in event.details["notes"]
    )
    # The roles stay Dynamics' own: a re-run writes nothing, and From / To / Cc are as they were.
    assert_rerun_writes_nothing(dyn_pair)
    assert parties(dyn_pair, "emails", email) == [
        (SENDER, ("contact", dyn[0])),
        (TO_RECIPIENT, ("contact", dyn[1])),
        (CC_RECIPIENT, ("address", "someone@elsewhere.example")),
        (CC_RECIPIENT, ("contact", dyn[2])),
    ]


def test_a_phone_call_party_whose_contact_cannot_sync_is_left_out_and_named_on_the_event(dyn_pair):
    contacts = dyn_pair.integration.object_mappings.get(hubspot_object="contacts", other_object="contacts")
    contacts.filter_to_hubspot = {"match": "all", "conditions": [{"field": "lastname", "operator": "neq", "value": "Private"}]}
    contacts.save()
    hub, dyn = three_contacts(dyn_pair)
    private = dyn_pair.other.create_record("contacts", {"firstname": "Pat", "lastname": "Private"})
    phonecall = dyn_pair.other.create_record(
        "phonecalls",
        {
            "subject": "Follow-up",
            "regardingobjectid": dyn[0],
            "phonecall_activity_parties": [bind(dyn[0], TO_RECIPIENT), bind(private, TO_RECIPIENT)],
        },
    )
    run = synced(dyn_pair)
    call = hubspot_id("phonecalls", phonecall)
    assert dyn_pair.hubspot.associated_ids("calls", call, "contacts") == [hub[0]]
    event = RecordEvent.objects.get(run=run, source_side="other", source_id=phonecall, outcome="created")
    assert f"Not carried: contacts {private} (not synced)." in event.details["notes"]
