"""The HubSpot emulator: CRM v3 objects, search, properties, owners, pipelines, associations v4,
OAuth and private-app auth, rate limits and webhooks v3, at HubSpot's own paths and in its JSON.

Reachable in-process (`HubSpotEmulator().transport()`) or on a real port
(`python manage.py emulator hubspot --port 8101 --token pat-na1-...`).

What it emulates:
- /crm/v3/objects/{contacts,companies,deals,notes,calls,tasks,emails,meetings}: list (limit/after), get, create (201), update,
  archive; batch read / create / update / upsert / archive (<=100 inputs; 200 when every input
  worked, 207 multi-status with per-input errors otherwise);
- search (filterGroups with EQ NEQ LT LTE GT GTE BETWEEN IN NOT_IN HAS_PROPERTY NOT_HAS_PROPERTY
  CONTAINS_TOKEN, `query`, one sort, limit <= 200, paging.next.after, 400 past 10,000 results),
  with a search-index lag knob: a change becomes searchable `search_lag_ms` after it happens;
- validation: unknown property, invalid dropdown option, duplicate contact e-mail (409 "Contact
  already exists. Existing ID: N"), duplicate value of a unique property;
- /crm/v3/properties/{type} (list, get, create with type / fieldType validation and a Location
  header, update options), /crm/v3/owners (type PERSON / QUEUE, `email`, `archived`, paging; get
  by id or `idProperty=userId`), /crm/v3/pipelines/deals, /crm/v4 associations (default
  association with startedAt / completedAt, batch read / associate / archive, per-record list
  paged by `limit` <= 500 / `after`), /account-info/v3/details;
- /oauth/authorize (consent page on the "app host"), POST /oauth/v1/token (authorization_code and
  refresh_token grants; answers carry token_use, hub_id, user_id, scopes; errors carry category),
  GET /oauth/v1/access-tokens/{token} and /refresh-tokens/{token} (scopes, user_id); private-app
  tokens (Bearer pat-...);
- error bodies {status, message, correlationId, category}; malformed input of any kind (broken
  JSON, `limit=abc`, `after=abc`, a body of the wrong shape, a non-numeric value in a number or
  date search filter) is a 400 VALIDATION_ERROR in that shape, never a 500;
- limits: private apps 100 per 10 s (`per_10s`) and the daily limit with the daily headers;
  OAuth apps 110 per 10 s (`oauth_per_10s`), no daily limit and no daily headers; associations v4
  batch endpoints exempt from the ten-secondly limit; search at 5 requests/s without rate-limit
  headers; 429 bodies naming the policy;
- webhooks v3 to a subscribed URL, signed with X-HubSpot-Signature-v3, batched per API call;
- the shared knobs of connectors.emulation (latency, limits, faults, counters) and a controllable
  clock (`freeze_clock`, `advance_clock`) so tests need no sleeps.

In-process helpers for the engine's tests, the demo and benchmarks: `HubSpotEmulator.demo(seed_size)`
/ `seed_demo(size)` (owners, companies, contacts, deals with pipelines, associated), `create_record`
/ `edit_record` (as a user in HubSpot's UI: bumps the modified time, fires webhooks), `get_record`,
`find_records`, `count`, `associated_ids`, `add_owner`, `subscribe(url, client_secret)`,
`issue_oauth_tokens`, `authorize_code`, `revoke_refresh_token`, `set_knobs(search_lag_ms=...,
search_lag_jitter_ms=..., per_10s=..., daily=..., search_per_second=...)`, `reset_daily`. Over HTTP:
POST /_emulator/webhooks {target_url, client_secret}, /_emulator/seed {size}, /_emulator/records
{objectType, properties}, PATCH /_emulator/records/{type}/{id} {properties}, /_emulator/clock
{advance_ms | freeze_ms}, GET /_emulator/state, plus the shared /_emulator/counters and knobs.

Webhooks v3 management (app settings and event subscriptions) lives in emulator_webhooks.py;
merges, restores and associationChange events in emulator_lifecycle.py; lists v3 (static and
active lists, memberships) in emulator_lists.py.

Where it follows HubSpot's observed behaviour over the published spec (with the evidence):
- a requested property that has no value comes back as null, an unknown one is left out (the
  objects reference: "if any of the specified properties are not present... they will be
  ignored"; hubspot-api-client keeps the nulls it receives; tests/connectors/test_hubspot_client_library.py);
- associations v4 `toObjectId` is a JSON integer (the spec's int64; hubspot-api-client's model
  says str and converts, test_hubspot_client_library.py);
- OAuth token errors keep HubSpot's observed `status` (BAD_REFRESH_TOKEN...) and the OAuth
  `error` / `error_description` beside the spec's required category / correlationId / message;
- search answers carry no X-HubSpot-RateLimit-* headers ("API usage guidelines": search limits
  are separate and not reported in the standard headers);
- a duplicate contact e-mail is a 409 "Contact already exists. Existing ID: N" (the message
  HubSpot sends and its community answers quote; the spec only says "error");
- the property type / fieldType pairs accepted are those the "Properties" guide lists.

What it does NOT emulate (not faithful): other object types (tickets, products, line items,
custom objects; engagements are emulated: emulator_engagements.py), GDPR delete, property
groups' CRUD, calculated properties, association labels beyond the default
types, the v1 / v2 signatures, property history and `propertiesWithHistory`, search over
associations, sorting on more than one property, a per-portal multi-tenant model (one portal
per emulator), token scopes enforcement, the exact wording of 400 messages for malformed input
(the shape and category are HubSpot's), HubSpot's unspecified ordering of batch results (ours
follow input order), the Professional / Enterprise limits (190 per 10 s, larger daily limits:
knobs, not tiers), and the client-credentials grant.
"""

from __future__ import annotations

import base64
import bisect
import copy
import datetime as dt
import functools
import hashlib
import hmac
import html
import itertools
import json
import random
import secrets
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qs, urlencode

from connectors.emulation import (
    BadInput,
    Emulator,
    Request,
    Response,
    SlidingWindow,
    WebhookSender,
    iso,
    json_response,
    public,
)
from connectors.hubspot import emulator_engagements as engagements
from connectors.hubspot import limits
from connectors.hubspot import limits as hubspot_limits
from connectors.hubspot.emulator_lifecycle import Lifecycle
from connectors.hubspot.emulator_lists import Lists
from connectors.hubspot.emulator_webhooks import AppWebhooks  # `limits` is also a knob name in set_knobs

OBJECT_TYPES = ("contacts", "companies", "deals")
# The demo's lists (seed_demo): a static list and an active list of contacts.
DEMO_STATIC_LIST, DEMO_ACTIVE_LIST = "Newsletter subscribers", "Customers (active list)"
SINGULAR = {"contacts": "contact", "companies": "company", "deals": "deal"}
# HubSpot keeps the modified time in different properties per object type.
MODIFIED_PROPERTY = {"contacts": "lastmodifieddate", "companies": "hs_lastmodifieddate", "deals": "hs_lastmodifieddate"}
# Association type ids of HubSpot's default (unlabelled) associations.
ASSOCIATION_TYPE_IDS = {
    ("contacts", "companies"): 1,
    ("companies", "contacts"): 2,
    ("deals", "contacts"): 3,
    ("contacts", "deals"): 4,
    ("deals", "companies"): 5,
    ("companies", "deals"): 6,
}
# Notes and calls (engagements) are served by the same handlers: emulator_engagements.py.
OBJECT_TYPES += engagements.ENGAGEMENT_TYPES
MODIFIED_PROPERTY |= engagements.MODIFIED_PROPERTY
ASSOCIATION_TYPE_IDS |= engagements.ASSOCIATION_TYPE_IDS
DEFAULT_PORTAL_ID = 62515
ASSOCIATIONS_PAGE_LIMIT = 500  # associations v4 list: `limit` at most 500 per page
OAUTH_SCOPES = [
    "oauth",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.companies.read",
    "crm.objects.companies.write",
    "crm.objects.deals.read",
    "crm.objects.deals.write",
    "crm.objects.owners.read",
    "crm.schemas.contacts.read",
]
INSTALLER_USER_ID = 7001
DEFAULT_TOKEN = "pat-na1-emulator-token"
DEFAULT_CLIENT_ID = "emulator-client-id"
DEFAULT_CLIENT_SECRET = "emulator-client-secret"

LIFECYCLE_STAGES = [
    ("subscriber", "Subscriber"),
    ("lead", "Lead"),
    ("marketingqualifiedlead", "Marketing Qualified Lead"),
    ("salesqualifiedlead", "Sales Qualified Lead"),
    ("opportunity", "Opportunity"),
    ("customer", "Customer"),
    ("evangelist", "Evangelist"),
    ("other", "Other"),
]
LEAD_STATUSES = [
    ("NEW", "New"),
    ("OPEN", "Open"),
    ("IN_PROGRESS", "In Progress"),
    ("OPEN_DEAL", "Open Deal"),
    ("UNQUALIFIED", "Unqualified"),
    ("ATTEMPTED_TO_CONTACT", "Attempted to Contact"),
    ("CONNECTED", "Connected"),
    ("BAD_TIMING", "Bad Timing"),
]
INDUSTRIES = [
    ("ACCOUNTING", "Accounting"),
    ("COMPUTER_SOFTWARE", "Computer Software"),
    ("FINANCIAL_SERVICES", "Financial Services"),
    ("HOSPITAL_HEALTH_CARE", "Hospital & Health Care"),
    ("INFORMATION_TECHNOLOGY_AND_SERVICES", "Information Technology and Services"),
    ("MARKETING_AND_ADVERTISING", "Marketing and Advertising"),
    ("RETAIL", "Retail"),
    ("CONSTRUCTION", "Construction"),
]
COMPANY_TYPES = [
    ("PROSPECT", "Prospect"),
    ("PARTNER", "Partner"),
    ("RESELLER", "Reseller"),
    ("VENDOR", "Vendor"),
    ("OTHER", "Other"),
]
PIPELINES = [
    {
        "id": "default",
        "label": "Sales Pipeline",
        "displayOrder": 0,
        "stages": [
            ("appointmentscheduled", "Appointment Scheduled", "0.2", False),
            ("qualifiedtobuy", "Qualified To Buy", "0.4", False),
            ("presentationscheduled", "Presentation Scheduled", "0.6", False),
            ("decisionmakerboughtin", "Decision Maker Bought-In", "0.8", False),
            ("contractsent", "Contract Sent", "0.9", False),
            ("closedwon", "Closed Won", "1.0", True),
            ("closedlost", "Closed Lost", "0.0", True),
        ],
    },
    {
        "id": "renewals",
        "label": "Renewals",
        "displayOrder": 1,
        "stages": [
            ("renewalopen", "Renewal Open", "0.5", False),
            ("renewalwon", "Renewed", "1.0", True),
            ("renewallost", "Not Renewed", "0.0", True),
        ],
    },
]

FIRST_NAMES = [
    "Ava",
    "Liam",
    "Maya",
    "Noah",
    "Zoe",
    "Ethan",
    "Lena",
    "Omar",
    "Priya",
    "Lucas",
    "Sofia",
    "Mateo",
    "Hana",
    "Jonas",
    "Amara",
    "Felix",
    "Nora",
    "Ravi",
    "Elena",
    "Kai",
    "Ines",
    "Tomas",
    "Yara",
    "Hugo",
]
LAST_NAMES = [
    "Smith",
    "Garcia",
    "Chen",
    "Okafor",
    "Novak",
    "Ivanova",
    "Müller",
    "Rossi",
    "Tanaka",
    "Kowalski",
    "Haddad",
    "Jensen",
    "Silva",
    "Dubois",
    "Patel",
    "Andersen",
    "Moreau",
    "Fischer",
    "Nakamura",
    "O'Brien",
]
COMPANY_WORDS = [
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Acme",
    "Tyrell",
    "Cyberdyne",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Wonka",
    "Oscorp",
    "Aperture",
    "Massive",
    "Pied Piper",
    "Gringotts",
]
COMPANY_SUFFIXES = ["Labs", "Systems", "Logistics", "Health", "Partners", "Software", "Retail", "Energy", "Foods", "Consulting"]
CITIES = [
    ("Boston", "United States"),
    ("Dublin", "Ireland"),
    ("Berlin", "Germany"),
    ("Toronto", "Canada"),
    ("Austin", "United States"),
    ("London", "United Kingdom"),
    ("Sydney", "Australia"),
    ("Lyon", "France"),
]


def _prop(
    name: str,
    label: str,
    type_: str = "string",
    field_type: str = "text",
    *,
    group: str = "contactinformation",
    options: Iterable[tuple[str, str]] = (),
    read_only: bool = False,
    unique: bool = False,
    hubspot_defined: bool = True,
    referenced: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "label": label,
        "type": type_,
        "fieldType": field_type,
        "groupName": group,
        "description": "",
        "options": [{"label": lab, "value": val, "displayOrder": i, "hidden": False} for i, (val, lab) in enumerate(options)],
        "displayOrder": -1,
        "calculated": False,
        "externalOptions": referenced is not None,
        "hasUniqueValue": unique,
        "hidden": False,
        "hubspotDefined": hubspot_defined,
        "formField": not read_only,
        "modificationMetadata": {
            "archivable": not hubspot_defined,
            "readOnlyDefinition": hubspot_defined,
            "readOnlyValue": read_only,
        },
        "createdAt": "2020-01-01T00:00:00.000Z",
        "updatedAt": "2020-01-01T00:00:00.000Z",
        "archived": False,
    }
    if referenced:
        body["referencedObjectType"] = referenced
    return body


