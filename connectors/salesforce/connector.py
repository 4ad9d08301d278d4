"""The Salesforce connector: REST API (SOQL, describe, sObject Collections) of one org.

Object types are sObjects by API name: Lead, Contact, Account, Opportunity, Task, Event and
User (read only; people are matched by User.Email). Fields are the API names `describe` lists:
references are REFERENCE fields (Contact.AccountId -> Account; polymorphic WhoId / WhatId -> their
first target SyncSmart syncs, the others in `also_references`), OwnerId / CreatedById are OWNER
fields -> User, picklists are ENUMs whose options carry Salesforce's value and label. Leads carry their conversion fields
(IsConverted, ConvertedContactId...) read only: a converted lead names the Contact it became, and
the Lead object type declares it (`successor`), so the engine moves a converted lead's link to it.

Reads: `read_changes` pages with SOQL over queryAll (so deletions arrive as deleted records)
ordered by SystemModstamp then Id, as a keyset: `SystemModstamp > floor OR (SystemModstamp =
floor AND Id > last id)`, so records sharing a second are never skipped nor repeated within a
pass. SystemModstamp has whole seconds and a change's transaction may commit after we passed its
second, so each pass starts `overlap_seconds` before the previous pass began (server time, from
the Date header); a record version already delivered is skipped only when its stamp is older than
the second we read it in (a later edit then always has a newer stamp). Look-ups are one SOQL
`IN` query per chunk of values; reads by id one sObject Collections retrieve per 2,000 ids.

Writes: sObject Collections, 200 records per call, allOrNone false, per-record errors in input
order (DUPLICATES_DETECTED is a CONFLICT naming the existing record). Updates are safe to retry;
a create whose answer is lost is not sent again here (the engine re-finds it by its match value).

Auth: OAuth 2.0 (see oauth.py): a session renewed with the refresh token or the JWT bearer flow
when Salesforce answers 401; invalid_grant marks the connection "reconnect needed".
Limits: every answer's `Sforce-Limit-Info: api-usage=used/max` feeds the daily budget: calls
stop (RATE_LIMITED until midnight UTC) once the org's own count reaches its allowance, and the
shared limiter counts our calls against our budget of the allowance the org reported
(connectors/salesforce/budget.py, connectors/quota.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import json
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
import jwt

from connectors import quota
from connectors.base import (
    ConnectionTest,
    Connector,
    ConnectorError,
    ErrorKind,
    FieldInfo,
    FieldType,
    ObjectType,
    Option,
    Page,
    Record,
    WriteInput,
    WriteResult,
    chunked,
    keys_held,
    searchable_fragments,
)
from connectors.http import Limiter, VendorHttp, kind_for_status, on_owner_thread, retry_after_seconds
from connectors.salesforce import budget, limits, oauth, related
from connectors.salesforce.soql import datetime_literal, quote

API_VERSION = "59.0"
DEFAULT_OVERLAP_SECONDS = 30
SEEN_LIMIT = 5_000
LOOKUP_VALUES_PER_QUERY = 100  # keeps the WHERE clause under SOQL's 4,000 characters for e-mails
DOMAIN_VALUES_PER_QUERY = 50  # `Website LIKE '%domain%'`, `Name LIKE '%word%'` terms are longer
UTC = dt.UTC


@dataclasses.dataclass(frozen=True)
class _SObject:
    name: str
    label: str
    match_fields: tuple[str, ...]
    parents: tuple[str, ...] = ()
    read_only: bool = False
    email_field: str | None = None
    needs_parent: bool = False
    successor: tuple[str, str] | None = None
    api_name: str = ""  # the sObject behind a per-subtype object type ("Task.Call" -> Task)
    subtype: str = ""  # its TaskSubtype: read where it matches, written on create

    @property
    def sobject(self) -> str:
        return self.api_name or self.name

    def where(self) -> list[str]:
        """The SOQL conditions that pick this object type's records out of its sObject."""
        return [f"TaskSubtype = {quote(self.subtype)}"] if self.subtype else []

    @property
    def object_type(self) -> ObjectType:
        return ObjectType(
            name=self.name,
            label=self.label,
            primary_key="Id",
            cursor_field="SystemModstamp",
            match_fields=self.match_fields,
            parents=self.parents,
            needs_parent=self.needs_parent,
            read_only=self.read_only,
            email_field=self.email_field,
            successor=self.successor,
        )


