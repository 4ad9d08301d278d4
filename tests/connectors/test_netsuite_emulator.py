"""The NetSuite emulator against NetSuite's published behaviour: record service, SuiteQL, the
metadata catalog, TBA and OAuth 2.0, error bodies, concurrency governance, hostile input."""

from __future__ import annotations

import base64
import concurrent.futures
import json
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.netsuite import suiteql
from connectors.netsuite import webhooks as script
from connectors.netsuite.auth import TOKEN_PATH, client_assertion
from connectors.netsuite.emulator import (
    DEMO_CONSUMER_KEY,
    DEMO_CONSUMER_SECRET,
    DEMO_REDIRECT_URI,
    NetSuiteEmulator,
)
from tests.connectors.netsuite_harness import tba

BASE = "https://1234567-sb1.suitetalk.api.netsuite.test"
REC = "/services/rest/record/v1"
SQL = "/services/rest/query/v1/suiteql"


@pytest.fixture
def emulator() -> NetSuiteEmulator:
    emulator = NetSuiteEmulator(limits=False)
    acme = emulator.add_customer("Acme", email="ap@acme.example.com", url="https://www.acme.example.com")
    emulator.add_customer(None, first_name="Ida", last_name="Person", email="ida@example.org")
    emulator.add_contact("Kim", "Lo", "kim@acme.example.com", acme["id"])
    return emulator


@pytest.fixture
def api(emulator) -> httpx.Client:
    with httpx.Client(base_url=BASE, transport=emulator.transport(), auth=tba()) as client:
        yield client


def suiteql_call(api, q: str, **params):
    return api.post(SQL, json={"q": q}, params=params, headers={"Prefer": "transient"})


def assert_netsuite_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status
    body = response.json()
    assert body["status"] == status and body["title"] and body["type"].startswith("https://")
    assert body["o:errorDetails"][0]["o:errorCode"] == code
    assert body["o:errorDetails"][0]["detail"]


# --- SuiteQL ------------------------------------------------------------------------------------------
def test_suiteql_returns_strings_leaves_nulls_out_and_formats_with_to_char(api):
    response = suiteql_call(
        api,
        "SELECT c.id, c.companyname, c.isperson, c.phone, TO_CHAR(c.lastmodifieddate, 'YYYY-MM-DD\"T\"HH24:MI:SS') AS modified "
        "FROM customer c WHERE c.isperson = 'F' ORDER BY c.id",
    )
    assert response.status_code == 200, response.text
    body = response.json()
    [row] = body["items"]
    assert row["companyname"] == "Acme" and row["isperson"] == "F" and isinstance(row["id"], str)
    assert "phone" not in row  # a null column is left out, as NetSuite does
    assert len(row["modified"]) == 19 and row["modified"][10] == "T"
    assert body["hasMore"] is False and body["totalResults"] == 1 and body["count"] == 1


def test_suiteql_pages_with_limit_offset_and_has_more(api, emulator):
    for n in range(5):
        emulator.add_customer(f"Paged {n}")
    first = suiteql_call(api, "SELECT id FROM customer WHERE companyname LIKE 'Paged%' ORDER BY id", limit=2).json()
    last = suiteql_call(api, "SELECT id FROM customer WHERE companyname LIKE 'Paged%' ORDER BY id", limit=2, offset=4).json()
    assert first["hasMore"] is True and first["count"] == 2 and first["totalResults"] == 5
    assert any(link["rel"] == "next" for link in first["links"])
    assert last["hasMore"] is False and last["count"] == 1


def test_suiteql_in_lists_and_lower_find_batched_matches(api):
    rows = suiteql_call(
        api, "SELECT id, email FROM contact WHERE LOWER(email) IN ('kim@acme.example.com', 'nobody@x.com')"
    ).json()
    assert [r["email"] for r in rows["items"]] == ["kim@acme.example.com"]


