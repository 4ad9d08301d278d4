"""Hostile input against every emulator (HubSpot, ConnectWise, Dynamics 365, Salesforce, NetSuite):
malformed paths, query parameters, headers and bodies (random bytes, broken JSON, JSON of the wrong
shape around the vendors' own vocabulary) are answered with a 4xx in the vendor's error body, never
a 5xx and never a crash. Every route of every emulator is in a path list below (the test
`test_every_route_of_every_emulator_is_fuzzed` checks that), control endpoints included.

The emulators run in-process (httpx.WSGITransport re-raises any exception a handler lets out, so
a crash fails the test just as a 500 does), authenticated, with limits and faults off, and their
webhooks delivered to an in-process sink (a fuzzed target URL never reaches the network)."""

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
from connectors.emulation import Emulator
from connectors.hubspot.emulator import DEFAULT_TOKEN, OBJECT_TYPES, HubSpotEmulator
from connectors.hubspot.emulator_webhooks import DEFAULT_APP_ID, DEFAULT_DEVELOPER_KEY
from connectors.netsuite.emulator import NetSuiteEmulator
from connectors.salesforce.emulator import SalesforceEmulator
from connectors.salesforce.schema import OBJECTS as SALESFORCE_OBJECTS
from tests.connectors.netsuite_harness import tba

