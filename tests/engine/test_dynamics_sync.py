"""HubSpot <-> Dynamics 365 end to end, on the emulators through the real connectors."""

import pytest

from syncsmart.models import RecordEvent, RecordLink
from tests.engine.dynamics_support import lookup_id

pytestmark = pytest.mark.django_db


def link_of(hubspot_object, other_object=None, hubspot_id=None, other_id=None):
    qs = RecordLink.objects.filter(hubspot_object=hubspot_object)
    if other_object:
        qs = qs.filter(other_object=other_object)
    if hubspot_id is not None:
        return qs.get(hubspot_id=str(hubspot_id))
    return qs.get(other_id=str(other_id))


def test_dynamics_account_and_contact_appear_in_hubspot_and_back(dyn_pair):
    account = dyn_pair.other.create_record("accounts", {"name": "Fabrikam", "websiteurl": "fabrikam.example.com"})
    contact = dyn_pair.other.create_record(
        "contacts",
        {"firstname": "Dana", "lastname": "Ray", "emailaddress1": "dana@fabrikam.example.com", "parentcustomerid": account},
    )
    run = dyn_pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    hub_contact = link_of("contacts", "contacts", other_id=contact).hubspot_id
    hub_company = link_of("companies", other_id=account).hubspot_id
    assert dyn_pair.hubspot.get_record("contacts", hub_contact)["firstname"] == "Dana"
    assert dyn_pair.hubspot.associated_ids("contacts", hub_contact, "companies") == [hub_company]
    dyn_pair.hubspot.advance_clock(5000)
    dyn_pair.hubspot.edit_record("contacts", hub_contact, {"jobtitle": "Buyer"})
    dyn_pair.sync()
    assert dyn_pair.other.record("contacts", contact)["jobtitle"] == "Buyer"


def test_hubspot_contact_company_and_deal_appear_in_dynamics(dyn_pair):
    company = dyn_pair.hubspot.create_record(
        "companies", {"name": "Contoso", "domain": "contoso.example.com", "industry": "ACCOUNTING"}
    )
    contact = dyn_pair.hubspot.create_record(
        "contacts", {"email": "kim@contoso.example.com", "firstname": "Kim"}, associations={"companies": [company]}
    )
    deal = dyn_pair.hubspot.create_record(
        "deals", {"dealname": "Contoso renewal", "amount": "1200"}, associations={"companies": [company], "contacts": [contact]}
    )
    run = dyn_pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    account_id = link_of("companies", hubspot_id=company).other_id
    contact_id = link_of("contacts", "contacts", hubspot_id=contact).other_id
    opportunity = dyn_pair.other.record("opportunities", link_of("deals", hubspot_id=deal).other_id)
    assert lookup_id(opportunity["parentaccountid"]) == account_id
    assert lookup_id(opportunity["parentcontactid"]) == contact_id
    assert float(opportunity["estimatedvalue"]) == 1200
    assert lookup_id(dyn_pair.other.record("contacts", contact_id)["parentcustomerid"]) == account_id
    assert int(dyn_pair.other.record("accounts", account_id)["industrycode"]) == 1  # "Accounting" by label


def test_dynamics_lead_becomes_a_hubspot_contact_one_way(dyn_pair):
    lead = dyn_pair.other.create_record(
        "leads", {"firstname": "Lee", "lastname": "Ode", "emailaddress1": "lee@lead.example.com", "subject": "Interested"}
    )
    dyn_pair.sync()
    [hub_contact] = dyn_pair.hubspot.find_records("contacts", "email", "lee@lead.example.com")
    assert link_of("contacts", "leads", other_id=lead).hubspot_id == hub_contact
    # The HubSpot contact that came from a lead does not also become a Dynamics contact.
    assert dyn_pair.other.count("contacts") == 0
    dyn_pair.other.edit_record("leads", lead, {"jobtitle": "Head of IT"})
    dyn_pair.sync()
    assert dyn_pair.hubspot.get_record("contacts", hub_contact)["jobtitle"] == "Head of IT"


