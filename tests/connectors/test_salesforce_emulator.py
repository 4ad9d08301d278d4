"""The Salesforce emulator answers as Salesforce's REST API and OAuth endpoints are documented to."""

from __future__ import annotations

import datetime as dt
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.base import ConnectorError
from connectors.http import VendorHttp
from connectors.salesforce import oauth
from connectors.salesforce.emulator import (
    DEFAULT_CONSUMER_KEY,
    DEFAULT_CONSUMER_SECRET,
    DEFAULT_USERNAME,
    SalesforceEmulator,
    id18,
    normalize_id,
)

BASE = "https://org.salesforce.emulator.invalid"
V = "/services/data/v59.0"


@pytest.fixture
def emulator() -> SalesforceEmulator:
    return SalesforceEmulator(limits=False)


@pytest.fixture
def api(emulator):
    token = emulator.issue_session()["access_token"]
    with httpx.Client(base_url=BASE, transport=emulator.transport(), headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


def soql(api, text: str, all_rows: bool = False, **headers) -> httpx.Response:
    return api.get(f"{V}/{'queryAll' if all_rows else 'query'}", params={"q": text}, headers=headers)


def test_ids_are_18_characters_with_the_documented_case_suffix():
    assert id18("001000000000001") == "001000000000001AAA"
    assert id18("001A0000006Vm9r") == "001A0000006Vm9rIAC"  # Salesforce's published example
    assert normalize_id("001A0000006Vm9r") == "001A0000006Vm9rIAC"
    assert normalize_id("001A0000006Vm9rIAD") is None and normalize_id("nope") is None


def test_calls_without_a_valid_session_get_invalid_session_id(emulator):
    with httpx.Client(base_url=BASE, transport=emulator.transport()) as client:
        answer = client.get(f"{V}/limits", headers={"Authorization": "Bearer stale"})
    assert answer.status_code == 401
    assert answer.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_every_answer_counts_against_the_daily_limit_and_says_so(emulator, api):
    emulator.daily_limit = 3
    emulator.limits = True
    first = api.get(f"{V}/limits")
    assert first.headers["Sforce-Limit-Info"] == "api-usage=1/3"
    assert first.json()["DailyApiRequests"] == {"Max": 3, "Remaining": 3}
    api.get(f"{V}/sobjects")
    api.get(f"{V}/sobjects")
    refused = api.get(f"{V}/sobjects")
    assert refused.status_code == 403
    assert refused.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


def test_describe_lists_types_flags_and_picklist_values_with_labels(api):
    body = api.get(f"{V}/sobjects/Opportunity/describe").json()
    fields = {f["name"]: f for f in body["fields"]}
    stage = fields["StageName"]
    assert stage["type"] == "picklist" and stage["restrictedPicklist"] and not stage["nillable"]
    assert any(p["value"] == "Closed Won" and p["label"] == "Closed Won" for p in stage["picklistValues"])
    assert fields["AccountId"]["referenceTo"] == ["Account"] and fields["AccountId"]["relationshipName"] == "Account"
    assert not fields["IsWon"]["createable"] and not fields["IsWon"]["updateable"]
    assert body["keyPrefix"] == "006"


def test_create_get_patch_delete_one_record(api):
    created = api.post(f"{V}/sobjects/Account", json={"Name": "Acme", "Website": "https://acme.example.com"})
    assert created.status_code == 201 and created.json()["success"] is True
    record_id = created.json()["id"]
    got = api.get(f"{V}/sobjects/Account/{record_id}").json()
    assert got["attributes"]["type"] == "Account" and got["Name"] == "Acme" and got["SystemModstamp"].endswith("+0000")
    assert api.get(f"{V}/sobjects/Account/{record_id[:15]}", params={"fields": "Name"}).json()["Name"] == "Acme"
    assert api.patch(f"{V}/sobjects/Account/{record_id}", json={"Phone": "555"}).status_code == 204
    assert api.delete(f"{V}/sobjects/Account/{record_id}").status_code == 204
    gone = api.get(f"{V}/sobjects/Account/{record_id}")
    assert gone.status_code == 404 and gone.json()[0]["errorCode"] == "ENTITY_IS_DELETED"


def test_write_errors_name_the_code_and_fields(api):
    missing = api.post(f"{V}/sobjects/Lead", json={"LastName": "NoCompany"})
    assert missing.status_code == 400
    assert missing.json() == [
        {"message": "Required fields are missing: [Company]", "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["Company"]}
    ]
    stage = api.post(f"{V}/sobjects/Opportunity", json={"Name": "x", "StageName": "Dreaming", "CloseDate": "2027-01-01"})
    assert stage.json()[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    unknown = api.post(f"{V}/sobjects/Contact", json={"LastName": "x", "Nope__c": 1})
    assert unknown.json()[0]["errorCode"] == "INVALID_FIELD"
    locked = api.post(
        f"{V}/sobjects/Opportunity", json={"Name": "x", "StageName": "Prospecting", "CloseDate": "2027-01-01", "IsWon": True}
    )
    assert locked.json()[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    bad_ref = api.post(f"{V}/sobjects/Contact", json={"LastName": "x", "AccountId": "0035g0000000001AAA"})
    assert bad_ref.json()[0]["errorCode"] == "MALFORMED_ID"
    wrong_type = api.post(f"{V}/sobjects/Contact", json={"LastName": "x", "Email": {"a": 1}})
    assert wrong_type.status_code == 400 and wrong_type.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_stage_sets_probability_closed_and_won(api, emulator):
    record_id = api.post(
        f"{V}/sobjects/Opportunity", json={"Name": "Deal", "StageName": "Closed Won", "CloseDate": "2027-01-01"}
    ).json()["id"]
    row = emulator.record("Opportunity", record_id)
    assert (row["Probability"], row["IsClosed"], row["IsWon"]) == (100.0, True, True)


def test_query_pages_with_next_records_url_in_batches_of_2000(api, emulator):
    for n in range(2500):
        emulator.create_record("Lead", {"LastName": f"L{n}", "Company": "C"})
    first = soql(api, "SELECT Id, LastName FROM Lead ORDER BY LastName").json()
    assert first["totalSize"] == 2500 and not first["done"] and len(first["records"]) == 2000
    assert first["nextRecordsUrl"].startswith(f"{V}/query/01g")
    second = api.get(first["nextRecordsUrl"]).json()
    assert second["done"] and len(second["records"]) == 500 and "nextRecordsUrl" not in second
    small = soql(api, "SELECT Id FROM Lead", **{"Sforce-Query-Options": "batchSize=300"}).json()
    assert len(small["records"]) == 300
    assert api.get(f"{V}/query/01gdeadbeef-2000").json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_query_all_includes_deleted_records_and_query_does_not(api, emulator):
    keep = emulator.create_record("Contact", {"LastName": "Keep"})
    gone = emulator.create_record("Contact", {"LastName": "Gone"})
    emulator.delete_record("Contact", gone)
    assert {r["Id"] for r in soql(api, "SELECT Id FROM Contact").json()["records"]} == {keep}
    rows = soql(api, "SELECT Id, IsDeleted FROM Contact", all_rows=True).json()["records"]
    assert {(r["Id"], r["IsDeleted"]) for r in rows} == {(keep, False), (gone, True)}
    assert soql(api, "SELECT COUNT() FROM Contact").json() == {"totalSize": 1, "done": True, "records": []}


def test_query_errors_are_salesforce_errors(api):
    assert soql(api, "SELECT Id FROM Nope").json()[0]["errorCode"] == "INVALID_TYPE"
    assert soql(api, "SELECT Nope FROM Contact").json()[0]["errorCode"] == "INVALID_FIELD"
    assert soql(api, "SELECT Id FROM Contact WHERE").json()[0]["errorCode"] == "MALFORMED_QUERY"
    assert api.get(f"{V}/query").status_code == 400


def test_collections_create_partially_in_input_order(api):
    answer = api.post(
        f"{V}/composite/sobjects",
        json={
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Contact"}, "LastName": "A"},
                {"attributes": {"type": "Contact"}, "Email": "b@x.io"},
            ],
        },
    ).json()
    assert answer[0]["success"] and answer[0]["id"].startswith("003")
    assert answer[1] == {
        "id": None,
        "success": False,
        "errors": [
            {"statusCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: [LastName]", "fields": ["LastName"]}
        ],
    }


def test_collections_all_or_none_rolls_back_every_record(api, emulator):
    answer = api.post(
        f"{V}/composite/sobjects",
        json={
            "allOrNone": True,
            "records": [{"attributes": {"type": "Contact"}, "LastName": "A"}, {"attributes": {"type": "Contact"}}],
        },
    ).json()
    assert [r["success"] for r in answer] == [False, False]
    assert answer[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert emulator.count("Contact") == 0


def test_collections_refuse_more_than_200_records(api):
    records = [{"attributes": {"type": "Contact"}, "LastName": str(n)} for n in range(201)]
    answer = api.post(f"{V}/composite/sobjects", json={"records": records})
    assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_collections_update_retrieve_and_delete(api, emulator):
    a = emulator.create_record("Contact", {"LastName": "A"})
    updated = api.patch(
        f"{V}/composite/sobjects",
        json={
            "records": [
                {"attributes": {"type": "Contact"}, "id": a, "Title": "CEO"},
                {"attributes": {"type": "Contact"}, "id": "0035g00000000zzAAA", "Title": "x"},
            ]
        },
    ).json()
    assert updated[0]["success"] and updated[1]["errors"][0]["statusCode"] in ("INVALID_CROSS_REFERENCE_KEY", "MALFORMED_ID")
    got = api.get(f"{V}/composite/sobjects/Contact", params={"ids": f"{a},0035g0000000099AAA", "fields": "Id,Title"}).json()
    assert got[0]["Title"] == "CEO" and got[1] is None
    deleted = api.delete(f"{V}/composite/sobjects", params={"ids": a}).json()
    assert deleted == [{"id": a, "success": True, "errors": []}]


def test_duplicate_and_validation_rules_refuse_records(api):
    emulator = SalesforceEmulator(limits=False, duplicate_rules=("Contact",))
    emulator.add_validation_rule(
        "Contact",
        "Title_required_for_VPs",
        lambda row: (row.get("Department") == "Sales") and not row.get("Title"),
        "Sales contacts need a title",
        "Title",
    )
    first = emulator.create_record("Contact", {"LastName": "A", "Email": "dup@x.io"})
    token = emulator.issue_session()["access_token"]
    with httpx.Client(base_url=BASE, transport=emulator.transport(), headers={"Authorization": f"Bearer {token}"}) as client:
        answer = client.post(
            f"{V}/composite/sobjects",
            json={
                "records": [
                    {"attributes": {"type": "Contact"}, "LastName": "B", "Email": "DUP@x.io"},
                    {"attributes": {"type": "Contact"}, "LastName": "C", "Department": "Sales"},
                ]
            },
        ).json()
    duplicate = answer[0]["errors"][0]
    assert duplicate["statusCode"] == "DUPLICATES_DETECTED"
    assert duplicate["duplicateResult"]["matchResults"][0]["matchRecords"][0]["record"]["Id"] == first
    assert answer[1]["errors"][0] == {
        "statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "message": "Sales contacts need a title",
        "fields": ["Title"],
    }


def test_converted_lead_names_its_contact_and_refuses_updates(api, emulator):
    lead = emulator.create_record("Lead", {"LastName": "Q", "Company": "Harbor", "Email": "q@harbor.io"})
    made = emulator.convert_lead(lead)
    row = emulator.record("Lead", lead)
    assert row["IsConverted"] and row["ConvertedContactId"] == made["contact"] and row["Status"] == "Closed - Converted"
    assert emulator.record("Contact", made["contact"])["Email"] == "q@harbor.io"
    refused = api.patch(f"{V}/sobjects/Lead/{lead}", json={"Title": "x"})
    assert refused.json()[0]["errorCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"


def test_a_lead_converted_through_the_control_endpoint_shows_its_conversion_in_soql(api, emulator):
    lead = emulator.create_record("Lead", {"LastName": "Q", "Company": "Harbor", "Email": "q@harbor.io", "City": "Oslo"})
    made = api.post("/_emulator/convert-lead", json={"id": lead}).json()
    rows = soql(api, "SELECT Id, IsConverted, ConvertedContactId, ConvertedAccountId FROM Lead WHERE IsConverted = true").json()
    [row] = rows["records"]
    assert (row["IsConverted"], row["ConvertedContactId"], row["ConvertedAccountId"]) == (True, made["contact"], made["account"])
    contact = soql(api, f"SELECT MailingCity, AccountId FROM Contact WHERE Id = '{made['contact']}'").json()["records"][0]
    assert (contact["MailingCity"], contact["AccountId"]) == ("Oslo", made["account"])  # the standard lead field mapping
    again = api.post("/_emulator/convert-lead", json={"id": lead})
    assert again.status_code == 400 and again.json()[0]["errorCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"


def test_conversion_fields_are_read_only_to_api_clients(api, emulator):
    described = {f["name"]: f for f in api.get(f"{V}/sobjects/Lead/describe").json()["fields"]}
    for name in ("IsConverted", "ConvertedContactId", "ConvertedAccountId", "ConvertedDate"):
        assert not described[name]["createable"] and not described[name]["updateable"], name
    contact = emulator.create_record("Contact", {"LastName": "C"})
    refused = api.post(f"{V}/sobjects/Lead", json={"LastName": "L", "Company": "C", "ConvertedContactId": contact})
    assert refused.status_code == 400 and refused.json()[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_a_lead_converted_into_an_existing_contact_fills_only_its_empty_fields(emulator):
    person = emulator.create_record("Contact", {"LastName": "Ray", "Title": "CFO"})
    lead = emulator.create_record("Lead", {"LastName": "Ray", "Company": "F", "Title": "Buyer", "Phone": "555"})
    made = emulator.convert_lead(lead, contact_id=person)
    row = emulator.record("Contact", person)
    assert made["contact"] == person and (row["Title"], row["Phone"]) == ("CFO", "555")
    assert emulator.count("Contact") == 1


def test_get_updated_and_get_deleted_cover_whole_minutes(api, emulator):
    emulator.advance(-600)  # records made ten minutes ago
    kept = emulator.create_record("Account", {"Name": "Kept"})
    gone = emulator.create_record("Account", {"Name": "Gone"})
    emulator.delete_record("Account", gone)
    emulator.advance(600)
    start = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    end = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    updated = api.get(f"{V}/sobjects/Account/updated/", params={"start": start, "end": end}).json()
    assert updated["ids"] == [kept] and updated["latestDateCovered"].endswith(":00.000+0000")
    deleted = api.get(f"{V}/sobjects/Account/deleted/", params={"start": start, "end": end}).json()
    assert [d["id"] for d in deleted["deletedRecords"]] == [gone]
    too_old = api.get(f"{V}/sobjects/Account/updated/", params={"start": "2020-01-01T00:00:00Z", "end": end})
    assert too_old.json()[0]["errorCode"] == "INVALID_REPLICATION_DATE"


# --- OAuth -------------------------------------------------------------------------------------------------
def token_http(emulator) -> VendorHttp:
    return VendorHttp(BASE, system="Salesforce login", error_parser=oauth.token_error, transport=emulator.transport())


def test_web_server_flow_consent_code_token_and_refresh(emulator):
    redirect = "https://app.example.com/oauth/salesforce/callback"
    url = oauth.authorize_url(BASE, DEFAULT_CONSUMER_KEY, redirect, state="s1")
    with httpx.Client(transport=emulator.transport()) as browser:
        page = browser.get(url)
        assert page.status_code == 200 and "Allow Access?" in page.text
        form = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()} | {"decision": "allow"}
        approved = browser.post(f"{BASE}/services/oauth2/authorize", data=form)
    assert approved.status_code == 302
    query = parse_qs(urlsplit(approved.headers["Location"]).query)
    assert query["state"] == ["s1"]
    http = token_http(emulator)
    session = oauth.exchange_code(http, query["code"][0], redirect, DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET)
    assert session.instance_url == BASE and session.refresh_token and session.identity.startswith(f"{BASE}/id/00D")
    with pytest.raises(ConnectorError) as reused:
        oauth.exchange_code(http, query["code"][0], redirect, DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET)
    assert reused.value.vendor_code == "invalid_grant"
    fresh = oauth.refresh(http, session.refresh_token, DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET)
    assert fresh.access_token != session.access_token and fresh.refresh_token == session.refresh_token
    emulator.revoke_refresh_tokens()
    with pytest.raises(ConnectorError) as revoked:
        oauth.refresh(http, session.refresh_token, DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET)
    assert revoked.value.vendor_code == "invalid_grant" and "reconnect" in revoked.value.message.lower()


def test_authorize_refuses_unknown_apps_and_unregistered_callbacks(emulator):
    emulator.set_callback_urls("https://app.example.com/cb")
    with httpx.Client(transport=emulator.transport()) as browser:
        assert "invalid_client_id" in browser.get(oauth.authorize_url(BASE, "nope", "https://app.example.com/cb")).text
        assert (
            "redirect_uri_mismatch"
            in browser.get(oauth.authorize_url(BASE, DEFAULT_CONSUMER_KEY, "https://evil.example/cb")).text
        )
    with pytest.raises(ConnectorError) as caught:
        oauth.exchange_code(token_http(emulator), "whatever", "https://app.example.com/cb", DEFAULT_CONSUMER_KEY, "wrong")
    assert caught.value.vendor_code == "invalid_client"


def _rsa_pair() -> tuple[str, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


@pytest.mark.parametrize("sandbox", [False, True])
def test_jwt_bearer_flow_checks_signature_and_the_login_or_test_audience(sandbox):
    emulator = SalesforceEmulator(limits=False, sandbox=sandbox)
    private, public = _rsa_pair()
    emulator.register_jwt_certificate(public)
    http = token_http(emulator)
    right = "https://test.salesforce.com" if sandbox else "https://login.salesforce.com"
    wrong = "https://login.salesforce.com" if sandbox else "https://test.salesforce.com"
    session = oauth.jwt_bearer(http, DEFAULT_CONSUMER_KEY, DEFAULT_USERNAME, private, right)
    assert session.access_token and not session.refresh_token
    with pytest.raises(ConnectorError) as audience:
        oauth.jwt_bearer(http, DEFAULT_CONSUMER_KEY, DEFAULT_USERNAME, private, wrong)
    assert "audience" in audience.value.message
    other_private, _ = _rsa_pair()
    with pytest.raises(ConnectorError) as forged:
        oauth.jwt_bearer(http, DEFAULT_CONSUMER_KEY, DEFAULT_USERNAME, other_private, right)
    assert forged.value.vendor_code == "invalid_grant"
    with pytest.raises(ConnectorError) as nobody:
        oauth.jwt_bearer(http, DEFAULT_CONSUMER_KEY, "nobody@example.com", private, right)
    assert nobody.value.vendor_code == "invalid_grant"


def test_sessions_time_out_after_inactivity(emulator):
    emulator.session_seconds = 0.05
    token = emulator.issue_session()["access_token"]
    time.sleep(0.1)
    with httpx.Client(base_url=BASE, transport=emulator.transport()) as client:
        assert client.get(f"{V}/limits", headers={"Authorization": f"Bearer {token}"}).status_code == 401


# --- hostile input --------------------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=st.text(max_size=120))
def test_any_query_text_is_answered_200_or_400(api, text):
    assert soql(api, text).status_code in (200, 400)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    body=st.binary(max_size=200),
    path=st.sampled_from(["/composite/sobjects", "/sobjects/Contact", "/composite/sobjects/Contact"]),
)
def test_any_request_body_is_answered_without_a_server_error(api, body, path):
    for method in ("POST", "PATCH"):
        answer = api.request(method, V + path, content=body, headers={"Content-Type": "application/json"})
        assert answer.status_code < 500


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(form=st.binary(max_size=200))
def test_any_token_request_is_answered_400_not_500(emulator, form):
    with httpx.Client(base_url=BASE, transport=emulator.transport()) as client:
        assert client.post("/services/oauth2/token", content=form).status_code == 400


def test_a_modstamp_bounded_query_answers_the_same_as_a_full_scan(api, emulator):
    emulator.advance(-100)
    old = emulator.create_record("Contact", {"LastName": "Old"})
    emulator.advance(50)
    edited = emulator.create_record("Contact", {"LastName": "Edited"})
    emulator.advance(50)
    emulator.edit_record("Contact", edited, {"Title": "now"})
    new = emulator.create_record("Contact", {"LastName": "New"})
    gone = emulator.create_record("Contact", {"LastName": "Gone"})
    emulator.delete_record("Contact", gone)
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    bounded = soql(api, f"SELECT Id FROM Contact WHERE SystemModstamp > {since} ORDER BY SystemModstamp, Id", all_rows=True)
    assert {r["Id"] for r in bounded.json()["records"]} == {edited, new, gone}
    scan = soql(api, "SELECT Id, SystemModstamp FROM Contact ORDER BY SystemModstamp, Id", all_rows=True).json()["records"]
    assert [r["Id"] for r in scan][-3:] == [r["Id"] for r in bounded.json()["records"]] and scan[0]["Id"] == old


def test_tasks_keep_their_subtype_status_and_closed_flag(api, emulator):
    contact = emulator.create_record("Contact", {"LastName": "C"})
    made = api.post(f"{V}/sobjects/Task", json={"Subject": "Rang", "TaskSubtype": "Call", "WhoId": contact}).json()
    row = emulator.record("Task", made["id"])
    assert (row["TaskSubtype"], row["Status"], row["Priority"], row["IsClosed"]) == ("Call", "Not Started", "Normal", False)
    assert api.patch(f"{V}/sobjects/Task/{made['id']}", json={"Status": "Completed"}).status_code == 204
    assert emulator.record("Task", made["id"])["IsClosed"] is True
    refused = api.patch(f"{V}/sobjects/Task/{made['id']}", json={"TaskSubtype": "Email"})
    assert refused.json()[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"  # set on insert only
    plain = api.post(f"{V}/sobjects/Task", json={"Subject": "Todo"}).json()
    assert emulator.record("Task", plain["id"])["TaskSubtype"] == "Task"
    calls = soql(api, "SELECT Id FROM Task WHERE TaskSubtype = 'Call'").json()["records"]
    assert [r["Id"] for r in calls] == [made["id"]]


def test_events_need_a_start_and_an_end_or_a_duration_and_derive_the_other(api, emulator):
    start = "2026-03-02T10:00:00.000+0000"
    no_end = api.post(f"{V}/sobjects/Event", json={"Subject": "Demo", "StartDateTime": start})
    assert no_end.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING" and no_end.json()[0]["fields"] == ["DurationInMinutes"]
    made = api.post(f"{V}/sobjects/Event", json={"Subject": "Demo", "StartDateTime": start, "DurationInMinutes": 30}).json()
    row = emulator.record("Event", made["id"])
    assert row["EndDateTime"].isoformat().startswith("2026-03-02T10:30") and row["ActivityDate"].isoformat() == "2026-03-02"
    api.patch(f"{V}/sobjects/Event/{made['id']}", json={"EndDateTime": "2026-03-02T12:00:00.000+0000"})
    assert emulator.record("Event", made["id"])["DurationInMinutes"] == 120
    too_long = api.post(f"{V}/sobjects/Event", json={"StartDateTime": start, "DurationInMinutes": 15 * 24 * 60})
    assert too_long.json()[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"


def test_an_activity_of_a_lead_cannot_also_be_related_to_an_account(api, emulator):
    lead = emulator.create_record("Lead", {"LastName": "L", "Company": "C"})
    account = emulator.create_record("Account", {"Name": "A"})
    refused = api.post(f"{V}/sobjects/Task", json={"Subject": "x", "WhoId": lead, "WhatId": account})
    assert refused.status_code == 400 and refused.json()[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert api.post(f"{V}/sobjects/Task", json={"Subject": "x", "WhoId": lead}).status_code == 201


def test_an_activity_names_a_contact_or_lead_in_who_and_an_account_or_opportunity_in_what_and_derives_its_account(api, emulator):
    account = emulator.create_record("Account", {"Name": "A"})
    person = emulator.create_record("Contact", {"LastName": "P", "AccountId": account})
    deal = emulator.create_record(
        "Opportunity", {"Name": "O", "StageName": "Prospecting", "CloseDate": "2026-06-30"} | {"AccountId": account}
    )
    wrong_what = api.post(f"{V}/sobjects/Task", json={"Subject": "x", "WhoId": person, "WhatId": person})
    wrong_who = api.post(f"{V}/sobjects/Event", json={"Subject": "x", "WhoId": account, "StartDateTime": "2026-03-02T10:00:00Z"})
    assert wrong_what.status_code == 400 and wrong_what.json()[0]["fields"] == ["WhatId"]
    assert wrong_who.status_code == 400 and wrong_who.json()[0]["fields"] == ["WhoId"]
    on_deal = api.post(f"{V}/sobjects/Task", json={"Subject": "x", "WhoId": person, "WhatId": deal}).json()["id"]
    on_person = api.post(f"{V}/sobjects/Task", json={"Subject": "y", "WhoId": person}).json()["id"]
    assert emulator.record("Task", on_deal)["AccountId"] == account  # the opportunity's account
    assert emulator.record("Task", on_person)["AccountId"] == account  # else the contact's
    read_only = api.patch(f"{V}/sobjects/Task/{on_person}", json={"AccountId": account})
    assert read_only.status_code == 400 and read_only.json()[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