EXAMPLES = int(os.environ.get("EMULATOR_FUZZ_EXAMPLES", "250"))  # raise it locally to search harder
METHODS = st.sampled_from(["GET", "POST", "PATCH", "PUT", "DELETE"])
CONTENT_TYPES = st.sampled_from(["application/json"] * 3 + ["application/x-www-form-urlencoded", "text/plain", ""])
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
    "/crm/v3/objects/{obj}/merge",
    "/webhooks/v3/{app}/settings",
    "/webhooks/v3/{app}/subscriptions",
    "/webhooks/v3/{app}/subscriptions/batch/update",
    "/webhooks/v3/{app}/subscriptions/{id}",
    "/_emulator/knobs",
    "/_emulator/records",
    "/_emulator/records/{obj}/{id}",
    "/_emulator/clock",
    "/_emulator/state",
    "/_emulator/counters",
    "/{id}",
]
# Every object type the emulator serves (engagements included), and two it does not.
HUBSPOT_OBJECTS = [*OBJECT_TYPES, "tickets", "0-1"]
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
    "hapikey",
    "objectTypeId",
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
    "hs_timestamp",
    "hs_note_body",
    "hs_call_direction",
    "hs_call_duration",
    "hs_task_status",
    "hs_task_priority",
    "hs_email_direction",
    "hs_meeting_outcome",
    "hasUniqueValue",
    "displayOrder",
    "primaryObjectId",
    "objectIdToMerge",
    "targetUrl",
    "throttling",
    "maxConcurrentRequests",
    "period",
    "eventType",
    "active",
    "subscriptionId",
    "associationCategory",
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
    API_PATH + "/system/callbackKeys/{id}",
    API_PATH + "/system/info",
    "/login/companyinfo/{id}",
    "/_emulator/records/{res}/{id}",
    API_PATH + "/{id}",
]
CW_RESOURCES = [
    "company/companies",
    "company/contacts",
    "sales/opportunities",
    "sales/activities",
    "company/contacts/{id}/notes",
    "company/companies/{id}/notes",
    "system/members",
    "system/userDefinedFields",
    "company/companies/statuses",
    "company/companies/types",
    "company/contacts/types",
    "company/communicationTypes",
    "sales/stages",
    "sales/opportunities/statuses",
    "sales/opportunities/types",
    "sales/activities/types",
    "sales/activities/statuses",
    "company/noteTypes",
    "x/y",
]
CW_PARAMS = ["conditions", "childConditions", "customFieldConditions", "orderBy", "fields", "page", "pageSize", "pageId"]
CW_KEYS = ["op", "path", "value", "name", "identifier", "company", "id", "firstName", "communicationItems", "type", "url"]
CW_KEYS += ["customFields", "status", "types", "contact", "stage", "level", "objectId"]
CW_KEYS += ["caption", "podId", "sequenceNumber", "fieldTypeIdentifier", "entryTypeIdentifier"]
CW_KEYS += ["text", "flagged", "contactId", "enteredBy", "assignTo", "assignedBy", "dateStart", "dateEnd", "notes"]
CW_KEYS += ["phoneNumber", "email", "opportunity", "description", "inactiveFlag", "memberId", "payloadVersion"]
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
    "/api/data/v9.2/EntityDefinitions",
    "/api/data/v9.2/EntityDefinitions({id})",
    "/api/data/v9.2/EntityDefinitions(LogicalName='{logical}')",
    "/api/data/v9.2/EntityDefinitions(LogicalName='{logical}')/Attributes",
    "/api/data/v9.2/EntityDefinitions(LogicalName='{logical}')/Attributes(LogicalName='{id}')",
    "/api/data/v9.2/EntityDefinitions(LogicalName='{logical}')/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
    "/api/data/v9.2/serviceendpoints",
    "/api/data/v9.2/serviceendpoints({id})",
    "/api/data/v9.2/sdkmessages",
    "/api/data/v9.2/sdkmessagefilters",
    "/api/data/v9.2/sdkmessageprocessingsteps",
    "/api/data/v9.2/sdkmessageprocessingsteps({id})",
    "/_emulator/records",
    "/_emulator/edit",
    "/_emulator/delete",
    "/_emulator/state",
    "/" + DEFAULT_TENANT + "/oauth2/v2.0/token",
    "/api/data/v9.2/{id}",
]
DYN_SETS = ["accounts", "contacts", "leads", "opportunities", "systemusers", "nothings"]
DYN_SETS += ["annotations", "phonecalls", "tasks", "emails", "appointments"]
DYN_LOGICAL = ["account", "contact", "lead", "opportunity", "systemuser", "annotation", "phonecall", "task", "email"]
DYN_LOGICAL += ["appointment", "nothing"]
DYN_PARAMS = ["$select", "$filter", "$orderby", "$top", "$expand", "$count", "$skiptoken", "$deltatoken"]
DYN_EXPANDS = st.sampled_from(
    ["Attributes", "OptionSet", "email_activity_parties", "phonecall_activity_parties", "parentcustomerid_account"]
    + ["appointment_activity_parties($select=partyid)", "Attributes($select=LogicalName)", "x($filter=a eq 1)"]
)
DYN_KEYS = ["Targets", "@odata.type", "name", "firstname", "emailaddress1", "statecode", "statuscode", "accountid"]
DYN_KEYS += ["contactid", "parentcustomerid_account@odata.bind", "revenue", "new_x", "creditlimit", "donotemail"]
DYN_KEYS += ["SchemaName", "MaxLength", "DisplayName", "LocalizedLabels", "Label"]
DYN_KEYS += ["subject", "notetext", "description", "scheduledstart", "scheduledend", "actualdurationminutes"]
DYN_KEYS += ["phonenumber", "directioncode", "objectid_contact@odata.bind", "regardingobjectid_account@odata.bind"]
DYN_KEYS += ["email_activity_parties", "phonecall_activity_parties", "appointment_activity_parties"]
DYN_KEYS += ["participationtypemask", "partyid_contact@odata.bind", "partyid_systemuser@odata.bind", "addressused"]
DYN_KEYS += ["entity", "logical", "id", "values", "url", "contract", "authtype", "authvalue", "eventhandler@odata.bind"]
DYN_KEYS += ["sdkmessageid@odata.bind", "sdkmessagefilterid@odata.bind", "stage", "mode", "filteringattributes"]
DYN_FILTERS = st.one_of(
    TEXT,
    st.sampled_from(["name eq 'x'", "revenue gt abc", "contains(name,", "modifiedon ge 2020-13-45T00:00:00Z", "(", "a eq"]),
)
PREFER = st.sampled_from(
    ["", "odata.maxpagesize=abc", "odata.maxpagesize=-1", "odata.maxpagesize=0", "odata.maxpagesize=2"]
    + ['odata.include-annotations="*"']
    + ["odata.track-changes", "return=representation", "odata.continue-on-error"]
)

