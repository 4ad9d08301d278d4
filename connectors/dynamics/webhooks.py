"""Dataverse webhooks: the RemoteExecutionContext a service endpoint receives, and its auth.

Dataverse posts the plug-in execution context as JSON (a "RemoteExecutionContext") to a
registered service endpoint whose contract is Webhook (8). The endpoint is authenticated by
one of three options (Microsoft: "Register a WebHook", authentication options):

- WebhookKey (authtype 4): a query string `?code=<key>` (the Azure Functions convention);
- HttpHeader (authtype 5): one or more `Key: Value` request headers;
- HttpQueryString (authtype 6): one or more `?Key=Value` query parameters.

The header/query pairs are registered as `authvalue` XML: `<settings><setting name="k" value="v" /></settings>`.
Every post also carries x-request-id, x-ms-dynamics-organization, x-ms-dynamics-entity-name,
x-ms-dynamics-request-name and x-ms-correlation-request-id (and x-ms-dynamics-msg-size-exceeded
when the context was trimmed to fit 256 KB). There is no signature: the shared key is the proof.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit
from xml.sax.saxutils import quoteattr

from connectors.base import WebhookEvent
from syncsmart import jsonbounds

WEBHOOK_CONTRACT = 8
AUTH_TYPES = {"WebhookKey": 4, "HttpHeader": 5, "HttpQueryString": 6}
AUTH_TYPE_NAMES = {v: k for k, v in AUTH_TYPES.items()}
MESSAGE_CHANGES = {"Create": "created", "Update": "updated", "Delete": "deleted"}
OBJECT_TYPE_OF = {
    "lead": "leads",
    "contact": "contacts",
    "account": "accounts",
    "opportunity": "opportunities",
    "systemuser": "systemusers",
}


# --- authvalue XML -------------------------------------------------------------------------------
def settings_xml(pairs: Mapping[str, str]) -> str:
    items = "".join(f"<setting name={quoteattr(k)} value={quoteattr(v)} />" for k, v in pairs.items())
    return f"<settings>{items}</settings>"


def parse_settings_xml(text: str) -> dict[str, str]:
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ValueError(f"authvalue is not <settings> XML: {exc}") from None
    return {s.get("name", ""): s.get("value", "") for s in root.iter("setting")}


# --- sending (the emulator) -------------------------------------------------------------------------
def delivery_url_and_headers(url: str, auth_type: str, auth_value: str) -> tuple[str, dict[str, str]]:
    """Where and with which extra headers Dataverse posts for this service endpoint's auth."""
    if auth_type == "WebhookKey":
        return _with_query(url, {"code": auth_value}), {}
    if auth_type == "HttpQueryString":
        return _with_query(url, parse_settings_xml(auth_value)), {}
    if auth_type == "HttpHeader":
        return url, parse_settings_xml(auth_value)
    raise ValueError(f"unsupported webhook auth type {auth_type!r}")


def _with_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = "&".join(filter(None, [parts.query, urlencode(params)]))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def wcf_date(value: dt.datetime) -> str:
    """The WCF JSON date Dataverse uses in execution contexts: /Date(1495136154000)/."""
    return f"/Date({int(value.timestamp() * 1000)})/"


def parse_wcf_date(text: str) -> dt.datetime | None:
    m = re.match(r"/Date\((-?[0-9]{1,15})([+-][0-9]{4})?\)/", text or "")
    if m is None:
        return None
    try:
        return dt.datetime.fromtimestamp(int(m.group(1)) / 1000, dt.UTC)
    except (OverflowError, OSError, ValueError):  # a date no calendar has
        return None


def entity_json(logical_name: str, record_id: str, attributes: Mapping[str, Any]) -> dict[str, Any]:
    """An Entity as the DataContractJsonSerializer writes it (Attributes as key/value pairs)."""
    return {
        "__type": "Entity:http://schemas.microsoft.com/xrm/2011/Contracts",
        "Attributes": [{"key": k, "value": v} for k, v in attributes.items()],
        "EntityState": None,
        "FormattedValues": [],
        "Id": record_id,
        "KeyAttributes": [],
        "LogicalName": logical_name,
        "RelatedEntities": [],
        "RowVersion": None,
    }


