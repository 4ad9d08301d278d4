"""An emulator of a Salesforce org's REST API (v59.0 and every version path a client names) and
its OAuth 2.0 endpoints, after Salesforce's REST API Developer Guide and OAuth documentation.

One emulator is one org, production or sandbox (`sandbox=True`): its base URL is both the login
host (`/services/oauth2/...`, standing in for https://login.salesforce.com or
https://test.salesforce.com) and the org's instance URL (`/services/data/...`), which the token
response names as `instance_url`.

What it does:
- OAuth 2.0 web-server flow: GET /services/oauth2/authorize (a consent page; "Allow" redirects
  with `code` and `state`; the user is the org's integration user, no log-in form), POST
  /services/oauth2/token with grant_type authorization_code (redirect_uri must match the
  authorize request; PKCE code_verifier checked when a code_challenge was sent), refresh_token,
  and urn:ietf:params:oauth:grant-type:jwt-bearer (an RS256 assertion verified with PyJWT against
  the connected app's registered public key: iss = consumer key, sub = username, aud = the login
  or test host, exp required). Answers carry access_token, instance_url, id, token_type, issued_at,
  signature (base64 HMAC-SHA256 of id + issued_at under the consumer secret, as documented) and
  refresh_token for the code grant; no expires_in (Salesforce sends none: a session lasts
  `session_seconds` and a stale one is answered 401 INVALID_SESSION_ID). Errors as Salesforce
  writes them: invalid_client_id, invalid_client, invalid_grant ("authentication failure",
  "expired access/refresh token", "audience is invalid"...), redirect_uri_mismatch,
  unsupported_grant_type. POST /services/oauth2/revoke; GET /services/oauth2/userinfo; the
  identity URL /id/{orgId}/{userId}.
- REST: GET /services/data/ (versions), /services/data/vXX.X/ (resources), /limits
  (DailyApiRequests Max/Remaining...), /sobjects (describeGlobal), /sobjects/{T} (basic info),
  /sobjects/{T}/describe (fields with type, label, length, createable, updateable, nillable,
  defaultedOnCreate, picklistValues with label and value, restrictedPicklist, referenceTo,
  relationshipName), POST /sobjects/{T} (201 {id, success, errors}), GET / PATCH (204) / DELETE
  (204) /sobjects/{T}/{id} (15- or 18-character ids), /sobjects/{T}/updated and /deleted
  (getUpdated / getDeleted: start/end, seconds ignored, at most 30 days back, latestDateCovered).
- SOQL: GET /query and /queryAll with `q` (see soql.py for the subset), result batches of 2,000
  (`Sforce-Query-Options: batchSize=200..2000`) with `nextRecordsUrl` locators; the result set is
  fixed when the query runs, as Salesforce's cursor is; queryAll includes deleted records
  (IsDeleted = true); COUNT().
- sObject Collections: POST (create) / PATCH (update) /composite/sobjects with `allOrNone` and at
  most 200 records (each with attributes.type), results in input order with per-record errors
  `{statusCode, message, fields}` (ALL_OR_NONE_OPERATION_ROLLED_BACK for the innocent ones when
  allOrNone rolls back); DELETE /composite/sobjects?ids=; GET /composite/sobjects/{T}?ids=&fields=
  (null for missing ids).
- Records: Lead, Contact, Account, Opportunity (StageName sets Probability, IsClosed, IsWon),
  User (read only here), Task, Event, OpportunityContactRole (schema.py) with required fields
  (REQUIRED_FIELD_MISSING), restricted picklists (INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST),
  e-mail format (INVALID_EMAIL_ADDRESS), lengths (STRING_TOO_LONG), references that must exist
  and be of a target type (MALFORMED_ID, INVALID_CROSS_REFERENCE_KEY, ENTITY_IS_DELETED), read-only
  fields (INVALID_FIELD_FOR_INSERT_UPDATE), unknown fields (INVALID_FIELD), wrong JSON types
  (JSON_PARSER_ERROR); duplicate rules on e-mail (`duplicate_rules`, DUPLICATES_DETECTED with a
  duplicateResult naming the match), validation rules (`add_validation_rule`,
  FIELD_CUSTOM_VALIDATION_EXCEPTION); lead conversion (`convert_lead`: Account, Contact and
  optionally Opportunity made, the lead's IsConverted / Converted*Id / ConvertedDate set, a
  converted lead refuses updates with CANNOT_UPDATE_CONVERTED_LEAD; also into an existing Contact,
  with the standard lead -> contact field mapping; Salesforce's REST API has no conversion
  resource, so `POST /_emulator/convert-lead` stands for a user converting); Task (TaskSubtype set
  on insert only, IsClosed from Status) and Event (start with end or duration, the other derived,
  at most 14 days), a Lead in WhoId with a WhatId refused (FIELD_INTEGRITY_EXCEPTION), the
  activity's read-only AccountId derived from WhatId (an Account, or an Opportunity's AccountId)
  or else from a Contact WhoId (derived when the activity is written: a later change of the
  opportunity's or contact's account is not carried over to its activities, as Salesforce does).
  SystemModstamp has whole seconds, as Salesforce's does.
- Tooling API: `POST /tooling/sobjects/CustomField` creates a Text custom field (`Name__c`) on a
  standard object; it is then in describe, SOQL and writes (no field-level security: see below).
- Limits: every /services/data answer carries `Sforce-Limit-Info: api-usage=N/M`; past the daily
  allowance (`daily_limit`) calls fail 403 REQUEST_LIMIT_EXCEEDED; errors as
  `[{"message", "errorCode", "fields"?}]` (INVALID_SESSION_ID 401, NOT_FOUND 404...).
- Change Data Capture over the Streaming API: CometD long-polling at /cometd/{version} (see
  emulator_streaming.py for the path chosen and what it covers); every committed write of Account,
  Contact, Lead, Opportunity, Task and Event publishes its change event.
- In-process helpers acting as a user in Salesforce: create_record, edit_record, delete_record,
  convert_lead, record, count, add_user, expire_sessions, revoke_refresh_tokens, seed_demo_data.

What it does not emulate: the Pub/Sub API (gRPC); Tooling API reads, custom field types other
than Text, and the field-level security a new custom field starts without (a real org shows it
to no profile until a permission set grants it); the SOAP API and username-password log-in; profiles, permission sets, sharing
and field-level security (every session sees and may change everything); User writes; relationship
queries, sub-queries and aggregates other than COUNT() (a 400 INVALID_FIELD / MALFORMED_QUERY); the
/composite, /composite/batch, /composite/tree and Bulk API resources (a 404 NOT_FOUND; sObject Collections
under /composite/sobjects are emulated);
triggers, workflow and flows beyond the derived fields named above; query locators expire only
when more than 10 are open per session (Salesforce also drops them after 15 minutes idle);
the rolling 24-hour usage window is a counter reset by `reset_api_usage()`; the concurrent
long-running request limit; polymorphic WhoId/WhatId accept the targets in schema.py only.
"""

from __future__ import annotations

import base64
import bisect
import collections
import datetime as dt
import hashlib
import hmac
import html
import itertools
import json
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlencode

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connectors.emulation import Emulator, Request, Response, json_response, public
from connectors.salesforce import limits, soql
from connectors.salesforce.emulator_streaming import ChangeDataCapture
from connectors.salesforce.schema import (
    API_VERSION,
    CDC_OBJECTS,
    FIELDS,
    KEY_PREFIX,
    LABELS,
    OBJECT_OF_PREFIX,
    OBJECTS,
    ORG_PREFIX,
    STAGE_FACTS,
    SField,
)

UTC = dt.UTC
V = r"/services/data/v(?P<version>\d+\.\d)"
DEFAULT_CONSUMER_KEY = "3MVG9emulatorConsumerKeyForSyncSmartDemo"
DEFAULT_CONSUMER_SECRET = "emulator-consumer-secret"
DEFAULT_USERNAME = "integration@syncsmart-demo.example.com"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MAX_OPEN_LOCATORS = 10
_ID_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


# --- ids --------------------------------------------------------------------------------------------------
# Salesforce's standard lead field mapping on conversion (lead field, contact field).
LEAD_TO_CONTACT = (
    ("FirstName", "FirstName"),
    ("LastName", "LastName"),
    ("Email", "Email"),
    ("Phone", "Phone"),
    ("MobilePhone", "MobilePhone"),
    ("Title", "Title"),
    ("LeadSource", "LeadSource"),
    ("Description", "Description"),
    ("Street", "MailingStreet"),
    ("City", "MailingCity"),
    ("State", "MailingState"),
    ("PostalCode", "MailingPostalCode"),
    ("Country", "MailingCountry"),
)


def id18(id15: str) -> str:
    """The 18-character, case-insensitive-safe form of a 15-character id (Salesforce's suffix:
    for each 5-character chunk, a bit per upper-case letter, read as an index into A-Z0-5)."""
    suffix = ""
    for chunk in range(3):
        bits = 0
        for i, ch in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        suffix += _SUFFIX_CHARS[bits]
    return id15 + suffix


def normalize_id(value: Any) -> str | None:
    """An 18-character id from a 15- or 18-character one; None when it is not an id at all."""
    text = str(value or "")
    if len(text) not in (15, 18) or any(ch not in _ID_CHARS for ch in text):
        return None
    full = id18(text[:15])
    if len(text) == 18 and text[15:].upper() != full[15:]:
        return None
    return full


def _base62(n: int, width: int) -> str:
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = _ID_CHARS[r] + out
    return out.rjust(width, "0")


def sf_datetime(value: dt.datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def parse_sf_datetime(text: str) -> dt.datetime:
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    elif len(value) > 5 and value[-5] in "+-" and value[-3] != ":":
        value = value[:-2] + ":" + value[-2:]
    parsed = dt.datetime.fromisoformat(value)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


class ApiError(Exception):
    """A refusal of the whole call: `[{"message", "errorCode", "fields"}]` with `status`."""

    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None, **extra: Any):
        super().__init__(message)
        self.status, self.code, self.message, self.fields, self.extra = status, code, message, fields, extra

    def body(self) -> list[dict[str, Any]]:
        item: dict[str, Any] = {"message": self.message, "errorCode": self.code}
        if self.fields is not None:
            item["fields"] = self.fields
        return [item | self.extra]