SF = "/services/data/v{ver}"
SF_PATHS = [
    "/services/oauth2/authorize",
    "/services/oauth2/token",
    "/services/oauth2/revoke",
    "/services/oauth2/userinfo",
    "/id/{id}/{id}",
    "/services/data/",
    SF + "/",
    SF + "/limits",
    SF + "/sobjects",
    SF + "/sobjects/{obj}",
    SF + "/sobjects/{obj}/",
    SF + "/sobjects/{obj}/describe",
    SF + "/sobjects/{obj}/updated",
    SF + "/sobjects/{obj}/deleted",
    SF + "/sobjects/{obj}/{id}",
    SF + "/query",
    SF + "/queryAll",
    SF + "/query/{id}",
    SF + "/query/{id}-2000",
    SF + "/composite/sobjects",
    SF + "/composite/sobjects/{obj}",
    SF + "/composite",
    SF + "/tooling/sobjects/CustomField",
    "/cometd/{ver}",
    "/_emulator/records",
    "/_emulator/edit",
    "/_emulator/delete",
    "/_emulator/convert-lead",
    "/_emulator/state",
    "/{id}",
]
SF_OBJECTS = [*SALESFORCE_OBJECTS, "Nothing", "contact"]
SF_VERSIONS = st.sampled_from(["59.0"] * 5 + ["60.0", "20.0", "1.0", "abc", "59"])
SF_PARAMS = ["q", "start", "end", "ids", "fields", "allOrNone", "client_id", "redirect_uri", "response_type", "state"]
SF_PARAMS += ["code_challenge", "token", "grant_type"]
SF_KEYS = ["attributes", "type", "records", "allOrNone", "Name", "LastName", "FirstName", "Company", "Email"]
SF_KEYS += ["AccountId", "WhoId", "WhatId", "OwnerId", "Subject", "Status", "TaskSubtype", "Priority", "ActivityDate"]
SF_KEYS += ["StartDateTime", "EndDateTime", "DurationInMinutes", "ActivityDateTime", "IsAllDayEvent", "CallType"]
SF_KEYS += ["CallDurationInSeconds", "StageName", "CloseDate", "Amount", "OpportunityId", "ContactId", "IsPrimary"]
SF_KEYS += ["sobject", "properties", "id", "account_id", "opportunity_name", "contact_id", "Id", "IsConverted"]
SF_KEYS += ["channel", "clientId", "subscription", "supportedConnectionTypes", "connectionType", "version", "ext"]
SF_KEYS += ["replay", "compositeRequest", "method", "url", "referenceId", "body", "FullName", "Metadata", "label", "length"]
SF_QUERIES = st.one_of(
    TEXT,
    st.sampled_from(
        ["SELECT Id FROM Contact", "SELECT Id, Subject FROM Task WHERE WhoId = '003'", "SELECT COUNT() FROM Event"]
        + ["SELECT Id FROM Lead WHERE IsConverted = true AND ConvertedDate > 2020-13-01T00:00:00Z", "SELECT FROM"]
        + ["SELECT Id FROM Account WHERE SystemModstamp > 2024-01-01T00:00:00Z ORDER BY SystemModstamp LIMIT -1"]
    ),
)