def test_conflict_on_the_same_field_and_merge_of_different_fields(dyn_pair):
    contact = dyn_pair.hubspot.create_record(
        "contacts", {"email": "kim@contoso.example.com", "firstname": "Kim", "lastname": "Lo"}
    )
    dyn_pair.sync()
    dyn_id = link_of("contacts", "contacts", hubspot_id=contact).other_id
    dyn_pair.hubspot.advance_clock(5000)
    dyn_pair.hubspot.edit_record("contacts", contact, {"firstname": "Kimberly", "jobtitle": "CFO"})
    dyn_pair.other.edit_record("contacts", dyn_id, {"firstname": "Kimmy", "lastname": "Long"})
    run = dyn_pair.sync()
    row = dyn_pair.other.record("contacts", dyn_id)
    hub = dyn_pair.hubspot.get_record("contacts", contact)
    assert (row["firstname"], row["lastname"], row["jobtitle"]) == ("Kimberly", "Long", "CFO")
    assert (hub["firstname"], hub["lastname"], hub["jobtitle"]) == ("Kimberly", "Long", "CFO")
    conflict = RecordEvent.objects.get(run=run, outcome="conflict", source_side="hubspot")
    assert conflict.details["conflicts"]["firstname"]["lost"] == "Kimmy"


def test_after_convergence_another_run_makes_zero_writes(dyn_pair):
    account = dyn_pair.other.create_record("accounts", {"name": "Fabrikam", "websiteurl": "fabrikam.example.com"})
    dyn_pair.other.create_record(
        "contacts",
        {"firstname": "Dana", "lastname": "Ray", "emailaddress1": "dana@fabrikam.example.com", "parentcustomerid": account},
    )
    dyn_pair.other.create_record("leads", {"lastname": "Lead", "emailaddress1": "lead@x.example.com"})
    company = dyn_pair.hubspot.create_record("companies", {"name": "Contoso", "domain": "contoso.example.com"})
    contact = dyn_pair.hubspot.create_record(
        "contacts", {"email": "kim@contoso.example.com", "firstname": "Kim"}, associations={"companies": [company]}
    )
    dyn_pair.hubspot.create_record(
        "deals",
        {"dealname": "Deal", "amount": "10", "closedate": "2026-03-01T00:00:00Z"},
        associations={"companies": [company], "contacts": [contact]},
    )
    dyn_pair.sync()
    dyn_pair.sync()
    dyn_pair.reset_counters()
    run = dyn_pair.sync()
    assert dyn_pair.writes() == (0, 0), (run.counts, dyn_pair.hubspot.counters()["calls"], dyn_pair.other.counters()["calls"])


def test_owner_matched_by_exact_email(dyn_pair):
    owner = dyn_pair.hubspot.add_owner("pat.quinn@example.com", "Pat", "Quinn")
    user = dyn_pair.other.create_record(
        "systemusers", {"firstname": "Pat", "lastname": "Quinn", "internalemailaddress": "pat.quinn@example.com"}
    )
    company = dyn_pair.hubspot.create_record(
        "companies", {"name": "Contoso", "domain": "contoso.example.com", "hubspot_owner_id": owner}
    )
    dyn_pair.sync()
    account = dyn_pair.other.record("accounts", link_of("companies", hubspot_id=company).other_id)
    assert lookup_id(account["ownerid"]) == user


def test_existing_records_are_matched_by_email_and_website_not_duplicated(dyn_pair):
    account = dyn_pair.other.create_record("accounts", {"name": "Fabrikam Inc", "websiteurl": "fabrikam.example.com"})
    contact = dyn_pair.other.create_record(
        "contacts", {"lastname": "Ray", "emailaddress1": "Dana@Fabrikam.example.com", "parentcustomerid": account}
    )
    company = dyn_pair.hubspot.create_record("companies", {"name": "Fabrikam", "domain": "fabrikam.example.com"})
    hub_contact = dyn_pair.hubspot.create_record(
        "contacts", {"email": "dana@fabrikam.example.com", "firstname": "Dana"}, associations={"companies": [company]}
    )
    dyn_pair.sync()
    assert dyn_pair.other.count("accounts") == 1 and dyn_pair.other.count("contacts") == 1
    assert dyn_pair.hubspot.count("companies") == 1 and dyn_pair.hubspot.count("contacts") == 1
    assert link_of("companies", hubspot_id=company).other_id == account
    assert link_of("contacts", "contacts", hubspot_id=hub_contact).other_id == contact
    # Empty fields were filled from the other side; nothing was overwritten without a system of record.
    assert dyn_pair.other.record("contacts", contact)["firstname"] == "Dana"
    assert dyn_pair.hubspot.get_record("contacts", hub_contact)["lastname"] == "Ray"
