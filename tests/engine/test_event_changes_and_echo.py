"""What the record page shows comes from the engine: each event keeps the fields it changed
(old → new), and our own write coming back is "Our own change" even when a filter would stop it."""

from mappings.services import actions
from syncsmart.models import RecordEvent, RecordLink


def test_an_update_event_keeps_each_changed_field_old_and_new(cw_pair):
    company = cw_pair.other.add_company("Globex Corp", website="globex.example.com")
    contact = cw_pair.other.add_contact("Ann", "Lee", company_id=company["id"], email="ann@globex.example.com")
    cw_pair.sync()
    link = RecordLink.objects.get(hubspot_object="contacts", other_id=str(contact["id"]))
    created = RecordEvent.objects.get(
        outcome="created", source_side="other", source_object="contacts", source_id=str(contact["id"])
    )
    assert created.details["changes"]["firstname"] == [None, "Ann"]
    cw_pair.other.edit("contacts", str(contact["id"]), {"firstName": "Annie"})
    cw_pair.sync()
    updated = RecordEvent.objects.filter(
        outcome="updated", source_side="other", source_object="contacts", source_id=str(contact["id"])
    ).latest("created_at")
    assert updated.details["changes"] == {"firstname": ["Ann", "Annie"]}
    assert cw_pair.hubspot.get_record("contacts", link.hubspot_id)["firstname"] == "Annie"


def test_our_own_write_coming_back_is_our_own_change_even_when_a_filter_would_stop_it(cw_pair):
    company = cw_pair.hubspot.create_record("companies", {"name": "Initech", "domain": "initech.example.com"})
    contact = cw_pair.hubspot.create_record(
        "contacts",
        {"email": "peter@initech.example.com", "firstname": "Peter", "lastname": "Gibbons"},
        associations={"companies": [company]},
    )
    cw_pair.sync()
    link = RecordLink.objects.get(hubspot_object="contacts", hubspot_id=contact)
    # Records coming from ConnectWise now need a first name of "Nobody" to reach HubSpot.
    mapping = link.object_mapping
    mapping.filter_to_hubspot = {"match": "all", "conditions": [{"field": "firstName", "operator": "eq", "value": "Nobody"}]}
    actions.save_object_mapping(mapping, None)
    cw_pair.other.edit("contacts", link.other_id, {})  # the change feed shows our record again, unchanged
    cw_pair.sync()
    latest = RecordEvent.objects.filter(source_side="other", source_object="contacts", source_id=link.other_id).latest(
        "created_at"
    )
    assert latest.outcome == RecordEvent.Outcome.ECHO, (latest.outcome, latest.message)
