"""The HubSpot emulator answers a real HTTP client as HubSpot's API reference shows: paths,
status codes, bodies, headers, limits, OAuth, webhooks and the knobs tests rely on."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from connectors.hubspot.emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TOKEN, HubSpotEmulator
from connectors.hubspot.webhooks import verify_v3

ROOT = Path(__file__).resolve().parents[2]


def in_process(emulator: HubSpotEmulator, token: str = DEFAULT_TOKEN) -> httpx.Client:
    return httpx.Client(
        transport=emulator.transport(),
        base_url="https://api.hubapi.test",
        headers={"Authorization": f"Bearer {token}"} if token else {},
    )


def assert_error_body(response: httpx.Response, status: int, category: str) -> dict:
    assert response.status_code == status
    body = response.json()
    assert set(body) >= {"status", "message", "correlationId", "category"}
    assert body["status"] == "error" and body["category"] == category
    return body


# --- objects on a real port -------------------------------------------------------------------------
def test_create_get_update_contact_over_a_real_port(api, hubspot):
    created = api.post("/crm/v3/objects/contacts", json={"properties": {"email": "ada@example.com", "firstname": "Ada"}})
    assert created.status_code == 201
    assert created.headers["content-type"].startswith("application/json")
    body = created.json()
    assert set(body) >= {"id", "properties", "createdAt", "updatedAt", "archived"}
    assert body["properties"]["email"] == "ada@example.com" and body["properties"]["hs_object_id"] == body["id"]
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", body["properties"]["lastmodifieddate"])

    fetched = api.get(f"/crm/v3/objects/contacts/{body['id']}", params={"properties": "email,firstname"})
    assert fetched.status_code == 200 and fetched.json()["properties"]["firstname"] == "Ada"

    updated = api.patch(f"/crm/v3/objects/contacts/{body['id']}", json={"properties": {"firstname": "Augusta"}})
    assert updated.status_code == 200 and updated.json()["properties"]["firstname"] == "Augusta"
    assert hubspot.get_record("contacts", body["id"])["firstname"] == "Augusta"


def test_every_answer_carries_rate_limit_headers_except_search(api):
    response = api.get("/crm/v3/objects/contacts", params={"limit": 1})
    for header in (
        "X-HubSpot-RateLimit-Daily",
        "X-HubSpot-RateLimit-Daily-Remaining",
        "X-HubSpot-RateLimit-Interval-Milliseconds",
        "X-HubSpot-RateLimit-Max",
        "X-HubSpot-RateLimit-Remaining",
    ):
        assert header in response.headers
    assert response.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    search = api.post("/crm/v3/objects/contacts/search", json={"limit": 1})
    assert search.status_code == 200 and "X-HubSpot-RateLimit-Max" not in search.headers


def test_missing_or_wrong_token_is_401_in_hubspot_error_shape(served):
    assert_error_body(httpx.get(f"{served}/crm/v3/objects/contacts"), 401, "INVALID_AUTHENTICATION")
    wrong = httpx.get(f"{served}/crm/v3/objects/contacts", headers={"Authorization": "Bearer pat-na1-wrong"})
    assert_error_body(wrong, 401, "INVALID_AUTHENTICATION")


def test_unknown_record_is_404_object_not_found(api):
    assert_error_body(api.get("/crm/v3/objects/contacts/424242"), 404, "OBJECT_NOT_FOUND")


def test_duplicate_contact_email_is_409_naming_the_existing_id(api, hubspot):
    existing = hubspot.create_record("contacts", {"email": "dup@example.com"})
    response = api.post("/crm/v3/objects/contacts", json={"properties": {"email": "DUP@example.com"}})
    body = assert_error_body(response, 409, "CONFLICT")
    assert body["message"] == f"Contact already exists. Existing ID: {existing}"


def test_unknown_property_and_invalid_dropdown_value_are_400_validation_errors(api):
    unknown = assert_error_body(
        api.post("/crm/v3/objects/contacts", json={"properties": {"favourite_colour": "teal"}}), 400, "VALIDATION_ERROR"
    )
    assert 'Property \\"favourite_colour\\" does not exist' in unknown["message"] or "PROPERTY_DOESNT_EXIST" in unknown["message"]
    invalid = assert_error_body(
        api.post("/crm/v3/objects/contacts", json={"properties": {"lifecyclestage": "royalty"}}), 400, "VALIDATION_ERROR"
    )
    assert "royalty was not one of the allowed options" in invalid["message"]


def test_batch_create_is_201_when_all_work_and_207_with_per_input_errors_otherwise(api, hubspot):
    ok = api.post(
        "/crm/v3/objects/companies/batch/create", json={"inputs": [{"properties": {"name": "A"}}, {"properties": {"name": "B"}}]}
    )
    assert ok.status_code == 201 and ok.json()["status"] == "COMPLETE" and len(ok.json()["results"]) == 2
    mixed = api.post(
        "/crm/v3/objects/companies/batch/create",
        json={
            "inputs": [
                {"properties": {"name": "C"}, "objectWriteTraceId": "t1"},
                {"properties": {"industry": "SPACE_PIRACY"}, "objectWriteTraceId": "t2"},
            ]
        },
    )
    assert mixed.status_code == 207
    body = mixed.json()
    assert body["numErrors"] == 1 and [r["properties"]["name"] for r in body["results"]] == ["C"]
    assert body["errors"][0]["context"] == {"objectWriteTraceId": ["t2"]} and body["errors"][0]["category"] == "VALIDATION_ERROR"
    assert hubspot.count("companies") == 3


def test_batch_read_reports_missing_ids_in_a_207(api, hubspot):
    record_id = hubspot.create_record("companies", {"name": "Here"})
    response = api.post(
        "/crm/v3/objects/companies/batch/read", json={"properties": ["name"], "inputs": [{"id": record_id}, {"id": "999"}]}
    )
    assert response.status_code == 207
    assert [r["id"] for r in response.json()["results"]] == [record_id]
    assert response.json()["errors"][0]["context"] == {"ids": ["999"]}


def test_batch_upsert_by_email_creates_then_updates(api, hubspot):
    first = api.post(
        "/crm/v3/objects/contacts/batch/upsert",
        json={"inputs": [{"idProperty": "email", "id": "up@example.com", "properties": {"firstname": "Up"}}]},
    )
    assert first.status_code == 200 and first.json()["results"][0]["new"] is True
    second = api.post(
        "/crm/v3/objects/contacts/batch/upsert",
        json={"inputs": [{"idProperty": "email", "id": "up@example.com", "properties": {"firstname": "Again"}}]},
    )
    assert second.json()["results"][0]["new"] is False and hubspot.count("contacts") == 1


def test_more_than_100_batch_inputs_are_refused(api):
    response = api.post("/crm/v3/objects/contacts/batch/read", json={"inputs": [{"id": str(i)} for i in range(101)]})
    assert_error_body(response, 400, "VALIDATION_ERROR")


# --- search ---------------------------------------------------------------------------------------------
@pytest.fixture
def companies(hubspot):
    names = {}
    for name, employees, industry in [
        ("Alpha Labs", 10, "RETAIL"),
        ("Beta Foods", 50, "ACCOUNTING"),
        ("Gamma Health", 200, None),
        ("Delta Systems", 1000, "RETAIL"),
    ]:
        props = {"name": name, "numberofemployees": str(employees)} | ({"industry": industry} if industry else {})
        names[hubspot.create_record("companies", props)] = name
    return names


@pytest.mark.parametrize(
    "filter_, expected",
    [
        ({"propertyName": "industry", "operator": "EQ", "value": "RETAIL"}, {"Alpha Labs", "Delta Systems"}),
        ({"propertyName": "industry", "operator": "NEQ", "value": "RETAIL"}, {"Beta Foods", "Gamma Health"}),
        ({"propertyName": "numberofemployees", "operator": "LT", "value": "50"}, {"Alpha Labs"}),
        ({"propertyName": "numberofemployees", "operator": "LTE", "value": "50"}, {"Alpha Labs", "Beta Foods"}),
        ({"propertyName": "numberofemployees", "operator": "GT", "value": "200"}, {"Delta Systems"}),
        ({"propertyName": "numberofemployees", "operator": "GTE", "value": "200"}, {"Gamma Health", "Delta Systems"}),
        (
            {"propertyName": "numberofemployees", "operator": "BETWEEN", "value": "20", "highValue": "500"},
            {"Beta Foods", "Gamma Health"},
        ),
        ({"propertyName": "name", "operator": "IN", "values": ["alpha labs", "Beta Foods"]}, {"Alpha Labs", "Beta Foods"}),
        (
            {"propertyName": "name", "operator": "NOT_IN", "values": ["Alpha Labs"]},
            {"Beta Foods", "Gamma Health", "Delta Systems"},
        ),
        ({"propertyName": "industry", "operator": "HAS_PROPERTY"}, {"Alpha Labs", "Beta Foods", "Delta Systems"}),
        ({"propertyName": "industry", "operator": "NOT_HAS_PROPERTY"}, {"Gamma Health"}),
        ({"propertyName": "name", "operator": "CONTAINS_TOKEN", "value": "health"}, {"Gamma Health"}),
    ],
)
def test_search_operators_select_what_hubspot_would(hubspot, companies, filter_, expected):
    with in_process(hubspot) as client:
        response = client.post(
            "/crm/v3/objects/companies/search",
            json={"filterGroups": [{"filters": [filter_]}], "properties": ["name"], "limit": 100},
        )
    assert response.status_code == 200
    assert {r["properties"]["name"] for r in response.json()["results"]} == expected
    assert response.json()["total"] == len(expected)


def test_search_filter_groups_are_ored_and_sorts_order_results(hubspot, companies):
    with in_process(hubspot) as client:
        body = client.post(
            "/crm/v3/objects/companies/search",
            json={
                "filterGroups": [
                    {"filters": [{"propertyName": "name", "operator": "EQ", "value": "Alpha Labs"}]},
                    {"filters": [{"propertyName": "numberofemployees", "operator": "GTE", "value": "200"}]},
                ],
                "sorts": [{"propertyName": "numberofemployees", "direction": "DESCENDING"}],
                "properties": ["name"],
            },
        ).json()
    assert [r["properties"]["name"] for r in body["results"]] == ["Delta Systems", "Gamma Health", "Alpha Labs"]


def test_search_pages_with_paging_next_after(api, hubspot):
    for n in range(5):
        hubspot.create_record("contacts", {"email": f"p{n}@example.com"})
    first = api.post("/crm/v3/objects/contacts/search", json={"limit": 2, "properties": ["email"]}).json()
    assert first["total"] == 5 and first["paging"]["next"]["after"] == "2"
    last = api.post("/crm/v3/objects/contacts/search", json={"limit": 2, "after": "4", "properties": ["email"]}).json()
    assert len(last["results"]) == 1 and "paging" not in last


def test_search_refuses_to_page_past_10000_results(api):
    response = api.post("/crm/v3/objects/contacts/search", json={"limit": 200, "after": "9900"})
    body = assert_error_body(response, 400, "VALIDATION_ERROR")
    assert "10000" in body["message"]
    assert api.post("/crm/v3/objects/contacts/search", json={"limit": 201}).status_code == 400


def test_search_index_lag_hides_changes_until_the_lag_passes(hubspot):
    hubspot.set_knobs(search_lag_ms=2000)
    hubspot.freeze_clock()
    record_id = hubspot.create_record("contacts", {"email": "late@example.com", "firstname": "Before"})
    query = {
        "filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ", "value": "late@example.com"}]}],
        "properties": ["firstname"],
    }
    with in_process(hubspot) as client:
        assert client.post("/crm/v3/objects/contacts/search", json=query).json()["total"] == 0
        hubspot.advance_clock(2000)
        assert client.post("/crm/v3/objects/contacts/search", json=query).json()["results"][0]["id"] == record_id
        hubspot.edit_record("contacts", record_id, {"firstname": "After"})
        stale = client.post("/crm/v3/objects/contacts/search", json=query).json()["results"][0]
        assert stale["properties"]["firstname"] == "Before"  # the index still has the old version
        assert (
            client.get(f"/crm/v3/objects/contacts/{record_id}", params={"properties": "firstname"}).json()["properties"][
                "firstname"
            ]
            == "After"
        )
        hubspot.advance_clock(2000)
        assert (
            client.post("/crm/v3/objects/contacts/search", json=query).json()["results"][0]["properties"]["firstname"] == "After"
        )


# --- properties, owners, pipelines, associations -----------------------------------------------------------
def test_properties_list_dropdown_options_and_accept_a_new_option(api):
    stage = api.get("/crm/v3/properties/contacts/lifecyclestage").json()
    assert stage["type"] == "enumeration" and stage["fieldType"] == "radio"
    assert any(o["value"] == "lead" and o["label"] == "Lead" for o in stage["options"])
    options = stage["options"] + [{"label": "Partner", "value": "partner", "displayOrder": 99, "hidden": False}]
    assert api.patch("/crm/v3/properties/contacts/lifecyclestage", json={"options": options}).status_code == 200
    assert api.post("/crm/v3/objects/contacts", json={"properties": {"lifecyclestage": "partner"}}).status_code == 201
    names = {p["name"] for p in api.get("/crm/v3/properties/companies").json()["results"]}
    assert {"name", "domain", "industry", "hs_lastmodifieddate", "hubspot_owner_id"} <= names


def test_owners_list_and_filter_by_email(api):
    owners = api.get("/crm/v3/owners/").json()["results"]
    assert {o["email"] for o in owners} == {"sam.rivera@example.com", "alex.kim@example.com"}
    assert set(owners[0]) >= {"id", "email", "firstName", "lastName", "userId", "createdAt", "updatedAt", "archived"}
    only = api.get("/crm/v3/owners/", params={"email": "alex.kim@example.com"}).json()["results"]
    assert [o["firstName"] for o in only] == ["Alex"]


def test_deal_pipelines_list_stages_with_probability(api):
    pipelines = api.get("/crm/v3/pipelines/deals").json()["results"]
    default = next(p for p in pipelines if p["id"] == "default")
    assert default["stages"][0]["id"] == "appointmentscheduled" and "probability" in default["stages"][0]["metadata"]


def test_associations_v4_associate_list_batch_read_and_archive(api, hubspot):
    company = hubspot.create_record("companies", {"name": "Assoc Co"})
    contact = hubspot.create_record("contacts", {"email": "assoc@example.com"})
    assert api.put(f"/crm/v4/objects/contacts/{contact}/associations/default/companies/{company}").status_code == 200
    listed = api.get(f"/crm/v4/objects/contacts/{contact}/associations/companies").json()["results"]
    assert listed[0]["toObjectId"] == int(company) and listed[0]["associationTypes"][0]["typeId"] == 1
    batch = api.post("/crm/v4/associations/companies/contacts/batch/read", json={"inputs": [{"id": company}]}).json()
    assert batch["results"][0]["to"][0]["toObjectId"] == int(contact)
    assert (
        api.post(
            "/crm/v4/associations/contacts/companies/batch/archive",
            json={"inputs": [{"from": {"id": contact}, "to": [{"id": company}]}]},
        ).status_code
        == 204
    )
    assert hubspot.associated_ids("contacts", contact, "companies") == []


# --- OAuth -----------------------------------------------------------------------------------------------------
def test_oauth_install_flow_authorize_approve_exchange_and_introspect(served, hubspot):
    redirect = "http://127.0.0.1:9/oauth/complete"
    with httpx.Client(base_url=served, timeout=10) as browser:
        page = browser.get(
            "/oauth/authorize",
            params={
                "client_id": DEFAULT_CLIENT_ID,
                "redirect_uri": redirect,
                "scope": "crm.objects.contacts.read",
                "state": "xyz",
            },
        )
        assert page.status_code == 200 and "Connect app" in page.text
        approved = browser.post(
            "/oauth/authorize", data={"client_id": DEFAULT_CLIENT_ID, "redirect_uri": redirect, "state": "xyz"}
        )
        assert approved.status_code == 302
        query = parse_qs(urlparse(approved.headers["Location"]).query)
        assert query["state"] == ["xyz"]
        tokens = browser.post(
            "/oauth/v1/token",
            data={
                "grant_type": "authorization_code",
                "client_id": DEFAULT_CLIENT_ID,
                "client_secret": DEFAULT_CLIENT_SECRET,
                "redirect_uri": redirect,
                "code": query["code"][0],
            },
        )
        assert tokens.status_code == 200
        body = tokens.json()
        assert set(body) >= {"access_token", "refresh_token", "expires_in", "token_type"} and body["expires_in"] == 1800
        info = browser.get(f"/oauth/v1/access-tokens/{body['access_token']}").json()
        assert info["hub_id"] == hubspot.portal_id and info["token_type"] == "access"
        assert (
            browser.get("/crm/v3/objects/contacts", headers={"Authorization": f"Bearer {body['access_token']}"}).status_code
            == 200
        )
        refreshed = browser.post(
            "/oauth/v1/token",
            data={
                "grant_type": "refresh_token",
                "client_id": DEFAULT_CLIENT_ID,
                "client_secret": DEFAULT_CLIENT_SECRET,
                "refresh_token": body["refresh_token"],
            },
        )
        assert refreshed.status_code == 200 and refreshed.json()["access_token"] != body["access_token"]


def test_bad_refresh_token_is_invalid_grant(served):
    response = httpx.post(
        f"{served}/oauth/v1/token",
        data={
            "grant_type": "refresh_token",
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
            "refresh_token": "nope",
        },
    )
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "BAD_REFRESH_TOKEN" and body["error"] == "invalid_grant" and "correlationId" in body


def test_expired_oauth_access_token_is_refused(hubspot):
    tokens = hubspot.issue_oauth_tokens(expires_in=60)
    hubspot.advance_clock(61_000)
    with in_process(hubspot, token=tokens["access_token"]) as client:
        assert_error_body(client.get("/crm/v3/objects/contacts"), 401, "EXPIRED_AUTHENTICATION")


# --- limits -------------------------------------------------------------------------------------------------------
def test_ten_secondly_limit_answers_429_with_policy_and_retry_after(hubspot):
    hubspot.set_knobs(limits=True, per_10s=3)
    with in_process(hubspot) as client:
        statuses = [client.get("/crm/v3/objects/contacts").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = client.get("/crm/v3/objects/contacts")
    body = limited.json()
    assert body["policyName"] == "TEN_SECONDLY_ROLLING" and body["errorType"] == "RATE_LIMIT"
    assert int(limited.headers["Retry-After"]) >= 1 and limited.headers["X-HubSpot-RateLimit-Remaining"] == "0"


def test_daily_limit_answers_429_with_daily_policy(hubspot):
    hubspot.set_knobs(limits=True, daily=2)
    with in_process(hubspot) as client:
        assert [client.get("/crm/v3/owners/").status_code for _ in range(2)] == [200, 200]
        limited = client.get("/crm/v3/owners/")
    assert limited.status_code == 429 and limited.json()["policyName"] == "DAILY"
    assert limited.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"


def test_search_is_limited_separately_per_second(hubspot):
    hubspot.set_knobs(limits=True, search_per_second=2)
    with in_process(hubspot) as client:
        statuses = [client.post("/crm/v3/objects/contacts/search", json={}).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        assert client.get("/crm/v3/objects/contacts").status_code == 200  # other endpoints are not affected


# --- webhooks ----------------------------------------------------------------------------------------------------
def test_record_changes_send_signed_batched_webhooks_v3(hubspot):
    received: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(204)

    hubspot.webhooks.transport = httpx.MockTransport(receiver)
    target = "https://sync.example.com/webhooks/hubspot/abc?x=1"
    hubspot.subscribe(target, "s3cret")
    record_id = hubspot.create_record("contacts", {"email": "hook@example.com"})
    hubspot.edit_record("contacts", record_id, {"firstname": "Hook", "lastname": "Line"})
    assert hubspot.webhooks.wait_idle(5)
    assert len(received) == 2
    for request in received:
        assert verify_v3("s3cret", "POST", target, request.headers, request.content)
        assert not verify_v3("wrong", "POST", target, request.headers, request.content)
    # Each batch is its own POST, so they may arrive in either order.
    bodies = [json.loads(r.content) for r in received]
    creation = next(b for b in bodies if b[0]["subscriptionType"] == "contact.creation")
    changes = next(b for b in bodies if b is not creation)
    assert creation[0]["subscriptionType"] == "contact.creation" and creation[0]["objectId"] == int(record_id)
    assert {e["propertyName"]: e["propertyValue"] for e in changes} == {"firstname": "Hook", "lastname": "Line"}
    for event in creation + changes:
        assert set(event) >= {
            "eventId",
            "subscriptionId",
            "portalId",
            "occurredAt",
            "subscriptionType",
            "objectId",
            "changeSource",
        }


def test_webhook_subscription_through_the_control_endpoint(api, hubspot):
    assert (
        api.post("/_emulator/webhooks", json={"target_url": "http://127.0.0.1:9/hook", "client_secret": "abc"}).status_code == 200
    )
    assert hubspot.subscriptions[-1].target_url == "http://127.0.0.1:9/hook" and hubspot.subscriptions[-1].client_secret == "abc"


# --- knobs and counters --------------------------------------------------------------------------------------------
def test_faults_are_deterministic_under_a_seed():
    def run() -> list[str]:
        emulator = HubSpotEmulator(limits=False, faults={"500": 0.3, "429": 0.2}, seed=42)
        outcomes = []
        with in_process(emulator) as client:
            for _ in range(30):
                try:
                    outcomes.append(str(client.get("/crm/v3/owners/").status_code))
                except httpx.TransportError as exc:
                    outcomes.append(type(exc).__name__)
        return outcomes

    first = run()
    assert first == run()
    assert {"500", "429", "200"} <= set(first)


def test_counters_count_calls_per_endpoint(api, hubspot):
    api.get("/crm/v3/owners/")
    api.post("/crm/v3/objects/contacts/search", json={})
    api.post("/crm/v3/objects/contacts/search", json={})
    counters = api.get("/_emulator/counters").json()
    assert counters["calls"]["POST search"] == 2 and counters["calls"]["GET owners/list"] == 1
    assert hubspot.calls("search") == 2


def test_seed_demo_makes_realistic_associated_data():
    emulator = HubSpotEmulator.demo(seed_size=20)
    assert emulator.count("companies") == 20 and emulator.count("contacts") == 20 and emulator.count("deals") == 10
    contact = emulator.find_records("contacts", "lifecyclestage", "lead") or emulator.find_records(
        "contacts", "lifecyclestage", "customer"
    )
    assert contact
    some_deal = next(iter(emulator.records["deals"]))
    assert emulator.associated_ids("deals", some_deal, "companies") and emulator.associated_ids("deals", some_deal, "contacts")
    assert len(emulator.owners) == 5


@pytest.mark.slow
def test_manage_py_emulator_prints_its_base_url_and_serves_the_token_it_was_given():
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "emulator",
            "hubspot",
            "--port",
            "0",
            "--token",
            "pat-na1-cli",
            "--seed-size",
            "3",
            "--no-limits",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
        assert match, line + process.stderr.read() if process.poll() is not None else line
        base = match.group(1)
        ok = httpx.get(f"{base}/crm/v3/objects/companies", headers={"Authorization": "Bearer pat-na1-cli"}, params={"limit": 10})
        assert ok.status_code == 200 and len(ok.json()["results"]) == 3
        assert (
            httpx.get(f"{base}/crm/v3/objects/companies", headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"}).status_code == 401
        )
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


def test_control_endpoints_make_and_edit_records_like_a_user_and_move_the_clock(api, hubspot):
    made = api.post("/_emulator/records", json={"objectType": "contacts", "properties": {"email": "ctl@example.com"}})
    assert made.status_code == 201
    record_id = made.json()["id"]
    before = hubspot.get_record("contacts", record_id)["lastmodifieddate"]
    frozen = api.post("/_emulator/clock", json={"freeze_ms": 1_800_000_000_000}).json()["now"]
    assert api.patch(f"/_emulator/records/contacts/{record_id}", json={"properties": {"firstname": "Ctl"}}).status_code == 200
    after = hubspot.get_record("contacts", record_id)
    assert after["firstname"] == "Ctl" and after["lastmodifieddate"] != before and frozen == 1_800_000_000_000
    assert api.get("/_emulator/state").json()["contacts"] == 1
    assert_error_body(api.patch("/_emulator/records/contacts/424242", json={"properties": {}}), 404, "OBJECT_NOT_FOUND")
    assert_error_body(
        api.post("/_emulator/records", json={"objectType": "contacts", "properties": {"email": "ctl@example.com"}}),
        409,
        "CONFLICT",
    )
    assert api.post("/_emulator/records", json={"objectType": "tickets"}).status_code == 400
