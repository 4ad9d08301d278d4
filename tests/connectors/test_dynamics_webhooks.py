"""Dataverse webhooks: the emulator posts the RemoteExecutionContext to registered service
endpoints with the configured auth; the connector verifies the key and parses the events."""

from __future__ import annotations

import threading

import httpx
import pytest

from connectors.dynamics import batch as batchfmt
from connectors.dynamics import webhooks as hooks
from connectors.dynamics.connector import DynamicsConnector
from connectors.dynamics.emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT, DynamicsEmulator

BASE = "http://dynamics.invalid"
HOOK_URL = "https://syncsmart.example/hooks/dynamics/42"


class Inbox:
    """Receives the emulator's webhook posts in-process."""

    def __init__(self):
        self.requests: list[httpx.Request] = []
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        with self.lock:
            self.requests.append(request)
        return httpx.Response(200)


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def emulator(inbox) -> DynamicsEmulator:
    emulator = DynamicsEmulator(limits=False)
    emulator.webhook_sender.transport = httpx.MockTransport(inbox)
    return emulator


def connector(auth: str, **secrets) -> DynamicsConnector:
    return DynamicsConnector(
        BASE,
        DEFAULT_TENANT,
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        token_url_base=BASE,
        webhook_auth=auth,
        webhook_secrets=secrets,
    )


def delivered(emulator, inbox, count: int = 1) -> list[httpx.Request]:
    assert emulator.webhook_sender.wait_idle(10)
    assert len(inbox.requests) == count, [str(r.url) for r in inbox.requests]
    return inbox.requests


def test_webhook_key_is_sent_as_code_and_verified(emulator, inbox):
    emulator.register_webhook(HOOK_URL, "WebhookKey", key="s3cret-key")
    contact = emulator.create_record("contacts", {"firstname": "Ada", "lastname": "Lovelace", "emailaddress1": "ada@example.com"})
    [request] = delivered(emulator, inbox)
    assert request.url.params["code"] == "s3cret-key"
    assert request.headers["x-ms-dynamics-entity-name"] == "contact"
    assert request.headers["x-ms-dynamics-request-name"] == "Create"
    assert request.headers["x-ms-dynamics-organization"] == emulator.org_name
    for name in ("x-request-id", "x-ms-correlation-request-id"):
        assert request.headers[name]
    good = connector("WebhookKey", webhook_key="s3cret-key")
    assert good.verify_webhook("POST", str(request.url), dict(request.headers), request.content)
    assert not connector("WebhookKey", webhook_key="other").verify_webhook(
        "POST", str(request.url), dict(request.headers), request.content
    )
    assert not good.verify_webhook("POST", HOOK_URL, dict(request.headers), request.content)  # no code at all
    assert not good.verify_webhook("GET", str(request.url), dict(request.headers), request.content)
    assert not connector("WebhookKey").verify_webhook("POST", str(request.url), {}, request.content)  # nothing configured

    [event] = good.parse_webhook(request.content, dict(request.headers))
    assert (event.object_type, event.record_id, event.change) == ("contacts", contact, "created")
    assert event.event_id and event.occurred_at is not None
    assert event.payload["attributes"]["emailaddress1"] == "ada@example.com"


def test_http_header_pairs_are_sent_as_headers_and_verified(emulator, inbox):
    emulator.register_webhook(HOOK_URL, "HttpHeader", pairs={"X-SyncSmart-Key": "abc123", "X-Tenant": "acme"})
    account = emulator.create_record("accounts", {"name": "Contoso"})
    emulator.edit_record("accounts", account, {"name": "Contoso Ltd"})
    # Each delivery is its own POST from its own thread, so the update may arrive first.
    [second] = [r for r in delivered(emulator, inbox, 2) if r.headers["x-ms-dynamics-request-name"] == "Update"]
    assert second.headers["x-syncsmart-key"] == "abc123"
    hook = connector("HttpHeader", webhook_pairs={"X-SyncSmart-Key": "abc123", "X-Tenant": "acme"})
    assert hook.verify_webhook("POST", str(second.url), dict(second.headers), second.content)
    tampered = {**dict(second.headers), "x-tenant": "other"}
    assert not hook.verify_webhook("POST", str(second.url), tampered, second.content)
    events = hook.parse_webhook(second.content)
    assert [(e.object_type, e.record_id, e.change) for e in events] == [("accounts", account, "updated")]


