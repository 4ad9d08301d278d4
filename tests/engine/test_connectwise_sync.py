"""HubSpot <-> ConnectWise end to end, on the emulators through the real connectors."""

import pytest

from syncsmart.models import DeferredRecord, RecordEvent, RecordLink

pytestmark = pytest.mark.django_db


def cw_email(emulator, contact_id):
    record = emulator.get("contacts", contact_id)
    return next((i["value"] for i in record["communicationItems"] if i.get("defaultFlag") and "@" in i["value"]), None)


def test_connectwise_company_and_contact_appear_in_hubspot(cw_pair):
    company = cw_pair.other.add_company("Globex Corp", website="globex.example.com")
    contact = cw_pair.other.add_contact("Ann", "Lee", company_id=company["id"], email="ann@globex.example.com")
    run = cw_pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    [hub_contact] = cw_pair.hubspot.find_records("contacts", "email", "ann@globex.example.com")
    assert cw_pair.hubspot.get_record("contacts", hub_contact)["firstname"] == "Ann"
    [hub_company] = cw_pair.hubspot.find_records("companies", "name", "Globex Corp")
    assert cw_pair.hubspot.associated_ids("contacts", hub_contact, "companies") == [hub_company]
    assert RecordLink.objects.filter(other_object="contacts", other_id=str(contact["id"]), hubspot_id=hub_contact).exists()


def test_hubspot_contact_with_company_appears_in_connectwise(cw_pair):
    company = cw_pair.hubspot.create_record("companies", {"name": "Initech", "domain": "initech.example.com"})
    contact = cw_pair.hubspot.create_record(
        "contacts",
        {"email": "peter@initech.example.com", "firstname": "Peter", "lastname": "Gibbons"},
        associations={"companies": [company]},
    )
    run = cw_pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    link = RecordLink.objects.get(hubspot_object="contacts", hubspot_id=contact)
    cw_contact = cw_pair.other.get("contacts", link.other_id)
    assert cw_contact["firstName"] == "Peter"
    company_link = RecordLink.objects.get(hubspot_object="companies", hubspot_id=company)
    assert cw_contact["company"]["id"] == int(company_link.other_id)


def test_after_convergence_another_run_writes_nothing(cw_pair):
    company = cw_pair.other.add_company("Globex Corp", website="globex.example.com")
    cw_pair.other.add_contact("Ann", "Lee", company_id=company["id"], email="ann@globex.example.com")
    hub_company = cw_pair.hubspot.create_record("companies", {"name": "Initech", "domain": "initech.example.com"})
    cw_pair.hubspot.create_record(
        "contacts", {"email": "peter@initech.example.com", "firstname": "Peter"}, associations={"companies": [hub_company]}
    )
    cw_pair.sync()
    cw_pair.sync()
    cw_pair.reset_counters()
    run = cw_pair.sync()
    assert cw_pair.writes() == (0, 0), run.counts
    assert run.counts.get("created", 0) == 0 and run.counts.get("updated", 0) == 0


def linked(hubspot_object, hubspot_id=None, other_id=None):
    if hubspot_id is not None:
        return RecordLink.objects.get(hubspot_object=hubspot_object, hubspot_id=str(hubspot_id))
    return RecordLink.objects.get(hubspot_object=hubspot_object, other_id=str(other_id))


def synced_contact(pair, email="ann@globex.example.com"):
    company = pair.other.add_company("Globex Corp", website="globex.example.com")
    contact = pair.other.add_contact("Ann", "Lee", company_id=company["id"], email=email)
    pair.sync()
    link = linked("contacts", other_id=contact["id"])
    return link.hubspot_id, str(contact["id"])


def test_updates_flow_back_both_ways(cw_pair):
    hub_id, cw_id = synced_contact(cw_pair)
    cw_pair.other.edit("contacts", cw_id, {"firstName": "Annie"})
    cw_pair.sync()
    assert cw_pair.hubspot.get_record("contacts", hub_id)["firstname"] == "Annie"
    cw_pair.hubspot.advance_clock(5000)
    cw_pair.hubspot.edit_record("contacts", hub_id, {"jobtitle": "CTO"})
    cw_pair.sync()
    assert cw_pair.other.get("contacts", cw_id)["title"] == "CTO"


