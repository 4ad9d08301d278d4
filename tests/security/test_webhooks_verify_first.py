"""Webhooks verify first: arbitrary bytes, headers and JSON shapes posted to every webhook
endpoint get a 4xx, write nothing and make no outbound connection (a listener counts them);
the ConnectWise signing key is fetched only from the callback-key path of the tenant's site."""

from __future__ import annotations

import base64
import json
import time

import pytest
from django.db import connection as db_connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.connectwise import API_PATH
from connectors.connectwise import callbacks as cb
from connectors.connectwise import connector as cw_connector
from connectors.hubspot.webhooks import compute_signature_v3
from syncsmart.models import InboxItem, SyncRun
from tenants.models import Tenant
from tests.factories import ConnectionFactory, IntegrationFactory, TenantFactory

pytestmark = pytest.mark.django_db

SECRET = "hubspot-app-secret"
DYN_KEY = "dataverse-webhook-key"


@pytest.fixture
def endpoints(listener):
    """One integration per webhook kind, every vendor address pointing at the counting listener."""
    cw_connector._SIGNING_KEYS.clear()
    cw_connector._KEY_FAILURES.clear()
    tenant = TenantFactory()
    hub = ConnectionFactory(
        tenant=tenant,
        system="hubspot",
        config={"base_url": listener.url},
        credentials={"token": "pat-na1-x", "client_secret": SECRET},
    )
    cw = ConnectionFactory(
        tenant=tenant,
        system="connectwise",
        config={"base_url": listener.url, "company_id": "acme", "public_key": "pub", "client_id": "cid"},
        credentials={"private_key": "priv"},
    )
    dyn = ConnectionFactory(
        tenant=tenant,
        system="dynamics",
        config={"org_url": listener.url, "tenant_id": "t", "client_id": "c", "token_url_base": listener.url},
        credentials={"client_secret": "s", "webhook_key": DYN_KEY},
    )
    cw_integration = IntegrationFactory(tenant=tenant, hubspot_connection=hub, other_connection=cw)
    dyn_integration = IntegrationFactory(tenant=tenant, hubspot_connection=hub, other_connection=dyn)
    return {
        "tenant": tenant,
        "hubspot": f"/webhooks/{cw_integration.pk}/hubspot",
        "connectwise": f"/webhooks/{cw_integration.pk}/other",
        "dynamics": f"/webhooks/{dyn_integration.pk}/other",
        "unknown": f"/webhooks/{dyn_integration.pk + 1000}/hubspot",
        "bad_side": f"/webhooks/{cw_integration.pk}/sideways",
        "cw_key_base": listener.url + cb.KEY_PATH,
    }


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


