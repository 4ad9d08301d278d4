"""Hostile input against every emulator: malformed paths, query parameters, headers and bodies
(random bytes, broken JSON, JSON of the wrong shape around the vendors' own vocabulary) are
answered with a 4xx in the vendor's error body, never a 5xx and never a crash.

The emulators run in-process (httpx.WSGITransport re-raises any exception a handler lets out, so
a crash fails the test just as a 500 does), authenticated, with limits and faults off."""

from __future__ import annotations

import json
import os
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.connectwise import API_PATH
from connectors.connectwise.emulator import DEMO_CLIENT_ID, DEMO_COMPANY, DEMO_PRIVATE_KEY, DEMO_PUBLIC_KEY, ConnectWiseEmulator
from connectors.dynamics.emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT, DynamicsEmulator
from connectors.hubspot.emulator import DEFAULT_TOKEN, HubSpotEmulator

EXAMPLES = int(os.environ.get("EMULATOR_FUZZ_EXAMPLES", "250"))  # raise it locally to search harder
METHODS = st.sampled_from(["GET", "POST", "PATCH", "PUT", "DELETE"])
TEXT = st.text(max_size=30)
ID_LIKE = st.one_of(
    st.integers(min_value=-5, max_value=10**30).map(str),
    st.sampled_from(["1001", "1", "0", "abc", "", "%00", "..", "00000000-0000-0000-0000-000000000000", "1e9"]),
    st.text(alphabet="abcdef0123456789-()'=$%", max_size=40),
)

HUBSPOT_PATHS = [
    "/crm/v3/objects/{obj}",
    "/crm/v3/objects/{obj}/{id}",
    "/crm/v3/objects/{obj}/search",
    "/crm/v3/objects/{obj}/batch/read",
    "/crm/v3/objects/{obj}/batch/create",
    "/crm/v3/objects/{obj}/batch/update",
    "/crm/v3/objects/{obj}/batch/upsert",
    "/crm/v3/objects/{obj}/batch/archive",
    "/crm/v3/properties/{obj}",
    "/crm/v3/properties/{obj}/{id}",
    "/crm/v3/owners",
    "/crm/v3/owners/{id}",
    "/crm/v3/pipelines/deals",
    "/crm/v4/objects/{obj}/{id}/associations/{obj2}",
    "/crm/v4/objects/{obj}/{id}/associations/default/{obj2}/{id}",
    "/crm/v4/associations/{obj}/{obj2}/batch/read",
    "/crm/v4/associations/{obj}/{obj2}/batch/associate/default",
    "/crm/v4/associations/{obj}/{obj2}/batch/archive",
    "/oauth/v1/token",
    "/oauth/v1/access-tokens/{id}",
    "/oauth/v1/refresh-tokens/{id}",
    "/oauth/authorize",
    "/account-info/v3/details",
    "/crm/v3/lists",
    "/crm/v3/lists/search",
    "/crm/v3/lists/{id}",
    "/crm/v3/lists/{id}/memberships",
    "/crm/v3/lists/{id}/memberships/add",
    "/crm/v3/lists/{id}/memberships/remove",
    "/crm/v3/lists/{id}/memberships/add-and-remove",
    "/crm/v3/lists/object-type-id/{id}/name/{id}",
    "/crm/v3/lists/records/{id}/{id}/memberships",
    "/_emulator/knobs",
    "/_emulator/records",
    "/_emulator/clock",
    "/{id}",
]
HUBSPOT_PARAMS = [
    "limit",
    "after",
    "listIds",
    "archived",
    "properties",
    "associations",
    "idProperty",
    "email",
    "client_id",
    "redirect_uri",
]
HUBSPOT_KEYS = [
    "properties",
    "inputs",
    "id",
    "idProperty",
    "filterGroups",
    "filters",
    "propertyName",
    "operator",
    "value",
    "values",
    "highValue",
    "sorts",
    "limit",
    "after",
    "query",
    "associations",
    "to",
    "from",
    "types",
    "associationTypeId",
    "name",
    "label",
    "type",
    "fieldType",
    "groupName",
    "options",
    "email",
    "hs_object_id",
    "lastmodifieddate",
    "amount",
    "objectTypeId",
    "processingType",
    "processingTypes",
    "filterBranch",
    "filterBranchType",
    "filterBranches",
    "listIds",
    "offset",
    "count",
    "recordIdsToAdd",
    "recordIdsToRemove",
]

