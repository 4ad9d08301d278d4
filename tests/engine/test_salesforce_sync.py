"""HubSpot <-> Salesforce end to end, on the emulators through the real connectors and the default
mappings: creates both ways, leads into HubSpot until converted and then the contact both ways,
merges and conflicts, owners, stages, matches instead of duplicates, and zero writes once converged."""

import pytest
from django.core.management import call_command

from connectors.salesforce.connector import SalesforceConnector
from mappings.services import actions
from syncsmart.engine.context import RunContext
from syncsmart.models import InboxItem, RecordEvent, RecordLink

pytestmark = pytest.mark.django_db


def link_of(hubspot_object, other_object=None, hubspot_id=None, other_id=None):
    qs = RecordLink.objects.filter(hubspot_object=hubspot_object)
    if other_object:
        qs = qs.filter(other_object=other_object)
    if hubspot_id is not None:
        return qs.get(hubspot_id=str(hubspot_id))
    return qs.get(other_id=str(other_id))


def test_salesforce_account_and_contact_appear_in_hubspot_and_edits_go_both_ways(sf_pair):
    account = sf_pair.other.create_record("Account", {"Name": "Fabrikam", "Website": "https://fabrikam.example.com"})
    contact = sf_pair.other.create_record(
        "Contact", {"FirstName": "Dana", "LastName": "Ray", "Email": "dana@fabrikam.example.com", "AccountId": account}
    )
    run = sf_pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    hub_contact = link_of("contacts", "Contact", other_id=contact).hubspot_id
    hub_company = link_of("companies", other_id=account).hubspot_id
    assert sf_pair.hubspot.get_record("contacts", hub_contact)["firstname"] == "Dana"
    assert sf_pair.hubspot.associated_ids("contacts", hub_contact, "companies") == [hub_company]
    sf_pair.other.edit_record("Contact", contact, {"Title": "Buyer"})
    sf_pair.hubspot.advance_clock(5000)
    sf_pair.hubspot.edit_record("companies", hub_company, {"phone": "+1 555 0100"})
    sf_pair.hubspot.edit_record("contacts", hub_contact, {"mobilephone": "+1 555 0199"})
    sf_pair.sync()
    assert sf_pair.hubspot.get_record("contacts", hub_contact)["jobtitle"] == "Buyer"
    assert sf_pair.other.record("Account", account)["Phone"] == "+1 555 0100"
    assert sf_pair.other.record("Contact", contact)["MobilePhone"] == "+1 555 0199"


def test_hubspot_contact_company_and_deal_become_lead_account_and_opportunity(sf_pair):
    company = sf_pair.hubspot.create_record(
        "companies", {"name": "Contoso", "domain": "contoso.example.com", "industry": "RETAIL"}
    )
    contact = sf_pair.hubspot.create_record(
        "contacts",
        {"email": "kim@contoso.example.com", "firstname": "Kim", "lastname": "Lo"},
        associations={"companies": [company]},
    )
    deal = sf_pair.hubspot.create_record(
        "deals",
        {"dealname": "Contoso renewal", "amount": "1200", "closedate": "2027-03-01T00:00:00Z", "dealstage": "qualifiedtobuy"},
        associations={"companies": [company]},
    )
    run = sf_pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    account_id = link_of("companies", hubspot_id=company).other_id
    person = sf_pair.other.record("Lead", link_of("contacts", "Lead", hubspot_id=contact).other_id)
    assert (person["Email"], person["FirstName"], person["LastName"]) == ("kim@contoso.example.com", "Kim", "Lo")
    assert person["Company"] == "[not provided]"  # required on a Lead; HubSpot's contact has no company name
    assert sf_pair.other.count("Contact") == 0  # a HubSpot contact is a Lead until the lead is converted
    opportunity = sf_pair.other.record("Opportunity", link_of("deals", hubspot_id=deal).other_id)
    assert opportunity["AccountId"] == account_id
    assert (opportunity["StageName"], opportunity["Amount"], str(opportunity["CloseDate"])) == (
        "Qualification",
        1200.0,
        "2027-03-01",
    )
    assert sf_pair.other.record("Account", account_id)["Industry"] == "Retail"  # dropdown by label


