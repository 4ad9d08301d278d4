"""What each emulator's docstring says it does NOT emulate, where a request can show it, is answered
the way the docstring says: a 4xx in the vendor's error shape (never a silent answer that looks
right), or the named simplification. Each case quotes the docstring phrase it checks, and the test
fails if that phrase leaves the docstring, so the list and the emulator cannot drift apart."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from connectors.connectwise import API_PATH
from connectors.connectwise import emulator as connectwise_module
from connectors.connectwise import emulator_activities as connectwise_activities_module
from connectors.dynamics import emulator as dynamics_module
from connectors.dynamics import schema_activities as dynamics_activities_module
from connectors.hubspot import emulator as hubspot_module
from connectors.hubspot import emulator_engagements as hubspot_engagements_module
from connectors.hubspot import emulator_lifecycle as hubspot_lifecycle_module
from connectors.hubspot import emulator_lists as hubspot_lists_module
from connectors.netsuite import emulator as netsuite_module
from connectors.salesforce import emulator as salesforce_module
from tests.connectors.test_emulators_malformed_input import (
    connectwise,
    connectwise_emulator,
    dynamics,
    dynamics_emulator,
    hubspot,
    hubspot_emulator,
    netsuite,
    netsuite_emulator,
    salesforce,
    salesforce_emulator,
)

__all__ = [  # module-scoped fixtures shared with the fuzzing tests
    "connectwise",
    "connectwise_emulator",
    "dynamics",
    "dynamics_emulator",
    "hubspot",
    "hubspot_emulator",
    "netsuite",
    "netsuite_emulator",
    "salesforce",
    "salesforce_emulator",
]


def hubspot_error(body: Any) -> bool:
    return isinstance(body, dict) and {"status", "message", "correlationId", "category"} <= body.keys()


def connectwise_error(body: Any) -> bool:
    return isinstance(body, dict) and body.get("code") and body.get("message")


def dynamics_error(body: Any) -> bool:
    return isinstance(body, dict) and re.fullmatch(r"0x[0-9a-f]{8}", body.get("error", {}).get("code", ""))


def salesforce_error(body: Any) -> bool:
    return isinstance(body, list) and body and {"message", "errorCode"} <= body[0].keys()


def netsuite_error(body: Any) -> bool:
    return isinstance(body, dict) and body.get("o:errorDetails") and body["o:errorDetails"][0].get("o:errorCode")


SQL = "/services/rest/query/v1/suiteql"
TRANSIENT = {"Prefer": "transient"}
# (system fixture, docstring module, phrase in its docstring, request, status, error-shape check or None)
CASES: list[tuple[str, Any, str, tuple[str, str, dict[str, Any]], int, Callable[[Any], bool] | None]] = [
    ("hubspot", hubspot_module, "other object types (tickets", ("GET", "/crm/v3/objects/tickets", {}), 404, hubspot_error),
    (
        "hubspot",
        hubspot_module,
        "sorting on more than one property",
        ("POST", "/crm/v3/objects/contacts/search", {"json": {"sorts": ["email", "firstname"]}}),
        400,
        hubspot_error,
    ),
    (
        "hubspot",
        hubspot_module,
        "the client-credentials grant",
        ("POST", "/oauth/v1/token", {"data": {"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"}}),
        400,
        hubspot_error,
    ),
    ("hubspot", hubspot_module, "property groups' CRUD", ("POST", "/crm/v3/properties/contacts/groups", {"json": {}}), 405, None),
    ("hubspot", hubspot_module, "GDPR delete", ("POST", "/crm/v3/objects/contacts/gdpr-delete", {"json": {}}), 405, None),
    (
        "hubspot",
        hubspot_lifecycle_module,
        "reading a merged-away id answers 404 here",
        ("GET", "/crm/v3/objects/contacts/{merged}", {}),
        404,
        hubspot_error,
    ),
    (
        "hubspot",
        hubspot_lists_module,
        "the `before` cursor (a 400)",
        ("GET", "/crm/v3/lists/1/memberships", {"params": {"before": "x"}}),
        400,
        hubspot_error,
    ),
    (
        "hubspot",
        hubspot_lists_module,
        "any other filter is refused with a 400 when the list is created",
        (
            "POST",
            "/crm/v3/lists",
            {
                "json": {
                    "name": "Gap: association filter",
                    "objectTypeId": "0-1",
                    "processingType": "DYNAMIC",
                    "filterBranch": {
                        "filterBranchType": "OR",
                        "filterBranches": [{"filterBranchType": "AND", "filters": [{"filterType": "ASSOCIATION"}]}],
                    },
                }
            },
        ),
        400,
        hubspot_error,
    ),
    (
        "hubspot",
        hubspot_engagements_module,
        "hs_call_disposition takes any value",
        (
            "POST",
            "/crm/v3/objects/calls",
            {"json": {"properties": {"hs_timestamp": "2024-01-01T00:00:00Z", "hs_call_disposition": "no-such-outcome"}}},
        ),
        201,
        None,
    ),
    (
        "hubspot",
        hubspot_engagements_module,
        "an engagement created without any association is accepted",
        ("POST", "/crm/v3/objects/notes", {"json": {"properties": {"hs_timestamp": "2024-01-01T00:00:00Z"}}}),
        201,
        None,
    ),
    (
        "connectwise",
        connectwise_activities_module,
        "we accept any length",
        ("POST", API_PATH + "/company/companies/1/notes", {"json": {"text": "x" * 20_000}}),
        201,
        None,
    ),
    (
        "dynamics",
        dynamics_activities_module,
        "`/activityparties` is not an entity set here",
        ("GET", "/api/data/v9.2/activityparties", {}),
        404,
        dynamics_error,
    ),
    ("connectwise", connectwise_module, "service tickets", ("GET", API_PATH + "/service/tickets", {}), 404, connectwise_error),
    (
        "connectwise",
        connectwise_module,
        "opportunity forecasts,\n  notes and probabilities as resources",
        ("GET", API_PATH + "/sales/opportunities/1/notes", {}),
        404,
        connectwise_error,
    ),
    (
        "dynamics",
        dynamics_module,
        "$apply, $search and the other system query",
        ("GET", "/api/data/v9.2/accounts", {"params": {"$apply": "groupby((name))"}}),
        400,
        dynamics_error,
    ),
    (
        "dynamics",
        dynamics_module,
        "$apply, $search and the other system query",
        ("GET", "/api/data/v9.2/accounts", {"params": {"$search": "contoso"}}),
        400,
        dynamics_error,
    ),
    (
        "dynamics",
        dynamics_module,
        "operators (any/all, a 400 syntax error)",
        ("GET", "/api/data/v9.2/accounts", {"params": {"$filter": "contact_customer_accounts/any(c:c/firstname eq 'x')"}}),
        400,
        dynamics_error,
    ),
    (
        "dynamics",
        dynamics_module,
        "another key column is a 400",
        ("PATCH", "/api/data/v9.2/accounts(accountnumber='A-1')", {"json": {"name": "x"}}),
        400,
        dynamics_error,
    ),
    (
        "dynamics",
        dynamics_module,
        "DeleteMultiple",
        ("POST", "/api/data/v9.2/accounts/Microsoft.Dynamics.CRM.DeleteMultiple", {"json": {"Targets": []}}),
        404,
        dynamics_error,
    ),
    (
        "salesforce",
        salesforce_module,
        "/composite, /composite/batch, /composite/tree and Bulk API resources (a 404",
        ("POST", "/services/data/v59.0/composite", {"json": {"compositeRequest": []}}),
        404,
        salesforce_error,
    ),
    (
        "salesforce",
        salesforce_module,
        "/composite, /composite/batch, /composite/tree and Bulk API resources (a 404",
        ("GET", "/services/data/v59.0/jobs/ingest", {}),
        404,
        salesforce_error,
    ),
    (
        "salesforce",
        salesforce_module,
        "relationship\nqueries, sub-queries",
        ("GET", "/services/data/v59.0/query", {"params": {"q": "SELECT Id, (SELECT Id FROM Contacts) FROM Account"}}),
        400,
        salesforce_error,
    ),
    (
        "salesforce",
        salesforce_module,
        "User writes",
        ("POST", "/services/data/v59.0/sobjects/User", {"json": {"LastName": "New"}}),
        400,
        salesforce_error,
    ),
    (
        "netsuite",
        netsuite_module,
        "any other record type (a 404)",
        ("GET", "/services/rest/record/v1/salesOrder", {}),
        404,
        netsuite_error,
    ),
    (
        "netsuite",
        netsuite_module,
        "transforms and actions (a 404)",
        ("POST", "/services/rest/record/v1/customer/104/!transform/salesOrder", {"json": {}}),
        404,
        netsuite_error,
    ),
    (
        "netsuite",
        netsuite_module,
        "SuiteQL joins / GROUP BY / sub-queries / analytic functions (a 400)",
        ("POST", SQL, {"json": {"q": "SELECT c.id FROM customer c JOIN contact k ON k.company = c.id"}, "headers": TRANSIENT}),
        400,
        netsuite_error,
    ),
    (
        "netsuite",
        netsuite_module,
        "SuiteQL joins / GROUP BY / sub-queries / analytic functions (a 400)",
        ("POST", SQL, {"json": {"q": "SELECT COUNT(*) FROM customer GROUP BY entitystatus"}, "headers": TRANSIENT}),
        400,
        netsuite_error,
    ),
    (
        "netsuite",
        netsuite_module,
        "request is answered synchronously, 204",
        (
            "POST",
            "/services/rest/record/v1/customer",
            {"json": {"companyName": "Async Co", "subsidiary": {"id": "1"}}, "headers": {"Prefer": "respond-async"}},
        ),
        204,
        None,
    ),
]


def docstring_text(module: Any) -> str:
    return " ".join((module.__doc__ or "").split())


@pytest.mark.parametrize(
    "system, module, phrase, call, status, shape", CASES, ids=[f"{c[0]}: {' '.join(c[2].split())}" for c in CASES]
)
def test_a_documented_gap_is_answered_as_the_docstring_says(request, system, module, phrase, call, status, shape):
    assert " ".join(phrase.split()) in docstring_text(module), f"the docstring no longer names: {phrase!r}"
    client: httpx.Client = request.getfixturevalue(system)
    method, path, kwargs = call
    if "{merged}" in path:
        emulator = request.getfixturevalue("hubspot_emulator")
        keep = emulator.create_record("contacts", {"email": "keep.gap@example.com"})
        gone = emulator.create_record("contacts", {"email": "gone.gap@example.com"})
        emulator.lifecycle.merge_records("contacts", keep, gone)
        path = path.format(merged=gone)
    response = client.request(method, path, **kwargs)
    assert response.status_code == status, response.text[:300]
    if shape is not None:
        assert shape(response.json()), response.text[:300]
