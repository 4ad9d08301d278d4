"""Webhook endpoints: verified, stored durably once, answered at once, run just those records."""

import json

import pytest
from django.db import OperationalError
from django.test import Client

from connectors.registrars import registrar_for
from connectors.subscriptions import Wanted
from syncsmart.models import InboxItem, RecordLink, SyncRun
from tests.engine.conftest import CollectingSender

pytestmark = pytest.mark.django_db


@pytest.fixture
def hooked(cw_pair, monkeypatch):
    """HubSpot and ConnectWise both notify this integration's webhook URLs."""
    queued = []
    monkeypatch.setattr("syncsmart.engine.queue.enqueue_run", queued.append)
    base = f"http://testserver/webhooks/{cw_pair.integration.pk}"
    cw_pair.hubspot.webhooks = CollectingSender()
    cw_pair.hubspot.subscribe(f"{base}/hubspot")
    cw_pair.other.webhooks = CollectingSender()
    connectors = cw_pair.connectors()
    connectors["other"].register_callbacks(f"{base}/other")
    connectors["other"].close()
    cw_pair.queued = queued
    return cw_pair


def deliver(emulator, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return emulator.webhooks.deliver(Client())


def test_hubspot_webhook_is_stored_and_runs_just_that_record(hooked, django_capture_on_commit_callbacks):
    company = hooked.hubspot.create_record("companies", {"name": "Initech", "domain": "initech.example.com"})
    contact = hooked.hubspot.create_record(
        "contacts", {"email": "peter@initech.example.com", "firstname": "Peter"}, associations={"companies": [company]}
    )
    responses = deliver(hooked.hubspot, django_capture_on_commit_callbacks)
    assert [r.status_code for r in responses] == [200, 200]
    assert set(InboxItem.objects.values_list("record_id", flat=True)) == {company, contact}
    run = SyncRun.objects.get(trigger="webhook")
    assert hooked.queued == [run.pk]
    finished = hooked.sync(trigger="webhook")  # what the queued run does
    assert finished.status == "succeeded"
    assert RecordLink.objects.filter(hubspot_object="contacts", hubspot_id=contact).exists()
    assert not InboxItem.objects.filter(status="pending").exists()


def test_bad_signature_is_401_and_stores_nothing(hooked, django_capture_on_commit_callbacks):
    hooked.hubspot.create_record("contacts", {"email": "peter@initech.example.com", "firstname": "Peter"})
    url, body, headers = hooked.hubspot.webhooks.deliveries[0]
    tampered = json.loads(body)
    tampered[0]["objectId"] = 999
    response = Client().post(
        f"/webhooks/{hooked.integration.pk}/hubspot",
        data=json.dumps(tampered).encode(),
        content_type="application/json",
        headers={k: v for k, v in headers.items() if k.lower() != "content-type"},
    )
    assert response.status_code == 401
    assert not InboxItem.objects.exists()
    assert not SyncRun.objects.exists()


def test_replayed_webhook_changes_nothing(hooked, django_capture_on_commit_callbacks):
    hooked.hubspot.create_record("contacts", {"email": "peter@initech.example.com", "firstname": "Peter"})
    delivery = hooked.hubspot.webhooks.deliveries[0]
    deliver(hooked.hubspot, django_capture_on_commit_callbacks)
    hooked.sync(trigger="webhook")
    hooked.hubspot.webhooks.deliveries.append(delivery)
    [response] = deliver(hooked.hubspot, django_capture_on_commit_callbacks)
    assert response.status_code == 200 and response.json()["new"] == 0
    assert InboxItem.objects.count() == 1
    hooked.reset_counters()
    hooked.sync()
    assert hooked.writes() == (0, 0)


def test_webhooks_of_the_engines_own_writes_come_back_as_echo_with_zero_writes(hooked, django_capture_on_commit_callbacks):
    company = hooked.other.add_company("Globex Corp", website="globex.example.com")
    hooked.other.add_contact("Ann", "Lee", company_id=company["id"], email="ann@globex.example.com")
    hooked.hubspot.create_record("companies", {"name": "Initech", "domain": "initech.example.com"})
    deliver(hooked.other, django_capture_on_commit_callbacks)
    deliver(hooked.hubspot, django_capture_on_commit_callbacks)
    hooked.sync()
    hooked.sync()
    # Both vendors now notify us of the records the engine itself wrote.
    assert hooked.hubspot.webhooks.deliveries and hooked.other.webhooks.deliveries
    deliver(hooked.hubspot, django_capture_on_commit_callbacks)
    deliver(hooked.other, django_capture_on_commit_callbacks)
    assert InboxItem.objects.filter(status="pending").exists()
    hooked.reset_counters()
    run = hooked.sync(trigger="webhook")
    assert hooked.writes() == (0, 0), run.counts
    assert run.counts.get("echo", 0) + run.counts.get("unchanged", 0) > 0
    assert not InboxItem.objects.filter(status="pending").exists()


def test_connectwise_callback_triggers_a_run_that_brings_the_change(hooked, django_capture_on_commit_callbacks):
    company = hooked.other.add_company("Globex Corp", website="globex.example.com")
    contact = hooked.other.add_contact("Ann", "Lee", company_id=company["id"], email="ann@globex.example.com")
    responses = deliver(hooked.other, django_capture_on_commit_callbacks)
    assert responses and all(r.status_code == 200 for r in responses)
    assert InboxItem.objects.filter(side="other", record_id=str(contact["id"])).exists()
    hooked.sync(trigger="webhook")
    assert hooked.hubspot.find_records("contacts", "email", "ann@globex.example.com")


def test_dynamics_service_endpoint_webhook_is_verified_by_its_key_and_runs(
    dyn_pair, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr("syncsmart.engine.queue.enqueue_run", lambda run_id: None)
    connection = dyn_pair.integration.other_connection
    connection.credentials = {**connection.credentials, "webhook_key": "service-endpoint-key"}
    connection.save()
    dyn_pair.other.webhook_sender = CollectingSender()
    url = f"http://testserver/webhooks/{dyn_pair.integration.pk}/other"
    connector = connection.connector()
    registrar_for(connector, connection.config, connection.credentials).ensure(url, Wanted(["accounts"]))
    connector.close()
    account = dyn_pair.other.create_record("accounts", {"name": "Fabrikam", "websiteurl": "fabrikam.example.com"})
    assert dyn_pair.other.webhook_sender.deliveries
    good = list(dyn_pair.other.webhook_sender.deliveries)
    with django_capture_on_commit_callbacks(execute=True):
        responses = dyn_pair.other.webhook_sender.deliver(Client())
    assert all(r.status_code == 200 for r in responses)
    assert InboxItem.objects.filter(side="other", object_type="accounts", record_id=account).exists()
    # The same body without the key is refused and stores nothing more.
    _, body, headers = good[0]
    before = InboxItem.objects.count()
    refused = Client().post(f"/webhooks/{dyn_pair.integration.pk}/other?code=wrong", data=body, content_type="application/json")
    assert refused.status_code == 401 and InboxItem.objects.count() == before
    run = dyn_pair.sync(trigger="webhook")
    assert run.status == "succeeded"
    assert dyn_pair.hubspot.find_records("companies", "name", "Fabrikam")


def test_webhooks_during_a_move_to_production_are_refused_with_503_and_nothing_is_stored(
    hooked, django_capture_on_commit_callbacks
):
    from tenants.models import GoLiveSwitch

    GoLiveSwitch.objects.create(
        tenant=hooked.integration.tenant,
        integration=hooked.integration,
        status=GoLiveSwitch.Status.IN_PROGRESS,
        webhooks_paused=True,
    )
    hooked.hubspot.create_record("contacts", {"email": "peter@initech.example.com", "firstname": "Peter"})
    [response] = deliver(hooked.hubspot, django_capture_on_commit_callbacks)
    assert response.status_code == 503 and response["Retry-After"] == "60"
    assert not InboxItem.objects.exists()
    assert not SyncRun.objects.exists()


@pytest.mark.parametrize("error", ["database is locked", "sorry, too many clients already"])
def test_a_notification_the_busy_database_cannot_take_is_a_503_to_retry_not_a_500(
    hooked, monkeypatch, django_capture_on_commit_callbacks, error
):
    def busy(*args, **kwargs):
        raise OperationalError(error)

    monkeypatch.setattr("syncsmart.webhooks.store_events", busy)
    hooked.hubspot.create_record("contacts", {"email": "peter@initech.example.com", "firstname": "Peter"})
    [response] = deliver(hooked.hubspot, django_capture_on_commit_callbacks)
    assert response.status_code == 503 and response["Retry-After"] == "30"
    assert error not in response.content.decode()
    assert not SyncRun.objects.exists()