def test_suiteql_paging_cap_limit_range_and_the_prefer_header_are_enforced(api):
    assert_netsuite_error(suiteql_call(api, "SELECT id FROM customer", limit=1000, offset=99_500), 400, "INVALID_PARAMETER")
    assert_netsuite_error(suiteql_call(api, "SELECT id FROM customer", limit=1001), 400, "INVALID_PARAMETER")
    response = api.post(SQL, json={"q": "SELECT id FROM customer"})
    assert_netsuite_error(response, 400, "INVALID_HEADER")


@pytest.mark.parametrize(
    "q",
    [
        "SELECT",
        "SELECT id FROM",
        "SELECT id FROM nosuchtable",
        "SELECT nosuchcolumn FROM customer",
        "SELECT id FROM customer WHERE (",
        "DELETE FROM customer",
        "SELECT id FROM customer WHERE id IN ()",
        "SELECT x.id FROM customer c",
    ],
)
def test_malformed_suiteql_is_a_400_with_netsuites_error_body(api, q):
    assert_netsuite_error(suiteql_call(api, q), 400, "INVALID_PARAMETER")


def test_the_parser_builds_a_tree_with_precedence_and_aliases():
    query = suiteql.parse("SELECT c.id AS x FROM customer c WHERE a = 1 OR b = 2 AND NOT c.d IS NULL ORDER BY x DESC")
    assert query.items[0].alias == "x" and query.order[0][1] is True
    assert isinstance(query.where, suiteql.Binary) and query.where.op == "OR"
    assert query.where.right.op == "AND" and isinstance(query.where.right.right, suiteql.Not)


# --- record service ---------------------------------------------------------------------------------
def test_post_answers_204_with_location_and_get_renders_references(api, emulator):
    response = api.post(f"{REC}/customer", json={"companyName": "Posted", "subsidiary": {"id": "1"}, "entityStatus": {"id": "7"}})
    assert response.status_code == 204 and response.content == b""
    record_id = response.headers["Location"].rsplit("/", 1)[1]
    body = api.get(f"{REC}/customer/{record_id}").json()
    assert body["companyName"] == "Posted" and body["isPerson"] is False
    assert body["entityStatus"] == {"links": [], "id": "7", "refName": "LEAD-Qualified"}
    assert body["lastModifiedDate"].endswith("Z") and "phone" not in body


def test_expand_sub_resources_expands_the_address_book(api, emulator):
    address = {"items": [{"defaultBilling": True, "addressBookAddress": {"addr1": "1 Main St", "city": "Leeds"}}]}
    location = api.post(f"{REC}/customer", json={"companyName": "Addr", "subsidiary": {"id": "1"}, "addressBook": address})
    record_id = location.headers["Location"].rsplit("/", 1)[1]
    plain = api.get(f"{REC}/customer/{record_id}").json()
    expanded = api.get(f"{REC}/customer/{record_id}", params={"expandSubResources": "true"}).json()
    assert "items" not in plain["addressBook"]
    assert expanded["addressBook"]["items"][0]["addressBookAddress"]["city"] == "Leeds"


def test_upsert_by_external_id_creates_once_then_updates(api, emulator):
    before = emulator.count("customer")
    for name in ("First", "Second"):
        response = api.put(f"{REC}/customer/eid:HS-42", json={"companyName": name, "subsidiary": {"id": "1"}})
        assert response.status_code == 204 and response.headers["Location"]
    assert emulator.count("customer") == before + 1
    assert api.get(f"{REC}/customer/eid:HS-42").json()["companyName"] == "Second"


def test_patch_delete_and_missing_records_use_netsuite_codes(api, emulator):
    contact = next(iter(emulator.all("contact")))
    assert api.patch(f"{REC}/contact/{contact['id']}", json={"title": "Buyer"}).status_code == 204
    assert emulator.get("contact", contact["id"])["title"] == "Buyer"
    assert api.delete(f"{REC}/contact/{contact['id']}").status_code == 204
    assert_netsuite_error(api.get(f"{REC}/contact/{contact['id']}"), 404, "NONEXISTENT_ID")
    assert_netsuite_error(api.patch(f"{REC}/contact/999999", json={"title": "x"}), 404, "NONEXISTENT_ID")