REC = "/services/rest/record/v1"
NS_PATHS = [
    REC + "/{type}",
    REC + "/{type}/{id}",
    REC + "/{type}/eid:{id}",
    REC + "/metadata-catalog",
    REC + "/metadata-catalog/{type}",
    "/services/rest/query/v1/suiteql",
    "/services/rest/auth/oauth2/v1/token",
    "/app/login/oauth2/authorize.nl",
    "/_emulator/script",
    "/_emulator/concurrency",
    "/_emulator/counters",
    REC + "/{id}",
]
NS_TYPES = ["customer", "contact", "opportunity", "employee", "deletedRecord", "nothing"]
NS_PARAMS = ["q", "limit", "offset", "fields", "expandSubResources", "select", "client_id", "redirect_uri"]
NS_PARAMS += ["response_type", "scope", "state"]
NS_KEYS = ["q", "companyName", "isPerson", "firstName", "lastName", "email", "entityStatus", "subsidiary", "id"]
NS_KEYS += ["externalId", "addressBook", "items", "addressBookAddress", "addr1", "company", "entity", "title"]
NS_KEYS += ["probability", "expectedCloseDate", "projectedTotal", "salesRep", "url", "isInactive", "phone"]
NS_KEYS += ["defaultBilling", "refName", "url", "secret", "limit"]
SUITEQL = st.one_of(
    TEXT,
    st.sampled_from(
        ["SELECT recordid, type, deleteddate FROM DeletedRecord WHERE type = 'customer'"]
        + ["SELECT * FROM DeletedRecord WHERE deleteddate > TO_DATE('2020-13-45', 'YYYY-MM-DD')"]
        + ["SELECT id FROM customer WHERE lastmodifieddate >= TO_TIMESTAMP('x', 'YYYY') ORDER BY id"]
        + ["SELECT id, email FROM contact WHERE LOWER(email) IN ('a', ", "SELECT key, name FROM entitystatus"]
        + ["SELECT id FROM transaction WHERE type = 'Opprtnty' AND id > 'abc'", "SELECT TO_CHAR(x, 'YYYY') FROM customer"]
        + ["SELECT recordid FROM DeletedRecord WHERE recordid IN (1, 'a', NULL) ORDER BY nothing"]
    ),
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


def near_valid(valid: list[dict[str, Any]], keys: list[str]) -> st.SearchStrategy[Any]:
    """A body the endpoint would take, with one key set to a wrong value (or to something at all):
    gets past the first shape check into the handler's own validation."""

    def mutate(body: dict[str, Any], key: str, value: Any, wrap: bool) -> Any:
        changed = {**body, key: value}
        return [changed] if wrap else changed

    return st.builds(
        mutate,
        st.sampled_from(valid),
        st.one_of(st.sampled_from(keys), st.sampled_from(sorted({k for v in valid for k in v}))),
        json_values(keys),
        st.booleans(),
    )


def bodies(keys: list[str], valid: list[dict[str, Any]] = ()) -> st.SearchStrategy[bytes]:
    structured = json_values(keys) if not valid else st.one_of(json_values(keys), near_valid(list(valid), keys))
    return st.one_of(
        st.just(b""),
        st.binary(max_size=60),
        st.sampled_from([b"{", b"[1,", b'{"a":}', b"null", b"\xff\xfe", b'{"inputs": "x"}', b"[[[[[[[[[[[[]]]]]]]]]]]]"]),
        structured.map(lambda v: json.dumps(v).encode()),
    )


def query(names: list[str], values: st.SearchStrategy[str] = TEXT) -> st.SearchStrategy[dict[str, str]]:
    return st.dictionaries(st.sampled_from(names), values, max_size=4)


def send(client: httpx.Client, method: str, path: str, params: dict, body: bytes, headers: dict) -> httpx.Response:
    return client.request(method, path, params=params, content=body, headers=headers)


def assert_no_server_error(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.request.method, str(response.request.url), response.text[:500])


def pick_method(data: st.DataObject, emulator: Emulator, path: str) -> str:
    """Mostly a method the path has a route for (so the call reaches a handler), sometimes any."""
    stripped = path.rstrip("/") or "/"
    allowed = sorted({r.method for r in emulator.routes if r.pattern.match(path) or r.pattern.match(stripped)})
    if allowed and data.draw(st.integers(min_value=0, max_value=9)) < 8:
        return data.draw(st.sampled_from(allowed))
    return data.draw(METHODS)


def in_process_webhooks(emulator: Emulator) -> Emulator:
    """Webhooks (to whatever URL a fuzzed body subscribes) go to an in-process sink, never the network."""
    sink = httpx.MockTransport(lambda request: httpx.Response(200))
    for name in ("webhooks", "webhook_sender"):
        sender = getattr(emulator, name, None)
        if sender is not None:
            sender.transport = sink
    return emulator


@pytest.fixture(scope="module")
def hubspot_emulator() -> HubSpotEmulator:
    return in_process_webhooks(HubSpotEmulator.demo(5, limits=False))


@pytest.fixture(scope="module")
def hubspot(hubspot_emulator) -> httpx.Client:
    return httpx.Client(
        transport=hubspot_emulator.transport(),
        base_url="http://hubspot.invalid",
        headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"},
    )


@pytest.fixture(scope="module")
def connectwise_emulator() -> ConnectWiseEmulator:
    return in_process_webhooks(ConnectWiseEmulator(seed_size=5, limits=False))


@pytest.fixture(scope="module")
def connectwise(connectwise_emulator) -> httpx.Client:
    auth = httpx.BasicAuth(f"{DEMO_COMPANY}+{DEMO_PUBLIC_KEY}", DEMO_PRIVATE_KEY)
    return httpx.Client(
        transport=connectwise_emulator.transport(),
        base_url="http://connectwise.invalid",
        auth=auth,
        headers={"clientId": DEMO_CLIENT_ID},
    )


@pytest.fixture(scope="module")
def dynamics_emulator() -> DynamicsEmulator:
    return in_process_webhooks(DynamicsEmulator(seed_size=5, limits=False))


@pytest.fixture(scope="module")
def dynamics(dynamics_emulator) -> httpx.Client:
    client = httpx.Client(transport=dynamics_emulator.transport(), base_url="http://dynamics.invalid")
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


@pytest.fixture(scope="module")
def salesforce_emulator() -> SalesforceEmulator:
    emulator = SalesforceEmulator(limits=False, streaming_timeout_s=0.05)
    emulator.seed_demo_data(3)
    return emulator


@pytest.fixture(scope="module")
def salesforce(salesforce_emulator) -> httpx.Client:
    token = salesforce_emulator.issue_session()["access_token"]
    return httpx.Client(
        transport=salesforce_emulator.transport(),
        base_url="https://org.salesforce.emulator.invalid",
        headers={"Authorization": f"Bearer {token}"},
    )


@pytest.fixture(scope="module")
def salesforce_ids(salesforce_emulator) -> list[str]:
    """Ids of real records of every type (and a deleted one, and a converted lead), so fuzzed calls
    reach the records' own validation, not only 'not found'."""
    ids = [row_id for rows in salesforce_emulator.rows.values() for row_id in list(rows)[:2]]
    lead = next(iter(salesforce_emulator.rows["Lead"]))
    salesforce_emulator.convert_lead(lead)
    gone = salesforce_emulator.create_record("Account", {"Name": "Gone"})
    salesforce_emulator.delete_record("Account", gone)
    return [*ids, gone, gone[:15]]


@pytest.fixture(scope="module")
def netsuite_emulator() -> NetSuiteEmulator:
    emulator = in_process_webhooks(NetSuiteEmulator.demo(3, limits=False))
    emulator.delete("customer", emulator.all("customer")[-1]["id"])  # a DeletedRecord row
    return emulator


@pytest.fixture(scope="module")
def netsuite(netsuite_emulator) -> httpx.Client:
    return httpx.Client(
        transport=netsuite_emulator.transport(), base_url="https://1234567-sb1.suitetalk.api.netsuite.test", auth=tba()
    )


FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)

