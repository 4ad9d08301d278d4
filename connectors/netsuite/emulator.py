"""The NetSuite emulator: SuiteTalk REST web services of one account, in memory.

Reachable in-process (`emulator.transport()`) and on a real port (`emulator.serve()`, or
`python manage.py emulator netsuite --port N [--tls --ca-file F] [--account 1234567_SB1]
[--concurrency 5] [--subsidiaries] [--script-url URL --script-secret S]`), with the shared knobs of
connectors.emulation.Emulator (latency, faults, counters).

What it emulates, from NetSuite's REST web services documentation:
- REST Record Service `/services/rest/record/v1/`: customer (companies and individuals:
  isPerson, companyName, firstName/lastName, entityStatus — LEAD-/PROSPECT-/CUSTOMER- stages —,
  subsidiary, salesRep, addressBook sublist), contact (company, email, title), opportunity
  (entity, entityStatus, probability, expectedCloseDate, projectedTotal, salesRep), employee
  (read-only for the integration role): GET by id (`fields`, `expandSubResources=true` expands
  sublists), list with `q` filters (IS, IS_NOT, CONTAIN, START_WITH, END_WITH, EMPTY, EMPTY_NOT,
  EQUAL, GREATER, LESS, ANY_OF, ON, AFTER, BEFORE, ON_OR_AFTER, ON_OR_BEFORE joined by AND / OR),
  `limit` (1–1,000) and `offset` with `links` (self / next / prev / first / last), `count`,
  `hasMore`, `totalResults`; POST (204 with `Location`), PATCH (204), DELETE (204), upsert by
  external id (`PUT …/customer/eid:VALUE`, 204 with `Location`); references written as
  `{"id": "…"}` and read as `{"id", "refName", "links"}`; `X-NetSuite-PropertyNameValidation:
  error` refuses unknown fields (otherwise they are ignored, as NetSuite does by default);
  subsidiary required on customers and contacts when the account uses subsidiaries (OneWorld);
- SuiteQL (`POST /services/rest/query/v1/suiteql`, body `{"q": …}`, `Prefer: transient`
  required, `limit` ≤ 1,000, `offset`, `hasMore`, `totalResults`, at most 100,000 results paged
  through): the grammar in suiteql.py over the tables customer, contact, transaction (type
  'Opprtnty' for opportunities), employee, entitystatus, subsidiary, and DeletedRecord (a row
  per DELETE: recordid, type — the record type, e.g. 'customer' —, deleteddate, name,
  externalid, context); values come back as strings
  (booleans 'T'/'F', dates in the M/D/YYYY preference unless TO_CHAR formats them), and null
  columns are left out of an item, as NetSuite does;
- the metadata catalog (`/services/rest/record/v1/metadata-catalog[?select=…]`, and per record
  type with `Accept: application/schema+json` (JSON Schema) or `application/swagger+json`
  (OpenAPI 3)): field names, titles, types, formats, `nullable`, reference targets and the
  enumerations of fixed-value fields; the options of select fields are list records, read through
  SuiteQL (`SELECT key, name FROM entitystatus`), as on NetSuite;
- custom entity fields (`custentity…`, Free-Form Text) made by `add_custom_field`, standing for an
  administrator in the UI (NetSuite has no REST resource that creates one): then in the metadata
  catalog, records, writes and SuiteQL columns;
- authentication: Token-Based Authentication (OAuth 1.0a, HMAC-SHA256, realm = account id),
  verified with oauthlib, nonces remembered against replay; OAuth 2.0 bearer tokens from the
  authorization code grant (`/app/login/oauth2/authorize.nl` → `code`, `state`, `company`;
  `/services/rest/auth/oauth2/v1/token` with client_secret_basic; access tokens last 60 minutes,
  refresh tokens 7 days) and from the client credentials grant (a PS256/RS256 JWT assertion whose
  `kid` names an uploaded certificate, verified with PyJWT);
- errors as NetSuite writes them: `{type, title, status, o:errorDetails: [{detail, o:errorCode,
  o:errorPath?, o:errorQueryParam?}]}` — INVALID_LOGIN (401), INSUFFICIENT_PERMISSION (403),
  NONEXISTENT_ID (404), INVALID_PARAMETER / USER_ERROR / INVALID_KEY_OR_REF (400),
  CONCURRENCY_LIMIT_EXCEEDED (429);
- concurrency governance: at most `concurrency_limit` requests of the account in flight at once
  (the latency knob counts as time in flight); the next one gets 429 CONCURRENCY_LIMIT_EXCEEDED at
  once. The peak in flight is reported in the counters (`max_in_flight`);
- the SyncSmart user-event script (docs/netsuite/syncsmart_user_event.js) "deployed" as a knob
  (`deploy_script(url, secret)`): after every create / edit / delete of a customer, contact or
  opportunity it POSTs `{"type", "id", "event", "occurredAt"}` signed as the script signs it;
- in-process helpers to act as a NetSuite user (`add_customer`, `add_contact`,
  `add_opportunity`, `add_employee`, `edit`, `delete`, `get`, `count`), and `demo(seed_size)`.

What it does NOT emulate: any other record type (a 404), sublists other than the customer address
book, custom records / custom fields / custom lists, saved searches, RESTlets, SOAP, roles and
permissions beyond "employees are read-only", the `Prefer: respond-async` asynchronous mode (such a
request is answered synchronously, 204, where NetSuite answers 202 with a job to poll), record
transforms and actions (a 404), SuiteQL joins / GROUP BY / sub-queries / analytic functions (a 400),
multi-currency and sales tax, duplicate detection, field-level sourcing (e.g. a contact's
subsidiary from its company), the exact wording of every NetSuite message (the shape and the
error codes are faithful, the words are ours), and the data-centre URL discovery service.

Guesses, not confirmed against an account or its Records Catalog: SuiteQL's DeletedRecord column
names (recordid, type, deleteddate, name, externalid, context) and its `type` values (the REST
record type id, e.g. 'customer'); the NetSuite connector's deletion feed (lifecycle.py) depends on
recordid and type only. Also ours: the error code of an unknown field in a record body under
`X-NetSuite-PropertyNameValidation: error` (INVALID_PARAMETER with o:errorPath naming the field).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import hmac
import json
import random
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode

import jwt

from connectors.emulation import Emulator, Request, Response, WebhookSender, iso, json_response, public, utcnow
from connectors.netsuite import (
    ACCOUNT_CONCURRENCY_STANDARD,
    DEFAULT_INTEGRATION_CONCURRENCY,
    MAX_PAGE_SIZE,
    METADATA_PATH,
    RECORD_PATH,
    SUITEQL_MAX_RESULTS,
    SUITEQL_PATH,
    suiteql,
)
from connectors.netsuite import webhooks as script
from connectors.netsuite.auth import AUTHORIZE_PATH, JWT_BEARER, TOKEN_PATH, TBAVerifier, realm_for

DEMO_ACCOUNT = "1234567_SB1"
DEMO_CONSUMER_KEY = "c0a1" * 16
DEMO_CONSUMER_SECRET = "5ec1" * 16
DEMO_TOKEN_ID = "70e1" * 16
DEMO_TOKEN_SECRET = "7e5e" * 16
DEMO_REDIRECT_URI = "http://127.0.0.1:8000/install/netsuite/callback"
ACCESS_TOKEN_SECONDS = 3600
REFRESH_TOKEN_SECONDS = 7 * 86400

RFC9110 = "https://www.rfc-editor.org/rfc/rfc9110.html#section-15."
STATUS_SECTION = {400: "5.1", 401: "5.2", 403: "5.4", 404: "5.5", 405: "5.6", 409: "5.10", 415: "5.16", 429: "5.29"}
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Record Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
DEFAULT_CODES = {
    400: "INVALID_PARAMETER",
    401: "INVALID_LOGIN",
    403: "INSUFFICIENT_PERMISSION",
    404: "NONEXISTENT_ID",
    405: "INVALID_METHOD",
    429: "CONCURRENCY_LIMIT_EXCEEDED",
    500: "UNEXPECTED_ERROR",
    502: "UNEXPECTED_ERROR",
    503: "UNEXPECTED_ERROR",
}
INVALID_LOGIN = (
    "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at Setup > Users/Roles > "
    "User Management > View Login Audit Trail."
)


class NetSuiteError(Exception):
    def __init__(self, status: int, detail: str, code: str = "", **extra: str):
        super().__init__(detail)
        self.status, self.detail, self.code, self.extra = status, detail, code or DEFAULT_CODES.get(status, "USER_ERROR"), extra


# --- record types ------------------------------------------------------------------------------
@dataclass(frozen=True)
class FieldDef:
    name: str  # REST name (camelCase)
    title: str
    kind: str  # text email phone url bool int number date datetime select enum
    column: str = ""  # SuiteQL column (default: name lower-cased)
    target: str = ""  # select: the record type / list it points at
    read_only: bool = False
    options: tuple[str, ...] = ()  # enum: fixed values

    @property
    def col(self) -> str:
        return self.column or self.name.lower()


@dataclass(frozen=True)
class RecordType:
    name: str
    table: str  # SuiteQL table
    fields: tuple[FieldDef, ...]
    writable: bool = True
    transaction_type: str = ""  # SuiteQL transaction.type
    created_column: str = "datecreated"

    def field(self, name: str) -> FieldDef | None:
        return next((f for f in self.fields if f.name == name), None)


_COMMON = (
    FieldDef("id", "Internal ID", "int", read_only=True),
    FieldDef("externalId", "External ID", "text"),
    FieldDef("dateCreated", "Date Created", "datetime", read_only=True),
    FieldDef("lastModifiedDate", "Date Last Modified", "datetime", read_only=True),
)
RECORD_TYPES: dict[str, RecordType] = {
    r.name: r
    for r in [
        RecordType(
            "customer",
            "customer",
            _COMMON
            + (
                FieldDef("entityId", "Customer ID", "text"),
                FieldDef("isPerson", "Type: Individual", "bool"),
                FieldDef("companyName", "Company Name", "text"),
                FieldDef("firstName", "First Name", "text"),
                FieldDef("lastName", "Last Name", "text"),
                FieldDef("email", "Email", "email"),
                FieldDef("phone", "Phone", "phone"),
                FieldDef("url", "Web Address", "url"),
                FieldDef("entityStatus", "Status", "select", target="entitystatus"),
                FieldDef("subsidiary", "Primary Subsidiary", "select", target="subsidiary"),
                FieldDef("salesRep", "Sales Rep", "select", target="employee"),
                FieldDef("comments", "Comments", "text"),
                FieldDef("isInactive", "Inactive", "bool"),
                FieldDef("emailPreference", "Email Preference", "enum", options=("_default", "_hTML", "_pDF")),
            ),
        ),
        RecordType(
            "contact",
            "contact",
            _COMMON
            + (
                FieldDef("entityId", "Contact", "text"),
                FieldDef("firstName", "First Name", "text"),
                FieldDef("lastName", "Last Name", "text"),
                FieldDef("email", "Email", "email"),
                FieldDef("phone", "Main Phone", "phone"),
                FieldDef("mobilePhone", "Mobile Phone", "phone"),
                FieldDef("title", "Job Title", "text"),
                FieldDef("company", "Company", "select", target="customer"),
                FieldDef("subsidiary", "Subsidiary", "select", target="subsidiary"),
                FieldDef("isInactive", "Inactive", "bool"),
            ),
        ),
        RecordType(
            "opportunity",
            "transaction",
            _COMMON
            + (
                FieldDef("tranId", "Opportunity #", "text", read_only=True),
                FieldDef("title", "Title", "text"),
                FieldDef("entity", "Customer", "select", target="customer"),
                FieldDef("entityStatus", "Status", "select", target="entitystatus"),
                FieldDef("probability", "Probability", "number"),
                FieldDef("expectedCloseDate", "Expected Close", "date"),
                FieldDef("projectedTotal", "Projected Total", "number"),
                FieldDef("salesRep", "Sales Rep", "select", target="employee", column="employee"),
                FieldDef("memo", "Memo", "text"),
                FieldDef("subsidiary", "Subsidiary", "select", target="subsidiary"),
            ),
            transaction_type="Opprtnty",
            created_column="createddate",
        ),
        RecordType(
            "employee",
            "employee",
            _COMMON
            + (
                FieldDef("entityId", "Name", "text"),
                FieldDef("firstName", "First Name", "text"),
                FieldDef("lastName", "Last Name", "text"),
                FieldDef("email", "Email", "email"),
                FieldDef("title", "Job Title", "text"),
                FieldDef("isInactive", "Inactive", "bool"),
            ),
            writable=False,
        ),
    ]
}
# Standard customer statuses (Setup > Sales > Customer Statuses), key -> (stage, name, probability).
ENTITY_STATUSES: dict[int, tuple[str, str, int]] = {
    6: ("LEAD", "Unqualified", 0),
    7: ("LEAD", "Qualified", 5),
    8: ("PROSPECT", "In Discussion", 10),
    9: ("PROSPECT", "Identified Decision Makers", 25),
    10: ("PROSPECT", "Proposal", 50),
    11: ("PROSPECT", "In Negotiation", 75),
    12: ("PROSPECT", "Purchasing", 90),
    13: ("CUSTOMER", "Closed Won", 100),
    14: ("CUSTOMER", "Renewal", 100),
    15: ("PROSPECT", "Closed Lost", 0),
}
STAGE_WORDS = {"LEAD": "LEAD", "PROSPECT": "PROSPECT", "CUSTOMER": "CUSTOMER"}
WATCHED = ("customer", "contact", "opportunity")  # what the user-event script is deployed on


# SuiteQL's DeletedRecord table: one row per deleted record (record type, internal id, when, name).
DELETED_RECORD_COLUMNS = ("recordid", "type", "deleteddate", "name", "externalid", "context")


def _deleted_row(record_type: str, record: dict[str, Any]) -> dict[str, Any]:
    return {
        "recordid": record["id"],
        "type": record_type,
        "deleteddate": _now(),
        "name": record.get("entityId") or record.get("tranId") or str(record["id"]),
        "externalid": record.get("externalId"),
        "context": "WEBSERVICES",
    }


def _status_name(key: int) -> str:
    stage, name, _ = ENTITY_STATUSES[key]
    return f"{stage}-{name}"


def _now() -> dt.datetime:
    # NetSuite stamps records to the second.
    return utcnow().replace(microsecond=0)


@dataclass
class _Account:
    records: dict[str, dict[int, dict[str, Any]]] = field(default_factory=lambda: {name: {} for name in RECORD_TYPES})
    subsidiaries: dict[int, str] = field(default_factory=lambda: {1: "Parent Company", 2: "SyncSmart UK"})
    next_id: int = 100
    deleted: list[dict[str, Any]] = field(default_factory=list)  # SuiteQL DeletedRecord rows


class NetSuiteEmulator(Emulator):
    system = "netsuite"

    def __init__(
        self,
        *,
        account: str = DEMO_ACCOUNT,
        consumer_key: str = DEMO_CONSUMER_KEY,
        consumer_secret: str = DEMO_CONSUMER_SECRET,
        token_id: str = DEMO_TOKEN_ID,
        token_secret: str = DEMO_TOKEN_SECRET,
        redirect_uris: tuple[str, ...] = (DEMO_REDIRECT_URI,),
        concurrency_limit: int = ACCOUNT_CONCURRENCY_STANDARD,
        subsidiaries: bool = True,
        seed_size: int = 0,
        **knobs: Any,
    ):
        self.account = realm_for(account)
        self.consumer_key, self.consumer_secret = consumer_key, consumer_secret
        self.redirect_uris = set(redirect_uris)
        self.concurrency_limit = int(concurrency_limit)
        self.uses_subsidiaries = subsidiaries
        self.tba = TBAVerifier(self.account)
        self.tba.add_consumer(consumer_key, consumer_secret)
        self.tba.add_token(consumer_key, token_id, token_secret)
        self.data = _Account()
        self.types: dict[str, RecordType] = dict(RECORD_TYPES)  # plus custom fields made in the account
        self._rows: dict[str, dict[int, tuple]] = {}  # SuiteQL rows per record, rebuilt after a write
        self._codes: dict[str, tuple[str, float]] = {}  # authorization code -> (redirect uri, expiry)
        self._access: dict[str, float] = {}  # bearer token -> expiry
        self._refresh: dict[str, float] = {}
        self.certificates: dict[str, Any] = {}  # client credentials: certificate id -> public key (PEM)
        self._in_flight = 0
        self._max_in_flight = 0
        self._refused = 0
        self._flight_lock = threading.Lock()
        self.script_url: str | None = None
        self.script_secret: str | None = None
        self.webhooks = WebhookSender()
        self.served_tls = False  # wsgiref says "http" behind our TLS socket: signatures need the real scheme
        super().__init__(**knobs)
        if seed_size:
            self.seed_demo(seed_size)

    # --- options ------------------------------------------------------------------------------
    @classmethod
    def add_arguments(cls, parser) -> None:
        parser.add_argument("--account", default=DEMO_ACCOUNT, help="account id (realm); sandboxes end in _SB1")
        parser.add_argument("--consumer-key", default=DEMO_CONSUMER_KEY)
        parser.add_argument("--consumer-secret", default=DEMO_CONSUMER_SECRET)
        parser.add_argument("--token-id", default=DEMO_TOKEN_ID)
        parser.add_argument("--token-secret", default=DEMO_TOKEN_SECRET)
        parser.add_argument("--redirect-uri", action="append", default=[], help="OAuth 2.0 redirect URI (repeatable)")
        parser.add_argument(
            "--concurrency", type=int, default=ACCOUNT_CONCURRENCY_STANDARD, help="account's concurrent-request limit"
        )
        parser.add_argument("--no-subsidiaries", action="store_true", help="an account without OneWorld subsidiaries")
        parser.add_argument("--script-url", default="", help="deploy the SyncSmart user-event script: where it posts")
        parser.add_argument("--script-secret", default="", help="the script's HMAC secret")

    @classmethod
    def from_options(cls, options: dict[str, Any], **knobs: Any) -> NetSuiteEmulator:
        emulator = cls(
            account=options.get("account") or DEMO_ACCOUNT,
            consumer_key=options.get("consumer_key") or DEMO_CONSUMER_KEY,
            consumer_secret=options.get("consumer_secret") or DEMO_CONSUMER_SECRET,
            token_id=options.get("token_id") or DEMO_TOKEN_ID,
            token_secret=options.get("token_secret") or DEMO_TOKEN_SECRET,
            redirect_uris=tuple(options.get("redirect_uri") or ()) + (DEMO_REDIRECT_URI,),
            concurrency_limit=int(options.get("concurrency") or ACCOUNT_CONCURRENCY_STANDARD),
            subsidiaries=not options.get("no_subsidiaries"),
            seed_size=int(options.get("seed_size") or 0),
            **knobs,
        )
        if options.get("script_url"):
            emulator.deploy_script(options["script_url"], options.get("script_secret") or "")
        return emulator

    @classmethod
    def demo(cls, seed_size: int = 100, **kwargs: Any) -> NetSuiteEmulator:
        return cls(seed_size=seed_size, **kwargs)

    def set_knobs(self, latency_ms=None, limits=None, faults=None, seed=None, concurrency_limit=None) -> None:
        super().set_knobs(latency_ms=latency_ms, limits=limits, faults=faults, seed=seed)
        if concurrency_limit is not None:
            self.concurrency_limit = int(concurrency_limit)

    def serve(self, host: str = "127.0.0.1", port: int = 0, tls: bool = False, ca_file=None):
        self.served_tls = tls
        return super().serve(host, port, tls=tls, ca_file=ca_file)

    def _url(self, request: Request) -> str:
        url = request.url
        return "https://" + url[len("http://") :] if self.served_tls and url.startswith("http://") else url

    def connection_settings(self, base_url: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(config, credentials) of a TBA connection to this account at `base_url` (demo, bench)."""
        config = {
            "account_id": self.account,
            "base_url": base_url,
            "auth_method": "tba",
            "consumer_key": self.consumer_key,
            "client_id": self.consumer_key,
            "token_id": DEMO_TOKEN_ID,
            "default_subsidiary": "1" if self.uses_subsidiaries else "",
            "concurrency": min(self.concurrency_limit, DEFAULT_INTEGRATION_CONCURRENCY),
        }
        token_secret = self.tba.tokens.get(DEMO_TOKEN_ID, ("", DEMO_TOKEN_SECRET))[1]
        credentials = {"consumer_secret": self.consumer_secret, "token_id": DEMO_TOKEN_ID, "token_secret": token_secret}
        return config, credentials

    def deploy_script(self, url: str | None, secret: str = "") -> None:
        """Deploy (url set) or undeploy (None) the SyncSmart user-event script."""
        self.script_url, self.script_secret = (url or None), (secret or None)

    # --- routes ----------------------------------------------------------------------------------
    def setup_routes(self) -> None:
        rec = re.escape(RECORD_PATH)
        meta = re.escape(METADATA_PATH)
        self.route("GET", meta, self.metadata_catalog, name="metadata-catalog")
        self.route("GET", meta + r"/(?P<type>[A-Za-z]+)", self.metadata_record, name="metadata-catalog record")
        self.route("POST", re.escape(SUITEQL_PATH), self.suiteql, name="suiteql", write=False)
        self.route("POST", re.escape(TOKEN_PATH), public(lambda r: self.token(r)), name="oauth2 token", write=False)
        self.route("GET", re.escape(AUTHORIZE_PATH), public(lambda r: self.authorize(r)), name="oauth2 authorize")
        for name in RECORD_TYPES:
            base = rec + "/" + name
            self.route("GET", base, self._bind(self.list_records, name), name=f"{name} list")
            self.route("GET", base + r"/(?P<id>[^/]+)", self._bind(self.get_record, name), name=f"{name} get")
            self.route("POST", base, self._bind(self.create_record, name), name=f"{name} create")
            self.route("PATCH", base + r"/(?P<id>[^/]+)", self._bind(self.patch_record, name), name=f"{name} patch")
            self.route("PUT", base + r"/(?P<id>[^/]+)", self._bind(self.put_record, name), name=f"{name} upsert")
            self.route("DELETE", base + r"/(?P<id>[^/]+)", self._bind(self.delete_record, name), name=f"{name} delete")

    def _bind(self, handler: Callable[[Request, str], Response], record_type: str) -> Callable[[Request], Response]:
        return lambda request: self._guard(lambda: handler(request, record_type))

    @staticmethod
    def _guard(call: Callable[[], Response]) -> Response:
        try:
            return call()
        except NetSuiteError as error:
            return _error_response(error)

    # --- the base class's hooks ---------------------------------------------------------------------
    def error(self, status: int, message: str, **extra: Any) -> Response:
        return _error_response(NetSuiteError(status, message))

    def handle(self, request: Request) -> Response:
        """Concurrency governance: count the request in flight for its whole life (latency included)."""
        if request.path.startswith("/_emulator/") or request.path.startswith("/app/login/") or not self.limits:
            return self._counted(request)
        with self._flight_lock:
            if self._in_flight >= self.concurrency_limit:
                self._refused += 1
                refused = True
            else:
                self._in_flight += 1
                self._max_in_flight = max(self._max_in_flight, self._in_flight)
                refused = False
        if refused:
            with self.lock:
                self._counts["429 concurrency"] += 1
            return _error_response(
                NetSuiteError(
                    429,
                    f"The request could not be processed because the account's limit of {self.concurrency_limit} "
                    "concurrent requests was exceeded. Retry the request later.",
                    "CONCURRENCY_LIMIT_EXCEEDED",
                )
            )
        try:
            return self._counted(request)
        finally:
            with self._flight_lock:
                self._in_flight -= 1

    def _counted(self, request: Request) -> Response:
        return super().handle(request)

    def counters(self) -> dict[str, Any]:
        counts = super().counters()
        with self._flight_lock:
            counts |= {"max_in_flight": self._max_in_flight, "in_flight": self._in_flight, "concurrency_refused": self._refused}
        return counts

    def reset_counters(self) -> None:
        super().reset_counters()
        with self._flight_lock:
            self._max_in_flight = self._in_flight
            self._refused = 0

    def authenticate(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        if header[:7].lower() == "bearer ":
            expiry = self._access.get(header[7:].strip())
            if expiry is not None and expiry > time.time():
                return None
            return _error_response(NetSuiteError(401, INVALID_LOGIN, "INVALID_LOGIN"))
        if header[:6].lower() == "oauth ":
            ok, _why = self.tba.verify(request.method, self._url(request), {"Authorization": header})
            if ok:
                return None
        return _error_response(NetSuiteError(401, INVALID_LOGIN, "INVALID_LOGIN"))

    def decorate(self, request: Request, response: Response) -> None:
        response.headers.setdefault("X-N-OperationId", secrets.token_hex(16))

    def control(self, request: Request) -> Response | None:
        if request.path == "/_emulator/script" and request.method == "POST":
            body = request.json() or {}
            self.deploy_script(body.get("url"), body.get("secret") or "")
            return json_response({"ok": True, "deployed": bool(self.script_url)})
        if request.path == "/_emulator/concurrency" and request.method == "POST":
            self.set_knobs(concurrency_limit=int((request.json() or {}).get("limit", self.concurrency_limit)))
            return json_response({"ok": True})
        return None

    # --- OAuth 2.0 -----------------------------------------------------------------------------------
    def authorize(self, request: Request) -> Response:
        """The consent screen, approved at once for the demo account: redirect with a code."""
        client_id, redirect_uri = request.arg("client_id", ""), request.arg("redirect_uri", "")
        if request.arg("response_type") != "code" or client_id != self.consumer_key:
            return json_response({"error": "invalid_request", "error_description": "Unknown client_id or response_type"}, 400)
        if redirect_uri not in self.redirect_uris:
            return json_response({"error": "invalid_request", "error_description": "redirect_uri is not registered"}, 400)
        if "rest_webservices" not in (request.arg("scope") or "").split():
            return json_response({"error": "invalid_scope", "error_description": "scope must include rest_webservices"}, 400)
        code = secrets.token_urlsafe(24)
        with self.lock:
            self._codes[code] = (redirect_uri, time.time() + 600)
        query = {"code": code, "company": self.account, "role": "3", "entity": "-5"}
        if request.arg("state"):
            query["state"] = request.arg("state") or ""
        return Response(302, None, {"Location": f"{redirect_uri}?{urlencode(query)}"})

    def token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        grant = form.get("grant_type", "")
        if grant == "client_credentials":
            return self._client_credentials(form)
        if not self._client_authenticated(request):
            return json_response({"error": "invalid_client"}, 401)
        now = time.time()
        with self.lock:
            if grant == "authorization_code":
                redirect, expiry = self._codes.pop(form.get("code", ""), ("", 0))
                if expiry < now or redirect != form.get("redirect_uri"):
                    return json_response({"error": "invalid_grant"}, 400)
            elif grant == "refresh_token":
                if self._refresh.get(form.get("refresh_token", ""), 0) < now:
                    return json_response({"error": "invalid_grant"}, 400)
            else:
                return json_response({"error": "unsupported_grant_type"}, 400)
        return json_response(self._issue(refresh=grant == "authorization_code"))

    def _issue(self, refresh: bool) -> dict[str, Any]:
        access = secrets.token_urlsafe(32)
        body: dict[str, Any] = {"access_token": access, "expires_in": str(ACCESS_TOKEN_SECONDS), "token_type": "bearer"}
        with self.lock:
            self._access[access] = time.time() + ACCESS_TOKEN_SECONDS
            if refresh:
                body["refresh_token"] = secrets.token_urlsafe(32)
                self._refresh[body["refresh_token"]] = time.time() + REFRESH_TOKEN_SECONDS
        return body

    def _client_authenticated(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if header[:6].lower() != "basic ":
            return False
        try:
            user, _, password = base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return hmac.compare_digest(user, self.consumer_key) and hmac.compare_digest(password, self.consumer_secret)

    def _client_credentials(self, form: dict[str, str]) -> Response:
        if form.get("client_assertion_type") != JWT_BEARER or not form.get("client_assertion"):
            return json_response({"error": "invalid_request", "error_description": "client_assertion is required"}, 400)
        assertion = form["client_assertion"]
        try:
            kid = jwt.get_unverified_header(assertion).get("kid", "")
            key = self.certificates.get(kid)
            if key is None:
                return json_response({"error": "invalid_client", "error_description": "unknown certificate id"}, 401)
            claims = jwt.decode(
                assertion,
                key,
                algorithms=["PS256", "RS256", "ES256"],
                options={"require": ["iss", "aud", "exp", "iat"], "verify_aud": False},
            )
        except jwt.PyJWTError as exc:
            return json_response({"error": "invalid_grant", "error_description": str(exc)}, 400)
        if claims.get("iss") != self.consumer_key or not str(claims.get("aud", "")).endswith(TOKEN_PATH):
            return json_response({"error": "invalid_grant", "error_description": "iss or aud is wrong"}, 400)
        return json_response(self._issue(refresh=False))

    def add_certificate(self, certificate_id: str, public_key_pem: str) -> None:
        """Upload a certificate for the client credentials grant (Setup > Integration > OAuth 2.0 M2M)."""
        self.certificates[certificate_id] = public_key_pem

    # --- records: REST --------------------------------------------------------------------------------
    def list_records(self, request: Request, record_type: str) -> Response:
        limit, offset = _paging(request, MAX_PAGE_SIZE)
        where = _parse_q(request.arg("q"), self.types[record_type]) if request.arg("q") else None
        with self.lock:
            rows = [r for r in self.data.records[record_type].values() if where is None or where(r)]
        rows.sort(key=lambda r: r["id"])
        page = rows[offset : offset + limit]
        base = self._base(request) + f"{RECORD_PATH}/{record_type}"
        items = [{"links": [_link("self", f"{base}/{r['id']}")], "id": str(r["id"])} for r in page]
        return json_response(_collection(base, request, items, len(rows), limit, offset))

    def get_record(self, request: Request, record_type: str) -> Response:
        record = self._find(record_type, request.params["id"])
        expand = (request.arg("expandSubResources") or "").lower() == "true"
        wanted = {f.strip() for f in (request.arg("fields") or "").split(",") if f.strip()}
        body = self._render(request, record_type, record, expand)
        if wanted:
            body = {k: v for k, v in body.items() if k in wanted or k in ("id", "links")}
        return json_response(body)

    def create_record(self, request: Request, record_type: str) -> Response:
        self._refuse_read_only(record_type)
        values = self._validated_body(request, record_type, creating=True)
        record = self._insert(record_type, values)
        return self._located(request, record_type, record)

    def patch_record(self, request: Request, record_type: str) -> Response:
        self._refuse_read_only(record_type)
        record = self._find(record_type, request.params["id"])
        values = self._validated_body(request, record_type, creating=False, current=record)
        self._update(record_type, record, values)
        return Response(204, None)

    def put_record(self, request: Request, record_type: str) -> Response:
        """Upsert by external id: PUT …/customer/eid:VALUE creates or updates that record."""
        self._refuse_read_only(record_type)
        key = request.params["id"]
        if not key.startswith("eid:") or len(key) <= 4:
            raise NetSuiteError(
                405, "PUT is only allowed on a record addressed by its external id (eid:VALUE).", "INVALID_METHOD"
            )
        external_id = _unquote(key[4:])
        with self.lock:
            record = next((r for r in self.data.records[record_type].values() if r.get("externalId") == external_id), None)
            values = self._validated_body(request, record_type, creating=record is None, current=record)
            values["externalId"] = external_id
            if record is None:
                record = self._insert(record_type, values)
            else:
                self._update(record_type, record, values)
        return self._located(request, record_type, record)

    def delete_record(self, request: Request, record_type: str) -> Response:
        self._refuse_read_only(record_type)
        record = self._find(record_type, request.params["id"])
        self.delete(record_type, record["id"])
        return Response(204, None)

    def _located(self, request: Request, record_type: str, record: dict) -> Response:
        return Response(204, None, {"Location": f"{self._base(request)}{RECORD_PATH}/{record_type}/{record['id']}"})

    @staticmethod
    def _refuse_read_only(record_type: str) -> None:
        if not RECORD_TYPES[record_type].writable:
            raise NetSuiteError(
                403, f"Permission Violation: the integration role may only view {record_type} records.", "INSUFFICIENT_PERMISSION"
            )

    def _find(self, record_type: str, key: str) -> dict[str, Any]:
        with self.lock:
            if key.startswith("eid:"):
                external_id = _unquote(key[4:])
                found = next((r for r in self.data.records[record_type].values() if r.get("externalId") == external_id), None)
            else:
                found = self.data.records[record_type].get(int(key)) if key.isdigit() and len(key) < 19 else None
        if found is None:
            raise NetSuiteError(
                404, "The record instance does not exist. Provide a valid record instance ID.", "NONEXISTENT_ID", urlPath="id"
            )
        return found

    def _base(self, request: Request) -> str:
        scheme = "https" if self.served_tls else request.environ.get("wsgi.url_scheme", "https")
        host = request.environ.get("HTTP_HOST") or request.environ.get("SERVER_NAME", "localhost")
        return f"{scheme}://{host}"

    # --- rendering ---------------------------------------------------------------------------------
    def _render(self, request: Request, record_type: str, record: dict[str, Any], expand: bool) -> dict[str, Any]:
        base = self._base(request)
        spec = self.types[record_type]
        body: dict[str, Any] = {"links": [_link("self", f"{base}{RECORD_PATH}/{record_type}/{record['id']}")]}
        for f in spec.fields:
            value = record.get(f.name)
            if value is None:
                continue  # NetSuite leaves empty fields out
            if f.kind == "select":
                body[f.name] = {
                    "links": [_link("self", f"{base}{RECORD_PATH}/{f.target}/{value}")] if f.target in RECORD_TYPES else [],
                    "id": str(value),
                    "refName": self._ref_name(f.target, value),
                }
            elif f.kind == "enum":
                body[f.name] = {"id": value, "refName": value.strip("_").upper()}
            elif f.kind == "datetime":
                body[f.name] = value.strftime("%Y-%m-%dT%H:%M:%SZ")
            elif f.kind == "date":
                body[f.name] = value.isoformat()
            elif f.kind == "int":
                body[f.name] = str(value) if f.name == "id" else value
            elif f.kind == "number":
                body[f.name] = float(value)
            else:
                body[f.name] = value
        if record_type == "customer":
            link = {"links": [_link("self", f"{base}{RECORD_PATH}/customer/{record['id']}/addressBook")]}
            body["addressBook"] = (
                link
                | {
                    "items": [dict(a) for a in record.get("addressBook") or []],
                    "totalResults": len(record.get("addressBook") or []),
                }
                if expand
                else link
            )
        return body

    def _ref_name(self, target: str, value: Any) -> str:
        if target == "entitystatus":
            return _status_name(int(value)) if int(value) in ENTITY_STATUSES else str(value)
        if target == "subsidiary":
            return self.data.subsidiaries.get(int(value), str(value))
        record = self.data.records.get(target, {}).get(int(value))
        if record is None:
            return str(value)
        return str(
            record.get("companyName")
            or " ".join(p for p in (record.get("firstName"), record.get("lastName")) if p)
            or record.get("title")
            or record.get("entityId")
            or value
        )

    # --- validation ------------------------------------------------------------------------------------
    def _validated_body(
        self, request: Request, record_type: str, *, creating: bool, current: dict | None = None
    ) -> dict[str, Any]:
        content_type = request.headers.get("content-type", "")
        if request.body and "json" not in content_type:
            raise NetSuiteError(415, "The request body must be JSON (Content-Type: application/json).", "INVALID_CONTENT")
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise NetSuiteError(400, "The request body is not valid JSON.", "INVALID_CONTENT") from None
        if not isinstance(body, dict):
            raise NetSuiteError(400, "The request body must be a JSON object.", "INVALID_CONTENT")
        strict = request.headers.get("x-netsuite-propertynamevalidation", "").lower() == "error"
        spec = self.types[record_type]
        values: dict[str, Any] = {}
        for name, raw in body.items():
            f = spec.field(name)
            if f is None or name == "id":
                if name == "addressBook" and record_type == "customer":
                    values["addressBook"] = _address_book(raw)
                    continue
                if strict or name == "id":
                    raise NetSuiteError(
                        400, f"Invalid field '{name}'. Provide a valid field name.", "INVALID_PARAMETER", errorPath=name
                    )
                continue
            if f.read_only:
                raise NetSuiteError(400, f"The field '{name}' is read-only.", "INVALID_PARAMETER", errorPath=name)
            values[name] = self._coerce(f, raw)
        merged = {**(current or {}), **values}
        self._check_required(record_type, merged, creating)
        return values

    def _coerce(self, f: FieldDef, raw: Any) -> Any:
        """A written value in the form the field stores (NetSuiteError with NetSuite's message)."""
        if raw is None or raw == "":
            return None
        if f.kind == "select":
            return self._reference(f, raw)
        return _SCALAR_VALUES.get(f.kind, _text_value)(f, raw)

    def _reference(self, f: FieldDef, raw: Any) -> int:
        ref = raw.get("id") if isinstance(raw, dict) else None
        if ref is None or not str(ref).isdigit() or len(str(ref)) > 18:
            raise _invalid(f, 'expected a reference such as {"id": "13"}')
        if not self._exists(f.target, int(ref)):
            raise NetSuiteError(
                400,
                f"Invalid value for the resource or sub-resource field '{f.name}'. Provide a valid value.",
                "INVALID_KEY_OR_REF",
                errorPath=f.name,
            )
        return int(ref)

    def _exists(self, target: str, key: int) -> bool:
        if target == "entitystatus":
            return key in ENTITY_STATUSES
        if target == "subsidiary":
            return key in self.data.subsidiaries
        return key in self.data.records.get(target, {})

    def _check_required(self, record_type: str, record: dict[str, Any], creating: bool) -> None:
        missing = []
        if record_type == "customer":
            if record.get("isPerson"):
                if not record.get("lastName") and not record.get("firstName"):
                    missing.append("Name")
            elif not record.get("companyName"):
                missing.append("Company Name")
        elif record_type == "contact":
            if not (record.get("firstName") or record.get("lastName") or record.get("entityId")):
                missing.append("Name")
        elif record_type == "opportunity" and not record.get("entity"):
            missing.append("Customer")
        if self.uses_subsidiaries and record_type in ("customer", "contact") and creating and not record.get("subsidiary"):
            missing.append("Primary Subsidiary" if record_type == "customer" else "Subsidiary")
        if missing:
            raise NetSuiteError(400, f"Please enter value(s) for: {', '.join(missing)}", "USER_ERROR")

    # --- storage ------------------------------------------------------------------------------------------
    def _insert(self, record_type: str, values: dict[str, Any]) -> dict[str, Any]:
        now = _now()
        with self.lock:
            self.data.next_id += 1
            key = self.data.next_id
            record = {"id": key, "dateCreated": now, "lastModifiedDate": now, **values}
            if record_type == "customer":
                record.setdefault("isPerson", False)
                record.setdefault("entityStatus", 13)
                record.setdefault("entityId", record.get("companyName") or _person(record) or f"CUST{key}")
            elif record_type in ("contact", "employee"):
                record.setdefault("entityId", _person(record) or f"{record_type.upper()}{key}")
            elif record_type == "opportunity":
                record.setdefault("tranId", f"OPP{key}")
                record.setdefault("entityStatus", 8)
                status = ENTITY_STATUSES.get(record["entityStatus"])
                if status and record.get("probability") is None:
                    record["probability"] = Decimal(status[2])
            self.data.records[record_type][key] = record
        self._notify(record_type, key, "create")
        return record

    def _update(self, record_type: str, record: dict[str, Any], values: dict[str, Any]) -> None:
        with self.lock:
            record.update(values)
            record["lastModifiedDate"] = _now()
            self._rows.get(record_type, {}).pop(record["id"], None)
        self._notify(record_type, record["id"], "edit")

    def _notify(self, record_type: str, key: int, event: str) -> None:
        """The user-event script's afterSubmit: post type + id, signed, when deployed."""
        if not self.script_url or record_type not in WATCHED:
            return
        body = json.dumps(
            {"type": record_type, "id": str(key), "event": event, "occurredAt": iso(utcnow()), "account": self.account}
        ).encode()
        self.webhooks.send(self.script_url, body, script.sign(self.script_secret or "", body, int(time.time())))

    # --- in-process helpers (a NetSuite user at work) --------------------------------------------------------
    def add_customer(
        self, company_name: str | None = None, *, first_name: str = "", last_name: str = "", **fields: Any
    ) -> dict[str, Any]:
        values: dict[str, Any] = {"isPerson": company_name is None, "subsidiary": 1}
        if company_name is not None:
            values["companyName"] = company_name
        else:
            values |= {"firstName": first_name, "lastName": last_name}
        return self._insert("customer", values | fields)

    def add_contact(self, first_name: str, last_name: str, email: str | None = None, company: int | None = None, **fields: Any):
        values = {"firstName": first_name, "lastName": last_name, "email": email, "company": company, "subsidiary": 1}
        return self._insert("contact", {k: v for k, v in (values | fields).items() if v is not None})

    def add_opportunity(self, title: str, entity: int, **fields: Any) -> dict[str, Any]:
        return self._insert("opportunity", {"title": title, "entity": entity} | fields)

    def add_custom_field(self, record_type: str, script_id: str, label: str) -> None:
        """A Free-Form Text custom entity field applied to `record_type`, as an administrator makes
        it (Customization > Lists, Records & Fields > Entity Fields > New): NetSuite has no REST
        resource that creates one. It is then in the metadata catalog, records, writes and SuiteQL."""
        spec = self.types[record_type]
        if not re.fullmatch(r"custentity[a-z0-9_]{1,30}", script_id) or spec.field(script_id) is not None:
            raise ValueError(f"not a new custom entity field id: {script_id!r}")
        with self.lock:
            self.types[record_type] = dataclasses.replace(spec, fields=(*spec.fields, FieldDef(script_id, label, "text")))
            self._rows.pop(record_type, None)

    def add_employee(self, email: str, first_name: str, last_name: str) -> dict[str, Any]:
        return self._insert("employee", {"email": email, "firstName": first_name, "lastName": last_name})

    def edit(self, record_type: str, key: Any, values: dict[str, Any]) -> dict[str, Any]:
        record = self.get(record_type, key)
        if record is None:
            raise KeyError(key)
        self._update(record_type, record, dict(values))
        return record

    def delete(self, record_type: str, key: Any) -> None:
        with self.lock:
            removed = self.data.records[record_type].pop(int(key), None)
            self._rows.get(record_type, {}).pop(int(key), None)
            if removed is not None:
                self.data.deleted.append(_deleted_row(record_type, removed))
        if removed is not None:
            self._notify(record_type, int(key), "delete")

    def get(self, record_type: str, key: Any) -> dict[str, Any] | None:
        with self.lock:
            return self.data.records[record_type].get(int(key)) if str(key).isdigit() else None

    def count(self, record_type: str) -> int:
        with self.lock:
            return len(self.data.records[record_type])

    def all(self, record_type: str) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.data.records[record_type].values())

    def seed_demo(self, size: int) -> None:
        rng = random.Random(self.seed)
        reps = [self.add_employee(f"rep{n}@example.com", f"Rep{n}", "Seller") for n in range(3)]
        firsts = ["Ana", "Ben", "Chloe", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun"]
        for n in range(size):
            company = self.add_customer(
                f"Demo Customer {n}",
                url=f"https://customer{n}.example.com",
                phone=f"+1 555 01{n:02d}",
                entityStatus=rng.choice(list(ENTITY_STATUSES)),
                salesRep=rng.choice(reps)["id"],
            )
            first = rng.choice(firsts)
            self.add_contact(first, f"Contact{n}", f"{first.lower()}.{n}@customer{n}.example.com", company["id"])
            self.add_opportunity(
                f"Demo deal {n}",
                company["id"],
                projectedTotal=Decimal(rng.randrange(1000, 90000)),
                expectedCloseDate=(utcnow() + dt.timedelta(days=rng.randrange(5, 120))).date(),
            )
        for n in range(max(1, size // 10)):
            self.add_customer(None, first_name=rng.choice(firsts), last_name=f"Individual{n}", email=f"person{n}@example.org")

    # --- SuiteQL -----------------------------------------------------------------------------------------------
    TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
        "entitystatus": ("id", "key", "name", "stage", "probability", "inactive", "descr"),
        "subsidiary": ("id", "name", "isinactive"),
        "deletedrecord": DELETED_RECORD_COLUMNS,
    }

    def suiteql(self, request: Request) -> Response:
        return self._guard(lambda: self._suiteql(request))

    def _suiteql(self, request: Request) -> Response:
        if "transient" not in request.headers.get("prefer", "").lower():
            raise NetSuiteError(400, "The request header 'Prefer: transient' is required for SuiteQL.", "INVALID_HEADER")
        try:
            body = json.loads(request.body or b"null")
        except (ValueError, UnicodeDecodeError):
            raise NetSuiteError(400, "The request body is not valid JSON.", "INVALID_CONTENT") from None
        if not isinstance(body, dict) or not isinstance(body.get("q"), str):
            raise NetSuiteError(400, 'The request body must be {"q": "SELECT ..."}.', "INVALID_CONTENT")
        limit, offset = _paging(request, MAX_PAGE_SIZE)
        if offset + limit > SUITEQL_MAX_RESULTS:
            raise NetSuiteError(
                400,
                f"SuiteQL can page through at most {SUITEQL_MAX_RESULTS:,} results of one query; narrow the query "
                "(for example by lastModifiedDate or id) instead of paging further.",
                "INVALID_PARAMETER",
                errorQueryParam="offset",
            )
        try:
            query = suiteql.parse(body["q"])
            rows, columns = self._table(query.table)
            page, total = suiteql.execute(query, rows, columns, self._display, offset=offset, limit=limit)
        except suiteql.SuiteQLError as error:
            raise NetSuiteError(400, f"Invalid search query: {error}", "INVALID_PARAMETER") from None
        items = [{"links": [], **{k: _sql_text(v) for k, v in row.items() if v is not None and v != ""}} for row in page]
        base = self._base(request) + SUITEQL_PATH
        return json_response(_collection(base, request, items, total, limit, offset))

    def _table(self, table: str) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
        if table == "entitystatus":
            rows = [
                {"id": k, "key": k, "name": name, "stage": stage, "probability": p, "inactive": False, "descr": f"{stage}-{name}"}
                for k, (stage, name, p) in ENTITY_STATUSES.items()
            ]
            return rows, self.TABLE_COLUMNS["entitystatus"]
        if table == "subsidiary":
            rows = [{"id": k, "name": name, "isinactive": False} for k, name in self.data.subsidiaries.items()]
            return rows, self.TABLE_COLUMNS["subsidiary"]
        if table == "deletedrecord":
            with self.lock:
                return [dict(row) for row in self.data.deleted], DELETED_RECORD_COLUMNS
        spec = next((r for r in self.types.values() if r.table == table), None)
        if spec is None:
            raise suiteql.SuiteQLError(f"Unknown table '{table}'")
        columns = tuple(f.col for f in spec.fields if f.name not in ("dateCreated",)) + (spec.created_column,)
        if spec.transaction_type:
            columns += ("type",)
        with self.lock:
            cache = self._rows.setdefault(spec.name, {})
            rows = []
            for key, record in self.data.records[spec.name].items():
                cached = cache.get(key)
                # A row is rebuilt when its record was written (writes drop it) or re-stamped by hand.
                if cached is None or cached[0] is not record or cached[1] != record.get("lastModifiedDate"):
                    cached = cache[key] = (record, record.get("lastModifiedDate"), self._row(spec, record))
                rows.append(cached[2])
        return rows, columns

    @staticmethod
    def _row(spec: RecordType, record: dict[str, Any]) -> dict[str, Any]:
        row = {f.col: record.get(f.name) for f in spec.fields if f.name != "dateCreated"}
        row[spec.created_column] = record.get("dateCreated")
        if spec.transaction_type:
            row["type"] = spec.transaction_type
        return row

    def _display(self, column: str, value: Any) -> Any:
        if value is None:
            return None
        target = {"entitystatus": "entitystatus", "subsidiary": "subsidiary", "salesrep": "employee", "employee": "employee"}.get(
            column, "customer" if column in ("company", "entity") else ""
        )
        return self._ref_name(target, value) if target else value

    # --- metadata ------------------------------------------------------------------------------------------------
    def metadata_catalog(self, request: Request) -> Response:
        wanted = {s.strip() for s in (request.arg("select") or "").split(",") if s.strip()}
        unknown = wanted - set(RECORD_TYPES)
        if unknown:
            return _error_response(
                NetSuiteError(400, f"Invalid record type: {sorted(unknown)[0]}", "INVALID_PARAMETER", errorQueryParam="select")
            )
        base = self._base(request)
        accept = request.headers.get("accept", "")
        if "swagger" in accept:
            return Response(200, self._openapi(sorted(wanted or RECORD_TYPES)), content_type="application/swagger+json")
        items = [
            {
                "name": name,
                "links": [
                    _link("canonical", f"{base}{METADATA_PATH}/{name}") | {"mediaType": "application/json"},
                    _link("alternate", f"{base}{METADATA_PATH}/{name}") | {"mediaType": "application/swagger+json"},
                    _link("alternate", f"{base}{METADATA_PATH}/{name}") | {"mediaType": "application/schema+json"},
                    _link("describes", f"{base}{RECORD_PATH}/{name}"),
                ],
            }
            for name in sorted(wanted or RECORD_TYPES)
        ]
        return json_response({"items": items, "links": [_link("self", f"{base}{METADATA_PATH}")]})

    def metadata_record(self, request: Request) -> Response:
        name = request.params["type"]
        if name not in RECORD_TYPES:
            return _error_response(NetSuiteError(404, f"Record type '{name}' does not exist.", "NONEXISTENT_ID"))
        if "swagger" in request.headers.get("accept", ""):
            return Response(200, self._openapi([name]), content_type="application/swagger+json")
        return Response(200, self._schema(name), content_type="application/schema+json")

    def _schema(self, name: str) -> dict[str, Any]:
        spec = self.types[name]
        properties: dict[str, Any] = {}
        for f in spec.fields:
            prop: dict[str, Any] = {"title": f.title, "nullable": True, "x-ns-filterable": True}
            if f.read_only or not spec.writable:
                prop["readOnly"] = True
            if f.kind == "select":
                prop |= {
                    "type": "object",
                    "properties": {"id": {"title": "Internal identifier", "type": "string"}, "refName": {"type": "string"}},
                    "x-ns-referenced-record-type": f.target,
                }
            elif f.kind == "enum":
                prop |= {"type": "object", "properties": {"id": {"type": "string", "enum": list(f.options)}}}
            else:
                prop |= {
                    "text": {"type": "string"},
                    "email": {"type": "string", "format": "email"},
                    "phone": {"type": "string", "format": "phone"},
                    "url": {"type": "string", "format": "uri"},
                    "bool": {"type": "boolean"},
                    "int": {"type": "integer", "format": "int64"},
                    "number": {"type": "number", "format": "double"},
                    "date": {"type": "string", "format": "date"},
                    "datetime": {"type": "string", "format": "date-time"},
                }[f.kind]
            properties[f.name] = prop
        if name == "customer":
            properties["addressBook"] = {"title": "Address Book", "type": "object", "x-ns-sublist": True}
        required = {"customer": ["companyName"], "contact": [], "opportunity": ["entity"]}.get(name, [])
        if self.uses_subsidiaries and name in ("customer", "contact"):
            required = required + ["subsidiary"]
        return {"type": "object", "properties": properties, "required": required, "x-ns-record-type": name}

    def _openapi(self, names: list[str]) -> dict[str, Any]:
        return {
            "openapi": "3.0.1",
            "info": {"title": "NetSuite REST Record API", "version": "v1"},
            "paths": {f"/{n}": {"get": {}, "post": {}} for n in names}
            | {f"/{n}/{{id}}": {"get": {}, "patch": {}, "delete": {}, "put": {}} for n in names},
            "components": {"schemas": {n: self._schema(n) for n in names}},
        }


# --- helpers --------------------------------------------------------------------------------------------
def _raise(error: Exception) -> Any:
    raise error


# --- written values by field kind (NetSuiteEmulator._coerce) -----------------------------------------
def _invalid(f: FieldDef, why: str) -> NetSuiteError:
    return NetSuiteError(400, f"Invalid value for the field '{f.name}': {why}.", "INVALID_PARAMETER", errorPath=f.name)


def _enum_value(f: FieldDef, raw: Any) -> Any:
    value = raw.get("id") if isinstance(raw, dict) else raw
    if value not in f.options:
        raise _invalid(f, f"use one of {', '.join(f.options)}")
    return value


def _bool_value(f: FieldDef, raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise _invalid(f, "expected true or false")
    return raw


def _number_value(f: FieldDef, raw: Any) -> Decimal:
    try:
        return Decimal(str(raw)) if not isinstance(raw, bool) else _raise(_invalid(f, "expected a number"))
    except InvalidOperation:
        raise _invalid(f, "expected a number") from None


def _date_value(f: FieldDef, raw: Any) -> dt.date:
    try:
        return dt.date.fromisoformat(str(raw)[:10])
    except ValueError:
        raise _invalid(f, "expected a date such as 2026-12-31") from None


def _text_value(f: FieldDef, raw: Any) -> str:
    if not isinstance(raw, (str, int, float)) or isinstance(raw, bool):
        raise _invalid(f, "expected text")
    text = str(raw)
    if len(text) > 4000:
        raise _invalid(f, "the text is longer than 4,000 characters")
    if f.kind == "email" and text and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", text):
        raise _invalid(f, "not a valid e-mail address")
    return text


_SCALAR_VALUES: dict[str, Callable[[FieldDef, Any], Any]] = {
    "enum": _enum_value,
    "bool": _bool_value,
    "number": _number_value,
    "date": _date_value,
}


def _person(record: dict[str, Any]) -> str:
    return " ".join(p for p in (record.get("firstName"), record.get("lastName")) if p)


def _unquote(value: str) -> str:
    return unquote(value)


def _address_book(raw: Any) -> list[dict[str, Any]]:
    items = raw.get("items") if isinstance(raw, dict) else None
    if not isinstance(items, list):
        raise NetSuiteError(400, 'addressBook must be {"items": [...]}.', "INVALID_PARAMETER", errorPath="addressBook")
    book = []
    for item in items[:50]:
        address = (item or {}).get("addressBookAddress") if isinstance(item, dict) else None
        if not isinstance(address, dict):
            raise NetSuiteError(400, "Each address needs addressBookAddress.", "INVALID_PARAMETER", errorPath="addressBook")
        book.append(
            {
                "defaultBilling": bool(item.get("defaultBilling")),
                "defaultShipping": bool(item.get("defaultShipping")),
                "addressBookAddress": {
                    k: str(address[k])[:300] for k in ("addr1", "addr2", "city", "state", "zip", "country") if address.get(k)
                },
            }
        )
    return book


def _link(rel: str, href: str) -> dict[str, str]:
    return {"rel": rel, "href": href}


def _paging(request: Request, maximum: int) -> tuple[int, int]:
    def number(name: str, default: int) -> int:
        raw = request.arg(name)
        if raw is None or raw == "":
            return default
        if not raw.isdigit() or len(raw) > 9:
            raise NetSuiteError(
                400, f"Invalid value for the query parameter '{name}'.", "INVALID_PARAMETER", errorQueryParam=name
            )
        return int(raw)

    limit, offset = number("limit", maximum), number("offset", 0)
    if not 1 <= limit <= maximum:
        raise NetSuiteError(400, f"The limit must be between 1 and {maximum}.", "INVALID_PARAMETER", errorQueryParam="limit")
    return limit, offset


def _collection(base: str, request: Request, items: list[dict], total: int, limit: int, offset: int) -> dict[str, Any]:
    extra = {k: v[0] for k, v in request.query.items() if k not in ("limit", "offset")}

    def href(at: int) -> str:
        return f"{base}?{urlencode(extra | {'limit': limit, 'offset': at})}"

    has_more = offset + len(items) < total
    links = [_link("self", href(offset)), _link("first", href(0))]
    if offset > 0:
        links.append(_link("prev", href(max(0, offset - limit))))
    if has_more:
        links.append(_link("next", href(offset + limit)))
    links.append(_link("last", href(max(0, (total - 1) // limit * limit))))
    return {"links": links, "count": len(items), "hasMore": has_more, "items": items, "offset": offset, "totalResults": total}


def _sql_text(value: Any) -> str:
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, (dt.datetime, dt.date)):
        return f"{value.month}/{value.day}/{value.year}"  # the M/D/YYYY date preference
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return text
    return str(value)


def _error_response(error: NetSuiteError) -> Response:
    detail: dict[str, Any] = {"detail": error.detail, "o:errorCode": error.code}
    for key, value in error.extra.items():
        detail[f"o:{key}"] = value
    body = {
        "type": RFC9110 + STATUS_SECTION.get(error.status, "6.1" if error.status >= 500 else "5.1"),
        "title": TITLES.get(error.status, "Error"),
        "status": error.status,
        "o:errorDetails": [detail],
    }
    headers = {"Retry-After": "1"} if error.status == 429 else {}
    return Response(error.status, body, headers, content_type="application/vnd.oracle.resource+json; type=error; charset=UTF-8")


# --- the record list's `q` filter ------------------------------------------------------------------------------
_Q_TOKEN = re.compile(r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<word>[^\s"]+))')
Q_OPERATORS = {
    "IS",
    "IS_NOT",
    "CONTAIN",
    "DOES_NOT_CONTAIN",
    "START_WITH",
    "DOES_NOT_START_WITH",
    "END_WITH",
    "DOES_NOT_END_WITH",
    "EMPTY",
    "EMPTY_NOT",
    "EQUAL",
    "NOT_EQUAL",
    "GREATER",
    "GREATER_OR_EQUAL",
    "LESS",
    "LESS_OR_EQUAL",
    "ANY_OF",
    "ANY_OF_NOT",
    "ON",
    "AFTER",
    "BEFORE",
    "ON_OR_AFTER",
    "ON_OR_BEFORE",
}


def _q_tokens(text: str) -> list[str]:
    tokens, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _Q_TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise NetSuiteError(400, "Invalid search query.", "INVALID_PARAMETER", errorQueryParam="q")
        tokens.append(match.group("string") or match.group("word"))
        position = match.end()
    return tokens


def _parse_q(text: str | None, spec: RecordType) -> Callable[[dict[str, Any]], bool]:
    """`field OPERATOR value [AND|OR field OPERATOR value …]`; AND binds tighter than OR."""
    tokens = _q_tokens(text or "")
    if len(text or "") > 10_000 or not tokens:
        raise NetSuiteError(400, "Invalid search query.", "INVALID_PARAMETER", errorQueryParam="q")
    groups: list[list[Callable[[dict], bool]]] = [[]]
    index = 0
    while index < len(tokens):
        name = tokens[index]
        f = spec.field(name)
        if f is None:
            raise NetSuiteError(400, f"Invalid search query: unknown field '{name}'.", "INVALID_PARAMETER", errorQueryParam="q")
        if index + 1 >= len(tokens) or tokens[index + 1].upper() not in Q_OPERATORS:
            raise NetSuiteError(400, "Invalid search query: expected an operator.", "INVALID_PARAMETER", errorQueryParam="q")
        operator = tokens[index + 1].upper()
        index += 2
        values: list[str] = []
        if operator not in ("EMPTY", "EMPTY_NOT"):
            if index >= len(tokens):
                raise NetSuiteError(400, "Invalid search query: expected a value.", "INVALID_PARAMETER", errorQueryParam="q")
            raw = tokens[index]
            index += 1
            values = [_q_value(v) for v in (raw.split(",") if operator.startswith("ANY_OF") and raw[0] != '"' else [raw])]
        groups[-1].append(_q_condition(f, operator, values))
        if index < len(tokens):
            joiner = tokens[index].upper()
            if joiner not in ("AND", "OR"):
                raise NetSuiteError(400, "Invalid search query: expected AND or OR.", "INVALID_PARAMETER", errorQueryParam="q")
            index += 1
            if joiner == "OR":
                groups.append([])
            if index >= len(tokens):
                raise NetSuiteError(
                    400, "Invalid search query: a condition must follow.", "INVALID_PARAMETER", errorQueryParam="q"
                )
    return lambda record: any(all(test(record) for test in group) for group in groups)


def _q_value(raw: str) -> str:
    if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
        return re.sub(r"\\(.)", r"\1", raw[1:-1])
    return raw


def _q_date(value: str) -> dt.datetime:
    for parse in (
        lambda v: suiteql.parse_datetime(v, "MM/DD/YYYY"),
        lambda v: suiteql.parse_datetime(v, "YYYY-MM-DD"),
        lambda v: suiteql.parse_datetime(v.replace("Z", ""), 'YYYY-MM-DD"T"HH24:MI:SS'),
    ):
        try:
            return parse(value)
        except suiteql.SuiteQLError:
            continue
    raise NetSuiteError(400, f"Invalid date value '{value}'.", "INVALID_PARAMETER", errorQueryParam="q")


def _q_condition(f: FieldDef, operator: str, values: list[str]) -> Callable[[dict[str, Any]], bool]:
    name = f.name
    if operator in ("EMPTY", "EMPTY_NOT"):
        return lambda r: (r.get(name) in (None, "")) == (operator == "EMPTY")
    if f.kind in ("date", "datetime"):
        when = _q_date(values[0])
        day = f.kind == "date" or len(values[0]) <= 10

        def stamp(r: dict) -> Any:
            value = r.get(name)
            if value is None:
                return None
            if isinstance(value, dt.datetime):
                return value.date() if day else value
            return value if day else dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)

        target = when.date() if day else when
        tests = {
            "ON": lambda v: v == target,
            "AFTER": lambda v: v > target,
            "BEFORE": lambda v: v < target,
            "ON_OR_AFTER": lambda v: v >= target,
            "ON_OR_BEFORE": lambda v: v <= target,
        }
        if operator not in tests:
            raise NetSuiteError(
                400, f"The operator {operator} does not apply to dates.", "INVALID_PARAMETER", errorQueryParam="q"
            )
        return lambda r: stamp(r) is not None and tests[operator](stamp(r))
    if f.kind in ("int", "number", "select"):
        id_operators = ("ANY_OF", "ANY_OF_NOT", "IS", "IS_NOT", "EQUAL", "NOT_EQUAL")
        if operator.startswith("ANY_OF") or (f.kind == "select" and operator in id_operators):
            wanted = {v.strip() for v in values}
            negate = operator in ("ANY_OF_NOT", "IS_NOT", "NOT_EQUAL")
            return lambda r: (str(r.get(name)) in wanted) != negate
        try:
            number = Decimal(values[0])
        except InvalidOperation:
            raise NetSuiteError(400, f"Invalid number '{values[0]}'.", "INVALID_PARAMETER", errorQueryParam="q") from None
        tests = {
            "EQUAL": lambda v: v == number,
            "NOT_EQUAL": lambda v: v != number,
            "GREATER": lambda v: v > number,
            "GREATER_OR_EQUAL": lambda v: v >= number,
            "LESS": lambda v: v < number,
            "LESS_OR_EQUAL": lambda v: v <= number,
        }
        if operator not in tests:
            raise NetSuiteError(
                400, f"The operator {operator} does not apply to numbers.", "INVALID_PARAMETER", errorQueryParam="q"
            )
        return lambda r: r.get(name) is not None and tests[operator](Decimal(str(r.get(name))))
    if f.kind == "bool":
        truth = values[0].lower() in ("true", "t")
        negate = operator == "IS_NOT"
        return lambda r: (bool(r.get(name)) == truth) != negate
    needle = values[0].lower()
    text_tests = {
        "IS": lambda v: v == needle,
        "IS_NOT": lambda v: v != needle,
        "CONTAIN": lambda v: needle in v,
        "DOES_NOT_CONTAIN": lambda v: needle not in v,
        "START_WITH": lambda v: v.startswith(needle),
        "DOES_NOT_START_WITH": lambda v: not v.startswith(needle),
        "END_WITH": lambda v: v.endswith(needle),
        "DOES_NOT_END_WITH": lambda v: not v.endswith(needle),
    }
    if operator not in text_tests:
        raise NetSuiteError(400, f"The operator {operator} does not apply to text.", "INVALID_PARAMETER", errorQueryParam="q")
    return lambda r: text_tests[operator](str(r.get(name) or "").lower())