def test_validation_errors_name_the_problem(api):
    assert_netsuite_error(api.post(f"{REC}/customer", json={"companyName": "No Sub"}), 400, "USER_ERROR")
    bad_ref = api.post(f"{REC}/customer", json={"companyName": "X", "subsidiary": {"id": "1"}, "entityStatus": {"id": "999"}})
    assert_netsuite_error(bad_ref, 400, "INVALID_KEY_OR_REF")
    strict = api.post(
        f"{REC}/contact",
        json={"lastName": "X", "subsidiary": {"id": "1"}, "nope": 1},
        headers={"X-NetSuite-PropertyNameValidation": "error"},
    )
    assert_netsuite_error(strict, 400, "INVALID_PARAMETER")
    assert_netsuite_error(api.post(f"{REC}/employee", json={"lastName": "X"}), 403, "INSUFFICIENT_PERMISSION")


def test_list_with_q_filters_limit_and_offset(api, emulator):
    for n in range(4):
        emulator.add_customer(f"Filter {n}", email=f"f{n}@filter.example.com")
    body = api.get(f"{REC}/customer", params={"q": 'companyName START_WITH "Filter" AND isPerson IS false', "limit": 3}).json()
    assert body["totalResults"] == 4 and body["count"] == 3 and body["hasMore"] is True
    either = api.get(
        f"{REC}/customer", params={"q": 'email IS "f1@filter.example.com" OR email IS "f2@filter.example.com"'}
    ).json()
    assert either["totalResults"] == 2
    assert_netsuite_error(api.get(f"{REC}/customer", params={"q": "nosuch IS 1"}), 400, "INVALID_PARAMETER")
    assert_netsuite_error(api.get(f"{REC}/customer", params={"limit": "1001"}), 400, "INVALID_PARAMETER")


def test_metadata_catalog_lists_records_and_describes_fields(api):
    catalog = api.get(f"{REC}/metadata-catalog", params={"select": "customer,contact"}).json()
    assert {i["name"] for i in catalog["items"]} == {"customer", "contact"}
    schema = api.get(f"{REC}/metadata-catalog/customer", headers={"Accept": "application/schema+json"}).json()
    assert schema["properties"]["email"]["format"] == "email"
    assert schema["properties"]["entityStatus"]["x-ns-referenced-record-type"] == "entitystatus"
    assert "subsidiary" in schema["required"]
    openapi = api.get(f"{REC}/metadata-catalog", headers={"Accept": "application/swagger+json"}).json()
    assert "customer" in openapi["components"]["schemas"]


# --- authentication --------------------------------------------------------------------------------------
def test_tba_refuses_a_replayed_nonce_and_another_accounts_realm(emulator):
    transport = emulator.transport()
    signed = httpx.Request("GET", f"{BASE}{REC}/customer")
    tba().sign(signed)
    with httpx.Client(transport=transport) as client:
        assert client.send(signed).status_code == 200
        assert_netsuite_error(client.send(signed), 401, "INVALID_LOGIN")  # the same nonce again
        other = httpx.Request("GET", f"{BASE}{REC}/customer")
        tba(account="7654321").sign(other)
        assert_netsuite_error(client.send(other), 401, "INVALID_LOGIN")
        assert_netsuite_error(client.get(f"{BASE}{REC}/customer"), 401, "INVALID_LOGIN")


def test_oauth2_authorization_code_then_refresh_then_bearer_calls(emulator):
    with httpx.Client(base_url=BASE, transport=emulator.transport()) as client:
        consent = client.get(
            "/app/login/oauth2/authorize.nl",
            params={
                "response_type": "code",
                "client_id": DEMO_CONSUMER_KEY,
                "redirect_uri": DEMO_REDIRECT_URI,
                "scope": "rest_webservices",
                "state": "s1",
            },
        )
        assert consent.status_code == 302
        query = parse_qs(urlsplit(consent.headers["Location"]).query)
        assert query["state"] == ["s1"] and query["company"] == ["1234567_SB1"]
        basic = httpx.BasicAuth(DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET)
        tokens = client.post(
            TOKEN_PATH,
            data={"grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": DEMO_REDIRECT_URI},
            auth=basic,
        ).json()
        reused = client.post(
            TOKEN_PATH,
            data={"grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": DEMO_REDIRECT_URI},
            auth=basic,
        )
        assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
        refreshed = client.post(
            TOKEN_PATH, data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}, auth=basic
        )
        access = refreshed.json()["access_token"]
        assert client.get(f"{REC}/customer", headers={"Authorization": f"Bearer {access}"}).status_code == 200
        assert_netsuite_error(client.get(f"{REC}/customer", headers={"Authorization": "Bearer nope"}), 401, "INVALID_LOGIN")