def default_properties() -> dict[str, dict[str, dict[str, Any]]]:
    common = lambda group: [  # noqa: E731 - read-only system properties every object has
        _prop("hs_object_id", "Record ID", "number", "number", group=group, read_only=True),
        _prop("createdate", "Create Date", "datetime", "date", group=group, read_only=True),
        _prop("hubspot_owner_id", "Owner", "enumeration", "select", group=group, referenced="OWNER"),
    ]
    contacts = common("contactinformation") + [
        _prop("lastmodifieddate", "Last Modified Date", "datetime", "date", read_only=True),
        _prop("email", "Email", unique=True),
        _prop("firstname", "First Name"),
        _prop("lastname", "Last Name"),
        _prop("phone", "Phone Number", field_type="phonenumber"),
        _prop("mobilephone", "Mobile Phone Number", field_type="phonenumber"),
        _prop("company", "Company Name"),
        _prop("jobtitle", "Job Title"),
        _prop("website", "Website URL"),
        _prop("city", "City"),
        _prop("country", "Country/Region"),
        _prop("lifecyclestage", "Lifecycle Stage", "enumeration", "radio", options=LIFECYCLE_STAGES),
        _prop("hs_lead_status", "Lead Status", "enumeration", "radio", options=LEAD_STATUSES),
        _prop("notes", "Notes", field_type="textarea"),
    ]
    companies = common("companyinformation") + [
        _prop("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", group="companyinformation", read_only=True),
        _prop("name", "Company name", group="companyinformation"),
        _prop("domain", "Company Domain Name", group="companyinformation"),
        _prop("phone", "Phone Number", field_type="phonenumber", group="companyinformation"),
        _prop("city", "City", group="companyinformation"),
        _prop("country", "Country/Region", group="companyinformation"),
        _prop("industry", "Industry", "enumeration", "select", group="companyinformation", options=INDUSTRIES),
        _prop("type", "Type", "enumeration", "select", group="companyinformation", options=COMPANY_TYPES),
        _prop("numberofemployees", "Number of Employees", "number", "number", group="companyinformation"),
        _prop("annualrevenue", "Annual Revenue", "number", "number", group="companyinformation"),
        _prop("description", "Description", field_type="textarea", group="companyinformation"),
    ]
    stage_options = [(s[0], s[1]) for p in PIPELINES for s in p["stages"]]
    deals = common("dealinformation") + [
        _prop("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", group="dealinformation", read_only=True),
        _prop("dealname", "Deal Name", group="dealinformation"),
        _prop("amount", "Amount", "number", "number", group="dealinformation"),
        _prop("closedate", "Close Date", "datetime", "date", group="dealinformation"),
        _prop(
            "pipeline",
            "Pipeline",
            "enumeration",
            "select",
            group="dealinformation",
            options=[(p["id"], p["label"]) for p in PIPELINES],
        ),
        _prop("dealstage", "Deal Stage", "enumeration", "radio", group="dealinformation", options=stage_options),
        _prop(
            "dealtype",
            "Deal Type",
            "enumeration",
            "radio",
            group="dealinformation",
            options=[("newbusiness", "New Business"), ("existingbusiness", "Existing Business")],
        ),
        _prop("description", "Deal Description", field_type="textarea", group="dealinformation"),
    ]
    crm = {t: {p["name"]: p for p in props} for t, props in (("contacts", contacts), ("companies", companies), ("deals", deals))}
    return crm | engagements.engagement_properties(_prop)


@dataclass
class StoredRecord:
    id: int
    properties: dict[str, str | None]
    created_ms: int
    updated_ms: int
    archived: bool = False
    # What search sees: HubSpot's index trails writes. `indexed` is the searchable version;
    # `pending` (properties, updated_ms, visible_at_ms) replaces it once its time has come.
    indexed: tuple[dict[str, str | None], int] | None = None
    pending: tuple[dict[str, str | None], int, int] | None = None


@dataclass
class Owner:
    id: str
    email: str
    first_name: str
    last_name: str
    user_id: int | None
    created_ms: int
    archived: bool = False
    type: str = "PERSON"  # or QUEUE: a help-desk queue owns records but is no user

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "email": self.email,
            "type": self.type,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "userId": self.user_id,
            "userIdIncludingInactive": self.user_id,
            "createdAt": iso_ms(self.created_ms),
            "updatedAt": iso_ms(self.created_ms),
            "archived": self.archived,
            "teams": [],
        }


@dataclass
class Subscription:
    target_url: str
    client_secret: str
    app_id: int = 1234567
    types: tuple[str, ...] = ()  # empty: every subscription type


@dataclass
class BatchError:
    status: str
    category: str
    message: str
    context: dict[str, list[str]] = field(default_factory=dict)
    http_status: int = 400

    def as_json(self) -> dict[str, Any]:
        return {
            "status": "error",
            "category": self.category,
            "message": self.message,
            "context": self.context,
            "subCategory": self.status,
            "errors": [],
            "links": {},
        }


class InputError(Exception):
    def __init__(self, error: BatchError):
        super().__init__(error.message)
        self.error = error


def iso_ms(ms: int) -> str:
    return iso(dt.datetime.fromtimestamp(ms / 1000, dt.UTC))


def to_ms(value: Any) -> int | None:
    """HubSpot accepts datetimes as epoch milliseconds or ISO 8601 strings."""
    if value is None or value == "":
        return None
    return _to_ms(str(value).strip())


@functools.lru_cache(maxsize=65536)
def _to_ms(text: str) -> int | None:
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return int(parsed.timestamp() * 1000)