@st.composite
def bodies(draw, listener_url: str) -> bytes:
    kind = draw(st.sampled_from(["bytes", "json", "deep", "callback", "hubspot"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    if kind == "deep":
        depth = draw(st.integers(min_value=21, max_value=20000))
        opener = draw(st.sampled_from(["[", '{"a":']))
        return (opener * depth + "1" + ("]" if opener == "[" else "}") * depth).encode()
    if kind == "callback":
        key_url = draw(
            st.sampled_from(
                [
                    listener_url + API_PATH + "/company/companies",  # another path on the site
                    listener_url + cb.KEY_PATH + "k1/../../company/companies",
                    listener_url + cb.KEY_PATH + "k1?x=1",
                    "http://169.254.169.254/latest/meta-data/",
                    listener_url + cb.KEY_PATH + "abc123",  # the right path: refused for its bad signature
                ]
            )
            | st.text(max_size=40)
        )
        return json.dumps({"Type": "company", "ID": 1, "Action": "updated", "Metadata": {"key_url": key_url}}).encode()
    return json.dumps([{"subscriptionType": "contact.creation", "objectId": draw(json_values), "occurredAt": 1e20}]).encode()


header_names = st.sampled_from(
    [
        "X-HubSpot-Signature-v3",
        "X-HubSpot-Request-Timestamp",
        "X-HubSpot-Signature",
        "x-content-signature",
        "Authorization",
        "X-Custom",
        "Content-Length",
    ]
)
header_values = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=60),
    st.sampled_from(["²³", "9" * 5000, str(int(time.time() * 1000) + 86_400_000), "-1", "0"]),
)


def _writes(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]


def test_arbitrary_requests_get_4xx_write_nothing_and_call_nowhere(endpoints, listener):
    client = Client(raise_request_exception=False)
    statuses = []

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(
        target=st.sampled_from(["hubspot", "connectwise", "dynamics", "unknown", "bad_side"]),
        body=bodies(listener.url),
        headers=st.dictionaries(header_names, header_values, max_size=4),
        query=st.sampled_from(["", "?code=wrong", "?code=", "?code=%ff%fe"]),
    )
    def post(target, body, headers, query):
        headers = {k: v for k, v in headers.items() if k != "Content-Length"}
        with CaptureQueriesContext(db_connection) as queries:
            response = client.post(endpoints[target] + query, data=body, content_type="application/json", headers=headers)
        statuses.append(response.status_code)
        assert 400 <= response.status_code < 500, (target, body[:80], headers, response.content[:200])
        assert _writes(queries.captured_queries) == []

    post()
    time.sleep(0.3)  # let the listener's accept loop see any connection still in its backlog
    assert listener.connections == 0
    assert not InboxItem.objects.exists() and not SyncRun.objects.exists()
    assert set(statuses) <= {400, 401, 413}


def test_unknown_integration_and_bad_signature_get_the_same_answer(endpoints):
    client = Client()
    unknown = client.post(endpoints["unknown"], data=b"[]", content_type="application/json")
    unverified = client.post(endpoints["hubspot"], data=b"[]", content_type="application/json")
    bad_side = client.post(endpoints["bad_side"], data=b"[]", content_type="application/json")
    assert unknown.status_code == unverified.status_code == bad_side.status_code == 401
    assert unknown.content == unverified.content == bad_side.content


def _signed_hubspot(client, url, body: bytes, timestamp: int | None = None):
    ts = str(timestamp if timestamp is not None else int(time.time() * 1000))
    sig = compute_signature_v3(SECRET, "POST", "http://testserver" + url, body, ts)
    return client.post(
        url,
        data=body,
        content_type="application/json",
        headers={"X-HubSpot-Signature-v3": sig, "X-HubSpot-Request-Timestamp": ts},
    )


def test_hubspot_timestamp_a_day_ahead_is_refused(endpoints):
    body = json.dumps([{"subscriptionType": "contact.creation", "objectId": 1, "eventId": 1}]).encode()
    future = int(time.time() * 1000) + 86_400_000
    assert _signed_hubspot(Client(), endpoints["hubspot"], body, future).status_code == 401
    assert not InboxItem.objects.exists()


def test_hubspot_non_utf8_and_odd_timestamps_are_refused_not_500(endpoints):
    client = Client()
    for ts in ["²³", "9" * 5000, "1e5", ""]:
        response = client.post(
            endpoints["hubspot"],
            data=b"\xff\xfe[\x80]",
            content_type="application/json",
            headers={"X-HubSpot-Signature-v3": "abc", "X-HubSpot-Request-Timestamp": ts},
        )
        assert response.status_code == 401


@pytest.mark.parametrize(
    "events",
    [[1, "two", None], [{"subscriptionType": "contact.creation", "objectId": 7, "occurredAt": 1e20, "eventId": 5}], {"a": [1]}],
)
def test_signed_but_odd_hubspot_bodies_are_answered_without_a_500(endpoints, events):
    response = _signed_hubspot(Client(), endpoints["hubspot"], json.dumps(events).encode())
    assert response.status_code == 200


def test_deep_json_on_the_connectwise_callback_is_a_401(endpoints, listener):
    body = b"[" * 10_000 + b"]" * 10_000
    response = Client().post(
        endpoints["connectwise"],
        data=body,
        content_type="application/json",
        headers={"x-content-signature": base64.b64encode(b"x" * 32).decode()},
    )
    assert response.status_code == 401
    assert listener.connections == 0


def test_body_over_the_cap_is_a_413_before_anything_else(endpoints):
    response = Client().post(
        endpoints["unknown"], data=b"[" + b" " * (2 * 1024 * 1024 + 10) + b"]", content_type="application/json"
    )
    assert response.status_code == 413


def test_callback_key_is_fetched_once_from_the_key_path_without_credentials_or_retries(endpoints, listener):
    """A well-formed signature naming the documented key path is the one request that may go
    out before verification: once per key id, no retries on a 503, no credentials sent."""
    body = json.dumps({"Type": "company", "ID": 1, "Metadata": {"key_url": endpoints["cw_key_base"] + "k42"}}).encode()
    header = {"x-content-signature": base64.b64encode(b"\0" * 32).decode()}
    client = Client()
    started = time.monotonic()
    first = client.post(endpoints["connectwise"], data=body, content_type="application/json", headers=header)
    second = client.post(endpoints["connectwise"], data=body, content_type="application/json", headers=header)
    elapsed = time.monotonic() - started
    time.sleep(0.3)
    assert first.status_code == second.status_code == 401
    assert listener.connections == 1  # no retry of the 503, and the failure is remembered
    request = listener.requests[0]
    assert request.startswith(f"GET {cb.KEY_PATH}k42 ".encode())
    assert b"authorization" not in request.lower() and b"clientid" not in request.lower()
    assert elapsed < 5
    assert not InboxItem.objects.exists()


def test_verified_webhook_of_a_suspended_workspace_stores_nothing(endpoints):
    Tenant.objects.filter(pk=endpoints["tenant"].pk).update(status=Tenant.Status.SUSPENDED)
    body = json.dumps([{"subscriptionType": "contact.creation", "objectId": 7, "eventId": 9}]).encode()
    response = _signed_hubspot(Client(), endpoints["hubspot"], body)
    assert response.status_code == 503
    assert "suspended" in response.json()["error"]
    assert not InboxItem.objects.exists()