def test_a_converted_lead_relinks_the_hubspot_contact_to_its_contact(sf_pair):
    lead = sf_pair.other.create_record(
        "Lead", {"FirstName": "Lee", "LastName": "Ode", "Company": "Harbor", "Email": "lee@harbor.example.com"}
    )
    sf_pair.sync()
    [hub_contact] = sf_pair.hubspot.find_records("contacts", "email", "lee@harbor.example.com")
    assert link_of("contacts", "Lead", other_id=lead).hubspot_id == hub_contact
    assert sf_pair.other.count("Contact") == 0  # a HubSpot contact that came from a lead is not also a Contact
    sf_pair.other.edit_record("Lead", lead, {"Title": "Manager"})
    sf_pair.sync()
    assert sf_pair.hubspot.get_record("contacts", hub_contact)["jobtitle"] == "Manager"
    made = sf_pair.other.convert_lead(lead)
    run = sf_pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    assert link_of("contacts", "Contact", other_id=made["contact"]).hubspot_id == hub_contact
    assert sf_pair.hubspot.count("contacts") == 1
    sf_pair.other.edit_record("Contact", made["contact"], {"Title": "Head of IT"})
    sf_pair.sync()
    assert sf_pair.hubspot.get_record("contacts", hub_contact)["jobtitle"] == "Head of IT"
    sf_pair.hubspot.advance_clock(5000)
    sf_pair.hubspot.edit_record("contacts", hub_contact, {"mobilephone": "555"})
    run = sf_pair.sync()
    assert sf_pair.other.record("Contact", made["contact"])["MobilePhone"] == "555"
    assert not RecordEvent.objects.filter(run=run, outcome="failed").exists()  # nothing written to the read-only lead
    assert sf_pair.other.count("Contact") == 1 and sf_pair.hubspot.count("contacts") == 1


def test_conflict_on_the_same_field_and_merge_of_different_fields(sf_pair):
    contact = sf_pair.hubspot.create_record(
        "contacts", {"email": "kim@contoso.example.com", "firstname": "Kim", "lastname": "Lo"}
    )
    sf_pair.sync()
    sf_id = link_of("contacts", "Lead", hubspot_id=contact).other_id
    sf_pair.hubspot.advance_clock(5000)
    sf_pair.hubspot.edit_record("contacts", contact, {"firstname": "Kimberly", "jobtitle": "CFO"})
    sf_pair.other.edit_record("Lead", sf_id, {"FirstName": "Kimmy", "LastName": "Long"})
    run = sf_pair.sync()
    row = sf_pair.other.record("Lead", sf_id)
    hub = sf_pair.hubspot.get_record("contacts", contact)
    assert (row["FirstName"], row["LastName"], row["Title"]) == ("Kimberly", "Long", "CFO")
    assert (hub["firstname"], hub["lastname"], hub["jobtitle"]) == ("Kimberly", "Long", "CFO")
    conflict = RecordEvent.objects.get(run=run, outcome="conflict", source_side="hubspot")
    assert conflict.details["conflicts"]["FirstName"]["lost"] == "Kimmy"


def test_opportunity_stage_comes_to_hubspot_as_a_deal_stage(sf_pair):
    account = sf_pair.other.create_record("Account", {"Name": "Globex", "Website": "globex.example.com"})
    opportunity = sf_pair.other.create_record(
        "Opportunity",
        {"Name": "Globex expansion", "StageName": "Closed Won", "CloseDate": "2027-01-15", "AccountId": account, "Amount": 5000},
    )
    sf_pair.sync()
    deal = sf_pair.hubspot.get_record("deals", link_of("deals", other_id=opportunity).hubspot_id)
    assert (deal["dealstage"], float(deal["amount"])) == ("closedwon", 5000.0)


def test_owner_matched_by_exact_email(sf_pair):
    owner = sf_pair.hubspot.add_owner("pat.quinn@example.com", "Pat", "Quinn")
    user = sf_pair.other.add_user("pat.quinn@example.com", "Pat", "Quinn")
    company = sf_pair.hubspot.create_record(
        "companies", {"name": "Contoso", "domain": "contoso.example.com", "hubspot_owner_id": owner}
    )
    sf_pair.sync()
    assert sf_pair.other.record("Account", link_of("companies", hubspot_id=company).other_id)["OwnerId"] == user