ACTIVITY_PARENTS = ("Contact", "Lead", "Account", "Opportunity")  # WhoId, WhatId
LEAD_PREFIX = "00Q"  # the key prefix of Lead ids
# A custom field's API name: a letter, letters / digits / single underscores, no trailing one, __c.
CUSTOM_FIELD_NAME = re.compile(r"[A-Za-z](?:[A-Za-z0-9]|_(?!_)){0,39}(?<!_)__c")
SOBJECTS = {
    s.name: s
    for s in (
        _SObject("Account", "Accounts", ("Website", "Name")),
        _SObject("Contact", "Contacts", ("Email",), parents=("Account",)),
        _SObject("Lead", "Leads", ("Email",), successor=("ConvertedContactId", "Contact")),
        _SObject("Opportunity", "Opportunities", ("Name",), parents=("Account", "Contact")),
        # Activities (never created without a parent): Task by TaskSubtype, and Event.
        _SObject("Task", "Tasks", (), parents=ACTIVITY_PARENTS, needs_parent=True, subtype="Task"),
        _SObject("Task.Call", "Tasks: calls", (), parents=ACTIVITY_PARENTS, needs_parent=True, api_name="Task", subtype="Call"),
        _SObject(
            "Task.Email", "Tasks: e-mails", (), parents=ACTIVITY_PARENTS, needs_parent=True, api_name="Task", subtype="Email"
        ),
        _SObject("Event", "Events", (), parents=ACTIVITY_PARENTS, needs_parent=True),
        _SObject("User", "Users", ("Email",), read_only=True, email_field="Email"),
    )
}
# Required Lead fields HubSpot often leaves empty: written as Salesforce's own "[not provided]" (the
# value HubSpot's Salesforce integration uses too) and read back as empty, so a HubSpot contact
# without a company name still becomes a Lead and the placeholder never flows back to HubSpot.
NOT_PROVIDED = "[not provided]"
PLACEHOLDER_FIELDS = {"Lead": ("LastName", "Company")}
# Per-record error codes and what they mean for a retry.
RECORD_KINDS = {
    "DUPLICATES_DETECTED": ErrorKind.CONFLICT,
    "DUPLICATE_VALUE": ErrorKind.CONFLICT,
    "ENTITY_IS_DELETED": ErrorKind.NOT_FOUND,
    "UNABLE_TO_LOCK_ROW": ErrorKind.SERVER,
    "REQUEST_LIMIT_EXCEEDED": ErrorKind.RATE_LIMITED,
    "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY": ErrorKind.AUTH,
    "INSUFFICIENT_ACCESS_OR_READONLY": ErrorKind.AUTH,
}


def salesforce_error(response: httpx.Response) -> ConnectorError:
    """`[{"message", "errorCode", "fields"}]` as one ConnectorError."""
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text[:500]
    first = body[0] if isinstance(body, list) and body and isinstance(body[0], dict) else {}
    message, code = str(first.get("message") or ""), str(first.get("errorCode") or "")
    status = response.status_code
    kind = kind_for_status(status)
    retry_after = retry_after_seconds(response)
    if code == "REQUEST_LIMIT_EXCEEDED":
        kind, retry_after = ErrorKind.RATE_LIMITED, retry_after or _seconds_to_midnight()
        message = f"The org's daily API request limit is used up ({message}); calls resume as the 24-hour window moves on."
    elif code == "INVALID_SESSION_ID":
        message = "Salesforce rejected the session (auth failed, INVALID_SESSION_ID): reconnect Salesforce."
    return ConnectorError(
        message or f"Salesforce answered HTTP {status}",
        kind,
        status=status,
        fields=first.get("fields") or (),
        vendor_code=code,
        retry_after=retry_after,
        body=body,
    )


class DailyBudget:
    """connectors.http.Limiter fed by Sforce-Limit-Info: the org's own count of today's calls (ours
    and every other app's) stops calls at the allowance, and the shared limiter counts ours
    against the allowance the org reported."""

    def __init__(self, org: str, daily: int, shared: Callable[[str, int], Limiter] | None = None, fixed: Limiter | None = None):
        self.org = org
        self.daily = daily
        self._shared = shared or limits.salesforce_limiter
        self._fixed = fixed is not None  # a limiter the caller chose (tests, the bench) is kept as it is
        self.inner = fixed if fixed is not None else self._shared(org, daily)
        self.used: int | None = None
        self._lock = threading.Lock()

    def acquire(self, request: httpx.Request) -> None:
        if request.url.path.startswith(("/services/oauth2/", "/cometd/")):
            return  # sign-in and the Streaming API do not count against the REST API allowance
        if self.used is not None and self.used >= self.daily:
            raise ConnectorError(
                f"The org's daily API allowance ({self.daily:,} calls) is used up (Sforce-Limit-Info "
                f"api-usage={self.used}/{self.daily}); calls resume as the 24-hour window moves on.",
                ErrorKind.RATE_LIMITED,
                retry_after=_seconds_to_midnight(),
            )
        self.inner.acquire(request)

    def observe(self, response: httpx.Response) -> None:
        usage = limits.api_usage(response)
        if usage is None:
            return
        used, daily = usage
        with self._lock:
            self.used = used
            if daily != self.daily:
                self.daily = daily
                if not self._fixed:
                    self.inner = self._shared(self.org, daily)
        noted = getattr(self.inner, "observe", None)  # the shared store notes the org's allowance (quota.py)
        if noted is not None:
            noted(response)


def _budget_kwargs(config: Mapping[str, Any], connection_pk: Any) -> dict[str, Any]:
    """The org's budget key and share (connectors/salesforce/budget.py) for the connector."""
    account = budget.account({**config}, connection_pk)
    return {"budget_account": account, "budget_share": lambda allowance: quota.daily_budget(allowance, config)}