def test_http_query_string_pairs_are_sent_in_the_query_and_verified(emulator, inbox):
    emulator.register_webhook(HOOK_URL + "?integration=7", "HttpQueryString", pairs={"token": "t-1"})
    emulator.create_record("leads", {"lastname": "Lead", "subject": "Hello"})
    [request] = delivered(emulator, inbox)
    assert request.url.params["token"] == "t-1" and request.url.params["integration"] == "7"
    hook = connector("HttpQueryString", webhook_pairs={"token": "t-1"})
    assert hook.verify_webhook("POST", str(request.url), dict(request.headers), request.content)
    assert not connector("HttpQueryString", webhook_pairs={"token": "t-2"}).verify_webhook(
        "POST", str(request.url), dict(request.headers), request.content
    )


def test_service_endpoint_registered_through_the_web_api_receives_posts_for_its_steps_only(emulator, inbox):
    http = httpx.Client(transport=emulator.transport(), base_url=BASE)
    token = http.post(
        f"/{DEFAULT_TENANT}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
            "scope": f"{BASE}/.default",
        },
    ).json()["access_token"]
    response = http.post(
        "/api/data/v9.2/serviceendpoints",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "name": "SyncSmart",
            "url": HOOK_URL,
            "contract": 8,
            "authtype": 5,
            "authvalue": hooks.settings_xml({"X-Key": "from-xml"}),
        },
    )
    assert response.status_code == 204 and "serviceendpoints(" in response.headers["OData-EntityId"]
    endpoint = response.headers["OData-EntityId"].rsplit("(", 1)[-1].rstrip(")")
    emulator.create_record("opportunities", {"name": "Without a step"})
    assert emulator.webhook_sender.wait_idle(10) and inbox.requests == []  # an endpoint alone hears nothing
    auth = {"Authorization": f"Bearer {token}"}
    create = http.get("/api/data/v9.2/sdkmessages", headers=auth, params={"$filter": "name eq 'Create'"}).json()["value"][0]
    [opportunity_filter] = http.get(
        "/api/data/v9.2/sdkmessagefilters",
        headers=auth,
        params={"$filter": f"_sdkmessageid_value eq {create['sdkmessageid']} and primaryobjecttypecode eq 'opportunity'"},
    ).json()["value"]
    step = http.post(
        "/api/data/v9.2/sdkmessageprocessingsteps",
        headers=auth,
        json={
            "name": "Create of opportunity",
            "stage": 40,
            "mode": 1,
            "sdkmessageid@odata.bind": f"/sdkmessages({create['sdkmessageid']})",
            "sdkmessagefilterid@odata.bind": f"/sdkmessagefilters({opportunity_filter['sdkmessagefilterid']})",
            "eventhandler_serviceendpoint@odata.bind": f"/serviceendpoints({endpoint})",
        },
    )
    assert step.status_code == 204
    assert http.delete(f"/api/data/v9.2/serviceendpoints({endpoint})", headers=auth).status_code == 400  # has a step
    emulator.create_record("opportunities", {"name": "Deal"})
    [request] = delivered(emulator, inbox)
    assert request.headers["x-key"] == "from-xml"


def test_only_synced_tables_fire_and_rolled_back_changes_fire_nothing(emulator, inbox):
    emulator.register_webhook(HOOK_URL, "WebhookKey", key="k")
    emulator.create_record("systemusers", {"lastname": "User", "domainname": "u@x.com"})
    http = httpx.Client(transport=emulator.transport(), base_url=BASE)
    token = http.post(
        f"/{DEFAULT_TENANT}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
            "scope": f"{BASE}/.default",
        },
    ).json()["access_token"]
    body, content_type = batchfmt.encode_batch(
        [
            batchfmt.ChangeSet(
                [
                    batchfmt.BatchRequest("POST", "accounts", {}, {"name": "Ghost"}, "1"),
                    batchfmt.BatchRequest("POST", "accounts", {}, {"name": "Bad", "customertypecode": 77}, "2"),
                ]
            )
        ]
    )
    http.post("/api/data/v9.2/$batch", content=body, headers={"Content-Type": content_type, "Authorization": f"Bearer {token}"})
    assert emulator.webhook_sender.wait_idle(10)
    assert inbox.requests == []


def test_parse_ignores_other_tables_and_garbage():
    hook = connector("WebhookKey", webhook_key="k")
    assert hook.parse_webhook(b"not json") == []
    assert hook.parse_webhook(b'{"PrimaryEntityName": "task", "PrimaryEntityId": "x"}') == []
    assert hook.parse_webhook(b"[]") == []


def test_wcf_dates_round_trip():
    import datetime as dt

    moment = dt.datetime(2024, 5, 17, 12, 30, 5, 123000, tzinfo=dt.UTC)
    assert hooks.parse_wcf_date(hooks.wcf_date(moment)) == moment
    assert hooks.parse_wcf_date("/Date(1495136154000+0000)/") == dt.datetime(2017, 5, 18, 19, 35, 54, tzinfo=dt.UTC)