class HubSpotEmulator(Emulator):
    system = "hubspot"

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        portal_id: int = DEFAULT_PORTAL_ID,
        per_10s: int = limits.PRIVATE_APP_PER_10S,
        oauth_per_10s: int = limits.OAUTH_APP_PER_10S,
        daily: int = limits.DAILY_LIMIT,
        search_per_second: int = limits.SEARCH_PER_SECOND,
        search_lag_ms: int = 0,
        search_lag_jitter_ms: int = 0,
        **knobs: Any,
    ):
        self.tokens = {token} if token else set()
        self.client_id, self.client_secret, self.portal_id = client_id, client_secret, portal_id
        self.per_10s, self.daily, self.search_per_second = per_10s, daily, search_per_second
        self.search_lag_ms = search_lag_ms
        # Extra, random lag per change (0..jitter ms): the index does not catch up in write order.
        self.search_lag_jitter_ms = search_lag_jitter_ms
        self.lag_rng = random.Random(knobs.get("seed", 0))
        self.properties = default_properties()
        # (object type, unique property) -> {lower-cased value: record id}; keeps look-ups O(1) at benchmark sizes.
        self.unique_index: dict[tuple[str, str], dict[str, int]] = {}
        self.change_log: dict[str, list[tuple[int, int]]] = {t: [] for t in OBJECT_TYPES}
        self.pending_ids: dict[str, set[int]] = {t: set() for t in OBJECT_TYPES}
        self.records: dict[str, dict[int, StoredRecord]] = {t: {} for t in OBJECT_TYPES}
        self.associations: dict[tuple[str, str], dict[int, set[int]]] = {}
        self.owners: dict[str, Owner] = {}
        self.ids = itertools.count(1001)
        self.owner_ids = itertools.count(90001)
        self.auth_codes: dict[str, dict[str, Any]] = {}
        self.access_tokens: dict[str, dict[str, Any]] = {}  # OAuth access token -> {expires_ms, refresh}
        self.refresh_tokens: dict[str, dict[str, Any]] = {}
        self.subscriptions: list[Subscription] = []
        self.webhooks = WebhookSender()
        self.event_ids = itertools.count(1)
        self._frozen_ms: int | None = None
        self._offset_ms = 0
        self._last_ms = 0
        self._clock_lock = threading.Lock()
        self.ten_second = SlidingWindow(per_10s, limits.TEN_SECOND_WINDOW_MS / 1000)
        self.oauth_per_10s = oauth_per_10s
        self.oauth_ten_second = SlidingWindow(oauth_per_10s, limits.TEN_SECOND_WINDOW_MS / 1000)
        self.search_window = SlidingWindow(search_per_second, 1.0)
        self.daily_used = 0
        super().__init__(**knobs)

    # --- command line and demo ----------------------------------------------------------------
    @classmethod
    def add_arguments(cls, parser) -> None:
        parser.add_argument("--token", default=DEFAULT_TOKEN, help="the private-app token it accepts")
        parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID, help="OAuth app client id")
        parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET, help="OAuth app client secret (signs webhooks)")
        parser.add_argument("--portal-id", type=int, default=DEFAULT_PORTAL_ID)
        parser.add_argument("--search-lag-ms", type=int, default=0, help="records become searchable this long after a change")
        parser.add_argument("--per-10s", type=int, default=limits.PRIVATE_APP_PER_10S, help="requests per 10 seconds")
        parser.add_argument("--daily", type=int, default=limits.DAILY_LIMIT, help="requests per day")
        parser.add_argument("--webhook-url", default="", help="send webhooks v3 here, signed with the client secret")

    @classmethod
    def from_options(cls, options: dict[str, Any], **knobs: Any) -> HubSpotEmulator:
        emulator = cls(
            token=options.get("token") or DEFAULT_TOKEN,
            client_id=options.get("client_id") or DEFAULT_CLIENT_ID,
            client_secret=options.get("client_secret") or DEFAULT_CLIENT_SECRET,
            portal_id=options.get("portal_id") or DEFAULT_PORTAL_ID,
            search_lag_ms=options.get("search_lag_ms") or 0,
            per_10s=options.get("per_10s") or limits.PRIVATE_APP_PER_10S,
            daily=options.get("daily") or limits.DAILY_LIMIT,
            **knobs,
        )
        emulator.seed_demo(int(options.get("seed_size", 100) or 0))
        if options.get("webhook_url"):
            emulator.subscribe(options["webhook_url"], emulator.client_secret)
        return emulator

    @classmethod
    def demo(cls, seed_size: int = 100, **kwargs: Any) -> HubSpotEmulator:
        emulator = cls(**kwargs)
        emulator.seed_demo(seed_size)
        return emulator

    # --- clock ----------------------------------------------------------------------------------
    def now_ms(self) -> int:
        """Milliseconds since the epoch, by the emulator's clock (frozen / shifted in tests)."""
        with self._clock_lock:
            if self._frozen_ms is not None:
                return self._frozen_ms
            return int(time.time() * 1000) + self._offset_ms

    def freeze_clock(self, ms: int | None = None) -> int:
        with self._clock_lock:
            self._frozen_ms = int(time.time() * 1000) + self._offset_ms if ms is None else int(ms)
            return self._frozen_ms

    def advance_clock(self, ms: int) -> int:
        with self._clock_lock:
            if self._frozen_ms is not None:
                self._frozen_ms += int(ms)
                return self._frozen_ms
            self._offset_ms += int(ms)
            return int(time.time() * 1000) + self._offset_ms

    # --- routes -------------------------------------------------------------------------------------
    def setup_routes(self) -> None:
        obj = rf"(?P<object>{'|'.join(OBJECT_TYPES)})"
        r = self.route
        r("POST", rf"/crm/v3/objects/{obj}/search", self.search, name="search", write=False)
        r("POST", rf"/crm/v3/objects/{obj}/batch/read", self.batch_read, name="batch/read", write=False)
        r("POST", rf"/crm/v3/objects/{obj}/batch/create", self.batch_create, name="batch/create")
        r("POST", rf"/crm/v3/objects/{obj}/batch/update", self.batch_update, name="batch/update")
        r("POST", rf"/crm/v3/objects/{obj}/batch/upsert", self.batch_upsert, name="batch/upsert")
        r("POST", rf"/crm/v3/objects/{obj}/batch/archive", self.batch_archive, name="batch/archive")
        r("GET", rf"/crm/v3/objects/{obj}", self.list_objects, name="objects/list")
        r("POST", rf"/crm/v3/objects/{obj}", self.create_object, name="objects/create")
        r("GET", rf"/crm/v3/objects/{obj}/(?P<id>[^/]+)", self.get_object, name="objects/get")
        r("PATCH", rf"/crm/v3/objects/{obj}/(?P<id>[^/]+)", self.update_object, name="objects/update")
        r("DELETE", rf"/crm/v3/objects/{obj}/(?P<id>[^/]+)", self.archive_object, name="objects/archive")
        r("GET", rf"/crm/v3/properties/{obj}", self.list_properties, name="properties/list")
        r("POST", rf"/crm/v3/properties/{obj}", self.create_property, name="properties/create")
        r("GET", rf"/crm/v3/properties/{obj}/(?P<name>[^/]+)", self.get_property, name="properties/get")
        r("PATCH", rf"/crm/v3/properties/{obj}/(?P<name>[^/]+)", self.update_property, name="properties/update")
        r("GET", r"/crm/v3/owners/?", self.list_owners, name="owners/list")
        r("GET", r"/crm/v3/owners/(?P<id>[^/]+)", self.get_owner, name="owners/get")
        r("GET", r"/crm/v3/pipelines/deals", self.list_pipelines, name="pipelines/list")
        r(
            "PUT",
            rf"/crm/v4/objects/{obj}/(?P<id>\d+)/associations/default/(?P<to>{'|'.join(OBJECT_TYPES)})/(?P<to_id>\d+)",
            self.associate_default,
            name="associations/default",
        )
        r(
            "GET",
            rf"/crm/v4/objects/{obj}/(?P<id>\d+)/associations/(?P<to>{'|'.join(OBJECT_TYPES)})",
            self.list_associations,
            name="associations/list",
        )
        r(
            "POST",
            rf"/crm/v4/associations/{obj}/(?P<to>{'|'.join(OBJECT_TYPES)})/batch/read",
            self.batch_read_associations,
            name="associations/batch/read",
            write=False,
        )
        r(
            "POST",
            rf"/crm/v4/associations/{obj}/(?P<to>{'|'.join(OBJECT_TYPES)})/batch/associate/default",
            self.batch_associate_default,
            name="associations/batch/associate",
        )
        r(
            "POST",
            rf"/crm/v4/associations/{obj}/(?P<to>{'|'.join(OBJECT_TYPES)})/batch/archive",
            self.batch_archive_associations,
            name="associations/batch/archive",
        )
        r("GET", r"/account-info/v3/details", self.account_details, name="account-info")
        r("GET", r"/oauth/authorize", self.oauth_authorize, name="oauth/authorize")
        r("POST", r"/oauth/authorize", self.oauth_approve, name="oauth/approve", write=False)
        r("POST", r"/oauth/v1/token", self.oauth_token, name="oauth/token", write=False)
        r("GET", r"/oauth/v1/access-tokens/(?P<token>[^/]+)", self.access_token_info, name="oauth/access-token")
        r("GET", r"/oauth/v1/refresh-tokens/(?P<token>[^/]+)", self.refresh_token_info, name="oauth/refresh-token")
        # Webhooks v3 management, merges, restores and association-change events (their own modules).
        self.app_webhooks = AppWebhooks(self)
        self.app_webhooks.setup_routes()
        self.lifecycle = Lifecycle(self)
        self.lifecycle.setup_routes()
        self.lifecycle.watch_associations()
        self.lists = Lists(self)
        self.lists.setup_routes()
        for handler in (
            self.oauth_authorize,
            self.oauth_approve,
            self.oauth_token,
            self.access_token_info,
            self.refresh_token_info,
        ):
            public(handler.__func__)

    # --- HubSpot's error shape, auth, limits, headers ---------------------------------------------------
    def error(self, status: int, message: str, **extra: Any) -> Response:
        category = extra.pop("category", None) or {
            400: "VALIDATION_ERROR",
            401: "INVALID_AUTHENTICATION",
            403: "MISSING_SCOPES",
            404: "OBJECT_NOT_FOUND",
            405: "METHOD_NOT_ALLOWED",
            409: "CONFLICT",
            429: "RATE_LIMITS",
        }.get(status, "INTERNAL_ERROR")
        body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": category, **extra}
        return json_response(body, status)

    def authenticate(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return self.error(
                401,
                "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can "
                "find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
            )
        if token in self.tokens:
            request.environ["hubspot.auth"] = "private"
            return None
        request.environ["hubspot.auth"] = "oauth"
        with self.lock:
            info = self.access_tokens.get(token)
        if info is None:
            return self.error(401, "The OAuth token used to make this call is not valid.", category="INVALID_AUTHENTICATION")
        if info["expires_ms"] <= self.now_ms():
            return self.error(
                401,
                "The OAuth token used to make this call expired "
                + f"{(self.now_ms() - info['expires_ms']) // 1000} second(s) ago.",
                category="EXPIRED_AUTHENTICATION",
            )
        return None

    def rate_limit(self, request: Request, route) -> Response | None:
        """Private apps: the ten-secondly and daily limits. OAuth apps: 110 per 10 s per account
        and no daily limit. Search: 5 per second. Associations v4 batch: exempt from the
        ten-secondly limit (the spec's x-hubspot-rate-limit-exemptions)."""
        if getattr(route.handler, "public", False):
            return None
        oauth = request.environ.get("hubspot.auth") == "oauth"
        if not oauth:
            with self.lock:
                if self.daily_used >= self.daily:
                    return self._limited("You have reached your daily limit.", "DAILY", retry_after=None)
                self.daily_used += 1
        if route.name.startswith("associations/batch"):
            return None
        if route.name == "search":
            allowed, _, wait = self.search_window.hit("search")
            if not allowed:
                return self._limited("You have reached your secondly limit.", "SECONDLY", retry_after=max(1, round(wait + 0.5)))
            return None
        window = self.oauth_ten_second if oauth else self.ten_second
        allowed, remaining, wait = window.hit("api")
        request.environ["hubspot.remaining"] = remaining
        if not allowed:
            return self._limited(
                "You have reached your ten_secondly_rolling limit.", "TEN_SECONDLY_ROLLING", retry_after=max(1, round(wait + 0.5))
            )
        return None

    def _limited(self, message: str, policy: str, retry_after: int | None) -> Response:
        response = self.error(
            429,
            message,
            errorType="RATE_LIMIT",
            policyName=policy,
            groupName=f"publicapi:{self.portal_id}",
            category="RATE_LIMITS",
        )
        if retry_after:
            response.headers["Retry-After"] = str(retry_after)
        return response

    def decorate(self, request: Request, response: Response) -> None:
        response.headers.setdefault("Date", formatdate(self.now_ms() / 1000, usegmt=True))
        response.headers.setdefault("X-HubSpot-Correlation-Id", str(uuid.uuid4()))
        if request.path.startswith("/oauth") or "/search" in request.path:
            return  # HubSpot sends no standard rate-limit headers on search or OAuth calls
        oauth = request.environ.get("hubspot.auth") == "oauth"
        window = self.oauth_ten_second if oauth else self.ten_second
        remaining = request.environ.get("hubspot.remaining")
        if remaining is None:
            remaining = max(0, window.limit - len(window.calls.get("api", ())))
        if not oauth:  # "the daily headers are not included for OAuth apps" (API usage guidelines)
            with self.lock:
                daily_remaining = max(0, self.daily - self.daily_used)
            response.headers["X-HubSpot-RateLimit-Daily"] = str(self.daily)
            response.headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(daily_remaining)
        response.headers.update(
            {
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(limits.TEN_SECOND_WINDOW_MS),
                "X-HubSpot-RateLimit-Max": str(window.limit),
                "X-HubSpot-RateLimit-Remaining": str(remaining),
            }
        )

    def set_knobs(
        self,
        latency_ms=None,
        limits=None,
        faults=None,
        seed=None,
        search_lag_ms=None,
        per_10s=None,
        daily=None,
        search_per_second=None,
        search_lag_jitter_ms=None,
        oauth_per_10s=None,
    ) -> None:
        super().set_knobs(latency_ms=latency_ms, limits=limits, faults=faults, seed=seed)
        if oauth_per_10s is not None:
            self.oauth_per_10s = int(oauth_per_10s)
            self.oauth_ten_second = SlidingWindow(self.oauth_per_10s, hubspot_limits.TEN_SECOND_WINDOW_MS / 1000)
        if seed is not None:
            self.lag_rng = random.Random(seed)
        if search_lag_ms is not None:
            self.search_lag_ms = int(search_lag_ms)
        if search_lag_jitter_ms is not None:
            self.search_lag_jitter_ms = int(search_lag_jitter_ms)
        if per_10s is not None:
            self.per_10s = int(per_10s)
            self.ten_second = SlidingWindow(self.per_10s, hubspot_limits.TEN_SECOND_WINDOW_MS / 1000)
        if daily is not None:
            self.daily = int(daily)
        if search_per_second is not None:
            self.search_per_second = int(search_per_second)
            self.search_window = SlidingWindow(self.search_per_second, 1.0)

    def reset_daily(self) -> None:
        with self.lock:
            self.daily_used = 0

    # --- control endpoints (/_emulator/...) -------------------------------------------------------------
    def control(self, request: Request) -> Response | None:
        try:
            return self._control_endpoint(request)
        except KeyError as exc:
            return self.error(404, f"Not found: {exc.args[0] if exc.args else exc}", category="OBJECT_NOT_FOUND")
        except InputError as exc:
            return self.error(exc.error.http_status, exc.error.message, category=exc.error.category)
        except (ValueError, TypeError) as exc:
            return self.error(400, f"Bad control request: {exc}")

    def _control_endpoint(self, request: Request) -> Response | None:
        body = request.json() if request.body else {}
        if request.path == "/_emulator/webhooks" and request.method == "POST":
            self.subscribe(
                body["target_url"], body.get("client_secret") or self.client_secret, types=tuple(body.get("types", ()))
            )
            return json_response({"ok": True})
        if request.path == "/_emulator/seed" and request.method == "POST":
            return json_response(self.seed_demo(int(body.get("size", 100))))
        if request.path == "/_emulator/records" and request.method == "POST":
            if body.get("objectType") not in OBJECT_TYPES:
                raise ValueError(f"objectType must be one of {', '.join(OBJECT_TYPES)}")
            record_id = self.create_record(body["objectType"], body.get("properties", {}))
            return json_response({"id": str(record_id)}, 201)
        if request.path.startswith("/_emulator/records/") and request.method == "PATCH":
            _, _, object_type, record_id = request.path.strip("/").split("/")[:4]
            self.edit_record(object_type, record_id, body.get("properties", {}))
            return json_response({"ok": True})
        if request.path == "/_emulator/clock" and request.method == "POST":
            if "advance_ms" in body:
                return json_response({"now": self.advance_clock(body["advance_ms"])})
            return json_response({"now": self.freeze_clock(body.get("freeze_ms"))})
        if request.path == "/_emulator/state" and request.method == "GET":
            with self.lock:
                return json_response(
                    {t: len([r for r in recs.values() if not r.archived]) for t, recs in self.records.items()}
                    | {"owners": len(self.owners), "daily_used": self.daily_used}
                )
        return None

    # --- in-process helpers (tests, demo, benchmarks) ----------------------------------------------------
    def subscribe(self, target_url: str, client_secret: str | None = None, types: tuple[str, ...] = ()) -> None:
        """Send webhooks v3 for record changes to `target_url`, signed with the app's client secret."""
        with self.lock:
            self.subscriptions.append(Subscription(target_url, client_secret or self.client_secret, types=types))

    def add_owner(self, email: str, first_name: str = "", last_name: str = "", *, queue: bool = False) -> str:
        """A user who owns records (type PERSON), or a help-desk queue (type QUEUE, no user id)."""
        with self.lock:
            owner = Owner(
                str(next(self.owner_ids)),
                email,
                first_name,
                last_name,
                user_id=None if queue else len(self.owners) + 7001,
                created_ms=self.now_ms(),
                type="QUEUE" if queue else "PERSON",
            )
            self.owners[owner.id] = owner
            return owner.id

    def archive_owner(self, owner_id: str) -> None:
        """As if the user was deactivated: listed only with archived=true."""
        with self.lock:
            self.owners[owner_id].archived = True

    def create_record(
        self,
        object_type: str,
        properties: dict[str, Any],
        *,
        validate: bool = True,
        associations: dict[str, list[str | int]] | None = None,
        notify: bool = True,
    ) -> str:
        """Create a record as a user would in HubSpot's UI; returns its id."""
        with self.lock:
            clean = (
                self._validated(object_type, properties, creating=True)
                if validate
                else {k: _str(v) for k, v in properties.items()}
            )
            record = self._insert(object_type, clean)
            for to_type, ids in (associations or {}).items():
                for to_id in ids:
                    self._associate(object_type, record.id, to_type, int(to_id))
            events = self._events(object_type, record, "creation", clean)
        if notify:
            self._send(events)
        return str(record.id)

    def edit_record(self, object_type: str, record_id: str | int, properties: dict[str, Any], *, validate: bool = True) -> None:
        """Change a record as a user would in HubSpot's UI: bumps its modified time, fires webhooks."""
        with self.lock:
            record = self._live(object_type, record_id)
            if record is None:
                raise KeyError(f"{object_type} {record_id} does not exist")
            clean = (
                self._validated(object_type, properties, record=record)
                if validate
                else {k: _str(v) for k, v in properties.items()}
            )
            changed = self._apply(object_type, record, clean)
            events = self._events(object_type, record, "propertyChange", changed)
        self._send(events)

    def delete_record(self, object_type: str, record_id: str | int) -> None:
        """A user deletes a record in HubSpot's UI: archived (the recycle bin), a deletion webhook fires."""
        if not self._archive(object_type, record_id, "CRM_UI"):
            raise KeyError(f"{object_type} {record_id} does not exist")

    def get_record(self, object_type: str, record_id: str | int) -> dict[str, Any] | None:
        """The stored properties of a live record (a copy), or None."""
        with self.lock:
            record = self._live(object_type, record_id)
            return dict(record.properties) if record else None

    def find_records(self, object_type: str, property_name: str, value: str) -> list[str]:
        with self.lock:
            return [
                str(r.id)
                for r in self.records[object_type].values()
                if not r.archived and str(r.properties.get(property_name) or "").lower() == str(value).lower()
            ]

    def count(self, object_type: str) -> int:
        with self.lock:
            return sum(1 for r in self.records[object_type].values() if not r.archived)

    def associated_ids(self, from_type: str, record_id: str | int, to_type: str) -> list[str]:
        with self.lock:
            return sorted(str(i) for i in self.associations.get((from_type, to_type), {}).get(int(record_id), set()))

    def issue_oauth_tokens(self, expires_in: int = limits.ACCESS_TOKEN_SECONDS) -> dict[str, Any]:
        """Tokens as if an install had just completed (for tests and the demo)."""
        with self.lock:
            return self._new_tokens(expires_in)

    def seed_demo(self, size: int = 100) -> dict[str, int]:
        """Realistic demo data: owners, `size` companies and contacts, size // 2 deals, associated."""
        rng = random.Random(self.seed)
        if not self.owners:
            for first, last in [("Sam", "Rivera"), ("Alex", "Kim"), ("Jordan", "Lee"), ("Morgan", "Blake"), ("Casey", "Nguyen")]:
                self.add_owner(f"{first.lower()}.{last.lower()}@example.com", first, last)
        owner_ids = list(self.owners)
        company_ids = []
        for n in range(size):
            word, suffix = rng.choice(COMPANY_WORDS), rng.choice(COMPANY_SUFFIXES)
            city, country = rng.choice(CITIES)
            name = f"{word} {suffix}" + (f" {n}" if n >= len(COMPANY_WORDS) else "")
            domain = f"{word}{suffix}{n}".lower().replace(" ", "").replace("'", "") + ".example.com"
            company_ids.append(
                self.create_record(
                    "companies",
                    {
                        "name": name,
                        "domain": domain,
                        "city": city,
                        "country": country,
                        "industry": rng.choice(INDUSTRIES)[0],
                        "type": rng.choice(COMPANY_TYPES)[0],
                        "numberofemployees": str(rng.randint(5, 5000)),
                        "phone": f"+1 617 555 {rng.randint(1000, 9999)}",
                        "hubspot_owner_id": rng.choice(owner_ids),
                    },
                    notify=False,
                )
            )
        contact_ids = []
        for n in range(size):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            company = company_ids[n % len(company_ids)] if company_ids else None
            domain = self.records["companies"][int(company)].properties["domain"] if company else "example.org"
            contact_ids.append(
                self.create_record(
                    "contacts",
                    {
                        "email": f"{first}.{last}.{n}@{domain}".lower().replace("'", "").replace("ü", "u"),
                        "firstname": first,
                        "lastname": last,
                        "jobtitle": rng.choice(["CEO", "CTO", "Office Manager", "Buyer", "IT Director", "Sales Lead"]),
                        "phone": f"+1 617 555 {rng.randint(1000, 9999)}",
                        "lifecyclestage": rng.choice(LIFECYCLE_STAGES[:6])[0],
                        "hs_lead_status": rng.choice(LEAD_STATUSES)[0],
                        "hubspot_owner_id": rng.choice(owner_ids),
                    },
                    associations={"companies": [company]} if company else None,
                    notify=False,
                )
            )
        deals = 0
        for n in range(size // 2):
            pipeline = PIPELINES[0] if n % 5 else PIPELINES[1]
            company = company_ids[n % len(company_ids)] if company_ids else None
            contact = contact_ids[n % len(contact_ids)] if contact_ids else None
            assoc = {k: [v] for k, v in (("companies", company), ("contacts", contact)) if v}
            self.create_record(
                "deals",
                {
                    "dealname": f"{self.records['companies'][int(company)].properties['name'] if company else 'New'} – "
                    f"{rng.choice(['Renewal', 'Expansion', 'New Licences', 'Services', 'Pilot'])}",
                    "amount": str(rng.randrange(1000, 250000, 500)),
                    "pipeline": pipeline["id"],
                    "dealstage": rng.choice(pipeline["stages"])[0],
                    "closedate": iso_ms(self.now_ms() + rng.randint(1, 120) * 86_400_000),
                    "hubspot_owner_id": rng.choice(owner_ids),
                },
                associations=assoc,
                notify=False,
            )
            deals += 1
        self._seed_lists(contact_ids)
        return {"companies": len(company_ids), "contacts": len(contact_ids), "deals": deals, "owners": len(self.owners)}

    def _seed_lists(self, contact_ids: list[str]) -> None:
        """Two demo lists: a static one (every third contact) and an active one (customers)."""
        if not contact_ids or self.lists.list_by_name(DEMO_STATIC_LIST):
            return
        static = self.lists.create_list(DEMO_STATIC_LIST, "contacts", "MANUAL")
        self.lists.add_members(static, contact_ids[::3])
        customers = {"filterType": "PROPERTY", "property": "lifecyclestage"}
        customers["operation"] = {"operationType": "ENUMERATION", "operator": "IS_ANY_OF", "values": ["customer"]}
        branch = {"filterBranchType": "OR", "filterBranches": [{"filterBranchType": "AND", "filters": [customers]}]}
        self.lists.create_list(DEMO_ACTIVE_LIST, "contacts", "DYNAMIC", branch)

    # --- record store internals (call with self.lock held) ---------------------------------------------------
    def _live(self, object_type: str, record_id: Any) -> StoredRecord | None:
        try:
            record = self.records[object_type].get(int(record_id))
        except (TypeError, ValueError):
            return None
        return record if record is not None and not record.archived else None

    def _insert(self, object_type: str, clean: dict[str, str | None]) -> StoredRecord:
        now = self._tick()
        record_id = next(self.ids)
        props = {k: v for k, v in clean.items() if v not in (None, "")}
        props.update({"hs_object_id": str(record_id), "createdate": iso_ms(now), MODIFIED_PROPERTY[object_type]: iso_ms(now)})
        record = StoredRecord(record_id, props, now, now)
        self._index(object_type, record, now)
        self.records[object_type][record_id] = record
        self._reindex_unique(object_type, record, {})
        return record

    def _apply(self, object_type: str, record: StoredRecord, clean: dict[str, str | None]) -> dict[str, str | None]:
        changed = {k: v for k, v in clean.items() if (record.properties.get(k) or None) != (v or None)}
        if not changed:
            return {}
        now = self._tick()
        before = dict(record.properties)
        for name, value in changed.items():
            if value in (None, ""):
                record.properties.pop(name, None)
            else:
                record.properties[name] = value
        record.properties[MODIFIED_PROPERTY[object_type]] = iso_ms(now)
        record.updated_ms = now
        self._index(object_type, record, now)
        self._reindex_unique(object_type, record, before)
        return changed

    def _tick(self) -> int:
        """The time of a change; never earlier than the previous change (HubSpot's clock is monotonic enough)."""
        now = self.now_ms()
        self._last_ms = max(self._last_ms, now)
        return self._last_ms

    def _index(self, object_type: str, record: StoredRecord, now: int) -> None:
        # Changes are stamped in non-decreasing time, so this log stays sorted by appending; search
        # bisects it to the modified-time window instead of scanning every record.
        self.change_log[object_type].append((record.updated_ms, record.id))
        snapshot = (dict(record.properties), record.updated_ms)
        lag = self.search_lag_ms + (self.lag_rng.randint(0, self.search_lag_jitter_ms) if self.search_lag_jitter_ms > 0 else 0)
        if lag <= 0:
            record.indexed, record.pending = snapshot, None
        else:
            self._promote(record, now)
            record.pending = (snapshot[0], snapshot[1], now + lag)
            self.pending_ids[object_type].add(record.id)

    def _reindex_unique(self, object_type: str, record: StoredRecord, before: dict[str, Any]) -> None:
        for name, prop in self.properties[object_type].items():
            if not prop.get("hasUniqueValue"):
                continue
            index = self.unique_index.setdefault((object_type, name), {})
            old, new = before.get(name), None if record.archived else record.properties.get(name)
            if old and index.get(str(old).lower()) == record.id:
                del index[str(old).lower()]
            if new:
                index[str(new).lower()] = record.id

    @staticmethod
    def _promote(record: StoredRecord, now: int) -> None:
        if record.pending is not None and record.pending[2] <= now:
            record.indexed, record.pending = (record.pending[0], record.pending[1]), None

    def _validated(
        self, object_type: str, properties: dict[str, Any], creating: bool = False, record: StoredRecord | None = None
    ) -> dict[str, str | None]:
        """HubSpot's property validation; raises InputError with HubSpot's message."""
        defs = self.properties[object_type]
        problems = []
        clean: dict[str, str | None] = {}
        for name, raw in (properties or {}).items():
            value, problem = self._checked_value(object_type, name, defs.get(name), _str(raw))
            if problem is not None:
                problems.append(problem)
            else:
                clean[name] = value
        if creating:
            problems += [
                {"isValid": False, "error": "REQUIRED_PROPERTY", "name": name, "message": f"{name} is required"}
                for name in engagements.missing_required(object_type, clean)
            ]
        if problems:
            raise InputError(
                BatchError(
                    "VALIDATION_ERROR",
                    "VALIDATION_ERROR",
                    "Property values were not valid: " + json.dumps(problems),
                    http_status=400,
                )
            )
        self._check_unique(object_type, clean, record)
        return clean

    def _checked_value(
        self, object_type: str, name: str, prop: dict[str, Any] | None, value: str | None
    ) -> tuple[str | None, dict[str, Any] | None]:
        """One property's value as HubSpot stores it, or HubSpot's problem with it."""
        if prop is None:
            return None, {
                "isValid": False,
                "message": f'Property "{name}" does not exist',
                "error": "PROPERTY_DOESNT_EXIST",
                "name": name,
                "localizedErrorMessage": f'Property "{name}" does not exist',
            }
        if prop["modificationMetadata"]["readOnlyValue"]:
            return None, {
                "isValid": False,
                "message": f'"{name}" is a read only property; its value cannot be set.',
                "error": "READ_ONLY_VALUE",
                "name": name,
            }
        problem = self._type_problem(object_type, name, prop, value) if value not in (None, "") else None
        if problem is not None:
            return None, problem
        if name == "email" and value:
            value = value.strip()
            if "@" not in value:
                return None, {
                    "isValid": False,
                    "error": "INVALID_EMAIL",
                    "name": name,
                    "message": f"Email address {value} is invalid",
                }
        return value, None

    def _type_problem(self, object_type: str, name: str, prop: dict[str, Any], value: str) -> dict[str, Any] | None:
        """HubSpot's problem with a non-empty value for the property's type (an option, a number, a date)."""
        if prop["type"] == "enumeration":
            allowed = self._allowed_values(object_type, prop)
            values = value.split(";") if prop["fieldType"] == "checkbox" else [value]
            bad = [v for v in values if v not in allowed]
            if bad:
                return {
                    "isValid": False,
                    "error": "INVALID_OPTION",
                    "name": name,
                    "message": f"{bad[0]} was not one of the allowed options: "
                    + ", ".join(f'[label: "{o["label"]}" value: "{o["value"]}"]' for o in prop["options"]),
                    "allowedOptions": [{"label": o["label"], "value": o["value"]} for o in prop["options"]],
                }
        if prop["type"] == "number":
            try:
                float(value)
            except ValueError:
                return {"isValid": False, "error": "INVALID_LONG", "name": name, "message": f"{value} was not a valid number."}
        if prop["type"] in ("datetime", "date") and to_ms(value) is None:
            return {"isValid": False, "error": "INVALID_DATE", "name": name, "message": f"{value} was not a valid date."}
        return None

    def _allowed_values(self, object_type: str, prop: dict[str, Any]) -> set[str]:
        if prop.get("referencedObjectType") == "OWNER":
            return set(self.owners)
        return {o["value"] for o in prop["options"]}

    def _check_unique(self, object_type: str, clean: dict[str, str | None], record: StoredRecord | None) -> None:
        for name, value in clean.items():
            prop = self.properties[object_type][name]
            if not prop.get("hasUniqueValue") or not value:
                continue
            other_id = self.unique_index.get((object_type, name), {}).get(value.lower())
            other = self.records[object_type].get(other_id) if other_id is not None else None
            if other is not None and not other.archived and (record is None or other.id != record.id):
                if object_type == "contacts" and name == "email":
                    raise InputError(
                        BatchError("CONFLICT", "CONFLICT", f"Contact already exists. Existing ID: {other.id}", http_status=409)
                    )
                raise InputError(
                    BatchError(
                        "VALIDATION_ERROR",
                        "VALIDATION_ERROR",
                        f"{value} already has that value for {name}: {other.id}",
                        http_status=400,
                    )
                )

    def _associate(self, from_type: str, from_id: int, to_type: str, to_id: int) -> None:
        self.associations.setdefault((from_type, to_type), {}).setdefault(from_id, set()).add(to_id)
        self.associations.setdefault((to_type, from_type), {}).setdefault(to_id, set()).add(from_id)

    def _unassociate(self, from_type: str, from_id: int, to_type: str, to_id: int) -> None:
        self.associations.get((from_type, to_type), {}).get(from_id, set()).discard(to_id)
        self.associations.get((to_type, from_type), {}).get(to_id, set()).discard(from_id)

    def _record_json(
        self,
        object_type: str,
        record: StoredRecord,
        wanted: list[str] | None,
        associations: list[str] | None = None,
        view: tuple[dict, int] | None = None,
    ) -> dict[str, Any]:
        props, updated = view if view is not None else (record.properties, record.updated_ms)
        names = wanted if wanted else self._default_names(object_type)
        body: dict[str, Any] = {
            "id": str(record.id),
            "properties": {n: props.get(n) for n in names if n in self.properties[object_type] or n in props},
            "createdAt": iso_ms(record.created_ms),
            "updatedAt": iso_ms(updated),
            "archived": record.archived,
        }
        for n in ("hs_object_id", "createdate", MODIFIED_PROPERTY[object_type]):
            body["properties"].setdefault(n, props.get(n))
        if associations:
            assoc = {}
            for to_type in associations:
                ids = self.associations.get((object_type, to_type), {}).get(record.id, set())
                if ids:
                    assoc[to_type] = {
                        "results": [
                            {"id": str(i), "type": f"{SINGULAR[object_type]}_to_{SINGULAR[to_type]}"} for i in sorted(ids)
                        ]
                    }
            if assoc:
                body["associations"] = assoc
        return body

    @staticmethod
    def _default_names(object_type: str) -> list[str]:
        return {
            "contacts": ["email", "firstname", "lastname"],
            "companies": ["name", "domain"],
            "deals": ["dealname", "amount", "closedate", "dealstage", "pipeline"],
        }[object_type]

    # --- webhooks ----------------------------------------------------------------------------------------
    def _events(self, object_type: str, record: StoredRecord, kind: str, changed: dict[str, Any]) -> list[dict[str, Any]]:
        if not (self.subscriptions or self.app_webhooks.has_target()) or (kind == "propertyChange" and not changed):
            return []
        if object_type in engagements.ENGAGEMENT_TYPES:
            return []  # webhooks v3 has no note / call subscription types
        singular = SINGULAR[object_type]
        base = {
            "portalId": self.portal_id,
            "appId": self.subscriptions[0].app_id if self.subscriptions else self.app_webhooks.app_id,
            "occurredAt": record.updated_ms,
            "objectId": record.id,
            "changeSource": "CRM_UI",
            "attemptNumber": 0,
        }
        if kind == "creation":
            return [
                base
                | {
                    "eventId": next(self.event_ids),
                    "subscriptionId": _subscription_id(f"{singular}.creation"),
                    "subscriptionType": f"{singular}.creation",
                }
            ]
        if kind == "deletion":
            return [
                base
                | {
                    "eventId": next(self.event_ids),
                    "subscriptionId": _subscription_id(f"{singular}.deletion"),
                    "subscriptionType": f"{singular}.deletion",
                }
            ]
        return [
            base
            | {
                "eventId": next(self.event_ids),
                "subscriptionId": _subscription_id(f"{singular}.propertyChange"),
                "subscriptionType": f"{singular}.propertyChange",
                "propertyName": name,
                "propertyValue": value or "",
            }
            for name, value in changed.items()
        ]

    def _send(self, events: list[dict[str, Any]], change_source: str | None = None) -> None:
        if not events:
            return
        with self.lock:
            subscriptions = list(self.subscriptions)
        for sub in subscriptions:
            chosen = [
                e | ({"changeSource": change_source} if change_source else {})
                for e in events
                if not sub.types or e["subscriptionType"] in sub.types
            ]
            for start in range(0, len(chosen), 100):
                body = json.dumps(chosen[start : start + 100]).encode()
                timestamp = str(self.now_ms())
                headers = {
                    "Content-Type": "application/json",
                    "X-HubSpot-Request-Timestamp": timestamp,
                    "X-HubSpot-Signature-Version": "v3",
                    "X-HubSpot-Signature-v3": signature_v3(sub.client_secret, "POST", sub.target_url, body, timestamp),
                }
                self.webhooks.send(sub.target_url, body, headers)
        self.app_webhooks.send(events, change_source)

    # --- objects API ---------------------------------------------------------------------------------------
    def _batch_inputs(self, request: Request) -> tuple[list[dict[str, Any]], Response | None]:
        try:
            body = request.json_object()
        except ValueError:
            return [], self.error(400, "Invalid input JSON on line 1, column 1: Cannot build BatchInput, the body is not JSON")
        inputs = body.get("inputs")
        if not isinstance(inputs, list) or not all(isinstance(item, dict) for item in inputs):
            return [], self.error(
                400, "Invalid input JSON: Cannot build BatchInput, some of required attributes are not set [inputs]"
            )
        if len(inputs) > limits.BATCH_LIMIT:
            return [], self.error(
                400, f"Too many inputs: {len(inputs)} exceeds the limit of {limits.BATCH_LIMIT}.", category="VALIDATION_ERROR"
            )
        return inputs, None

    def _batch_answer(
        self, results: list[dict[str, Any]], errors: list[BatchError], started: str, status_ok: int = 200
    ) -> Response:
        body: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": started,
            "completedAt": iso_ms(self.now_ms()),
        }
        if errors:
            body["numErrors"] = len(errors)
            body["errors"] = [e.as_json() for e in errors]
            return json_response(body, 207)
        return json_response(body, status_ok)

    def batch_create(self, request: Request) -> Response:
        object_type = request.params["object"]
        inputs, bad = self._batch_inputs(request)
        if bad:
            return bad
        started = iso_ms(self.now_ms())
        results, errors, events = [], [], []
        with self.lock:
            for item in inputs:
                trace = item.get("objectWriteTraceId")
                try:
                    clean = self._validated(object_type, _properties_of(item), creating=True)
                    assoc = self._input_associations(object_type, _list_of_objects(item.get("associations"), "associations"))
                except InputError as exc:
                    exc.error.context = {"objectWriteTraceId": [trace]} if trace else {}
                    errors.append(exc.error)
                    continue
                record = self._insert(object_type, clean)
                for to_type, to_id in assoc:
                    self._associate(object_type, record.id, to_type, to_id)
                result = self._record_json(object_type, record, list(clean) or None)
                if trace:
                    result["objectWriteTraceId"] = trace
                results.append(result)
                events += self._events(object_type, record, "creation", clean)
        self._send(events, "INTEGRATION")
        return self._batch_answer(results, errors, started, status_ok=201)

    def _input_associations(self, object_type: str, associations: list[dict[str, Any]]) -> list[tuple[str, int]]:
        """Inline associations of a create: [{to: {id}, types: [{associationCategory, associationTypeId}]}]."""
        out = []
        for assoc in associations:
            try:
                to_id = int(assoc.get("to", {}).get("id"))
            except (TypeError, ValueError):
                raise InputError(BatchError("VALIDATION_ERROR", "VALIDATION_ERROR", "Association target id is missing")) from None
            type_ids = {t.get("associationTypeId") for t in assoc.get("types", [])}
            target = next((to for (frm, to), tid in ASSOCIATION_TYPE_IDS.items() if frm == object_type and tid in type_ids), None)
            if target is None:
                raise InputError(
                    BatchError(
                        "VALIDATION_ERROR",
                        "VALIDATION_ERROR",
                        f"Association type {sorted(type_ids)} is not valid from {object_type}",
                    )
                )
            if self._live(target, to_id) is None:
                raise InputError(
                    BatchError("VALIDATION_ERROR", "VALIDATION_ERROR", f"Association target {target} {to_id} does not exist")
                )
            out.append((target, to_id))
        return out

    def batch_update(self, request: Request) -> Response:
        object_type = request.params["object"]
        inputs, bad = self._batch_inputs(request)
        if bad:
            return bad
        started = iso_ms(self.now_ms())
        results, errors, events = [], [], []
        with self.lock:
            for item in inputs:
                record = self._by_id_property(object_type, item.get("id"), item.get("idProperty"))
                if record is None:
                    errors.append(
                        BatchError(
                            "OBJECT_NOT_FOUND",
                            "OBJECT_NOT_FOUND",
                            "Could not get some "
                            + object_type.upper()
                            + " objects, they may be deleted or not exist. Check that ids are valid.",
                            context={"ids": [str(item.get("id"))]},
                            http_status=404,
                        )
                    )
                    continue
                try:
                    clean = self._validated(object_type, _properties_of(item), record=record)
                except InputError as exc:
                    exc.error.context = {"ids": [str(item.get("id"))]}
                    errors.append(exc.error)
                    continue
                changed = self._apply(object_type, record, clean)
                results.append(self._record_json(object_type, record, list(clean) or None))
                events += self._events(object_type, record, "propertyChange", changed)
        self._send(events, "INTEGRATION")
        return self._batch_answer(results, errors, started)

    def batch_upsert(self, request: Request) -> Response:
        object_type = request.params["object"]
        inputs, bad = self._batch_inputs(request)
        if bad:
            return bad
        started = iso_ms(self.now_ms())
        results, errors, events = [], [], []
        with self.lock:
            for item in inputs:
                id_property = item.get("idProperty") or "hs_object_id"
                prop = self.properties[object_type].get(id_property)
                if prop is None or not (prop.get("hasUniqueValue") or id_property == "hs_object_id"):
                    errors.append(
                        BatchError(
                            "VALIDATION_ERROR",
                            "VALIDATION_ERROR",
                            f"{id_property} is not a unique property and cannot be used as idProperty",
                            context={"ids": [str(item.get("id"))]},
                        )
                    )
                    continue
                record = self._by_id_property(object_type, item.get("id"), id_property)
                properties = dict(_properties_of(item))
                try:
                    if record is None:
                        if id_property != "hs_object_id":
                            properties[id_property] = item.get("id")
                        clean = self._validated(object_type, properties, creating=True)
                        record = self._insert(object_type, clean)
                        events += self._events(object_type, record, "creation", clean)
                        new = True
                    else:
                        clean = self._validated(object_type, properties, record=record)
                        events += self._events(object_type, record, "propertyChange", self._apply(object_type, record, clean))
                        new = False
                except InputError as exc:
                    exc.error.context = {"ids": [str(item.get("id"))]}
                    errors.append(exc.error)
                    continue
                results.append(
                    self._record_json(object_type, record, list(dict.fromkeys(list(clean) + [id_property]))) | {"new": new}
                )
        self._send(events, "INTEGRATION")
        return self._batch_answer(results, errors, started)

    def batch_read(self, request: Request) -> Response:
        object_type = request.params["object"]
        inputs, bad = self._batch_inputs(request)
        if bad:
            return bad
        body = request.json_object()
        id_property = body.get("idProperty")
        wanted = body.get("properties") or None
        if wanted is not None and (not isinstance(wanted, list) or not all(isinstance(w, str) for w in wanted)):
            raise BadInput("Invalid input JSON: properties must be a list of property names")
        started = iso_ms(self.now_ms())
        results, missing = [], []
        with self.lock:
            for item in inputs:
                record = self._by_id_property(object_type, item.get("id"), id_property)
                if record is None:
                    missing.append(str(item.get("id")))
                else:
                    results.append(self._record_json(object_type, record, wanted))
        errors = (
            [
                BatchError(
                    "OBJECT_NOT_FOUND",
                    "OBJECT_NOT_FOUND",
                    f"Could not get some {object_type.upper()} objects, they may be "
                    "deleted or not exist. Check that ids are valid.",
                    context={"ids": missing},
                    http_status=404,
                )
            ]
            if missing
            else []
        )
        return self._batch_answer(results, errors, started)

    def batch_archive(self, request: Request) -> Response:
        object_type = request.params["object"]
        inputs, bad = self._batch_inputs(request)
        if bad:
            return bad
        events = []
        with self.lock:
            for item in inputs:
                record = self._live(object_type, item.get("id"))
                if record is not None:
                    record.archived = True
                    record.updated_ms = self._tick()
                    self._reindex_unique(object_type, record, record.properties)
                    events += self._events(object_type, record, "deletion", {})
        self._send(events, "INTEGRATION")
        return Response(204)

    def _by_id_property(self, object_type: str, value: Any, id_property: str | None) -> StoredRecord | None:
        if not id_property or id_property == "hs_object_id":
            return self._live(object_type, value)
        wanted = str(value or "").lower()
        if (object_type, id_property) in self.unique_index:
            return self._live(object_type, self.unique_index[(object_type, id_property)].get(wanted))
        for record in self.records[object_type].values():
            if not record.archived and str(record.properties.get(id_property) or "").lower() == wanted:
                return record
        return None

    def list_objects(self, request: Request) -> Response:
        object_type = request.params["object"]
        limit = min(request.int_arg("limit", 10, minimum=1), 100)
        after = request.int_arg("after", 0)
        wanted = _csv(request.query.get("properties"))
        assoc = [a for a in _csv(request.query.get("associations")) if a in OBJECT_TYPES]
        archived = _bool_arg(request, "archived")
        with self.lock:
            records = sorted(
                (r for r in self.records[object_type].values() if r.archived == archived and r.id > after), key=lambda r: r.id
            )
            page = records[:limit]
            results = [self._record_json(object_type, r, wanted, assoc) for r in page]
        body: dict[str, Any] = {"results": results}
        if len(records) > limit:
            body["paging"] = {
                "next": {"after": str(page[-1].id), "link": f"{request.path}?{urlencode({'limit': limit, 'after': page[-1].id})}"}
            }
        return json_response(body)

    def get_object(self, request: Request) -> Response:
        object_type = request.params["object"]
        with self.lock:
            record = self._by_id_property(object_type, request.params["id"], request.arg("idProperty"))
            if record is None:
                return self.error(404, "Object not found.  objectId are usually numeric.", category="OBJECT_NOT_FOUND")
            return json_response(
                self._record_json(
                    object_type,
                    record,
                    _csv(request.query.get("properties")),
                    [a for a in _csv(request.query.get("associations")) if a in OBJECT_TYPES],
                )
            )

    def create_object(self, request: Request) -> Response:
        object_type = request.params["object"]
        body = request.json_object()
        try:
            with self.lock:
                clean = self._validated(object_type, _properties_of(body), creating=True)
                assoc = self._input_associations(object_type, _list_of_objects(body.get("associations"), "associations"))
                record = self._insert(object_type, clean)
                for to_type, to_id in assoc:
                    self._associate(object_type, record.id, to_type, to_id)
                answer = self._record_json(object_type, record, list(clean) or None)
                events = self._events(object_type, record, "creation", clean)
        except InputError as exc:
            return self.error(exc.error.http_status, exc.error.message, category=exc.error.category)
        self._send(events, "INTEGRATION")
        return json_response(answer, 201)

    def update_object(self, request: Request) -> Response:
        object_type = request.params["object"]
        body = request.json_object()
        try:
            with self.lock:
                record = self._by_id_property(object_type, request.params["id"], request.arg("idProperty"))
                if record is None:
                    return self.error(404, "Object not found.  objectId are usually numeric.", category="OBJECT_NOT_FOUND")
                clean = self._validated(object_type, _properties_of(body), record=record)
                changed = self._apply(object_type, record, clean)
                answer = self._record_json(object_type, record, list(clean) or None)
                events = self._events(object_type, record, "propertyChange", changed)
        except InputError as exc:
            return self.error(exc.error.http_status, exc.error.message, category=exc.error.category)
        self._send(events, "INTEGRATION")
        return json_response(answer)

    def archive_object(self, request: Request) -> Response:
        self._archive(request.params["object"], request.params["id"], "INTEGRATION")
        return Response(204)

    def _archive(self, object_type: str, record_id: str | int, change_source: str) -> bool:
        with self.lock:
            record = self._live(object_type, record_id)
            events = []
            if record is not None:
                record.archived = True
                record.updated_ms = self._tick()
                self._reindex_unique(object_type, record, record.properties)
                events = self._events(object_type, record, "deletion", {})
        self._send(events, change_source)
        return record is not None

    # --- search --------------------------------------------------------------------------------------------------
    def search(self, request: Request) -> Response:
        object_type = request.params["object"]
        body = request.json_object()
        limit = _whole(body.get("limit"), 10, "limit")
        after = _whole(body.get("after"), 0, "after")
        problem = _search_page_problem(limit, after)
        if problem:
            return self.error(400, problem, category="VALIDATION_ERROR")
        groups = _filter_groups(body)
        problem = _check_filter_shape(groups, self.properties[object_type])
        if problem:
            return self.error(400, problem, category="VALIDATION_ERROR")
        sorts = _search_sorts(body)
        if len(sorts) > 1:
            return self.error(400, "Only one sort is supported.", category="VALIDATION_ERROR")
        wanted = _wanted_properties(body)
        query = str(body.get("query") or "").strip().lower()
        now = self.now_ms()
        defs = self.properties[object_type]
        compiled = [[_compile_filter(f, defs, MODIFIED_PROPERTY[object_type]) for f in g.get("filters", [])] for g in groups]
        with self.lock:
            matches = self._search_matches(object_type, groups, compiled, query, now)
            matches.sort(key=_sort_key(sorts, self.properties[object_type]))
            total = len(matches)
            page = matches[after : after + limit]
            results = [self._record_json(object_type, r, wanted, view=r.indexed) for r in page]
        answer: dict[str, Any] = {"total": total, "results": results}
        if after + limit < total:
            answer["paging"] = {"next": {"after": str(after + limit)}}
        return json_response(answer)

    def _search_matches(
        self, object_type: str, groups: list[dict[str, Any]], compiled: list[list[Any]], query: str, now: int
    ) -> list[StoredRecord]:
        """Records whose indexed view (not the stored one: HubSpot searches its index) matches the
        free-text query and at least one filter group."""
        matches = []
        for record in self._candidates(object_type, groups, now):
            if record.archived:
                continue
            self._promote(record, now)
            if record.indexed is None:
                continue  # created, not indexed yet
            props, updated = record.indexed
            if query and not _query_matches(object_type, props, query):
                continue
            if compiled and not any(all(test(props, updated, record.id) for test in group) for group in compiled):
                continue
            matches.append(record)
        return matches

    def _candidates(self, object_type: str, groups: list[dict[str, Any]], now: int) -> Iterable[StoredRecord]:
        """Records that can match: when every filter group bounds the modified time, only those
        changed inside the bounds (from the change log) plus those whose index entry is pending."""
        bounds = [_modified_bounds(g.get("filters") or [], MODIFIED_PROPERTY[object_type]) for g in groups]
        if not bounds or any(b is None for b in bounds):
            return list(self.records[object_type].values())
        low = min(b[0] for b in bounds)
        high = max(b[1] for b in bounds)
        min_id = min(_id_floor(g.get("filters") or []) for g in groups)
        chosen, seen = self._changed_between(object_type, low, high, min_id)
        return chosen + self._pending_index(object_type, seen)

    def _changed_between(self, object_type: str, low: int, high: int, min_id: int) -> tuple[list[StoredRecord], set[int]]:
        """Records (id >= min_id) whose last change is inside [low, high], by the change log; and their ids."""
        records = self.records[object_type]
        log = self.change_log[object_type]
        if len(log) > 2 * len(records) + 1000:  # compact stale entries now and then
            log[:] = sorted((r.updated_ms, r.id) for r in records.values())
        start = bisect.bisect_left(log, (low, -1))
        end = bisect.bisect_right(log, (high, float("inf")))
        seen: set[int] = set()
        chosen = []
        for stamp, record_id in log[start:end]:
            if record_id < min_id:
                continue
            record = records.get(record_id)
            if record is None or record_id in seen or record.updated_ms != stamp:
                continue
            seen.add(record_id)
            chosen.append(record)
        return chosen, seen

    def _pending_index(self, object_type: str, seen: set[int]) -> list[StoredRecord]:
        """Records whose index entry is still pending, not in `seen` (forgets ids no longer pending)."""
        records = self.records[object_type]
        pending = self.pending_ids[object_type]
        chosen = []
        for record_id in list(pending):
            record = records.get(record_id)
            if record is None or record.pending is None:
                pending.discard(record_id)
                continue
            if record_id not in seen:
                seen.add(record_id)
                chosen.append(record)
        return chosen

    # --- properties, owners, pipelines ---------------------------------------------------------------------------------
    def list_properties(self, request: Request) -> Response:
        with self.lock:
            return json_response(
                {
                    "results": [
                        self._property_json(request.params["object"], p)
                        for p in self.properties[request.params["object"]].values()
                    ]
                }
            )

    def _property_json(self, object_type: str, prop: dict[str, Any]) -> dict[str, Any]:
        body = copy.deepcopy(prop)
        if prop.get("referencedObjectType") == "OWNER":
            body["options"] = [
                {"label": f"{o.first_name} {o.last_name}".strip() or o.email, "value": o.id, "displayOrder": i, "hidden": False}
                for i, o in enumerate(self.owners.values())
            ]
        return body

    def get_property(self, request: Request) -> Response:
        with self.lock:
            prop = self.properties[request.params["object"]].get(request.params["name"])
            if prop is None:
                return self.error(404, f"Unable to find property {request.params['name']}", category="OBJECT_NOT_FOUND")
            return json_response(self._property_json(request.params["object"], prop))

    def create_property(self, request: Request) -> Response:
        object_type = request.params["object"]
        body = request.json_object()
        name = body.get("name")
        required = ("name", "label", "type", "fieldType", "groupName")
        if any(not isinstance(body.get(k), str) or not body.get(k) for k in required):
            return self.error(400, "Property must have name, label, type, fieldType and groupName", category="VALIDATION_ERROR")
        problem = _property_type_problem(body["type"], body["fieldType"], body.get("options"))
        if problem:
            return self.error(400, problem, category="VALIDATION_ERROR")
        with self.lock:
            if name in self.properties[object_type]:
                return self.error(409, f"A property named '{name}' already exists.", category="OBJECT_ALREADY_EXISTS")
            prop = _prop(
                name,
                body["label"],
                body["type"],
                body["fieldType"],
                group=body["groupName"],
                options=[(o["value"], o["label"]) for o in body.get("options") or []],
                unique=bool(body.get("hasUniqueValue")),
                hubspot_defined=False,
            )
            prop["description"] = str(body.get("description") or "")
            self.properties[object_type][name] = prop
            if prop["hasUniqueValue"]:
                self.unique_index[(object_type, name)] = {
                    str(r.properties[name]).lower(): r.id
                    for r in self.records[object_type].values()
                    if not r.archived and r.properties.get(name)
                }
            return json_response(copy.deepcopy(prop), 201, Location=f"/crm/v3/properties/{object_type}/{name}")

    def update_property(self, request: Request) -> Response:
        object_type, name = request.params["object"], request.params["name"]
        body = request.json_object()
        with self.lock:
            prop = self.properties[object_type].get(name)
            if prop is None:
                return self.error(404, f"Unable to find property {name}", category="OBJECT_NOT_FOUND")
            if "options" in body:
                options = _list_of_objects(body["options"], "options")
                values = [str(o.get("value", "")) for o in options]
                if any(not o.get("label") or not str(o.get("value", "")) for o in options) or len(set(values)) != len(values):
                    return self.error(400, "Options must have a unique, non-empty value and a label", category="VALIDATION_ERROR")
                prop["options"] = [
                    {
                        "label": o["label"],
                        "value": str(o["value"]),
                        "displayOrder": o.get("displayOrder", i),
                        "hidden": bool(o.get("hidden", False)),
                    }
                    for i, o in enumerate(options)
                ]
            for key in ("label", "description", "groupName"):
                if key in body:
                    if not isinstance(body[key], str):
                        raise BadInput(f"Invalid input JSON: {key} must be a string")
                    prop[key] = body[key]
            prop["updatedAt"] = iso_ms(self.now_ms())
            return json_response(self._property_json(object_type, prop))

    def list_owners(self, request: Request) -> Response:
        limit = min(request.int_arg("limit", 100, minimum=1), 500)
        after = request.int_arg("after", 0)
        email = (request.arg("email") or "").lower()
        archived = _bool_arg(request, "archived")
        with self.lock:
            owners = [o for o in self.owners.values() if o.archived == archived and (not email or o.email.lower() == email)]
        owners = sorted((o for o in owners if int(o.id) > after), key=lambda o: int(o.id))
        page = owners[:limit]
        body: dict[str, Any] = {"results": [o.as_json() for o in page]}
        if len(owners) > limit:
            body["paging"] = {"next": {"after": page[-1].id, "link": f"{request.path}?after={page[-1].id}"}}
        return json_response(body)

    def get_owner(self, request: Request) -> Response:
        """GET /crm/v3/owners/{ownerId}?idProperty=id|userId&archived=false."""
        id_property = request.arg("idProperty") or "id"
        if id_property not in ("id", "userId"):
            raise BadInput(f"idProperty must be id or userId, not {id_property!r}")
        archived = _bool_arg(request, "archived")
        wanted = request.params["id"]
        with self.lock:
            owner = next(
                (
                    o
                    for o in self.owners.values()
                    if o.archived == archived and str(o.id if id_property == "id" else o.user_id) == wanted
                ),
                None,
            )
        if owner is None:
            return self.error(404, f"Owner not found: {wanted}", category="OBJECT_NOT_FOUND")
        return json_response(owner.as_json())

    def list_pipelines(self, request: Request) -> Response:
        return json_response(
            {
                "results": [
                    {
                        "id": p["id"],
                        "label": p["label"],
                        "displayOrder": p["displayOrder"],
                        "archived": False,
                        "createdAt": "2020-01-01T00:00:00.000Z",
                        "updatedAt": "2020-01-01T00:00:00.000Z",
                        "stages": [
                            {
                                "id": sid,
                                "label": label,
                                "displayOrder": i,
                                "archived": False,
                                "metadata": {"probability": prob, "isClosed": "true" if closed else "false"},
                                "createdAt": "2020-01-01T00:00:00.000Z",
                                "updatedAt": "2020-01-01T00:00:00.000Z",
                            }
                            for i, (sid, label, prob, closed) in enumerate(p["stages"])
                        ],
                    }
                    for p in PIPELINES
                ]
            }
        )

    def account_details(self, request: Request) -> Response:
        return json_response(
            {
                "portalId": self.portal_id,
                "accountType": "STANDARD",
                "timeZone": "US/Eastern",
                "companyCurrency": "USD",
                "additionalCurrencies": [],
                "utcOffset": "-05:00",
                "utcOffsetMilliseconds": -18000000,
                "uiDomain": "app.hubspot.com",
                "dataHostingLocation": "na1",
            }
        )

    # --- associations v4 ------------------------------------------------------------------------------------------------
    def _assoc_result(self, from_type: str, from_id: int, to_type: str) -> dict[str, Any]:
        type_id = ASSOCIATION_TYPE_IDS[(from_type, to_type)]
        ids = sorted(self.associations.get((from_type, to_type), {}).get(from_id, set()))
        return {
            "from": {"id": str(from_id)},
            "to": [
                {"toObjectId": i, "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}]}
                for i in ids
            ],
        }

    def associate_default(self, request: Request) -> Response:
        from_type, to_type = request.params["object"], request.params["to"]
        if (from_type, to_type) not in ASSOCIATION_TYPE_IDS:
            return self.error(400, f"No association is defined from {from_type} to {to_type}")
        started = iso_ms(self.now_ms())
        with self.lock:
            if self._live(from_type, request.params["id"]) is None or self._live(to_type, request.params["to_id"]) is None:
                return self.error(404, "One of the objects does not exist", category="OBJECT_NOT_FOUND")
            self._associate(from_type, int(request.params["id"]), to_type, int(request.params["to_id"]))
        return json_response(
            {
                "status": "COMPLETE",
                "startedAt": started,
                "completedAt": iso_ms(self.now_ms()),
                "results": [
                    {
                        "from": {"id": request.params["id"]},
                        "to": {"id": request.params["to_id"]},
                        "associationSpec": {
                            "associationCategory": "HUBSPOT_DEFINED",
                            "associationTypeId": ASSOCIATION_TYPE_IDS[(from_type, to_type)],
                        },
                    }
                ],
            }
        )

    def list_associations(self, request: Request) -> Response:
        """GET /crm/v4/objects/{type}/{id}/associations/{to}?limit=500&after=...: paged by target id."""
        from_type, to_type = request.params["object"], request.params["to"]
        if (from_type, to_type) not in ASSOCIATION_TYPE_IDS:
            return self.error(400, f"No association is defined from {from_type} to {to_type}")
        limit = min(request.int_arg("limit", ASSOCIATIONS_PAGE_LIMIT, minimum=1), ASSOCIATIONS_PAGE_LIMIT)
        after = request.int_arg("after", 0)
        with self.lock:
            if self._live(from_type, request.params["id"]) is None:
                return self.error(404, "Object not found", category="OBJECT_NOT_FOUND")
            result = self._assoc_result(from_type, int(request.params["id"]), to_type)
        remaining = [item for item in result["to"] if item["toObjectId"] > after]
        body: dict[str, Any] = {"results": remaining[:limit]}
        if len(remaining) > limit:
            cursor = str(remaining[limit - 1]["toObjectId"])
            body["paging"] = {"next": {"after": cursor, "link": f"{request.path}?{urlencode({'limit': limit, 'after': cursor})}"}}
        return json_response(body)

    def batch_read_associations(self, request: Request) -> Response:
        from_type, to_type = request.params["object"], request.params["to"]
        if (from_type, to_type) not in ASSOCIATION_TYPE_IDS:
            return self.error(400, f"No association is defined from {from_type} to {to_type}")
        inputs, bad = self._batch_inputs(request)
        if bad:
            return bad
        started = iso_ms(self.now_ms())
        results, errors = [], []
        with self.lock:
            for item in inputs:
                record = self._live(from_type, item.get("id"))
                if record is None:
                    errors.append(
                        BatchError(
                            "OBJECT_NOT_FOUND",
                            "OBJECT_NOT_FOUND",
                            f"No {from_type} with id {item.get('id')}",
                            context={"fromObjectId": [str(item.get("id"))]},
                        )
                    )
                    continue
                result = self._assoc_result(from_type, record.id, to_type)
                if result["to"]:
                    results.append(result)
        return self._batch_answer(results, errors, started)

    def batch_associate_default(self, request: Request) -> Response:
        from_type, to_type = request.params["object"], request.params["to"]
        if (from_type, to_type) not in ASSOCIATION_TYPE_IDS:
            return self.error(400, f"No association is defined from {from_type} to {to_type}")
        inputs, bad = self._batch_inputs(request)
        if bad:
            return bad
        started = iso_ms(self.now_ms())
        results, errors = [], []
        with self.lock:
            for item in inputs:
                frm, to = item.get("from", {}).get("id"), item.get("to", {}).get("id")
                if self._live(from_type, frm) is None or self._live(to_type, to) is None:
                    errors.append(
                        BatchError(
                            "VALIDATION_ERROR",
                            "VALIDATION_ERROR",
                            f"{from_type} {frm} or {to_type} {to} does not exist",
                            context={"fromObjectId": [str(frm)], "toObjectId": [str(to)]},
                        )
                    )
                    continue
                self._associate(from_type, int(frm), to_type, int(to))
                results.append(
                    {
                        "from": {"id": str(frm)},
                        "to": {"id": str(to)},
                        "associationSpec": {
                            "associationCategory": "HUBSPOT_DEFINED",
                            "associationTypeId": ASSOCIATION_TYPE_IDS[(from_type, to_type)],
                        },
                    }
                )
        return self._batch_answer(results, errors, started)

    def batch_archive_associations(self, request: Request) -> Response:
        from_type, to_type = request.params["object"], request.params["to"]
        if (from_type, to_type) not in ASSOCIATION_TYPE_IDS:
            return self.error(400, f"No association is defined from {from_type} to {to_type}")
        inputs, bad = self._batch_inputs(request)
        if bad:
            return bad
        with self.lock:
            for item in inputs:
                frm = item.get("from", {}).get("id")
                for to in item.get("to", []):
                    try:
                        self._unassociate(from_type, int(frm), to_type, int(to.get("id")))
                    except (TypeError, ValueError):
                        continue
        return Response(204)

    # --- OAuth ------------------------------------------------------------------------------------------------------------
    def _new_tokens(self, expires_in: int = limits.ACCESS_TOKEN_SECONDS, refresh: str | None = None) -> dict[str, Any]:
        access = "CO" + secrets.token_urlsafe(24)
        refresh = refresh or "na1-" + str(uuid.uuid4())
        self.access_tokens[access] = {"expires_ms": self.now_ms() + expires_in * 1000, "refresh": refresh}
        self.refresh_tokens.setdefault(refresh, {"client_id": self.client_id, "created_ms": self.now_ms()})
        return {
            "token_type": "bearer",
            "refresh_token": refresh,
            "access_token": access,
            "expires_in": expires_in,
            "token_use": "access_token",
            "hub_id": self.portal_id,
            "user_id": INSTALLER_USER_ID,
            "scopes": list(OAUTH_SCOPES),
        }

    def oauth_authorize(self, request: Request) -> Response:
        client_id = request.arg("client_id", "")
        redirect_uri = request.arg("redirect_uri", "")
        if client_id != self.client_id or not redirect_uri:
            return Response(
                400,
                "<h1>Authorization failed</h1><p>Unknown app (client_id) or missing redirect_uri.</p>",
                content_type="text/html; charset=utf-8",
            )
        fields = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v[0])}">' for k, v in request.query.items()
        )
        page = (
            f"<!doctype html><title>Connect to HubSpot</title><h1>Connect SyncSmart to HubSpot</h1>"
            f"<p>Account: Demo portal {self.portal_id}</p><p>Requested scopes: {html.escape(request.arg('scope', ''))}</p>"
            f'<form method="post" action="/oauth/authorize">{fields}'
            f'<button type="submit" name="decision" value="approve">Connect app</button></form>'
        )
        return Response(200, page, content_type="text/html; charset=utf-8")

    def oauth_approve(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        if form.get("client_id") != self.client_id or not form.get("redirect_uri"):
            return Response(400, "<h1>Authorization failed</h1>", content_type="text/html; charset=utf-8")
        code = str(uuid.uuid4())
        with self.lock:
            self.auth_codes[code] = {"redirect_uri": form["redirect_uri"], "expires_ms": self.now_ms() + 300_000}
        query = {"code": code} | ({"state": form["state"]} if form.get("state") else {})
        separator = "&" if "?" in form["redirect_uri"] else "?"
        return Response(302, b"", headers={"Location": form["redirect_uri"] + separator + urlencode(query)})

    def authorize_code(self, redirect_uri: str) -> str:
        """An authorization code as if the user had clicked "Connect app" (for tests)."""
        code = str(uuid.uuid4())
        with self.lock:
            self.auth_codes[code] = {"redirect_uri": redirect_uri, "expires_ms": self.now_ms() + 300_000}
        return code

    def oauth_token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        grant = form.get("grant_type")
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return self._oauth_error(
                "BAD_CLIENT_ID" if form.get("client_id") != self.client_id else "BAD_CLIENT_SECRET",
                "missing or unknown client id" if form.get("client_id") != self.client_id else "missing or invalid client secret",
                "invalid_client",
            )
        with self.lock:
            if grant == "authorization_code":
                info = self.auth_codes.pop(form.get("code", ""), None)
                if info is None or info["expires_ms"] < self.now_ms():
                    return self._oauth_error("BAD_AUTH_CODE", "missing or unknown auth code", "invalid_grant")
                if info["redirect_uri"] != form.get("redirect_uri"):
                    return self._oauth_error(
                        "BAD_REDIRECT_URI", "redirect_uri does not match the authorize request", "invalid_grant"
                    )
                return json_response(self._new_tokens())
            if grant == "refresh_token":
                refresh = form.get("refresh_token", "")
                if refresh not in self.refresh_tokens:
                    return self._oauth_error("BAD_REFRESH_TOKEN", "missing or unknown refresh token", "invalid_grant")
                return json_response(self._new_tokens(refresh=refresh))
        return self._oauth_error(
            "BAD_GRANT_TYPE", "grant_type must be authorization_code or refresh_token", "unsupported_grant_type"
        )

    def revoke_refresh_token(self, refresh: str) -> None:
        """As if the user uninstalled the app: the refresh token stops working."""
        with self.lock:
            self.refresh_tokens.pop(refresh, None)
            for token, info in list(self.access_tokens.items()):
                if info["refresh"] == refresh:
                    del self.access_tokens[token]

    def _oauth_error(self, status: str, message: str, error: str) -> Response:
        return json_response(
            {
                "status": status,
                "message": message,
                "correlationId": str(uuid.uuid4()),
                "category": "VALIDATION_ERROR" if error != "invalid_client" else "INVALID_AUTHENTICATION",
                "error": error,
                "error_description": message,
            },
            400,
        )

    def access_token_info(self, request: Request) -> Response:
        token = request.params["token"]
        with self.lock:
            info = self.access_tokens.get(token)
        if info is None or info["expires_ms"] <= self.now_ms():
            return self.error(404, "Token not found or expired", category="OBJECT_NOT_FOUND")
        return json_response(
            {
                "token": token,
                "user": "installer@example.com",
                "hub_domain": f"demo-{self.portal_id}.hubspot.com",
                "scopes": list(OAUTH_SCOPES),
                "hub_id": self.portal_id,
                "app_id": 1234567,
                "expires_in": max(0, (info["expires_ms"] - self.now_ms()) // 1000),
                "user_id": INSTALLER_USER_ID,
                "is_private_distribution": False,
                "token_type": "access",
            }
        )

    def refresh_token_info(self, request: Request) -> Response:
        with self.lock:
            info = self.refresh_tokens.get(request.params["token"])
        if info is None:
            return self.error(404, "Refresh token not found", category="OBJECT_NOT_FOUND")
        return json_response(
            {
                "token": request.params["token"],
                "user": "installer@example.com",
                "hub_id": self.portal_id,
                "client_id": self.client_id,
                "hub_domain": f"demo-{self.portal_id}.hubspot.com",
                "scopes": list(OAUTH_SCOPES),
                "user_id": INSTALLER_USER_ID,
                "token_type": "refresh",
            }
        )


def signature_v3(client_secret: str, method: str, uri: str, body: bytes | str, timestamp: str) -> str:
    """HubSpot's v3 request signature: base64(HMAC-SHA256(secret, method + uri + body + timestamp))."""
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    message = f"{method}{uri}{body}{timestamp}".encode()
    return base64.b64encode(hmac.new(client_secret.encode("utf-8"), message, hashlib.sha256).digest()).decode()


def _subscription_id(subscription_type: str) -> int:
    return 100000 + int(hashlib.sha1(subscription_type.encode()).hexdigest()[:5], 16)


def _str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _csv(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for value in values or []:
        out += [v for v in value.split(",") if v]
    return out


OPERATORS = {
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN",
    "NOT_CONTAINS_TOKEN",
}


def _check_filter_shape(groups: list[dict[str, Any]], defs: dict[str, Any]) -> str | None:
    if len(groups) > limits.SEARCH_MAX_FILTER_GROUPS:
        return f"Too many filter groups: at most {limits.SEARCH_MAX_FILTER_GROUPS} are allowed."
    total = 0
    for group in groups:
        filters = group.get("filters") or []
        total += len(filters)
        if len(filters) > limits.SEARCH_MAX_FILTERS_PER_GROUP:
            return f"Too many filters in a group: at most {limits.SEARCH_MAX_FILTERS_PER_GROUP} are allowed."
        for f in filters:
            if f.get("operator") not in OPERATORS:
                return f"Unknown operator {f.get('operator')!r}"
            if f.get("propertyName") not in defs:
                return f"Unable to find property {f.get('propertyName')!r}"
            if f["operator"] in ("IN", "NOT_IN") and not isinstance(f.get("values"), list):
                return f"{f['operator']} requires 'values'"
            if f["operator"] in ("IN", "NOT_IN") and len(f["values"]) > limits.SEARCH_MAX_IN_VALUES:
                return f"{f['operator']} accepts at most {limits.SEARCH_MAX_IN_VALUES} values"
            problem = _check_filter_values(f, defs[f["propertyName"]])
            if problem:
                return problem
    if total > limits.SEARCH_MAX_FILTERS:
        return f"Too many filters: at most {limits.SEARCH_MAX_FILTERS} are allowed."
    return None


def _check_filter_values(f: dict[str, Any], prop: dict[str, Any]) -> str | None:
    """A number or date filter whose value is not one is refused (HubSpot answers 400), so no
    comparison ever meets text where it expects a number."""
    numeric = prop["type"] == "number" or prop["name"] == "hs_object_id"
    dated = prop["type"] in ("date", "datetime")
    if not (numeric or dated) or f["operator"] in ("HAS_PROPERTY", "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        return None
    if f["operator"] in ("IN", "NOT_IN"):
        values = f.get("values") or []
    else:
        values = [f.get("value")] + ([f.get("highValue")] if f["operator"] == "BETWEEN" else [])
    for value in values:
        if isinstance(value, (dict, list, bool)) or value in (None, ""):
            return f"Filter on {prop['name']!r} needs a value"
        if numeric:
            try:
                float(value)
            except (TypeError, ValueError):
                return f"{value!r} is not a valid number for property {prop['name']!r}"
        elif to_ms(value) is None:
            return f"{value!r} is not a valid date for property {prop['name']!r}"
    return None


# Property types and the field types each may use (HubSpot's "Properties" guide: "Property type
# and fieldType values"); any other pair is refused with a 400.
PROPERTY_FIELD_TYPES = {
    "bool": {"booleancheckbox", "calculation_equation"},
    "enumeration": {"booleancheckbox", "checkbox", "radio", "select", "calculation_equation"},
    "date": {"date"},
    "datetime": {"date"},
    "string": {"text", "textarea", "file", "html", "phonenumber"},
    "number": {"number", "calculation_equation"},
    "phone_number": {"phonenumber"},
}


def _property_type_problem(type_: str, field_type: str, options: Any) -> str | None:
    if type_ not in PROPERTY_FIELD_TYPES:
        return f"Invalid property type {type_!r}: use one of {', '.join(sorted(PROPERTY_FIELD_TYPES))}"
    if field_type not in PROPERTY_FIELD_TYPES[type_]:
        return f"fieldType {field_type!r} is not valid for a property of type {type_!r}"
    if options is not None and not _label_value_list(options):
        return "options must be a list of {label, value} with string labels and values"
    return None


def _label_value_list(options: Any) -> bool:
    return isinstance(options, list) and all(
        isinstance(o, dict) and isinstance(o.get("label"), str) and isinstance(o.get("value"), str) for o in options
    )


def _search_page_problem(limit: int, after: int) -> str | None:
    if limit < 0 or after < 0:
        return "limit and after must not be negative"
    if limit > limits.SEARCH_PAGE_LIMIT:
        return f"limit must be no greater than {limits.SEARCH_PAGE_LIMIT}"
    if after + limit > limits.SEARCH_RESULT_CAP:
        return (
            f"There was a problem with the request. The maximum number of results is "
            f"{limits.SEARCH_RESULT_CAP}; after + limit must not exceed it."
        )
    return None


def _filter_groups(body: dict[str, Any]) -> list[dict[str, Any]]:
    """A search's filterGroups, each with a list of filters (BadInput when they are not objects)."""
    groups = _list_of_objects(body.get("filterGroups"), "filterGroups")
    for group in groups:
        group["filters"] = _list_of_objects(group.get("filters"), "filters")
    return groups


def _search_sorts(body: dict[str, Any]) -> list[Any]:
    sorts = body.get("sorts") or []
    if not isinstance(sorts, list) or not all(isinstance(x, (str, dict)) for x in sorts):
        raise BadInput("Invalid input JSON: sorts must be a list")
    return sorts


def _wanted_properties(body: dict[str, Any]) -> list[str] | None:
    wanted = body.get("properties") or None
    if wanted is not None and (not isinstance(wanted, list) or not all(isinstance(w, str) for w in wanted)):
        raise BadInput("Invalid input JSON: properties must be a list of property names")
    return wanted


def _bool_arg(request: Request, name: str) -> bool:
    text = (request.arg(name) or "false").lower()
    if text not in ("true", "false"):
        raise BadInput(f"{name} must be true or false, not {text!r}")
    return text == "true"


def _whole(value: Any, default: int, name: str) -> int:
    """A whole number from a JSON body (search's limit / after arrive as numbers or strings)."""
    if value in (None, ""):
        return default
    if isinstance(value, (bool, dict, list)):
        raise BadInput(f"Invalid input JSON: {name} must be a whole number")
    try:
        return int(str(value))
    except ValueError:
        raise BadInput(f"Invalid input JSON: {name} must be a whole number, not {value!r}") from None


def _properties_of(item: dict[str, Any]) -> dict[str, Any]:
    properties = item.get("properties")
    if properties is None:
        return {}
    if not isinstance(properties, dict):
        raise BadInput("Invalid input JSON: properties must be an object of property name to value")
    return properties


def _list_of_objects(value: Any, name: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise BadInput(f"Invalid input JSON: {name} must be a list of objects")
    return value


def _typed(value: Any, prop: dict[str, Any]) -> Any:
    if value is None or value == "":
        return None
    if prop["type"] in ("datetime", "date"):
        return to_ms(value)
    if prop["type"] == "number" or prop["name"] == "hs_object_id":
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    return str(value).lower()


def _modified_bounds(filters: list[dict[str, Any]], modified: str) -> tuple[float, float] | None:
    """(low, high) epoch ms that a group's filters allow for the modified time, or None if unbounded."""
    low, high = float("-inf"), float("inf")
    for f in filters:
        if f.get("propertyName") != modified:
            continue
        op, value = f.get("operator"), to_ms(f.get("value"))
        if value is None and op != "BETWEEN":
            continue
        if op in ("GTE", "GT", "EQ"):
            low = max(low, value)
        if op in ("LTE", "LT", "EQ"):
            high = min(high, value)
        if op == "BETWEEN":
            low, high = max(low, to_ms(f.get("value")) or low), min(high, to_ms(f.get("highValue")) or high)
    return None if low == float("-inf") and high == float("inf") else (low, high)


def _id_floor(filters: list[dict[str, Any]]) -> float:
    """The smallest record id a group's hs_object_id filters allow (keyset paging by id)."""
    floor = float("-inf")
    for f in filters:
        if f.get("propertyName") == "hs_object_id" and f.get("operator") in ("GT", "GTE") and str(f.get("value", "")).isdigit():
            floor = max(floor, int(f["value"]) + (1 if f["operator"] == "GT" else 0))
    return floor


def _compile_filter(f: dict[str, Any], defs: dict[str, Any], modified: str):
    """A predicate (properties, modified ms, record id) -> bool, with the filter's values typed once."""
    name, op = f["propertyName"], f["operator"]
    defs[name]  # an unknown property raises here, before any record is read
    fast = name == modified or name == "hs_object_id"
    if not fast or op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        return lambda props, updated, record_id: _filter_matches(f, props, defs)
    typed = (lambda v: to_ms(v)) if name == modified else (lambda v: float(v) if v not in (None, "") else None)
    value = typed(f.get("value")) if op not in ("IN", "NOT_IN") else None
    values = {typed(v) for v in f.get("values") or []}
    high = typed(f.get("highValue")) if op == "BETWEEN" else None
    pick = (lambda updated, record_id: updated) if name == modified else (lambda updated, record_id: float(record_id))
    checks = {
        "EQ": lambda a: a == value,
        "NEQ": lambda a: a != value,
        "LT": lambda a: a < value,
        "LTE": lambda a: a <= value,
        "GT": lambda a: a > value,
        "GTE": lambda a: a >= value,
        "BETWEEN": lambda a: value <= a <= high,
        "IN": lambda a: a in values,
        "NOT_IN": lambda a: a not in values,
        "HAS_PROPERTY": lambda a: True,
        "NOT_HAS_PROPERTY": lambda a: False,
    }
    check = checks[op]
    if value is None and op in ("EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN"):
        return lambda props, updated, record_id: op == "NEQ"
    return lambda props, updated, record_id: check(pick(updated, record_id))


def _filter_matches(f: dict[str, Any], props: dict[str, Any], defs: dict[str, Any]) -> bool:
    prop = defs[f["propertyName"]]
    op = f["operator"]
    actual = _typed(props.get(f["propertyName"]), prop)
    if op == "HAS_PROPERTY":
        return actual is not None
    if op == "NOT_HAS_PROPERTY":
        return actual is None
    if op in ("IN", "NOT_IN"):
        wanted = {_typed(v, prop) for v in f.get("values") or []}
        return (actual in wanted) if op == "IN" else (actual not in wanted)
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        token = str(f.get("value") or "").lower()
        text = str(props.get(f["propertyName"]) or "").lower()
        if token.startswith("*") or token.endswith("*"):
            found = token.strip("*") in text
        else:
            found = token in text.replace("@", " ").replace(".", " ").replace("-", " ").split() or token == text
        return found if op == "CONTAINS_TOKEN" else not found
    value = _typed(f.get("value"), prop)
    if op == "NEQ":
        return actual != value
    if op == "EQ":
        return actual == value
    if actual is None:
        return False
    try:
        if op == "BETWEEN":
            return value <= actual <= _typed(f.get("highValue"), prop)
        return {"LT": actual < value, "LTE": actual <= value, "GT": actual > value, "GTE": actual >= value}[op]
    except TypeError:
        return False


def _query_matches(object_type: str, props: dict[str, Any], query: str) -> bool:
    fields = {
        "contacts": ("firstname", "lastname", "email", "phone", "company"),
        "companies": ("name", "domain", "phone", "website"),
        "deals": ("dealname",),
    }[object_type]
    return any(query in str(props.get(f) or "").lower() for f in fields)


def _sort_key(sorts: list[Any], defs: dict[str, Any]):
    """HubSpot sorts by one property (ties by id); the default order is by id."""
    if not sorts:
        return lambda r: r.id
    spec = sorts[0]
    if isinstance(spec, str):
        name, descending = spec.lstrip("-"), spec.startswith("-")
    else:
        name, descending = spec.get("propertyName"), spec.get("direction", "ASCENDING").upper().startswith("DESC")
    prop = defs.get(name) or {"type": "string", "name": name}
    sign = -1 if descending else 1

    if name in ("hs_lastmodifieddate", "lastmodifieddate") and name in defs:
        return lambda record: (0, sign * (record.indexed or (None, record.updated_ms))[1], record.id)
    if name == "hs_object_id":
        return lambda record: (0, sign * record.id, record.id)

    def key(record: StoredRecord):
        value = _typed((record.indexed or (record.properties, 0))[0].get(name), prop)
        if value is None:
            return (1, 0, record.id)
        if isinstance(value, str):
            return (0, value if sign > 0 else "".join(chr(0x10FFFF - ord(c)) for c in value), record.id)
        return (0, sign * value, record.id)

    return key