def test_both_sides_changing_different_fields_merge(cw_pair):
    hub_id, cw_id = synced_contact(cw_pair)
    cw_pair.hubspot.advance_clock(5000)
    cw_pair.hubspot.edit_record("contacts", hub_id, {"jobtitle": "CTO"})
    cw_pair.other.edit("contacts", cw_id, {"lastName": "Leeson"})
    cw_pair.sync()
    assert cw_pair.hubspot.get_record("contacts", hub_id)["lastname"] == "Leeson"
    assert cw_pair.hubspot.get_record("contacts", hub_id)["jobtitle"] == "CTO"
    assert cw_pair.other.get("contacts", cw_id)["title"] == "CTO"
    assert cw_pair.other.get("contacts", cw_id)["lastName"] == "Leeson"


def test_same_field_changed_on_both_sides_system_of_record_wins_and_loser_is_on_the_event(cw_pair):
    hub_id, cw_id = synced_contact(cw_pair)
    cw_pair.hubspot.advance_clock(5000)
    cw_pair.hubspot.edit_record("contacts", hub_id, {"firstname": "Hubby"})
    cw_pair.other.edit("contacts", cw_id, {"firstName": "Connie"})
    run = cw_pair.sync()
    # HubSpot is the contacts mapping's system of record by default.
    assert cw_pair.other.get("contacts", cw_id)["firstName"] == "Hubby"
    assert cw_pair.hubspot.get_record("contacts", hub_id)["firstname"] == "Hubby"
    event = RecordEvent.objects.get(run=run, outcome="conflict", source_side="hubspot", source_id=hub_id)
    assert event.details["conflicts"]["firstName"]["lost"] == "Connie"
    assert event.details["conflicts"]["firstName"]["kept"] == "Hubby"
    assert "firstName" in event.fields
    cw_pair.reset_counters()
    cw_pair.sync()
    assert cw_pair.writes() == (0, 0)


def test_other_system_as_system_of_record_wins_the_conflict(cw_pair):
    mapping = cw_pair.integration.object_mappings.get(hubspot_object="contacts")
    mapping.system_of_record = "other"
    mapping.save()
    hub_id, cw_id = synced_contact(cw_pair)
    cw_pair.hubspot.advance_clock(5000)
    cw_pair.hubspot.edit_record("contacts", hub_id, {"firstname": "Hubby"})
    cw_pair.other.edit("contacts", cw_id, {"firstName": "Connie"})
    run = cw_pair.sync()
    assert cw_pair.hubspot.get_record("contacts", hub_id)["firstname"] == "Connie"
    assert cw_pair.other.get("contacts", cw_id)["firstName"] == "Connie"
    lost = [
        e.details["conflicts"]["firstname"]["lost"]
        for e in RecordEvent.objects.filter(run=run, outcome="conflict", source_side="other")
    ]
    assert lost == ["Hubby"]


def test_existing_records_are_matched_by_email_and_domain_not_duplicated(cw_pair):
    cw_company = cw_pair.other.add_company("Globex Corp", website="globex.example.com")
    cw_contact = cw_pair.other.add_contact("Ann", "Lee", company_id=cw_company["id"], email="ann@globex.example.com")
    hub_company = cw_pair.hubspot.create_record("companies", {"name": "Globex", "domain": "globex.example.com"})
    hub_contact = cw_pair.hubspot.create_record(
        "contacts", {"email": "ANN@globex.example.com", "firstname": "Ann"}, associations={"companies": [hub_company]}
    )
    run = cw_pair.sync()
    assert cw_pair.hubspot.count("contacts") == 1 and cw_pair.hubspot.count("companies") == 1
    assert cw_pair.other.count("contacts") == 1 and cw_pair.other.count("companies") == 1
    assert linked("contacts", hubspot_id=hub_contact).other_id == str(cw_contact["id"])
    assert linked("companies", hubspot_id=hub_company).other_id == str(cw_company["id"])
    assert RecordEvent.objects.filter(run=run, outcome="linked").count() >= 2