HUBSPOT_VALID = [
    {"properties": {"email": "fuzz@example.com", "firstname": "F"}},
    {"properties": {"hs_timestamp": "2024-01-01T00:00:00Z", "hs_note_body": "n"}, "associations": []},
    {"inputs": [{"properties": {"email": "a@example.com"}}]},
    {"inputs": [{"id": "1001", "properties": {"firstname": "x"}}]},
    {"inputs": [{"id": "x@example.com", "idProperty": "email", "properties": {"firstname": "x"}}]},
    {"filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ", "value": "x"}]}], "limit": 10},
    {"name": "fuzz_prop", "label": "Fuzz", "type": "string", "fieldType": "text", "groupName": "contactinformation"},
    {"primaryObjectId": "1001", "objectIdToMerge": "1002"},
    {"targetUrl": "https://hooks.example.com/x", "throttling": {"maxConcurrentRequests": 10, "period": "SECONDLY"}},
    {"eventType": "contact.propertyChange", "propertyName": "email", "active": True},
    {"name": "Fuzz list", "objectTypeId": "0-1", "processingType": "MANUAL"},
    {"name": "Fuzz active", "objectTypeId": "0-1", "processingType": "DYNAMIC", "filterBranch": {}},
    {"recordIdsToAdd": ["1001"], "recordIdsToRemove": []},
    {"objectType": "contacts", "properties": {"email": "u@example.com"}},
    {"advance_ms": 1000},
]


@FUZZ
@given(
    data=st.data(),
    template=st.sampled_from(HUBSPOT_PATHS),
    obj=st.sampled_from(HUBSPOT_OBJECTS),
    obj2=st.sampled_from(HUBSPOT_OBJECTS),
    record_id=ID_LIKE,
    app=st.sampled_from([str(DEFAULT_APP_ID), "1", "x"]),
    params=query(
        HUBSPOT_PARAMS, st.one_of(TEXT, st.integers(min_value=-3, max_value=3).map(str), st.just(DEFAULT_DEVELOPER_KEY))
    ),
    body=bodies(HUBSPOT_KEYS, HUBSPOT_VALID),
    content_type=CONTENT_TYPES,
)
def test_hubspot_answers_malformed_input_with_a_4xx(
    hubspot_emulator, hubspot, data, template, obj, obj2, record_id, app, params, body, content_type
):
    path = template.format(obj=obj, obj2=obj2, id=record_id, app=app)
    method = pick_method(data, hubspot_emulator, path)
    assert_no_server_error(send(hubspot, method, path, params, body, {"Content-Type": content_type}))


