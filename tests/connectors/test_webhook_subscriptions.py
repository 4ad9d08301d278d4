"""Webhook self-registration at the vendor level: each system's registrar creates, lists and removes
its subscriptions through the vendor's own API (HubSpot webhooks v3, ConnectWise system/callbacks,
Dataverse service endpoints + SDK message processing steps), and the emulators then deliver."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from connectors.base import ConnectorError
from connectors.connectwise.connector import ConnectWiseConnector
from connectors.connectwise.emulator import DEMO_CLIENT_ID, DEMO_COMPANY, DEMO_PRIVATE_KEY, DEMO_PUBLIC_KEY, ConnectWiseEmulator
from connectors.dynamics.connector import DynamicsConnector
from connectors.dynamics.emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT, DynamicsEmulator
from connectors.http import default_retry
from connectors.hubspot import webhooks as hubspot_webhooks
from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.emulator import DEFAULT_TOKEN, HubSpotEmulator
from connectors.hubspot.emulator_webhooks import DEFAULT_APP_ID, DEFAULT_DEVELOPER_KEY
from connectors.registrars import registrar_for
from connectors.subscriptions import Wanted

TARGET = "https://syncsmart.example/webhooks/7/other"
HUB_TARGET = "https://syncsmart.example/webhooks/hubspot"


class Inbox:
    def __init__(self):
        self.requests: list[httpx.Request] = []
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        with self.lock:
            self.requests.append(request)
        return httpx.Response(200)

    def bodies(self) -> list:
        return [json.loads(r.content) for r in self.requests]


def retry():
    return default_retry(backoff_factor=0.01, max_backoff_wait=0.05)


# --- HubSpot -------------------------------------------------------------------------------------------
@pytest.fixture
def hubspot():
    emulator = HubSpotEmulator(limits=False)
    inbox = Inbox()
    emulator.webhooks.transport = httpx.MockTransport(inbox)
    connector = HubSpotConnector("https://api.hubapi.test", token=DEFAULT_TOKEN, transport=emulator.transport(), retry=retry())
    registrar = registrar_for(connector, {"app_id": DEFAULT_APP_ID}, {"developer_api_key": DEFAULT_DEVELOPER_KEY})
    yield emulator, inbox, registrar
    connector.close()


def test_hubspot_registration_sets_the_app_target_and_subscribes_object_events_and_mapped_properties(hubspot):
    emulator, inbox, registrar = hubspot
    subs = registrar.ensure(HUB_TARGET, Wanted(["contacts"], {"contacts": ["firstname", "email"]}))
    events = sorted(s.event for s in subs)
    assert events == sorted(
        [
            "contact.creation",
            "contact.deletion",
            "contact.merge",
            "contact.restore",
            "contact.associationChange",
            "contact.propertyChange:email",
            "contact.propertyChange:firstname",
        ]
    )
    assert registrar.ensure(HUB_TARGET, Wanted(["contacts"], {"contacts": ["firstname", "email"]})) == subs  # idempotent
    assert emulator.app_webhooks.settings["targetUrl"] == HUB_TARGET


def test_hubspot_delivers_only_what_is_subscribed_signed_with_the_app_secret(hubspot):
    emulator, inbox, registrar = hubspot
    contact = emulator.create_record("contacts", {"email": "before@example.com"})
    assert emulator.webhooks.wait_idle(5) and inbox.requests == []  # nothing registered yet
    registrar.ensure(HUB_TARGET, Wanted(["contacts"], {"contacts": ["firstname"]}))
    emulator.edit_record("contacts", contact, {"firstname": "Ann", "lastname": "Lee"})
    assert emulator.webhooks.wait_idle(5)
    [request] = inbox.requests
    [event] = json.loads(request.content)
    assert (event["subscriptionType"], event["propertyName"], event["objectId"]) == (
        "contact.propertyChange",
        "firstname",
        int(contact),
    )
    assert hubspot_webhooks.verify_v3(emulator.client_secret, "POST", HUB_TARGET, dict(request.headers), request.content)


def test_hubspot_removed_subscriptions_deliver_nothing_and_list_empty(hubspot):
    emulator, inbox, registrar = hubspot
    registrar.ensure(HUB_TARGET, Wanted(["contacts"]))
    assert registrar.remove(HUB_TARGET) == 5
    assert registrar.list(HUB_TARGET) == []
    emulator.create_record("contacts", {"email": "after@example.com"})
    assert emulator.webhooks.wait_idle(5) and inbox.requests == []


def test_hubspot_a_deactivated_subscription_is_reactivated_by_ensure(hubspot):
    emulator, inbox, registrar = hubspot
    subs = registrar.ensure(HUB_TARGET, Wanted(["companies"]))
    http = httpx.Client(transport=emulator.transport(), base_url="https://api.hubapi.test")
    answer = http.post(
        f"/webhooks/v3/{DEFAULT_APP_ID}/subscriptions/batch/update",
        params={"hapikey": DEFAULT_DEVELOPER_KEY},
        json={"inputs": [{"id": int(s.id), "active": False} for s in subs]},
    )
    assert answer.status_code == 200 and answer.json()["status"] == "COMPLETE"
    assert not any(s.active for s in registrar.list(HUB_TARGET))
    assert all(s.active for s in registrar.ensure(HUB_TARGET, Wanted(["companies"])))


def test_hubspot_management_api_refuses_a_wrong_key_an_unknown_app_and_bad_bodies(hubspot):
    emulator, _, _ = hubspot
    http = httpx.Client(transport=emulator.transport(), base_url="https://api.hubapi.test")
    key = {"hapikey": DEFAULT_DEVELOPER_KEY}
    assert http.get(f"/webhooks/v3/{DEFAULT_APP_ID}/subscriptions", params={"hapikey": "nope"}).status_code == 401
    assert http.get("/webhooks/v3/999/subscriptions", params=key).status_code == 404
    assert http.put(f"/webhooks/v3/{DEFAULT_APP_ID}/settings", params=key, json={"targetUrl": "ftp://x"}).status_code == 400
    bad = http.post(f"/webhooks/v3/{DEFAULT_APP_ID}/subscriptions", params=key, json={"eventType": "contact.propertyChange"})
    assert bad.status_code == 400 and "propertyName" in bad.json()["message"]
    assert http.post(f"/webhooks/v3/{DEFAULT_APP_ID}/subscriptions", params=key, content=b"\xff{").status_code == 400
    assert http.get(f"/webhooks/v3/{DEFAULT_APP_ID}/settings", params=key).status_code == 404


def test_hubspot_registration_without_app_credentials_is_a_config_error():
    connector = HubSpotConnector("https://api.hubapi.test", token=DEFAULT_TOKEN)
    with pytest.raises(ConnectorError, match="developer API key"):
        registrar_for(connector, {}, {})
    connector.close()


# --- ConnectWise -------------------------------------------------------------------------------------------
@pytest.fixture
def connectwise():
    emulator = ConnectWiseEmulator(limits=False)
    inbox = Inbox()
    emulator.webhooks.transport = httpx.MockTransport(inbox)
    connector = ConnectWiseConnector(
        base_url="http://cw.test",
        company_id=DEMO_COMPANY,
        public_key=DEMO_PUBLIC_KEY,
        private_key=DEMO_PRIVATE_KEY,
        client_id=DEMO_CLIENT_ID,
        transport=emulator.transport(),
        retry=retry(),
    )
    yield emulator, inbox, registrar_for(connector, {}, {})
    connector.close()


def test_connectwise_callbacks_are_registered_once_per_type_deliver_deletes_and_are_removed(connectwise):
    emulator, inbox, registrar = connectwise
    subs = registrar.ensure(TARGET, Wanted(["companies", "contacts"]))
    assert sorted(s.event for s in subs) == ["company callback", "contact callback"]
    assert registrar.ensure(TARGET, Wanted(["companies", "contacts"])) == subs
    company = emulator.add_company("Acme", "Acme1")
    assert emulator.webhooks.wait_idle(5)
    emulator.delete("companies", company["id"])
    assert emulator.webhooks.wait_idle(5)
    assert [b["Action"] for b in inbox.bodies()] == ["added", "deleted"]
    assert registrar.remove(TARGET) == 2 and registrar.list(TARGET) == []


# --- Dynamics ------------------------------------------------------------------------------------------------
BASE = "http://dynamics.invalid"


@pytest.fixture
def dynamics():
    emulator = DynamicsEmulator(limits=False)
    inbox = Inbox()
    emulator.webhook_sender.transport = httpx.MockTransport(inbox)
    connector = DynamicsConnector(
        BASE,
        DEFAULT_TENANT,
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        token_url_base=BASE,
        transport=emulator.transport(),
        webhook_auth="WebhookKey",
        webhook_secrets={"webhook_key": "k-123"},
    )
    yield emulator, inbox, registrar_for(connector, {}, {"webhook_key": "k-123"}), connector
    connector.close()


def test_dynamics_registration_creates_an_endpoint_and_steps_that_deliver_create_update_and_delete(dynamics):
    emulator, inbox, registrar, connector = dynamics
    subs = registrar.ensure(TARGET, Wanted(["contacts"]))
    assert sorted(s.event for s in subs) == ["Create of contact", "Delete of contact", "Update of contact"]
    assert registrar.ensure(TARGET, Wanted(["contacts"])) == subs
    contact = emulator.create_record("contacts", {"lastname": "Lee"})
    emulator.create_record("accounts", {"name": "Not subscribed"})
    emulator.delete_record("contacts", contact)
    assert emulator.webhook_sender.wait_idle(5)
    messages = sorted(r.headers["x-ms-dynamics-request-name"] for r in inbox.requests)
    assert messages == ["Create", "Delete"]
    for request in inbox.requests:
        assert connector.verify_webhook("POST", str(request.url), dict(request.headers), request.content)
    deleted = [e for r in inbox.requests for e in connector.parse_webhook(r.content) if e.change == "deleted"]
    assert [e.record_id for e in deleted] == [contact.lower()]


def test_dynamics_removal_deletes_steps_then_the_endpoint(dynamics):
    emulator, inbox, registrar, _ = dynamics
    registrar.ensure(TARGET, Wanted(["contacts", "accounts"]))
    assert registrar.remove(TARGET) == 6
    assert registrar.list(TARGET) == [] and emulator.endpoints == []
    emulator.create_record("contacts", {"lastname": "Lee"})
    assert emulator.webhook_sender.wait_idle(5) and inbox.requests == []
