"""Filters, test mode and free-mail blocking stop exactly the records they should, and say so."""

import pytest

from mappings.services import actions
from syncsmart.models import RecordEvent

pytestmark = pytest.mark.django_db


def hub_contact(pair, email, company, **props):
    return pair.hubspot.create_record(
        "contacts", {"email": email, "firstname": "X", **props}, associations={"companies": [company]}
    )


def outcome(run, source_id):
    return RecordEvent.objects.get(run=run, source_side="hubspot", source_id=source_id)


def test_test_mode_syncs_only_records_with_the_markers(cw_pair):
    actions.update_integration(cw_pair.integration, None, test_mode=True)
    marked_company = cw_pair.hubspot.create_record("companies", {"name": "SyncSmart Test Co", "domain": "t.example.com"})
    plain_company = cw_pair.hubspot.create_record("companies", {"name": "Real Customer", "domain": "real.example.com"})
    marked = hub_contact(cw_pair, "ann+ss.test@t.example.com", marked_company)
    plain = hub_contact(cw_pair, "bob@t.example.com", marked_company)
    run = cw_pair.sync()
    assert outcome(run, marked).outcome == "created"
    assert outcome(run, marked_company).outcome == "created"
    for record in (plain, plain_company):
        event = outcome(run, record)
        assert event.outcome == "filtered" and "Test mode" in event.message
    assert cw_pair.other.count("contacts") == 1 and cw_pair.other.count("companies") == 1


def test_free_email_blocking_stops_only_free_mail_contacts(cw_pair):
    actions.update_integration(cw_pair.integration, None, block_free_emails=True)
    company = cw_pair.hubspot.create_record("companies", {"name": "Initech", "domain": "initech.example.com"})
    free = hub_contact(cw_pair, "someone@gmail.com", company)
    work = hub_contact(cw_pair, "peter@initech.example.com", company)
    run = cw_pair.sync()
    assert outcome(run, work).outcome == "created"
    blocked = outcome(run, free)
    assert blocked.outcome == "filtered" and "gmail.com" in blocked.message
    assert cw_pair.other.count("contacts") == 1


def test_mapping_filter_conditions_stop_exactly_the_records_they_exclude(cw_pair):
    contacts = cw_pair.integration.object_mappings.get(hubspot_object="contacts")
    contacts.filter_to_other = {
        "match": "any",
        "conditions": [
            {"field": "lifecyclestage", "operator": "eq", "value": "customer"},
            {
                "match": "all",
                "conditions": [
                    {"field": "jobtitle", "operator": "contains", "value": "chief"},
                    {"field": "email", "operator": "ends_with", "value": "initech.example.com"},
                ],
            },
        ],
    }
    actions.save_object_mapping(contacts, None)
    company = cw_pair.hubspot.create_record("companies", {"name": "Initech", "domain": "initech.example.com"})
    customer = hub_contact(cw_pair, "c@initech.example.com", company, lifecyclestage="customer")
    chief = hub_contact(cw_pair, "boss@initech.example.com", company, jobtitle="Chief of Staff")
    lead = hub_contact(cw_pair, "l@initech.example.com", company, lifecyclestage="lead", jobtitle="Intern")
    run = cw_pair.sync()
    assert outcome(run, customer).outcome == "created"
    assert outcome(run, chief).outcome == "created"
    excluded = outcome(run, lead)
    assert excluded.outcome == "filtered" and excluded.message.startswith("Filter: none of")
    assert "“Lifecycle Stage is customer” is not true for this record" in excluded.message  # the label, not lifecyclestage
    assert cw_pair.other.count("contacts") == 2


def test_filter_applies_per_direction(cw_pair):
    contacts = cw_pair.integration.object_mappings.get(hubspot_object="contacts")
    contacts.filter_to_hubspot = {"match": "all", "conditions": [{"field": "title", "operator": "is_not_empty"}]}
    contacts.save()
    company = cw_pair.other.add_company("Globex Corp", website="globex.example.com")
    with_title = cw_pair.other.add_contact("Ann", "Lee", company_id=company["id"], email="ann@globex.example.com", title="CEO")
    without = cw_pair.other.add_contact("Bob", "Ray", company_id=company["id"], email="bob@globex.example.com")
    run = cw_pair.sync()
    assert cw_pair.hubspot.find_records("contacts", "email", "ann@globex.example.com")
    assert not cw_pair.hubspot.find_records("contacts", "email", "bob@globex.example.com")
    event = RecordEvent.objects.get(run=run, source_side="other", source_object="contacts", source_id=str(without["id"]))
    assert event.outcome == "filtered" and "“Title is not empty” is not true for this record" in event.message
    assert (
        RecordEvent.objects.get(run=run, source_side="other", source_object="contacts", source_id=str(with_title["id"])).outcome
        == "created"
    )


def test_test_mode_judges_dynamics_accounts_by_name_and_leads_by_email(dyn_pair):
    actions.update_integration(dyn_pair.integration, None, test_mode=True)
    marked = dyn_pair.other.create_record("accounts", {"name": "SyncSmart QA", "emailaddress1": "info@qa.example.com"})
    plain = dyn_pair.other.create_record("accounts", {"name": "Real Account", "emailaddress1": "x+ss.test@real.example.com"})
    lead = dyn_pair.other.create_record("leads", {"lastname": "Tester", "emailaddress1": "lead+ss.test@x.example.com"})
    run = dyn_pair.sync()
    by_id = {e.source_id: e for e in RecordEvent.objects.filter(run=run, source_side="other")}
    assert by_id[marked].outcome == "created"
    assert by_id[plain].outcome == "filtered" and "name" in by_id[plain].message
    assert by_id[lead].outcome == "created"