def test_hubspot_409_on_existing_email_links_instead_of_failing(cw_pair):
    mapping = cw_pair.integration.object_mappings.get(hubspot_object="contacts")
    mapping.hubspot_match_field = mapping.other_match_field = ""  # no look-up: the create meets HubSpot's 409
    mapping.save()
    hub_contact = cw_pair.hubspot.create_record("contacts", {"email": "ann@globex.example.com", "firstname": "Ann"})
    company = cw_pair.other.add_company("Globex Corp", website="globex.example.com")
    cw_contact = cw_pair.other.add_contact("Ann", "Lee", company_id=company["id"], email="ann@globex.example.com")
    mapping.direction = "to_hubspot"
    mapping.save()
    run = cw_pair.sync()
    assert cw_pair.hubspot.count("contacts") == 1
    assert linked("contacts", other_id=cw_contact["id"]).hubspot_id == hub_contact
    assert cw_pair.hubspot.get_record("contacts", hub_contact)["lastname"] == "Lee"
    assert not RecordEvent.objects.filter(run=run, outcome="failed").exists()


def test_contact_synced_before_its_company_brings_the_company_first(cw_pair):
    contacts = cw_pair.integration.object_mappings.get(hubspot_object="contacts")
    company = cw_pair.other.add_company("Globex Corp", website="globex.example.com")
    contact = cw_pair.other.add_contact("Ann", "Lee", company_id=company["id"], email="ann@globex.example.com")
    run = cw_pair.sync(object_mapping=contacts)  # only the contacts mapping runs
    assert run.status == "succeeded"
    company_link = linked("companies", other_id=company["id"])
    contact_link = linked("contacts", other_id=contact["id"])
    assert cw_pair.hubspot.associated_ids("contacts", contact_link.hubspot_id, "companies") == [company_link.hubspot_id]


def test_contact_whose_company_cannot_sync_waits_in_the_deferred_queue_and_no_orphan_is_created(cw_pair):
    from syncsmart.models import DeferredRecord

    companies = cw_pair.integration.object_mappings.get(hubspot_object="companies")
    companies.filter_to_other = {"match": "all", "conditions": [{"field": "name", "operator": "neq", "value": "Initech"}]}
    companies.save()
    hub_company = cw_pair.hubspot.create_record("companies", {"name": "Initech", "domain": "initech.example.com"})
    hub_contact = cw_pair.hubspot.create_record(
        "contacts", {"email": "peter@initech.example.com", "firstname": "Peter"}, associations={"companies": [hub_company]}
    )
    run = cw_pair.sync()
    assert cw_pair.other.count("contacts") == 0 and cw_pair.other.count("companies") == 0
    deferred = DeferredRecord.objects.get(source_side="hubspot", record_id=hub_contact)
    assert deferred.attempts == 1
    assert RecordEvent.objects.get(run=run, source_id=hub_contact, source_side="hubspot").outcome == "deferred"
    # The company becomes syncable; the deferred contact is retried and lands with its company.
    companies.filter_to_other = {}
    companies.save()
    DeferredRecord.objects.update(next_attempt_at=deferred.created_at)
    cw_pair.sync()
    link = linked("contacts", hubspot_id=hub_contact)
    assert cw_pair.other.get("contacts", link.other_id)["company"]["id"] == int(
        linked("companies", hubspot_id=hub_company).other_id
    )
    assert not DeferredRecord.objects.exists()