CW_PATHS = [
    API_PATH + "/{res}",
    API_PATH + "/{res}/",
    API_PATH + "/{res}/{id}",
    API_PATH + "/{res}/{id}/",
    API_PATH + "/{res}/count",
    API_PATH + "/system/callbacks",
    API_PATH + "/system/userDefinedFields",
    API_PATH + "/system/callbacks/{id}",
    API_PATH + "/system/info",
    "/login/companyinfo/{id}",
    "/_emulator/records/{res}/{id}",
    API_PATH + "/{id}",
]
CW_RESOURCES = ["company/companies", "company/contacts", "sales/opportunities", "system/members", "sales/stages", "x/y"]
CW_PARAMS = ["conditions", "childConditions", "customFieldConditions", "orderBy", "fields", "page", "pageSize", "pageId"]
CW_KEYS = ["op", "path", "value", "name", "identifier", "company", "id", "firstName", "communicationItems", "type", "url"]
CW_KEYS += ["customFields", "status", "types", "contact", "stage", "level", "objectId"]
CW_KEYS += ["caption", "podId", "sequenceNumber", "fieldTypeIdentifier", "entryTypeIdentifier"]
CW_CONDITIONS = st.one_of(
    TEXT,
    st.sampled_from(
        ['name="x"', "id > 3 and (", "company/id in (1,2", "lastUpdated > [2020-01-01T00:00:00Z]", "a like *", "id="]
    ),
)

DYN_PATHS = [
    "/api/data/v9.2/{set}",
    "/api/data/v9.2/{set}({id})",
    "/api/data/v9.2/{set}/Microsoft.Dynamics.CRM.CreateMultiple",
    "/api/data/v9.2/{set}/Microsoft.Dynamics.CRM.UpdateMultiple",
    "/api/data/v9.2/{set}/Microsoft.Dynamics.CRM.UpsertMultiple",
    "/api/data/v9.2/$batch",
    "/api/data/v9.2/WhoAmI",
    "/api/data/v9.2/EntityDefinitions({id})",
    "/api/data/v9.2/EntityDefinitions(LogicalName='{set}')/Attributes",
    "/api/data/v9.2/serviceendpoints",
    "/" + DEFAULT_TENANT + "/oauth2/v2.0/token",
    "/api/data/v9.2/{id}",
]
DYN_SETS = ["accounts", "contacts", "leads", "opportunities", "systemusers", "nothings"]
DYN_PARAMS = ["$select", "$filter", "$orderby", "$top", "$expand", "$count", "$skiptoken", "$deltatoken"]
DYN_KEYS = ["Targets", "@odata.type", "name", "firstname", "emailaddress1", "statecode", "statuscode", "accountid"]
DYN_KEYS += ["contactid", "parentcustomerid_account@odata.bind", "revenue", "new_x", "creditlimit", "donotemail"]
DYN_KEYS += ["SchemaName", "MaxLength", "DisplayName", "LocalizedLabels", "Label"]
DYN_FILTERS = st.one_of(
    TEXT,
    st.sampled_from(["name eq 'x'", "revenue gt abc", "contains(name,", "modifiedon ge 2020-13-45T00:00:00Z", "(", "a eq"]),
)
PREFER = st.sampled_from(
    ["", "odata.maxpagesize=abc", "odata.maxpagesize=-1", "odata.maxpagesize=0", "odata.maxpagesize=2"]
    + ['odata.include-annotations="*"']
    + ["odata.track-changes", "return=representation", "odata.continue-on-error"]
)


def json_values(keys: list[str]) -> st.SearchStrategy[Any]:
    """JSON around the vendor's vocabulary: right keys with wrong shapes, at any depth."""
    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(min_value=-(10**20), max_value=10**20), st.floats(allow_nan=False), TEXT
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(st.one_of(st.sampled_from(keys), TEXT), inner, max_size=5),
        ),
        max_leaves=20,
    )


