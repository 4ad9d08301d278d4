"""HubSpot <-> NetSuite end to end, on the emulators through the real connectors and the default
mappings: companies and individuals out of one customer record type, creates both ways with the
subsidiary, opportunities under their customer, merges and conflicts, owners by e-mail, matches
instead of duplicates, the user-event script's notifications, a resumed run, and zero writes
once converged."""

import json
import time

import pytest

from connectors.netsuite import webhooks as script
from connectors.netsuite.connector import NetSuiteConnector
from mappings.models import FieldMapping
from mappings.services import actions
from syncsmart.engine.context import RunContext
from syncsmart.models import InboxItem, RecordEvent, RecordLink
from tests.engine.netsuite_support import SCRIPT_SECRET

pytestmark = pytest.mark.django_db


def link_of(hubspot_object, other_object=None, hubspot_id=None, other_id=None):
    qs = RecordLink.objects.filter(hubspot_object=hubspot_object)
    if other_object:
        qs = qs.filter(other_object=other_object)
    if hubspot_id is not None:
        return qs.get(hubspot_id=str(hubspot_id))
    return qs.get(other_id=str(other_id))


def test_netsuite_company_and_contact_appear_in_hubspot_and_edits_go_both_ways(ns_pair):
    customer = ns_pair.other.add_customer("Fabrikam", url="https://fabrikam.example.com")
    contact = ns_pair.other.add_contact("Dana", "Ray", "dana@fabrikam.example.com", customer["id"])
    run = ns_pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    hub_contact = link_of("contacts", "contacts", other_id=contact["id"]).hubspot_id
    hub_company = link_of("companies", "customers", other_id=customer["id"]).hubspot_id
    assert ns_pair.hubspot.get_record("contacts", hub_contact)["firstname"] == "Dana"
    assert ns_pair.hubspot.get_record("companies", hub_company)["name"] == "Fabrikam"
    assert ns_pair.hubspot.associated_ids("contacts", hub_contact, "companies") == [hub_company]
    ns_pair.other.edit("contact", contact["id"], {"title": "Buyer"})
    ns_pair.hubspot.advance_clock(5000)
    ns_pair.hubspot.edit_record("companies", hub_company, {"phone": "+1 555 0100"})
    ns_pair.hubspot.edit_record("contacts", hub_contact, {"mobilephone": "+1 555 0199"})
    ns_pair.sync()
    assert ns_pair.hubspot.get_record("contacts", hub_contact)["jobtitle"] == "Buyer"
    assert ns_pair.other.get("customer", customer["id"])["phone"] == "+1 555 0100"
    assert ns_pair.other.get("contact", contact["id"])["mobilePhone"] == "+1 555 0199"


def test_hubspot_contact_company_and_deal_become_contact_customer_and_opportunity(ns_pair):
    company = ns_pair.hubspot.create_record("companies", {"name": "Contoso", "domain": "contoso.example.com"})
    contact = ns_pair.hubspot.create_record(
        "contacts",
        {"email": "kim@contoso.example.com", "firstname": "Kim", "lastname": "Lo"},
        associations={"companies": [company]},
    )
    deal = ns_pair.hubspot.create_record(
        "deals",
        {"dealname": "Contoso renewal", "amount": "1200", "closedate": "2027-03-01T00:00:00Z"},
        associations={"companies": [company]},
    )
    run = ns_pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    customer = ns_pair.other.get("customer", link_of("companies", "customers", hubspot_id=company).other_id)
    assert customer["companyName"] == "Contoso" and customer["isPerson"] is False and customer["subsidiary"] == 1
    person = ns_pair.other.get("contact", link_of("contacts", "contacts", hubspot_id=contact).other_id)
    assert person["company"] == customer["id"] and person["email"] == "kim@contoso.example.com"
    opportunity = ns_pair.other.get("opportunity", link_of("deals", hubspot_id=deal).other_id)
    assert opportunity["entity"] == customer["id"] and float(opportunity["projectedTotal"]) == 1200
    assert opportunity["expectedCloseDate"].isoformat() == "2027-03-01"


def test_an_individual_customer_becomes_a_hubspot_contact_one_way(ns_pair):
    person = ns_pair.other.add_customer(None, first_name="Ida", last_name="Lone", email="ida@person.example.org")
    run = ns_pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    [hub_contact] = ns_pair.hubspot.find_records("contacts", "email", "ida@person.example.org")
    assert link_of("contacts", "customers", other_id=person["id"]).hubspot_id == hub_contact
    assert ns_pair.hubspot.count("companies") == 0  # not a company: the companies mapping filtered it
    assert ns_pair.other.count("contact") == 0  # nor a NetSuite contact as well
    ns_pair.other.edit("customer", person["id"], {"phone": "+44 20 7946 0000"})
    ns_pair.sync()
    assert ns_pair.hubspot.get_record("contacts", hub_contact)["phone"] == "+44 20 7946 0000"