CW_VALID = [
    {"identifier": "Fuzz", "name": "Fuzz", "site": {"name": "Main"}},
    {"firstName": "F", "lastName": "Z", "company": {"id": 1}},
    {"name": "Fuzz opp", "company": {"id": 1}, "contact": {"id": 1}, "stage": {"id": 1}},
    {"name": "Call", "type": {"id": 1}, "assignTo": {"id": 1}, "company": {"id": 1}, "dateStart": "2024-01-01T00:00:00Z"},
    {"text": "A note", "type": {"id": 1}, "flagged": False},
    {"caption": "Fuzz", "podId": 1, "sequenceNumber": 9, "fieldTypeIdentifier": "Text", "entryTypeIdentifier": "EntryField"},
    {"url": "https://hooks.example.com/cw", "objectId": 1, "type": "company", "level": "owner", "description": "d"},
    {"op": "replace", "path": "name", "value": "x"},
]


@FUZZ
@given(
    data=st.data(),
    template=st.sampled_from(CW_PATHS),
    resource=st.sampled_from(CW_RESOURCES),
    record_id=ID_LIKE,
    parent_id=st.sampled_from(["1", "2", "999999", "0"]),
    params=query(CW_PARAMS, st.one_of(TEXT, CW_CONDITIONS, st.integers(min_value=-3, max_value=3).map(str))),
    body=bodies(CW_KEYS, CW_VALID),
    accept=st.sampled_from(
        ["", "application/json", "application/vnd.connectwise.com+json; version=2022.1"]
        + ["application/vnd.connectwise.com+json; version=abc", "application/vnd.connectwise.com+json; version=3.0.0"]
    ),
    forward_only=st.booleans(),
)
def test_connectwise_answers_malformed_input_with_a_4xx(
    connectwise_emulator, connectwise, data, template, resource, record_id, parent_id, params, body, accept, forward_only
):
    path = template.format(res=resource.format(id=parent_id), id=record_id)
    method = pick_method(data, connectwise_emulator, path)
    headers = {"Content-Type": "application/json", "Accept": accept}
    if forward_only:
        headers["pagination-type"] = "forward-only"
    assert_no_server_error(send(connectwise, method, path, params, body, headers))


DYN_VALID = [
    {"name": "Fuzz"},
    {"firstname": "F", "lastname": "Z", "emailaddress1": "f@example.com"},
    {"Targets": [{"@odata.type": "Microsoft.Dynamics.CRM.account", "name": "F"}]},
    {"subject": "Call", "phonenumber": "1", "phonecall_activity_parties": [{"participationtypemask": 2}]},
    {"subject": "Mail", "email_activity_parties": [{"participationtypemask": 1, "addressused": "a@example.com"}]},
    {"subject": "Meet", "scheduledstart": "2024-01-01T00:00:00Z", "scheduledend": "2024-01-01T01:00:00Z"},
    {"subject": "Note", "notetext": "n", "objectid_contact@odata.bind": "/contacts(00000000-0000-0000-0000-000000000000)"},
    {
        "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
        "SchemaName": "new_Fuzz",
        "MaxLength": 100,
        "DisplayName": {"LocalizedLabels": [{"Label": "Fuzz", "LanguageCode": 1033}]},
    },
    {"name": "hook", "url": "https://hooks.example.com/d", "contract": 8, "authtype": 4, "authvalue": "k"},
    {"name": "step", "stage": 40, "mode": 1, "filteringattributes": "name"},
    {"entity": "account", "values": {"name": "x"}},
]


