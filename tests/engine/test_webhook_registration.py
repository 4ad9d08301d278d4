"""The product registers its webhooks itself: switching an integration on registers them on both
emulators (read back from their own subscription lists), deleting it removes them, a subscription
deleted on the vendor side is re-created by the next run, and the HubSpot app endpoint routes
verified events to the integrations of their portal."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from connectors.dynamics.emulator import DynamicsEmulator
from connectors.hubspot.emulator_webhooks import DEFAULT_APP_ID, DEFAULT_DEVELOPER_KEY
from mappings.services import actions
from syncsmart.engine import webhook_registration
from syncsmart.models import InboxItem, WebhookRegistration
from tenants.models import AuditLog
from tests.engine.conftest import CollectingSender, build_pair
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def registrable(pair):
    """Connections as the installer leaves them: the HubSpot app's id and developer key, a Dynamics webhook key."""
    hub = pair.integration.hubspot_connection
    hub.config = {**hub.config, "app_id": DEFAULT_APP_ID}
    hub.credentials = {**hub.credentials, "developer_api_key": DEFAULT_DEVELOPER_KEY}
    hub.save()
    if isinstance(pair.other, DynamicsEmulator):
        other = pair.integration.other_connection
        other.credentials = {**other.credentials, "webhook_key": "dyn-key-1"}
        other.save()
    return pair


@pytest.fixture(params=["connectwise", "dynamics"])
def pair(request, django_capture_on_commit_callbacks, monkeypatch, settings):
    settings.SITE_URL = "http://testserver"  # where the test client's requests arrive (signatures cover the URL)
    monkeypatch.setattr("syncsmart.engine.queue.enqueue_run", lambda run_id: None)
    # The registration task runs here instead of on a worker.
    monkeypatch.setattr(
        "syncsmart.engine.webhook_registration.async_task",
        lambda path, *args, **options: webhook_registration.register_by_id(*args),
    )
    pair = registrable(build_pair(request.param))
    actions.set_main_switch(pair.integration, None, False)
    yield pair
    pair.close()


def vendor_subscriptions(pair) -> tuple[list, list]:
    hub = sorted(s.event_type for s in pair.hubspot.app_webhooks.subscriptions.values())
    if isinstance(pair.other, DynamicsEmulator):
        other = sorted(f"{s.message} of {s.entity}" for s in pair.other.steps.steps.values())
    else:
        other = sorted(c["type"] for c in pair.other.store["callbacks"].values())
    return hub, other


def test_switching_on_registers_on_both_vendors_and_deleting_removes_them(pair, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        actions.set_main_switch(pair.integration, None, True)
    hub, other = vendor_subscriptions(pair)
    assert {"contact.creation", "contact.deletion", "contact.associationChange", "company.creation"} <= set(hub)
    if isinstance(pair.other, DynamicsEmulator):
        assert {"Create of contact", "Update of contact", "Delete of contact", "Update of account"} <= set(other)
    else:
        assert set(other) == {"activity", "company", "contact", "opportunity"}
    states = dict(WebhookRegistration.objects.values_list("side", "state"))
    assert states == {"hubspot": "active", "other": "active"}
    with django_capture_on_commit_callbacks(execute=True):
        actions.delete_integration(pair.integration, None)
    assert vendor_subscriptions(pair) == ([], [])


def test_a_subscription_deleted_on_the_vendor_side_is_recreated_by_the_next_run(pair, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        actions.set_main_switch(pair.integration, None, True)
    before = vendor_subscriptions(pair)
    pair.hubspot.app_webhooks.subscriptions.clear()  # an admin removed them in HubSpot
    if isinstance(pair.other, DynamicsEmulator):
        pair.other.steps.steps.clear()
    else:
        pair.other.store["callbacks"].clear()
    WebhookRegistration.objects.update(checked_at=None)  # due for a check
    run = pair.sync()
    assert run.status == "succeeded", run.error
    assert vendor_subscriptions(pair) == before


def test_the_hubspot_app_endpoint_stores_verified_events_for_the_portals_integrations(pair, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        actions.set_main_switch(pair.integration, None, True)
    pair.hubspot.webhooks = sender = CollectingSender()
    contact = pair.hubspot.create_record("contacts", {"email": "hook@example.com"})
    url, body, headers = sender.deliveries[0]
    with django_capture_on_commit_callbacks(execute=True):
        responses = sender.deliver(Client())
    assert all(r.status_code == 200 for r in responses)
    assert InboxItem.objects.filter(integration=pair.integration, side="hubspot", record_id=contact).exists()
    signed = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    tampered = Client().post(
        urlsplit(url).path, data=body.replace(b"creation", b"deletion"), content_type="application/json", headers=signed
    )
    assert tampered.status_code == 401


def test_registration_state_is_unsupported_without_the_hubspot_app_credentials(django_capture_on_commit_callbacks, monkeypatch):
    monkeypatch.setattr("syncsmart.engine.queue.enqueue_run", lambda run_id: None)
    pair = build_pair("connectwise")
    try:
        [hub, other] = webhook_registration.register(pair.integration)
        assert (hub.state, other.state) == ("unsupported", "active")
        assert "developer API key" in hub.message
    finally:
        pair.close()


def test_staff_repair_re_registers_what_the_vendor_lost_and_is_audited(pair, django_capture_on_commit_callbacks):
    client = Client()
    client.force_login(UserFactory(is_staff=True))
    with django_capture_on_commit_callbacks(execute=True):
        actions.set_main_switch(pair.integration, None, True)
    before = vendor_subscriptions(pair)
    pair.hubspot.app_webhooks.subscriptions.clear()
    response = client.post(reverse("staff_repair_webhooks", args=[pair.integration.pk]))
    assert response.status_code == 302
    assert vendor_subscriptions(pair) == before
    assert AuditLog.objects.filter(action="staff.webhooks_repaired").exists()
