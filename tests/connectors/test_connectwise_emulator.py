"""The ConnectWise emulator behaves as ConnectWise's documentation says: auth, paging, queries,
validation errors, callbacks, limits, counters and the management command."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from connectors.connectwise import API_PATH
from connectors.connectwise import callbacks as cb
from connectors.connectwise.emulator import (
    DEMO_CLIENT_ID,
    DEMO_COMPANY,
    DEMO_PRIVATE_KEY,
    DEMO_PUBLIC_KEY,
    ConnectWiseEmulator,
    parse_rate_limit,
)

BASE = "http://cw.test"
AUTH = httpx.BasicAuth(f"{DEMO_COMPANY}+{DEMO_PUBLIC_KEY}", DEMO_PRIVATE_KEY)


def client(emulator: ConnectWiseEmulator, **headers: str) -> httpx.Client:
    return httpx.Client(
        transport=emulator.transport(), base_url=BASE + API_PATH, auth=AUTH, headers={"clientId": DEMO_CLIENT_ID, **headers}
    )


@pytest.fixture
def emulator() -> ConnectWiseEmulator:
    emulator = ConnectWiseEmulator(limits=False)
    acme = emulator.add_company("Acme Corp", "AcmeCorp", status="Active", type="Customer", website="www.acme.example")
    globex = emulator.add_company("Globex", "Globex", status="Inactive", type="Prospect")
    emulator.add_contact("Ann", "Lee", company_id=acme["id"], email="ann@acme.example", phone="555-1000")
    emulator.add_contact("Bob", "Ray", company_id=globex["id"], email="bob@globex.example")
    return emulator


# --- auth -------------------------------------------------------------------------------------------
def test_good_credentials_and_client_id_are_accepted(emulator):
    assert client(emulator).get("/system/info").status_code == 200


@pytest.mark.parametrize(
    "auth, headers, words",
    [
        (AUTH, {}, "clientId header is missing"),
        (AUTH, {"clientId": "someone-else"}, "clientId is not valid"),
        (httpx.BasicAuth(f"{DEMO_COMPANY}+{DEMO_PUBLIC_KEY}", "wrong"), {"clientId": DEMO_CLIENT_ID}, "Authentication failed"),
        (
            httpx.BasicAuth(f"othercompany+{DEMO_PUBLIC_KEY}", DEMO_PRIVATE_KEY),
            {"clientId": DEMO_CLIENT_ID},
            "Authentication failed",
        ),
        (httpx.BasicAuth(DEMO_PUBLIC_KEY, DEMO_PRIVATE_KEY), {"clientId": DEMO_CLIENT_ID}, "Authentication failed"),
        (None, {"clientId": DEMO_CLIENT_ID}, "Authorization is missing"),
    ],
)
def test_bad_auth_or_missing_client_id_is_401_with_connectwise_body(emulator, auth, headers, words):
    anonymous = httpx.Client(transport=emulator.transport(), base_url=BASE + API_PATH, auth=auth, headers=headers)
    response = anonymous.get("/company/companies")
    assert response.status_code == 401
    assert response.json()["code"] == "Unauthorized"
    assert words in response.json()["message"]


def test_company_id_is_case_insensitive_like_the_log_in_page(emulator):
    upper = httpx.BasicAuth(f"{DEMO_COMPANY.upper()}+{DEMO_PUBLIC_KEY}", DEMO_PRIVATE_KEY)
    response = httpx.Client(
        transport=emulator.transport(), base_url=BASE + API_PATH, auth=upper, headers={"clientId": DEMO_CLIENT_ID}
    ).get("/system/info")
    assert response.status_code == 200


def test_company_info_needs_no_auth_and_404s_for_unknown_companies(emulator):
    anonymous = httpx.Client(transport=emulator.transport(), base_url=BASE)
    assert anonymous.get(f"/login/companyinfo/{DEMO_COMPANY}").json()["CompanyID"] == DEMO_COMPANY
    assert anonymous.get("/login/companyinfo/nosuchco").status_code == 404


# --- lists, paging, queries ----------------------------------------------------------------------------
def test_default_page_is_25_and_page_size_is_capped_at_1000():
    emulator = ConnectWiseEmulator(limits=False)
    for n in range(1005):
        emulator.add_company(f"Company {n}", f"C{n}")
    api = client(emulator)
    assert len(api.get("/company/companies").json()) == 25
    response = api.get("/company/companies", params={"pageSize": 5000})
    assert len(response.json()) == 1000
    assert 'rel="next"' in response.headers["link"]


def test_link_headers_lead_through_every_page_once(emulator):
    for n in range(9):
        emulator.add_company(f"Extra {n}", f"Extra{n}")
    api = client(emulator)
    seen, url, pages = [], "/company/companies?pageSize=4&orderBy=name%20asc", 0
    while url:
        response = api.get(url)
        seen += [r["id"] for r in response.json()]
        url = response.links.get("next", {}).get("url")
        pages += 1
        if pages == 2:
            assert {"first", "prev", "next", "last"} <= set(response.links)
    assert pages == 3
    assert sorted(seen) == sorted(r["id"] for r in emulator.records("companies"))


def test_forward_only_paging_uses_page_id_and_only_a_next_link(emulator):
    for n in range(7):
        emulator.add_company(f"Extra {n}", f"Extra{n}")
    api = client(emulator, **{"pagination-type": "forward-only"})
    response = api.get("/company/companies", params={"pageSize": 4})
    assert [r["id"] for r in response.json()] == [1, 2, 3, 4]
    assert set(response.links) == {"next"} and "pageId=4" in response.links["next"]["url"]
    last = api.get(response.links["next"]["url"])
    last = api.get(last.links["next"]["url"])
    assert [r["id"] for r in last.json()] == [9]
    assert "link" not in last.headers


def test_conditions_filter_on_nested_fields_and_last_updated(emulator):
    api = client(emulator)
    active = api.get("/company/companies", params={"conditions": 'status/name = "Active" and types/name = "Customer"'})
    assert [r["identifier"] for r in active.json()] == ["AcmeCorp"]
    contacts = api.get("/company/contacts", params={"conditions": 'company/identifier in ("Globex", "Nope")'})
    assert [r["firstName"] for r in contacts.json()] == ["Bob"]
    recent = api.get("/company/contacts", params={"conditions": "lastUpdated >= [2000-01-01T00:00:00Z]"})
    assert len(recent.json()) == 2
    future = api.get("/company/contacts", params={"conditions": "lastUpdated > [2999-01-01T00:00:00Z]"})
    assert future.json() == []


def test_child_conditions_find_contacts_by_any_email_item(emulator):
    response = client(emulator).get(
        "/company/contacts",
        params={
            "childConditions": (
                'communicationItems/value in ("ANN@acme.example") and communicationItems/communicationType = "Email"'
            )
        },
    )
    assert [r["firstName"] for r in response.json()] == ["Ann"]


def test_custom_field_conditions_match_caption_and_value(emulator):
    emulator.edit("companies", 1, {"customFields": [{"id": 1, "value": "Enterprise"}]})
    response = client(emulator).get(
        "/company/companies", params={"customFieldConditions": 'caption = "Industry Segment" and value = "Enterprise"'}
    )
    assert [r["id"] for r in response.json()] == [1]


def test_order_by_and_fields_shape_the_answer(emulator):
    response = client(emulator).get(
        "/company/contacts", params={"orderBy": "firstName desc", "fields": "id,firstName,company/name"}
    )
    assert response.json() == [
        {"id": 2, "firstName": "Bob", "company": {"name": "Globex"}},
        {"id": 1, "firstName": "Ann", "company": {"name": "Acme Corp"}},
    ]


def test_count_endpoints_honour_conditions(emulator):
    api = client(emulator)
    assert api.get("/company/contacts/count").json() == {"count": 2}
    assert api.get("/company/companies/count", params={"conditions": 'name like "Ac*"'}).json() == {"count": 1}


@pytest.mark.parametrize(
    "params, field",
    [
        ({"conditions": 'name = "x" and'}, "conditions"),
        ({"conditions": "password = 1"}, "conditions"),
        ({"childConditions": 'name = "x"'}, "conditions"),
        ({"orderBy": "name sideways"}, "orderBy"),
        ({"pageSize": "lots"}, "page"),
    ],
)
def test_malformed_queries_are_400_in_connectwise_shape(emulator, params, field):
    response = client(emulator).get("/company/companies", params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "InvalidObject" and body["message"]
    assert body["errors"][0]["field"] == field


def test_lookup_lists_serve_statuses_types_stages_and_custom_fields(emulator):
    api = client(emulator)
    assert "Active" in [s["name"] for s in api.get("/company/companies/statuses").json()]
    assert "Customer" in [t["name"] for t in api.get("/company/companies/types").json()]
    assert "1.Prospect" in [s["name"] for s in api.get("/sales/stages").json()]
    assert "Won" in [s["name"] for s in api.get("/sales/opportunities/statuses").json()]
    screens = {u["screenId"] for u in api.get("/system/userDefinedFields").json()}
    assert {"Company", "Contact", "Opportunity"} <= screens


# --- writes and validation -----------------------------------------------------------------------------
def test_contact_without_company_is_refused_with_connectwise_validation_error(emulator):
    response = client(emulator).post("/company/contacts", json={"firstName": "Orphan"})
    assert response.status_code == 400
    assert response.json() == {
        "code": "InvalidObject",
        "message": "contact object is invalid",
        "errors": [{"code": "NullValue", "message": "The company field is required.", "resource": "contact", "field": "company"}],
    }


def test_company_less_contacts_are_allowed_when_the_vendor_default_is_chosen():
    emulator = ConnectWiseEmulator(limits=False, contacts_require_company=False)
    assert client(emulator).post("/company/contacts", json={"firstName": "Loner"}).status_code == 201


def test_opportunity_needs_company_and_contact(emulator):
    response = client(emulator).post("/sales/opportunities", json={"name": "Deal", "company": {"id": 1}})
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["contact"]
    ok = client(emulator).post("/sales/opportunities", json={"name": "Deal", "company": {"id": 1}, "contact": {"id": 1}})
    assert ok.status_code == 201
    assert ok.json()["stage"]["name"] == "1.Prospect" and ok.json()["status"]["name"] == "Open"


def test_duplicate_identifier_and_unknown_references_are_field_errors(emulator):
    api = client(emulator)
    duplicate = api.post("/company/companies", json={"name": "Again", "identifier": "acmecorp"})
    assert duplicate.status_code == 400 and duplicate.json()["errors"][0]["field"] == "identifier"
    bad_status = api.post("/company/companies", json={"name": "New", "identifier": "New1", "status": {"id": 99}})
    assert bad_status.json()["errors"][0]["field"] == "status"


def test_patch_applies_json_patch_operations_and_bumps_last_updated(emulator):
    emulator.clock = lambda: _at("2030-01-01T00:00:00Z")
    response = client(emulator).patch(
        "/company/contacts/1",
        json=[{"op": "replace", "path": "lastName", "value": "Leigh"}, {"op": "replace", "path": "company", "value": {"id": 2}}],
    )
    assert response.status_code == 200
    body = response.json()
    assert body["lastName"] == "Leigh" and body["company"] == {"id": 2, "identifier": "Globex", "name": "Globex"}
    assert body["_info"]["lastUpdated"] == "2030-01-01T00:00:00Z"


def test_patch_must_be_a_list_of_operations_and_cannot_touch_ids(emulator):
    api = client(emulator)
    assert api.patch("/company/contacts/1", json={"lastName": "x"}).status_code == 400
    assert api.patch("/company/contacts/1", json=[{"op": "replace", "path": "id", "value": 5}]).status_code == 400
    assert api.patch("/company/contacts/999", json=[]).status_code == 404


def test_members_are_read_only_and_found_by_primary_email(emulator):
    emulator.add_member("dana", "Dana", "Reyes", "dana@acme.example")
    api = client(emulator)
    found = api.get("/system/members", params={"conditions": 'primaryEmail = "DANA@acme.example"'}).json()
    assert [m["identifier"] for m in found] == ["dana"]
    assert api.post("/system/members", json={"identifier": "x"}).status_code == 405


def test_delete_removes_the_record(emulator):
    api = client(emulator)
    assert api.delete("/company/contacts/2").status_code == 204
    assert api.get("/company/contacts/2").status_code == 404


# --- callbacks ------------------------------------------------------------------------------------------
def test_changes_fire_signed_callbacks_whose_key_is_served_at_key_url(emulator):
    received: list[httpx.Request] = []
    emulator.webhooks.transport = httpx.MockTransport(lambda request: received.append(request) or httpx.Response(200))
    api = client(emulator)
    hook = api.post("/system/callbacks", json={"url": "https://hooks.example/cw", "type": "contact", "level": "owner"})
    assert hook.status_code == 201 and "_key_url" not in hook.json()
    api.patch("/company/contacts/1", json=[{"op": "replace", "path": "title", "value": "CTO"}])
    emulator.edit("contacts", 2, {"title": "CFO"})  # as if a user edited it in ConnectWise
    emulator.add_company("No Hook For Companies", "NoHook")
    assert emulator.webhooks.wait_idle(5)
    # Each callback is its own POST, so they may arrive in either order.
    payloads = sorted((json.loads(r.content) for r in received), key=lambda p: p["ID"])
    assert [(p["Action"], p["Type"], p["ID"]) for p in payloads] == [("updated", "contact", 1), ("updated", "contact", 2)]
    assert json.loads(payloads[0]["Entity"])["title"] == "CTO"
    key = httpx.Client(transport=emulator.transport()).get(payloads[0]["Metadata"]["key_url"]).json()["signing_key"]
    for request in received:
        assert cb.signature_matches(key, request.content, request.headers[cb.SIGNATURE_HEADER])
        assert not cb.signature_matches(key, request.content + b" ", request.headers[cb.SIGNATURE_HEADER])


def test_company_level_callbacks_only_fire_for_that_company(emulator):
    received: list[dict] = []
    emulator.webhooks.transport = httpx.MockTransport(lambda r: received.append(json.loads(r.content)) or httpx.Response(200))
    client(emulator).post(
        "/system/callbacks", json={"url": "https://hooks.example/cw", "type": "contact", "level": "company", "objectId": 2}
    )
    emulator.edit("contacts", 1, {"title": "A"})
    emulator.edit("contacts", 2, {"title": "B"})
    emulator.delete("contacts", 2)
    emulator.webhooks.wait_idle(5)
    assert sorted((p["Action"], p["ID"], p["Entity"] is None) for p in received) == [("deleted", 2, True), ("updated", 2, False)]


def test_callbacks_can_be_listed_and_deleted(emulator):
    api = client(emulator)
    created = api.post("/system/callbacks", json={"url": "https://hooks.example/cw", "type": "company"}).json()
    assert [c["id"] for c in api.get("/system/callbacks").json()] == [created["id"]]
    assert api.delete(f"/system/callbacks/{created['id']}").status_code == 204
    assert api.get("/system/callbacks").json() == []
    bad = api.post("/system/callbacks", json={"url": "not a url", "type": "ticket"})
    assert {e["field"] for e in bad.json()["errors"]} == {"url", "type"}


# --- limits, faults, counters ---------------------------------------------------------------------------------
def test_rate_limit_knob_answers_429_with_retry_after():
    emulator = ConnectWiseEmulator(rate_limit=(3, 60))
    api = client(emulator)
    statuses = [api.get("/system/info").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = api.get("/system/info")
    assert refused.json()["code"] == "TooManyRequests" and int(refused.headers["Retry-After"]) >= 1
    emulator.set_knobs(limits=False)
    assert api.get("/system/info").status_code == 200


def test_no_rate_limit_is_enforced_by_default_because_connectwise_publishes_none():
    emulator = ConnectWiseEmulator()
    api = client(emulator)
    assert {api.get("/system/info").status_code for _ in range(50)} == {200}


def test_rate_limit_spec_parsing():
    assert parse_rate_limit("600/60") == (600, 60.0)
    assert parse_rate_limit("") is None
    with pytest.raises(ValueError):
        parse_rate_limit("fast")


def test_injected_faults_are_counted_and_return_connectwise_bodies(emulator):
    emulator.set_knobs(faults={"503": 1.0})
    response = client(emulator).get("/company/companies")
    assert response.status_code == 503 and response.json()["code"] == "ServiceUnavailable"
    assert emulator.counters()["faults"] == {"503": 1}
    emulator.set_knobs(faults={})
    client(emulator).get("/company/companies")
    assert emulator.counters()["calls"]["GET company/companies list"] == 2


def test_demo_seed_has_related_records_lookups_and_members():
    emulator = ConnectWiseEmulator.demo(seed_size=10)
    assert emulator.count("companies") == 10 and emulator.count("contacts") == 10
    assert emulator.count("opportunities") == 5 and emulator.count("members") >= 5
    contact = emulator.records("contacts")[0]
    assert contact["company"]["id"] and {i["communicationType"] for i in contact["communicationItems"]} == {"Email", "Phone"}
    opportunity = emulator.records("opportunities")[0]
    assert opportunity["stage"]["name"] and opportunity["status"]["name"] and opportunity["primarySalesRep"]["id"]


def test_control_endpoint_edits_a_record_like_a_user():
    emulator = ConnectWiseEmulator.demo(seed_size=2)
    raw = httpx.Client(transport=emulator.transport(), base_url=BASE)
    edited = raw.post("/_emulator/records/contacts/1", json={"email": "changed@demo.example"}).json()
    assert any(i["value"] == "changed@demo.example" for i in edited["communicationItems"])
    assert len(raw.get("/_emulator/records/companies").json()) == 2


@pytest.mark.slow
def test_management_command_serves_the_emulator_with_the_given_credentials(tmp_path):
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "emulator",
            "connectwise",
            "--port",
            "0",
            "--company",
            "acme",
            "--public-key",
            "pub",
            "--private-key",
            "priv",
            "--client-id",
            "cid",
            "--seed-size",
            "3",
        ],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        line = process.stdout.readline()
        deadline = time.time() + 30
        while "ready at" not in line and time.time() < deadline:
            line = process.stdout.readline()
        base = line.strip().rsplit(" ", 1)[-1]
        auth = "Basic " + base64.b64encode(b"acme+pub:priv").decode()
        response = httpx.get(base + API_PATH + "/company/companies/count", headers={"Authorization": auth, "clientId": "cid"})
        assert response.json() == {"count": 3}
        assert httpx.get(base + API_PATH + "/system/info", headers={"Authorization": auth}).status_code == 401
    finally:
        process.terminate()
        process.wait(10)


def _at(text: str):
    from connectors.emulation import parse_iso

    return parse_iso(text)


# --- custom fields created through the API (write_back_ids) -------------------------------------------
def test_a_custom_field_posted_to_a_screen_is_listed_on_its_records(emulator):
    with client(emulator) as http:
        response = http.post(
            "system/userDefinedFields",
            json={"podId": 2, "caption": "SyncSmart HubSpot ID", "sequenceNumber": 7, "fieldTypeIdentifier": "Text"},
        )
        assert response.status_code == 201, response.text
        udf = response.json()
        assert (udf["screenId"], udf["entryTypeIdentifier"]) == ("Contact", "EntryField")
        contact = http.get("company/contacts", params={"pageSize": 1}).json()[0]
        assert {"id": udf["id"], "value": None} in [{"id": c["id"], "value": c["value"]} for c in contact["customFields"]]
        patched = http.patch(
            f"company/contacts/{contact['id']}",
            json=[{"op": "replace", "path": "customFields", "value": [{"id": udf["id"], "value": "1001"}]}],
        )
        assert {c["caption"]: c["value"] for c in patched.json()["customFields"]}["SyncSmart HubSpot ID"] == "1001"


def test_a_custom_field_without_caption_or_with_a_used_sequence_number_is_refused(emulator):
    with client(emulator) as http:
        missing = http.post("system/userDefinedFields", json={"podId": 2, "sequenceNumber": 5, "fieldTypeIdentifier": "Text"})
        assert missing.status_code == 400 and missing.json()["errors"][0]["field"] == "caption"
        taken = http.post(
            "system/userDefinedFields",
            json={"podId": 2, "caption": "Again", "sequenceNumber": 1, "fieldTypeIdentifier": "Text"},  # Newsletter Opt-in's
        )
        assert taken.status_code == 400 and taken.json()["errors"][0]["field"] == "sequenceNumber"
        assert http.post("system/userDefinedFields", json=[1]).status_code == 400