def test_opportunity_needs_company_and_contact_in_connectwise(cw_pair):
    cw_pair.hubspot.add_owner("sam.rivera@example.com", "Sam", "Rivera")
    member = cw_pair.other.add_member("srivera", "Sam", "Rivera", "sam.rivera@example.com")
    owner_id = next(o for o, v in cw_pair.hubspot.owners.items() if v.email == "sam.rivera@example.com")
    company = cw_pair.hubspot.create_record("companies", {"name": "Initech", "domain": "initech.example.com"})
    contact = cw_pair.hubspot.create_record(
        "contacts", {"email": "peter@initech.example.com", "firstname": "Peter"}, associations={"companies": [company]}
    )
    deal = cw_pair.hubspot.create_record(
        "deals",
        {"dealname": "Big TPS deal", "hubspot_owner_id": owner_id},
        associations={"companies": [company], "contacts": [contact]},
    )
    lonely = cw_pair.hubspot.create_record("deals", {"dealname": "No contact yet"}, associations={"companies": [company]})
    run = cw_pair.sync()
    opportunity = cw_pair.other.get("opportunities", linked("deals", hubspot_id=deal).other_id)
    assert opportunity["company"]["id"] == int(linked("companies", hubspot_id=company).other_id)
    assert opportunity["contact"]["id"] == int(linked("contacts", hubspot_id=contact).other_id)
    assert opportunity["primarySalesRep"]["id"] == member["id"]
    assert cw_pair.other.count("opportunities") == 1
    # A deal with no contact at all has nothing to wait for: it fails at once, saying so.
    lonely_event = RecordEvent.objects.get(run=run, source_id=lonely, source_side="hubspot")
    assert lonely_event.outcome == "failed"
    assert lonely_event.message.startswith("This deal has no contact in HubSpot, and ConnectWise Manage requires one")
    assert not DeferredRecord.objects.filter(record_id=lonely).exists()


def test_owner_without_a_matching_email_is_reported_clearly(cw_pair):
    stranger = cw_pair.hubspot.add_owner("nobody@example.com", "No", "Body")
    company = cw_pair.hubspot.create_record("companies", {"name": "Initech", "domain": "initech.example.com"})
    contact = cw_pair.hubspot.create_record(
        "contacts", {"email": "peter@initech.example.com", "firstname": "Peter"}, associations={"companies": [company]}
    )
    deal = cw_pair.hubspot.create_record(
        "deals", {"dealname": "Deal", "hubspot_owner_id": stranger}, associations={"companies": [company], "contacts": [contact]}
    )
    run = cw_pair.sync()
    event = RecordEvent.objects.get(run=run, source_id=deal, source_side="hubspot")
    assert event.outcome == "created"
    assert "nobody@example.com" in event.message
    assert event.details["unmatched"][0]["property"] == "hubspot_owner_id"
    assert "primarySalesRep" not in event.fields  # not sent: ConnectWise keeps its own default rep


def test_a_contact_waiting_for_a_parent_is_named_in_the_record_log(cw_pair):
    # This ConnectWise site requires a company on every contact; the HubSpot contact's company is
    # not syncable yet (filtered out), so the contact waits for it.
    companies = cw_pair.integration.object_mappings.get(hubspot_object="companies")
    companies.filter_to_other = {"match": "all", "conditions": [{"field": "name", "operator": "neq", "value": "Nowhere"}]}
    companies.save()
    company = cw_pair.hubspot.create_record("companies", {"name": "Nowhere", "domain": "nowhere.example"})
    cw_pair.hubspot.create_record(
        "contacts", {"email": "solo@nowhere.example", "firstname": "Solo"}, associations={"companies": [company]}
    )
    cw_pair.sync()
    event = RecordEvent.objects.get(outcome="deferred", source_side="hubspot")
    assert event.details["label"] == "solo@nowhere.example"


def test_a_contact_with_no_company_at_all_fails_at_once_saying_so_instead_of_waiting(cw_pair):
    # QA: such contacts waited for a parent that would never come, until the tenth try.
    contact = cw_pair.hubspot.create_record("contacts", {"email": "solo@nowhere.example", "firstname": "Solo"})
    run = cw_pair.sync()
    event = RecordEvent.objects.get(run=run, source_id=contact, source_side="hubspot")
    assert event.outcome == "failed"
    assert event.message.startswith(
        "This contact has no company in HubSpot, and ConnectWise Manage requires one on every contact"
    )
    assert "Associate it with a company in HubSpot" in event.message
    assert event.details["label"] == "solo@nowhere.example"
    assert not DeferredRecord.objects.exists()
    assert cw_pair.other.count("contacts") == 0