def test_oauth2_client_credentials_with_a_signed_assertion(emulator):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    emulator.add_certificate(
        "cert-1",
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode(),
    )
    assertion = client_assertion(DEMO_CONSUMER_KEY, "cert-1", pem, BASE + TOKEN_PATH)
    assert jwt.get_unverified_header(assertion)["alg"] == "PS256"
    form = {"grant_type": "client_credentials", "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}
    with httpx.Client(base_url=BASE, transport=emulator.transport()) as client:
        token = client.post(TOKEN_PATH, data=form | {"client_assertion": assertion}).json()["access_token"]
        assert client.get(f"{REC}/customer", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        forged = assertion[:-4] + ("AAAA" if not assertion.endswith("AAAA") else "BBBB")
        assert client.post(TOKEN_PATH, data=form | {"client_assertion": forged}).status_code == 400


# --- concurrency governance ------------------------------------------------------------------------------
def test_requests_over_the_account_limit_get_429_concurrency_limit_exceeded(emulator):
    emulator.set_knobs(limits=True, latency_ms=(150, 150), concurrency_limit=2)
    running = emulator.serve("127.0.0.1", 0)
    try:

        def call(_):
            with httpx.Client(auth=tba(), timeout=10) as client:
                return client.get(f"{running.base_url}{REC}/customer")

        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            responses = list(pool.map(call, range(6)))
    finally:
        running.stop()
    refused = [r for r in responses if r.status_code == 429]
    assert refused and all(r.json()["o:errorDetails"][0]["o:errorCode"] == "CONCURRENCY_LIMIT_EXCEEDED" for r in refused)
    assert emulator.counters()["max_in_flight"] == 2


# --- the deployed user-event script ----------------------------------------------------------------------------
def test_a_deployed_script_posts_signed_notifications_for_every_change(emulator):
    received: list[httpx.Request] = []
    emulator.webhooks.transport = httpx.MockTransport(lambda r: received.append(r) or httpx.Response(200))
    emulator.deploy_script("https://syncsmart.example/webhooks/7/other", "s3cret")
    customer = emulator.add_customer("Notified")
    emulator.edit("customer", customer["id"], {"phone": "1"})
    emulator.delete("customer", customer["id"])
    assert emulator.webhooks.wait_idle(10)
    bodies = sorted((json.loads(r.content)["event"], json.loads(r.content)["id"]) for r in received)
    assert bodies == sorted([("create", str(customer["id"])), ("edit", str(customer["id"])), ("delete", str(customer["id"]))])
    assert all(script.verify("s3cret", dict(r.headers), r.content) for r in received)
    assert not script.verify("other", dict(received[0].headers), received[0].content)
    stale = script.sign("s3cret", b"{}", int(time.time()) - 3600)
    assert not script.verify("s3cret", stale, b"{}")


# --- hostile input --------------------------------------------------------------------------------------------
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(q=st.text(max_size=200), body=st.binary(max_size=200), q_filter=st.text(max_size=80))
def test_any_input_gets_a_4xx_never_a_500(api, q, body, q_filter):
    assert suiteql_call(api, q).status_code < 500
    raw = api.post(SQL, content=body, headers={"Prefer": "transient", "Content-Type": "application/json"})
    assert raw.status_code < 500
    assert api.get(f"{REC}/customer", params={"q": q_filter}).status_code < 500
    assert api.post(f"{REC}/customer", content=body, headers={"Content-Type": "application/json"}).status_code < 500
    assert api.get(f"{REC}/customer/{base64.urlsafe_b64encode(body).decode()[:40] or 'x'}").status_code < 500