def bodies(keys: list[str]) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.just(b""),
        st.binary(max_size=60),
        st.sampled_from([b"{", b"[1,", b'{"a":}', b"null", b"\xff\xfe", b'{"inputs": "x"}', b"[[[[[[[[[[[[]]]]]]]]]]]]"]),
        json_values(keys).map(lambda v: json.dumps(v).encode()),
    )


def query(names: list[str], values: st.SearchStrategy[str] = TEXT) -> st.SearchStrategy[dict[str, str]]:
    return st.dictionaries(st.sampled_from(names), values, max_size=4)


def send(client: httpx.Client, method: str, path: str, params: dict, body: bytes, headers: dict) -> httpx.Response:
    return client.request(method, path, params=params, content=body, headers=headers)


def assert_no_server_error(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.request.method, str(response.request.url), response.text[:500])


@pytest.fixture(scope="module")
def hubspot() -> httpx.Client:
    emulator = HubSpotEmulator.demo(5, limits=False)
    return httpx.Client(
        transport=emulator.transport(), base_url="http://hubspot.invalid", headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    )


@pytest.fixture(scope="module")
def connectwise() -> httpx.Client:
    emulator = ConnectWiseEmulator(seed_size=5, limits=False)
    auth = httpx.BasicAuth(f"{DEMO_COMPANY}+{DEMO_PUBLIC_KEY}", DEMO_PRIVATE_KEY)
    return httpx.Client(
        transport=emulator.transport(), base_url="http://connectwise.invalid", auth=auth, headers={"clientId": DEMO_CLIENT_ID}
    )


@pytest.fixture(scope="module")
def dynamics() -> httpx.Client:
    emulator = DynamicsEmulator(seed_size=5, limits=False)
    client = httpx.Client(transport=emulator.transport(), base_url="http://dynamics.invalid")
    token = client.post(
        f"/{DEFAULT_TENANT}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
            "scope": "http://dynamics.invalid/.default",
        },
    ).json()["access_token"]
    client.headers["Authorization"] = f"Bearer {token}"
    return client


FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@FUZZ
@given(
    method=METHODS,
    template=st.sampled_from(HUBSPOT_PATHS),
    obj=st.sampled_from(["contacts", "companies", "deals", "tickets"]),
    obj2=st.sampled_from(["contacts", "companies", "deals"]),
    record_id=ID_LIKE,
    params=query(HUBSPOT_PARAMS, st.one_of(TEXT, st.integers(min_value=-3, max_value=3).map(str))),
    body=bodies(HUBSPOT_KEYS),
    content_type=st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain", ""]),
)
def test_hubspot_answers_malformed_input_with_a_4xx(hubspot, method, template, obj, obj2, record_id, params, body, content_type):
    path = template.format(obj=obj, obj2=obj2, id=record_id)
    assert_no_server_error(send(hubspot, method, path, params, body, {"Content-Type": content_type}))


@FUZZ
@given(
    method=METHODS,
    template=st.sampled_from(CW_PATHS),
    resource=st.sampled_from(CW_RESOURCES),
    record_id=ID_LIKE,
    params=query(CW_PARAMS, st.one_of(TEXT, CW_CONDITIONS, st.integers(min_value=-3, max_value=3).map(str))),
    body=bodies(CW_KEYS),
    accept=st.sampled_from(
        ["", "application/json", "application/vnd.connectwise.com+json; version=2022.1"]
        + ["application/vnd.connectwise.com+json; version=abc", "application/vnd.connectwise.com+json; version=3.0.0"]
    ),
    forward_only=st.booleans(),
)
def test_connectwise_answers_malformed_input_with_a_4xx(
    connectwise, method, template, resource, record_id, params, body, accept, forward_only
):
    path = template.format(res=resource, id=record_id)
    headers = {"Content-Type": "application/json", "Accept": accept}
    if forward_only:
        headers["pagination-type"] = "forward-only"
    assert_no_server_error(send(connectwise, method, path, params, body, headers))


