"""The ConnectWise Manage emulator: the REST API under /v4_6_release/apis/3.0, in memory.

Reachable in-process (`emulator.transport()`) and on a real port (`emulator.serve()`, or
`python manage.py emulator connectwise --port N --company C --public-key P --private-key K
--client-id ID`), with the shared knobs (latency, limits, faults, counters) of
connectors.emulation.Emulator.

What it emulates, from ConnectWise's developer documentation:
- auth: Basic base64("companyId+publicKey:privateKey") and the `clientId` header on every call;
  401 `{code, message}` when either is wrong or missing; `GET /login/companyinfo/{companyId}`
  (no auth) as clients use it to check a company id and find the codebase;
- company/companies (identifier, name, status, types, website, address, customFields...),
  company/contacts (communicationItems holding e-mails and phones, company, types),
  sales/opportunities (company, contact, stage, status, type, primarySalesRep), sales/activities
  and contact / company notes (emulator_activities.py), system/members,
  each with GET list / GET {id} / GET count, and (except members) POST, PATCH with JSON-patch
  operations [{op, path, value}], PUT and DELETE; lookup lists: company/companies/statuses,
  company/companies/types, company/contacts/types, company/communicationTypes, sales/stages,
  sales/opportunities/statuses, sales/opportunities/types, system/userDefinedFields
  (custom fields, which records carry in their `customFields` array; POST creates one on a
  screen: caption, podId, sequenceNumber and fieldTypeIdentifier required, a sequence number
  already used on the pod refused; podIds 1-4 are this emulator's Company / Contact /
  Opportunity / Activity screens, the real numbering per site is not known); system/info;
- list queries: `conditions` (the full language in conditions.py: =, !=, <, <=, >, >=, contains,
  like with *, in, not, and, or, parentheses, "strings", [datetimes], nested paths such as
  company/id and status/name; `lastUpdated` / `dateEntered` address `_info`), `childConditions`
  (e.g. communicationItems/value in ("a@x.com") — a record matches when one element of the
  array does), `customFieldConditions` (caption / value / id of one customFields element),
  `orderBy` ("name asc, id desc"), `fields` ("id,name,company/id"), page / pageSize (default
  25, at most 1,000: larger sizes are cut to 1,000), `Link` headers (first / prev / next /
  last), and forward-only paging with the `pagination-type: forward-only` header and `pageId`
  (id > pageId, ordered by id, only rel="next"); malformed conditions are a 400, never a crash;
- every route answers with or without a trailing slash (`/company/companies/`, as connectpyse and
  other clients send it); API version negotiation through `Accept: application/vnd.connectwise.com+json;
  version=2022.1`: no version means the newest, a version from 2019.1 up to this server's is
  answered, a newer one gets the newest, the retired 3.0.x numbering or a version that is not
  YYYY.N is a 400;
- validation errors as ConnectWise writes them: 400 {code: "InvalidObject", message,
  errors: [{code, message, resource, field}]}, e.g. a contact without a company or an
  opportunity without a contact; unknown status / type / stage / member ids; duplicate company
  identifiers;
- callbacks: system/callbacks (GET, POST, GET/DELETE {id}); every change of a company, contact,
  opportunity or sales activity (through the API or the in-process helpers) POSTs ConnectWise's callback
  payload (see callbacks.py) to each matching callback URL, signed with `x-content-signature`,
  whose key is served at Metadata.key_url;
- rate limiting: ConnectWise publishes no request-rate number for its cloud API, so none is
  enforced unless the `rate_limit=(calls, seconds)` knob (`--rate-limit 600/60`) sets one; then
  a sliding window per API member answers 429 {code: "TooManyRequests"} with Retry-After;
- fault injection and request counters from the shared base class;
- in-process helpers to make and edit records as a user would in ConnectWise (`add_company`,
  `add_contact`, `add_opportunity`, `add_member`, `edit`, `delete`), bumping `_info.lastUpdated`
  and firing callbacks; `demo(seed_size=N)` seeds companies, contacts and opportunities.

What it does NOT emulate:
- any other module (service tickets, projects, finance, time...), sites / addresses as their
  own resources, company teams, contact departments / relationships, opportunity forecasts,
  notes and probabilities as resources (contact and company notes are emulated:
  emulator_activities.py); an unknown path is a 404 {code: "NotFound"};
- security roles and per-member permissions (every valid key may do everything), member
  creation, API-member impersonation, the codebase-versioned base paths (only v4_6_release);
- real ConnectWise lets contacts exist without a company; the emulator refuses them by default
  (`contacts_require_company=True`) because SyncSmart's integration requires one — set it False
  for the vendor's own behaviour; it requires no `site` on companies and defaults an
  opportunity's primarySalesRep to the API member, where real ConnectWise may ask for them;
- the exact wording and `code` values of every ConnectWise error (the shape is faithful, the
  words are ours), and callback levels other than "owner" (all records of a type) and "company"
  (records of one company);
- per-version models: every accepted API version gets the same (current) model of each record;
  what a retired version answers on the real server (we answer 400) is not documented;
- where the signing key is really served from (the payload's key_url points at this emulator).

Where it follows observed behaviour over the documentation (with the evidence):
- list URLs with a trailing slash reach the resource (connectpyse builds every URL that way and
  works against ConnectWise; tests/connectors/test_connectwise_client_library.py);
- pageSize above 1,000 is cut to 1,000 rather than refused (the developer guide's "maximum of
  1000"; clients such as connectpyse pass larger values and get 1,000 back);
- a record's `customFields` always lists every custom field of its screen, null when unset (as
  ConnectWise answers; the docs show only set values).
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime as dt
import json
import math
import random
import re
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlunsplit

from connectors.connectwise import API_PATH, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from connectors.connectwise import callbacks as cb
from connectors.connectwise import emulator_activities as acts
from connectors.connectwise.conditions import ConditionError, Node, parse, resolve_path
from connectors.emulation import (
    Emulator,
    Request,
    Response,
    SlidingWindow,
    WebhookSender,
    iso,
    json_response,
    public,
    utcnow,
)

DEMO_COMPANY = "syncsmart"
DEMO_PUBLIC_KEY = "demoPublicKey1234"
DEMO_PRIVATE_KEY = "demoPrivateKey5678"
DEMO_CLIENT_ID = "8f0a4c2e-5b1d-4e7a-9c3f-2d6b1a0e9f57"
VERSION = "v2025.1.0.00001"
VERSION_NUMBER = (2025, 1)  # the newest model version this server answers with
OLDEST_VERSION = (2019, 1)  # API versions follow PSA releases from 2019.1 on; 3.0.x is retired

ERROR_CODES = {
    400: "InvalidObject",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}
INFO_ALIASES = ("lastUpdated", "dateEntered", "updatedBy", "enteredBy")
IDENTIFIER = re.compile(r"^[A-Za-z0-9_\-.]{1,25}$")


@dataclass(frozen=True)
class Resource:
    key: str  # our object type name / storage key
    path: str  # under API_PATH
    singular: str  # the word in ConnectWise's messages ("company", "contact"...)
    callback_type: str | None
    fields: frozenset[str]  # top-level fields conditions / orderBy / fields may name
    screen: str | None = None  # userDefinedFields screenId whose custom fields records carry
    writable: bool = True
    parent: tuple[str, str] | None = None  # nested under a record: (parent store key, field naming it)

    def route(self, api: str) -> str:
        """The route's pattern: a nested resource's {parentId} is a path parameter."""
        return api + "/" + self.path.replace("{parentId}", r"(?P<parent>\d+)")


_COMMON = {"id", "_info", "customFields", *INFO_ALIASES}
RESOURCES = {
    r.key: r
    for r in [
        Resource(
            "companies",
            "company/companies",
            "company",
            "company",
            frozenset(
                _COMMON
                | {
                    "identifier",
                    "name",
                    "status",
                    "types",
                    "addressLine1",
                    "addressLine2",
                    "city",
                    "state",
                    "zip",
                    "country",
                    "phoneNumber",
                    "faxNumber",
                    "website",
                    "territory",
                    "market",
                    "accountNumber",
                    "defaultContact",
                    "dateAcquired",
                    "annualRevenue",
                    "numberOfEmployees",
                    "leadSource",
                    "deletedFlag",
                }
            ),
            screen="Company",
        ),
        Resource(
            "contacts",
            "company/contacts",
            "contact",
            "contact",
            frozenset(
                _COMMON
                | {
                    "firstName",
                    "lastName",
                    "company",
                    "site",
                    "title",
                    "department",
                    "inactiveFlag",
                    "types",
                    "communicationItems",
                    "defaultPhoneType",
                    "defaultPhoneNbr",
                    "defaultPhoneExtension",
                }
            ),
            screen="Contact",
        ),
        Resource(
            "opportunities",
            "sales/opportunities",
            "opportunity",
            "opportunity",
            frozenset(
                _COMMON
                | {
                    "name",
                    "expectedCloseDate",
                    "type",
                    "stage",
                    "status",
                    "priority",
                    "notes",
                    "source",
                    "rating",
                    "probability",
                    "primarySalesRep",
                    "secondarySalesRep",
                    "company",
                    "contact",
                    "site",
                    "customerPO",
                    "closedDate",
                    "closedFlag",
                    "dateBecameLead",
                    "totalSalesTax",
                }
            ),
            screen="Opportunity",
        ),
        Resource(
            "members",
            "system/members",
            "member",
            None,
            frozenset(
                _COMMON
                | {"identifier", "firstName", "lastName", "primaryEmail", "title", "officePhone", "inactiveFlag", "licenseClass"}
            ),
            writable=False,
        ),
        # Sales activities and notes: emulator_activities.py.
        Resource(
            "activities",
            "sales/activities",
            "activity",
            cb.ACTIVITY,
            frozenset(_COMMON | acts.ACTIVITY_FIELDS),
            screen="Activity",
        ),
        Resource(
            "contact_notes",
            "company/contacts/{parentId}/notes",
            "contact note",
            None,
            frozenset(_COMMON | acts.CONTACT_NOTE_FIELDS),
            parent=("contacts", "contactId"),
        ),
        Resource(
            "company_notes",
            "company/companies/{parentId}/notes",
            "company note",
            None,
            frozenset(_COMMON | acts.COMPANY_NOTE_FIELDS),
            parent=("companies", "company"),
        ),
    ]
}
LOOKUPS = {
    # storage key: (path, fields)
    "company_statuses": ("company/companies/statuses", {"id", "name", "defaultFlag", "inactiveFlag", "_info"}),
    "company_types": ("company/companies/types", {"id", "name", "defaultFlag", "vendorFlag", "_info"}),
    "contact_types": ("company/contacts/types", {"id", "description", "defaultFlag", "_info"}),
    "communication_types": (
        "company/communicationTypes",
        {"id", "description", "phoneFlag", "faxFlag", "emailFlag", "defaultFlag", "_info"},
    ),
    "stages": ("sales/stages", {"id", "name", "probability", "defaultFlag", "_info"}),
    "opportunity_statuses": (
        "sales/opportunities/statuses",
        {"id", "name", "wonFlag", "lostFlag", "closedFlag", "inactiveFlag", "defaultFlag", "_info"},
    ),
    "opportunity_types": ("sales/opportunities/types", {"id", "description", "inactiveFlag", "_info"}),
    "udfs": (
        "system/userDefinedFields",
        {
            "id",
            "podId",
            "caption",
            "sequenceNumber",
            "helpText",
            "fieldTypeIdentifier",
            "entryTypeIdentifier",
            "screenId",
            "listItems",
            "requiredFlag",
            "_info",
        },
    ),
    **acts.ACTIVITY_LOOKUPS,
}


class ConnectWiseEmulator(Emulator):
    system = "connectwise"
    trailing_slash = True  # `/company/companies/` is the same resource; connectpyse and others send it

    def __init__(
        self,
        *,
        company: str = DEMO_COMPANY,
        public_key: str = DEMO_PUBLIC_KEY,
        private_key: str = DEMO_PRIVATE_KEY,
        client_id: str = DEMO_CLIENT_ID,
        seed_size: int = 0,
        rate_limit: tuple[int, float] | None = None,
        contacts_require_company: bool = True,
        **knobs: Any,
    ):
        self.company = company
        self.public_key = public_key
        self.private_key = private_key
        self.client_id = client_id
        self.rate_limit_spec = rate_limit
        self.window = SlidingWindow(int(rate_limit[0]), float(rate_limit[1])) if rate_limit else None
        self.contacts_require_company = contacts_require_company
        self.clock: Callable[[], dt.datetime] = utcnow
        self.webhooks = WebhookSender()
        self.store: dict[str, dict[int, dict]] = {key: {} for key in [*RESOURCES, *LOOKUPS, "callbacks"]}
        self.next_ids: dict[str, int] = {key: 1 for key in self.store}
        self.signing_keys: dict[str, str] = {}
        self.identifiers: dict[str, int] = {}  # lower-cased company identifier -> id (unique, like ConnectWise)
        self.data_lock = threading.RLock()
        super().__init__(**knobs)
        self._seed_lookups()
        self.api_member_id = self.add_member("apimember", "API", "Member", "api.member@" + _domain(company))["id"]
        if seed_size:
            self.seed_demo(seed_size, seed=knobs.get("seed", 0))

    # --- construction from the command line / the demo -------------------------------------
    @classmethod
    def add_arguments(cls, parser) -> None:
        parser.add_argument("--company", default=DEMO_COMPANY, help="company id the emulator accepts")
        parser.add_argument("--public-key", default=DEMO_PUBLIC_KEY)
        parser.add_argument("--private-key", default=DEMO_PRIVATE_KEY)
        parser.add_argument("--client-id", default=DEMO_CLIENT_ID)
        parser.add_argument(
            "--rate-limit",
            default="",
            help="e.g. '600/60': calls per seconds per API member (ConnectWise publishes no number; off by default)",
        )

    @classmethod
    def from_options(cls, options: dict[str, Any], **knobs: Any) -> ConnectWiseEmulator:
        return cls(
            company=options.get("company") or DEMO_COMPANY,
            public_key=options.get("public_key") or DEMO_PUBLIC_KEY,
            private_key=options.get("private_key") or DEMO_PRIVATE_KEY,
            client_id=options.get("client_id") or DEMO_CLIENT_ID,
            rate_limit=parse_rate_limit(options.get("rate_limit") or ""),
            seed_size=int(options.get("seed_size") or 0),
            **knobs,
        )

    @classmethod
    def demo(cls, seed_size: int = 100, **kwargs: Any) -> ConnectWiseEmulator:
        return cls(seed_size=seed_size, **kwargs)

    # --- routes -----------------------------------------------------------------------------
    def setup_routes(self) -> None:
        api = re.escape(API_PATH)
        self.route("GET", r"/login/companyinfo/(?P<company>[^/]+)", public(lambda r: self.company_info(r)), name="companyinfo")
        self.route("GET", api + r"/system/info", self.system_info, name="system/info")
        for resource in RESOURCES.values():
            base = resource.route(api)
            key = resource.key
            self.route("GET", base, self._bind(self.list_records, key), name=f"{resource.path} list")
            self.route("GET", base + r"/count", self._bind(self.count_records, key), name=f"{resource.path} count")
            self.route("GET", base + r"/(?P<id>\d+)", self._bind(self.get_record, key), name=f"{resource.path} get")
            if resource.writable:
                self.route("POST", base, self._bind(self.create_record, key), name=f"{resource.path} create")
                self.route("PATCH", base + r"/(?P<id>\d+)", self._bind(self.patch_record, key), name=f"{resource.path} patch")
                self.route("PUT", base + r"/(?P<id>\d+)", self._bind(self.put_record, key), name=f"{resource.path} put")
                self.route("DELETE", base + r"/(?P<id>\d+)", self._bind(self.delete_record, key), name=f"{resource.path} delete")
        for key, (path, _fields) in LOOKUPS.items():
            self.route("GET", api + "/" + path, self._bind(self.list_lookup, key), name=f"{path} list")
            self.route("GET", api + "/" + path + r"/count", self._bind(self.count_lookup, key), name=f"{path} count")
            self.route("GET", api + "/" + path + r"/(?P<id>\d+)", self._bind(self.get_lookup, key), name=f"{path} get")
        self.route("POST", api + r"/system/userDefinedFields", self.create_udf, name="system/userDefinedFields create")
        self.route("GET", api + r"/system/callbacks", self.list_callbacks, name="system/callbacks list")
        self.route("POST", api + r"/system/callbacks", self.create_callback, name="system/callbacks create")
        self.route("GET", api + r"/system/callbacks/(?P<id>\d+)", self.get_callback, name="system/callbacks get")
        self.route("DELETE", api + r"/system/callbacks/(?P<id>\d+)", self.delete_callback, name="system/callbacks delete")
        self.route(
            "GET",
            api + r"/system/callbackKeys/(?P<kid>[A-Za-z0-9]+)",
            public(lambda r: self.callback_key(r)),
            name="callback key",
        )

    @staticmethod
    def _bind(handler: Callable[[Request, str], Response], key: str) -> Callable[[Request], Response]:
        return lambda request: handler(request, key)

    # --- vendor behaviour of the shared machinery --------------------------------------------
    def error(self, status: int, message: str, **extra: Any) -> Response:
        body: dict[str, Any] = {"code": extra.pop("code", None) or ERROR_CODES.get(status, "Error"), "message": message}
        if extra.get("errors"):
            body["errors"] = extra["errors"]
        return json_response(body, status)

    def authenticate(self, request: Request) -> Response | None:
        client_id = request.headers.get("clientid", "")
        if not client_id:
            return self.error(
                401,
                "The clientId header is missing. Every request needs the clientId of a registered "
                "integration (developer.connectwise.com/ClientID).",
            )
        if self.client_id and client_id != self.client_id:
            return self.error(401, "The clientId is not valid for this integration.")
        company, public_key, private_key = _basic_credentials(request.headers.get("authorization", ""))
        if company is None:
            return self.error(401, "Authorization is missing: use Basic companyId+publicKey:privateKey.")
        if company.lower() != self.company.lower() or public_key != self.public_key or private_key != self.private_key:
            return self.error(401, "Authentication failed: the company id, public key or private key is not valid.")
        return self._check_version(request)

    def _check_version(self, request: Request) -> Response | None:
        """`Accept: application/vnd.connectwise.com+json; version=2022.1` pins a model version.
        ConnectWise: no version means the latest; a version between two model changes gets the
        older model; versions before 2019.1 (the old 3.0.x numbering) are retired."""
        requested = _accept_version(request.headers.get("accept", ""))
        if requested is None:
            request.environ["connectwise.version"] = VERSION_NUMBER
            return None
        if requested == ():
            return self.error(
                400, "The version in the Accept header must look like application/vnd.connectwise.com+json; version=2022.1"
            )
        if requested < OLDEST_VERSION:
            return self.error(
                400,
                f"API version {'.'.join(map(str, requested))} is no longer supported; the oldest supported version is "
                f"{'.'.join(map(str, OLDEST_VERSION))}.",
            )
        request.environ["connectwise.version"] = min(requested, VERSION_NUMBER)
        return None

    def rate_limit(self, request: Request, route) -> Response | None:
        if self.window is None:
            return None
        allowed, _remaining, wait = self.window.hit(self.company.lower() + "+" + self.public_key)
        if allowed:
            return None
        response = self.error(429, "Too many requests. Slow down and retry after the Retry-After interval.")
        response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return response

    def decorate(self, request: Request, response: Response) -> None:
        response.headers.setdefault("x-cw-request-id", str(uuid.uuid4()))

    def set_knobs(self, latency_ms=None, limits=None, faults=None, seed=None, rate_limit=None) -> None:
        super().set_knobs(latency_ms=latency_ms, limits=limits, faults=faults, seed=seed)
        if rate_limit is not None:
            self.rate_limit_spec = tuple(rate_limit) if rate_limit else None
            self.window = SlidingWindow(int(rate_limit[0]), float(rate_limit[1])) if rate_limit else None

    # --- public endpoints ---------------------------------------------------------------------
    def company_info(self, request: Request) -> Response:
        if request.params["company"].lower() != self.company.lower():
            return self.error(404, f"Company {request.params['company']!r} was not found.")
        return json_response(
            {
                "CompanyName": self.company,
                "Codebase": "v4_6_release/",
                "VersionCode": VERSION[:7],
                "VersionNumber": VERSION,
                "CompanyID": self.company,
                "IsCloud": True,
                "SiteUrl": _host_of(request),
            }
        )

    def system_info(self, request: Request) -> Response:
        return json_response(
            {
                "version": VERSION,
                "isCloud": True,
                "serverTimeZone": "Eastern Standard Time",
                "cloudRegion": "NA",
                "licenseBits": [],
            }
        )

    def callback_key(self, request: Request) -> Response:
        key = self.signing_keys.get(request.params["kid"])
        if key is None:
            return self.error(404, "Unknown key.")
        return json_response({"signing_key": key})

    # --- lists --------------------------------------------------------------------------------
    def list_records(self, request: Request, key: str) -> Response:
        with self.data_lock:
            rows = self._rows(request, key)
        if rows is None:
            return self._not_found(RESOURCES[key].parent[0], request.params["parent"])
        return self._list(request, rows, RESOURCES[key].fields, RESOURCES[key].singular)

    def count_records(self, request: Request, key: str) -> Response:
        with self.data_lock:
            rows = self._rows(request, key)
        if rows is None:
            return self._not_found(RESOURCES[key].parent[0], request.params["parent"])
        return self._count(request, rows, RESOURCES[key].fields, RESOURCES[key].singular)

    def get_record(self, request: Request, key: str) -> Response:
        record = self._addressed(request, key)
        if record is None:
            return self._not_found(key, request.params["id"])
        return json_response(self._project(record, _fields_param(request)))

    def _rows(self, request: Request, key: str) -> list[dict] | None:
        """The resource's rows; a nested resource's rows of the parent in the path (None: no such parent)."""
        parent = RESOURCES[key].parent
        if parent is None:
            return list(self.store[key].values())
        parent_id = int(request.params["parent"])
        if parent_id not in self.store[parent[0]]:
            return None
        return [row for row in self.store[key].values() if _parent_id(row, parent[1]) == parent_id]

    def _addressed(self, request: Request, key: str) -> dict | None:
        """The record the path names (under its own parent only)."""
        record = self.store[key].get(int(request.params["id"]))
        parent = RESOURCES[key].parent
        if record is not None and parent is not None and _parent_id(record, parent[1]) != int(request.params["parent"]):
            return None
        return record

    def list_lookup(self, request: Request, key: str) -> Response:
        with self.data_lock:
            rows = list(self.store[key].values())
        return self._list(request, rows, frozenset(LOOKUPS[key][1]), key)

    def count_lookup(self, request: Request, key: str) -> Response:
        with self.data_lock:
            rows = list(self.store[key].values())
        return self._count(request, rows, frozenset(LOOKUPS[key][1]), key)

    def get_lookup(self, request: Request, key: str) -> Response:
        record = self.store[key].get(int(request.params["id"]))
        return (
            json_response(copy.deepcopy(record)) if record else self.error(404, f"{key} recId {request.params['id']} not found.")
        )

    def _filter(self, request: Request, rows: list[dict], fields: frozenset[str], resource: str) -> list[dict] | Response:
        query = _query(request)
        try:
            matchers = [
                m
                for m in (
                    _condition_matcher(query.get("conditions"), fields, resource),
                    _child_matcher(query.get("childconditions"), fields, resource),
                    _custom_field_matcher(query.get("customfieldconditions"), resource),
                )
                if m is not None
            ]
        except ConditionError as exc:
            return self._bad_query(resource, "conditions", str(exc))
        return [row for row in rows if all(m(row) for m in matchers)]

    def _count(self, request: Request, rows: list[dict], fields: frozenset[str], resource: str) -> Response:
        selected = self._filter(request, rows, fields, resource)
        if isinstance(selected, Response):
            return selected
        return json_response({"count": len(selected)})

    def _list(self, request: Request, rows: list[dict], fields: frozenset[str], resource: str) -> Response:
        selected = self._filter(request, rows, fields, resource)
        if isinstance(selected, Response):
            return selected
        query = _query(request)
        try:
            page_size = _int_param(query.get("pagesize"), DEFAULT_PAGE_SIZE, "pageSize")
            page = _int_param(query.get("page"), 1, "page")
            order = _order_by(query.get("orderby"), fields)
        except ConditionError as exc:
            return self._bad_query(resource, "orderBy" if "order" in str(exc) else "page", str(exc))
        page_size = min(page_size, MAX_PAGE_SIZE)
        wanted = _fields_param(request)
        if request.headers.get("pagination-type", "").lower() == "forward-only":
            return self._forward_only_page(request, selected, page_size, query, wanted)
        ordered = _sorted(selected, order)
        start = (page - 1) * page_size
        chunk = ordered[start : start + page_size]
        last_page = max(1, math.ceil(len(ordered) / page_size))
        links = []
        if page > 1:
            links += [(_with_params(request, page=1), "first"), (_with_params(request, page=page - 1), "prev")]
        if page < last_page:
            links += [(_with_params(request, page=page + 1), "next"), (_with_params(request, page=last_page), "last")]
        return self._page_response([self._project(r, wanted) for r in chunk], links)

    def _forward_only_page(self, request: Request, rows: list[dict], page_size: int, query: dict, wanted) -> Response:
        try:
            page_id = _int_param(query.get("pageid"), 0, "pageId", minimum=0)
        except ConditionError as exc:
            return self._bad_query("list", "pageId", str(exc))
        remaining = sorted((r for r in rows if r["id"] > page_id), key=lambda r: r["id"])
        chunk = remaining[:page_size]
        links = []
        if len(remaining) > page_size:
            links.append((_with_params(request, pageId=chunk[-1]["id"], page=None), "next"))
        return self._page_response([self._project(r, wanted) for r in chunk], links)

    @staticmethod
    def _page_response(body: list[dict], links: list[tuple[str, str]]) -> Response:
        headers = {"Link": ", ".join(f'<{url}>; rel="{rel}"' for url, rel in links)} if links else {}
        return json_response(body, 200, **headers)

    def _bad_query(self, resource: str, field: str, detail: str) -> Response:
        return self.error(
            400,
            f"The {field} parameter is invalid: {detail}",
            errors=[{"code": "InvalidField", "message": detail, "resource": resource, "field": field}],
        )

    def _not_found(self, key: str, record_id: Any) -> Response:
        return self.error(404, f"{RESOURCES[key].singular.capitalize()} with id {record_id} was not found.")

    @staticmethod
    def _project(record: dict, wanted: list[list[str]] | None) -> dict:
        if not wanted:
            # Encoded to JSON before anyone could change it: writes store new dicts, they do not
            # mutate stored ones (company renames only replace a key's value).
            return record
        out: dict[str, Any] = {}
        for steps in wanted:
            value: Any = record
            for step in steps:
                value = value.get(step) if isinstance(value, dict) else None
            if value is None:
                continue
            target = out
            for step in steps[:-1]:
                target = target.setdefault(step, {})
            target[steps[-1]] = copy.deepcopy(value)
        return out

    # --- writes through the API ---------------------------------------------------------------
    def create_record(self, request: Request, key: str) -> Response:
        body = _json_body(request)
        if not isinstance(body, dict):
            return self._invalid(key, [_problem("InvalidObject", "The request body must be a JSON object.", key, "")])
        with self.data_lock:
            parent = RESOURCES[key].parent
            if parent is not None:
                if int(request.params["parent"]) not in self.store[parent[0]]:
                    return self._not_found(parent[0], request.params["parent"])
                body[parent[1]] = (
                    int(request.params["parent"]) if parent[1].endswith("Id") else {"id": int(request.params["parent"])}
                )
            record, problems = self._prepare(key, body, existing=None)
            if problems:
                return self._invalid(key, problems)
            stored = self._store_new(key, record)
        self._fire(key, "added", stored, request)
        return json_response(copy.deepcopy(stored), 201)

    def patch_record(self, request: Request, key: str) -> Response:
        ops = _json_body(request)
        if not isinstance(ops, list) or not all(isinstance(op, dict) for op in ops):
            return self._invalid(
                key, [_problem("InvalidObject", "PATCH needs a JSON array of operations [{op, path, value}].", key, "")]
            )
        with self.data_lock:
            existing = self._addressed(request, key)
            if existing is None:
                return self._not_found(key, request.params["id"])
            patched = copy.deepcopy(existing)
            for op in ops:
                problem = _apply_patch(patched, op, key)
                if problem:
                    return self._invalid(key, [problem])
            if RESOURCES[key].parent is not None:
                patched[RESOURCES[key].parent[1]] = existing[RESOURCES[key].parent[1]]  # a note stays under its record
            record, problems = self._prepare(key, patched, existing=existing)
            if problems:
                return self._invalid(key, problems)
            stored = self._store_update(key, existing, record)
        self._fire(key, "updated", stored, request)
        return json_response(copy.deepcopy(stored))

    def put_record(self, request: Request, key: str) -> Response:
        body = _json_body(request)
        if not isinstance(body, dict):
            return self._invalid(key, [_problem("InvalidObject", "The request body must be a JSON object.", key, "")])
        with self.data_lock:
            existing = self._addressed(request, key)
            if existing is None:
                return self._not_found(key, request.params["id"])
            parent = RESOURCES[key].parent
            if parent is not None:
                body[parent[1]] = existing[parent[1]]  # a note stays under its record
            record, problems = self._prepare(key, body, existing=existing)
            if problems:
                return self._invalid(key, problems)
            stored = self._store_update(key, existing, record)
        self._fire(key, "updated", stored, request)
        return json_response(copy.deepcopy(stored))

    def delete_record(self, request: Request, key: str) -> Response:
        with self.data_lock:
            existing = self._addressed(request, key)
            if existing is not None:
                self.store[key].pop(existing["id"])
            self._forget(key, existing)
        if existing is None:
            return self._not_found(key, request.params["id"])
        self._fire(key, "deleted", existing, request, entity=None)
        return Response(status=204)

    def _invalid(self, key: str, problems: list[dict]) -> Response:
        return self.error(400, f"{RESOURCES[key].singular} object is invalid", errors=problems)

    # --- validation and normalisation (one place for API writes and helpers) --------------------------
    def _prepare(self, key: str, body: dict, existing: dict | None) -> tuple[dict, list[dict]]:
        """Validate a record body; return it with references expanded (names filled in)."""
        record = {k: copy.deepcopy(v) for k, v in body.items() if k not in ("id", "_info")}
        problems: list[dict] = []
        prepare = {
            "companies": self._prepare_company,
            "contacts": self._prepare_contact,
            "opportunities": self._prepare_opportunity,
            "members": lambda r, p, e: None,
            "activities": self._prepare_activity,
            "contact_notes": self._prepare_contact_note,
            "company_notes": self._prepare_company_note,
        }[key]
        prepare(record, problems, existing)
        if RESOURCES[key].screen:
            self._prepare_custom_fields(key, record, problems, existing)
        return record, problems

    def _prepare_company(self, record: dict, problems: list[dict], existing: dict | None) -> None:
        for field in ("identifier", "name"):
            if not str(record.get(field) or "").strip():
                problems.append(_problem("NullValue", f"The {field} field is required.", "company", field))
        identifier = str(record.get("identifier") or "")
        if identifier and not IDENTIFIER.match(identifier):
            problems.append(
                _problem(
                    "InvalidField",
                    "The identifier may have at most 25 letters, digits, '-', '_' or '.', without spaces.",
                    "company",
                    "identifier",
                )
            )
        elif identifier:
            clash = self.identifiers.get(identifier.lower())
            if clash is not None and (existing is None or clash != existing["id"]):
                problems.append(
                    _problem(
                        "InvalidField",
                        f"The identifier {identifier!r} is already in use by company id {clash}.",
                        "company",
                        "identifier",
                    )
                )
        if len(str(record.get("name") or "")) > 50:
            problems.append(_problem("InvalidField", "The name may have at most 50 characters.", "company", "name"))
        record["status"] = self._reference(
            record.get("status"), "company_statuses", "company", "status", problems, default=self._default_id("company_statuses")
        )
        types = record.get("types") or []
        if not isinstance(types, list):
            problems.append(_problem("InvalidField", "types must be a list of {id}.", "company", "types"))
            types = []
        record["types"] = [t for t in (self._reference(t, "company_types", "company", "types", problems) for t in types) if t]
        record.setdefault("deletedFlag", False)

    def _prepare_contact(self, record: dict, problems: list[dict], existing: dict | None) -> None:
        if not str(record.get("firstName") or "").strip():
            problems.append(_problem("NullValue", "The firstName field is required.", "contact", "firstName"))
        if record.get("company") in (None, {}) and self.contacts_require_company:
            problems.append(_problem("NullValue", "The company field is required.", "contact", "company"))
        record["company"] = self._company_reference(record.get("company"), "contact", problems)
        types = record.get("types") or []
        record["types"] = [
            t
            for t in (self._reference(t, "contact_types", "contact", "types", problems) for t in types if isinstance(types, list))
            if t
        ]
        record["communicationItems"] = self._communication_items(record.get("communicationItems") or [], problems, existing)
        record.setdefault("inactiveFlag", False)

    def _prepare_opportunity(self, record: dict, problems: list[dict], existing: dict | None) -> None:
        if not str(record.get("name") or "").strip():
            problems.append(_problem("NullValue", "The name field is required.", "opportunity", "name"))
        for field in ("company", "contact"):
            if record.get(field) in (None, {}):
                problems.append(_problem("NullValue", f"The {field} field is required.", "opportunity", field))
        record["company"] = self._company_reference(record.get("company"), "opportunity", problems)
        record["contact"] = self._contact_reference(record.get("contact"), problems)
        record["stage"] = self._reference(
            record.get("stage"), "stages", "opportunity", "stage", problems, default=self._default_id("stages")
        )
        record["status"] = self._reference(
            record.get("status"),
            "opportunity_statuses",
            "opportunity",
            "status",
            problems,
            default=self._default_id("opportunity_statuses"),
        )
        record["type"] = self._reference(record.get("type"), "opportunity_types", "opportunity", "type", problems)
        record["primarySalesRep"] = self._member_reference(
            record.get("primarySalesRep") or {"id": self.api_member_id}, "primarySalesRep", problems
        )
        status = self.store["opportunity_statuses"].get((record["status"] or {}).get("id"))
        record["closedFlag"] = bool(status and status.get("closedFlag"))

    def _prepare_activity(self, record: dict, problems: list[dict], existing: dict | None) -> None:
        """ConnectWise: name and assignTo are required; type, status, company, contact and
        opportunity must name existing records; the status defaults to the default status."""
        name = str(record.get("name") or "")
        if not name.strip():
            problems.append(_problem("NullValue", "The name field is required.", "activity", "name"))
        elif len(name) > acts.ACTIVITY_NAME_LIMIT:
            problems.append(
                _problem("InvalidField", f"The name may have at most {acts.ACTIVITY_NAME_LIMIT} characters.", "activity", "name")
            )
        if record.get("assignTo") in (None, {}):
            problems.append(_problem("NullValue", "The assignTo field is required.", "activity", "assignTo"))
        else:
            record["assignTo"] = self._member_reference(record["assignTo"], "assignTo", problems, "activity")
        if record.get("assignedBy") not in (None, {}):
            record["assignedBy"] = self._member_reference(record["assignedBy"], "assignedBy", problems, "activity")
        record["type"] = self._reference(
            record.get("type"), "activity_types", "activity", "type", problems, default=self._default_id("activity_types")
        )
        record["status"] = self._reference(
            record.get("status"),
            "activity_statuses",
            "activity",
            "status",
            problems,
            default=self._default_id("activity_statuses"),
        )
        record["company"] = self._company_reference(record.get("company"), "activity", problems)
        record["contact"] = self._contact_reference(record.get("contact"), problems, "activity")
        record["opportunity"] = self._opportunity_reference(record.get("opportunity"), problems)

    def _prepare_contact_note(self, record: dict, problems: list[dict], existing: dict | None) -> None:
        self._prepare_note(record, problems, "contact note")

    def _prepare_company_note(self, record: dict, problems: list[dict], existing: dict | None) -> None:
        self._prepare_note(record, problems, "company note")
        record["company"] = self._company_reference(record.get("company"), "company note", problems)

    def _prepare_note(self, record: dict, problems: list[dict], resource: str) -> None:
        if not str(record.get("text") or "").strip():
            problems.append(_problem("NullValue", "The text field is required.", resource, "text"))
        record["type"] = self._reference(
            record.get("type"), "note_types", resource, "type", problems, default=self._default_id("note_types")
        )
        record["flagged"] = bool(record.get("flagged"))
        record.setdefault("enteredBy", "apimember")

    def _opportunity_reference(self, value: Any, problems: list[dict]) -> dict | None:
        if value in (None, {}):
            return None
        ref_id = value.get("id") if isinstance(value, dict) else None
        opportunity = self.store["opportunities"].get(ref_id) if isinstance(ref_id, int) else None
        if opportunity is None:
            problems.append(
                _problem("InvalidField", f"The opportunity with id {ref_id!r} was not found.", "activity", "opportunity")
            )
            return None
        return {"id": opportunity["id"], "name": opportunity["name"]}

    def _reference(
        self, value: Any, store: str, resource: str, field: str, problems: list[dict], default: int | None = None
    ) -> dict | None:
        if value in (None, {}):
            value = {"id": default} if default else None
        if value is None:
            return None
        ref_id = value.get("id") if isinstance(value, dict) else None
        target = self.store[store].get(ref_id) if isinstance(ref_id, int) and not isinstance(ref_id, bool) else None
        if target is None:
            noun = "type" if field == "types" else field
            problems.append(_problem("InvalidField", f"The {noun} with id {ref_id!r} was not found.", resource, field))
            return None
        label = target.get("name") or target.get("description")
        return {"id": target["id"], "name": label}

    def _company_reference(self, value: Any, resource: str, problems: list[dict]) -> dict | None:
        if value in (None, {}):
            return None
        ref_id = value.get("id") if isinstance(value, dict) else None
        company = self.store["companies"].get(ref_id) if isinstance(ref_id, int) else None
        if company is None:
            problems.append(_problem("InvalidField", f"The company with id {ref_id!r} was not found.", resource, "company"))
            return None
        return {"id": company["id"], "identifier": company["identifier"], "name": company["name"]}

    def _contact_reference(self, value: Any, problems: list[dict], resource: str = "opportunity") -> dict | None:
        if value in (None, {}):
            return None
        ref_id = value.get("id") if isinstance(value, dict) else None
        contact = self.store["contacts"].get(ref_id) if isinstance(ref_id, int) else None
        if contact is None:
            problems.append(_problem("InvalidField", f"The contact with id {ref_id!r} was not found.", resource, "contact"))
            return None
        return {"id": contact["id"], "name": _full_name(contact)}

    def _member_reference(self, value: Any, field: str, problems: list[dict], resource: str = "opportunity") -> dict | None:
        ref_id = value.get("id") if isinstance(value, dict) else None
        member = self.store["members"].get(ref_id) if isinstance(ref_id, int) else None
        if member is None:
            problems.append(_problem("InvalidField", f"The member with id {ref_id!r} was not found.", resource, field))
            return None
        return {"id": member["id"], "identifier": member["identifier"], "name": _full_name(member)}

    def _communication_items(self, items: Any, problems: list[dict], existing: dict | None) -> list[dict]:
        if not isinstance(items, list):
            problems.append(_problem("InvalidField", "communicationItems must be a list.", "contact", "communicationItems"))
            return []
        out = []
        for item in items:
            type_ref = item.get("type") if isinstance(item, dict) else None
            ctype = self.store["communication_types"].get((type_ref or {}).get("id")) if isinstance(type_ref, dict) else None
            if ctype is None:
                problems.append(
                    _problem(
                        "InvalidField", f"The communication type {type_ref!r} was not found.", "contact", "communicationItems"
                    )
                )
                continue
            value = str(item.get("value") or "").strip()
            kind = "Email" if ctype["emailFlag"] else "Fax" if ctype["faxFlag"] else "Phone"
            if kind == "Email" and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
                problems.append(
                    _problem("InvalidField", f"{value!r} is not a valid e-mail address.", "contact", "communicationItems")
                )
                continue
            out.append(
                {
                    "id": item.get("id") or self._next("communication_items"),
                    "type": {"id": ctype["id"], "name": ctype["description"]},
                    "value": value,
                    "extension": item.get("extension"),
                    "defaultFlag": bool(item.get("defaultFlag")),
                    "communicationType": kind,
                }
            )
        for kind in ("Email", "Phone"):  # ConnectWise keeps one default per kind
            of_kind = [i for i in out if i["communicationType"] == kind]
            if of_kind and not any(i["defaultFlag"] for i in of_kind):
                of_kind[0]["defaultFlag"] = True
        return out

    def _prepare_custom_fields(self, key: str, record: dict, problems: list[dict], existing: dict | None) -> None:
        screen = RESOURCES[key].screen
        udfs = [u for u in self.store["udfs"].values() if u["screenId"] == screen]
        current = {cf["id"]: cf.get("value") for cf in (existing or {}).get("customFields") or []}
        incoming = record.get("customFields") or []
        if not isinstance(incoming, list):
            problems.append(
                _problem("InvalidField", "customFields must be a list of {id, value}.", RESOURCES[key].singular, "customFields")
            )
            incoming = []
        known = {u["id"] for u in udfs}
        for item in incoming:
            if not isinstance(item, dict) or item.get("id") not in known:
                problems.append(
                    _problem(
                        "InvalidField",
                        f"Custom field {item!r} does not exist on this screen.",
                        RESOURCES[key].singular,
                        "customFields",
                    )
                )
                continue
            current[item["id"]] = item.get("value")
        record["customFields"] = [
            {
                "id": u["id"],
                "caption": u["caption"],
                "type": u["fieldTypeIdentifier"],
                "entryMethod": u["entryTypeIdentifier"],
                "numberOfDecimals": 0,
                "value": current.get(u["id"]),
            }
            for u in udfs
        ]

    # --- storing and callbacks --------------------------------------------------------------------
    def now(self) -> str:
        # ConnectWise stamps lastUpdated to the second; clients need an overlapping window for that.
        return iso(self.clock().replace(microsecond=0)).replace(".000Z", "Z")

    def _next(self, key: str) -> int:
        with self.data_lock:
            self.next_ids.setdefault(key, 1)
            value = self.next_ids[key]
            self.next_ids[key] += 1
            return value

    def _store_new(self, key: str, record: dict) -> dict:
        stamp = self.now()
        record = {
            "id": self._next(key),
            **record,
            "_info": {"lastUpdated": stamp, "updatedBy": "apimember", "dateEntered": stamp, "enteredBy": "apimember"},
        }
        self.store[key][record["id"]] = record
        if key == "companies":
            self.identifiers[record["identifier"].lower()] = record["id"]
        return record

    def _store_update(self, key: str, existing: dict, record: dict) -> dict:
        info = dict(existing["_info"], lastUpdated=self.now(), updatedBy="apimember")
        stored = {"id": existing["id"], **record, "_info": info}
        self.store[key][existing["id"]] = stored
        if key == "companies":
            self.identifiers.pop(existing["identifier"].lower(), None)
            self.identifiers[stored["identifier"].lower()] = stored["id"]
            if (existing["name"], existing["identifier"]) != (stored["name"], stored["identifier"]):
                self._refresh_company_references(stored)
        return stored

    def _forget(self, key: str, record: dict | None) -> None:
        if key == "companies" and record is not None:
            self.identifiers.pop(record["identifier"].lower(), None)

    def _refresh_company_references(self, company: dict) -> None:
        for key in ("contacts", "opportunities"):
            for row in self.store[key].values():
                if (row.get("company") or {}).get("id") == company["id"]:
                    row["company"] = {"id": company["id"], "identifier": company["identifier"], "name": company["name"]}

    def _fire(self, key: str, action: str, record: dict, request: Request | None, entity: Any = "record") -> None:
        callback_type = RESOURCES[key].callback_type
        if not callback_type:
            return
        with self.data_lock:
            hooks = [
                c
                for c in self.store["callbacks"].values()
                if c["type"].lower() == callback_type and not c.get("inactiveFlag") and _level_matches(c, record)
            ]
        for hook in hooks:
            body = json.dumps(
                cb.payload(
                    message_id=str(uuid.uuid4()),
                    from_url=hook["_site"],
                    company_id=self.company,
                    member_id="apimember",
                    action=action,
                    type_=callback_type,
                    record_id=record["id"],
                    callback_id=hook["id"],
                    entity=copy.deepcopy(record) if entity == "record" else None,
                    key_url=hook["_key_url"],
                )
            ).encode()
            key_id = hook["_key_url"].rsplit("/", 1)[-1]
            headers = {"Content-Type": "application/json", cb.SIGNATURE_HEADER: cb.signature(self.signing_keys[key_id], body)}
            self.webhooks.send(hook["url"], body, headers)

    # --- callbacks resource -------------------------------------------------------------------------
    def list_callbacks(self, request: Request) -> Response:
        with self.data_lock:
            rows = [_public_callback(c) for c in self.store["callbacks"].values()]
        return self._list(
            request,
            rows,
            frozenset(
                {"id", "url", "objectId", "type", "level", "description", "inactiveFlag", "memberId", "payloadVersion", "_info"}
            ),
            "callback",
        )

    def get_callback(self, request: Request) -> Response:
        hook = self.store["callbacks"].get(int(request.params["id"]))
        return json_response(_public_callback(hook)) if hook else self.error(404, "Callback was not found.")

    def create_callback(self, request: Request) -> Response:
        body = _json_body(request)
        problems = []
        if not isinstance(body, dict):
            body = {}
            problems.append(_problem("InvalidObject", "The request body must be a JSON object.", "callback", ""))
        url = str(body.get("url") or "")
        if not re.match(r"^https?://[^\s/]+", url):
            problems.append(_problem("InvalidField", "The url must be an absolute http(s) URL.", "callback", "url"))
        if str(body.get("type") or "").lower() not in cb.CALLBACK_TYPES:
            problems.append(_problem("InvalidField", f"type must be one of {', '.join(cb.CALLBACK_TYPES)}.", "callback", "type"))
        level = str(body.get("level") or "owner").lower()
        if level not in ("owner", "company"):
            problems.append(_problem("InvalidField", "level must be owner or company.", "callback", "level"))
        if problems:
            return self.error(400, "callback object is invalid", errors=problems)
        key_id = secrets.token_hex(8)
        self.signing_keys[key_id] = secrets.token_urlsafe(32)
        site = f"{request.environ.get('wsgi.url_scheme', 'http')}://{_host_of(request)}"
        with self.data_lock:
            hook = {
                "id": self._next("callbacks"),
                "url": url,
                "objectId": int(body.get("objectId") or 0),
                "type": str(body["type"]).lower(),
                "level": level,
                "description": body.get("description") or "",
                "inactiveFlag": bool(body.get("inactiveFlag")),
                "memberId": self.api_member_id,
                "payloadVersion": "2",
                "_info": {"lastUpdated": self.now(), "dateEntered": self.now()},
                "_site": _host_of(request),
                "_key_url": f"{site}{API_PATH}/system/callbackKeys/{key_id}",
            }
            self.store["callbacks"][hook["id"]] = hook
        return json_response(_public_callback(hook), 201)

    def create_udf(self, request: Request) -> Response:
        """POST system/userDefinedFields: a custom field on one screen (pod). ConnectWise requires
        caption, podId, sequenceNumber and fieldTypeIdentifier; a sequence number already taken on
        that pod is refused. Records of the screen list it at once, empty."""
        body = _json_body(request)
        body = body if isinstance(body, dict) else {}
        problems = _udf_problems(body)
        screen = UDF_PODS.get(body.get("podId")) if isinstance(body.get("podId"), int) else None
        with self.data_lock:
            taken = {u["sequenceNumber"] for u in self.store["udfs"].values() if u["podId"] == body.get("podId")}
            if not problems and body["sequenceNumber"] in taken:
                problems.append(
                    _problem(
                        "InvalidField", "That sequence number is in use on this screen.", "userDefinedField", "sequenceNumber"
                    )
                )
            if problems or screen is None:
                return self.error(400, "userDefinedField object is invalid", errors=problems)
            row = self._add_lookup(
                "udfs",
                podId=body["podId"],
                caption=body["caption"],
                sequenceNumber=body["sequenceNumber"],
                helpText=str(body.get("helpText") or ""),
                screenId=screen,
                fieldTypeIdentifier=body["fieldTypeIdentifier"],
                entryTypeIdentifier=body.get("entryTypeIdentifier") or "EntryField",
                requiredFlag=bool(body.get("requiredFlag")),
                listItems=[],
            )
            for key, resource in RESOURCES.items():
                if resource.screen == screen:
                    for record in self.store[key].values():
                        record.setdefault("customFields", []).append(
                            {
                                "id": row["id"],
                                "caption": row["caption"],
                                "type": row["fieldTypeIdentifier"],
                                "entryMethod": row["entryTypeIdentifier"],
                                "numberOfDecimals": 0,
                                "value": None,
                            }
                        )
        return json_response(copy.deepcopy(row), 201)

    def delete_callback(self, request: Request) -> Response:
        with self.data_lock:
            hook = self.store["callbacks"].pop(int(request.params["id"]), None)
        return Response(status=204) if hook else self.error(404, "Callback was not found.")

    # --- in-process helpers: a user working in ConnectWise ------------------------------------------
    def _helper_write(self, key: str, body: dict, existing: dict | None = None) -> dict:
        with self.data_lock:
            record, problems = self._prepare(key, body, existing)
            if problems:
                raise ValueError("; ".join(p["message"] for p in problems))
            stored = self._store_update(key, existing, record) if existing else self._store_new(key, record)
        self._fire(key, "updated" if existing else "added", stored, None)
        return copy.deepcopy(stored)

    def add_company(
        self, name: str, identifier: str | None = None, *, status: str | None = None, type: str | None = None, **fields: Any
    ) -> dict:
        identifier = identifier or (re.sub(r"[^A-Za-z0-9]", "", name)[:19] or "Company") + str(self.next_ids["companies"])
        body: dict[str, Any] = {"name": name, "identifier": identifier, **fields}
        if status:
            body["status"] = {"id": self._lookup_id("company_statuses", status)}
        if type:
            body["types"] = [{"id": self._lookup_id("company_types", type)}]
        return self._helper_write("companies", body)

    def add_contact(
        self,
        first_name: str,
        last_name: str = "",
        *,
        company_id: int | None = None,
        email: str | None = None,
        phone: str | None = None,
        **fields: Any,
    ) -> dict:
        items = []
        if email:
            items.append({"type": {"id": self._lookup_id("communication_types", "Email")}, "value": email, "defaultFlag": True})
        if phone:
            items.append({"type": {"id": self._lookup_id("communication_types", "Direct")}, "value": phone, "defaultFlag": True})
        body: dict[str, Any] = {"firstName": first_name, "lastName": last_name, "communicationItems": items, **fields}
        if company_id is not None:
            body["company"] = {"id": int(company_id)}
        return self._helper_write("contacts", body)

    def add_opportunity(
        self,
        name: str,
        *,
        company_id: int,
        contact_id: int,
        stage: str | None = None,
        status: str | None = None,
        sales_rep_id: int | None = None,
        **fields: Any,
    ) -> dict:
        body: dict[str, Any] = {"name": name, "company": {"id": company_id}, "contact": {"id": contact_id}, **fields}
        if stage:
            body["stage"] = {"id": self._lookup_id("stages", stage)}
        if status:
            body["status"] = {"id": self._lookup_id("opportunity_statuses", status)}
        if sales_rep_id:
            body["primarySalesRep"] = {"id": sales_rep_id}
        return self._helper_write("opportunities", body)

    def add_member(self, identifier: str, first_name: str, last_name: str, email: str, **fields: Any) -> dict:
        body = {
            "identifier": identifier,
            "firstName": first_name,
            "lastName": last_name,
            "primaryEmail": email,
            "inactiveFlag": False,
            "licenseClass": "F",
            **fields,
        }
        with self.data_lock:
            return copy.deepcopy(self._store_new("members", body))

    def add_activity(
        self,
        name: str,
        *,
        type: str = "Call",
        contact_id: int | None = None,
        company_id: int | None = None,
        opportunity_id: int | None = None,
        assign_to: int | None = None,
        **fields: Any,
    ) -> dict:
        """A sales activity as a user logs it (assigned to the API member unless told)."""
        body: dict[str, Any] = {
            "name": name,
            "type": {"id": self._lookup_id("activity_types", type)},
            "assignTo": {"id": assign_to or self.api_member_id},
            **fields,
        }
        for field, ref in (("contact", contact_id), ("company", company_id), ("opportunity", opportunity_id)):
            if ref is not None:
                body[field] = {"id": int(ref)}
        return self._helper_write("activities", body)

    def add_note(self, parent: str, parent_id: int, text: str, **fields: Any) -> dict:
        """A note on a contact (`parent="contacts"`) or a company (`"companies"`)."""
        if parent == "contacts":
            return self._helper_write("contact_notes", {"contactId": int(parent_id), "text": text, **fields})
        return self._helper_write("company_notes", {"company": {"id": int(parent_id)}, "text": text, **fields})

    def edit(self, key: str, record_id: int | str, changes: dict[str, Any]) -> dict:
        """Change a record as a user would in ConnectWise: top-level fields replaced (references
        as {"id": n}); `email` / `phone` on contacts set the default e-mail / direct phone."""
        with self.data_lock:
            existing = self.store[key].get(int(record_id))
            if existing is None:
                raise KeyError(f"{key} {record_id} does not exist")
            body = {k: copy.deepcopy(v) for k, v in existing.items() if k not in ("id", "_info")}
            changes = dict(changes)
            if key == "contacts":
                for flat, type_name in (("email", "Email"), ("phone", "Direct")):
                    if flat in changes:
                        body["communicationItems"] = _set_default_item(
                            body.get("communicationItems") or [],
                            self._lookup_id("communication_types", type_name),
                            changes.pop(flat),
                            "Email" if flat == "email" else "Phone",
                        )
            body.update(changes)
        return self._helper_write(key, body, existing)

    def delete(self, key: str, record_id: int | str) -> None:
        with self.data_lock:
            existing = self.store[key].pop(int(record_id))
            self._forget(key, existing)
        self._fire(key, "deleted", existing, None, entity=None)

    def get(self, key: str, record_id: int | str) -> dict | None:
        record = self.store[key].get(int(record_id))
        return copy.deepcopy(record) if record else None

    def records(self, key: str) -> list[dict]:
        with self.data_lock:
            return copy.deepcopy(list(self.store[key].values()))

    def count(self, key: str) -> int:
        return len(self.store[key])

    def _lookup_id(self, store: str, label: str) -> int:
        for row in self.store[store].values():
            if (row.get("name") or row.get("description") or row.get("caption", "")).lower() == label.lower():
                return row["id"]
        raise KeyError(f"no {store} named {label!r}")

    def _default_id(self, store: str) -> int | None:
        return next((row["id"] for row in self.store[store].values() if row.get("defaultFlag")), None)

    # --- seed data ------------------------------------------------------------------------------
    def _add_lookup(self, store: str, **fields: Any) -> dict:
        row = {"id": self._next(store), **fields, "_info": {"lastUpdated": self.now(), "dateEntered": self.now()}}
        self.store[store][row["id"]] = row
        return row

    def _seed_lookups(self) -> None:
        for name, default in (("Active", True), ("Inactive", False), ("Not-Approved", False)):
            self._add_lookup("company_statuses", name=name, defaultFlag=default, inactiveFlag=False)
        for name in ("Customer", "Prospect", "Vendor", "Partner"):
            self._add_lookup("company_types", name=name, defaultFlag=name == "Prospect", vendorFlag=name == "Vendor")
        for name in ("Decision Maker", "End User", "Billing"):
            self._add_lookup("contact_types", description=name, defaultFlag=False)
        for name, phone, fax, email in (
            ("Email", False, False, True),
            ("Direct", True, False, False),
            ("Cell", True, False, False),
            ("Fax", False, True, False),
        ):
            self._add_lookup(
                "communication_types",
                description=name,
                phoneFlag=phone,
                faxFlag=fax,
                emailFlag=email,
                defaultFlag=name in ("Email", "Direct"),
            )
        for n, (name, probability) in enumerate(
            (("1.Prospect", 10), ("2.Qualification", 25), ("3.Proposal", 50), ("4.Negotiation", 75), ("5.Closed", 100))
        ):
            self._add_lookup("stages", name=name, probability=probability, defaultFlag=n == 0)
        for name, won, lost in (
            ("Open", False, False),
            ("Won", True, False),
            ("Lost", False, True),
            ("No Decision", False, True),
        ):
            self._add_lookup(
                "opportunity_statuses",
                name=name,
                wonFlag=won,
                lostFlag=lost,
                closedFlag=won or lost,
                inactiveFlag=False,
                defaultFlag=name == "Open",
            )
        for name in ("New Business", "Existing Business", "Renewal"):
            self._add_lookup("opportunity_types", description=name, inactiveFlag=False)
        for name, email in acts.ACTIVITY_TYPES:
            self._add_lookup(
                "activity_types",
                name=name,
                points=0,
                defaultFlag=name == "Call",
                inactiveFlag=False,
                emailFlag=email,
                memoFlag=False,
                historyFlag=False,
            )
        for name, default, closed in acts.ACTIVITY_STATUSES:
            self._add_lookup("activity_statuses", name=name, defaultFlag=default, inactiveFlag=False, closedFlag=closed)
        for n, name in enumerate(acts.NOTE_TYPES):
            self._add_lookup("note_types", identifier=name, name=name, defaultFlag=n == 0)
        self._add_lookup(
            "udfs",
            podId=1,
            caption="Industry Segment",
            sequenceNumber=1,
            helpText="",
            screenId="Company",
            fieldTypeIdentifier="Text",
            entryTypeIdentifier="List",
            requiredFlag=False,
            listItems=[
                {"id": i, "description": d, "defaultFlag": False}
                for i, d in enumerate(("SMB", "Mid-Market", "Enterprise"), start=1)
            ],
        )
        self._add_lookup(
            "udfs",
            podId=1,
            caption="Employees (estimate)",
            sequenceNumber=2,
            helpText="",
            screenId="Company",
            fieldTypeIdentifier="Number",
            entryTypeIdentifier="EntryField",
            requiredFlag=False,
            listItems=[],
        )
        self._add_lookup(
            "udfs",
            podId=2,
            caption="Newsletter Opt-in",
            sequenceNumber=1,
            helpText="",
            screenId="Contact",
            fieldTypeIdentifier="Checkbox",
            entryTypeIdentifier="EntryField",
            requiredFlag=False,
            listItems=[],
        )
        self._add_lookup(
            "udfs",
            podId=3,
            caption="Competitor",
            sequenceNumber=1,
            helpText="",
            screenId="Opportunity",
            fieldTypeIdentifier="Text",
            entryTypeIdentifier="EntryField",
            requiredFlag=False,
            listItems=[],
        )

    def seed_demo(self, size: int, seed: int = 0) -> None:
        """Companies with types and statuses, contacts with e-mails and phones, opportunities
        with stages and statuses, members with e-mails: `size` companies and contacts."""
        rng = random.Random(seed)
        reps = [
            self.add_member(f"{first[0]}{last}".lower(), first, last, f"{first}.{last}@{_domain(self.company)}".lower())
            for first, last in (("Dana", "Reyes"), ("Sam", "Okafor"), ("Lee", "Novak"), ("Kim", "Walsh"))
        ]
        words = ("Blue", "North", "Iron", "Bright", "Cedar", "Summit", "Harbor", "Quantum", "Silver", "Pioneer")
        kinds = ("Systems", "Networks", "Logistics", "Dental", "Legal", "Labs", "Partners", "Foods")
        firsts = ("Alex", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery", "Quinn", "Drew")
        lasts = ("Smith", "Garcia", "Chen", "Patel", "Mueller", "Kowalski", "Nguyen", "Brown", "Silva", "Kim")
        stages = [s["name"] for s in self.store["stages"].values()]
        for n in range(size):
            name = f"{rng.choice(words)} {rng.choice(kinds)} {n + 1}"
            domain = re.sub(r"[^a-z0-9]", "", name.lower()) + ".example.com"
            company = self.add_company(
                name,
                status=rng.choice(["Active", "Active", "Inactive"]),
                type=rng.choice(["Customer", "Prospect", "Partner"]),
                website=f"www.{domain}",
                city=rng.choice(["Tampa", "Denver", "Austin", "Boston"]),
                phoneNumber=f"555-01{n % 100:02d}",
            )
            first, last = rng.choice(firsts), rng.choice(lasts)
            contact = self.add_contact(
                first,
                last,
                company_id=company["id"],
                email=f"{first}.{last}{n}@{domain}".lower(),
                phone=f"555-02{n % 100:02d}",
                title=rng.choice(["CEO", "IT Manager", "Office Manager"]),
            )
            if n % 2 == 0:
                self.add_opportunity(
                    f"{name} managed services",
                    company_id=company["id"],
                    contact_id=contact["id"],
                    stage=rng.choice(stages),
                    status=rng.choice(["Open", "Open", "Won", "Lost"]),
                    sales_rep_id=rng.choice(reps)["id"],
                    expectedCloseDate=iso(self.clock() + dt.timedelta(days=rng.randint(5, 90))),
                )

    # --- control endpoints (demo UI, scripts) ---------------------------------------------------------
    def control(self, request: Request) -> Response | None:
        m = re.fullmatch(r"/_emulator/records/(?P<key>[a-z]+)(?:/(?P<id>\d+))?", request.path)
        if m and m["key"] in RESOURCES:
            if request.method == "GET" and not m["id"]:
                return json_response(self.records(m["key"]))
            if request.method == "POST" and m["id"]:
                try:
                    return json_response(self.edit(m["key"], m["id"], request.json() or {}))
                except (KeyError, ValueError) as exc:
                    return self.error(400, str(exc))
        return None


# --- query helpers ------------------------------------------------------------------------------------
def _query(request: Request) -> dict[str, str]:
    return {k.lower(): v[0] for k, v in request.query.items() if v}


def _int_param(value: str | None, default: int, name: str, minimum: int = 1) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConditionError(f"{name} must be a whole number, not {value!r}") from None
    if number < minimum:
        raise ConditionError(f"{name} must be at least {minimum}")
    return number


def _check_paths(node: Node, fields: frozenset[str], resource: str) -> None:
    for path in node.paths():
        if path.split("/")[0] not in fields:
            raise ConditionError(f"{path!r} is not a field of {resource}")


def _resolve(record: dict, path: str) -> list[Any]:
    head = path.split("/")[0]
    if head in INFO_ALIASES and head not in record:
        return resolve_path(record.get("_info") or {}, path)
    return resolve_path(record, path)


def _getter(path: str) -> Callable[[dict], list[Any]]:
    """Fast field access for the common one-step paths; the general walk otherwise."""
    if "/" in path:
        return lambda row: _resolve(row, path)
    if path in INFO_ALIASES:

        def info_value(row: dict) -> list[Any]:
            if path in row:
                return _resolve(row, path)
            return [(row.get("_info") or {}).get(path)]

        return info_value

    def value(row: dict) -> list[Any]:
        found = row.get(path)
        return _resolve(row, path) if isinstance(found, (list, dict)) else [found]

    return value


def _condition_matcher(text: str | None, fields: frozenset[str], resource: str):
    if not text:
        return None
    node = parse(text)
    _check_paths(node, fields, resource)
    return node.compile(_getter)


def _child_matcher(text: str | None, fields: frozenset[str], resource: str):
    """childConditions: the expression must hold for one element of the array it names."""
    if not text:
        return None
    node = parse(text)
    arrays = {path.split("/")[0] for path in node.paths()}
    if len(arrays) != 1 or any("/" not in p for p in node.paths()):
        raise ConditionError("childConditions name fields of one array, e.g. communicationItems/value")
    array = arrays.pop()
    if array not in fields:
        raise ConditionError(f"{array!r} is not a field of {resource}")

    def element_resolver(element: dict, path: str) -> list[Any]:
        return resolve_path(element, path.split("/", 1)[1])

    return lambda row: any(node.matches(el, element_resolver) for el in row.get(array) or [] if isinstance(el, dict))


def _custom_field_matcher(text: str | None, resource: str):
    if not text:
        return None
    node = parse(text)
    for path in node.paths():
        if path not in ("id", "caption", "value"):
            raise ConditionError(f"customFieldConditions name caption, value or id, not {path!r}")
    return lambda row: any(node.matches(cf) for cf in row.get("customFields") or [])


def _order_by(text: str | None, fields: frozenset[str]) -> list[tuple[str, bool]]:
    if not text:
        return []
    order = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise ConditionError(f"orderBy item {part.strip()!r} is not 'field [asc|desc]'")
        if words[0].split("/")[0] not in fields:
            raise ConditionError(f"orderBy field {words[0]!r} is unknown")
        order.append((words[0], len(words) == 2 and words[1].lower() == "desc"))
    return order


def _sort_key(value: Any) -> tuple:
    if value is None:
        return (0, 0, "")
    if isinstance(value, bool):
        return (1, int(value), "")
    if isinstance(value, (int, float)):
        return (1, value, "")
    return (2, 0, str(value).casefold())


def _sorted(rows: list[dict], order: list[tuple[str, bool]]) -> list[dict]:
    ordered = sorted(rows, key=lambda r: r["id"])
    for path, descending in reversed(order):
        get = _getter(path)
        ordered.sort(key=lambda r: _sort_key(get(r)[0]), reverse=descending)
    return ordered


def _fields_param(request: Request) -> list[list[str]] | None:
    text = _query(request).get("fields")
    if not text:
        return None
    return [f.strip().split("/") for f in text.split(",") if f.strip()]


def _with_params(request: Request, **changes: Any) -> str:
    scheme = request.environ.get("wsgi.url_scheme", "http")
    params = [
        (k, v)
        for k, v in parse_qsl(request.environ.get("QUERY_STRING", ""), keep_blank_values=True)
        if k.lower() not in {c.lower() for c in changes}
    ]
    params += [(k, str(v)) for k, v in changes.items() if v is not None]
    return urlunsplit((scheme, _host_of(request), request.path, urlencode(params), ""))


def _host_of(request: Request) -> str:
    return request.environ.get("HTTP_HOST") or f"{request.environ.get('SERVER_NAME', 'localhost')}"


def _json_body(request: Request) -> Any:
    try:
        return request.json()
    except (ValueError, UnicodeDecodeError):
        return None


UDF_PODS = {1: "Company", 2: "Contact", 3: "Opportunity", 4: "Activity"}  # podId -> screenId, as seeded
UDF_FIELD_TYPES = ("TextArea", "Button", "Currency", "Date", "Hyperlink", "IPAddress", "Checkbox", "Number", "Percent", "Text")
UDF_ENTRY_TYPES = ("Date", "EntryField", "List", "Option")


def _udf_problems(body: dict) -> list[dict]:
    problems = []

    def bad(field: str, message: str) -> None:
        problems.append(_problem("InvalidField", message, "userDefinedField", field))

    caption = body.get("caption")
    if not isinstance(caption, str) or not caption.strip() or len(caption) > 50:
        bad("caption", "caption is required (50 characters at most).")
    pod = body.get("podId")
    if not isinstance(pod, int) or isinstance(pod, bool) or pod not in UDF_PODS:
        bad("podId", "podId must name a screen.")
    sequence = body.get("sequenceNumber")
    if not isinstance(sequence, int) or isinstance(sequence, bool) or not 1 <= sequence <= 999:
        bad("sequenceNumber", "sequenceNumber is required (1-999).")
    if body.get("fieldTypeIdentifier") not in UDF_FIELD_TYPES:
        bad("fieldTypeIdentifier", f"fieldTypeIdentifier must be one of {', '.join(UDF_FIELD_TYPES)}.")
    if body.get("entryTypeIdentifier", "EntryField") not in UDF_ENTRY_TYPES:
        bad("entryTypeIdentifier", f"entryTypeIdentifier must be one of {', '.join(UDF_ENTRY_TYPES)}.")
    return problems


def _problem(code: str, message: str, resource: str, field: str) -> dict:
    return {"code": code, "message": message, "resource": resource, "field": field}


def _apply_patch(record: dict, op: dict, key: str) -> dict | None:
    kind = str(op.get("op") or "").lower()
    path = [p for p in str(op.get("path") or "").strip("/").split("/") if p]
    if kind not in ("replace", "add", "remove") or not path:
        return _problem(
            "InvalidField",
            f"Unsupported patch operation {op!r}: use op replace/add/remove with a path.",
            RESOURCES[key].singular,
            str(op.get("path") or ""),
        )
    if path[0] in ("id", "_info"):
        return _problem("InvalidField", f"{path[0]} cannot be changed.", RESOURCES[key].singular, path[0])
    if path[0] not in RESOURCES[key].fields:
        return _problem(
            "InvalidField", f"{path[0]} is not a field of {RESOURCES[key].singular}.", RESOURCES[key].singular, path[0]
        )
    target = record
    for step in path[:-1]:
        nxt = target.get(step)
        if not isinstance(nxt, dict):
            nxt = {}
            target[step] = nxt
        target = nxt
    if kind == "remove":
        target.pop(path[-1], None)
    else:
        target[path[-1]] = copy.deepcopy(op.get("value"))
    return None


def _set_default_item(items: list[dict], type_id: int, value: str | None, kind: str) -> list[dict]:
    items = [dict(i) for i in items]
    current = next((i for i in items if (i.get("type") or {}).get("id") == type_id and i.get("defaultFlag")), None) or next(
        (i for i in items if (i.get("type") or {}).get("id") == type_id), None
    )
    if value in (None, ""):
        return [i for i in items if i is not current]
    if current is None:
        for i in items:
            if i.get("communicationType") == kind:
                i["defaultFlag"] = False
        items.append({"type": {"id": type_id}, "value": value, "defaultFlag": True})
    else:
        current["value"] = value
    return items


def _level_matches(hook: dict, record: dict) -> bool:
    if hook["level"] == "company":
        company_id = record["id"] if hook["type"] == "company" else (record.get("company") or {}).get("id")
        return company_id == hook["objectId"]
    return True


def _public_callback(hook: dict) -> dict:
    return {k: copy.deepcopy(v) for k, v in hook.items() if not k.startswith("_") or k == "_info"}


def _accept_version(header: str) -> tuple[int, ...] | None:
    """The version a ConnectWise Accept header asks for: None when it names none, () when the
    vendor media type carries a version that is not YYYY.N."""
    for media in header.split(","):
        kind, *params = [p.strip() for p in media.split(";")]
        if kind.lower() != "application/vnd.connectwise.com+json":
            continue
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "version":
                m = re.fullmatch(r"(\d{1,4})\.(\d{1,3})(?:\.\d+)*", value.strip().strip('"'))
                return (int(m[1]), int(m[2])) if m else ()
    return None


def _basic_credentials(header: str) -> tuple[str | None, str | None, str | None]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None, None, None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, None, None
    user, _, private_key = decoded.partition(":")
    company, _, public_key = user.partition("+")
    return company, public_key, private_key


def _parent_id(row: dict, field: str) -> int | None:
    """The id of the record a nested row hangs off (`contactId`: 12, or `company`: {id: 12})."""
    value = row.get(field)
    return value.get("id") if isinstance(value, dict) else value


def _full_name(row: dict) -> str:
    return " ".join(p for p in (row.get("firstName"), row.get("lastName")) if p)


def _domain(company: str) -> str:
    return (re.sub(r"[^a-z0-9]", "", company.lower()) or "company") + ".example.com"


def parse_rate_limit(spec: str) -> tuple[int, float] | None:
    """'600/60' -> (600, 60.0); '' -> None (no limit: ConnectWise publishes none)."""
    if not spec:
        return None
    calls, _, seconds = spec.partition("/")
    try:
        parsed = int(calls), float(seconds or 1)
    except ValueError:
        raise ValueError(f"--rate-limit must look like 600/60, not {spec!r}") from None
    if parsed[0] < 1 or parsed[1] <= 0:
        raise ValueError("--rate-limit needs at least 1 call per a positive number of seconds")
    return parsed