def test_existing_records_are_matched_by_email_and_website_not_duplicated(sf_pair):
    account = sf_pair.other.create_record("Account", {"Name": "Fabrikam Inc", "Website": "https://www.fabrikam.example.com"})
    person = sf_pair.other.create_record(
        "Contact", {"LastName": "Ray", "Email": "Dana@Fabrikam.example.com", "AccountId": account}
    )
    company = sf_pair.hubspot.create_record("companies", {"name": "Fabrikam", "domain": "fabrikam.example.com"})
    hub_contact = sf_pair.hubspot.create_record(
        "contacts", {"email": "dana@fabrikam.example.com", "firstname": "Dana"}, associations={"companies": [company]}
    )
    sf_pair.sync()
    assert sf_pair.other.count("Account") == 1 and sf_pair.other.count("Contact") == 1
    assert sf_pair.hubspot.count("companies") == 1 and sf_pair.hubspot.count("contacts") == 1
    assert link_of("companies", hubspot_id=company).other_id == account
    assert link_of("contacts", "Contact", hubspot_id=hub_contact).other_id == person
    assert sf_pair.other.record("Contact", person)["FirstName"] == "Dana"
    assert sf_pair.hubspot.get_record("contacts", hub_contact)["lastname"] == "Ray"


def test_after_convergence_another_run_makes_zero_writes(sf_pair):
    account = sf_pair.other.create_record("Account", {"Name": "Fabrikam", "Website": "fabrikam.example.com"})
    sf_pair.other.create_record(
        "Contact", {"FirstName": "Dana", "LastName": "Ray", "Email": "dana@fabrikam.example.com", "AccountId": account}
    )
    sf_pair.other.create_record("Lead", {"LastName": "Lead", "Company": "X", "Email": "lead@x.example.com"})
    company = sf_pair.hubspot.create_record("companies", {"name": "Contoso", "domain": "contoso.example.com"})
    contact = sf_pair.hubspot.create_record(
        "contacts",
        {"email": "kim@contoso.example.com", "firstname": "Kim", "lastname": "Lo"},
        associations={"companies": [company]},
    )
    sf_pair.hubspot.create_record(
        "deals",
        {"dealname": "Deal", "amount": "10", "closedate": "2026-03-01T00:00:00Z", "dealstage": "appointmentscheduled"},
        associations={"companies": [company], "contacts": [contact]},
    )
    sf_pair.sync()
    sf_pair.sync()
    sf_pair.reset_counters()
    run = sf_pair.sync()
    assert sf_pair.writes() == (0, 0), (run.counts, sf_pair.hubspot.counters()["calls"], sf_pair.other.counters()["calls"])


def test_test_mode_and_free_mail_blocking_stop_exactly_those_records(sf_pair):
    actions.update_integration(sf_pair.integration, None, test_mode=True, block_free_emails=True)
    marked = sf_pair.other.create_record("Lead", {"LastName": "M", "Company": "C", "Email": "ann+ss.test@t.example.com"})
    plain = sf_pair.other.create_record("Lead", {"LastName": "P", "Company": "C", "Email": "bob@t.example.com"})
    free = sf_pair.other.create_record("Lead", {"LastName": "F", "Company": "C", "Email": "carl+ss.test@gmail.com"})
    run = sf_pair.sync()
    events = {e.source_id: e for e in RecordEvent.objects.filter(run=run, source_side="other", source_object="Lead")}
    assert events[marked].outcome == "created"
    assert events[plain].outcome == "filtered" and "Test mode" in events[plain].message
    assert events[free].outcome == "filtered" and "gmail.com" in events[free].message
    assert sf_pair.hubspot.count("contacts") == 1


def test_a_salesforce_picklist_label_without_a_hubspot_option_adds_one(sf_pair):
    account = sf_pair.other.create_record(
        "Account", {"Name": "Farm Co", "Website": "farm.example.com", "Industry": "Agriculture"}
    )
    run = sf_pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    company = sf_pair.hubspot.get_record("companies", link_of("companies", other_id=account).hubspot_id)
    assert company["industry"] == "Agriculture"
    assert any(o["label"] == "Agriculture" for o in sf_pair.hubspot.properties["companies"]["industry"]["options"])