def test_the_individuals_rule_is_the_mappings_filter_and_can_be_edited(ns_pair):
    mapping = ns_pair.integration.object_mappings.get(hubspot_object="companies", other_object="customers")
    assert mapping.filter_to_hubspot["conditions"] == [{"field": "isPerson", "operator": "eq", "value": "false"}]
    mapping.filter_to_hubspot = {}  # this customer wants individuals as companies too
    mapping.save()
    ns_pair.other.add_customer(None, first_name="Ida", last_name="Lone", email="ida@person.example.org")
    ns_pair.sync()
    assert ns_pair.hubspot.count("companies") == 1


def test_conflict_on_the_same_field_and_merge_of_different_fields(ns_pair):
    contact = ns_pair.hubspot.create_record(
        "contacts", {"email": "kim@contoso.example.com", "firstname": "Kim", "lastname": "Lo"}
    )
    ns_pair.sync()
    ns_id = link_of("contacts", "contacts", hubspot_id=contact).other_id
    ns_pair.hubspot.advance_clock(5000)
    ns_pair.hubspot.edit_record("contacts", contact, {"firstname": "Kimberly", "jobtitle": "CTO"})
    ns_pair.other.edit("contact", ns_id, {"firstName": "Kimmy", "phone": "+1 555 0123"})
    run = ns_pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    assert ns_pair.other.get("contact", ns_id)["firstName"] == "Kimberly"  # HubSpot is the system of record
    assert ns_pair.other.get("contact", ns_id)["title"] == "CTO"
    assert ns_pair.hubspot.get_record("contacts", contact)["phone"] == "+1 555 0123"
    assert (
        RecordEvent.objects.filter(run=run, outcome="conflict").exists()
        or RecordEvent.objects.filter(run=run, message__icontains="conflict").exists()
    )


def test_owner_matched_by_exact_email(ns_pair):
    owner = ns_pair.hubspot.add_owner("pat.quinn@example.com", "Pat", "Quinn")
    employee = ns_pair.other.add_employee("Pat.Quinn@example.com", "Pat", "Quinn")
    company = ns_pair.hubspot.create_record(
        "companies", {"name": "Contoso", "domain": "contoso.example.com", "hubspot_owner_id": owner}
    )
    ns_pair.sync()
    assert ns_pair.other.get("customer", link_of("companies", hubspot_id=company).other_id)["salesRep"] == employee["id"]


def test_existing_records_are_matched_by_email_and_web_domain_not_duplicated(ns_pair):
    customer = ns_pair.other.add_customer("Fabrikam Inc", url="https://www.fabrikam.example.com")
    person = ns_pair.other.add_contact("", "Ray", "Dana@Fabrikam.example.com", customer["id"])
    company = ns_pair.hubspot.create_record("companies", {"name": "Fabrikam", "domain": "fabrikam.example.com"})
    hub_contact = ns_pair.hubspot.create_record(
        "contacts", {"email": "dana@fabrikam.example.com", "firstname": "Dana"}, associations={"companies": [company]}
    )
    ns_pair.sync()
    assert ns_pair.other.count("customer") == 1 and ns_pair.other.count("contact") == 1
    assert ns_pair.hubspot.count("companies") == 1 and ns_pair.hubspot.count("contacts") == 1
    assert link_of("companies", hubspot_id=company).other_id == str(customer["id"])
    assert link_of("contacts", "contacts", hubspot_id=hub_contact).other_id == str(person["id"])
    assert ns_pair.other.get("contact", person["id"])["firstName"] == "Dana"
    assert ns_pair.hubspot.get_record("contacts", hub_contact)["lastname"] == "Ray"


def test_after_convergence_another_run_makes_zero_writes(ns_pair):
    customer = ns_pair.other.add_customer("Fabrikam", url="fabrikam.example.com")
    ns_pair.other.add_contact("Dana", "Ray", "dana@fabrikam.example.com", customer["id"])
    ns_pair.other.add_customer(None, first_name="Ida", last_name="Lone", email="ida@person.example.org")
    company = ns_pair.hubspot.create_record("companies", {"name": "Contoso", "domain": "contoso.example.com"})
    contact = ns_pair.hubspot.create_record(
        "contacts",
        {"email": "kim@contoso.example.com", "firstname": "Kim", "lastname": "Lo"},
        associations={"companies": [company]},
    )
    ns_pair.hubspot.create_record(
        "deals",
        {"dealname": "Deal", "amount": "10", "closedate": "2026-03-01T00:00:00Z"},
        associations={"companies": [company], "contacts": [contact]},
    )
    ns_pair.sync()
    ns_pair.sync()
    ns_pair.reset_counters()
    run = ns_pair.sync()
    assert ns_pair.writes() == (0, 0), (run.counts, ns_pair.hubspot.counters()["calls"], ns_pair.other.counters()["calls"])


