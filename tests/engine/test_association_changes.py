"""Association changes as their own feed: a contact moved to another company on one side moves on
the other within one webhook round-trip, with no property of the contact changed."""

from __future__ import annotations

import pytest
from django.test import Client

from syncsmart.engine import webhook_registration
from syncsmart.models import RecordLink
from tests.engine.conftest import CollectingSender

pytestmark = pytest.mark.django_db


@pytest.fixture
def hooked(cw_pair, monkeypatch):
    """HubSpot and ConnectWise notify this integration's webhook URLs (delivered by the test)."""
    monkeypatch.setattr("syncsmart.engine.queue.enqueue_run", lambda run_id: None)
    base = f"http://testserver/webhooks/{cw_pair.integration.pk}"
    cw_pair.hubspot.webhooks = CollectingSender()
    cw_pair.hubspot.subscribe(f"{base}/hubspot")
    cw_pair.other.webhooks = CollectingSender()
    connectors = cw_pair.connectors()
    connectors["other"].register_callbacks(f"{base}/other")
    connectors["other"].close()
    return cw_pair


def deliver(emulator, capture) -> None:
    with capture(execute=True):
        responses = emulator.webhooks.deliver(Client())
    assert all(r.status_code == 200 for r in responses), [r.content for r in responses]


def contact_link(hubspot_id=None, other_id=None) -> RecordLink | None:
    ids = {"hubspot_id": str(hubspot_id)} if hubspot_id else {"other_id": str(other_id)}
    return RecordLink.objects.filter(hubspot_object="contacts", other_object="contacts", **ids).first()


def two_companies_and_a_contact(pair):
    acme = pair.hubspot.create_record("companies", {"name": "Acme", "domain": "acme.example.com"})
    globex = pair.hubspot.create_record("companies", {"name": "Globex", "domain": "globex.example.com"})
    contact = pair.hubspot.create_record(
        "contacts", {"email": "ann@acme.example.com", "firstname": "Ann"}, associations={"companies": [acme]}
    )
    run = pair.sync()
    assert run.status == "succeeded", run.error
    company_links = dict(RecordLink.objects.filter(hubspot_object="companies").values_list("hubspot_id", "other_id"))
    return contact, acme, globex, company_links


def test_a_contact_moved_to_another_company_in_hubspot_moves_in_connectwise_within_one_webhook_round_trip(
    hooked, django_capture_on_commit_callbacks
):
    contact, acme, globex, company_links = two_companies_and_a_contact(hooked)
    hooked.hubspot.webhooks.deliveries.clear()
    before = hooked.hubspot.get_record("contacts", contact)
    hooked.hubspot.lifecycle.reassociate("contacts", contact, "companies", globex)
    assert hooked.hubspot.get_record("contacts", contact) == before  # no property changed
    deliver(hooked.hubspot, django_capture_on_commit_callbacks)
    run = hooked.sync(trigger="webhook")
    assert run.status == "succeeded", run.error
    other_id = contact_link(hubspot_id=contact).other_id
    assert hooked.other.store["contacts"][int(other_id)]["company"]["id"] == int(company_links[globex])


def test_a_contact_moved_to_another_company_in_connectwise_moves_in_hubspot_within_one_webhook_round_trip(
    hooked, django_capture_on_commit_callbacks
):
    contact, acme, globex, company_links = two_companies_and_a_contact(hooked)
    other_id = contact_link(hubspot_id=contact).other_id
    hooked.other.webhooks.deliveries.clear()
    hooked.other.edit("contacts", other_id, {"company": {"id": int(company_links[globex])}})
    deliver(hooked.other, django_capture_on_commit_callbacks)
    run = hooked.sync(trigger="webhook")
    assert run.status == "succeeded", run.error
    assert hooked.hubspot.associated_ids("contacts", contact, "companies") == [globex]


def test_a_contact_moved_to_another_account_in_dynamics_moves_in_hubspot_within_one_webhook_round_trip(
    dyn_pair, monkeypatch, settings, django_capture_on_commit_callbacks
):
    monkeypatch.setattr("syncsmart.engine.queue.enqueue_run", lambda run_id: None)
    settings.SITE_URL = "http://testserver"
    connection = dyn_pair.integration.other_connection
    connection.credentials = {**connection.credentials, "webhook_key": "dyn-key"}
    connection.save()
    acme = dyn_pair.other.create_record("accounts", {"name": "Acme", "websiteurl": "acme.example.com"})
    globex = dyn_pair.other.create_record("accounts", {"name": "Globex", "websiteurl": "globex.example.com"})
    contact = dyn_pair.other.create_record(
        "contacts", {"firstname": "Ann", "lastname": "Lee", "emailaddress1": "ann@acme.example.com", "parentcustomerid": acme}
    )
    assert dyn_pair.sync().status == "succeeded"
    webhook_registration.register(dyn_pair.integration)
    dyn_pair.other.webhook_sender = CollectingSender()
    dyn_pair.other.edit_record("contacts", contact, {"parentcustomerid": globex})
    with django_capture_on_commit_callbacks(execute=True):
        responses = dyn_pair.other.webhook_sender.deliver(Client())
    assert responses and all(r.status_code == 200 for r in responses)
    run = dyn_pair.sync(trigger="webhook")
    assert run.status == "succeeded", run.error
    hub_contact = RecordLink.objects.get(other_object="contacts", other_id=contact).hubspot_id
    hub_globex = RecordLink.objects.get(other_object="accounts", other_id=globex).hubspot_id
    assert dyn_pair.hubspot.associated_ids("contacts", hub_contact, "companies") == [hub_globex]