@FUZZ
@given(
    data=st.data(),
    template=st.sampled_from(DYN_PATHS),
    set_name=st.sampled_from(DYN_SETS),
    logical=st.sampled_from(DYN_LOGICAL),
    record_id=ID_LIKE,
    params=query(DYN_PARAMS, st.one_of(TEXT, DYN_FILTERS, DYN_EXPANDS, st.integers(min_value=-3, max_value=3).map(str))),
    body=bodies(DYN_KEYS, DYN_VALID),
    prefer=PREFER,
    if_match=st.sampled_from(["", "*", 'W/"abc"']),
    content_type=st.sampled_from(["application/json", "multipart/mixed; boundary=batch_x", "multipart/mixed", "text/plain"]),
)
def test_dynamics_answers_malformed_input_with_a_4xx(
    dynamics_emulator, dynamics, data, template, set_name, logical, record_id, params, body, prefer, if_match, content_type
):
    path = template.format(set=set_name, logical=logical, id=record_id)
    method = pick_method(data, dynamics_emulator, path)
    headers = {"Content-Type": content_type, "Prefer": prefer}
    if if_match:
        headers["If-Match"] = if_match
    assert_no_server_error(send(dynamics, method, path, params, body, headers))


SF_VALID = [
    {"LastName": "Z", "Company": "C"},
    {"Subject": "Call", "TaskSubtype": "Call", "Status": "Completed", "CallDurationInSeconds": 60},
    {"Subject": "Meet", "StartDateTime": "2024-01-01T10:00:00Z", "DurationInMinutes": 30},
    {"allOrNone": True, "records": [{"attributes": {"type": "Contact"}, "LastName": "Z"}]},
    {"records": [{"attributes": {"type": "Task"}, "Subject": "x", "WhoId": "003000000000001AAA"}]},
    {"sobject": "Lead", "properties": {"LastName": "L", "Company": "C"}},
    {"sobject": "Account", "id": "001000000000001AAA", "properties": {"Name": "x"}},
    {"id": "00Q000000000001AAA", "opportunity_name": "Deal"},
    {"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]},
    {"channel": "/meta/subscribe", "clientId": "x", "subscription": "/data/ChangeEvents"},
    {"compositeRequest": [{"method": "GET", "url": "/services/data/v59.0/limits", "referenceId": "r"}]},
]


@FUZZ
@given(
    data=st.data(),
    template=st.sampled_from(SF_PATHS),
    obj=st.sampled_from(SF_OBJECTS),
    version=SF_VERSIONS,
    params=query(SF_PARAMS, st.one_of(TEXT, SF_QUERIES, st.integers(min_value=-3, max_value=3).map(str))),
    body=bodies(SF_KEYS, SF_VALID),
    content_type=CONTENT_TYPES,
    query_options=st.sampled_from(["", "batchSize=200", "batchSize=abc", "batchSize=100000"]),
)
def test_salesforce_answers_malformed_input_with_a_4xx(
    salesforce_emulator, salesforce, salesforce_ids, data, template, obj, version, params, body, content_type, query_options
):
    record_id = data.draw(st.one_of(ID_LIKE, st.sampled_from(salesforce_ids)))
    if "ids" in params and data.draw(st.booleans()):
        params["ids"] = ",".join(data.draw(st.lists(st.sampled_from(salesforce_ids), max_size=3)))
    path = template.format(obj=obj, ver=version, id=record_id)
    method = pick_method(data, salesforce_emulator, path)
    headers = {"Content-Type": content_type, "Sforce-Query-Options": query_options}
    assert_no_server_error(send(salesforce, method, path, params, body, headers))


NS_VALID = [
    {"companyName": "Fuzz", "subsidiary": {"id": "1"}, "email": "f@example.com"},
    {"isPerson": True, "firstName": "F", "lastName": "Z", "subsidiary": {"id": "1"}},
    {"firstName": "F", "lastName": "Z", "company": {"id": "1"}},
    {"title": "Deal", "entity": {"id": "1"}, "entityStatus": {"id": "8"}, "projectedTotal": 10},
    {"addressBook": {"items": [{"addressBookAddress": {"addr1": "1 Main"}, "defaultBilling": True}]}},
    {"q": "SELECT recordid, type, deleteddate FROM DeletedRecord"},
    {"q": "SELECT id, companyname FROM customer WHERE id > 1 ORDER BY id"},
    {"url": "https://hooks.example.com/ns", "secret": "s"},
    {"limit": 3},
]


@FUZZ
@given(
    data=st.data(),
    template=st.sampled_from(NS_PATHS),
    record_type=st.sampled_from(NS_TYPES),
    record_id=st.one_of(ID_LIKE, st.sampled_from(["101", "104", "105", "106", "113", "-5"])),
    params=query(NS_PARAMS, st.one_of(TEXT, st.sampled_from(["email IS x", 'companyName CONTAIN "a" AND', "id ANY_OF 1,a"]))),
    body=st.one_of(bodies(NS_KEYS, NS_VALID), SUITEQL.map(lambda q: json.dumps({"q": q}).encode())),
    prefer=st.sampled_from(["transient"] * 4 + ["", "respond-async", "transient, respond-async"]),
    accept=st.sampled_from(["", "application/json", "application/schema+json", "application/swagger+json", "text/html"]),
    validation=st.sampled_from(["", "error", "warning", "x"]),
    content_type=CONTENT_TYPES,
)
def test_netsuite_answers_malformed_input_with_a_4xx(
    netsuite_emulator, netsuite, data, template, record_type, record_id, params, body, prefer, accept, validation, content_type
):
    path = template.format(type=record_type, id=record_id)
    method = pick_method(data, netsuite_emulator, path)
    headers = {"Content-Type": content_type, "Prefer": prefer, "Accept": accept, "X-NetSuite-PropertyNameValidation": validation}
    assert_no_server_error(send(netsuite, method, path, params, body, headers))


# --- every route is in a path list above ---------------------------------------------------------------
SAMPLE_IDS = ["1", "1001", str(DEFAULT_APP_ID), "00000000-0000-0000-0000-000000000000", "001000000000001AAA", "x"]


def concrete_paths(templates: list[str], **choices: list[str]) -> set[str]:
    paths = {""}
    for template in templates:
        combos = [{}]
        for name, values in choices.items():
            if "{" + name + "}" in template:
                combos = [{**c, name: v} for c in combos for v in values]
        for combo in combos:
            for sample in SAMPLE_IDS:
                path = template.format(**combo, id=sample, app=sample)
                paths.add(path)
    return paths


def unmatched_routes(emulator: Emulator, paths: set[str]) -> list[str]:
    stripped = {p.rstrip("/") or "/" for p in paths}
    return [
        f"{route.method} {route.pattern.pattern}"
        for route in emulator.routes
        if not any(route.pattern.match(p) for p in paths | stripped)
    ]


def test_every_route_of_every_emulator_is_fuzzed(
    hubspot_emulator, connectwise_emulator, dynamics_emulator, salesforce_emulator, netsuite_emulator
):
    cw_resources = [r.format(id=1) for r in CW_RESOURCES]
    checks = {
        "hubspot": (hubspot_emulator, concrete_paths(HUBSPOT_PATHS, obj=HUBSPOT_OBJECTS, obj2=HUBSPOT_OBJECTS)),
        "connectwise": (connectwise_emulator, concrete_paths(CW_PATHS, res=cw_resources)),
        "dynamics": (dynamics_emulator, concrete_paths(DYN_PATHS, set=DYN_SETS, logical=DYN_LOGICAL)),
        "salesforce": (salesforce_emulator, concrete_paths(SF_PATHS, obj=SF_OBJECTS, ver=["59.0"])),
        "netsuite": (netsuite_emulator, concrete_paths(NS_PATHS, type=NS_TYPES)),
    }
    missing = {name: unmatched_routes(emulator, paths) for name, (emulator, paths) in checks.items()}
    assert missing == dict.fromkeys(checks, []), missing


@pytest.mark.parametrize(
    "method, path, params, body",
    [
        ("GET", "/crm/v3/objects/contacts", {"limit": "abc"}, b""),
        ("GET", "/crm/v3/objects/contacts", {"after": "abc"}, b""),
        ("POST", "/crm/v3/objects/contacts", {}, b"{not json"),
        ("PATCH", "/crm/v3/objects/contacts/1001", {}, b"{not json"),
        ("POST", "/crm/v3/properties/contacts", {}, b"{not json"),
        ("GET", "/crm/v3/owners", {"limit": "abc"}, b""),
        ("POST", "/crm/v3/objects/contacts/merge", {}, b"[1]"),
        ("POST", "/crm/v3/objects/contacts/merge", {}, b'{"primaryObjectId": [1], "objectIdToMerge": {"id": 2}}'),
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