def test_test_mode_and_free_mail_blocking_stop_exactly_those_records(ns_pair):
    actions.update_integration(ns_pair.integration, None, test_mode=True, block_free_emails=True)
    # In test mode a customer is judged by its e-mail, as every record type with an e-mail field is.
    customer = ns_pair.other.add_customer("SyncSmart Test Co", url="t.example.com", email="ap+ss.test@t.example.com")
    marked = ns_pair.other.add_contact("Ann", "M", "ann+ss.test@t.example.com", customer["id"])
    plain = ns_pair.other.add_contact("Bob", "P", "bob@t.example.com", customer["id"])
    free = ns_pair.other.add_contact("Carl", "F", "carl+ss.test@gmail.com", customer["id"])
    run = ns_pair.sync()
    events = {e.source_id: e for e in RecordEvent.objects.filter(run=run, source_side="other", source_object="contacts")}
    assert events[str(marked["id"])].outcome == "created"
    assert events[str(plain["id"])].outcome == "filtered" and "Test mode" in events[str(plain["id"])].message
    assert events[str(free["id"])].outcome == "filtered" and "gmail.com" in events[str(free["id"])].message


def test_the_scripts_signed_notification_is_accepted_and_a_forged_one_refused(ns_pair, client):
    customer = ns_pair.other.add_customer("Notified Co", url="notified.example.com")
    body = json.dumps(
        {"type": "customer", "id": str(customer["id"]), "event": "create", "occurredAt": "2026-12-07T10:00:00.000Z"}
    ).encode()
    url = f"/webhooks/{ns_pair.integration.pk}/other"
    good = client.post(
        url, data=body, content_type="application/json", headers=script.sign(SCRIPT_SECRET, body, int(time.time()))
    )
    forged = client.post(url, data=body, content_type="application/json", headers=script.sign("guess", body, int(time.time())))
    assert good.status_code < 300, good.content
    assert forged.status_code == 401
    assert InboxItem.objects.filter(integration=ns_pair.integration).count() >= 1


def test_a_run_that_dies_mid_page_resumes_without_duplicates(ns_pair, monkeypatch):
    for n in range(30):
        ns_pair.other.add_customer(f"Resume {n}", url=f"resume{n}.example.com")
    calls = {"n": 0}
    original = RunContext.heartbeat

    def die_on_the_second_page(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker killed")  # inside the page's transaction: the page is rolled back
        return original(self, *args, **kwargs)

    monkeypatch.setattr(RunContext, "heartbeat", die_on_the_second_page)
    monkeypatch.setattr(NetSuiteConnector, "max_page_size", 10)
    dead = ns_pair.sync(trigger="historical")
    assert dead.status == "failed"
    monkeypatch.setattr(RunContext, "heartbeat", original)
    resumed = ns_pair.sync(trigger="historical")
    assert resumed.status == "succeeded", resumed.error
    assert ns_pair.hubspot.count("companies") == 30
    assert RecordLink.objects.filter(hubspot_object="companies").count() == 30


def test_a_netsuite_status_label_reaches_a_hubspot_dropdown_and_back_by_label(ns_pair):
    """The shared dropdown algorithm over a NetSuite list: other → HubSpot adds the missing option
    (label = value = NetSuite's name); HubSpot → NetSuite finds the status whose name is the label."""
    mapping = ns_pair.integration.object_mappings.get(hubspot_object="deals", other_object="opportunities")
    FieldMapping.objects.create(
        object_mapping=mapping,
        hubspot_field="dealstage",
        other_field="entityStatus",
        transform="dropdown",
        hubspot_type="enumeration",
        other_type="enumeration",
        order=500,
    )
    customer = ns_pair.other.add_customer("Stage Co", url="stage.example.com")
    opportunity = ns_pair.other.add_opportunity("Stage deal", customer["id"], entityStatus=10)  # PROSPECT-Proposal
    run = ns_pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    deal = link_of("deals", hubspot_id=None, other_id=opportunity["id"]).hubspot_id
    assert ns_pair.hubspot.get_record("deals", deal)["dealstage"] == "Proposal"
    ns_pair.hubspot.advance_clock(5000)
    ns_pair.hubspot.edit_record("deals", deal, {"dealstage": "closedwon"})  # label "Closed Won", a NetSuite status name
    ns_pair.sync()
    assert ns_pair.other.get("opportunity", opportunity["id"])["entityStatus"] == 13
