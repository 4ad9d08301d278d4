"""Every HubSpot response shape SyncSmart uses, from the emulator, validates against the JSON
schema written from HubSpot's published reference (tests/connectors/hubspot_schemas.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from connectors.hubspot.emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TOKEN, HubSpotEmulator
from tests.connectors import hubspot_schemas as schemas


@pytest.fixture(scope="module")
def world() -> dict[str, Any]:
    emulator = HubSpotEmulator(limits=False)
    emulator.add_owner("person@example.com", "Pat", "Person")
    emulator.add_owner("queue@example.com", "Help", "Desk", queue=True)
    company = emulator.create_record("companies", {"name": "Schema Co", "domain": "schema.example.com"})
    contacts = [
        emulator.create_record(
            "contacts", {"email": f"schema{n}@example.com", "firstname": f"S{n}"}, associations={"companies": [company]}
        )
        for n in range(3)
    ]
    http = httpx.Client(
        transport=emulator.transport(), base_url="http://hubspot.invalid", headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    )
    vip = emulator.lists.create_list("Schema VIP", "contacts", "MANUAL")
    emulator.lists.add_members(vip, contacts[:2])
    return {"emulator": emulator, "http": http, "company": str(company), "contacts": [str(c) for c in contacts], "list": vip}


def oauth_tokens(world) -> httpx.Response:
    code = world["emulator"].authorize_code("https://syncsmart.example/cb")
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": "https://syncsmart.example/cb",
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
    }
    return world["http"].post("/oauth/v1/token", data=form)


def token_info(world, kind: str) -> httpx.Response:
    tokens = oauth_tokens(world).json()
    token = tokens["access_token"] if kind == "access" else tokens["refresh_token"]
    return world["http"].get(f"/oauth/v1/{kind}-tokens/{token}")


def rate_limited(world) -> httpx.Response:
    emulator = HubSpotEmulator(per_10s=1)
    http = httpx.Client(
        transport=emulator.transport(), base_url="http://h.invalid", headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    )
    http.get("/crm/v3/objects/contacts")
    return http.get("/crm/v3/objects/contacts")


CASES: list[tuple[str, Callable[[dict], httpx.Response], int, dict]] = [
    ("get a record", lambda w: w["http"].get(f"/crm/v3/objects/contacts/{w['contacts'][0]}"), 200, schemas.RECORD),
    ("list a page", lambda w: w["http"].get("/crm/v3/objects/contacts", params={"limit": 2}), 200, schemas.RECORD_PAGE),
    (
        "create a record",
        lambda w: w["http"].post("/crm/v3/objects/contacts", json={"properties": {"email": "new.schema@example.com"}}),
        201,
        schemas.RECORD,
    ),
    (
        "update a record",
        lambda w: w["http"].patch(f"/crm/v3/objects/contacts/{w['contacts'][1]}", json={"properties": {"lastname": "L"}}),
        200,
        schemas.RECORD,
    ),
    (
        "search",
        lambda w: w["http"].post(
            "/crm/v3/objects/contacts/search",
            json={"filterGroups": [{"filters": [{"propertyName": "hs_object_id", "operator": "GT", "value": "0"}]}], "limit": 1},
        ),
        200,
        schemas.SEARCH_PAGE,
    ),
    (
        "batch read",
        lambda w: w["http"].post(
            "/crm/v3/objects/contacts/batch/read", json={"inputs": [{"id": i} for i in w["contacts"]], "properties": ["email"]}
        ),
        200,
        schemas.batch_response(schemas.RECORD),
    ),
    (
        "batch read with a missing id",
        lambda w: w["http"].post(
            "/crm/v3/objects/contacts/batch/read", json={"inputs": [{"id": "999999"}], "properties": ["email"]}
        ),
        207,
        schemas.batch_response(schemas.RECORD, with_errors=True),
    ),
    (
        "batch create",
        lambda w: w["http"].post(
            "/crm/v3/objects/contacts/batch/create", json={"inputs": [{"properties": {"email": "batch.schema@example.com"}}]}
        ),
        201,
        schemas.batch_response(schemas.RECORD),
    ),
    (
        "batch update with a bad input",
        lambda w: w["http"].post(
            "/crm/v3/objects/contacts/batch/update",
            json={
                "inputs": [
                    {"id": w["contacts"][0], "properties": {"firstname": "B"}},
                    {"id": w["contacts"][1], "properties": {"nope": "x"}},
                ]
            },
        ),
        207,
        schemas.batch_response(schemas.RECORD, with_errors=True),
    ),
    (
        "batch upsert by e-mail",
        lambda w: w["http"].post(
            "/crm/v3/objects/contacts/batch/upsert",
            json={"inputs": [{"id": "upsert.schema@example.com", "idProperty": "email", "properties": {"firstname": "U"}}]},
        ),
        200,
        schemas.batch_response(schemas.UPSERTED_RECORD),
    ),
    ("properties", lambda w: w["http"].get("/crm/v3/properties/contacts"), 200, schemas.PROPERTY_PAGE),
    ("one property", lambda w: w["http"].get("/crm/v3/properties/contacts/lifecyclestage"), 200, schemas.PROPERTY),
    (
        "create a property",
        lambda w: w["http"].post(
            "/crm/v3/properties/contacts",
            json={
                "name": "schema_flag",
                "label": "Flag",
                "type": "bool",
                "fieldType": "booleancheckbox",
                "groupName": "contactinformation",
            },
        ),
        201,
        schemas.PROPERTY,
    ),
    ("owners", lambda w: w["http"].get("/crm/v3/owners"), 200, schemas.OWNER_PAGE),
    ("one owner", lambda w: w["http"].get(f"/crm/v3/owners/{next(iter(w['emulator'].owners))}"), 200, schemas.OWNER),
    ("pipelines", lambda w: w["http"].get("/crm/v3/pipelines/deals"), 200, schemas.PIPELINE_PAGE),
    (
        "associations of one record",
        lambda w: w["http"].get(f"/crm/v4/objects/contacts/{w['contacts'][0]}/associations/companies", params={"limit": 1}),
        200,
        schemas.ASSOCIATION_PAGE,
    ),
    (
        "associate by default",
        lambda w: w["http"].put(f"/crm/v4/objects/contacts/{w['contacts'][2]}/associations/default/companies/{w['company']}"),
        200,
        schemas.batch_response(schemas.DEFAULT_ASSOCIATION),
    ),
    (
        "batch read associations",
        lambda w: w["http"].post(
            "/crm/v4/associations/contacts/companies/batch/read", json={"inputs": [{"id": i} for i in w["contacts"]]}
        ),
        200,
        schemas.batch_response(schemas.ASSOCIATIONS_OF_ONE),
    ),
    (
        "batch associate by default",
        lambda w: w["http"].post(
            "/crm/v4/associations/contacts/companies/batch/associate/default",
            json={"inputs": [{"from": {"id": w["contacts"][0]}, "to": {"id": w["company"]}}]},
        ),
        200,
        schemas.batch_response(schemas.DEFAULT_ASSOCIATION),
    ),
    (
        "batch create notes with their associations",
        lambda w: w["http"].post(
            "/crm/v3/objects/notes/batch/create",
            json={
                "inputs": [
                    {
                        "properties": {"hs_timestamp": "2024-05-01T10:00:00Z", "hs_note_body": "Schema note"},
                        "associations": [
                            {
                                "to": {"id": w["contacts"][0]},
                                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 202}],
                            }
                        ],
                    }
                ]
            },
        ),
        201,
        schemas.batch_response(schemas.RECORD),
    ),
    ("list calls", lambda w: w["http"].get("/crm/v3/objects/calls", params={"limit": 1}), 200, schemas.RECORD_PAGE),
    (
        "batch read a contact's notes",
        lambda w: w["http"].post("/crm/v4/associations/contacts/notes/batch/read", json={"inputs": [{"id": w["contacts"][0]}]}),
        200,
        schemas.batch_response(schemas.ASSOCIATIONS_OF_ONE),
    ),
    ("account details", lambda w: w["http"].get("/account-info/v3/details"), 200, schemas.ACCOUNT_DETAILS),
    ("list by id", lambda w: w["http"].get(f"/crm/v3/lists/{w['list']}"), 200, schemas.LIST_ANSWER),
    ("list by name", lambda w: w["http"].get("/crm/v3/lists/object-type-id/0-1/name/Schema VIP"), 200, schemas.LIST_ANSWER),
    ("lists search", lambda w: w["http"].post("/crm/v3/lists/search", json={"query": "schema"}), 200, schemas.LIST_SEARCH),
    (
        "list memberships",
        lambda w: w["http"].get(f"/crm/v3/lists/{w['list']}/memberships", params={"limit": 1}),
        200,
        schemas.MEMBERSHIP_PAGE,
    ),
    (
        "list memberships add",
        lambda w: w["http"].put(f"/crm/v3/lists/{w['list']}/memberships/add", json=[w["contacts"][2], "999999"]),
        200,
        schemas.MEMBERSHIP_CHANGE,
    ),
    (
        "a record's lists",
        lambda w: w["http"].get(f"/crm/v3/lists/records/0-1/{w['contacts'][0]}/memberships"),
        200,
        schemas.RECORD_LISTS,
    ),
    ("unknown list", lambda w: w["http"].get("/crm/v3/lists/987654"), 404, schemas.ERROR),
    ("oauth tokens", oauth_tokens, 200, schemas.TOKENS),
    ("access token info", lambda w: token_info(w, "access"), 200, schemas.ACCESS_TOKEN_INFO),
    ("refresh token info", lambda w: token_info(w, "refresh"), 200, schemas.REFRESH_TOKEN_INFO),
    (
        "oauth error",
        lambda w: w["http"].post(
            "/oauth/v1/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": "x",
                "client_id": DEFAULT_CLIENT_ID,
                "client_secret": DEFAULT_CLIENT_SECRET,
            },
        ),
        400,
        schemas.ERROR,
    ),
    ("not found", lambda w: w["http"].get("/crm/v3/objects/contacts/999999"), 404, schemas.ERROR),
    (
        "invalid option",
        lambda w: w["http"].post("/crm/v3/objects/contacts", json={"properties": {"lifecyclestage": "x"}}),
        400,
        schemas.ERROR,
    ),
    (
        "duplicate e-mail",
        lambda w: w["http"].post("/crm/v3/objects/contacts", json={"properties": {"email": "schema0@example.com"}}),
        409,
        schemas.ERROR,
    ),
    (
        "malformed JSON",
        lambda w: w["http"].post("/crm/v3/objects/contacts", content=b"{", headers={"Content-Type": "application/json"}),
        400,
        schemas.ERROR,
    ),
    ("limit=abc", lambda w: w["http"].get("/crm/v3/objects/contacts", params={"limit": "abc"}), 400, schemas.ERROR),
    (
        "no token",
        lambda w: httpx.Client(transport=w["emulator"].transport(), base_url="http://h.invalid").get("/crm/v3/objects/contacts"),
        401,
        schemas.ERROR,
    ),
    ("rate limited", rate_limited, 429, schemas.RATE_LIMIT_ERROR),
]


@pytest.mark.parametrize("name, call, status, schema", CASES, ids=[c[0] for c in CASES])
def test_response_validates_against_the_published_shape(world, name, call, status, schema):
    response = call(world)
    assert response.status_code == status, response.text
    errors = sorted(Draft202012Validator(schema).iter_errors(response.json()), key=str)
    assert not errors, [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]]


def test_the_schemas_can_fail():
    """A schema that accepted anything would prove nothing: a record without its id fails."""
    assert list(Draft202012Validator(schemas.RECORD).iter_errors({"properties": {}, "createdAt": "x", "updatedAt": "y"}))
    assert list(Draft202012Validator(schemas.OWNER).iter_errors({"id": "1", "type": "ROBOT"}))
    assert list(Draft202012Validator(schemas.HUBSPOT_LIST).iter_errors({"listId": "1", "name": "x", "processingType": "STATIC"}))
    assert list(Draft202012Validator(schemas.MEMBERSHIP_CHANGE).iter_errors({"recordIdsAdded": [], "recordIdsMissing": []}))
