"""An emulator of Microsoft Dataverse (Dynamics 365) Web API v9.2 and its Azure AD token endpoint.

Served at `{base}/api/data/v9.2` (the org URL is the base URL) with the token endpoint at
`{base}/{tenant}/oauth2/v2.0/token` (so a connection's `token_url_base` is the same base URL).

What it does, after Microsoft's Web API documentation:
- OAuth 2.0 client credentials: form POST with client_id, client_secret, grant_type and
  scope `{org url}/.default`; AADSTS errors as Azure AD writes them (wrong secret 7000215,
  unknown app 700016, unknown tenant 90002, wrong resource 500011); bearer tokens expire
  (`token_lifetime`) and `expire_tokens()` revokes them all at once; 401 with WWW-Authenticate.
- WhoAmI; EntityDefinitions(LogicalName='x') with EntitySetName, PrimaryIdAttribute,
  PrimaryNameAttribute and $expand=Attributes; Attributes casts to Picklist / State / Status
  AttributeMetadata with $expand=OptionSet (localized labels 1033 + 1031, UserLocalizedLabel);
  POST EntityDefinitions(LogicalName='x')/Attributes creates a text column from a
  StringAttributeMetadata (SchemaName with the default publisher's prefix `new_`, MaxLength 1-4000,
  DisplayName's LocalizedLabels; 204 with OData-EntityId), per emulator instance; other column
  types, solutions (MSCRM.SolutionUniqueName) and publishers other than the default's are not emulated.
- Tables account, contact, lead, opportunity, systemuser, and the activity tables annotation,
  phonecall, task, email and appointment (schema_activities.py: what of them is not faithful): GET collection with $select,
  $filter (see odata.py), $orderby, $top, $count, $expand of single-valued lookups and of an
  activity's parties (`email_activity_parties`..., deep-inserted with the activity),
  `Prefer: odata.maxpagesize` paging with @odata.nextLink carrying a paging cookie
  ($skiptoken=<cookie pagenumber="2" pagingcookie="..."/>, the page's last values of the
  ordering columns and the primary key, so later pages resume after the last row read, not at an
  offset), `Prefer: odata.include-annotations` (lookuplogicalname and FormattedValue of option
  sets and lookups); GET/PATCH/DELETE by id; POST create (204 with
  OData-EntityId, or 201 with `Prefer: return=representation`); PATCH is an upsert unless
  `If-Match: *` (update only, 404 when missing) or `If-None-Match: *` (create only, 412 when present);
  lookups read as `_x_value` and written with `nav@odata.bind` ("/accounts(id)"; "$1" inside a
  change set); statecode/statuscode consistency; length, type and option-value validation.
- Change tracking: `Prefer: odata.track-changes` returns @odata.deltaLink (after the last
  nextLink page); `$deltatoken` returns what changed since, newest version of each row once,
  deleted rows as `$deletedEntity` with reason "deleted"; delta pages too.
- $batch: multipart/mixed with change sets (<= 1,000 operations); a change set is atomic (a
  failing operation rolls back the others and the batch answers with that operation's error,
  Content-ID included); processing stops at the first failure unless `Prefer: odata.continue-on-error`.
- Bulk messages on account, contact, lead and opportunity: POST {set}/Microsoft.Dynamics.CRM.
  CreateMultiple (200 {Ids}), UpdateMultiple and UpsertMultiple (204) with {"Targets": [...]};
  every Target needs "@odata.type"; Update / Upsert name a record once at most (by primary key or
  "@odata.id"); as on standard tables a failure rolls every Target back and answers the failing
  Target's error (its index in the message); Create and Update webhooks fire per record;
  systemuser answers 0x80040800 (message not supported), so clients fall back to $batch.
- Service protection limits per user: 6,000 requests per 300 s and 52 concurrent requests,
  429 with Retry-After and the Dataverse error codes; x-ms-ratelimit-burst-remaining-xrm-requests
  and x-ms-ratelimit-time-remaining-xrm-requests headers.
- Webhooks: service endpoints (POST serviceendpoints, contract 8, authtype WebhookKey /
  HttpHeader / HttpQueryString) receive the RemoteExecutionContext of Create, Update and Delete
  of lead, contact, account and opportunity for which an SDK message processing step is
  registered (sdkmessages, sdkmessagefilters, sdkmessageprocessingsteps: emulator_steps.py),
  through WebhookSender.
- Errors as {"error": {"code": "0x...", "message": "..."}}.
- In-process helpers that act as a user editing in Dynamics: create_record, edit_record,
  delete_record (bump modifiedon and versionnumber, feed change tracking, fire webhooks).

What it does not emulate: the 20-minute combined execution-time limit (the time-remaining
header is constant); real JWT access tokens (tokens are opaque); security roles and
privileges (every authenticated app may do everything); $apply, $search and the other system query
options not listed above (a 400 "The query parameter ... is not supported" here, never ignored), lambda
operators (any/all, a 400 syntax error), collection-valued navigation and $expand of collections other
than activity parties, nested $filter inside $expand; alternate keys (UpsertMultiple and PATCH address
rows by primary key, `accountid=<guid>` included; another key column is a 400); bulk
messages' limits (Microsoft documents no fixed number of Targets, only the 2-minute execution
limit this emulator does not model), elastic tables' partial success, DeleteMultiple; paging
cookies with first/last GUIDs in braces (ours are bare) and page numbers that the server
checks; duplicate detection; business rules, plug-ins and workflows; webhooks for
messages other than Create, Update and Delete, the 256 KB trimming of large
contexts (x-ms-dynamics-msg-size-exceeded); change-tracking retention other than the
`change_retention` knob; polymorphic lookups beyond the customer lookup's account/contact
targets (ownerid accepts systemusers only, not teams); batch requests count as one request
toward the limits (a bulk message too); metadata for tables and columns beyond the curated set
in schema.py; the exact wording of most error messages (codes and shape are Dataverse's).

Undocumented by Microsoft and answered one way here: a delta link followed with another `$select`
than the read that made it (the Dynamics connector does so when its columns change) answers the
changes since its $deltatoken with the new columns; Dataverse documents neither that this works
nor that it is refused (tests/connectors/test_dynamics_change_tracking.py).

Where it follows observed behaviour over the documentation (with the evidence):
- a bulk message's error names the failing Target's index in its message (Dataverse's answer
  identifies the record; the reference does not spell the wording);
- `$orderby` sorts text case-insensitively, as SQL Server's default collation does on Dataverse;
- PowerPlatform-Dataverse-Client's create/update of lists (CreateMultiple / UpdateMultiple) and
  list_pages paging run unchanged against it (tests/connectors/test_dynamics_client_library.py).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import math
import random
import re
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from urllib.parse import quote as urlquote
from xml.etree import ElementTree
from xml.sax.saxutils import escape as xml_escape

from connectors.dynamics import batch as batchfmt
from connectors.dynamics import limits, odata
from connectors.dynamics import webhooks as hooks
from connectors.dynamics.emulator_steps import Steps
from connectors.dynamics.schema import ENGLISH, GERMAN, Attr, Entity
from connectors.dynamics.schema import ENTITIES as STANDARD_ENTITIES
from connectors.dynamics.schema_activities import (
    ACTIVITY_ENTITIES,
    PARTY_ROLES,
    PARTY_TARGETS,
    WEBHOOK_ENTITIES,
    party_navigation,
)
from connectors.emulation import Emulator, Request, Response, SlidingWindow, WebhookSender, json_response, public

# Notes (annotation) and phone calls: connectors/dynamics/schema_activities.py.
ENTITIES = STANDARD_ENTITIES | ACTIVITY_ENTITIES
BY_SET = {e.set_name: e for e in ENTITIES.values()}

API = "/api/data/v9.2"
COUNT_LIMIT = 5000  # Dataverse's @odata.count stops at 5,000
DEFAULT_TENANT = "8f5d2a6c-1b3e-4c7a-9d2f-6e4b1a0c9d11"
DEFAULT_CLIENT_ID = "5b1c7e2a-3d4f-4a6b-8c9d-0e1f2a3b4c5d"
DEFAULT_CLIENT_SECRET = "emulator-client-secret"
REQUESTS_PER_WINDOW = limits.REQUESTS_PER_WINDOW  # per user per 5 minutes
WINDOW_SECONDS = limits.WINDOW_SECONDS
MAX_CONCURRENT = limits.MAX_CONCURRENT  # concurrent requests per user
MAX_PAGE_SIZE = limits.MAX_PAGE_SIZE
LINK_SAFE = ",()$='"  # what OData leaves unescaped in next and delta links
# Standard tables that take CreateMultiple / UpdateMultiple / UpsertMultiple here (systemuser does not:
# its rows come from Entra ID, and a client falls back to single requests or $batch).
BULK_TABLES = frozenset({"account", "contact", "lead", "opportunity"})
# The system query options a collection read takes here; any other ($apply, $search, $skip, $format...) is a 400.
LIST_OPTIONS = frozenset({"$select", "$filter", "$orderby", "$top", "$count", "$expand", "$skiptoken", "$deltatoken"})
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class ApiError(Exception):
    """An operation's failure, answered as Dataverse's {"error": {"code", "message"}}."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def not_found(entity: Entity, record_id: str) -> ApiError:
    return ApiError(404, "0x80040217", f"{entity.logical} With Id = {record_id} Does Not Exist")


def bad_request(message: str, code: str = "0x80060888") -> ApiError:
    return ApiError(400, code, message)


def _refuse_unknown_options(request: Request) -> None:
    """$apply, $search, $skip...: refused, never silently ignored (which would answer every row)."""
    unsupported = sorted(k for k in request.query if k.startswith("$") and k not in LIST_OPTIONS)
    if unsupported:
        raise bad_request(f"The query parameter {unsupported[0]} is not supported.")


@dataclass
class ServiceEndpoint:
    id: str
    name: str
    url: str
    auth_type: str
    auth_value: str


@dataclass
class Tombstone:
    version: int
    id: str


@dataclass
class _Undo:
    """What a change set did, so a failure can put everything back."""

    rows: list[tuple[str, str, dict | None]] = field(default_factory=list)
    tombstones: list[tuple[str, Tombstone]] = field(default_factory=list)
    events: list[tuple[str, str, str]] = field(default_factory=list)
    created: dict[str, tuple[str, str]] = field(default_factory=dict)  # Content-ID -> (set, id)


