"""A record that belongs to a sibling mapping (HubSpot contacts ↔ Lead and ↔ Contact) is not
"filtered out" in the mapping it does not sync through: that mapping logs nothing for it."""

import pytest

from syncsmart.models import RecordEvent, RecordLink

pytestmark = pytest.mark.django_db


def _events_of_hubspot_contact(integration, contact):
    return RecordEvent.objects.filter(integration=integration, source_side="hubspot", source_id=str(contact))


def test_a_hubspot_contact_that_is_a_salesforce_lead_logs_nothing_in_the_contact_mapping(sf_pair):
    contact = sf_pair.hubspot.create_record(
        "contacts", {"email": "ivy@north.example.com", "firstname": "Ivy", "lastname": "Nord"}
    )
    sf_pair.sync()
    assert RecordLink.objects.filter(hubspot_object="contacts", other_object="Lead", hubspot_id=str(contact)).exists()
    sf_pair.hubspot.advance_clock(5000)
    sf_pair.hubspot.edit_record("contacts", contact, {"jobtitle": "COO"})
    run = sf_pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    events = _events_of_hubspot_contact(sf_pair.integration, contact)
    assert not events.filter(object_mapping__other_object="Contact").exists(), list(events.values_list("outcome", "message"))
    assert events.filter(run=run, object_mapping__other_object="Lead", outcome="updated").exists()
    assert not run.counts.get("filtered"), run.counts


def test_a_hubspot_contact_from_a_dynamics_lead_logs_nothing_in_the_contact_mapping(dyn_pair):
    dyn_pair.other.create_record(
        "leads", {"firstname": "Lee", "lastname": "Ode", "emailaddress1": "lee@lead.example.com", "subject": "Interested"}
    )
    dyn_pair.sync()
    [contact] = dyn_pair.hubspot.find_records("contacts", "email", "lee@lead.example.com")
    dyn_pair.hubspot.advance_clock(5000)
    dyn_pair.hubspot.edit_record("contacts", contact, {"jobtitle": "Head of IT"})
    run = dyn_pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    events = _events_of_hubspot_contact(dyn_pair.integration, contact)
    assert not events.filter(outcome="filtered").exists(), list(events.values_list("object_mapping__name", "message"))
    assert not run.counts.get("filtered"), run.counts