class RecordError(Exception):
    """One record's refusal inside a write: `{statusCode, message, fields}`."""

    def __init__(self, code: str, message: str, fields: list[str] | None = None, **extra: Any):
        super().__init__(message)
        self.code, self.message, self.fields, self.extra = code, message, fields or [], extra

    def item(self) -> dict[str, Any]:
        return {"statusCode": self.code, "message": self.message, "fields": self.fields} | self.extra


@dataclass
class App:
    consumer_key: str
    consumer_secret: str
    callback_urls: tuple[str, ...] = ()  # empty: any callback is accepted
    public_key_pem: bytes | None = None  # for the JWT bearer flow


@dataclass
class Session:
    user_id: str
    client_id: str
    last_used: float
    refresh: str | None = None


@dataclass
class Locator:
    query: soql.Query
    ids: list[str]
    batch: int
    token: str


@dataclass
class ValidationRule:
    sobject: str
    name: str
    violated: Callable[[dict[str, Any]], bool]
    message: str
    field: str | None = None


@dataclass
class Tombstone:
    id: str
    deleted: dt.datetime


@dataclass
class _Clock:
    offset: float = 0.0
    last: dt.datetime | None = field(default=None)


class SalesforceEmulator(Emulator):
    system = "salesforce"

    def __init__(
        self,
        *,
        consumer_key: str = DEFAULT_CONSUMER_KEY,
        consumer_secret: str = DEFAULT_CONSUMER_SECRET,
        username: str = DEFAULT_USERNAME,
        sandbox: bool = False,
        org_name: str = "SyncSmart Demo",
        daily_limit: int = limits.DAILY_REQUESTS_ENTERPRISE,
        session_seconds: int = 7200,
        seed_size: int = 0,
        duplicate_rules: tuple[str, ...] = (),
        streaming_timeout_s: float = 110.0,
        **knobs: Any,
    ):
        self.apps = {consumer_key: App(consumer_key, consumer_secret)}
        self.consumer_key, self.consumer_secret = consumer_key, consumer_secret
        self.sandbox = sandbox
        self.org_name = org_name
        self.org_id = id18(ORG_PREFIX + "5g000000" + _base62(knobs.get("seed", 0) + (7 if sandbox else 1), 4))
        self.daily_limit = daily_limit
        self.api_usage = 0
        self.session_seconds = session_seconds
        self.duplicate_rules = set(duplicate_rules)
        self.validation_rules: list[ValidationRule] = []
        self.custom_fields: dict[str, dict[str, SField]] = {}  # created through the Tooling API
        self.sessions: dict[str, Session] = {}
        self.refresh_tokens: dict[str, tuple[str, str]] = {}  # refresh -> (user id, client id)
        self.codes: dict[str, dict[str, Any]] = {}
        self.rows: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in OBJECTS}
        self.tombstones: dict[str, list[Tombstone]] = {name: [] for name in OBJECTS}
        self.deleted_rows: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in OBJECTS}  # the recycle bin
        self.stamp_index: dict[str, list[tuple[dt.datetime, str]]] = {name: [] for name in OBJECTS}
        self._stamp_of: dict[str, dict[str, dt.datetime]] = {name: {} for name in OBJECTS}
        self.locators: dict[str, collections.OrderedDict[str, Locator]] = {}
        self.sequence = 0
        self.clock = _Clock()
        self.serving_tls = False
        self._demo_key: str | None = None
        super().__init__(**knobs)
        self.cdc = ChangeDataCapture(self.lock, poll_timeout_s=streaming_timeout_s)
        self.change_origin = f"com/salesforce/api/rest/{API_VERSION}"
        self.integration_user = self.add_user(username, "Integration", "User")
        if seed_size:
            self.seed_demo_data(seed_size)

    # --- the management command ---------------------------------------------------------------
    @classmethod
    def add_arguments(cls, parser) -> None:
        parser.add_argument("--consumer-key", default=DEFAULT_CONSUMER_KEY, help="the connected app's consumer key")
        parser.add_argument("--consumer-secret", default=DEFAULT_CONSUMER_SECRET, help="its consumer secret")
        parser.add_argument("--username", default=DEFAULT_USERNAME, help="the integration user the OAuth flows sign in")
        parser.add_argument("--sandbox", action="store_true", help="a sandbox org (JWT audience test.salesforce.com)")
        parser.add_argument("--daily-limit", type=int, default=limits.DAILY_REQUESTS_ENTERPRISE, help="API requests per day")

    @classmethod
    def from_options(cls, options: dict[str, Any], **knobs: Any) -> SalesforceEmulator:
        return cls(
            consumer_key=options.get("consumer_key") or DEFAULT_CONSUMER_KEY,
            consumer_secret=options.get("consumer_secret") or DEFAULT_CONSUMER_SECRET,
            username=options.get("username") or DEFAULT_USERNAME,
            sandbox=bool(options.get("sandbox")),
            daily_limit=options.get("daily_limit") or limits.DAILY_REQUESTS_ENTERPRISE,
            seed_size=options.get("seed_size", 0) or 0,
            **knobs,
        )

    # --- routes --------------------------------------------------------------------------------
    def setup_routes(self) -> None:
        r = self.route
        r("GET", r"/services/oauth2/authorize", self.oauth_authorize, name="oauth2/authorize")
        r("POST", r"/services/oauth2/authorize", self.oauth_approve, name="oauth2/approve", write=False)
        r("POST", r"/services/oauth2/token", self.oauth_token, name="oauth2/token", write=False)
        r("POST", r"/services/oauth2/revoke", self.oauth_revoke, name="oauth2/revoke", write=False)
        r("GET", r"/services/oauth2/userinfo", self.userinfo, name="oauth2/userinfo")
        r("GET", r"/id/(?P<org>\w+)/(?P<user>\w+)", self.identity, name="id")
        r("GET", r"/services/data/?", self.versions, name="versions")
        r("GET", V + r"/?", self.resources, name="resources")
        r("GET", V + r"/limits/?", self.limits_resource, name="limits")
        r("GET", V + r"/sobjects/?", self.describe_global, name="sobjects")
        r("GET", V + r"/sobjects/(?P<sobject>\w+)/describe/?", self.describe, name="describe")
        r("GET", V + r"/sobjects/(?P<sobject>\w+)/updated/?", self.get_updated, name="updated")
        r("GET", V + r"/sobjects/(?P<sobject>\w+)/deleted/?", self.get_deleted, name="deleted")
        r("GET", V + r"/sobjects/(?P<sobject>\w+)/?", self.basic_info, name="sobject")
        r("POST", V + r"/sobjects/(?P<sobject>\w+)/?", self.create_one, name="sobject")
        r("GET", V + r"/sobjects/(?P<sobject>\w+)/(?P<id>\w+)/?", self.get_one, name="record")
        r("PATCH", V + r"/sobjects/(?P<sobject>\w+)/(?P<id>\w+)/?", self.update_one, name="record")
        r("DELETE", V + r"/sobjects/(?P<sobject>\w+)/(?P<id>\w+)/?", self.delete_one, name="record")
        r("GET", V + r"/(?P<kind>query|queryAll)/?", self.query, name="query")
        r("GET", V + r"/(?P<kind>query|queryAll)/(?P<locator>[\w]+-\d+)/?", self.query_more, name="query")
        r("POST", V + r"/composite/sobjects/?", self.collection_create, name="composite/sobjects")
        r("PATCH", V + r"/composite/sobjects/?", self.collection_update, name="composite/sobjects")
        r("DELETE", V + r"/composite/sobjects/?", self.collection_delete, name="composite/sobjects")
        r("GET", V + r"/composite/sobjects/(?P<sobject>\w+)/?", self.collection_get, name="composite/sobjects")
        r("POST", V + r"/composite/sobjects/(?P<sobject>\w+)/?", self.collection_get, name="composite/sobjects", write=False)
        r("POST", r"/cometd/(?P<version>\d+\.\d)/?", self.cometd, name="cometd", write=False)
        r("POST", V + r"/tooling/sobjects/CustomField/?", self.create_custom_field, name="tooling CustomField create")

    def error(self, status: int, message: str, code: str = "", **extra: Any) -> Response:
        if not code:
            code = {
                404: "NOT_FOUND",
                405: "METHOD_NOT_ALLOWED",
                429: "REQUEST_LIMIT_EXCEEDED",
                401: "INVALID_SESSION_ID",
            }.get(status, "UNKNOWN_EXCEPTION" if status >= 500 else "BAD_REQUEST")
            if status == 404 and message.startswith("Unknown path"):
                message = "The requested resource does not exist"
        return json_response([{"message": message, "errorCode": code}], status)

    def _api_error(self, exc: ApiError) -> Response:
        return json_response(exc.body(), exc.status)

    def handle(self, request: Request) -> Response:
        try:
            return super().handle(request)
        except ApiError as exc:
            response = self._api_error(exc)
            self.decorate(request, response)
            return response
        except soql.SoqlError as exc:
            response = self._api_error(ApiError(400, exc.code, exc.message))
            self.decorate(request, response)
            return response

    # --- time ---------------------------------------------------------------------------------
    def now(self) -> dt.datetime:
        """Now, in whole seconds (Salesforce's datetimes carry no milliseconds)."""
        moment = dt.datetime.now(UTC) + dt.timedelta(seconds=self.clock.offset)
        return moment.replace(microsecond=0)

    def advance(self, seconds: float) -> None:
        """Move the org's clock forward (tests of overlap windows, getUpdated ranges)."""
        self.clock.offset += seconds

    # --- auth -------------------------------------------------------------------------------------
    def _bearer(self, request: Request) -> str:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        return token.strip() if scheme.lower() in ("bearer", "oauth") else ""

    def _session(self, request: Request) -> Session | None:
        session = self.sessions.get(self._bearer(request))
        if session is None or session.last_used + self.session_seconds < time.time():
            return None
        session.last_used = time.time()  # Salesforce sessions time out after inactivity
        return session

    def authenticate(self, request: Request) -> Response | None:
        if self._session(request) is not None:
            return None
        return Response(
            401,
            [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
            {"WWW-Authenticate": 'Token realm="Salesforce"'},
        )

    def rate_limit(self, request: Request, route) -> Response | None:
        if not request.path.startswith("/services/data/v"):
            return None
        with self.lock:
            if self.api_usage >= self.daily_limit:
                return json_response([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}], 403)
        return None

    def decorate(self, request: Request, response: Response) -> None:
        response.headers.setdefault("Date", _http_date(self.now()))
        if request.path.startswith("/services/data/v"):
            with self.lock:
                if response.status != 401:
                    self.api_usage += 1
                used = self.api_usage
            response.headers[limits.LIMIT_HEADER] = f"api-usage={used}/{self.daily_limit}"

    def reset_api_usage(self) -> None:
        with self.lock:
            self.api_usage = 0

    def expire_sessions(self) -> None:
        """Every access token stops working now (as if the sessions timed out)."""
        with self.lock:
            self.sessions.clear()

    def revoke_refresh_tokens(self) -> None:
        """As if an admin revoked the connected app's access: refreshes fail with invalid_grant."""
        with self.lock:
            self.refresh_tokens.clear()
            self.sessions.clear()

    def register_jwt_certificate(self, public_key_pem: bytes, consumer_key: str | None = None) -> None:
        """The certificate uploaded to the connected app ("Use digital signatures")."""
        self.apps[consumer_key or self.consumer_key].public_key_pem = public_key_pem

    def set_callback_urls(self, *urls: str) -> None:
        self.apps[self.consumer_key].callback_urls = tuple(urls)

    def issue_session(self, user_id: str | None = None, client_id: str | None = None, refresh: bool = True) -> dict[str, Any]:
        """Tokens as the token endpoint gives them (for tests and the demo)."""
        return self._tokens(user_id or self.integration_user, client_id or self.consumer_key, "", refresh=refresh)

    def _tokens(self, user_id: str, client_id: str, base: str, refresh: bool, refresh_token: str | None = None) -> dict[str, Any]:
        access = f"{self.org_id[:15]}!AQ" + secrets.token_urlsafe(60)
        with self.lock:
            self.sessions[access] = Session(user_id, client_id, time.time(), refresh_token)
            if refresh and refresh_token is None:
                refresh_token = "5Aep" + secrets.token_urlsafe(64)
                self.refresh_tokens[refresh_token] = (user_id, client_id)
        identity = f"{base}/id/{self.org_id}/{user_id}"
        issued_at = str(int(time.time() * 1000))
        secret = self.apps[client_id].consumer_secret.encode()
        signature = base64.b64encode(hmac.new(secret, (identity + issued_at).encode(), hashlib.sha256).digest()).decode()
        body = {
            "access_token": access,
            "signature": signature,
            "scope": "api refresh_token",
            "instance_url": base,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
        }
        if refresh and refresh_token and refresh_token in self.refresh_tokens and not body.get("refresh_token"):
            body["refresh_token"] = refresh_token
        return body

    @public
    def oauth_authorize(self, request: Request) -> Response:
        client_id, redirect_uri = request.arg("client_id", ""), request.arg("redirect_uri", "")
        app = self.apps.get(client_id)
        if app is None:
            return _html(400, "<h1>error=invalid_client_id</h1><p>client identifier invalid</p>")
        if not redirect_uri or (app.callback_urls and redirect_uri not in app.callback_urls):
            return _html(400, "<h1>error=redirect_uri_mismatch</h1><p>redirect_uri must match configuration</p>")
        if request.arg("response_type") != "code":
            return self._redirect_error(
                redirect_uri, request.arg("state"), "unsupported_response_type", "response type not supported"
            )
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v[0])}">' for k, v in request.query.items()
        )
        user = self.rows["User"][self.integration_user]
        page = (
            "<!doctype html><title>Allow Access?</title><h1>Allow Access?</h1>"
            f"<p>SyncSmart is asking to access the org {html.escape(self.org_name)}"
            f"{' (sandbox)' if self.sandbox else ''} as {html.escape(user['Username'])}.</p>"
            f'<form method="post" action="/services/oauth2/authorize">{hidden}'
            '<button type="submit" name="decision" value="allow">Allow</button> '
            '<button type="submit" name="decision" value="deny">Deny</button></form>'
        )
        return _html(200, page)

    @public
    def oauth_approve(self, request: Request) -> Response:
        form = _form(request)
        app, redirect_uri, state = self.apps.get(form.get("client_id", "")), form.get("redirect_uri", ""), form.get("state")
        if app is None or not redirect_uri or (app.callback_urls and redirect_uri not in app.callback_urls):
            return _html(400, "<h1>error=invalid_client_id</h1>")
        if form.get("decision") != "allow":
            return self._redirect_error(redirect_uri, state, "access_denied", "end-user denied authorization")
        code = "aPrx" + secrets.token_urlsafe(40)
        with self.lock:
            self.codes[code] = {
                "client_id": app.consumer_key,
                "redirect_uri": redirect_uri,
                "expires": time.time() + 900,
                "challenge": form.get("code_challenge"),
                "user": self.integration_user,
            }
        query = {"code": code} | ({"state": state} if state else {})
        return Response(302, b"", headers={"Location": redirect_uri + ("&" if "?" in redirect_uri else "?") + urlencode(query)})

    def authorize_code(self, redirect_uri: str, client_id: str | None = None) -> str:
        """An authorization code as if the user had clicked Allow (for tests)."""
        code = "aPrx" + secrets.token_urlsafe(40)
        with self.lock:
            self.codes[code] = {
                "client_id": client_id or self.consumer_key,
                "redirect_uri": redirect_uri,
                "expires": time.time() + 900,
                "challenge": None,
                "user": self.integration_user,
            }
        return code

    def _redirect_error(self, redirect_uri: str, state: str | None, error: str, description: str) -> Response:
        query = {"error": error, "error_description": description} | ({"state": state} if state else {})
        return Response(302, b"", headers={"Location": redirect_uri + ("&" if "?" in redirect_uri else "?") + urlencode(query)})

    @public
    def oauth_token(self, request: Request) -> Response:
        form = _form(request)
        grant = form.get("grant_type", "")
        base = self._base(request)
        if grant == JWT_GRANT:
            return self._jwt_grant(form, base)
        app = self.apps.get(form.get("client_id", ""))
        if app is None:
            return _oauth_error("invalid_client_id", "client identifier invalid")
        if grant == "authorization_code":
            return self._code_grant(form, app, base)
        if grant == "refresh_token":
            if form.get("client_secret") is not None and form["client_secret"] != app.consumer_secret:
                return _oauth_error("invalid_client", "invalid client credentials")
            with self.lock:
                owner = self.refresh_tokens.get(form.get("refresh_token", ""))
            if owner is None or owner[1] != app.consumer_key:
                return _oauth_error("invalid_grant", "expired access/refresh token")
            body = self._tokens(owner[0], app.consumer_key, base, refresh=False, refresh_token=form["refresh_token"])
            body.pop("refresh_token", None)
            return json_response(body)
        return _oauth_error("unsupported_grant_type", "grant type not supported")

    def _code_grant(self, form: dict[str, str], app: App, base: str) -> Response:
        if form.get("client_secret") != app.consumer_secret:
            return _oauth_error("invalid_client", "invalid client credentials")
        with self.lock:
            info = self.codes.pop(form.get("code", ""), None)
        if info is None or info["expires"] < time.time() or info["client_id"] != app.consumer_key:
            return _oauth_error("invalid_grant", "invalid authorization code")
        if info["redirect_uri"] != form.get("redirect_uri"):
            return _oauth_error("redirect_uri_mismatch", "redirect_uri must match configuration")
        if info["challenge"]:
            digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != info["challenge"]:
                return _oauth_error("invalid_grant", "invalid code verifier")
        return json_response(self._tokens(info["user"], app.consumer_key, base, refresh=True))

    def _jwt_grant(self, form: dict[str, str], base: str) -> Response:
        assertion = form.get("assertion", "")
        try:
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            return _oauth_error("invalid_grant", "invalid assertion")
        app = self.apps.get(str(claims.get("iss", "")))
        if app is None:
            return _oauth_error("invalid_client_id", "client identifier invalid")
        if not app.public_key_pem:
            return _oauth_error("invalid_grant", "invalid assertion")
        audience = limits.TEST_URL if self.sandbox else limits.LOGIN_URL
        try:
            claims = jwt.decode(
                assertion,
                app.public_key_pem,
                algorithms=["RS256"],
                audience=audience,
                options={"require": ["exp", "iss", "sub", "aud"]},
                leeway=5,
            )
        except jwt.InvalidAudienceError:
            return _oauth_error("invalid_grant", "audience is invalid")
        except jwt.ExpiredSignatureError:
            return _oauth_error("invalid_grant", "expired authorization code")
        except jwt.PyJWTError:
            return _oauth_error("invalid_grant", "invalid assertion")
        if float(claims["exp"]) > time.time() + 300:
            return _oauth_error("invalid_grant", "invalid assertion")  # at most 3 minutes ahead (with clock skew)
        user = next((u for u in self.rows["User"].values() if u["Username"].lower() == str(claims["sub"]).lower()), None)
        if user is None or not user["IsActive"]:
            return _oauth_error("invalid_grant", "user hasn't approved this consumer")
        return json_response(self._tokens(user["Id"], app.consumer_key, base, refresh=False))

    @public
    def oauth_revoke(self, request: Request) -> Response:
        token = _form(request).get("token") or request.arg("token", "")
        with self.lock:
            if token in self.refresh_tokens:
                del self.refresh_tokens[token]
                self.sessions = {k: s for k, s in self.sessions.items() if s.refresh != token}
                return Response(200, b"")
            if self.sessions.pop(token, None) is not None:
                return Response(200, b"")
        return json_response({"error": "unsupported_token_type", "error_description": "this token type is not supported"}, 400)

    def _identity(self, request: Request, user_id: str) -> dict[str, Any]:
        user = self.rows["User"][user_id]
        base = self._base(request)
        return {
            "id": f"{base}/id/{self.org_id}/{user_id}",
            "user_id": user_id,
            "organization_id": self.org_id,
            "username": user["Username"],
            "email": user["Email"],
            "display_name": user["Name"],
            "active": user["IsActive"],
            "urls": {
                "rest": f"{base}/services/data/v{{version}}/",
                "sobjects": f"{base}/services/data/v{{version}}/sobjects/",
                "query": f"{base}/services/data/v{{version}}/query/",
            },
        }

    def userinfo(self, request: Request) -> Response:
        session = self._session(request)
        info = self._identity(request, session.user_id)
        return json_response(
            {
                "sub": info["id"],
                "user_id": info["user_id"],
                "organization_id": self.org_id,
                "preferred_username": info["username"],
                "email": info["email"],
                "name": info["display_name"],
                "active": info["active"],
            }
        )

    def identity(self, request: Request) -> Response:
        if request.params["org"] != self.org_id or request.params["user"] not in self.rows["User"]:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return json_response(self._identity(request, request.params["user"]))

    # --- org resources ---------------------------------------------------------------------------
    @public
    def versions(self, request: Request) -> Response:
        base = "/services/data"
        return json_response(
            [
                {"label": label, "url": f"{base}/v{version}", "version": version}
                for version, label in (("57.0", "Spring '23"), ("58.0", "Summer '23"), ("59.0", "Winter '24"))
            ]
        )

    def resources(self, request: Request) -> Response:
        root = f"/services/data/v{request.params['version']}"
        names = ("limits", "sobjects", "query", "queryAll", "composite")
        return json_response({name: f"{root}/{name}" for name in names})

    def limits_resource(self, request: Request) -> Response:
        with self.lock:
            used = self.api_usage
        return json_response(
            {
                "DailyApiRequests": {"Max": self.daily_limit, "Remaining": max(0, self.daily_limit - used)},
                "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
                "DataStorageMB": {"Max": 1024, "Remaining": 1000},
                "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
                "DailyStreamingApiEvents": {"Max": 1000000, "Remaining": 1000000},
            }
        )

    def describe_global(self, request: Request) -> Response:
        return json_response(
            {
                "encoding": "UTF-8",
                "maxBatchSize": limits.COLLECTION_WRITE_MAX,
                "sobjects": [self._sobject_info(name, request) for name in OBJECTS],
            }
        )

    def _sobject_info(self, name: str, request: Request) -> dict[str, Any]:
        label, plural = LABELS[name]
        root = f"/services/data/v{request.params['version']}/sobjects/{name}"
        writable = name != "User"
        return {
            "name": name,
            "label": label,
            "labelPlural": plural,
            "keyPrefix": KEY_PREFIX[name],
            "custom": False,
            "createable": writable,
            "updateable": writable,
            "deletable": writable,
            "queryable": True,
            "replicateable": True,
            "urls": {"sobject": root, "describe": f"{root}/describe", "rowTemplate": f"{root}/{{ID}}"},
        }

    def _fields(self, sobject: str) -> dict[str, SField]:
        """An sObject's standard fields and the custom fields created in this org (Tooling API)."""
        custom = self.custom_fields.get(sobject)
        return {**FIELDS[sobject], **custom} if custom else FIELDS[sobject]

    def _sobject(self, name: str) -> dict[str, SField]:
        fields = self._fields(name) if name in FIELDS else None
        if fields is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return fields

    def basic_info(self, request: Request) -> Response:
        name = request.params["sobject"]
        self._sobject(name)
        recent = [self._serialize(name, r, request) for r in list(self.rows[name].values())[-5:]]
        return json_response({"objectDescribe": self._sobject_info(name, request), "recentItems": recent})

    def describe(self, request: Request) -> Response:
        name = request.params["sobject"]
        fields = self._sobject(name)
        body = self._sobject_info(name, request) | {"fields": [self._field_json(f) for f in fields.values()]}
        return json_response(body)

    @staticmethod
    def _field_json(f: SField) -> dict[str, Any]:
        return {
            "name": f.name,
            "label": f.label,
            "type": f.type,
            "length": f.length if f.type not in ("reference", "id") else 18,
            "createable": f.create,
            "updateable": f.update,
            "nillable": f.nillable,
            "defaultedOnCreate": f.defaulted,
            "custom": f.name.endswith("__c"),
            "unique": False,
            "externalId": False,
            "calculated": f.name == "Name" and not f.create,
            "filterable": True,
            "sortable": f.type != "textarea",
            "picklistValues": [p.json() for p in f.picklist],
            "restrictedPicklist": f.restricted,
            "referenceTo": list(f.references),
            "relationshipName": f.relationship,
            "polymorphicForeignKey": len(f.references) > 1,
            "soapType": _soap_type(f.type),
        }

    # --- Tooling API: custom fields ------------------------------------------------------------------
    def create_custom_field(self, request: Request) -> Response:
        """`POST /tooling/sobjects/CustomField` with `FullName` ("Contact.Name__c") and `Metadata`
        (label, type, length): a Text field of a standard object, then in its describe and
        writable; DUPLICATE_VALUE for a name taken, FIELD_INTEGRITY_EXCEPTION for a bad name,
        type or length (the wording is ours)."""
        body = _json_object(request)
        full_name, metadata = body.get("FullName"), body.get("Metadata")
        if not isinstance(full_name, str) or not isinstance(metadata, dict):
            raise ApiError(400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [FullName, Metadata]", ["FullName"])
        sobject, _, name = full_name.partition(".")
        if sobject not in FIELDS or sobject in ("User", "OpportunityContactRole"):
            raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION", f"Cannot add a custom field to '{sobject}'", ["FullName"])
        if not CUSTOM_FIELD_NAME.fullmatch(name):
            raise ApiError(
                400,
                "FIELD_INTEGRITY_EXCEPTION",
                "Field Name: it must begin with a letter, use only letters, numbers and single underscores, "
                "not end with an underscore, and end in __c (at most 40 characters before it)",
                ["FullName"],
            )
        length = metadata.get("length")
        if metadata.get("type") != "Text" or not isinstance(length, int) or not 1 <= length <= 255:
            raise ApiError(
                400, "FIELD_INTEGRITY_EXCEPTION", "Only Text fields with a length of 1 to 255 are emulated", ["Metadata"]
            )
        label = str(metadata.get("label") or name[:-3])[:40]
        with self.lock:
            if name.lower() in {n.lower() for n in self._fields(sobject)}:
                raise ApiError(
                    400, "DUPLICATE_VALUE", "duplicate value found: <unknown> duplicates value on record with id: <unknown>", []
                )
            self.custom_fields.setdefault(sobject, {})[name] = SField(name, "string", label, length)
            self.sequence += 1
            field_id = id18("00N5g" + _base62(self.sequence, 10))
        return json_response({"id": field_id, "success": True, "errors": [], "warnings": [], "infos": []}, 201)

    # --- records: storage and validation ---------------------------------------------------------
    def _new_id(self, sobject: str) -> str:
        with self.lock:
            self.sequence += 1
            return id18(KEY_PREFIX[sobject] + "5g" + _base62(self.sequence, 10))

    def _lookup_id(self, sobject: str, raw: str) -> str:
        """The stored id for a path id, or the error Salesforce gives."""
        record_id = normalize_id(raw)
        if record_id is None or record_id[:3] != KEY_PREFIX[sobject]:
            raise ApiError(404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {raw}")
        if record_id not in self.rows[sobject]:
            if any(t.id == record_id for t in self.tombstones[sobject]):
                raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted", [])
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return record_id

    def _typed(self, sobject: str, f: SField, value: Any) -> Any:
        """A JSON value as the field stores it; wrong JSON types refuse the whole request."""
        if value is None:
            return None
        wrong = ApiError(
            400,
            "JSON_PARSER_ERROR",
            f"Cannot deserialize instance of {_soap_type(f.type).split(':')[-1]} from {type(value).__name__} value "
            f"{str(value)[:40]} or request may be missing a required field",
        )
        if f.type == "boolean":
            if not isinstance(value, bool):
                raise wrong
            return value
        if f.type in ("double", "currency", "percent", "int"):
            if isinstance(value, bool):
                raise wrong
            try:
                number = Decimal(str(value).strip())
            except ArithmeticError:
                raise wrong from None
            if not number.is_finite():
                raise wrong
            return int(number) if f.type == "int" else float(number)
        if f.type == "date":
            try:
                return dt.date.fromisoformat(str(value)[:10])
            except ValueError:
                raise wrong from None
        if f.type == "datetime":
            try:
                return parse_sf_datetime(str(value)).replace(microsecond=0)
            except ValueError:
                raise wrong from None
        if isinstance(value, (dict, list)):
            raise wrong
        return value if isinstance(value, str) else json.dumps(value)

    def _check(self, sobject: str, values: dict[str, Any], creating: bool, row: dict[str, Any] | None) -> dict[str, Any]:
        """Validate one record's input (already typed); return the values to store or raise RecordError."""
        fields = self._fields(sobject)
        if not creating and sobject == "Lead" and row and row.get("IsConverted"):
            raise RecordError("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
        locked = [n for n in values if not (fields[n].create if creating else fields[n].update)]
        if locked:
            raise RecordError(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(locked)}. Please check the security settings of this field "
                "and verify that it is read/write for your profile or permission set.",
                locked,
            )
        merged = dict(row or {}) | values
        missing = [
            f.name
            for f in fields.values()
            if f.required and (merged.get(f.name) in (None, "") if creating or f.name in values else False)
        ]
        if missing:
            raise RecordError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing)
        for name, value in values.items():
            self._check_value(sobject, fields[name], value)
        return values

    def _check_value(self, sobject: str, f: SField, value: Any) -> None:
        if value in (None, ""):
            if not f.nillable and not f.defaulted and f.type != "boolean":
                raise RecordError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{f.name}]", [f.name])
            return
        if isinstance(value, str) and f.length and len(value) > f.length and f.type not in ("reference", "id"):
            raise RecordError(
                "STRING_TOO_LONG", f"{f.label}: data value too large: {value[:40]} (max length={f.length})", [f.name]
            )
        if f.type == "email" and not _looks_like_email(value):
            raise RecordError("INVALID_EMAIL_ADDRESS", f"{f.label}: invalid email address: {value}", [f.name])
        if f.type == "picklist" and f.restricted and value not in {p.value for p in f.picklist}:
            raise RecordError(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{f.label}: bad value for restricted picklist field: {value}",
                [f.name],
            )
        if f.type == "reference":
            self._check_reference(f, value)

    def _check_reference(self, f: SField, value: Any) -> None:
        """A lookup names an existing, live record of a type the field references (an active user)."""
        target = normalize_id(value)
        if target is None or OBJECT_OF_PREFIX.get(target[:3]) not in f.references:
            raise RecordError("MALFORMED_ID", f"{f.label}: id value of incorrect type: {value}", [f.name])
        target_type = OBJECT_OF_PREFIX[target[:3]]
        if target not in self.rows[target_type]:
            if any(t.id == target for t in self.tombstones[target_type]):
                raise RecordError("ENTITY_IS_DELETED", "entity is deleted", [f.name])
            raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [f.name])
        if target_type == "User" and not self.rows["User"][target]["IsActive"]:
            raise RecordError("INACTIVE_OWNER_OR_USER", "operation performed with inactive user", [f.name])

    def _rules(self, sobject: str, row: dict[str, Any], record_id: str | None) -> None:
        for rule in self.validation_rules:
            if rule.sobject == sobject and rule.violated(row):
                raise RecordError("FIELD_CUSTOM_VALIDATION_EXCEPTION", rule.message, [rule.field] if rule.field else [])
        if sobject in self.duplicate_rules and row.get("Email"):
            email = str(row["Email"]).lower()
            match = next(
                (r for r in self.rows[sobject].values() if r["Id"] != record_id and str(r.get("Email") or "").lower() == email),
                None,
            )
            if match is not None:
                raise RecordError(
                    "DUPLICATES_DETECTED",
                    "Use one of these records?",
                    [],
                    duplicateResult={
                        "allowSave": False,
                        "duplicateRule": f"Standard_{sobject}_Duplicate_Rule",
                        "duplicateRuleEntityType": sobject,
                        "errorMessage": "You're creating a duplicate record. We recommend you use an existing record instead.",
                        "matchResults": [
                            {
                                "entityType": sobject,
                                "matchEngine": "ExactMatchEngine",
                                "matchRecords": [{"record": {"attributes": {"type": sobject}, "Id": match["Id"]}}],
                                "size": 1,
                                "success": True,
                            }
                        ],
                    },
                )

    def add_validation_rule(
        self, sobject: str, name: str, violated: Callable[[dict[str, Any]], bool], message: str, field: str | None = None
    ) -> None:
        """A validation rule: when `violated(row after the write)` is true the write fails."""
        self.validation_rules.append(ValidationRule(sobject, name, violated, message, field))

    def _typed_input(self, sobject: str, body: dict[str, Any], allow_id: bool = False) -> dict[str, Any]:
        fields = self._fields(sobject)
        values: dict[str, Any] = {}
        for name, value in body.items():
            if name == "attributes" or (allow_id and name == "Id") or (allow_id and name == "id"):
                continue
            f = fields.get(name)
            if f is None:
                raise ApiError(400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject}")
            values[name] = self._typed(sobject, f, value)
        return values

    def _insert(self, sobject: str, values: dict[str, Any], user_id: str | None = None) -> dict[str, Any]:
        """Validate and store a new record (caller holds the lock); return the row."""
        self._check(sobject, values, True, None)
        now = self.now()
        user = user_id or self.integration_user
        row: dict[str, Any] = {f.name: None for f in self._fields(sobject).values()}
        for f in self._fields(sobject).values():
            if f.type == "boolean":
                row[f.name] = False
            if f.default_value():
                row[f.name] = f.default_value()
        row.update({k: v for k, v in values.items()})
        row.update(
            Id=self._new_id(sobject),
            IsDeleted=False,
            CreatedDate=now,
            CreatedById=user,
            LastModifiedDate=now,
            LastModifiedById=user,
            SystemModstamp=now,
        )
        if "OwnerId" in row and not row["OwnerId"]:
            row["OwnerId"] = user
        self._derive(sobject, row, values)
        self._rules(sobject, row, None)
        self.rows[sobject][row["Id"]] = row
        self._index(sobject, row["Id"], now)
        created = {k: _json_value(v) for k, v in row.items() if v is not None and k not in ("Id", "IsDeleted")}
        self.cdc.publish(sobject, "CREATE", row["Id"], created, user, self.change_origin)
        self.cdc.notify()
        return row

    def _modify(self, sobject: str, record_id: str, values: dict[str, Any], user_id: str | None = None) -> dict[str, Any]:
        current = self.rows[sobject][record_id]
        self._check(sobject, values, False, current)
        row = dict(current) | values
        self._derive(sobject, row, values)
        self._rules(sobject, row, record_id)
        now = self.now()
        row.update(LastModifiedDate=now, LastModifiedById=user_id or self.integration_user, SystemModstamp=now)
        self.rows[sobject][record_id] = row
        self._index(sobject, record_id, now)
        self._publish_update(sobject, current, row, row["LastModifiedById"])
        return row

    def _publish_update(self, sobject: str, before: dict[str, Any], after: dict[str, Any], user: str) -> None:
        changed = {k: _json_value(v) for k, v in after.items() if before.get(k) != v and k not in ("SystemModstamp",)}
        self.cdc.publish(sobject, "UPDATE", after["Id"], changed, user, self.change_origin)
        self.cdc.notify()

    def _derive(self, sobject: str, row: dict[str, Any], values: dict[str, Any]) -> None:
        if "LastName" in self._fields(sobject) and "Name" in self._fields(sobject):
            row["Name"] = " ".join(p for p in (row.get("FirstName"), row.get("LastName")) if p)
        if sobject == "Opportunity" and row.get("StageName") in STAGE_FACTS:
            probability, closed, won = STAGE_FACTS[row["StageName"]]
            if "StageName" in values and "Probability" not in values:
                row["Probability"] = float(probability)
            row["IsClosed"], row["IsWon"] = closed, won
        if sobject in ("Task", "Event"):
            _check_who_and_what(row)
            row["AccountId"] = self._activity_account(row)
        if sobject == "Task":
            row["IsClosed"] = row.get("Status") == "Completed"
        if sobject == "Event":
            _derive_event_times(row, values)

    def _activity_account(self, row: dict[str, Any]) -> str | None:
        """Task/Event AccountId as Salesforce derives it: the WhatId's account (the Account itself,
        an Opportunity's AccountId), else a Contact WhoId's AccountId; None for a lead's activity."""
        what, who = str(row.get("WhatId") or ""), str(row.get("WhoId") or "")
        if what.startswith(KEY_PREFIX["Account"]):
            return what
        if what.startswith(KEY_PREFIX["Opportunity"]):
            return (self.rows["Opportunity"].get(what) or {}).get("AccountId")
        if not what and who.startswith(KEY_PREFIX["Contact"]):
            return (self.rows["Contact"].get(who) or {}).get("AccountId")
        return None

    def _remove(self, sobject: str, record_id: str) -> None:
        row = self.rows[sobject].pop(record_id)
        now = self.now()
        row.update(IsDeleted=True, SystemModstamp=now)
        self.tombstones[sobject].append(Tombstone(record_id, now))
        self.deleted_rows[sobject][record_id] = row
        self._index(sobject, record_id, now)
        self.cdc.publish(sobject, "DELETE", record_id, {}, self.integration_user, self.change_origin)
        self.cdc.notify()

    # --- serialization ----------------------------------------------------------------------------
    def _serialize(self, sobject: str, row: dict[str, Any], request: Request | None, names: list[str] | None = None) -> dict:
        version = (request.params.get("version") if request else None) or API_VERSION
        out: dict[str, Any] = {
            "attributes": {"type": sobject, "url": f"/services/data/v{version}/sobjects/{sobject}/{row['Id']}"}
        }
        for name in names or list(self._fields(sobject)):
            out[name] = _json_value(row.get(name))
        return out

    # --- single-record resources ------------------------------------------------------------------
    def get_one(self, request: Request) -> Response:
        sobject = request.params["sobject"]
        self._sobject(sobject)
        with self.lock:
            record_id = self._lookup_id(sobject, request.params["id"])
            row = dict(self.rows[sobject][record_id])
        names = self._field_list(sobject, request.arg("fields"))
        return json_response(self._serialize(sobject, row, request, names))

    def _field_list(self, sobject: str, text: str | None) -> list[str] | None:
        if not text:
            return None
        names = [n.strip() for n in text.split(",") if n.strip()]
        for name in names:
            if name not in self._fields(sobject):
                raise ApiError(400, "INVALID_FIELD", f"No such column '{name}' on entity '{sobject}'")
        return names

    def _user(self, request: Request) -> str:
        session = self._session(request)
        return session.user_id if session else self.integration_user

    def create_one(self, request: Request) -> Response:
        sobject = request.params["sobject"]
        self._writable(sobject)
        body = _json_object(request)
        values = self._typed_input(sobject, body)
        with self.lock:
            try:
                row = self._insert(sobject, values, self._user(request))
            except RecordError as exc:
                raise ApiError(400, exc.code, exc.message, exc.fields, **exc.extra) from None
        return json_response({"id": row["Id"], "success": True, "errors": []}, 201)

    def update_one(self, request: Request) -> Response:
        sobject = request.params["sobject"]
        self._writable(sobject)
        values = self._typed_input(sobject, _json_object(request))
        with self.lock:
            record_id = self._lookup_id(sobject, request.params["id"])
            try:
                self._modify(sobject, record_id, values, self._user(request))
            except RecordError as exc:
                raise ApiError(400, exc.code, exc.message, exc.fields, **exc.extra) from None
        return Response(204, None)

    def delete_one(self, request: Request) -> Response:
        sobject = request.params["sobject"]
        self._writable(sobject)
        with self.lock:
            record_id = self._lookup_id(sobject, request.params["id"])
            self._remove(sobject, record_id)
        return Response(204, None)

    def _writable(self, sobject: str) -> None:
        self._sobject(sobject)
        if sobject == "User":
            raise ApiError(400, "INSUFFICIENT_ACCESS", "insufficient access rights on object id (users are read only here)")

    # --- replication -----------------------------------------------------------------------------
    def _window(self, request: Request) -> tuple[dt.datetime, dt.datetime]:
        try:
            start = parse_sf_datetime(request.arg("start", "")).replace(second=0, microsecond=0)
            end = parse_sf_datetime(request.arg("end", "")).replace(second=0, microsecond=0)
        except ValueError:
            raise ApiError(400, "INVALID_REPLICATION_DATE", "start and end must be valid dateTime values") from None
        if end <= start or start < self.now() - dt.timedelta(days=limits.GET_UPDATED_MAX_DAYS):
            raise ApiError(
                400, "INVALID_REPLICATION_DATE", "startDate must chronologically precede endDate and be within 30 days"
            )
        return start, min(end, self.now().replace(second=0))

    def get_updated(self, request: Request) -> Response:
        sobject = request.params["sobject"]
        self._sobject(sobject)
        start, end = self._window(request)
        with self.lock:
            ids = [r["Id"] for r in self.rows[sobject].values() if start <= r["SystemModstamp"] < end]
        if len(ids) > 600_000:
            raise ApiError(400, "EXCEEDED_ID_LIMIT", "too many ids: choose start and end dates closer together")
        return json_response({"ids": ids, "latestDateCovered": sf_datetime(end)})

    def get_deleted(self, request: Request) -> Response:
        sobject = request.params["sobject"]
        self._sobject(sobject)
        start, end = self._window(request)
        with self.lock:
            gone = [t for t in self.tombstones[sobject] if start <= t.deleted < end]
            earliest = min((t.deleted for t in self.tombstones[sobject]), default=start)
        return json_response(
            {
                "deletedRecords": [{"id": t.id, "deletedDate": sf_datetime(t.deleted)} for t in gone],
                "earliestDateAvailable": sf_datetime(earliest),
                "latestDateCovered": sf_datetime(end),
            }
        )

    # --- SOQL ----------------------------------------------------------------------------------------
    def query(self, request: Request) -> Response:
        text = request.arg("q")
        if not text:
            raise ApiError(400, "MALFORMED_QUERY", "A query string must be provided.")
        if len(text) > limits.QUERY_TEXT_MAX:
            raise ApiError(400, "MALFORMED_QUERY", "Query is too long")
        parsed = soql.parse(text, self.now())
        parsed.sobject = next((name for name in OBJECTS if name.lower() == parsed.sobject.lower()), parsed.sobject)
        fields = self._fields(parsed.sobject) if parsed.sobject in FIELDS else None
        if fields is None:
            raise ApiError(
                400,
                "INVALID_TYPE",
                f"sObject type '{parsed.sobject}' is not supported. If you are attempting to use a custom object, be sure to "
                "append the '__c' after the entity name.",
            )
        by_lower = {name.lower(): name for name in fields}
        for name in parsed.field_names():
            if name.lower() not in by_lower:
                raise ApiError(400, "INVALID_FIELD", f"No such column '{name}' on entity '{parsed.sobject}'.")
        _canonical_names(parsed, by_lower)
        soql.check_types(parsed.where, lambda n: fields[n].kind() if n in fields else "string")
        include_deleted = request.params["kind"] == "queryAll"
        kind_of = lambda n: fields[n].kind()  # noqa: E731 - a one-line key function
        needed = parsed.offset + parsed.limit if parsed.limit is not None else None
        with self.lock:
            if _index_ordered(parsed) and needed is not None:
                hits = list(itertools.islice(self._matching(parsed, include_deleted, kind_of), needed))
            else:
                hits = list(self._matching(parsed, include_deleted, kind_of))
                if parsed.order:
                    hits = soql.sort_rows(hits, parsed.order, kind_of, first=needed)
        hits = hits[parsed.offset :]
        if parsed.limit is not None:
            hits = hits[: parsed.limit]
        if parsed.count:
            return json_response({"totalSize": len(hits), "done": True, "records": []})
        batch = _batch_size(request.headers.get("sforce-query-options", ""))
        locator = Locator(parsed, [r["Id"] for r in hits], batch, "01g" + secrets.token_hex(8))
        return self._page(request, locator, 0, include_deleted)

    def _candidates(self, parsed: soql.Query, include_deleted: bool) -> Iterator[dict[str, Any]]:
        """Rows the filter may match. With a SystemModstamp bound, from the (SystemModstamp, Id) index
        onwards in index order, as Salesforce's index serves a change feed; else every row."""
        live, dead = self.rows[parsed.sobject], self.deleted_rows[parsed.sobject]
        bound = soql.lower_bound(parsed.where, "SystemModstamp")
        if bound is None and not _index_ordered(parsed):
            yield from live.values()
            if include_deleted:
                yield from dead.values()
            return
        index = self.stamp_index[parsed.sobject]
        start = bisect.bisect_left(index, (bound, "", "")) if bound is not None else 0
        for _, _, record_id in index[start:]:
            row = live.get(record_id) or (dead.get(record_id) if include_deleted else None)
            if row is not None:
                yield row

    def _matching(self, parsed: soql.Query, include_deleted: bool, kind_of) -> Iterator[dict[str, Any]]:
        return (r for r in self._candidates(parsed, include_deleted) if soql.matches(parsed.where, r, kind_of))

    def _index(self, sobject: str, record_id: str, stamp: dt.datetime) -> None:
        """Keep (SystemModstamp, Id as SOQL orders it, Id) sorted per object (caller holds the lock). An
        entry's stamp is never older than its row's (a rolled-back edit leaves a newer one), so the
        index only over-selects; the filter decides."""
        old = self._stamp_of[sobject].get(record_id)
        index = self.stamp_index[sobject]
        if old is not None:
            entry = (old, record_id.lower(), record_id)
            at = bisect.bisect_left(index, entry)
            if at < len(index) and index[at] == entry:
                del index[at]
        bisect.insort(index, (stamp, record_id.lower(), record_id))
        self._stamp_of[sobject][record_id] = stamp

    def query_more(self, request: Request) -> Response:
        token, _, offset = request.params["locator"].rpartition("-")
        with self.lock:
            open_locators = self.locators.get(self._bearer(request)) or {}
            locator = open_locators.get(token)
        if locator is None:
            raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(request, locator, int(offset), request.params["kind"] == "queryAll")

    def _page(self, request: Request, locator: Locator, offset: int, include_deleted: bool) -> Response:
        sobject = locator.query.sobject
        ids = locator.ids[offset : offset + locator.batch]
        with self.lock:
            live, dead = self.rows[sobject], self.deleted_rows.get(sobject, {})
            rows = [live.get(i) or (dead.get(i) if include_deleted else None) for i in ids]
        records = [self._serialize(sobject, r, request, locator.query.fields) for r in rows if r is not None]
        body: dict[str, Any] = {
            "totalSize": len(locator.ids),
            "done": offset + locator.batch >= len(locator.ids),
            "records": records,
        }
        if not body["done"]:
            body["nextRecordsUrl"] = (
                f"/services/data/v{request.params['version']}/{request.params['kind']}/{locator.token}-{offset + locator.batch}"
            )
            with self.lock:
                open_locators = self.locators.setdefault(self._bearer(request), collections.OrderedDict())
                open_locators[locator.token] = locator
                open_locators.move_to_end(locator.token)
                while len(open_locators) > MAX_OPEN_LOCATORS:
                    open_locators.popitem(last=False)
        return json_response(body)

    # --- sObject Collections ---------------------------------------------------------------------------
    def _collection_body(self, request: Request) -> tuple[list[dict[str, Any]], bool]:
        body = _json_object(request)
        records = body.get("records")
        if not isinstance(records, list):
            raise ApiError(400, "JSON_PARSER_ERROR", "records: a list of sObjects is required")
        if len(records) > limits.COLLECTION_WRITE_MAX:
            raise ApiError(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call")
        if not all(isinstance(r, dict) for r in records):
            raise ApiError(400, "JSON_PARSER_ERROR", "each record must be a JSON object")
        return records, bool(body.get("allOrNone", False))

    def _record_type(self, record: dict[str, Any]) -> str:
        sobject = (record.get("attributes") or {}).get("type") if isinstance(record.get("attributes"), dict) else None
        if not sobject:
            raise ApiError(400, "INVALID_TYPE", "Must specify a type in the attributes map of each record")
        self._writable(sobject)
        return sobject

    def collection_create(self, request: Request) -> Response:
        records, all_or_none = self._collection_body(request)
        prepared = []
        for record in records:
            sobject = self._record_type(record)
            if record.get("id") or record.get("Id"):
                prepared.append((sobject, RecordError("INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])))
                continue
            prepared.append((sobject, self._typed_input(sobject, record)))
        user = self._user(request)
        return self._apply_collection(prepared, all_or_none, lambda sobject, values: self._insert(sobject, values, user))

    def collection_update(self, request: Request) -> Response:
        records, all_or_none = self._collection_body(request)
        prepared: list[tuple[str, Any]] = []
        for record in records:
            sobject = self._record_type(record)
            values = self._typed_input(sobject, record, allow_id=True)
            raw_id = record.get("id") or record.get("Id")
            record_id = normalize_id(raw_id)
            if not raw_id:
                prepared.append((sobject, RecordError("MISSING_ARGUMENT", "Id not specified in an update call", [])))
            elif record_id is None or record_id[:3] != KEY_PREFIX[sobject]:
                prepared.append(
                    (sobject, RecordError("MALFORMED_ID", f"Record ID: id value of incorrect type: {raw_id}", ["Id"]))
                )
            else:
                prepared.append((sobject, (record_id, values)))
        user = self._user(request)

        def update(sobject: str, item: tuple[str, dict[str, Any]]) -> dict[str, Any]:
            record_id, values = item
            if record_id not in self.rows[sobject]:
                if any(t.id == record_id for t in self.tombstones[sobject]):
                    raise RecordError("ENTITY_IS_DELETED", "entity is deleted", [])
                raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])
            return self._modify(sobject, record_id, values, user)

        return self._apply_collection(prepared, all_or_none, update)

    def _apply_collection(self, prepared: list[tuple[str, Any]], all_or_none: bool, write: Callable) -> Response:
        results: list[dict[str, Any]] = []
        with self.lock:
            snapshot = {name: dict(rows) for name, rows in self.rows.items()} if all_or_none else None
            sequence, events_mark = self.sequence, self.cdc.mark()
            failed = False
            for sobject, item in prepared:
                try:
                    if isinstance(item, RecordError):
                        raise item
                    row = write(sobject, item)
                    results.append({"id": row["Id"], "success": True, "errors": []})
                except RecordError as exc:
                    failed = True
                    results.append({"success": False, "errors": [exc.item()]})
            if all_or_none and failed:
                self.rows = snapshot  # roll back every record of the request
                self.sequence = sequence
                self.cdc.rollback_to(events_mark)  # rolled-back writes never committed: no change events
                rolled = {
                    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                    "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
                    "fields": [],
                }
                results = [r if not r["success"] else {"id": None, "success": False, "errors": [rolled]} for r in results]
                results = [{"id": None, **r} if "id" not in r else r for r in results]
            else:
                results = [{"id": None, **r} if "id" not in r else r for r in results]
        return json_response(results)

    def collection_delete(self, request: Request) -> Response:
        raw_ids = [i for i in (request.arg("ids") or "").split(",") if i]
        if not raw_ids:
            raise ApiError(400, "MISSING_ARGUMENT", "ids: at least one id is required")
        if len(raw_ids) > limits.COLLECTION_WRITE_MAX:
            raise ApiError(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call")
        all_or_none = (request.arg("allOrNone") or "false").lower() == "true"
        results = []
        with self.lock:
            targets = []
            for raw in raw_ids:
                result, target = self._deletable(raw)
                results.append(result)
                if target is not None:
                    targets.append(target)
            if all_or_none and any(not r["success"] for r in results):
                rolled = RecordError(
                    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                    "Record rolled back because not all records were valid and the request was using AllOrNone header",
                ).item()
                return json_response(
                    [r if not r["success"] else {"id": r["id"], "success": False, "errors": [rolled]} for r in results]
                )
            for sobject, record_id in targets:
                self._remove(sobject, record_id)
        return json_response(results)

    def _deletable(self, raw: str) -> tuple[dict[str, Any], tuple[str, str] | None]:
        """The result a collection delete answers for one id, and (sobject, id) when it can be deleted."""
        record_id = normalize_id(raw)
        sobject = OBJECT_OF_PREFIX.get((record_id or "")[:3])
        if record_id is None or sobject is None:
            return {"id": None, "success": False, "errors": [RecordError("MALFORMED_ID", f"malformed id {raw}").item()]}, None
        if record_id not in self.rows[sobject]:
            deleted = any(t.id == record_id for t in self.tombstones[sobject])
            error = (
                RecordError("ENTITY_IS_DELETED", "entity is deleted")
                if deleted
                else RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
            )
            return {"id": record_id, "success": False, "errors": [error.item()]}, None
        return {"id": record_id, "success": True, "errors": []}, (sobject, record_id)

    def collection_get(self, request: Request) -> Response:
        sobject = request.params["sobject"]
        self._sobject(sobject)
        if request.method == "POST":
            body = _json_object(request)
            raw_ids, names = body.get("ids") or [], body.get("fields") or []
            if not isinstance(raw_ids, list) or not isinstance(names, list):
                raise ApiError(400, "JSON_PARSER_ERROR", "ids and fields must be lists")
            names = self._field_list(sobject, ",".join(str(n) for n in names))
        else:
            raw_ids = [i for i in (request.arg("ids") or "").split(",") if i]
            names = self._field_list(sobject, request.arg("fields"))
        if not names:
            raise ApiError(400, "MISSING_ARGUMENT", "fields: at least one field is required")
        if len(raw_ids) > limits.COLLECTION_READ_MAX:
            raise ApiError(400, "EXCEEDED_ID_LIMIT", "too many ids: at most 2000")
        out = []
        with self.lock:
            for raw in raw_ids:
                record_id = normalize_id(raw)
                row = self.rows[sobject].get(record_id or "")
                out.append(self._serialize(sobject, row, request, names) if row else None)
        return json_response(out)

    # --- Streaming API (Change Data Capture over CometD) -------------------------------------------------
    def cometd(self, request: Request) -> Response:
        return self.cdc.handle(request, self._bearer(request))

    # --- helpers acting as a user in Salesforce ----------------------------------------------------------
    def add_user(self, username: str, first: str, last: str, email: str | None = None, active: bool = True) -> str:
        now = self.now()
        with self.lock:
            user_id = self._new_id("User")
            self.rows["User"][user_id] = {
                "Id": user_id,
                "IsDeleted": False,
                "CreatedDate": now,
                "CreatedById": user_id,
                "LastModifiedDate": now,
                "LastModifiedById": user_id,
                "SystemModstamp": now,
                "Username": username,
                "Email": email or username,
                "FirstName": first,
                "LastName": last,
                "Name": f"{first} {last}".strip(),
                "IsActive": active,
            }
            self._index("User", user_id, now)
        return user_id

    def create_record(self, sobject: str, properties: dict[str, Any]) -> str:
        with self.lock:
            return self._insert(sobject, self._typed_input(sobject, properties))["Id"]

    def edit_record(self, sobject: str, record_id: str, properties: dict[str, Any]) -> None:
        with self.lock:
            self._modify(sobject, normalize_id(record_id) or record_id, self._typed_input(sobject, properties))

    def delete_record(self, sobject: str, record_id: str) -> None:
        with self.lock:
            self._remove(sobject, normalize_id(record_id) or record_id)

    def record(self, sobject: str, record_id: str) -> dict[str, Any] | None:
        with self.lock:
            row = self.rows[sobject].get(normalize_id(record_id) or "")
            return dict(row) if row else None

    def count(self, sobject: str) -> int:
        with self.lock:
            return len(self.rows[sobject])

    def convert_lead(
        self,
        lead_id: str,
        account_id: str | None = None,
        opportunity_name: str | None = None,
        contact_id: str | None = None,
    ) -> dict[str, str]:
        """Convert a lead as a user would (Lead Convert, or Database.convertLead / the SOAP API's
        convertLead(): Salesforce's REST API has no lead-conversion resource). A Contact is made from
        the lead's standard fields (City -> MailingCity...), or, with `contact_id`, the lead is merged
        into that Contact (only its empty fields are filled, as Salesforce does); an Account unless one
        is given (an existing Contact's own Account otherwise), an Opportunity when named. The lead is
        marked converted (IsConverted, ConvertedDate, Converted*Id, a converted Status) and read only."""
        with self.lock:
            lead_id = normalize_id(lead_id) or lead_id
            lead = self.rows["Lead"].get(lead_id)
            if lead is None or lead.get("IsDeleted"):
                raise RecordError("INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {lead_id}", ["leadId"])
            if lead["IsConverted"]:
                raise RecordError("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
            existing = self._existing_contact(contact_id)
            if account_id is None:
                account_id = (existing or {}).get("AccountId") or self._insert(
                    "Account", {"Name": lead["Company"], "Website": lead.get("Website")}
                )["Id"]
            contact_id = self._converted_contact(lead, existing, account_id)
            opportunity_id = None
            if opportunity_name:
                opportunity_id = self._insert(
                    "Opportunity",
                    {
                        "Name": opportunity_name,
                        "StageName": "Prospecting",
                        "CloseDate": (self.now() + dt.timedelta(days=30)).date(),
                        "AccountId": account_id,
                    },
                )["Id"]
            now = self.now()
            before = dict(lead)
            lead.update(
                IsConverted=True,
                ConvertedDate=now.date(),
                ConvertedContactId=contact_id,
                ConvertedAccountId=account_id,
                ConvertedOpportunityId=opportunity_id,
                Status="Closed - Converted",
                LastModifiedDate=now,
                SystemModstamp=now,
            )
            self._index("Lead", lead_id, now)
            self._publish_update("Lead", before, lead, self.integration_user)
        return {"contact": contact_id, "account": account_id, "opportunity": opportunity_id or ""}

    def _existing_contact(self, contact_id: str | None) -> dict[str, Any] | None:
        if contact_id is None:
            return None
        row = self.rows["Contact"].get(normalize_id(contact_id) or contact_id)
        if row is None or row.get("IsDeleted"):
            raise RecordError("INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {contact_id}", ["contactId"])
        return row

    def _converted_contact(self, lead: dict[str, Any], existing: dict[str, Any] | None, account_id: str) -> str:
        """The Contact a conversion makes (or fills in): Salesforce's standard lead field mapping."""
        values = {contact_field: lead.get(lead_field) for lead_field, contact_field in LEAD_TO_CONTACT}
        values = {k: v for k, v in values.items() if v not in (None, "")}
        if existing is None:
            return self._insert("Contact", values | {"AccountId": account_id})["Id"]
        empty = {k: v for k, v in values.items() if existing.get(k) in (None, "")}
        if empty:
            self._modify("Contact", existing["Id"], empty)
        return existing["Id"]

    def seed_demo_data(self, size: int) -> None:
        """`size` accounts, contacts, leads and opportunities with a few owners, and calls, meetings and
        e-mails on some of them (deterministic)."""
        owners = [self.integration_user] + [
            self.add_user(f"{first.lower()}.{last.lower()}@syncsmart-demo.example.com", first, last)
            for first, last in (("Avery", "Stone"), ("Jordan", "Lee"))
        ]
        stages = list(STAGE_FACTS)
        with self.lock:
            for n in range(size):
                owner = owners[n % len(owners)]
                account = self._insert(
                    "Account", {"Name": f"Summit Works {n}", "Website": f"https://summit{n}.example.com", "OwnerId": owner}
                )["Id"]
                contact = self._insert(
                    "Contact",
                    {
                        "FirstName": f"Casey{n}",
                        "LastName": f"Morgan {n}",
                        "Email": f"casey{n}@summit{n}.example.com",
                        "AccountId": account,
                        "OwnerId": owner,
                    },
                )["Id"]
                lead = self._insert(
                    "Lead",
                    {
                        "FirstName": f"Riley{n}",
                        "LastName": f"Quinn {n}",
                        "Company": f"Harbor Labs {n}",
                        "Email": f"riley{n}@harbor{n}.example.com",
                    },
                )["Id"]
                self._seed_activities(n, contact, account, lead, owner)
                self._insert(
                    "Opportunity",
                    {
                        "Name": f"Summit Works {n} renewal",
                        "StageName": stages[n % len(stages)],
                        "CloseDate": dt.date(2027, 1 + n % 12, 1 + n % 28),
                        "Amount": float(1000 + 250 * n),
                        "AccountId": account,
                        "OwnerId": owner,
                    },
                )

    def _seed_activities(self, n: int, contact: str, account: str, lead: str, owner: str) -> None:
        """A logged call on every second contact, a meeting on every third, an e-mail to every fourth lead."""
        day = dt.date(2026, 1 + n % 12, 1 + n % 28)
        if n % 2 == 0:
            self._insert(
                "Task",
                {"Subject": f"Call with Casey{n}", "TaskSubtype": "Call", "Status": "Completed", "CallType": "Outbound"}
                | {"ActivityDate": day, "WhoId": contact, "WhatId": account, "OwnerId": owner},
            )
        if n % 3 == 0:
            start = dt.datetime(day.year, day.month, day.day, 15, 0, tzinfo=dt.UTC)
            self._insert(
                "Event",
                {"Subject": f"Review with Casey{n}", "StartDateTime": start, "DurationInMinutes": 30, "Location": "Video"}
                | {"WhoId": contact, "OwnerId": owner},
            )
        if n % 4 == 0:
            self._insert(
                "Task",
                {"Subject": f"Welcome, Riley{n}", "TaskSubtype": "Email", "Status": "Completed", "ActivityDate": day}
                | {"WhoId": lead},
            )

    # --- the demo -------------------------------------------------------------------------------------------
    @classmethod
    def demo(cls, seed_size: int = 0) -> SalesforceEmulator:
        """The demo org: a sandbox (the demo connection's environment) with demo data."""
        return cls(seed_size=seed_size, sandbox=True)

    def connection_settings(self, base_url: str) -> tuple[dict[str, str], dict[str, str]]:
        """(Connection.config, Connection.credentials) for a server-to-server connection to this org at
        `base_url`: the JWT bearer flow with a key pair made here, its certificate registered on the app."""
        if self._demo_key is None:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = serialization.PrivateFormat.PKCS8
            self._demo_key = key.private_bytes(serialization.Encoding.PEM, pem, serialization.NoEncryption()).decode()
            public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            self.register_jwt_certificate(public)
        username = self.rows["User"][self.integration_user]["Username"]
        config = {"client_id": self.consumer_key, "username": username, "login_url": base_url, "instance_url": base_url}
        return config, {"private_key": self._demo_key}

    # --- serving -------------------------------------------------------------------------------------------
    def serve(self, host: str = "127.0.0.1", port: int = 0, tls: bool = False, ca_file=None):
        # wsgiref never learns that the socket speaks TLS; instance URLs must say https.
        self.serving_tls = tls
        return super().serve(host, port, tls=tls, ca_file=ca_file)

    def _base(self, request: Request) -> str:
        on_socket = "SERVER_SOFTWARE" in request.environ  # set by wsgiref, not by httpx's in-process transport
        scheme = "https" if self.serving_tls and on_socket else request.environ.get("wsgi.url_scheme", "http")
        host = request.environ.get("HTTP_HOST") or request.environ.get("SERVER_NAME", "localhost")
        return f"{scheme}://{host}"

    def control(self, request: Request) -> Response | None:
        body = request.json() if request.body else {}
        try:
            if request.path == "/_emulator/records" and request.method == "POST":
                return json_response({"id": self.create_record(body["sobject"], body["properties"])}, 201)
            if request.path == "/_emulator/edit" and request.method == "POST":
                self.edit_record(body["sobject"], body["id"], body["properties"])
                return json_response({"ok": True})
            if request.path == "/_emulator/delete" and request.method == "POST":
                self.delete_record(body["sobject"], body["id"])
                return json_response({"ok": True})
            if request.path == "/_emulator/convert-lead" and request.method == "POST":
                return json_response(
                    self.convert_lead(body["id"], body.get("account_id"), body.get("opportunity_name"), body.get("contact_id"))
                )
            if request.path == "/_emulator/expire-sessions" and request.method == "POST":
                self.expire_sessions()
                return json_response({"ok": True})
            if request.path == "/_emulator/state" and request.method == "GET":
                return json_response(
                    {
                        "counts": {name: len(rows) for name, rows in self.rows.items()},
                        "api_usage": self.api_usage,
                        "org_id": self.org_id,
                    }
                )
        except ApiError as exc:
            return self._api_error(exc)
        except RecordError as exc:
            return json_response([{"message": exc.message, "errorCode": exc.code, "fields": exc.fields}], 400)
        except (KeyError, TypeError, ValueError) as exc:
            return json_response([{"message": f"Missing or malformed field: {exc}", "errorCode": "BAD_REQUEST"}], 400)
        return None


# --- module helpers ---------------------------------------------------------------------------------------------
# A custom field's API name: a letter, letters / digits / single underscores, no trailing one, __c.
CUSTOM_FIELD_NAME = re.compile(r"[A-Za-z](?:[A-Za-z0-9]|_(?!_)){0,39}(?<!_)__c")
MAX_EVENT_MINUTES = 14 * 24 * 60  # "Event duration cannot exceed 14 days"


def _check_who_and_what(row: dict[str, Any]) -> None:
    """An activity of a lead relates to nothing else: a Lead in WhoId leaves WhatId empty (the
    wording of the message is ours; the rule and the code are Salesforce's)."""
    if str(row.get("WhoId") or "").startswith(KEY_PREFIX["Lead"]) and row.get("WhatId"):
        raise RecordError(
            "FIELD_INTEGRITY_EXCEPTION",
            "Related To ID: an activity whose Name is a lead cannot be related to a record",
            ["WhatId"],
        )


def _derive_event_times(row: dict[str, Any], values: dict[str, Any]) -> None:
    """An Event's start, end and duration as Salesforce keeps them: StartDateTime (or
    ActivityDateTime) with EndDateTime or DurationInMinutes, the missing one derived; an all-day
    event needs only its ActivityDate."""
    if "ActivityDateTime" in values and "StartDateTime" not in values:
        row["StartDateTime"] = row["ActivityDateTime"]
    start = row.get("StartDateTime")
    if row.get("IsAllDayEvent") and start is None and row.get("ActivityDate"):
        return
    if start is None:
        raise RecordError("REQUIRED_FIELD_MISSING", "Required fields are missing: [StartDateTime]", ["StartDateTime"])
    if "EndDateTime" in values or ("DurationInMinutes" not in values and row.get("EndDateTime") is not None):
        end = row.get("EndDateTime")
        if end is None:
            raise RecordError("REQUIRED_FIELD_MISSING", "Required fields are missing: [EndDateTime]", ["EndDateTime"])
        row["DurationInMinutes"] = int((end - start).total_seconds() // 60)
    elif row.get("DurationInMinutes") is not None:
        row["EndDateTime"] = start + dt.timedelta(minutes=int(row["DurationInMinutes"]))
    else:
        raise RecordError("REQUIRED_FIELD_MISSING", "Required fields are missing: [DurationInMinutes]", ["DurationInMinutes"])
    if not 0 <= row["DurationInMinutes"] <= MAX_EVENT_MINUTES:
        raise RecordError(
            "FIELD_INTEGRITY_EXCEPTION",
            "Event duration cannot be negative or exceed 14 days",
            ["EndDateTime" if "EndDateTime" in values else "DurationInMinutes"],
        )
    row["ActivityDateTime"], row["ActivityDate"] = start, start.date()


def _html(status: int, page: str) -> Response:
    return Response(status, page, content_type="text/html; charset=utf-8")


def _oauth_error(error: str, description: str) -> Response:
    return json_response({"error": error, "error_description": description}, 400)


def _form(request: Request) -> dict[str, str]:
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError:
        return {}
    return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}


def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "JSON_PARSER_ERROR", "The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "Expected a JSON object as the request body")
    return body


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return sf_datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _http_date(moment: dt.datetime) -> str:
    return moment.strftime("%a, %d %b %Y %H:%M:%S GMT")


def _soap_type(kind: str) -> str:
    return {
        "id": "tns:ID",
        "reference": "tns:ID",
        "boolean": "xsd:boolean",
        "date": "xsd:date",
        "datetime": "xsd:dateTime",
        "double": "xsd:double",
        "currency": "xsd:double",
        "percent": "xsd:double",
        "int": "xsd:int",
    }.get(kind, "xsd:string")


def _looks_like_email(value: Any) -> bool:
    text = str(value)
    local, at, domain = text.rpartition("@")
    return bool(at and local and "." in domain and " " not in text and not domain.startswith(".") and not domain.endswith("."))


def _batch_size(header: str) -> int:
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "batchsize" and value.strip().isdigit():
            return max(limits.QUERY_BATCH_MIN, min(limits.QUERY_BATCH_MAX, int(value)))
    return limits.QUERY_BATCH_DEFAULT


def _index_ordered(query: soql.Query) -> bool:
    """ORDER BY SystemModstamp, Id ascending: the order of the emulator's index (a change feed's query)."""
    return [(o.field, o.descending) for o in query.order] == [("SystemModstamp", False), ("Id", False)]


def _canonical_names(query: soql.Query, by_lower: dict[str, str]) -> None:
    """SOQL field names are case-insensitive: rewrite them as the schema spells them."""
    query.fields = [by_lower[n.lower()] for n in query.fields]
    for order in query.order:
        order.field = by_lower[order.field.lower()]
    stack = [query.where] if query.where is not None else []
    while stack:
        node = stack.pop()
        if isinstance(node, soql.Comparison):
            node.field = by_lower[node.field.lower()]
        elif isinstance(node, soql.BoolOp):
            stack.extend(node.items)
        elif isinstance(node, soql.Not):
            stack.append(node.item)


__all__ = ["SalesforceEmulator", "CDC_OBJECTS", "id18", "normalize_id"]