class DynamicsEmulator(Emulator):
    system = "dynamics"

    def __init__(
        self,
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        tenant_id: str = DEFAULT_TENANT,
        org_name: str = "contoso",
        seed_size: int = 0,
        token_lifetime: int = 3599,
        requests_per_window: int = REQUESTS_PER_WINDOW,
        window_seconds: float = WINDOW_SECONDS,
        max_concurrent: int = MAX_CONCURRENT,
        change_retention: dt.timedelta = dt.timedelta(days=7),
        **knobs: Any,
    ):
        self.apps = {client_id: client_secret}
        self.client_id, self.client_secret = client_id, client_secret  # the app the demo and tests sign in as
        self.tenant_id = tenant_id
        self.org_name = org_name
        self.organization_id = str(uuid.UUID(int=random.Random(f"org-{knobs.get('seed', 0)}").getrandbits(128)))
        self.business_unit_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"bu-{self.organization_id}"))
        self.token_lifetime = token_lifetime
        self.change_retention = change_retention
        self.tokens: dict[str, tuple[str, float]] = {}  # access token -> (user id, expiry epoch)
        self.token_requests = 0
        self.window = SlidingWindow(requests_per_window, window_seconds)
        self.max_concurrent = max_concurrent
        self.in_flight: dict[str, int] = {}
        # Tables of this org: the standard ones plus the columns created through the metadata API.
        self.entities: dict[str, Entity] = dict(ENTITIES)
        self.by_set: dict[str, Entity] = dict(BY_SET)
        self.rows: dict[str, dict[str, dict[str, Any]]] = {logical: {} for logical in ENTITIES}
        self.tombstones: dict[str, list[Tombstone]] = {logical: [] for logical in ENTITIES}
        self.version = 1000
        self.last_modified = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
        self.endpoints: list[ServiceEndpoint] = []
        self.bulk_tables = BULK_TABLES  # tests empty it to see clients fall back to $batch
        self.webhook_sender = WebhookSender()
        self._undo: _Undo | None = None
        self._current_user: str | None = None
        super().__init__(**knobs)
        self.app_user_ids = {cid: self._seed_app_user(cid) for cid in self.apps}
        if seed_size:
            self.seed_demo_data(seed_size)

    # --- the management command ---------------------------------------------------------------
    @classmethod
    def add_arguments(cls, parser) -> None:
        parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID, help="the Azure AD app the token endpoint accepts")
        parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET, help="that app's client secret")
        parser.add_argument("--tenant-id", default=DEFAULT_TENANT, help="the Azure AD tenant (directory) id")
        parser.add_argument("--org-name", default="contoso", help="the organization's unique name")

    @classmethod
    def from_options(cls, options: dict[str, Any], **knobs: Any) -> DynamicsEmulator:
        return cls(
            client_id=options.get("client_id") or DEFAULT_CLIENT_ID,
            client_secret=options.get("client_secret") or DEFAULT_CLIENT_SECRET,
            tenant_id=options.get("tenant_id") or DEFAULT_TENANT,
            org_name=options.get("org_name") or "contoso",
            seed_size=options.get("seed_size", 0) or 0,
            **knobs,
        )

    # --- routes --------------------------------------------------------------------------------
    def setup_routes(self) -> None:
        self.route("POST", r"/(?P<tenant>[^/]+)/oauth2/v2\.0/token", self.token, name="token", write=False)
        self.route("GET", API + r"/WhoAmI(?:\(\))?", self.who_am_i, name="WhoAmI")
        self.route(
            "GET", API + r"/EntityDefinitions(?P<key>\([^)]*\))?(?P<rest>/.*)?", self.entity_definitions, name="EntityDefinitions"
        )
        self.route(
            "POST",
            API + r"/EntityDefinitions\((?P<key>[^)]*)\)/Attributes",
            self.create_attribute,
            name="EntityDefinitions/Attributes create",
        )
        self.route("POST", API + r"/\$batch", self.batch, name="$batch")
        # Service endpoints by id, SDK messages, filters and processing steps (emulator_steps.py).
        self.steps = Steps(self)
        self.steps.setup_routes()
        self.route(
            "POST",
            API + r"/(?P<set>[a-z]+)/Microsoft\.Dynamics\.CRM\.(?P<message>CreateMultiple|UpdateMultiple|UpsertMultiple)",
            self.bulk,
            name="bulk",
        )
        self.route("POST", API + r"/serviceendpoints", self.register_service_endpoint, name="serviceendpoints")
        self.route("GET", API + r"/serviceendpoints", self.list_service_endpoints, name="serviceendpoints")
        self.route("GET", API + r"/(?P<set>[a-z]+)", self.api_list, name="collection")
        self.route("POST", API + r"/(?P<set>[a-z]+)", self.api_create, name="collection")
        self.route("GET", API + r"/(?P<set>[a-z]+)\((?P<key>[^)]*)\)", self.api_get, name="entity")
        self.route("PATCH", API + r"/(?P<set>[a-z]+)\((?P<key>[^)]*)\)", self.api_patch, name="entity")
        self.route("DELETE", API + r"/(?P<set>[a-z]+)\((?P<key>[^)]*)\)", self.api_delete, name="entity")

    def error(self, status: int, message: str, code: str = "0x80060888", **extra: Any) -> Response:
        return json_response({"error": {"code": code, "message": message}}, status)

    def _api_error(self, exc: ApiError) -> Response:
        response = self.error(exc.status, exc.message, exc.code)
        response.headers.update(exc.headers)
        return response

    def handle(self, request: Request) -> Response:
        """Admit the call against the user's concurrency limit for as long as it is processed
        (latency included), as Dataverse counts requests in progress."""
        user = self._token_user(request) if self.limits and request.path.startswith(API) else None
        if user:
            with self.lock:
                admitted = self.in_flight.get(user, 0) < self.max_concurrent
                if admitted:
                    self.in_flight[user] = self.in_flight.get(user, 0) + 1
            if not admitted:
                refused = self._limit_error(
                    "0x80072326", f"Number of concurrent requests exceeded the limit of {self.max_concurrent}.", 1
                )
                self.decorate(request, refused)
                return refused
        try:
            return super().handle(request)
        finally:
            if user:
                with self.lock:
                    self.in_flight[user] -= 1

    # --- auth -------------------------------------------------------------------------------------
    def _token_user(self, request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else ""
        entry = self.tokens.get(token)
        if entry and entry[1] > time.time():
            return entry[0]
        return None

    def authenticate(self, request: Request) -> Response | None:
        if self._token_user(request):
            return None
        response = Response(
            401,
            None,
            {
                "WWW-Authenticate": f"Bearer authorization_uri={self._base(request)}/{self.tenant_id}/oauth2/authorize, "
                f"resource_id={self._base(request)}/"
            },
        )
        return response

    @public
    def token(self, request: Request) -> Response:
        with self.lock:
            self.token_requests += 1
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        tenant = request.params["tenant"]
        if tenant.lower() not in (self.tenant_id.lower(), f"{self.org_name}.onmicrosoft.com"):
            return self._aad_error(
                400,
                "invalid_request",
                90002,
                f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are "
                "signing into the correct cloud.",
            )
        if form.get("grant_type") != "client_credentials":
            return self._aad_error(
                400,
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{form.get('grant_type', '')}'.",
            )
        client_id = form.get("client_id", "")
        if client_id not in self.apps:
            return self._aad_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory '{tenant}'. "
                "This can happen if the application has not been installed by the administrator of the "
                "tenant or consented to by any user in the tenant.",
            )
        if not secrets.compare_digest(form.get("client_secret", ""), self.apps[client_id]):
            return self._aad_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client "
                f"secret value, not the client secret ID, for a secret added to app '{client_id}'.",
            )
        scope = form.get("scope", "")
        resource = scope[: -len("/.default")] if scope.endswith("/.default") else ""
        if not resource or resource.rstrip("/").lower() != self._base(request).lower():
            return self._aad_error(
                400,
                "invalid_resource" if resource else "invalid_scope",
                500011 if resource else 70011,
                f"The resource principal named {resource or scope} was not found in the tenant named "
                f"{tenant}. This can happen if the application has not been installed by the "
                "administrator of the tenant.",
            )
        token = secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = (self.app_user_ids[client_id], time.time() + self.token_lifetime)
        return json_response(
            {
                "token_type": "Bearer",
                "expires_in": self.token_lifetime,
                "ext_expires_in": self.token_lifetime,
                "access_token": token,
            }
        )

    def _aad_error(self, status: int, error: str, code: int, description: str) -> Response:
        now = dt.datetime.now(dt.UTC)
        trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
        return json_response(
            {
                "error": error,
                "error_description": f"AADSTS{code}: {description}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\n"
                f"Timestamp: {now:%Y-%m-%d %H:%M:%SZ}",
                "error_codes": [code],
                "timestamp": f"{now:%Y-%m-%d %H:%M:%SZ}",
                "trace_id": trace,
                "correlation_id": correlation,
                "error_uri": f"https://login.microsoftonline.com/error?code={code}",
            },
            status,
        )

    def connection_settings(self, base_url: str) -> tuple[dict[str, str], dict[str, str]]:
        """(Connection.config, Connection.credentials) for a connection to this emulator at `base_url`."""
        return (
            {"org_url": base_url, "tenant_id": self.tenant_id, "client_id": self.client_id, "token_url_base": base_url},
            {"client_secret": self.client_secret},
        )

    def expire_tokens(self) -> None:
        """Every issued token stops working now (as if its hour ran out)."""
        with self.lock:
            self.tokens = {t: (user, 0.0) for t, (user, _) in self.tokens.items()}

    def add_app(self, client_id: str, client_secret: str) -> str:
        self.apps[client_id] = client_secret
        self.app_user_ids[client_id] = self._seed_app_user(client_id)
        return self.app_user_ids[client_id]

    # --- service protection limits ------------------------------------------------------------------
    def rate_limit(self, request: Request, route) -> Response | None:
        user = self._token_user(request)
        if not user:
            return None
        allowed, _, wait = self.window.hit(user)
        if not allowed:
            return self._limit_error(
                "0x80072322",
                f"Number of requests exceeded the limit of {self.window.limit} over time "
                f"window of {int(self.window.seconds)} seconds.",
                wait,
            )
        return None

    def _limit_error(self, code: str, message: str, wait: float) -> Response:
        response = self.error(429, message, code)
        response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return response

    def decorate(self, request: Request, response: Response) -> None:
        user = self._token_user(request)
        if user and request.path.startswith(API):
            with self.window.lock:
                used = len(self.window.calls.get(user, ()))
            response.headers["x-ms-ratelimit-burst-remaining-xrm-requests"] = str(max(0, self.window.limit - used))
            response.headers["x-ms-ratelimit-time-remaining-xrm-requests"] = "1200000.00"
            response.headers.setdefault("OData-Version", "4.0")
            response.headers.setdefault("REQ_ID", str(uuid.uuid4()))

    # --- helpers --------------------------------------------------------------------------------
    def serve(self, host: str = "127.0.0.1", port: int = 0, tls: bool = False, ca_file=None):
        # wsgiref never learns that the socket speaks TLS; links and token audiences must say https.
        self.serving_tls = tls
        return super().serve(host, port, tls=tls, ca_file=ca_file)

    def _base(self, request: Request) -> str:
        on_socket = "SERVER_SOFTWARE" in request.environ  # set by wsgiref, not by httpx's in-process transport
        scheme = "https" if getattr(self, "serving_tls", False) and on_socket else request.environ.get("wsgi.url_scheme", "http")
        host = request.environ.get("HTTP_HOST") or request.environ.get("SERVER_NAME", "localhost")
        return f"{scheme}://{host}"

    def _api_root(self, request: Request) -> str:
        return self._base(request) + API

    def _entity_for_set(self, set_name: str) -> Entity:
        entity = self.by_set.get(set_name)
        if entity is None:
            raise ApiError(404, "0x8006088a", f"Resource not found for the segment '{set_name}'.")
        return entity

    @staticmethod
    def _key(entity: Entity, key: str) -> str:
        key = key.strip()
        if key.startswith(entity.primary_id + "="):
            key = key.split("=", 1)[1]
        if not GUID.match(key):
            raise bad_request(f"Bad Request - Error in query syntax. '{key}' is not a valid key for {entity.logical}.")
        return key.lower()

    def _bump(self) -> tuple[int, dt.datetime]:
        self.version += 1
        now = max(dt.datetime.now(dt.UTC), self.last_modified + dt.timedelta(microseconds=1))
        self.last_modified = now
        return self.version, now

    def _store(self, logical: str, record_id: str, row: dict | None) -> None:
        """Every row change goes through here, so change sets can be undone."""
        previous = self.rows[logical].get(record_id)
        if self._undo is not None:
            self._undo.rows.append((logical, record_id, copy.deepcopy(previous)))
        if row is None:
            self.rows[logical].pop(record_id, None)
            version, _ = self._bump()
            tomb = Tombstone(version, record_id)
            self.tombstones[logical].append(tomb)
            if self._undo is not None:
                self._undo.tombstones.append((logical, tomb))
        else:
            self.rows[logical][record_id] = row

    # --- writing (API and direct helpers share this) --------------------------------------------------
    def _write(
        self,
        entity: Entity,
        record_id: str | None,
        body: dict[str, Any],
        *,
        creating: bool,
        user: str | None,
        content_ids: dict[str, tuple[str, str]] | None = None,
    ) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object.")
        with self.lock:
            existing = self.rows[entity.logical].get(record_id) if record_id else None
            row = copy.deepcopy(existing) if existing else {}
            values = self._validated(entity, body, content_ids or {})
            if creating:
                record_id = (str(values.pop(entity.primary_id, "")) or record_id or str(uuid.uuid4())).lower()
                if record_id in self.rows[entity.logical]:
                    raise ApiError(412, "0x80040237", "A record with matching key values already exists.")
                row = {entity.primary_id: record_id}
            else:
                values.pop(entity.primary_id, None)
            row.update(values)
            self._apply_state(entity, row, values, creating)
            version, now = self._bump()
            if creating:
                row["createdon"] = now
                if entity.attr("ownerid") and not row.get("ownerid"):
                    row["ownerid"] = ("systemuser", user or next(iter(self.app_user_ids.values())))
            row["modifiedon"] = now
            row["versionnumber"] = version
            if entity.attr("fullname") and entity.logical != "account":
                row["fullname"] = " ".join(p for p in (row.get("firstname"), row.get("lastname")) if p) or None
            self._store(entity.logical, record_id, row)
            self._queue_webhook("Create" if creating else "Update", entity, record_id, values)
            return row

    def _validated(self, entity: Entity, body: dict[str, Any], content_ids: dict[str, tuple[str, str]]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for key, value in body.items():
            if entity.logical in PARTY_ROLES and key == party_navigation(entity.logical):
                values[PARTIES] = self._parties(entity, value, content_ids)  # deep insert: replaces the parties
                continue
            if key.endswith("@odata.bind"):
                nav = key[: -len("@odata.bind")]
                found = entity.by_navigation(nav)
                if not found:
                    raise bad_request(
                        f"An undeclared property '{nav}' which only has property annotations in the payload "
                        "but no property value was found in the payload. In OData, only declared navigation "
                        "properties and declared named streams can be represented as properties without values."
                    )
                attr, target = found
                values[attr.name] = None if value is None else (target, self._bound_id(target, value, content_ids))
                continue
            if key.startswith("@") or "@" in key:
                continue  # instance annotations are ignored on writes
            if key.startswith("_") and key.endswith("_value"):
                raise bad_request(
                    "CRM do not support direct update of Entity Reference properties, Use Navigation properties instead."
                )
            attr = entity.attr(key)
            if attr is None:
                raise bad_request(
                    f"The property '{key}' does not exist on type 'Microsoft.Dynamics.CRM.{entity.logical}'. "
                    "Make sure to only use property names that are defined by the type."
                )
            if attr.is_lookup:
                raise bad_request(f"Lookup '{key}' must be set with '{attr.navigation(attr.targets[0])}@odata.bind'.")
            if not (attr.create or attr.update) and key != entity.primary_id:
                continue  # read-only columns (fullname, createdon...) are ignored, as Dataverse does
            values[key] = self._typed(entity, attr, value)
        return values

    def _parties(self, entity: Entity, value: Any, content_ids: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
        """activityparty rows from a deep insert: each names its role (participationtypemask, one
        the activity accepts) and a party (`partyid_<contact|account|systemuser>@odata.bind`) or
        an address (`addressused`) — Dataverse resolves neither further here."""
        if not isinstance(value, list):
            raise bad_request(f"The property '{party_navigation(entity.logical)}' must be a collection of activityparty.")
        parties = []
        for item in value:
            if not isinstance(item, dict):
                raise bad_request("An activityparty must be a JSON object.")
            mask = item.get("participationtypemask")
            if type(mask) is not int or mask not in PARTY_ROLES[entity.logical]:
                raise bad_request(
                    f"participationtypemask {mask!r} is not valid for {entity.logical}: one of "
                    f"{', '.join(map(str, PARTY_ROLES[entity.logical]))}.",
                    "0x80040203",
                )
            party = {"activitypartyid": str(uuid.uuid4()), "participationtypemask": mask, "partyid": None, "addressused": None}
            for key, bound in item.items():
                if key.startswith("partyid_") and key.endswith("@odata.bind"):
                    target = key[len("partyid_") : -len("@odata.bind")]
                    if target not in PARTY_TARGETS:
                        raise bad_request(f"An undeclared property 'partyid_{target}' was found on activityparty.")
                    party["partyid"] = (target, self._bound_id(target, bound, content_ids))
                elif key == "addressused":
                    party["addressused"] = None if bound is None else str(bound)[:320]
                elif key != "participationtypemask" and not key.startswith("@"):
                    raise bad_request(f"The property '{key}' does not exist on type 'Microsoft.Dynamics.CRM.activityparty'.")
            if party["partyid"] is None and not party["addressused"]:
                raise bad_request("An activityparty needs a party (partyid) or an address (addressused).", "0x80040203")
            parties.append(party)
        return parties

    def _party_json(self, party: dict[str, Any], annotations: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "activitypartyid": party["activitypartyid"],
            "participationtypemask": party["participationtypemask"],
            "addressused": party["addressused"],
            "_partyid_value": party["partyid"][1] if party["partyid"] else None,
        }
        if party["partyid"] and _wants(annotations, "Microsoft.Dynamics.CRM.lookuplogicalname"):
            out["_partyid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] = party["partyid"][0]
        return out

    def _bound_id(self, target: str, value: Any, content_ids: dict[str, tuple[str, str]]) -> str:
        text = str(value)
        if text.startswith("$") and text[1:] in content_ids:
            set_name, record_id = content_ids[text[1:]]
        else:
            m = re.search(r"/?([a-z]+)\(([^)]+)\)$", text)
            if not m:
                raise bad_request(f"The URI '{text}' in @odata.bind is not a valid entity reference.")
            set_name, record_id = m.group(1), m.group(2).lower()
        target_entity = self.entities[target]
        if set_name != target_entity.set_name:
            raise bad_request(f"The entity reference '{text}' does not point to a {target} record.")
        if not GUID.match(record_id) or record_id not in self.rows[target]:
            raise not_found(target_entity, record_id)
        return record_id

    def _typed(self, entity: Entity, attr: Attr, value: Any) -> Any:
        """A written value checked against its column's type, as Dataverse answers a wrong one."""
        if value is None:
            return None
        check = _TYPED_VALUES.get(attr.type)
        return check(entity, attr, value) if check is not None else value

    def _apply_state(self, entity: Entity, row: dict, values: dict, creating: bool) -> None:
        state_attr, status_attr = entity.attr("statecode"), entity.attr("statuscode")
        if not state_attr or not status_attr:
            return
        if creating:
            row.setdefault("statecode", 0)
        if "statuscode" in values and values["statuscode"] is not None and "statecode" not in values:
            row["statecode"] = status_attr.option(values["statuscode"]).state
        state = row.get("statecode") or 0
        status = row.get("statuscode")
        if status is None or ("statecode" in values and "statuscode" not in values):
            row["statuscode"] = next(o.value for o in status_attr.options if o.state == state)
        elif status_attr.option(status).state != state:
            raise bad_request(f"{status} is not a valid status code for state code {entity.display}State.{state}", "0x80040203")

    def _delete(self, entity: Entity, record_id: str) -> None:
        with self.lock:
            if record_id not in self.rows[entity.logical]:
                raise not_found(entity, record_id)
            self._store(entity.logical, record_id, None)
            self._queue_webhook("Delete", entity, record_id, {})

    # --- webhooks ---------------------------------------------------------------------------------------
    def _queue_webhook(self, message: str, entity: Entity, record_id: str, values: dict) -> None:
        if entity.logical not in WEBHOOK_ENTITIES or not self.endpoints:
            return
        event = (message, entity.logical, record_id)
        if self._undo is not None:
            self._undo.events.append(event)  # sent only if the change set commits
        else:
            self._fire(*event)

    def _fire(self, message: str, logical: str, record_id: str) -> None:
        row = self.rows[logical].get(record_id)
        if row is None:
            if message == "Delete":
                self.steps.fire_delete(logical, record_id)
            return
        attributes = {k: self._context_value(v) for k, v in row.items() if k != PARTIES}
        context = hooks.remote_execution_context(
            message=message,
            logical_name=logical,
            record_id=record_id,
            attributes=attributes,
            user_id=self._current_user or next(iter(self.app_user_ids.values())),
            organization_id=self.organization_id,
            organization_name=self.org_name,
            business_unit_id=self.business_unit_id,
            occurred_at=row["modifiedon"],
        )
        body = json.dumps(context).encode()
        for endpoint in self.steps.endpoints_for(message, logical):
            url, auth_headers = hooks.delivery_url_and_headers(endpoint.url, endpoint.auth_type, endpoint.auth_value)
            self.webhook_sender.send(url, body, {**hooks.delivery_headers(context), **auth_headers})

    @staticmethod
    def _context_value(value: Any) -> Any:
        if isinstance(value, tuple):
            return {
                "__type": "EntityReference:http://schemas.microsoft.com/xrm/2011/Contracts",
                "Id": value[1],
                "KeyAttributes": [],
                "LogicalName": value[0],
                "Name": None,
                "RowVersion": None,
            }
        if isinstance(value, dt.datetime):
            return hooks.wcf_date(value)
        if isinstance(value, dt.date):
            return hooks.wcf_date(dt.datetime.combine(value, dt.time(), dt.UTC))
        return value

    def register_webhook(
        self,
        url: str,
        auth_type: str = "WebhookKey",
        key: str | None = None,
        pairs: dict[str, str] | None = None,
        name: str = "SyncSmart",
    ) -> ServiceEndpoint:
        """As an admin registering a webhook in the Plug-in Registration tool."""
        auth_value = key if auth_type == "WebhookKey" else hooks.settings_xml(pairs or {})
        endpoint = ServiceEndpoint(str(uuid.uuid4()), name, url, auth_type, auth_value or "")
        with self.lock:
            self.endpoints.append(endpoint)
            self.steps.implicit.add(endpoint.id)  # the tool registers Create and Update steps with it
        return endpoint

    def register_service_endpoint(self, request: Request) -> Response:
        return self._respond(lambda: self._register_service_endpoint(request))

    def _register_service_endpoint(self, request: Request) -> Response:
        body = request.json_object()
        if body.get("contract") != hooks.WEBHOOK_CONTRACT:
            raise ApiError(400, "0x80040203", "Only the Webhook contract (8) is supported by this emulator.")
        authtype = body.get("authtype")
        auth_type = hooks.AUTH_TYPE_NAMES.get(authtype) if isinstance(authtype, int) else None
        if not auth_type or not isinstance(body.get("url"), str) or not body["url"]:
            raise bad_request(
                "A webhook service endpoint needs url and authtype 4 (WebhookKey), 5 (HttpHeader) or 6 (HttpQueryString).",
                "0x80040203",
            )
        endpoint = ServiceEndpoint(
            str(uuid.uuid4()), str(body.get("name") or "webhook"), body["url"], auth_type, str(body.get("authvalue") or "")
        )
        with self.lock:
            self.endpoints.append(endpoint)
        return Response(204, None, {"OData-EntityId": f"{self._api_root(request)}/serviceendpoints({endpoint.id})"})

    def list_service_endpoints(self, request: Request) -> Response:
        return json_response(
            {
                "@odata.context": f"{self._api_root(request)}/$metadata#serviceendpoints",
                "value": [
                    {
                        "serviceendpointid": e.id,
                        "name": e.name,
                        "url": e.url,
                        "contract": 8,
                        "authtype": hooks.AUTH_TYPES[e.auth_type],
                    }
                    for e in self.endpoints
                ],
            }
        )

    # --- direct helpers: a user working in Dynamics ----------------------------------------------------------
    def _helper_values(self, entity: Entity, properties: dict[str, Any]) -> dict[str, Any]:
        """Accept flat lookups (`parentcustomerid: id`) as well as `nav@odata.bind` bodies."""
        body: dict[str, Any] = {}
        for key, value in properties.items():
            attr = entity.attr(key)
            if attr is not None and attr.is_lookup:
                target = attr.targets[0]
                body[f"{attr.navigation(target)}@odata.bind"] = (
                    None if value is None else f"/{self.entities[target].set_name}({value})"
                )
            else:
                body[key] = value
        return body

    def create_record(self, set_name: str, properties: dict[str, Any]) -> str:
        entity = self._entity_for_set(set_name)
        row = self._write(entity, None, self._helper_values(entity, properties), creating=True, user=None)
        return row[entity.primary_id]

    def edit_record(self, set_name: str, record_id: str, properties: dict[str, Any]) -> None:
        entity = self._entity_for_set(set_name)
        with self.lock:
            if record_id not in self.rows[entity.logical]:
                raise not_found(entity, record_id)
            self._write(entity, record_id, self._helper_values(entity, properties), creating=False, user=None)

    def delete_record(self, set_name: str, record_id: str) -> None:
        self._delete(self._entity_for_set(set_name), record_id)

    def record(self, set_name: str, record_id: str) -> dict[str, Any] | None:
        """The stored row (lookups as (logical name, id) pairs), or None."""
        with self.lock:
            row = self.rows[self._entity_for_set(set_name).logical].get(record_id)
            return copy.deepcopy(row) if row else None

    def count(self, set_name: str) -> int:
        with self.lock:
            return len(self.rows[self._entity_for_set(set_name).logical])

    # --- seeding --------------------------------------------------------------------------------------------
    def _seed_app_user(self, client_id: str) -> str:
        user_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"app-user-{client_id}"))
        if user_id not in self.rows["systemuser"]:
            version, now = self._bump()
            self.rows["systemuser"][user_id] = {
                "systemuserid": user_id,
                "firstname": "#",
                "lastname": "SyncSmart Integration",
                "fullname": "# SyncSmart Integration",
                "internalemailaddress": f"syncsmart-{client_id[:8]}@{self.org_name}.onmicrosoft.com",
                "domainname": f"syncsmart-{client_id[:8]}@{self.org_name}.onmicrosoft.com",
                "applicationid": client_id,
                "isdisabled": False,
                "createdon": now,
                "modifiedon": now,
                "versionnumber": version,
            }
        return user_id

    def seed_demo_data(self, size: int) -> None:
        """Demo records: users, accounts, contacts with parent accounts, leads and opportunities."""
        rng = random.Random(self.seed)
        first = ["Ada", "Grace", "Linus", "Margaret", "Alan", "Barbara", "Dennis", "Frances", "Ken", "Radia", "Tim", "Hedy"]
        last = ["Lovelace", "Hopper", "Torvalds", "Hamilton", "Turing", "Liskov", "Ritchie", "Allen", "Thompson", "Perlman"]
        words = ["Northwind", "Contoso", "Fabrikam", "Adventure", "Litware", "Proseware", "Tailspin", "Wingtip", "Alpine", "Coho"]
        users = []
        for n in range(max(3, size // 20)):
            f, last_name = first[n % len(first)], last[n % len(last)]
            users.append(
                self.create_record(
                    "systemusers",
                    {
                        "firstname": f,
                        "lastname": last_name,
                        "internalemailaddress": f"{f.lower()}.{last_name.lower()}{n}@{self.org_name}.com",
                        "domainname": f"{f.lower()}.{last_name.lower()}{n}@{self.org_name}.com",
                        "title": "Account Executive",
                    },
                )
            )
        accounts = []
        for n in range(size):
            name = f"{words[n % len(words)]} {rng.choice(['Traders', 'Systems', 'Labs', 'Holdings', 'Group'])} {n}"
            domain = re.sub(r"\W+", "", name.lower()) + ".example.com"
            accounts.append(
                self.create_record(
                    "accounts",
                    {
                        "name": name,
                        "websiteurl": f"https://www.{domain}",
                        "telephone1": f"+1 425 555 {n % 10000:04d}",
                        "address1_city": rng.choice(["Seattle", "Redmond", "Berlin", "London", "Sydney"]),
                        "industrycode": rng.randint(1, 33),
                        "customertypecode": rng.choice([3, 8, 5]),
                        "numberofemployees": rng.randint(5, 5000),
                        "ownerid": rng.choice(users),
                    },
                )
            )
        contacts = []
        for n in range(size):
            f, last_name = rng.choice(first), rng.choice(last)
            contacts.append(
                self.create_record(
                    "contacts",
                    {
                        "firstname": f,
                        "lastname": last_name,
                        "emailaddress1": f"{f.lower()}.{last_name.lower()}{n}@example.com",
                        "jobtitle": rng.choice(["CEO", "CTO", "Buyer", "IT Manager"]),
                        "preferredcontactmethodcode": rng.randint(1, 5),
                        "parentcustomerid": accounts[n % len(accounts)] if accounts else None,
                        "ownerid": rng.choice(users),
                    },
                )
            )
        for n in range(size):
            f, last_name = rng.choice(first), rng.choice(last)
            self.create_record(
                "leads",
                {
                    "subject": f"Interested in {rng.choice(['licences', 'support', 'a demo'])}",
                    "firstname": f,
                    "lastname": last_name,
                    "emailaddress1": f"lead.{f.lower()}.{last_name.lower()}{n}@example.org",
                    "companyname": f"{rng.choice(words)} Ltd",
                    "leadsourcecode": rng.randint(1, 10),
                    "leadqualitycode": rng.randint(1, 3),
                    "ownerid": rng.choice(users),
                },
            )
        for n in range(size // 2):
            self.create_record(
                "opportunities",
                {
                    "name": f"{rng.choice(['Renewal', 'Upsell', 'New business'])} {n}",
                    "estimatedvalue": rng.randint(1, 500) * 100,
                    "closeprobability": rng.randint(0, 100),
                    "opportunityratingcode": rng.randint(1, 3),
                    "parentaccountid": accounts[n % len(accounts)],
                    "parentcontactid": contacts[n % len(contacts)],
                    "ownerid": rng.choice(users),
                },
            )

    # --- reading ----------------------------------------------------------------------------------------------
    def _view(self, entity: Entity, row: dict[str, Any]) -> dict[str, Any]:
        """A row as $filter sees it: lookups as _x_value, dates as values."""
        view = {}
        for key, value in row.items():
            if isinstance(value, tuple):
                view[f"_{key}_value"] = value[1]
            else:
                view[key] = value
        return view

    def _filtered(self, entity: Entity, node: odata.Node | None) -> list[dict[str, Any]]:
        rows = self.rows[entity.logical].values()
        if node is None:
            return list(rows)
        lookup = odata.equality_set(node)
        if lookup is not None:  # many-value look-ups (e-mails, ids): a set test per row, same result
            name, wanted = lookup
            return [r for r in rows if (v := self._view_value(r, name)) is not None and str(v).casefold() in wanted]
        return [r for r in rows if odata.matches(node, self._view(entity, r))]

    @staticmethod
    def _view_value(row: dict[str, Any], name: str) -> Any:
        if name.startswith("_") and name.endswith("_value"):
            value = row.get(name[1:-6])
            return value[1] if isinstance(value, tuple) else None
        value = row.get(name)
        return None if isinstance(value, tuple) else value

    def _columns(self, entity: Entity, select: list[str] | None) -> list[Attr]:
        if not select:
            return list(entity.attrs)
        columns = []
        for name in select:
            attr = entity.attr(name)
            if attr is None and name.startswith("_") and name.endswith("_value"):
                attr = entity.attr(name[1:-6])
                attr = attr if attr and attr.is_lookup else None
            if attr is None:
                raise bad_request(f"Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.{entity.logical}'.")
            columns.append(attr)
        if entity.attr(entity.primary_id) not in columns:
            columns.append(entity.attr(entity.primary_id))
        return columns

    def _serialize(
        self,
        entity: Entity,
        row: dict[str, Any],
        columns: list[Attr],
        annotations: str,
        expand: dict[str, list[str] | None],
        request: Request,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {"@odata.etag": f'W/"{row.get("versionnumber")}"'}
        for attr in columns:
            value = row.get(attr.name)
            if attr.is_lookup:
                key = f"_{attr.name}_value"
                out[key] = value[1] if value else None
                if value and _wants(annotations, "Microsoft.Dynamics.CRM.lookuplogicalname"):
                    out[f"{key}@Microsoft.Dynamics.CRM.lookuplogicalname"] = value[0]
                    out[f"{key}@Microsoft.Dynamics.CRM.associatednavigationproperty"] = attr.navigation(value[0])
                if value and _wants(annotations, "OData.Community.Display.V1.FormattedValue"):
                    target_row = self.rows[value[0]].get(value[1]) or {}
                    target = self.entities[value[0]]
                    out[f"{key}@OData.Community.Display.V1.FormattedValue"] = target_row.get(target.primary_name)
                continue
            out[attr.name] = _json_value(value)
            if attr.has_options and value is not None and _wants(annotations, "OData.Community.Display.V1.FormattedValue"):
                out[f"{attr.name}@OData.Community.Display.V1.FormattedValue"] = attr.option(value).label
        for nav, nav_select in expand.items():
            out[nav] = self._expanded(entity, row, nav, nav_select, annotations, request)
        return out

    def _expanded(
        self, entity: Entity, row: dict[str, Any], nav: str, nav_select: list[str] | None, annotations: str, request: Request
    ) -> Any:
        """One $expand: an activity's parties, or a single-valued lookup's record (None when unset)."""
        if entity.logical in PARTY_ROLES and nav == party_navigation(entity.logical):
            return [self._party_json(p, annotations) for p in row.get(PARTIES) or []]
        found = entity.by_navigation(nav)
        if not found:
            raise bad_request(f"Could not find a property named '{nav}' on type 'Microsoft.Dynamics.CRM.{entity.logical}'.")
        attr, target = found
        value = row.get(attr.name)
        target_entity = self.entities[target]
        target_row = self.rows[target].get(value[1]) if value and value[0] == target else None
        if not target_row:
            return None
        return self._serialize(target_entity, target_row, self._columns(target_entity, nav_select), annotations, {}, request)

    def api_list(self, request: Request) -> Response:
        return self._respond(lambda: self._list(request))

    def _error_of(self, exc: Exception) -> Response:
        if isinstance(exc, ApiError):
            return self._api_error(exc)
        return self.error(400, str(exc), getattr(exc, "code", "0x80060888"))

    def _list(self, request: Request) -> Response:
        entity = self._entity_for_set(request.params["set"])
        _refuse_unknown_options(request)
        prefer = _prefer(request)
        page_size = min(_whole_number(prefer.get("odata.maxpagesize"), "odata.maxpagesize", MAX_PAGE_SIZE, 1), MAX_PAGE_SIZE)
        select = odata.parse_select(request.arg("$select"))
        annotations = prefer.get("odata.include-annotations", "")
        root = self._api_root(request)
        tracking = "odata.track-changes" in prefer or request.arg("$deltatoken") is not None
        skiptoken = request.arg("$skiptoken")
        if tracking or (skiptoken and 'tracking="True"' in skiptoken):
            return self._tracked(request, entity, select, page_size, annotations)
        filter_text = request.arg("$filter")
        node = odata.parse_filter(filter_text) if filter_text else None
        with self.lock:
            rows = self._filtered(entity, node)
            rows = _ordered(rows, odata.parse_orderby(request.arg("$orderby") or ""), entity)
            matching = len(rows)  # $count counts every matching row (up to 5,000), whatever $top says
            top = request.arg("$top")
            if top is not None:
                rows = rows[: _whole_number(top, "$top", 0, 0)]
            order = odata.parse_orderby(request.arg("$orderby") or "") + [(entity.primary_id, False)]
            page_number, last = _paging_cookie(skiptoken)
            if last is not None:
                rows = [r for r in rows if _after_position(entity, order, r, last)]
            page = rows[:page_size]
            expand = _parse_expand(request.arg("$expand"))
            columns = self._columns(entity, select)
            body: dict[str, Any] = {
                "@odata.context": f"{root}/$metadata#{entity.set_name}" + (f"({','.join(select)})" if select else ""),
                "value": [self._serialize(entity, r, columns, annotations, expand, request) for r in page],
            }
            if request.arg("$count") == "true":
                body["@odata.count"] = min(matching, COUNT_LIMIT)
        if len(rows) > page_size:
            body["@odata.nextLink"] = _link(
                root,
                entity.set_name,
                request,
                {"$skiptoken": _next_cookie(entity, order, page, page_number)},
            )
        headers = {"Preference-Applied": f"odata.maxpagesize={page_size}"} if "odata.maxpagesize" in prefer else {}
        return json_response(body, **headers)

    def _tracked(self, request: Request, entity: Entity, select: list[str] | None, page_size: int, annotations: str) -> Response:
        for option in ("$filter", "$orderby", "$expand", "$top"):
            if request.arg(option) is not None:
                raise bad_request(f"The query parameter {option} is not supported with change tracking (odata.track-changes).")
        root = self._api_root(request)
        skiptoken = request.arg("$skiptoken")
        delta = request.arg("$deltatoken")
        with self.lock:
            if skiptoken:  # a later page: since / snapshot / position are in the token
                since, snapshot, after = _tracking_cookie(skiptoken)
            else:
                since = self._delta_version(delta) if delta else 0
                snapshot, after = self.version, since
            changes = self._changes(entity, since, snapshot, after)
            page, more = changes[:page_size], len(changes) > page_size
            columns = self._columns(entity, select)
            values = []
            for _version, record_id, row in page:
                if row is None:
                    values.append(
                        {
                            "@odata.context": f"{root}/$metadata#{entity.set_name}/$deletedEntity",
                            "id": record_id,
                            "reason": "deleted",
                        }
                    )
                else:
                    values.append(self._serialize(entity, row, columns, annotations, {}, request))
        context = (
            f"{root}/$metadata#{entity.set_name}"
            + (f"({','.join(select)})" if select else "")
            + ("/$delta" if delta or since else "")
        )
        body: dict[str, Any] = {"@odata.context": context, "value": values}
        base_params = {"$select": ",".join(select)} if select else {}
        if more:
            cookie = f'<cookie tracking="True" since="{since}" snapshot="{snapshot}" after="{page[-1][0]}" />'
            body["@odata.nextLink"] = _link(root, entity.set_name, None, {**base_params, "$skiptoken": cookie})
        else:
            stamp = dt.datetime.now(dt.UTC).strftime("%m/%d/%Y %H:%M:%S")
            body["@odata.deltaLink"] = _link(root, entity.set_name, None, {**base_params, "$deltatoken": f"{snapshot}!{stamp}"})
        applied = ["odata.track-changes"] + (
            [f"odata.maxpagesize={page_size}"] if "odata.maxpagesize" in _prefer(request) else []
        )
        return json_response(body, **{"Preference-Applied": ",".join(applied)})

    def _delta_version(self, token: str) -> int:
        version_text, _, stamp = token.partition("!")
        try:
            version = int(version_text)
            issued = dt.datetime.strptime(stamp, "%m/%d/%Y %H:%M:%S").replace(tzinfo=dt.UTC) if stamp else None
        except ValueError:
            raise bad_request(f"The delta token '{token}' is not valid.") from None
        if version > self.version or (issued and dt.datetime.now(dt.UTC) - issued > self.change_retention):
            raise ApiError(400, "0x80044352", "Version stamp associated with the client has expired. Please perform a full sync.")
        return version

    def _changes(self, entity: Entity, since: int, snapshot: int, after: int) -> list[tuple[int, str, dict | None]]:
        """Each row that changed in (since, snapshot], once, at its latest version, oldest first;
        rows gone by now as deletions. Paging resumes after version `after`."""
        latest: dict[str, tuple[int, dict | None]] = {}
        for record_id, row in self.rows[entity.logical].items():
            if since < row["versionnumber"] <= snapshot:
                latest[record_id] = (row["versionnumber"], row)
        for tomb in self.tombstones[entity.logical]:
            live = tomb.id in self.rows[entity.logical]
            newer = tomb.id not in latest or latest[tomb.id][0] < tomb.version
            if since < tomb.version <= snapshot and not live and newer:
                latest[tomb.id] = (tomb.version, None)
        ordered = sorted((v, rid, row) for rid, (v, row) in latest.items())
        return [item for item in ordered if item[0] > after]

    def api_get(self, request: Request) -> Response:
        try:
            entity = self._entity_for_set(request.params["set"])
            record_id = self._key(entity, request.params["key"])
            with self.lock:
                row = self.rows[entity.logical].get(record_id)
                if row is None:
                    raise not_found(entity, record_id)
                columns = self._columns(entity, odata.parse_select(request.arg("$select")))
                body = self._serialize(
                    entity,
                    row,
                    columns,
                    _prefer(request).get("odata.include-annotations", ""),
                    _parse_expand(request.arg("$expand")),
                    request,
                )
            body = {"@odata.context": f"{self._api_root(request)}/$metadata#{entity.set_name}/$entity", **body}
            return json_response(body)
        except (ApiError, odata.ODataError) as exc:
            return self._error_of(exc)

    # --- writing over HTTP ---------------------------------------------------------------------------------------
    def api_create(self, request: Request) -> Response:
        return self._respond(lambda: self._create(request, request.params["set"], request.json(), request.headers, {}))

    def api_patch(self, request: Request) -> Response:
        return self._respond(
            lambda: self._patch(request, request.params["set"], request.params["key"], request.json(), request.headers, {})
        )

    def api_delete(self, request: Request) -> Response:
        def delete() -> Response:
            entity = self._entity_for_set(request.params["set"])
            self._delete(entity, self._key(entity, request.params["key"]))
            return Response(204)

        return self._respond(delete)

    def _respond(self, action: Callable[[], Response]) -> Response:
        try:
            return action()
        except (ApiError, odata.ODataError) as exc:
            return self._error_of(exc)
        except ValueError as exc:  # malformed JSON bodies, $top=abc, odata.maxpagesize=abc...
            return self.error(400, f"The request is not valid: {exc}", "0x80060891")

    def _create(
        self, request: Request, set_name: str, body: Any, headers: dict[str, str], content_ids: dict[str, tuple[str, str]]
    ) -> Response:
        entity = self._entity_for_set(set_name)
        row = self._write(entity, None, body, creating=True, user=self._token_user(request), content_ids=content_ids)
        return self._written(request, entity, row, headers, 201)

    def _patch(
        self,
        request: Request,
        set_name: str,
        key: str,
        body: Any,
        headers: dict[str, str],
        content_ids: dict[str, tuple[str, str]],
    ) -> Response:
        entity = self._entity_for_set(set_name)
        record_id = self._key(entity, key)
        if_match, if_none_match = headers.get("if-match"), headers.get("if-none-match")
        with self.lock:
            existing = self.rows[entity.logical].get(record_id)
            if existing is None and if_match:
                raise not_found(entity, record_id)
            if existing is not None and if_none_match == "*":
                raise ApiError(412, "0x80040237", "A record with matching key values already exists.")
            if existing is not None and if_match not in (None, "*") and if_match.strip('W/"') != str(existing["versionnumber"]):
                raise ApiError(
                    412, "0x80060882", "The version of the existing record doesn't match the RowVersion property provided."
                )
            creating = existing is None
            body = dict(body or {})
            if creating:
                body[entity.primary_id] = record_id
            row = self._write(entity, record_id, body, creating=creating, user=self._token_user(request), content_ids=content_ids)
        return self._written(request, entity, row, headers, 201 if creating else 200)

    def _written(self, request: Request, entity: Entity, row: dict, headers: dict[str, str], status: int) -> Response:
        entity_id = f"{self._api_root(request)}/{entity.set_name}({row[entity.primary_id]})"
        if "return=representation" in headers.get("prefer", ""):
            body = self._serialize(entity, row, list(entity.attrs), "", {}, request)
            body = {"@odata.context": f"{self._api_root(request)}/$metadata#{entity.set_name}/$entity", **body}
            return Response(status, body, {"OData-EntityId": entity_id, "Location": entity_id})
        return Response(204, None, {"OData-EntityId": entity_id})

    # --- $batch ---------------------------------------------------------------------------------------------------
    def batch(self, request: Request) -> Response:
        try:
            parts = batchfmt.decode_batch(request.body, request.headers.get("content-type", ""))
        except batchfmt.BatchFormatError as exc:
            return self.error(400, str(exc), "0x80048d19")
        if batchfmt.operation_count(parts) > batchfmt.MAX_BATCH_OPERATIONS:
            return self.error(
                400, f"The number of requests in the batch exceeds the limit of {batchfmt.MAX_BATCH_OPERATIONS}.", "0x80048d1a"
            )
        continue_on_error = "odata.continue-on-error" in _prefer(request)
        results: list[batchfmt.ResultPart] = []
        with self.lock:
            for part in parts:
                if isinstance(part, batchfmt.ChangeSet):
                    result = self._run_changeset(request, part)
                else:
                    result = self._run_operation(request, part, {})
                results.append(result)
                failed = isinstance(result, batchfmt.OperationResult) and not result.ok
                if failed and not continue_on_error:
                    break
        body, content_type = batchfmt.encode_batch_response(results)
        return Response(200, body, {}, content_type=content_type)

    def _run_changeset(self, request: Request, changeset: batchfmt.ChangeSet) -> batchfmt.ResultPart:
        undo = _Undo()
        self._undo = undo
        results = []
        try:
            for op in changeset.requests:
                if op.method == "GET":
                    result = batchfmt.OperationResult(
                        400,
                        {},
                        {"error": {"code": "0x80048d19", "message": "GET requests are not allowed in a change set."}},
                        op.content_id,
                    )
                else:
                    result = self._run_operation(request, op, undo.created)
                if not result.ok:
                    self._rollback(undo)
                    return result  # Dataverse answers a failed change set with the failing operation only
                results.append(result)
        finally:
            self._undo = None
        for event in undo.events:
            self._fire(*event)
        return batchfmt.ChangeSetResult(results)

    def _rollback(self, undo: _Undo) -> None:
        for logical, record_id, previous in reversed(undo.rows):
            if previous is None:
                self.rows[logical].pop(record_id, None)
            else:
                self.rows[logical][record_id] = previous
        for logical, tomb in undo.tombstones:
            self.tombstones[logical].remove(tomb)

    def _run_operation(
        self, request: Request, op: batchfmt.BatchRequest, content_ids: dict[str, tuple[str, str]]
    ) -> batchfmt.OperationResult:
        path, query = _inner_path(op.url, content_ids)
        headers = {k.lower(): v for k, v in op.headers.items()}
        inner = Request(
            op.method,
            API + "/" + path,
            query,
            {**request.headers, **headers},
            json.dumps(op.body).encode() if op.body is not None else b"",
            request.environ,
        )
        try:
            response = self._dispatch_inner(inner, path, op, content_ids)
        except (ApiError, odata.ODataError) as exc:
            response = self._error_of(exc)
        result = batchfmt.OperationResult(response.status, dict(response.headers), response.body, op.content_id)
        if op.content_id and response.status < 300 and "OData-EntityId" in response.headers:
            m = re.search(r"/([a-z]+)\(([^)]+)\)$", response.headers["OData-EntityId"])
            if m:
                content_ids[op.content_id] = (m.group(1), m.group(2))
        return result

    def _dispatch_inner(
        self, inner: Request, path: str, op: batchfmt.BatchRequest, content_ids: dict[str, tuple[str, str]]
    ) -> Response:
        m = re.fullmatch(r"([a-z]+)(?:\(([^)]*)\))?", path)
        if op.method == "GET":
            route, _ = self._match(inner)
            if route is None:
                raise ApiError(404, "0x8006088a", f"Resource not found for the segment '{path}'.")
            return route.handler(inner)
        if not m:
            raise ApiError(404, "0x8006088a", f"Resource not found for the segment '{path}'.")
        set_name, key = m.group(1), m.group(2)
        if op.method == "POST" and key is None:
            return self._create(inner, set_name, op.body, inner.headers, content_ids)
        if op.method == "PATCH" and key is not None:
            return self._patch(inner, set_name, key, op.body, inner.headers, content_ids)
        if op.method == "DELETE" and key is not None:
            entity = self._entity_for_set(set_name)
            self._delete(entity, self._key(entity, key))
            return Response(204)
        raise ApiError(405, "0x80060888", f"{op.method} is not supported on '{path}'.")

    # --- CreateMultiple / UpdateMultiple / UpsertMultiple ----------------------------------------------------------
    def bulk(self, request: Request) -> Response:
        return self._respond(lambda: self._bulk(request))

    def _bulk(self, request: Request) -> Response:
        """A bulk message on a standard table: every Target or none (a failure rolls the others back
        and answers that Target's error, naming its index); Create and Update webhooks fire per record."""
        entity = self._entity_for_set(request.params["set"])
        message = request.params["message"]
        if entity.logical not in self.bulk_tables:
            raise ApiError(400, "0x80040800", f"The '{message}' message is not supported for the '{entity.logical}' entity.")
        targets = request.json_object().get("Targets")
        if not isinstance(targets, list) or not targets or not all(isinstance(t, dict) for t in targets):
            raise bad_request(f"{message} needs a non-empty 'Targets' collection of {entity.logical} records.")
        expected = f"Microsoft.Dynamics.CRM.{entity.logical}"
        for index, target in enumerate(targets):
            if str(target.get("@odata.type") or "").lstrip("#") != expected:
                raise bad_request(f'Targets[{index}]: every record needs "@odata.type": "{expected}".')
        keys = [self._target_id(entity, t, message) for t in targets]
        repeated = {k for k in keys if k and keys.count(k) > 1}
        if repeated and message != "CreateMultiple":
            raise bad_request(f"Targets contains the record {sorted(repeated)[0]} more than once.", "0x80040265")
        user = self._token_user(request)
        with self.lock:
            undo = _Undo()
            self._undo = undo
            try:
                ids = [
                    self._bulk_one(entity, message, target, key, user, i)
                    for i, (target, key) in enumerate(zip(targets, keys, strict=True))
                ]
            except ApiError:
                self._rollback(undo)
                raise
            finally:
                self._undo = None
        for event in undo.events:
            self._fire(*event)
        if message == "CreateMultiple":
            context = f"{self._api_root(request)}/$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse"
            return json_response({"@odata.context": context, "Ids": ids})
        return Response(204)  # UpdateMultiple and UpsertMultiple answer 204 No Content

    def _target_id(self, entity: Entity, target: dict[str, Any], message: str) -> str | None:
        """A Target's record id: its primary key column, or @odata.id ("contacts(<guid>)")."""
        value = target.get(entity.primary_id)
        if value is None and target.get("@odata.id"):
            m = re.search(r"([a-z]+)\(([^)]*)\)$", str(target["@odata.id"]))
            if not m or m.group(1) != entity.set_name:
                raise bad_request(f"The @odata.id '{target['@odata.id']}' does not name a {entity.logical} record.")
            value = m.group(2)
        if value is None:
            if message == "UpdateMultiple":
                raise bad_request(f"UpdateMultiple needs {entity.primary_id} (or @odata.id) in every Target.")
            return None
        return self._key(entity, str(value))

    def _bulk_one(self, entity: Entity, message: str, target: dict, key: str | None, user: str | None, index: int) -> str:
        values = {k: v for k, v in target.items() if not k.startswith("@odata.") and k != entity.primary_id}
        exists = key is not None and key in self.rows[entity.logical]
        try:
            if message == "CreateMultiple" or (message == "UpsertMultiple" and not exists):
                if key is not None:
                    values[entity.primary_id] = key
                row = self._write(entity, None, values, creating=True, user=user)
            elif not exists:
                raise not_found(entity, key or "")
            else:
                row = self._write(entity, key, values, creating=False, user=user)
        except ApiError as exc:
            raise ApiError(exc.status, exc.code, f"Targets[{index}]: {exc.message}", exc.headers) from None
        return row[entity.primary_id]

    # --- WhoAmI and metadata ----------------------------------------------------------------------------------------
    def who_am_i(self, request: Request) -> Response:
        return json_response(
            {
                "@odata.context": f"{self._api_root(request)}/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
                "BusinessUnitId": self.business_unit_id,
                "UserId": self._token_user(request),
                "OrganizationId": self.organization_id,
            }
        )

    def entity_definitions(self, request: Request) -> Response:
        try:
            return self._entity_definitions(request)
        except (ApiError, odata.ODataError) as exc:
            return self._error_of(exc)

    def _entity_definitions(self, request: Request) -> Response:
        root = self._api_root(request)
        key, rest = request.params.get("key"), request.params.get("rest") or ""
        expand = _parse_expand(request.arg("$expand"))
        select = odata.parse_select(request.arg("$select"))
        if not key:
            node = odata.parse_filter(request.arg("$filter")) if request.arg("$filter") else None
            items = [self._entity_json(e, expand, select) for e in self.entities.values()]
            items = [i for i in items if node is None or odata.matches(node, i)]
            return json_response({"@odata.context": f"{root}/$metadata#EntityDefinitions", "value": items})
        entity = self._entity_by_metadata_key(key[1:-1])
        if not rest:
            return json_response(
                {"@odata.context": f"{root}/$metadata#EntityDefinitions/$entity", **self._entity_json(entity, expand, select)}
            )
        m = re.fullmatch(r"/Attributes(?:\(([^)]*)\))?(?:/Microsoft\.Dynamics\.CRM\.(\w+)AttributeMetadata)?", rest)
        if not m:
            raise ApiError(404, "0x8006088a", f"Resource not found for the segment '{rest.strip('/')}'.")
        attr_key, cast = m.group(1), m.group(2)
        attrs = [a for a in entity.attrs if cast is None or _metadata_type(a) == cast]
        if attr_key is not None:
            name = re.sub(r"^LogicalName=|'", "", attr_key)
            attrs = [a for a in attrs if a.name == name]
            if not attrs:
                raise ApiError(404, "0x80041102", f"Could not find attribute '{name}' for entity '{entity.logical}'.")
            return json_response(
                {
                    "@odata.context": f"{root}/$metadata#EntityDefinitions('{entity.logical}')/Attributes/$entity",
                    **self._attribute_json(entity, attrs[0], expand, select),
                }
            )
        return json_response(
            {
                "@odata.context": f"{root}/$metadata#EntityDefinitions('{entity.logical}')/Attributes",
                "value": [self._attribute_json(entity, a, expand, select) for a in attrs],
            }
        )

    def create_attribute(self, request: Request) -> Response:
        """POST EntityDefinitions(LogicalName='x')/Attributes: a new text column (StringAttributeMetadata;
        other attribute types are not emulated). SchemaName needs a publisher's customization prefix
        (`PUBLISHER_PREFIXES`); 204 with OData-EntityId naming the new attribute's metadata id."""
        try:
            entity = self._entity_by_metadata_key(request.params["key"])
            body = request.json_object()
            attr = _new_string_attribute(body, entity)
        except (ApiError, odata.ODataError) as exc:
            return self._error_of(exc)
        with self.lock:
            if self.entities[entity.logical].attr(attr.name) is not None:
                return self.error(400, f"An attribute named {attr.name} already exists on {entity.logical}.", "0x80044363")
            updated = dataclasses.replace(self.entities[entity.logical], attrs=(*self.entities[entity.logical].attrs, attr))
            self.entities[entity.logical] = self.by_set[entity.set_name] = updated
        entity_id, attribute_id = _metadata_id(entity.logical), _metadata_id(f"{entity.logical}.{attr.name}")
        location = f"{self._api_root(request)}/EntityDefinitions({entity_id})/Attributes({attribute_id})"
        response = Response(status=204)
        response.headers["OData-EntityId"] = location
        return response

    def _entity_by_metadata_key(self, key: str) -> Entity:
        m = re.fullmatch(r"LogicalName='([^']*)'", key)
        if m:
            entity = self.entities.get(m.group(1))
        else:
            entity = next((e for e in self.entities.values() if _metadata_id(e.logical) == key.lower()), None)
        if entity is None:
            raise ApiError(404, "0x80040217", f"Could not find an entity with the key {key}.")
        return entity

    def _entity_json(self, entity: Entity, expand: dict, select: list[str] | None) -> dict[str, Any]:
        item = {
            "MetadataId": _metadata_id(entity.logical),
            "LogicalName": entity.logical,
            "SchemaName": entity.logical.capitalize(),
            "EntitySetName": entity.set_name,
            "PrimaryIdAttribute": entity.primary_id,
            "PrimaryNameAttribute": entity.primary_name,
            "ObjectTypeCode": entity.object_type_code,
            "ChangeTrackingEnabled": True,
            "IsCustomEntity": False,
            "DisplayName": _label(entity.display),
            "DisplayCollectionName": _label(entity.display + "s"),
        }
        if select:
            item = {k: v for k, v in item.items() if k in select or k == "MetadataId"}
        if "Attributes" in expand:
            item["Attributes"] = [self._attribute_json(entity, a, {}, expand["Attributes"]) for a in entity.attrs]
        return item

    def _attribute_json(self, entity: Entity, attr: Attr, expand: dict, select: list[str] | None) -> dict[str, Any]:
        kind = _metadata_type(attr)
        item: dict[str, Any] = {
            "@odata.type": f"#Microsoft.Dynamics.CRM.{kind}AttributeMetadata",
            "MetadataId": _metadata_id(f"{entity.logical}.{attr.name}"),
            "LogicalName": attr.name,
            "SchemaName": attr.name.capitalize(),
            "EntityLogicalName": entity.logical,
            "AttributeType": attr.type,
            "AttributeTypeName": {"Value": f"{attr.type}Type"},
            "DisplayName": _label(attr.label),
            "RequiredLevel": {
                "Value": attr.required,
                "CanBeChanged": attr.required != "SystemRequired",
                "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings",
            },
            "IsValidForCreate": attr.create,
            "IsValidForUpdate": attr.update,
            "IsValidForRead": True,
            "IsPrimaryId": attr.name == entity.primary_id,
            "IsPrimaryName": attr.name == entity.primary_name,
            "AttributeOf": None,
            "IsCustomAttribute": False,
        }
        if attr.type in ("String", "Memo"):
            item["MaxLength"] = attr.max_length
            item["Format"] = attr.format or "Text"
        if attr.type == "DateTime":
            item["Format"] = attr.format or "DateAndTime"
        if attr.is_lookup:
            item["Targets"] = list(attr.targets)
        if select:
            item = {k: v for k, v in item.items() if k in select or k in ("@odata.type", "MetadataId")}
        if attr.has_options and "OptionSet" in expand:
            item["OptionSet"] = _option_set(entity, attr)
        if attr.has_options and "GlobalOptionSet" in expand:
            item["GlobalOptionSet"] = None
        return item

    # --- control endpoints (demo, browser tests, benchmarks on a real port) ------------------------------------------
    def control(self, request: Request) -> Response | None:
        body = request.json() if request.body else {}
        try:
            if request.path == "/_emulator/records" and request.method == "POST":
                return json_response({"id": self.create_record(body["entity_set"], body["properties"])}, 201)
            if request.path == "/_emulator/edit" and request.method == "POST":
                self.edit_record(body["entity_set"], body["id"], body["properties"])
                return json_response({"ok": True})
            if request.path == "/_emulator/delete" and request.method == "POST":
                self.delete_record(body["entity_set"], body["id"])
                return json_response({"ok": True})
            if request.path == "/_emulator/expire-tokens" and request.method == "POST":
                self.expire_tokens()
                return json_response({"ok": True})
            if request.path == "/_emulator/webhooks" and request.method == "POST":
                endpoint = self.register_webhook(
                    body["url"], body.get("auth_type", "WebhookKey"), body.get("key"), body.get("pairs")
                )
                return json_response({"id": endpoint.id}, 201)
            if request.path == "/_emulator/state" and request.method == "GET":
                return json_response(
                    {
                        "counts": {e.set_name: len(self.rows[e.logical]) for e in self.entities.values()},
                        "version": self.version,
                        "webhooks": len(self.endpoints),
                        "deliveries": list(self.webhook_sender.deliveries),
                    }
                )
        except ApiError as exc:
            return self._api_error(exc)
        except (KeyError, TypeError) as exc:
            return self.error(400, f"Missing or malformed field: {exc}")
        return None


# --- module helpers ---------------------------------------------------------------------------------------------
def _wants(annotations: str, name: str) -> bool:
    patterns = [p.strip().strip('"') for p in annotations.split(",") if p.strip()]
    return any(p == "*" or p == name or (p.endswith(".*") and name.startswith(p[:-1])) for p in patterns)


def _prefer(request: Request) -> dict[str, str]:
    prefs: dict[str, str] = {}
    for item in re.split(r",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", request.headers.get("prefer", "")):
        name, _, value = item.strip().partition("=")
        if name:
            prefs[name.strip()] = value.strip().strip('"')
    return prefs


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _ordered(rows: list[dict], keys: list[tuple[str, bool]], entity: Entity) -> list[dict]:
    rows = sorted(rows, key=lambda r: r[entity.primary_id])  # Dataverse's default order: the primary key
    for name, descending in reversed(keys):
        rows.sort(key=lambda r, n=name: _position_key(entity, n, _row_value(r, n)), reverse=descending)
    return rows


def _whole_number(text: str | None, name: str, default: int, minimum: int) -> int:
    """A whole-number query option or preference; anything else (abc, -1, 0 pages) is a 400."""
    if text in (None, ""):
        return default
    try:
        value = int(text)
    except ValueError:
        raise bad_request(f"Invalid value '{text}' for {name}: a whole number is expected.") from None
    if value < minimum:
        raise bad_request(f"Invalid value '{text}' for {name}: it must be at least {minimum}.")
    return value


def _next_cookie(entity: Entity, order: list[tuple[str, bool]], page: list[dict], page_number: int) -> str:
    """Dataverse's paging cookie: the page's first and last values of each ordering column and of the
    primary key, as URL-encoded XML inside the $skiptoken's <cookie pagenumber=...> (so encoded twice
    in the @odata.nextLink)."""
    parts = []
    for name, _desc in order:
        first, last = (_cookie_text(_row_value(row, name)) for row in (page[0], page[-1]))
        parts.append(
            f'<{name} last="{xml_escape(last, {chr(34): "&quot;"})}" first="{xml_escape(first, {chr(34): "&quot;"})}" />'
        )
    cookie = f'<cookie page="{page_number}">{"".join(parts)}</cookie>'
    return f'<cookie pagenumber="{page_number + 1}" pagingcookie="{urlquote(cookie, safe="")}" istracking="False" />'


def _paging_cookie(skiptoken: str | None) -> tuple[int, dict[str, str | None] | None]:
    """(page number of the page asked for, {column: last value} of the page before), or (1, None)."""
    if not skiptoken:
        return 1, None
    m = re.search(r'pagenumber="(\d+)"\s+pagingcookie="([^"]*)"', skiptoken)
    if not m:
        raise bad_request(f"The $skiptoken '{skiptoken}' is not valid.")
    try:
        root = ElementTree.fromstring(unquote(m.group(2)))
    except ElementTree.ParseError:
        raise bad_request("The paging cookie in $skiptoken is not valid.") from None
    return int(m.group(1)), {child.tag: child.get("last") for child in root}


def _row_value(row: dict[str, Any], name: str) -> Any:
    lookup = name[1:-6] if name.startswith("_") and name.endswith("_value") else name
    value = row.get(lookup)
    return value[1] if isinstance(value, tuple) else value


def _cookie_text(value: Any) -> str:
    if value is None:
        return ""
    value = _json_value(value)
    return ("1" if value else "0") if isinstance(value, bool) else str(value)


NUMERIC_TYPES = frozenset({"Integer", "BigInt", "Money", "Decimal", "Picklist", "State", "Status", "Boolean"})


def _position_key(entity: Entity, name: str, value: Any) -> tuple:
    """Comparable form of a column's value or of its cookie text (numbers by value, the rest as
    folded text); $orderby and the paging cookie both use it, so they agree."""
    if value is None or value == "":
        return (0, 0.0, "")
    text = _cookie_text(value)
    attr = entity.attr(name[1:-6] if name.startswith("_") and name.endswith("_value") else name)
    if attr is not None and attr.type in NUMERIC_TYPES:
        try:
            return (1, float(text), "")
        except ValueError:
            raise bad_request(f"The paging cookie's value {text!r} for {name} is not a number.") from None
    return (1, 0.0, text.casefold())


def _after_position(entity: Entity, order: list[tuple[str, bool]], row: dict[str, Any], last: dict[str, str | None]) -> bool:
    """Whether `row` sorts after the cookie's last row: paging by position, not offset, so rows
    added or removed before the position do not shift the pages."""
    for name, descending in order:
        if name not in last:
            raise bad_request("The paging cookie does not match this query's $orderby.")
        mine, theirs = _position_key(entity, name, _row_value(row, name)), _position_key(entity, name, last[name])
        if mine != theirs:
            return (mine > theirs) != descending
    return False


def _tracking_cookie(skiptoken: str) -> tuple[int, int, int]:
    m = re.search(r'since="(\d+)" snapshot="(\d+)" after="(\d+)"', skiptoken)
    if not m:
        raise bad_request(f"The $skiptoken '{skiptoken}' is not valid.")
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


# --- written values by column type (DynamicsEmulator._typed) --------------------------------------
def _text_value(entity: Entity, attr: Attr, value: Any) -> str:
    if not isinstance(value, str):
        raise bad_request(f"Cannot convert the literal '{value}' to the expected type 'Edm.String'.")
    if attr.max_length and len(value) > attr.max_length:
        raise bad_request(
            f"A validation error occurred. The length of the '{attr.name}' attribute of the '{entity.logical}' entity "
            f"exceeded the maximum allowed length of '{attr.max_length}'.",
            "0x80044331",
        )
    return value


def _integer_value(entity: Entity, attr: Attr, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(f"Cannot convert the literal '{value}' to the expected type 'Edm.Int32'.")
    if attr.has_options and attr.option(value) is None:
        raise bad_request(
            f"A validation error occurred. The value {value} of '{attr.name}' on record of type "
            f"'{entity.logical}' is outside the valid range.",
            "0x8004431a",
        )
    return value


def _decimal_value(entity: Entity, attr: Attr, value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise bad_request(f"Cannot convert the literal '{value}' to the expected type 'Edm.Decimal'.")
    return value


def _boolean_value(entity: Entity, attr: Attr, value: Any) -> bool:
    if not isinstance(value, bool):
        raise bad_request(f"Cannot convert the literal '{value}' to the expected type 'Edm.Boolean'.")
    return value


def _datetime_value(entity: Entity, attr: Attr, value: Any) -> dt.date | dt.datetime:
    try:
        parsed = odata.parse_datetime(value) if "T" in str(value) else dt.date.fromisoformat(str(value))
    except ValueError:
        raise bad_request(f"Cannot convert the literal '{value}' to the expected type 'Edm.DateTimeOffset'.") from None
    return parsed.date() if attr.format == "DateOnly" and isinstance(parsed, dt.datetime) else parsed


_TYPED_VALUES: dict[str, Callable[[Entity, Attr, Any], Any]] = {
    **dict.fromkeys(("String", "Memo", "Uniqueidentifier"), _text_value),
    **dict.fromkeys(("Integer", "BigInt", "Picklist", "State", "Status"), _integer_value),
    **dict.fromkeys(("Money", "Decimal"), _decimal_value),
    "Boolean": _boolean_value,
    "DateTime": _datetime_value,
}


def _link(root: str, set_name: str, request: Request | None, params: dict[str, str]) -> str:
    """A next/delta link: the query's own options plus paging ones, OData-escaped."""
    kept = {}
    if request is not None:
        kept = {k: v[0] for k, v in request.query.items() if k not in ("$skiptoken",)}
    kept.update(params)
    query = "&".join(f"{k}={urlquote(v, safe=LINK_SAFE)}" for k, v in kept.items())
    return f"{root}/{set_name}?{query}"


# Where a row keeps its activityparty rows (a row's own key, so change sets undo them with it).
PARTIES = "_activity_parties"


def _parse_expand(text: str | None) -> dict[str, list[str] | None]:
    """'OptionSet($select=Options),Attributes' -> {'OptionSet': ['Options'], 'Attributes': None}."""
    result: dict[str, list[str] | None] = {}
    if not text:
        return result
    depth, start = 0, 0
    items = []
    for i, ch in enumerate(text + ","):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(text[start:i].strip())
            start = i + 1
    for item in filter(None, items):
        name, _, inner = item.partition("(")
        select = re.search(r"\$select=([^;)]*)", inner)
        result[name.strip()] = odata.parse_select(select.group(1)) if select else None
    return result


def _inner_path(url: str, content_ids: dict[str, tuple[str, str]]) -> tuple[str, dict[str, list[str]]]:
    """A batch operation's URL relative to the Web API root, and its query."""
    parts = urlsplit(url)
    path = unquote(parts.path)
    if path.startswith("$") and path[1:].split("/")[0] in content_ids:
        set_name, record_id = content_ids[path[1:].split("/")[0]]
        path = f"{set_name}({record_id})"
    if API in path:
        path = path.split(API, 1)[1]
    return path.strip("/"), parse_qs(parts.query, keep_blank_values=True)


PUBLISHER_PREFIXES = ("new",)  # the default solution's publisher; a column's SchemaName starts with one and _


def _new_string_attribute(body: Any, entity: Entity) -> Attr:
    """The column a StringAttributeMetadata body describes, or an ApiError saying what is wrong."""
    if not isinstance(body, dict):
        raise ApiError(400, "0x80048d19", "The request body is not an attribute definition.")
    if body.get("@odata.type") not in (
        "Microsoft.Dynamics.CRM.StringAttributeMetadata",
        "#Microsoft.Dynamics.CRM.StringAttributeMetadata",
    ):
        raise ApiError(400, "0x80048d19", "Only StringAttributeMetadata columns can be created on this emulator.")
    schema = body.get("SchemaName")
    if not isinstance(schema, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9]{1,7}_[A-Za-z0-9_]{1,40}", schema):
        raise ApiError(400, "0x80044331", "SchemaName must be a customization prefix, _ and letters, digits or _.")
    if schema.split("_", 1)[0].lower() not in PUBLISHER_PREFIXES:
        raise ApiError(400, "0x80044332", f"The prefix of {schema} is not the customization prefix of a publisher.")
    max_length = body.get("MaxLength", 100)
    if not isinstance(max_length, int) or isinstance(max_length, bool) or not 1 <= max_length <= 4000:
        raise ApiError(400, "0x80048d19", "MaxLength must be a whole number from 1 to 4000.")
    display = body.get("DisplayName") if isinstance(body.get("DisplayName"), dict) else {}
    labels = display.get("LocalizedLabels") if isinstance(display.get("LocalizedLabels"), list) else []
    label = next((item["Label"] for item in labels if isinstance(item, dict) and isinstance(item.get("Label"), str)), "")
    if not label:
        raise ApiError(400, "0x80048d19", "DisplayName needs a LocalizedLabels entry with a Label.")
    if schema.lower() in (entity.primary_id, entity.primary_name):
        raise ApiError(400, "0x80044363", f"An attribute named {schema.lower()} already exists on {entity.logical}.")
    return Attr(schema.lower(), "String", label[:100], max_length=max_length, format="Text")


def _metadata_type(attr: Attr) -> str:
    return {
        "String": "String",
        "Memo": "Memo",
        "Integer": "Integer",
        "BigInt": "BigInt",
        "Money": "Money",
        "Decimal": "Decimal",
        "Boolean": "Boolean",
        "DateTime": "DateTime",
        "Picklist": "Picklist",
        "State": "State",
        "Status": "Status",
        "Lookup": "Lookup",
        "Customer": "Lookup",
        "Owner": "Lookup",
        "Uniqueidentifier": "UniqueIdentifier",
    }[attr.type]


def _metadata_id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"dataverse-metadata:{name}"))


def _label(text: str, german: str | None = None) -> dict[str, Any]:
    def one(label: str, lang: int) -> dict[str, Any]:
        return {
            "Label": label,
            "LanguageCode": lang,
            "IsManaged": True,
            "MetadataId": _metadata_id(f"{label}:{lang}"),
            "HasChanged": None,
        }

    localized = [one(text, ENGLISH)] + ([one(german, GERMAN)] if german else [])
    return {"LocalizedLabels": localized, "UserLocalizedLabel": one(text, ENGLISH)}


def _option_set(entity: Entity, attr: Attr) -> dict[str, Any]:
    options = []
    for o in attr.options:
        item: dict[str, Any] = {
            "Value": o.value,
            "Color": None,
            "IsManaged": True,
            "ExternalValue": "",
            "MetadataId": None,
            "HasChanged": None,
            "Label": _label(o.label, o.german),
            "Description": _label(""),
        }
        if attr.type == "Status":
            item["State"] = o.state
        if attr.type == "State":
            status = ENTITIES[entity.logical].attr("statuscode")
            item["DefaultStatus"] = next((s.value for s in status.options if s.state == o.value), None) if status else None
            item["InvariantName"] = o.label
        options.append(item)
    kinds = {"Picklist": "Picklist", "State": "State", "Status": "Status"}
    return {
        "MetadataId": _metadata_id(f"{entity.logical}_{attr.name}_optionset"),
        "Name": f"{entity.logical}_{attr.name}",
        "OptionSetType": kinds[attr.type],
        "IsGlobal": False,
        "IsCustomOptionSet": False,
        "Options": options,
    }
