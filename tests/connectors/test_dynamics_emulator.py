"""The Dynamics emulator as Web API clients see it: metadata, option sets, queries, errors,
service protection limits, seed data and the management command."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from connectors.base import ErrorKind, FieldType, WriteInput
from connectors.dynamics.connector import DynamicsConnector
from connectors.dynamics.emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT, DynamicsEmulator
from connectors.http import default_retry

BASE = "http://dynamics.invalid"
ROOT = Path(__file__).resolve().parents[2]


def token_for(
    http: httpx.Client, base: str = BASE, client_id: str = DEFAULT_CLIENT_ID, secret: str = DEFAULT_CLIENT_SECRET
) -> str:
    response = http.post(
        f"{base}/{DEFAULT_TENANT}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret, "scope": f"{base}/.default"},
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


@pytest.fixture
def emulator() -> DynamicsEmulator:
    return DynamicsEmulator(limits=False)


@pytest.fixture
def api(emulator):
    http = httpx.Client(transport=emulator.transport(), base_url=BASE + "/api/data/v9.2")
    http.headers["Authorization"] = f"Bearer {token_for(http)}"
    yield http
    http.close()


def connector_for(emulator, **kwargs) -> DynamicsConnector:
    return DynamicsConnector(
        BASE,
        DEFAULT_TENANT,
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        token_url_base=BASE,
        transport=emulator.transport(),
        **kwargs,
    )


# --- metadata -------------------------------------------------------------------------------------------
def test_entity_definition_resolves_a_table_as_clients_use_it(api):
    body = api.get(
        "EntityDefinitions(LogicalName='account')",
        params={"$select": "LogicalName,EntitySetName,PrimaryIdAttribute", "$expand": "Attributes"},
    ).json()
    assert (body["EntitySetName"], body["PrimaryIdAttribute"], body["LogicalName"]) == ("accounts", "accountid", "account")
    by_name = {a["LogicalName"]: a for a in body["Attributes"]}
    assert by_name["name"]["@odata.type"] == "#Microsoft.Dynamics.CRM.StringAttributeMetadata"
    assert by_name["name"]["MaxLength"] == 160 and by_name["name"]["RequiredLevel"]["Value"] == "ApplicationRequired"
    assert by_name["primarycontactid"]["Targets"] == ["contact"]
    listed = api.get(
        "EntityDefinitions", params={"$filter": "LogicalName eq 'contact'", "$select": "LogicalName,EntitySetName"}
    ).json()
    assert [e["EntitySetName"] for e in listed["value"]] == ["contacts"]
    missing = api.get("EntityDefinitions(LogicalName='nosuchtable')")
    assert missing.status_code == 404 and set(missing.json()["error"]) == {"code", "message"}


def test_option_set_metadata_carries_values_and_localized_labels(api):
    body = api.get(
        "EntityDefinitions(LogicalName='lead')/Attributes(LogicalName='leadsourcecode')/"
        "Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
        params={"$select": "LogicalName", "$expand": "OptionSet($select=Options)"},
    ).json()
    trade_show = next(o for o in body["OptionSet"]["Options"] if o["Value"] == 7)
    labels = {label["LanguageCode"]: label["Label"] for label in trade_show["Label"]["LocalizedLabels"]}
    assert labels == {1033: "Trade Show", 1031: "Messe"}
    assert trade_show["Label"]["UserLocalizedLabel"]["Label"] == "Trade Show"
    status = api.get(
        "EntityDefinitions(LogicalName='lead')/Attributes/Microsoft.Dynamics.CRM.StatusAttributeMetadata",
        params={"$expand": "OptionSet"},
    ).json()["value"][0]
    assert {o["Value"]: o["State"] for o in status["OptionSet"]["Options"]}[3] == 1  # Qualified belongs to statecode 1


def test_connector_discovers_fields_as_the_engine_expects(emulator):
    connector = connector_for(emulator)
    try:
        contacts = {f.name: f for f in connector.discover_fields("contacts")}
        assert (
            contacts["parentcustomerid"].type == FieldType.REFERENCE and contacts["parentcustomerid"].reference_to == "accounts"
        )
        assert contacts["ownerid"].type == FieldType.OWNER and contacts["ownerid"].reference_to == "systemusers"
        assert contacts["emailaddress1"].type == FieldType.EMAIL and contacts["fullname"].read_only
        assert "contactid" not in contacts and contacts["lastname"].required
        status = contacts["statuscode"]
        assert status.type == FieldType.ENUM and {(o.value, o.label) for o in status.options} == {
            ("1", "Active"),
            ("2", "Inactive"),
        }
        accounts = {f.name: f for f in connector.discover_fields("accounts")}
        assert accounts["industrycode"].option_by_value("1").label == "Accounting"
        assert accounts["customertypecode"].option_by_value("3").label == "Customer"
        opportunities = {f.name: f for f in connector.discover_fields("opportunities")}
        assert (opportunities["parentaccountid"].reference_to, opportunities["parentcontactid"].reference_to) == (
            "accounts",
            "contacts",
        )
        assert opportunities["estimatedclosedate"].type == FieldType.DATE
        users = connector.object_type("systemusers")
        assert users.read_only and users.email_field == "internalemailaddress"
        assert all(f.read_only for f in connector.discover_fields("systemusers"))
        assert connector.object_type("accounts").match_fields == ("websiteurl", "name")
    finally:
        connector.close()


# --- queries ----------------------------------------------------------------------------------------------
def test_select_filter_orderby_top_count_and_paging(api, emulator):
    for n, city in enumerate(["Berlin", "Seattle", "berlin", "London", "Berlin"]):
        emulator.create_record("accounts", {"name": f"Acme {n}", "address1_city": city, "numberofemployees": n * 10})
    body = api.get(
        "accounts",
        params={
            "$select": "name,numberofemployees",
            "$filter": "address1_city eq 'BERLIN' and numberofemployees ge 20",
            "$orderby": "numberofemployees desc",
            "$count": "true",
        },
    ).json()
    assert [r["name"] for r in body["value"]] == ["Acme 4", "Acme 2"] and body["@odata.count"] == 2
    assert set(body["value"][0]) == {"@odata.etag", "name", "numberofemployees", "accountid"}
    assert [
        r["name"] for r in api.get("accounts", params={"$orderby": "name", "$top": "2", "$select": "name"}).json()["value"]
    ] == ["Acme 0", "Acme 1"]
    first = api.get("accounts", params={"$select": "name", "$orderby": "name"}, headers={"Prefer": "odata.maxpagesize=2"})
    assert first.headers["Preference-Applied"] == "odata.maxpagesize=2"
    names, page = [], first.json()
    while True:
        names += [r["name"] for r in page["value"]]
        if "@odata.nextLink" not in page:
            break
        page = api.get(page["@odata.nextLink"], headers={"Prefer": "odata.maxpagesize=2"}).json()
    assert names == [f"Acme {n}" for n in range(5)]


def test_lookup_values_annotations_and_expand(api, emulator):
    account = emulator.create_record("accounts", {"name": "Parent Co", "industrycode": 7})
    contact = emulator.create_record("contacts", {"lastname": "Child", "parentcustomerid": account})
    body = api.get(
        f"contacts({contact})",
        params={"$select": "lastname,_parentcustomerid_value", "$expand": "parentcustomerid_account($select=name,industrycode)"},
        headers={"Prefer": 'odata.include-annotations="*"'},
    ).json()
    assert body["_parentcustomerid_value"] == account
    assert body["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "account"
    assert body["parentcustomerid_account"]["name"] == "Parent Co"
    assert body["parentcustomerid_account"]["industrycode@OData.Community.Display.V1.FormattedValue"] == "Consulting"
    direct = api.patch(f"contacts({contact})", json={"_parentcustomerid_value": account})
    assert direct.status_code == 400 and "Navigation properties" in direct.json()["error"]["message"]


def test_customer_lookup_to_a_contact_is_not_reported_as_an_account(emulator, api):
    other = emulator.create_record("contacts", {"lastname": "Parent person"})
    child = emulator.create_record("contacts", {"lastname": "Child"})
    assert api.patch(f"contacts({child})", json={"parentcustomerid_contact@odata.bind": f"/contacts({other})"}).status_code == 204
    connector = connector_for(emulator)
    try:
        [record] = connector.read_by_ids("contacts", [child])
        assert record.properties["parentcustomerid"] is None
    finally:
        connector.close()


def test_find_by_domain_and_e_mail_in_one_call_each(emulator):
    emulator.create_record("accounts", {"name": "Acme", "websiteurl": "https://www.Acme.com/about"})
    emulator.create_record("accounts", {"name": "Not Acme", "websiteurl": "https://notacme.com"})
    for n in range(100):
        emulator.create_record("contacts", {"lastname": f"P{n}", "emailaddress1": f"p{n}@example.com"})
    connector = connector_for(emulator)
    try:
        connector.discover_fields("accounts"), connector.discover_fields("contacts")
        before = emulator.counters()["total"]
        by_domain = connector.find_by("accounts", "websiteurl", ["acme.com", "http://nobody.example"])
        assert [r.properties["name"] for r in by_domain["acme.com"]] == ["Acme"] and by_domain["nobody.example"] == []
        found = connector.find_by("contacts", "emailaddress1", [f"P{n}@EXAMPLE.com" for n in range(100)])
        assert all(len(found[f"p{n}@example.com"]) == 1 for n in range(100))
        assert emulator.counters()["total"] - before == 2
        with pytest.raises(Exception) as caught:
            connector.find_by("contacts", "lastname", ["x"])
        assert caught.value.kind == ErrorKind.CONFIG
    finally:
        connector.close()


# --- writes and errors -----------------------------------------------------------------------------------------
def test_create_answers_204_with_entity_id_or_201_with_representation(api):
    plain = api.post("accounts", json={"name": "Plain"})
    assert plain.status_code == 204 and re.search(r"/accounts\([0-9a-f-]{36}\)$", plain.headers["OData-EntityId"])
    rich = api.post("accounts", json={"name": "Rich"}, headers={"Prefer": "return=representation"})
    assert rich.status_code == 201 and rich.json()["name"] == "Rich" and rich.json()["statecode"] == 0


@pytest.mark.parametrize(
    "body, says",
    [
        ({"nosuch": 1}, "does not exist on type"),
        ({"name": "x" * 161}, "exceeded the maximum allowed length"),
        ({"name": "A", "industrycode": 999}, "outside the valid range"),
        ({"name": "A", "numberofemployees": "many"}, "Edm.Int32"),
        ({"name": "A", "primarycontactid@odata.bind": "/contacts(11111111-2222-3333-4444-555555555555)"}, "Does Not Exist"),
    ],
)
def test_validation_errors_use_the_dataverse_error_body(api, body, says):
    response = api.post("accounts", json=body)
    assert response.status_code in (400, 404)
    error = response.json()["error"]
    assert set(error) == {"code", "message"} and error["code"].startswith("0x") and says in error["message"]


def test_missing_or_bad_token_is_401_with_www_authenticate(emulator):
    http = httpx.Client(transport=emulator.transport(), base_url=BASE)
    for headers in ({}, {"Authorization": "Bearer forged"}):
        response = http.get("/api/data/v9.2/WhoAmI", headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")


def test_token_endpoint_speaks_azure_ad(emulator):
    http = httpx.Client(transport=emulator.transport(), base_url=BASE)
    wrong = http.post(
        f"/{DEFAULT_TENANT}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": "bad",
            "scope": f"{BASE}/.default",
        },
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert wrong.json()["error_codes"] == [7000215] and wrong.json()["error_description"].startswith("AADSTS7000215:")
    grant = http.post(f"/{DEFAULT_TENANT}/oauth2/v2.0/token", data={"grant_type": "password", "client_id": DEFAULT_CLIENT_ID})
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
    ok = http.post(
        f"/{DEFAULT_TENANT}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
            "scope": f"{BASE}/.default",
        },
    )
    assert ok.json()["token_type"] == "Bearer" and ok.json()["expires_in"] == 3599


def test_who_am_i_names_the_application_user(api, emulator):
    body = api.get("WhoAmI").json()
    assert body["UserId"] == emulator.app_user_ids[DEFAULT_CLIENT_ID]
    assert body["OrganizationId"] == emulator.organization_id and body["BusinessUnitId"]


# --- service protection limits ---------------------------------------------------------------------------------
def test_request_limit_answers_429_with_retry_after_and_dataverse_code():
    emulator = DynamicsEmulator(requests_per_window=3, window_seconds=300)
    http = httpx.Client(transport=emulator.transport(), base_url=BASE)
    headers = {"Authorization": f"Bearer {token_for(http)}"}
    remaining = [
        http.get("/api/data/v9.2/WhoAmI", headers=headers).headers["x-ms-ratelimit-burst-remaining-xrm-requests"]
        for _ in range(3)
    ]
    assert remaining == ["2", "1", "0"]
    refused = http.get("/api/data/v9.2/WhoAmI", headers=headers)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert refused.json()["error"]["code"] == "0x80072322"
    assert (
        "6000" not in refused.json()["error"]["message"]
        and "over time window of 300 seconds" in refused.json()["error"]["message"]
    )
    assert "x-ms-ratelimit-time-remaining-xrm-requests" in refused.headers


def test_connector_reports_a_persistent_limit_as_retryable_with_retry_after():
    emulator = DynamicsEmulator(requests_per_window=2, window_seconds=300)
    connector = connector_for(emulator, retry=default_retry(total=0))
    try:
        with pytest.raises(Exception) as caught:
            for _ in range(3):
                connector.find_by("contacts", "emailaddress1", ["a@b.com"])
        assert caught.value.kind == ErrorKind.RATE_LIMITED and caught.value.retryable and caught.value.retry_after > 0
    finally:
        connector.close()


def test_concurrency_limit_refuses_requests_beyond_it():
    emulator = DynamicsEmulator(max_concurrent=2, latency_ms=(300, 300))
    token = token_for(httpx.Client(transport=emulator.transport(), base_url=BASE))
    start, codes, lock = threading.Barrier(6), [], threading.Lock()

    def call():
        with httpx.Client(transport=emulator.transport(), base_url=BASE) as http:
            start.wait()
            response = http.get("/api/data/v9.2/WhoAmI", headers={"Authorization": f"Bearer {token}"})
            with lock:
                codes.append((response.status_code, response.json().get("error", {}).get("code")))

    threads = [threading.Thread(target=call) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (429, "0x80072326") in codes
    assert any(status == 200 for status, _ in codes)


def test_injected_faults_use_the_error_shape_and_are_counted():
    emulator = DynamicsEmulator(limits=False)
    http = httpx.Client(transport=emulator.transport(), base_url=BASE)
    headers = {"Authorization": f"Bearer {token_for(http)}"}
    emulator.set_knobs(faults={"503": 1.0})
    response = http.get("/api/data/v9.2/WhoAmI", headers=headers)
    assert response.status_code == 503 and set(response.json()["error"]) == {"code", "message"}
    assert emulator.counters()["faults"] == {"503": 1}


# --- seed data and the command ------------------------------------------------------------------------------------
def test_seed_data_has_parents_owners_and_labelled_picklists():
    emulator = DynamicsEmulator(limits=False, seed_size=20)
    assert emulator.count("accounts") == 20 and emulator.count("contacts") == 20 and emulator.count("leads") == 20
    assert emulator.count("opportunities") == 10
    contacts = emulator.rows["contact"].values()
    assert all(c["parentcustomerid"][0] == "account" and c["parentcustomerid"][1] in emulator.rows["account"] for c in contacts)
    assert all(u.get("internalemailaddress") for u in emulator.rows["systemuser"].values())
    assert all(1 <= a["industrycode"] <= 33 and a["customertypecode"] in (3, 5, 8) for a in emulator.rows["account"].values())
    assert all(o["parentaccountid"] and o["parentcontactid"] for o in emulator.rows["opportunity"].values())
    assert DynamicsEmulator(limits=False, seed_size=20).count("contacts") == 20  # deterministic sizes


def test_direct_edits_bump_modifiedon_and_version(emulator):
    record_id = emulator.create_record("leads", {"lastname": "L", "subject": "S"})
    before = emulator.record("leads", record_id)
    emulator.edit_record("leads", record_id, {"subject": "New"})
    after = emulator.record("leads", record_id)
    assert after["modifiedon"] > before["modifiedon"] and after["versionnumber"] > before["versionnumber"]
    assert after["createdon"] == before["createdon"]


def test_control_endpoints_edit_records_over_http(emulator):
    http = httpx.Client(transport=emulator.transport(), base_url=BASE)
    created = http.post("/_emulator/records", json={"entity_set": "accounts", "properties": {"name": "Over HTTP"}})
    record_id = created.json()["id"]
    assert http.post(
        "/_emulator/edit", json={"entity_set": "accounts", "id": record_id, "properties": {"name": "Edited"}}
    ).json()["ok"]
    assert emulator.record("accounts", record_id)["name"] == "Edited"
    assert http.get("/_emulator/state").json()["counts"]["accounts"] == 1
    assert http.post("/_emulator/expire-tokens").json()["ok"]


@pytest.mark.slow
def test_manage_py_emulator_serves_the_app_it_was_given_over_https(tmp_path):
    ca_file = tmp_path / "ca.pem"
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "emulator",
            "dynamics",
            "--port",
            "0",
            "--seed-size",
            "4",
            "--client-id",
            "0a0b0c0d-0000-4000-8000-000000000001",
            "--client-secret",
            "cli-secret",
            "--tls",
            "--ca-file",
            str(ca_file),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = process.stdout.readline()
        match = re.search(r"(https://127\.0\.0\.1:\d+)", line)
        assert match, line + (process.stderr.read() if process.poll() is not None else "")
        base = match.group(1)
        good = DynamicsConnector(
            base, DEFAULT_TENANT, "0a0b0c0d-0000-4000-8000-000000000001", "cli-secret", token_url_base=base, verify=str(ca_file)
        )
        default_app = DynamicsConnector(
            base, DEFAULT_TENANT, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, token_url_base=base, verify=str(ca_file)
        )
        try:
            assert good.test_connection().ok
            page = good.read_changes("accounts", None, 100)
            assert len(page.records) == 4 and not page.has_more
            created = good.create("accounts", [WriteInput({"name": "From the CLI test"})])
            assert created[0].ok
            refused = default_app.test_connection()
            assert not refused.ok and "Application (client) ID" in refused.message
        finally:
            good.close()
            default_app.close()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


def test_connection_settings_point_a_connector_at_the_emulator():
    emulator = DynamicsEmulator(limits=False, client_id="0a0b0c0d-0000-4000-8000-000000000009", client_secret="s")
    config, credentials = emulator.connection_settings(BASE)
    connector = DynamicsConnector(
        config["org_url"],
        config["tenant_id"],
        config["client_id"],
        credentials["client_secret"],
        token_url_base=config["token_url_base"],
        transport=emulator.transport(),
    )
    try:
        assert connector.test_connection().ok
    finally:
        connector.close()


@pytest.mark.parametrize(
    "params, headers",
    [
        ({"$top": "many"}, {}),
        ({}, {"Prefer": "odata.maxpagesize=lots"}),
        ({"$filter": "name eq"}, {}),
        ({"$orderby": "name sideways"}, {}),
        ({"$select": "nosuchcolumn"}, {}),
    ],
)
def test_malformed_queries_are_400_with_the_error_body(api, params, headers):
    response = api.get("accounts", params=params, headers=headers)
    assert response.status_code == 400 and set(response.json()["error"]) == {"code", "message"}


def test_malformed_json_body_is_400(api):
    response = api.post("accounts", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["message"]


# --- columns created through the metadata API (write_back_ids) ----------------------------------------
def string_column(schema: str, label: str = "HubSpot ID") -> dict:
    return {
        "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
        "SchemaName": schema,
        "MaxLength": 100,
        "DisplayName": {"LocalizedLabels": [{"Label": label, "LanguageCode": 1033}]},
    }


def test_a_string_column_posted_to_a_table_is_read_and_written_like_any_other(api, emulator):
    created = api.post("EntityDefinitions(LogicalName='contact')/Attributes", json=string_column("new_SyncSmartHubSpotId"))
    assert created.status_code == 204, created.text
    assert "/Attributes(" in created.headers["OData-EntityId"]
    column = api.get("EntityDefinitions(LogicalName='contact')/Attributes(LogicalName='new_syncsmarthubspotid')").json()
    assert (column["AttributeType"], column["MaxLength"]) == ("String", 100)
    made = api.post(
        "contacts", json={"lastname": "Ray", "new_syncsmarthubspotid": "1001"}, headers={"Prefer": "return=representation"}
    )
    assert made.status_code == 201 and made.json()["new_syncsmarthubspotid"] == "1001"
    assert DynamicsEmulator(limits=False).entities["contact"].attr("new_syncsmarthubspotid") is None  # per org


def test_a_column_without_the_publisher_prefix_or_twice_is_refused(api):
    assert api.post("EntityDefinitions(LogicalName='contact')/Attributes", json=string_column("hubspotid")).status_code == 400
    assert api.post("EntityDefinitions(LogicalName='contact')/Attributes", json=string_column("cr9_hubspotid")).status_code == 400
    assert api.post("EntityDefinitions(LogicalName='account')/Attributes", json=string_column("new_ref")).status_code == 204
    again = api.post("EntityDefinitions(LogicalName='account')/Attributes", json=string_column("new_ref"))
    assert again.status_code == 400 and "already exists" in again.json()["error"]["message"]
    assert api.post("EntityDefinitions(LogicalName='account')/Attributes", json={"SchemaName": "new_x"}).status_code == 400


def test_the_connector_makes_the_id_column_once(emulator):
    connector = connector_for(emulator, retry=default_retry())
    assert connector.ensure_id_field("contacts", "new_syncsmarthubspotid", "HubSpot") == "new_syncsmarthubspotid"
    assert connector.ensure_id_field("contacts", "new_syncsmarthubspotid", "HubSpot") == "new_syncsmarthubspotid"
    assert emulator.counters()["calls"].get("POST EntityDefinitions/Attributes create") == 1
    [result] = connector.create("contacts", [WriteInput({"lastname": "Ray", "new_syncsmarthubspotid": "77"}, ref="r")])
    assert result.ok
    assert emulator.record("contacts", result.id)["new_syncsmarthubspotid"] == "77"


# --- activity parties -----------------------------------------------------------------------------------
def test_an_email_is_created_with_its_parties_by_deep_insert_and_read_with_expand(emulator, api):
    ann = emulator.create_record("contacts", {"lastname": "Ann"})
    user = next(iter(emulator.rows["systemuser"]))
    created = api.post(
        "/emails",
        json={
            "subject": "Quote",
            "email_activity_parties": [
                {"partyid_systemuser@odata.bind": f"/systemusers({user})", "participationtypemask": 1},
                {"partyid_contact@odata.bind": f"/contacts({ann})", "participationtypemask": 2},
                {"addressused": "cc@elsewhere.example", "participationtypemask": 3},
            ],
        },
    )
    assert created.status_code == 204, created.text
    email = created.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")
    read = api.get(
        f"/emails({email})",
        params={"$select": "subject", "$expand": "email_activity_parties($select=participationtypemask,_partyid_value)"},
        headers={"Prefer": 'odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"'},
    ).json()
    got = sorted(
        (p["participationtypemask"], p.get("_partyid_value@Microsoft.Dynamics.CRM.lookuplogicalname"), p["_partyid_value"])
        for p in read["email_activity_parties"]
    )
    assert got == [(1, "systemuser", user), (2, "contact", ann), (3, None, None)]
    assert read["email_activity_parties"][0]["activitypartyid"]


@pytest.mark.parametrize(
    ("set_name", "party", "answer"),
    [
        ("emails", {"addressused": "a@b.example", "participationtypemask": 5}, "not valid for email"),  # an attendee role
        ("appointments", {"addressused": "a@b.example", "participationtypemask": 2}, "not valid for appointment"),
        ("phonecalls", {"participationtypemask": 2}, "needs a party"),
        (
            "emails",
            {"partyid_lead@odata.bind": "/leads(00000000-0000-0000-0000-000000000001)", "participationtypemask": 2},
            "partyid_lead",
        ),
    ],
)
def test_parties_the_activity_cannot_have_are_refused(emulator, api, set_name, party, answer):
    logical = {"emails": "email", "appointments": "appointment", "phonecalls": "phonecall"}[set_name]
    refused = api.post(f"/{set_name}", json={"subject": "x", f"{logical}_activity_parties": [party]})
    assert refused.status_code == 400 and answer in refused.json()["error"]["message"]
    assert api.post("/tasks", json={"subject": "x", "task_activity_parties": []}).status_code == 400  # tasks have none here


def test_a_patch_of_the_parties_replaces_them_whole(emulator, api):
    ann, bob = (emulator.create_record("contacts", {"lastname": n}) for n in ("Ann", "Bob"))
    call = emulator.create_record(
        "phonecalls",
        {
            "subject": "Call",
            "phonecall_activity_parties": [{"partyid_contact@odata.bind": f"/contacts({ann})", "participationtypemask": 2}],
        },
    )
    patched = api.patch(
        f"/phonecalls({call})",
        json={"phonecall_activity_parties": [{"partyid_contact@odata.bind": f"/contacts({bob})", "participationtypemask": 1}]},
    )
    assert patched.status_code == 204, patched.text
    assert [(p["participationtypemask"], p["partyid"]) for p in emulator.record("phonecalls", call)["_activity_parties"]] == [
        (1, ("contact", bob))
    ]
