"""HubSpot <-> ConnectWise end to end, on the emulators through the real connectors."""

import pytest

from syncsmart.models import RecordEvent, RecordLink

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
    contact = cw_pair.hubspot.create_record("contacts", {"email": "peter@initech.example.com", "firstname": "Peter",
                                                         "lastname": "Gibbons"}, associations={"companies": [company]})
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
    cw_pair.hubspot.create_record("contacts", {"email": "peter@initech.example.com", "firstname": "Peter"},
                                  associations={"companies": [hub_company]})
    cw_pair.sync()
    cw_pair.sync()
    cw_pair.reset_counters()
    run = cw_pair.sync()
    assert cw_pair.writes() == (0, 0), run.counts
    assert run.counts.get("created", 0) == 0 and run.counts.get("updated", 0) == 0