@FUZZ
@given(
    method=METHODS,
    template=st.sampled_from(DYN_PATHS),
    set_name=st.sampled_from(DYN_SETS),
    record_id=ID_LIKE,
    params=query(DYN_PARAMS, st.one_of(TEXT, DYN_FILTERS, st.integers(min_value=-3, max_value=3).map(str))),
    body=bodies(DYN_KEYS),
    prefer=PREFER,
    if_match=st.sampled_from(["", "*", 'W/"abc"']),
    content_type=st.sampled_from(["application/json", "multipart/mixed; boundary=batch_x", "multipart/mixed", "text/plain"]),
)
def test_dynamics_answers_malformed_input_with_a_4xx(
    dynamics, method, template, set_name, record_id, params, body, prefer, if_match, content_type
):
    path = template.format(set=set_name, id=record_id)
    headers = {"Content-Type": content_type, "Prefer": prefer}
    if if_match:
        headers["If-Match"] = if_match
    assert_no_server_error(send(dynamics, method, path, params, body, headers))


@pytest.mark.parametrize(
    "method, path, params, body",
    [
        ("GET", "/crm/v3/objects/contacts", {"limit": "abc"}, b""),
        ("GET", "/crm/v3/objects/contacts", {"after": "abc"}, b""),
        ("POST", "/crm/v3/objects/contacts", {}, b"{not json"),
        ("PATCH", "/crm/v3/objects/contacts/1001", {}, b"{not json"),
        ("POST", "/crm/v3/properties/contacts", {}, b"{not json"),
        ("GET", "/crm/v3/owners", {"limit": "abc"}, b""),
        ("POST", "/crm/v3/objects/contacts/search", {}, b'{"limit": "abc"}'),
        (
            "POST",
            "/crm/v3/objects/contacts/search",
            {},
            json.dumps(
                {"filterGroups": [{"filters": [{"propertyName": "hs_object_id", "operator": "GT", "value": "abc"}]}]}
            ).encode(),
        ),
    ],
)
def test_hubspot_malformed_input_is_a_400_with_hubspots_error_body(hubspot, method, path, params, body):
    response = send(hubspot, method, path, params, body, {"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["status"] == "error" and error["category"] == "VALIDATION_ERROR"
    assert error["message"] and error["correlationId"]


@pytest.mark.parametrize(
    "method, path, params, body",
    [
        ("GET", "/crm/v3/lists/1/memberships", {"after": "not-a-token"}, b""),
        ("GET", "/crm/v3/lists/1/memberships", {"limit": "251"}, b""),
        ("PUT", "/crm/v3/lists/1/memberships/add", {}, b'{"recordIds": ["1"]}'),
        ("PUT", "/crm/v3/lists/1/memberships/add", {}, json.dumps(["\u00b2"]).encode()),
        ("PUT", "/crm/v3/lists/2/memberships/add", {}, b'["1006"]'),  # the demo's active list takes no memberships
        ("POST", "/crm/v3/lists/search", {}, b'{"listIds": 5}'),
        ("POST", "/crm/v3/lists/search", {}, b'{"count": 501}'),
        ("POST", "/crm/v3/lists", {}, b'{"name": "x", "objectTypeId": "0-1", "processingType": "DYNAMIC", "filterBranch": 5}'),
        ("POST", "/crm/v3/lists", {}, b'{"name": "Newsletter subscribers", "objectTypeId": "0-1", "processingType": "MANUAL"}'),
    ],
)
def test_hubspot_lists_refuse_malformed_input_with_a_400_in_hubspots_error_body(method, path, params, body):
    emulator = HubSpotEmulator.demo(5, limits=False)  # its own: the fuzzing above may delete the demo lists
    client = httpx.Client(transport=emulator.transport(), base_url="http://hubspot.invalid")
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {DEFAULT_TOKEN}"}
    response = send(client, method, path, params, body, headers)
    assert response.status_code == 400, response.text
    assert response.json()["category"] == "VALIDATION_ERROR"