class _ObservedAuth(httpx.Auth):
    """The session auth, plus every API answer's usage header handed to the daily budget."""

    def __init__(self, auth: oauth.SalesforceAuth, budget: DailyBudget):
        self.auth, self.budget = auth, budget

    def auth_flow(self, request: httpx.Request):
        flow = self.auth.auth_flow(request)
        outgoing = next(flow)
        while True:
            response = yield outgoing
            self.budget.observe(response)
            try:
                outgoing = flow.send(response)
            except StopIteration:
                return


class SalesforceConnector(Connector):
    system = "salesforce"
    max_batch_write = limits.COLLECTION_WRITE_MAX
    max_batch_read = LOOKUP_VALUES_PER_QUERY
    max_page_size = limits.QUERY_BATCH_MAX
    # No per-second limit is published; 25 long-running calls at once per org is the ceiling.
    max_concurrency = 8

    def __init__(
        self,
        instance_url: str,
        *,
        client_id: str,
        client_secret: str = "",
        access_token: str = "",
        refresh_token: str = "",
        username: str = "",
        private_key: str = "",
        environment: str = "production",
        login_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        limiter: Limiter | None = None,
        daily_limit: int = limits.DAILY_REQUESTS_ENTERPRISE,
        verify: bool | str = True,
        retry=None,
        api_version: str = API_VERSION,
        overlap_seconds: float = DEFAULT_OVERLAP_SECONDS,
        on_session: Callable[[oauth.Session], None] | None = None,
        on_reconnect_needed: Callable[[str], None] | None = None,
        budget_account: str = "",
        budget_share: Callable[[int], int] | None = None,
    ):
        self.instance_url = instance_url.rstrip("/")
        self.environment = environment
        self.login_url = oauth.login_url_for(environment, login_url)
        self.api_version = api_version
        self.api_root = f"/services/data/v{api_version}"
        self.overlap_seconds = overlap_seconds
        self.token_http = VendorHttp(
            self.login_url,
            system="Salesforce login",
            error_parser=oauth.token_error,
            transport=transport,
            verify=verify,
            retry=retry,
        )
        self.auth = oauth.SalesforceAuth(
            self.token_http,
            oauth.Session(access_token, self.instance_url, refresh_token),
            client_id=client_id,
            client_secret=client_secret,
            username=username,
            private_key=private_key,
            audience=limits.TEST_URL if environment == "sandbox" else limits.LOGIN_URL,
            on_session=on_session,
            on_reconnect_needed=on_reconnect_needed,
        )
        # The org's daily budget (connectors/salesforce/budget.py): `budget_share` turns the allowance
        # the org reports into our share of it; the shared limiter counts calls under `budget_account`.
        share = budget_share or (lambda allowance: allowance)
        self.budget = DailyBudget(
            budget_account or self.instance_url,
            daily_limit,
            shared=lambda account, allowance: limits.salesforce_limiter(account, share(allowance)),
            fixed=limiter,
        )
        self.http = VendorHttp(
            self.instance_url,
            system="Salesforce",
            auth=_ObservedAuth(self.auth, self.budget),
            limiter=self.budget,
            error_parser=salesforce_error,
            transport=transport,
            verify=verify,
            retry=retry,
            headers={"Accept": "application/json"},
        )
        self._describes: dict[str, dict[str, Any]] = {}
        self._metadata_lock = threading.Lock()

    @classmethod
    def from_connection(
        cls, connection: Any, transport: httpx.BaseTransport | None = None, limiter: Limiter | None = None, **kwargs: Any
    ) -> SalesforceConnector:
        config = connection.config or {}
        credentials = connection.credentials or {}
        session = oauth.Session.from_dict(connection.oauth_tokens or {})
        instance_url = session.instance_url or config.get("instance_url") or ""
        environment = getattr(connection, "environment", "production") or "production"
        if not instance_url and credentials.get("private_key") and config.get("client_id") and config.get("username"):
            kwargs.setdefault("verify", config.get("ca_file") or True)
            budgeted = _budget_kwargs(config, getattr(connection, "pk", None))
            return cls.from_jwt(
                config, credentials["private_key"], environment, transport=transport, limiter=limiter, **budgeted, **kwargs
            )
        can_sign_in = session.access_token or credentials.get("private_key") or session.refresh_token
        if not config.get("client_id") or not instance_url or not can_sign_in:
            raise ConnectorError(
                "The Salesforce connection is incomplete: connect Salesforce again (Sign in with Salesforce).", ErrorKind.CONFIG
            )

        @on_owner_thread  # a session may be renewed in a concurrent call; the database is the run's thread's
        def persist(fresh: oauth.Session) -> None:
            if getattr(connection, "pk", None):
                connection.save_tokens(fresh.as_dict(), None)

        @on_owner_thread
        def reconnect(message: str) -> None:
            if getattr(connection, "pk", None):
                connection.record_failure(message, reconnect=True)

        return cls(
            instance_url,
            client_id=config["client_id"],
            client_secret=credentials.get("client_secret", ""),
            access_token=session.access_token,
            refresh_token=session.refresh_token,
            username=config.get("username", ""),
            private_key=credentials.get("private_key", ""),
            environment=environment,
            login_url=config.get("login_url") or None,
            transport=transport,
            limiter=limiter,
            daily_limit=int(config.get("daily_limit") or limits.DAILY_REQUESTS_ENTERPRISE),
            **_budget_kwargs(config, getattr(connection, "pk", None)),
            verify=config.get("ca_file") or True,
            overlap_seconds=float(config.get("overlap_seconds", DEFAULT_OVERLAP_SECONDS)),
            on_session=persist,
            on_reconnect_needed=reconnect,
            **kwargs,
        )

    @classmethod
    def from_jwt(cls, config: Mapping[str, Any], private_key: str, environment: str, **kwargs: Any) -> SalesforceConnector:
        """Sign in with the JWT bearer flow first (the token answer names the instance URL), then build
        the connector on that instance."""
        login_url = oauth.login_url_for(environment, config.get("login_url") or None)
        audience = limits.TEST_URL if environment == "sandbox" else limits.LOGIN_URL
        token_http = VendorHttp(
            login_url,
            system="Salesforce login",
            error_parser=oauth.token_error,
            transport=kwargs.get("transport"),
            verify=kwargs.get("verify", True),
            retry=kwargs.get("retry"),
        )
        try:
            session = oauth.jwt_bearer(token_http, config["client_id"], config["username"], private_key, audience)
        except (ValueError, jwt.PyJWTError):  # an unreadable key: say so, never echo it
            raise ConnectorError(
                "The private key cannot be read: paste the PEM key whose certificate the connected app holds.", ErrorKind.CONFIG
            ) from None
        finally:
            token_http.close()
        return cls(
            session.instance_url,
            client_id=config["client_id"],
            access_token=session.access_token,
            username=config["username"],
            private_key=private_key,
            environment=environment,
            login_url=login_url,
            **kwargs,
        )

    def close(self) -> None:
        self.http.close()
        self.token_http.close()

    # --- object types and fields -------------------------------------------------------------
    def object_types(self) -> list[ObjectType]:
        return [s.object_type for s in SOBJECTS.values()]

    def _sobject(self, name: str) -> _SObject:
        found = SOBJECTS.get(name)
        if found is None:
            raise ConnectorError(f"Unknown object type {name!r} for Salesforce", ErrorKind.CONFIG)
        return found

    def describe(self, name: str) -> dict[str, Any]:
        """`/sobjects/{name}/describe`, once per connector (every read and write needs the field list)."""
        name = self._sobject(name).sobject
        found = self._describes.get(name)
        if found is None:
            with self._metadata_lock:
                found = self._describes.get(name)
                if found is None:
                    found = self.http.request("GET", f"{self.api_root}/sobjects/{name}/describe").json()
                    self._describes[name] = found
        return found

    def discover_fields(self, object_type: str) -> list[FieldInfo]:
        sobject = self._sobject(object_type)
        out = []
        for raw in self.describe(object_type).get("fields", []):
            info = self._field(sobject, raw)
            if info is not None:
                out.append(info)
        return out + related.pseudo_fields(sobject.sobject)  # WhatId as an Account and as an Opportunity

    def _field(self, sobject: _SObject, raw: dict[str, Any]) -> FieldInfo | None:
        name, kind = raw["name"], raw.get("type")
        if name == "Id" or kind in ("address", "location", "base64", "anyType", "encryptedstring", "complexvalue"):
            return None  # Record.id carries the id; compound and binary fields are not mapped
        reference_to, also = None, ()
        field_type = _field_type(kind, raw)
        if field_type in (FieldType.REFERENCE, FieldType.OWNER):
            targets = [t for t in raw.get("referenceTo") or () if t in SOBJECTS]
            if not targets:
                return None  # a reference to an object SyncSmart does not sync
            reference_to, also = targets[0], tuple(t for t in targets[1:] if t != "User")
            if reference_to == "User":
                field_type = FieldType.OWNER
        read_only = sobject.read_only or not (raw.get("createable") or raw.get("updateable"))
        required = bool(raw.get("createable")) and not raw.get("nillable") and not raw.get("defaultedOnCreate")
        options = _active_options(raw)
        return FieldInfo(
            name=name,
            label=str(raw.get("label") or name),
            type=field_type,
            required=required and kind != "boolean" and not read_only,
            read_only=read_only,
            options=options if field_type == FieldType.ENUM else (),
            reference_to=reference_to,
            also_references=also,
            description=f"Salesforce {kind} field {sobject.name}.{name}",
        )

    def _field_names(self, object_type: str) -> list[str]:
        return ["Id"] + [f.name for f in self.discover_fields(object_type) if f.name not in related.PSEUDO_FIELDS]

    def _types(self, object_type: str) -> dict[str, str]:
        return {f["name"]: f.get("type", "string") for f in self.describe(object_type).get("fields", [])}

    # --- the counterpart's id (write_back_ids): a custom field -------------------------------------
    id_field_objects: ClassVar[tuple[str, ...]] = ("Account", "Contact", "Lead", "Opportunity")

    @classmethod
    def default_id_field(cls, object_type: str, counterpart: str) -> str:
        if object_type not in cls.id_field_objects:
            return ""
        return "SyncSmart_" + re.sub(r"[^A-Za-z0-9]+", "_", counterpart).strip("_") + "_ID__c"

    @classmethod
    def id_field_problem(cls, name: str) -> str | None:
        if not CUSTOM_FIELD_NAME.fullmatch(name):
            return (
                "A Salesforce custom field's API name starts with a letter, has letters, digits and single underscores "
                "(40 at most) and ends in __c, e.g. SyncSmart_HubSpot_ID__c."
            )
        return None

    def ensure_id_field(self, object_type: str, name: str, counterpart: str) -> str:
        """The Text custom field through the Tooling API (POST tooling/sobjects/CustomField with its
        FullName and Metadata) when the sObject's describe does not list it; a field of that name
        made meanwhile (DUPLICATE_VALUE) is as good. Costs no call when describe already lists it."""
        if object_type not in self.id_field_objects:
            raise ConnectorError(f"Salesforce {object_type} cannot carry the other system's id", ErrorKind.CONFIG)
        existing = next((f for f in self.describe(object_type).get("fields", []) if f.get("name") == name), None)
        if existing is None:
            try:
                self.http.request(
                    "POST",
                    f"{self.api_root}/tooling/sobjects/CustomField",
                    json={
                        "FullName": f"{self._sobject(object_type).sobject}.{name}",
                        "Metadata": {
                            "label": f"{counterpart} ID"[:40],
                            "type": "Text",
                            "length": 100,
                            "description": f"The {counterpart} record this one is synced with, written by SyncSmart.",
                            "externalId": False,
                            "unique": False,
                            "required": False,
                        },
                    },
                    idempotent=False,
                )
            except ConnectorError as error:
                if error.vendor_code != "DUPLICATE_VALUE":
                    raise
            with self._metadata_lock:
                self._describes.pop(self._sobject(object_type).sobject, None)  # read again, with the new field
            existing = next((f for f in self.describe(object_type).get("fields", []) if f.get("name") == name), None)
        if existing is None or existing.get("type") not in ("string", "textarea") or not existing.get("updateable"):
            raise ConnectorError(f"The Salesforce field {name} is not a writable text field: name another one.", ErrorKind.CONFIG)
        return name

    # --- reading -------------------------------------------------------------------------------------
    def _query(self, soql: str, all_rows: bool = False, batch: int | None = None) -> tuple[list[dict[str, Any]], httpx.Response]:
        """Every record of a SOQL query, following nextRecordsUrl; also the first answer (for its Date)."""
        headers = {"Sforce-Query-Options": f"batchSize={batch}"} if batch else {}
        first = self.http.request(
            "GET", f"{self.api_root}/{'queryAll' if all_rows else 'query'}", params={"q": soql}, headers=headers
        )
        body = first.json()
        records = list(body.get("records", []))
        while not body.get("done", True) and body.get("nextRecordsUrl"):
            body = self.http.request("GET", body["nextRecordsUrl"], headers=headers).json()
            records.extend(body.get("records", []))
        return records, first

    def read_changes(self, object_type: str, cursor: dict[str, Any] | None, page_size: int | None = None) -> Page:
        sobject = self._sobject(object_type)
        size = max(1, min(page_size or limits.QUERY_BATCH_MAX, limits.QUERY_BATCH_MAX))
        state = {"floor": None, "after_id": "", "pass_start": None, "seen": {}} | dict(cursor or {})
        state["seen"] = dict(state.get("seen") or {})
        where = ""
        if state["floor"]:
            floor = datetime_literal(_parse_time(state["floor"]))
            where = f" WHERE SystemModstamp > {floor}"
            if state["after_id"]:
                where = f" WHERE (SystemModstamp > {floor} OR (SystemModstamp = {floor} AND Id > {quote(state['after_id'])}))"
            else:
                where = f" WHERE SystemModstamp >= {floor}"
        for condition in sobject.where():
            where = f"{where} AND {condition}" if where else f" WHERE {condition}"
        soql = (
            f"SELECT {', '.join(self._field_names(object_type))} FROM {sobject.sobject}{where} "
            f"ORDER BY SystemModstamp ASC, Id ASC LIMIT {size}"
        )
        items, answer = self._query(soql, all_rows=True, batch=max(limits.QUERY_BATCH_MIN, size))
        server_now = _server_time(answer)
        if state["pass_start"] is None:
            state["pass_start"] = server_now.isoformat()
        records = [self._record(object_type, item) for item in items]
        fresh = self._unseen(records, state["seen"], server_now)
        if len(items) >= size:
            last = records[-1]
            state["floor"], state["after_id"] = (last.updated_at or server_now).isoformat(), last.id
            return self._page(fresh, state, has_more=True)
        # The present is reached: the next pass starts `overlap_seconds` before this one began.
        newest = max((r.updated_at for r in records if r.updated_at), default=None)
        restart = _parse_time(state["pass_start"]) - dt.timedelta(seconds=self.overlap_seconds)
        floor = min(newest, restart) if newest else (min(_parse_time(state["floor"]), restart) if state["floor"] else None)
        state.update(floor=floor.isoformat() if floor else None, after_id="", pass_start=None)
        return self._page(fresh, state, has_more=False)

    @staticmethod
    def _unseen(records: list[Record], seen: dict[str, str], server_now: dt.datetime) -> list[Record]:
        fresh = []
        for record in records:
            stamp = record.updated_at.isoformat() if record.updated_at else ""
            if stamp and seen.get(record.id) == stamp:
                continue
            fresh.append(record)
            # Only a stamp older than the second we read it in names one version for sure.
            if record.updated_at and record.updated_at < server_now.replace(microsecond=0):
                seen[record.id] = stamp
        return fresh

    def _page(self, records: list[Record], state: dict[str, Any], has_more: bool) -> Page:
        keep_from = state["floor"] or ""
        if state.get("pass_start"):
            keep_from = min(keep_from or state["pass_start"], state["pass_start"])
        if keep_from:
            cut = (_parse_time(keep_from) - dt.timedelta(seconds=self.overlap_seconds)).isoformat()
            state["seen"] = {k: v for k, v in state["seen"].items() if v >= cut}
        if len(state["seen"]) > SEEN_LIMIT:  # keep the cursor small: forget the oldest (may re-deliver them)
            state["seen"] = dict(sorted(state["seen"].items(), key=lambda kv: kv[1])[-SEEN_LIMIT:])
        return Page(records, json.loads(json.dumps(state)), has_more)

    def _record(self, object_type: str, item: dict[str, Any]) -> Record:
        properties = {k: v for k, v in item.items() if k not in ("attributes", "Id")}
        for name in PLACEHOLDER_FIELDS.get(object_type, ()):
            if properties.get(name) == NOT_PROVIDED:
                properties[name] = None
        if self._sobject(object_type).sobject in related.ACTIVITY_SOBJECTS:
            properties.update(related.read_values(properties))
        return Record(
            id=str(item.get("Id") or ""),
            properties=properties,
            updated_at=_parse_time(item.get("SystemModstamp")),
            created_at=_parse_time(item.get("CreatedDate")),
            deleted=bool(item.get("IsDeleted")),
        )

    def read_by_ids(self, object_type: str, ids: Sequence[str]) -> list[Record]:
        """One sObject Collections retrieve per 2,000 ids; ids that cannot be this object's are left out."""
        prefix = self._key_prefix(object_type)
        wanted = [i for i in dict.fromkeys(str(i) for i in ids) if _is_id(i) and (not prefix or i.startswith(prefix))]
        names = self._field_names(object_type)
        out: list[Record] = []
        sobject = self._sobject(object_type)
        if sobject.subtype and "TaskSubtype" not in names:
            names.append("TaskSubtype")
        for chunk in chunked(wanted, limits.COLLECTION_READ_MAX):
            answer = self.http.request(
                "POST", f"{self.api_root}/composite/sobjects/{sobject.sobject}", json={"ids": chunk, "fields": names}
            ).json()
            out.extend(
                self._record(object_type, item)
                for item in answer
                if isinstance(item, dict) and (not sobject.subtype or item.get("TaskSubtype") == sobject.subtype)
            )
        return out

    def _key_prefix(self, object_type: str) -> str:
        return str(self.describe(object_type).get("keyPrefix") or "")

    def match_chunk_size(self, object_type: str, field_name: str) -> int:
        return LOOKUP_VALUES_PER_QUERY if field_name == "Email" else DOMAIN_VALUES_PER_QUERY  # LIKE terms: _lookup_where

    def find_by(self, object_type: str, field_name: str, values: Sequence[str]) -> dict[str, list[Record]]:
        sobject = self._sobject(object_type)
        if field_name not in sobject.match_fields:
            raise ConnectorError(
                f"Salesforce {object_type} cannot be looked up by {field_name!r}; use one of {', '.join(sobject.match_fields)}.",
                ErrorKind.CONFIG,
            )
        keys = [k for k in dict.fromkeys(_match_key(field_name, v) for v in values if v) if k]
        found: dict[str, list[Record]] = {k: [] for k in keys}
        names = ", ".join(self._field_names(object_type))
        for chunk in chunked(keys, self.match_chunk_size(object_type, field_name)):
            where = " AND ".join([f"({_lookup_where(field_name, chunk)})", *sobject.where()])
            items, _ = self._query(f"SELECT {names} FROM {sobject.sobject} WHERE {where}")
            for item in items:
                record = self._record(object_type, item)
                value = record.properties.get(field_name)
                held = [k for k in chunk if k == domain_of(value)] if field_name == "Website" else keys_held(chunk, value)
                for key in held:
                    if record.id not in {r.id for r in found[key]}:
                        found[key].append(record)
        return found

    # --- writing -------------------------------------------------------------------------------------
    def _body(
        self, object_type: str, properties: Mapping[str, Any], creating: bool = False, current: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        types = self._types(object_type)
        sobject = self._sobject(object_type)
        body: dict[str, Any] = {"attributes": {"type": sobject.sobject}}
        for name, value in properties.items():
            body[name] = _vendor_value(types.get(name), value, name)
        related.apply(body, current)  # Related To (Account / Opportunity) -> WhatId
        if str(body.get("WhoId") or "").startswith(LEAD_PREFIX) and body.get("WhatId"):
            body["WhatId"] = None  # an activity of a lead cannot be related to an account (Salesforce's rule)
        if creating and sobject.subtype:
            body["TaskSubtype"] = sobject.subtype  # set on insert only
        elif not creating:
            body.pop("TaskSubtype", None)  # createable, never updateable
        for name in PLACEHOLDER_FIELDS.get(object_type, ()):
            if (creating and not body.get(name)) or (name in body and not body[name]):
                body[name] = NOT_PROVIDED
        return body

    def create(self, object_type: str, inputs: Sequence[WriteInput]) -> list[WriteResult]:
        self._writable(object_type)
        return self._write("POST", object_type, [(inp, None) for inp in inputs])

    def update(self, object_type: str, inputs: Sequence[WriteInput]) -> list[WriteResult]:
        self._writable(object_type)
        prefix = self._key_prefix(object_type)
        pairs: list[tuple[WriteInput, WriteResult | None]] = []
        for inp in inputs:
            record_id = str(inp.id or "")
            if not _is_id(record_id) or (prefix and not record_id.startswith(prefix)):
                error = ConnectorError(f"{record_id!r} is not a Salesforce {object_type} id.", ErrorKind.NOT_FOUND, status=404)
                pairs.append((inp, WriteResult(inp.ref, error=error)))
            else:
                pairs.append((inp, None))
        return self._write("PATCH", object_type, pairs, self._current_related(object_type, pairs))

    def _current_related(self, object_type: str, pairs: list[tuple[WriteInput, WriteResult | None]]) -> dict[str, dict[str, Any]]:
        """{id: its WhatId and AccountId} of the activities whose update needs them (related.py)."""
        sobject = self._sobject(object_type).sobject
        if sobject not in related.ACTIVITY_SOBJECTS:
            return {}
        ids = [str(inp.id) for inp, settled in pairs if settled is None and related.needs_current(inp.properties)]
        out: dict[str, dict[str, Any]] = {}
        for chunk in chunked(ids, limits.COLLECTION_READ_MAX):
            answer = self.http.request(
                "POST",
                f"{self.api_root}/composite/sobjects/{sobject}",
                json={"ids": chunk, "fields": ["Id", "WhatId", "AccountId"]},
            ).json()
            out.update({str(item.get("Id")): item for item in answer if isinstance(item, dict)})
        return out

    def _writable(self, object_type: str) -> None:
        if self._sobject(object_type).read_only:
            raise ConnectorError(f"Salesforce {object_type} records are read only in SyncSmart.", ErrorKind.CONFIG)

    def _write(
        self,
        method: str,
        object_type: str,
        pairs: list[tuple[WriteInput, WriteResult | None]],
        currents: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> list[WriteResult]:
        results: dict[int, WriteResult] = {}
        pending: list[tuple[int, dict[str, Any]]] = []
        for index, (inp, settled) in enumerate(pairs):
            if settled is not None:
                results[index] = settled
                continue
            try:
                body = self._body(
                    object_type, inp.properties, creating=method == "POST", current=(currents or {}).get(str(inp.id))
                )
            except ConnectorError as error:
                results[index] = WriteResult(inp.ref, error=error)
                continue
            if method == "PATCH":
                body["id"] = inp.id
            pending.append((index, body))
        for chunk in chunked(pending, limits.COLLECTION_WRITE_MAX):
            answer = self.http.request(
                method,
                f"{self.api_root}/composite/sobjects",
                json={"allOrNone": False, "records": [body for _, body in chunk]},
                idempotent=method == "PATCH",  # a create retried after a lost answer could create twice
            ).json()
            for (index, _), item in zip(chunk, answer, strict=False):  # the vendor's answer, not ours to trust
                results[index] = self._result(pairs[index][0], item, method)
        return [results[i] for i in range(len(pairs))]

    def _result(self, inp: WriteInput, item: dict[str, Any], method: str) -> WriteResult:
        if item.get("success"):
            return WriteResult(inp.ref, id=str(item.get("id") or inp.id or ""))
        errors = item.get("errors") or [{}]
        first = errors[0]
        code = str(first.get("statusCode") or "")
        kind = RECORD_KINDS.get(code, ErrorKind.VALIDATION)
        if method == "PATCH" and code in ("INVALID_CROSS_REFERENCE_KEY", "MALFORMED_ID") and not first.get("fields"):
            kind = ErrorKind.NOT_FOUND  # the record being updated does not exist
        existing = _duplicate_of(first) if code == "DUPLICATES_DETECTED" else None
        message = "; ".join(f"{e.get('statusCode')}: {e.get('message')}" for e in errors if e) or "Salesforce refused the record"
        return WriteResult(
            inp.ref,
            error=ConnectorError(
                message, kind, fields=first.get("fields") or (), vendor_code=code, existing_id=existing, body=errors
            ),
        )

    # --- connection test -------------------------------------------------------------------------------
    def test_connection(self) -> ConnectionTest:
        try:
            usage = self.http.request("GET", f"{self.api_root}/limits").json().get("DailyApiRequests") or {}
            who = self.http.request("GET", "/services/oauth2/userinfo").json()
        except ConnectorError as error:
            if error.kind in (ErrorKind.NETWORK, ErrorKind.TIMEOUT):
                return ConnectionTest(False, f"Could not reach Salesforce at {self.instance_url}: {error.message}")
            if error.kind == ErrorKind.AUTH:
                return ConnectionTest(False, f"Salesforce refused the credentials: {error.message}")
            if error.kind == ErrorKind.NOT_FOUND:
                return ConnectionTest(
                    False, f"{self.instance_url} answered, but it is not a Salesforce REST API v{self.api_version}."
                )
            return ConnectionTest(False, f"Salesforce refused the connection test: {error.message}")
        remaining, allowance = usage.get("Remaining"), usage.get("Max")
        budget = f"; {remaining:,} of {allowance:,} API requests left today" if isinstance(remaining, int) and allowance else ""
        org = str(who.get("organization_id") or "")
        kind = "sandbox" if self.environment == "sandbox" else "production"
        return ConnectionTest(
            True,
            f"Connected to the Salesforce {kind} org {org} as {who.get('preferred_username', 'the user')}{budget}.",
            account=org,
        )


# --- helpers -------------------------------------------------------------------------------------------
def _active_options(raw: dict[str, Any]) -> tuple[Option, ...]:
    """A describe field's active picklist values."""
    return tuple(
        Option(str(p["value"]), str(p.get("label") or p["value"]))
        for p in raw.get("picklistValues") or ()
        if p.get("active", True)
    )


def _duplicate_of(error: dict[str, Any]) -> str | None:
    """The id of the existing record a DUPLICATES_DETECTED error names (its first match)."""
    matches = ((error.get("duplicateResult") or {}).get("matchResults") or [{}])[0].get("matchRecords") or []
    return str(((matches[0] if matches else {}).get("record") or {}).get("Id") or "") or None


def _field_type(kind: str | None, raw: dict[str, Any]) -> FieldType:
    if kind == "textarea":
        return FieldType.TEXT if int(raw.get("length") or 0) > 255 else FieldType.STRING
    return {
        "email": FieldType.EMAIL,
        "phone": FieldType.PHONE,
        "picklist": FieldType.ENUM,
        "boolean": FieldType.BOOL,
        "date": FieldType.DATE,
        "datetime": FieldType.DATETIME,
        "double": FieldType.NUMBER,
        "currency": FieldType.NUMBER,
        "percent": FieldType.NUMBER,
        "int": FieldType.NUMBER,
        "long": FieldType.NUMBER,
        "reference": FieldType.REFERENCE,
    }.get(kind or "", FieldType.STRING)


def _vendor_value(kind: str | None, value: Any, name: str) -> Any:
    """A flat engine value as Salesforce's JSON wants it for a field of `kind`."""
    if value is None or (value == "" and kind not in (None,)):
        return None
    if kind in ("double", "currency", "percent", "int", "long") and isinstance(value, str):
        try:
            number = float(value.replace(",", "").strip())
        except ValueError:
            raise ConnectorError(f"{value!r} is not a number for {name}.", ErrorKind.VALIDATION, fields=[name]) from None
        return int(number) if kind in ("int", "long") else number
    if kind == "boolean" and isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "y", "on")
    if kind == "date" and isinstance(value, str):
        return value.strip()[:10]
    if isinstance(value, dt.datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _parse_time(value: Any) -> dt.datetime | None:
    if not value:
        return None
    if isinstance(value, dt.datetime):
        return value
    text = str(value).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    elif len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _server_time(response: httpx.Response) -> dt.datetime:
    header = response.headers.get("Date")
    if header:
        try:
            return email.utils.parsedate_to_datetime(header).astimezone(UTC)
        except (TypeError, ValueError):
            pass
    return dt.datetime.now(UTC).replace(microsecond=0)


def _is_id(value: str) -> bool:
    return len(value) in (15, 18) and value.isalnum()


def domain_of(value: Any) -> str:
    """'https://www.Acme.com/about' -> 'acme.com'."""
    text = str(value or "").strip().lower()
    if not text:
        return ""
    host = urlsplit(text if "://" in text else f"//{text}").hostname or ""
    return host[4:] if host.startswith("www.") else host


def _lookup_where(field_name: str, keys: list[str]) -> str:
    """A look-up's WHERE: the domain (Website, stored as typed: "https://www.acme.com/") or each
    key's longest word with LIKE (connectors.base.lookup_fragment: SOQL's LIKE ignores case, and
    "ACME  Inc." or " Ava.Kim@X.com" are found; a `_` or `%` in the word only widens the search,
    what is found is compared after); the exact values when a word is too short, and for Email
    (Salesforce stores an e-mail validated and trimmed, and compares it ignoring case)."""
    if field_name == "Website":
        return " OR ".join(f"Website LIKE {quote('%' + k + '%')}" for k in keys)
    fragments = searchable_fragments(keys) if field_name != "Email" else None
    if fragments is None:
        return f"{field_name} IN ({', '.join(quote(k) for k in keys)})"  # SOQL compares strings case-insensitively
    return " OR ".join(f"{field_name} LIKE {quote('%' + f + '%')}" for f in fragments)


def _match_key(field_name: str, value: Any) -> str:
    if value is None:
        return ""
    return domain_of(value) if field_name == "Website" else str(value).strip().lower()


def _seconds_to_midnight() -> float:
    now = dt.datetime.now(UTC)
    return ((now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0) - now).total_seconds()