def remote_execution_context(
    *,
    message: str,
    logical_name: str,
    record_id: str,
    attributes: Mapping[str, Any],
    user_id: str,
    organization_id: str,
    organization_name: str,
    business_unit_id: str,
    occurred_at: dt.datetime,
    post_image: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    correlation = str(uuid.uuid4())
    return {
        "BusinessUnitId": business_unit_id,
        "CorrelationId": correlation,
        "Depth": 1,
        "InitiatingUserId": user_id,
        "InputParameters": [{"key": "Target", "value": entity_json(logical_name, record_id, attributes)}],
        "IsExecutingOffline": False,
        "IsInTransaction": False,
        "IsOfflinePlayback": False,
        "IsolationMode": 1,
        "MessageName": message,
        "Mode": 1,  # asynchronous step
        "OperationCreatedOn": wcf_date(occurred_at),
        "OperationId": str(uuid.uuid4()),
        "OrganizationId": organization_id,
        "OrganizationName": organization_name,
        "OutputParameters": [{"key": "id", "value": record_id}] if message == "Create" else [],
        "OwningExtension": {
            "Id": str(uuid.uuid4()),
            "KeyAttributes": [],
            "LogicalName": "sdkmessageprocessingstep",
            "Name": f"SyncSmart: {message} of {logical_name}",
            "RowVersion": None,
        },
        "ParentContext": None,
        "PostEntityImages": [{"key": "PostImage", "value": entity_json(logical_name, record_id, post_image)}]
        if post_image
        else [],
        "PreEntityImages": [],
        "PrimaryEntityId": record_id,
        "PrimaryEntityName": logical_name,
        "RequestId": str(uuid.uuid4()),
        "SecondaryEntityName": "none",
        "SharedVariables": [],
        "Stage": 40,  # post-operation
        "UserId": user_id,
    }


def delivery_headers(context: Mapping[str, Any], correlation_id: str | None = None) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "x-request-id": str(uuid.uuid4()),
        "x-ms-dynamics-organization": str(context.get("OrganizationName", "")),
        "x-ms-dynamics-entity-name": str(context.get("PrimaryEntityName", "")),
        "x-ms-dynamics-request-name": str(context.get("MessageName", "")),
        "x-ms-correlation-request-id": correlation_id or str(context.get("CorrelationId", "")),
    }


# --- receiving (the connector) -------------------------------------------------------------------------
def verify(auth_type: str, secrets: Mapping[str, Any], method: str, url: str, headers: Mapping[str, str]) -> bool:
    """True when the request carries the configured key(s). Constant-time comparisons; no key configured = refuse."""
    if method.upper() != "POST":
        return False
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}
    lowered = {k.lower(): v for k, v in headers.items()}
    if auth_type == "WebhookKey":
        return _same(query.get("code"), secrets.get("webhook_key"))
    expected = secrets.get("webhook_pairs") or {}
    if not expected or auth_type not in ("HttpHeader", "HttpQueryString"):
        return False
    got = (lambda k: lowered.get(k.lower())) if auth_type == "HttpHeader" else query.get
    return all(_same(got(name), value) for name, value in expected.items())


def _same(got: Any, expected: Any) -> bool:
    if not got or not expected:
        return False
    return hmac.compare_digest(str(got).encode(), str(expected).encode())


def parse(body: bytes) -> list[WebhookEvent]:
    """Events for the tables we sync; an unparsable body or another table yields nothing."""
    try:
        context = jsonbounds.loads(body)
    except ValueError:
        return []
    if not isinstance(context, dict):
        return []
    object_type = OBJECT_TYPE_OF.get(str(context.get("PrimaryEntityName", "")))
    record_id = str(context.get("PrimaryEntityId") or "")
    if not object_type or not record_id:
        return []
    return [
        WebhookEvent(
            object_type=object_type,
            record_id=record_id.lower()[:100],
            change=MESSAGE_CHANGES.get(str(context.get("MessageName")), "updated"),
            occurred_at=parse_wcf_date(str(context.get("OperationCreatedOn", ""))),
            event_id=str(context.get("OperationId") or context.get("RequestId") or context.get("CorrelationId") or ""),
            payload={"message": context.get("MessageName"), "attributes": _target_attributes(context)},
        )
    ]


def _target_attributes(context: Mapping[str, Any]) -> dict[str, Any]:
    for param in _dicts(context.get("InputParameters")):
        if param.get("key") == "Target" and isinstance(param.get("value"), dict):
            return {str(a.get("key")): a.get("value") for a in _dicts(param["value"].get("Attributes"))}
    return {}


def _dicts(value: Any) -> list[dict]:
    """The objects of a JSON array (a hostile body may put anything where an array belongs)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