def test_a_run_that_dies_mid_page_resumes_without_duplicates(sf_pair, monkeypatch):
    for n in range(30):
        sf_pair.other.create_record("Account", {"Name": f"Resume {n}", "Website": f"resume{n}.example.com"})
    calls = {"n": 0}
    original = RunContext.heartbeat

    def die_on_the_second_page(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker killed")  # inside the page's transaction: the page is rolled back
        return original(self, *args, **kwargs)

    monkeypatch.setattr(RunContext, "heartbeat", die_on_the_second_page)
    monkeypatch.setattr(SalesforceConnector, "max_page_size", 10)
    dead = sf_pair.sync(trigger="historical")
    assert dead.status == "failed"
    monkeypatch.setattr(RunContext, "heartbeat", original)
    resumed = sf_pair.sync(trigger="historical")
    assert resumed.status == "succeeded", resumed.error
    assert sf_pair.hubspot.count("companies") == 30
    assert RecordLink.objects.filter(hubspot_object="companies").count() == 30


def test_change_events_streamed_from_salesforce_land_in_the_inbox_and_sync(sf_pair):
    sf_pair.other.cdc.poll_timeout_s = 0.3
    call_command("salesforce_stream", str(sf_pair.integration.pk), "--polls", "1")  # subscribes: new events only
    contact = sf_pair.other.create_record("Contact", {"LastName": "Streamed", "Email": "streamed@example.com"})
    call_command("salesforce_stream", str(sf_pair.integration.pk), "--polls", "1")
    assert InboxItem.objects.filter(
        integration=sf_pair.integration, side="other", object_type="Contact", record_id=contact
    ).exists()
    sf_pair.integration.other_connection.refresh_from_db()
    assert sf_pair.integration.other_connection.config["cdc_replay_id"] > 0  # a restart resumes after it
    run = sf_pair.sync(trigger="webhook")
    assert run.status == "succeeded", (run.error, run.counts)
    assert sf_pair.hubspot.find_records("contacts", "email", "streamed@example.com")


def test_every_demo_deal_syncs_to_salesforce_including_the_renewals_pipeline(sf_pair):
    seeded = sf_pair.hubspot.seed_demo(30)
    deals = sf_pair.hubspot.find_records("deals", "pipeline", "renewals")
    assert deals  # the demo's renewals pipeline is in the data
    run = sf_pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    failed = RecordEvent.objects.filter(integration=sf_pair.integration, outcome="failed")
    assert not failed.exists(), [(e.source_id, e.message) for e in failed[:5]]
    assert RecordLink.objects.filter(integration=sf_pair.integration, hubspot_object="deals").count() == seeded["deals"]
    assert sf_pair.other.count("Opportunity") == seeded["deals"]
    stages = {sf_pair.other.record("Opportunity", link_of("deals", hubspot_id=d).other_id)["StageName"] for d in deals}
    assert stages <= {"Value Proposition", "Closed Won", "Closed Lost"}


def test_a_hubspot_contact_becomes_a_lead_and_after_conversion_syncs_with_its_contact(sf_pair):
    contact = sf_pair.hubspot.create_record(
        "contacts", {"email": "ivy@north.example.com", "firstname": "Ivy", "lastname": "Nord", "company": "North"}
    )
    sf_pair.sync()
    lead = link_of("contacts", "Lead", hubspot_id=contact).other_id
    assert sf_pair.other.record("Lead", lead)["Company"] == "North"
    assert sf_pair.other.count("Contact") == 0
    made = sf_pair.other.convert_lead(lead)
    assert sf_pair.other.record("Lead", lead)["ConvertedContactId"] == made["contact"]
    run = sf_pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    assert link_of("contacts", "Contact", hubspot_id=contact).other_id == made["contact"]
    assert not RecordLink.objects.filter(hubspot_object="contacts", other_object="Lead").exists()  # the link moved
    sf_pair.hubspot.advance_clock(5000)
    sf_pair.hubspot.edit_record("contacts", contact, {"jobtitle": "COO"})
    sf_pair.other.edit_record("Contact", made["contact"], {"MobilePhone": "+1 555 0142"})
    run = sf_pair.sync()
    assert sf_pair.other.record("Contact", made["contact"])["Title"] == "COO"
    assert sf_pair.hubspot.get_record("contacts", contact)["mobilephone"] == "+1 555 0142"
    assert not RecordEvent.objects.filter(integration=sf_pair.integration, outcome="failed").exists()
    assert (sf_pair.hubspot.count("contacts"), sf_pair.other.count("Contact"), sf_pair.other.count("Lead")) == (1, 1, 1)
    sf_pair.sync()
    sf_pair.reset_counters()
    sf_pair.sync()
    assert sf_pair.writes() == (0, 0)


def test_a_hubspot_edit_waiting_when_its_lead_is_converted_goes_to_the_contact_not_the_read_only_lead(sf_pair):
    contact = sf_pair.hubspot.create_record("contacts", {"email": "oz@west.example.com", "firstname": "Oz", "lastname": "West"})
    sf_pair.sync()
    lead = link_of("contacts", "Lead", hubspot_id=contact).other_id
    made = sf_pair.other.convert_lead(lead)
    sf_pair.hubspot.advance_clock(5000)
    sf_pair.hubspot.edit_record("contacts", contact, {"jobtitle": "Buyer"})
    run = sf_pair.sync()
    assert not RecordEvent.objects.filter(run=run, outcome="failed").exists()  # CANNOT_UPDATE_CONVERTED_LEAD never met
    assert sf_pair.other.record("Contact", made["contact"])["Title"] == "Buyer"
    assert link_of("contacts", "Contact", hubspot_id=contact).other_id == made["contact"]
    assert (sf_pair.hubspot.count("contacts"), sf_pair.other.count("Contact")) == (1, 1)


def test_a_lead_converted_into_an_existing_contact_leaves_one_person_on_each_side(sf_pair):
    person = sf_pair.other.create_record("Contact", {"LastName": "Ray", "Email": "dana@fabrikam.example.com"})
    lead = sf_pair.other.create_record(
        "Lead", {"LastName": "Ray", "Company": "Fabrikam", "Email": "dana.ray@fabrikam.example.com"}
    )
    sf_pair.sync()
    assert sf_pair.hubspot.count("contacts") == 2
    sf_pair.other.convert_lead(lead, contact_id=person)
    run = sf_pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    lead_contact = sf_pair.hubspot.find_records("contacts", "email", "dana.ray@fabrikam.example.com")
    assert not RecordLink.objects.filter(hubspot_object="contacts", hubspot_id__in=lead_contact).exists()  # unlinked, kept
    assert link_of("contacts", "Contact", other_id=person)
    assert sf_pair.other.count("Contact") == 1


def test_a_hubspot_contact_matching_an_existing_contact_is_linked_to_it_and_no_lead_is_made(sf_pair):
    person = sf_pair.other.create_record("Contact", {"LastName": "Ray", "Email": "dana@fabrikam.example.com"})
    contact = sf_pair.hubspot.create_record("contacts", {"email": "dana@fabrikam.example.com", "firstname": "Dana"})
    sf_pair.sync()
    assert link_of("contacts", "Contact", hubspot_id=contact).other_id == person
    assert sf_pair.other.count("Lead") == 0 and sf_pair.hubspot.count("contacts") == 1


def test_a_deal_of_a_contact_that_is_still_a_lead_syncs_without_a_contact_and_waits_for_nothing(sf_pair):
    company = sf_pair.hubspot.create_record("companies", {"name": "Initech", "domain": "initech.example.com"})
    contact = sf_pair.hubspot.create_record("contacts", {"email": "pb@initech.example.com", "lastname": "Bolton"})
    deal = sf_pair.hubspot.create_record(
        "deals",
        {"dealname": "Initech TPS", "closedate": "2027-02-01T00:00:00Z", "dealstage": "qualifiedtobuy"},
        associations={"companies": [company], "contacts": [contact]},
    )
    run = sf_pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    opportunity = sf_pair.other.record("Opportunity", link_of("deals", hubspot_id=deal).other_id)
    assert opportunity["ContactId"] is None and opportunity["AccountId"] == link_of("companies", hubspot_id=company).other_id
