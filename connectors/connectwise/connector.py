"""The ConnectWise Manage connector: companies, contacts, opportunities and members over REST.

Shape the engine relies on (see connectors.base for the interface):
- object types "companies", "contacts", "opportunities", "members" (members read-only, matched
  by e-mail);
- flat fields: a contact's `email` / `phone` are its default e-mail and its direct phone inside
  `communicationItems`; references (`company`, `contact`) are ids of type REFERENCE;
  `status` / `type` / `stage` are ENUM fields whose options are ConnectWise's lists (value = id
  as a string, label = name); `primarySalesRep` is an OWNER reference to members; custom fields
  (the `customFields` array) are `custom_<id>` fields with their own types;
- incremental reads: `conditions=lastUpdated >= [since - overlap]` ordered by lastUpdated then
  id, continued page by page with a keyset condition (lastUpdated, id) rather than page numbers,
  because a record edited while we page would move and make a page-number read skip another one;
  `Link rel="next"` tells whether more pages exist. ConnectWise stamps lastUpdated to the
  second and a slow transaction can commit with an older stamp, so every fresh read rewinds the
  cursor by OVERLAP (re-reading a few records is harmless; missing one is not);
- look-ups: one `in (...)` condition per batch (`childConditions` for contact e-mails), pages
  followed through `Link rel="next"`;
- deletions: ConnectWise lists never show deleted records, so deletes arrive only through
  callbacks (parse_webhook -> change "deleted"), never through read_changes;
- writes: ConnectWise has no batch endpoint, so create / update go record by record (POST, and
  PATCH with JSON-patch operations) and each input gets its own WriteResult;
- activities (issue 19): `/sales/activities` as one object type per activity type
  ("call_activities", "email_activities", "task_activities", "meeting_activities": read with
  `type/name = "Call"`..., created with that type's id), never created without a contact, company
  or opportunity; `assignTo` is required by ConnectWise, so an activity whose owner did not map
  is assigned to the connection's `default_member` (config, a member identifier) or else the
  first active member by id (see _default_member); contact and company notes
  ("contact_notes", "company_notes") live under their record (`/company/contacts/{id}/notes`),
  so their ids are "<record id>:<note id>" and reading them walks the records: one call per
  contact or company per run (ConnectWise has no list of all notes).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
from httpx_retries import Retry

from connectors.base import (
    UNSURE_TYPE,
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
    WebhookEvent,
    WriteInput,
    WriteResult,
)
from connectors.connectwise import API_PATH, MAX_PAGE_SIZE, budget
from connectors.connectwise import callbacks as cb
from connectors.connectwise.conditions import datetime_literal, in_list, quote
from connectors.http import Limiter, VendorHttp, allowed_emulator_hosts, kind_for_status, retry_after_seconds, tls_context
from syncsmart import jsonbounds

log = logging.getLogger("syncsmart.connectwise")

# Fresh reads start this much before the last change seen (lastUpdated has 1 s precision).
OVERLAP = dt.timedelta(seconds=60)
# ConnectWise documents no URL limit; keep each conditions string well under the 8 KB that
# common proxies accept once URL-encoded.
MAX_CONDITION_CHARS = 3000
ACCEPT = "application/vnd.connectwise.com+json; version=2022.1"
IDENTIFIER_LENGTH = 25
# "Test connection" is interactive: one quick retry, not the sync's patient backoff.
# ConnectWise lists notes only per record: a new walk of every contact / company for their notes
# starts at most this often (the connection's config["notes_every_minutes"]).
NOTES_EVERY = dt.timedelta(minutes=15)
QUICK_RETRY = Retry(
    total=1,
    backoff_factor=0.2,
    respect_retry_after_header=False,
    max_backoff_wait=1.0,
    status_forcelist=(502, 503, 504),
    allowed_methods=["GET"],
)  # ConnectWise's company identifier ("Company ID" on screen) limit


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    type: FieldType
    kind: str = "scalar"  # scalar | ref | types | email | phone | info (_info stamp) | parent (a note's record) | start
    path: str = ""  # the ConnectWise field (defaults to name)
    lookup: str = ""  # list endpoint of an ENUM's options
    lookup_label: str = "name"
    reference_to: str | None = None
    required: bool = False
    read_only: bool = False

    @property
    def cw_path(self) -> str:
        return self.path or self.name


@dataclass(frozen=True)
class ObjectSpec:
    name: str
    label: str
    path: str
    screen: str | None
    fields: tuple[FieldSpec, ...]
    match_fields: tuple[str, ...] = ()
    parents: tuple[str, ...] = ()
    read_only: bool = False
    email_field: str | None = None
    required_refs: tuple[str, ...] = ()  # references the integration insists on before a create
    activity_type: str = ""  # a sales activity object type: the ConnectWise activity type it holds
    note_parent: str = ""  # a note object type: the reference naming the record it lives under
    needs_parent: bool = False  # an activity / note: never created without one of `parents`

    def spec(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)


S, T, N, B, DT = FieldType.STRING, FieldType.TEXT, FieldType.NUMBER, FieldType.BOOL, FieldType.DATETIME
ACTIVITY_PARENTS = ("contacts", "companies", "opportunities")


def _activity_spec(name: str, label: str, activity_type: str) -> ObjectSpec:
    """Sales activities of one type (`/sales/activities` where type/name is `activity_type`)."""
    return ObjectSpec(
        name,
        label,
        "sales/activities",
        "Activity",
        (
            FieldSpec("name", "Subject", S, required=True),
            FieldSpec("notes", "Notes", T),
            FieldSpec("status", "Status", FieldType.ENUM, "ref", lookup="sales/activities/statuses"),
            FieldSpec("dateStart", "Start", DT, "start"),
            FieldSpec("dateEnd", "End", DT),
            FieldSpec("email", "E-mail", FieldType.EMAIL),
            FieldSpec("phoneNumber", "Phone", FieldType.PHONE),
            FieldSpec("company", "Company", FieldType.REFERENCE, "ref", reference_to="companies"),
            FieldSpec("contact", "Contact", FieldType.REFERENCE, "ref", reference_to="contacts"),
            FieldSpec("opportunity", "Opportunity", FieldType.REFERENCE, "ref", reference_to="opportunities"),
            FieldSpec("assignTo", "Assigned to", FieldType.OWNER, "ref", reference_to="members"),
            FieldSpec("dateEntered", "Entered", DT, "info", read_only=True),
        ),
        parents=ACTIVITY_PARENTS,
        activity_type=activity_type,
        needs_parent=True,
    )


def _note_spec(name: str, label: str, parent_path: str, parent_ref: str, parent_type: str, parent_field: str) -> ObjectSpec:
    """Notes under a contact or company (`/company/contacts/{parentId}/notes`)."""
    return ObjectSpec(
        name,
        label,
        f"{parent_path}/{{parentId}}/notes",
        None,
        (
            FieldSpec("text", "Note", T, required=True),
            FieldSpec("type", "Note type", FieldType.ENUM, "ref", lookup="company/noteTypes"),
            FieldSpec("flagged", "Flagged", B),
            FieldSpec(
                parent_ref, parent_ref.capitalize(), FieldType.REFERENCE, "parent", path=parent_field, reference_to=parent_type
            ),
            FieldSpec("dateEntered", "Entered", DT, "info", read_only=True),
        ),
        parents=(parent_type,),
        required_refs=(parent_ref,),
        note_parent=parent_ref,
        needs_parent=True,
    )


OBJECTS: dict[str, ObjectSpec] = {
    o.name: o
    for o in [
        ObjectSpec(
            "companies",
            "Companies",
            "company/companies",
            "Company",
            (
                FieldSpec("identifier", "Company ID", S),
                FieldSpec("name", "Company name", S, required=True),
                FieldSpec("status", "Status", FieldType.ENUM, "ref", lookup="company/companies/statuses"),
                FieldSpec("type", "Type", FieldType.ENUM, "types", path="types", lookup="company/companies/types"),
                FieldSpec("website", "Website", S),
                FieldSpec("phoneNumber", "Phone", FieldType.PHONE),
                FieldSpec("faxNumber", "Fax", FieldType.PHONE),
                FieldSpec("addressLine1", "Address line 1", S),
                FieldSpec("addressLine2", "Address line 2", S),
                FieldSpec("city", "City", S),
                FieldSpec("state", "State", S),
                FieldSpec("zip", "Zip", S),
                FieldSpec("accountNumber", "Account number", S),
                FieldSpec("annualRevenue", "Annual revenue", N),
                FieldSpec("numberOfEmployees", "Number of employees", N),
                FieldSpec("leadSource", "Lead source", S),
                FieldSpec("dateAcquired", "Date acquired", DT),
            ),
            match_fields=("identifier", "website"),
        ),
        ObjectSpec(
            "contacts",
            "Contacts",
            "company/contacts",
            "Contact",
            (
                FieldSpec("firstName", "First name", S, required=True),
                FieldSpec("lastName", "Last name", S),
                FieldSpec("email", "E-mail", FieldType.EMAIL, "email"),
                FieldSpec("phone", "Direct phone", FieldType.PHONE, "phone"),
                FieldSpec("title", "Title", S),
                FieldSpec("company", "Company", FieldType.REFERENCE, "ref", reference_to="companies", required=True),
                FieldSpec(
                    "type",
                    "Type",
                    FieldType.ENUM,
                    "types",
                    path="types",
                    lookup="company/contacts/types",
                    lookup_label="description",
                ),
                FieldSpec("inactiveFlag", "Inactive", B),
            ),
            match_fields=("email",),
            parents=("companies",),
            required_refs=("company",),
        ),
        ObjectSpec(
            "opportunities",
            "Opportunities",
            "sales/opportunities",
            "Opportunity",
            (
                FieldSpec("name", "Opportunity name", S, required=True),
                FieldSpec("expectedCloseDate", "Expected close date", DT),
                FieldSpec("stage", "Stage", FieldType.ENUM, "ref", lookup="sales/stages"),
                FieldSpec("status", "Status", FieldType.ENUM, "ref", lookup="sales/opportunities/statuses"),
                FieldSpec("type", "Type", FieldType.ENUM, "ref", lookup="sales/opportunities/types", lookup_label="description"),
                FieldSpec("notes", "Notes", T),
                FieldSpec("source", "Source", S),
                FieldSpec("customerPO", "Customer PO", S),
                FieldSpec("company", "Company", FieldType.REFERENCE, "ref", reference_to="companies", required=True),
                FieldSpec("contact", "Contact", FieldType.REFERENCE, "ref", reference_to="contacts", required=True),
                FieldSpec("primarySalesRep", "Sales rep", FieldType.OWNER, "ref", reference_to="members"),
                FieldSpec("closedDate", "Closed date", DT, read_only=True),
                FieldSpec("closedFlag", "Closed", B, read_only=True),
            ),
            parents=("companies", "contacts"),
            required_refs=("company", "contact"),
        ),
        ObjectSpec(
            "members",
            "Members",
            "system/members",
            None,
            (
                FieldSpec("identifier", "Member ID", S, read_only=True),
                FieldSpec("firstName", "First name", S, read_only=True),
                FieldSpec("lastName", "Last name", S, read_only=True),
                FieldSpec("email", "E-mail", FieldType.EMAIL, path="primaryEmail", read_only=True),
                FieldSpec("title", "Title", S, read_only=True),
                FieldSpec("inactiveFlag", "Inactive", B, read_only=True),
            ),
            match_fields=("email",),
            read_only=True,
            email_field="email",
        ),
        _activity_spec("call_activities", "Activities: calls", "Call"),
        _activity_spec("email_activities", "Activities: e-mails", "Email"),
        _activity_spec("task_activities", "Activities: tasks", "Task"),
        _activity_spec("meeting_activities", "Activities: meetings", "Meeting"),
        _note_spec("contact_notes", "Contact notes", "company/contacts", "contact", "contacts", "contactId"),
        _note_spec("company_notes", "Company notes", "company/companies", "company", "companies", "company"),
    ]
}
# ConnectWise activity type (lower case) -> our object type holding it: "call" -> "call_activities".
ACTIVITY_OBJECT_TYPES = {o.activity_type.lower(): o.name for o in OBJECTS.values() if o.activity_type}
UDF_TYPES = {
    "Text": S,
    "TextArea": T,
    "Hyperlink": S,
    "Number": N,
    "Currency": N,
    "Percent": N,
    "Date": FieldType.DATE,
    "Checkbox": B,
}


def parse_error(response: httpx.Response) -> ConnectorError:
    """ConnectWise's {code, message, errors[{code, message, resource, field}]} -> ConnectorError."""
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text[:500]
    status = response.status_code
    vendor_code, message, fields = "", "", []
    if isinstance(body, dict):
        vendor_code = str(body.get("code") or "")
        message = str(body.get("message") or "")
        details = [e for e in body.get("errors") or [] if isinstance(e, dict)]
        fields = [str(e["field"]) for e in details if e.get("field")]
        if details:
            message = "; ".join(str(e.get("message") or e.get("code")) for e in details) or message
    if status == 401:
        message = (
            "ConnectWise refused the credentials: check the company ID, the public and private API keys and "
            "the clientId." + (f" ({message})" if message else "")
        )
    elif status == 403:
        message = ("The API member's security role does not allow this. " + message).strip()
    return ConnectorError(
        message or f"ConnectWise answered HTTP {status}",
        kind_for_status(status),
        status=status,
        fields=fields,
        vendor_code=vendor_code,
        retry_after=retry_after_seconds(response),
        body=body,
    )


# Callback signing keys per (site, key id), for the process: webhook views build a connector per
# request. Bounded, oldest out first; failed fetches are remembered for KEY_FAILURE_SECONDS.
_SIGNING_KEYS: dict[tuple[str, str], str] = {}
_KEY_FAILURES: dict[tuple[str, str], float] = {}
_SIGNING_KEYS_LOCK = threading.Lock()
KEY_CACHE_SIZE = 512
KEY_FAILURE_SECONDS = 60.0
KEY_FETCH_TIMEOUT = httpx.Timeout(3.0)


def _bounded_put(cache: dict, key: Any, value: Any) -> None:
    if key not in cache and len(cache) >= KEY_CACHE_SIZE:
        cache.pop(next(iter(cache)))
    cache[key] = value


@dataclass
class _Caches:
    options: dict[str, tuple[Option, ...]] = field(default_factory=dict)
    udfs: list[dict] | None = None
    communication_types: dict[str, int] | None = None
    activity_types: dict[str, int] | None = None  # lower-cased name -> id
    default_member: int | None = None


UDF_PODS = {"Company": 1, "Contact": 2, "Opportunity": 3}  # the screen a custom field is on, by its podId


class ConnectWiseConnector(Connector):
    system = "connectwise"
    # No batch endpoint: one record per vendor call. create()/update() accept any number of
    # inputs and loop, reporting a WriteResult per input.
    max_batch_write: ClassVar[int] = 1
    # ids / values per `in (...)` look-up; the conditions string is also capped by length.
    max_batch_read: ClassVar[int] = 200
    max_page_size: ClassVar[int] = MAX_PAGE_SIZE
    # ConnectWise publishes no request-rate limit for its cloud API (the default limiter only counts
    # the company's daily budget: connectors/connectwise/budget.py), nor a concurrency limit.
    # Writes are one record per call, so a page's writes go out eight at a time rather than one
    # after another.
    max_concurrency: ClassVar[int] = 8
    id_field_objects: ClassVar[tuple[str, ...]] = ("companies", "contacts", "opportunities")
    # A PATCH of customFields replaces the array, so an id written back needs the record's current
    # custom fields: 25 records per write_back_id share one GET (then one PATCH each), and a page's
    # calls still go out eight at a time.
    max_batch_write_back: ClassVar[int | None] = 25

    def __init__(
        self,
        *,
        base_url: str,
        company_id: str,
        public_key: str,
        private_key: str,
        client_id: str,
        transport: httpx.BaseTransport | None = None,
        limiter: Limiter | None = None,
        retry: Retry | None = None,
        verify: bool | str = True,
        overlap: dt.timedelta = OVERLAP,
        default_member: str = "",
        notes_every: dt.timedelta = NOTES_EVERY,
    ):
        self.site_root = base_url.rstrip("/")
        self.default_member_identifier = default_member
        self.notes_every = notes_every
        self.company_id = company_id
        self.overlap = overlap
        self._verify = tls_context(verify)  # a CA file (the emulator's, with --tls): one shared context
        self._transport = transport
        self.http = VendorHttp(
            self.site_root + API_PATH,
            system="ConnectWise",
            auth=httpx.BasicAuth(f"{company_id}+{public_key}", private_key),
            headers={"clientId": client_id, "Accept": ACCEPT},
            limiter=limiter,
            error_parser=parse_error,
            retry=retry,
            verify=self._verify,
            transport=transport,
        )
        self.caches = _Caches()
        # Concurrent writes of a page may all need the communication types first: fetch them once.
        self._caches_lock = threading.Lock()

    @classmethod
    def from_connection(
        cls,
        connection: Any,
        transport: httpx.BaseTransport | None = None,
        limiter: Limiter | None = None,
        retry: Retry | None = None,
        **kwargs: Any,
    ) -> ConnectWiseConnector:
        config = connection.config or {}
        credentials = connection.credentials or {}
        missing = [k for k in ("base_url", "company_id", "public_key", "client_id") if not config.get(k)]
        if missing or not credentials.get("private_key"):
            raise ConnectorError(
                "The ConnectWise connection is incomplete: enter the site, company ID, keys and client id again.",
                ErrorKind.CONFIG,
            )

        _check_site_url(config["base_url"])
        return cls(
            base_url=config["base_url"],
            company_id=config["company_id"],
            public_key=config["public_key"],
            private_key=credentials["private_key"],
            client_id=config["client_id"],
            transport=transport,
            limiter=limiter if limiter is not None else budget.budget_limiter(config, getattr(connection, "pk", None)),
            retry=retry,
            verify=config.get("ca_file") or True,
            default_member=str(config.get("default_member") or ""),
            notes_every=dt.timedelta(minutes=float(config.get("notes_every_minutes", NOTES_EVERY.total_seconds() / 60))),
            **kwargs,
        )

    # --- object types and fields -------------------------------------------------------------
    def object_types(self) -> list[ObjectType]:
        return [
            ObjectType(
                name=o.name,
                label=o.label,
                primary_key="id",
                cursor_field="lastUpdated",
                match_fields=o.match_fields,
                parents=o.parents,
                read_only=o.read_only,
                email_field=o.email_field,
                needs_parent=o.needs_parent,
            )
            for o in OBJECTS.values()
        ]

    def _spec(self, object_type: str) -> ObjectSpec:
        spec = OBJECTS.get(object_type)
        if spec is None:
            raise ConnectorError(f"Unknown object type {object_type!r} for ConnectWise", ErrorKind.CONFIG)
        return spec

    def discover_fields(self, object_type: str) -> list[FieldInfo]:
        spec = self._spec(object_type)
        fields = [
            FieldInfo(
                name=f.name,
                label=f.label,
                type=f.type,
                required=f.required,
                read_only=f.read_only or spec.read_only,
                options=self._options(f) if f.lookup else (),
                reference_to=f.reference_to,
            )
            for f in spec.fields
        ]
        if spec.screen:
            fields += [self._custom_field_info(udf) for udf in self._udfs(spec.screen)]
        return fields

    def _options(self, spec: FieldSpec) -> tuple[Option, ...]:
        if spec.lookup not in self.caches.options:
            rows = self._get_all(spec.lookup, {"pageSize": MAX_PAGE_SIZE, "orderBy": "id asc"})
            self.caches.options[spec.lookup] = tuple(
                Option(
                    value=str(r["id"]), label=str(r.get(spec.lookup_label) or r.get("name") or r.get("description") or r["id"])
                )
                for r in rows
            )  # retired options stay: records may still carry them
        return self.caches.options[spec.lookup]

    def _udfs(self, screen: str) -> list[dict]:
        if self.caches.udfs is None:
            self.caches.udfs = self._get_all("system/userDefinedFields", {"pageSize": MAX_PAGE_SIZE, "orderBy": "id asc"})
        return [u for u in self.caches.udfs if u.get("screenId") == screen]

    @staticmethod
    def _custom_field_info(udf: dict) -> FieldInfo:
        options: tuple[Option, ...] = ()
        kind = UDF_TYPES.get(udf.get("fieldTypeIdentifier", "Text"), S)
        if udf.get("entryTypeIdentifier") in ("List", "Option") and udf.get("listItems"):
            kind = FieldType.ENUM
            options = tuple(Option(value=i["description"], label=i["description"]) for i in udf["listItems"])
        return FieldInfo(
            name=f"custom_{udf['id']}",
            label=udf.get("caption") or f"Custom field {udf['id']}",
            type=kind,
            required=bool(udf.get("requiredFlag")),
            options=options,
            description=udf.get("helpText") or "",
        )

    # --- the counterpart's id (write_back_ids): a custom field ----------------------------------
    @classmethod
    def default_id_field(cls, object_type: str, counterpart: str) -> str:
        return f"SyncSmart {counterpart} ID" if object_type in cls.id_field_objects else ""

    @classmethod
    def id_field_problem(cls, name: str) -> str | None:
        if not name.strip() or len(name) > 50 or not name.isprintable():
            return "A ConnectWise custom field's caption is 1 to 50 printable characters."
        return None

    def ensure_id_field(self, object_type: str, name: str, counterpart: str) -> str:
        """The custom field captioned `name` on the record's screen (`custom_<id>`), created
        through POST system/userDefinedFields (a text entry field) when the screen has none."""
        spec = self._spec(object_type)
        if object_type not in self.id_field_objects or not spec.screen:
            raise ConnectorError(f"ConnectWise {object_type} cannot carry the other system's id", ErrorKind.CONFIG)
        udfs = self._udfs(spec.screen)
        found = next((u for u in udfs if str(u.get("caption") or "").strip().lower() == name.strip().lower()), None)
        if found is not None and (found.get("fieldTypeIdentifier"), found.get("entryTypeIdentifier")) != ("Text", "EntryField"):
            raise ConnectorError(
                f"The ConnectWise custom field “{name}” is not a text entry field: name another one.", ErrorKind.CONFIG
            )
        if found is None:
            with self._caches_lock:
                found = self.http.request(
                    "POST",
                    "system/userDefinedFields",
                    json={
                        "podId": UDF_PODS[spec.screen],
                        "caption": name.strip(),
                        "sequenceNumber": max((int(u.get("sequenceNumber") or 0) for u in udfs), default=0) + 1,
                        "helpText": f"The {counterpart} record this one is synced with, written by SyncSmart.",
                        "fieldTypeIdentifier": "Text",
                        "entryTypeIdentifier": "EntryField",
                        "requiredFlag": False,
                    },
                    idempotent=False,
                ).json()
                self.caches.udfs = None
        return f"custom_{found['id']}"

    # --- reading ---------------------------------------------------------------------------------
    @classmethod
    def cursor_at(cls, since: dt.datetime) -> dict[str, Any] | None:
        return {"since": since.isoformat().replace("+00:00", "Z")}  # read_changes: lastUpdated from then on

    def count_records(self, object_type: str, since: dt.datetime | None = None) -> int | None:
        """The list's `/count` endpoint, with the same lastUpdated condition when a date is given."""
        spec = self._spec(object_type)
        if spec.note_parent:
            return self._count_notes(spec, since)
        conditions = _all_of(f"lastUpdated >= {datetime_literal(since)}" if since else "", _type_condition(spec))
        params = {"conditions": conditions} if conditions else {}
        return int(self.http.request("GET", spec.path + "/count", params=params).json().get("count", 0))

    def read_changes(self, object_type: str, cursor: dict[str, Any] | None, page_size: int | None = None) -> Page:
        spec = self._spec(object_type)
        if spec.note_parent:
            return self._read_note_changes(spec, cursor or {})
        size = max(1, min(page_size or MAX_PAGE_SIZE, MAX_PAGE_SIZE))
        params: dict[str, Any] = {"orderBy": "lastUpdated asc, id asc", "pageSize": size, "page": 1}
        conditions = _all_of(self._change_conditions(cursor or {}), _type_condition(spec))
        if conditions:
            params["conditions"] = conditions
        response = self.http.request("GET", spec.path, params=params)
        rows = response.json()
        has_more = "next" in response.links
        if not rows:
            return Page(records=[], cursor=_resting_cursor(cursor or {}), has_more=False)
        seen = (cursor or {}).get("seen") or {}
        records = [self._record(spec, row) for row in rows if not seen or seen.get(str(row["id"])) != _version(row)]
        last = rows[-1]
        next_cursor: dict[str, Any] = {"since": last["_info"]["lastUpdated"], "after_id": last["id"], "paging": has_more}
        if not has_more:
            next_cursor["seen"] = self._versions_in_overlap(rows, _parse_time(last["_info"]["lastUpdated"]))
        return Page(records=records, cursor=next_cursor, has_more=has_more)

    def _versions_in_overlap(self, rows: list[dict[str, Any]], newest: dt.datetime) -> dict[str, str]:
        """The versions the next run's overlap will read again, so it can skip them: without this
        every run re-delivered the records of the last minute. A version is the row's content
        fingerprint, not its stamp: ConnectWise stamps to the second, so a second edit within the
        same second keeps the stamp but not the content, and must still be delivered. Only the
        pass's last page is remembered (a long backfill's earlier pages may be re-read once)."""
        floor = newest - self.overlap
        return {str(row["id"]): _version(row) for row in rows if _parse_time(row["_info"]["lastUpdated"]) >= floor}

    def _change_conditions(self, cursor: Mapping[str, Any]) -> str:
        since = cursor.get("since")
        if not since:
            return ""
        stamp = _parse_time(since)
        if cursor.get("paging"):
            # Mid-read: continue exactly after the last (lastUpdated, id) returned.
            lit = datetime_literal(stamp)
            return f"lastUpdated > {lit} or (lastUpdated = {lit} and id > {int(cursor['after_id'])})"
        return f"lastUpdated >= {datetime_literal(stamp - self.overlap)}"

    def read_by_ids(self, object_type: str, ids: Sequence[str]) -> list[Record]:
        spec = self._spec(object_type)
        if spec.note_parent:
            return self._read_notes_by_ids(spec, ids)
        numeric = sorted({int(i) for i in ids if str(i).isdigit()})
        records: list[Record] = []
        for chunk in _condition_chunks("id", numeric, self.max_batch_read):
            records += [
                self._record(spec, row) for row in self._get_all(spec.path, {"conditions": chunk, "pageSize": MAX_PAGE_SIZE})
            ]
        return records

    def find_by(self, object_type: str, field_name: str, values: Sequence[str]) -> dict[str, list[Record]]:
        spec = self._spec(object_type)
        fspec = spec.spec(field_name)
        if fspec is None or field_name not in spec.match_fields:
            raise ConnectorError(f"ConnectWise {object_type} cannot be looked up by {field_name!r}", ErrorKind.CONFIG)
        wanted = {str(v).strip().lower(): str(v) for v in values if str(v).strip()}
        found: dict[str, list[Record]] = {key: [] for key in wanted}
        if not wanted:
            return found
        if fspec.kind == "email":
            self._find_contacts_by_email(spec, wanted, found)
        elif field_name == "website":
            self._find_companies_by_domain(spec, wanted, found)
        else:
            for chunk in _condition_chunks(fspec.cw_path, sorted(set(wanted.values())), self.max_batch_read):
                for row in self._get_all(spec.path, {"conditions": chunk, "pageSize": MAX_PAGE_SIZE}):
                    record = self._record(spec, row)
                    value = str(record.properties.get(field_name) or "").lower()
                    if value in found:
                        found[value].append(record)
        return found

    def _find_contacts_by_email(self, spec: ObjectSpec, wanted: dict[str, str], found: dict[str, list[Record]]) -> None:
        for chunk in _condition_chunks("communicationItems/value", sorted(wanted), self.max_batch_read):
            params = {"childConditions": f'{chunk} and communicationItems/communicationType = "Email"', "pageSize": MAX_PAGE_SIZE}
            for row in self._get_all(spec.path, params):
                record = self._record(spec, row)
                for email in {
                    str(i.get("value") or "").lower()
                    for i in row.get("communicationItems") or []
                    if i.get("communicationType") == "Email"
                }:
                    if email in found:
                        found[email].append(record)

    def _find_companies_by_domain(self, spec: ObjectSpec, wanted: dict[str, str], found: dict[str, list[Record]]) -> None:
        by_domain: dict[str, list[str]] = {}
        for key in wanted:
            by_domain.setdefault(normalise_domain(key), []).append(key)
        domains = sorted(d for d in by_domain if d)
        for chunk in _or_chunks("website", "contains", domains):
            for row in self._get_all(spec.path, {"conditions": chunk, "pageSize": MAX_PAGE_SIZE}):
                for key in by_domain.get(normalise_domain(row.get("website") or ""), []):
                    found[key].append(self._record(spec, row))

    def _get_all(self, path: str, params: dict[str, Any], max_pages: int = 1000) -> list[dict]:
        """Every row of a list query, following `Link rel="next"` on our own site only."""
        rows: list[dict] = []
        response = self.http.request("GET", path, params=params)
        for _ in range(max_pages):
            rows += response.json()
            next_url = (response.links.get("next") or {}).get("url")
            if not next_url:
                return rows
            if not next_url.startswith(self.site_root + API_PATH):
                raise ConnectorError(
                    f"ConnectWise sent a next-page link off its own site: {urlsplit(next_url).netloc}", ErrorKind.SERVER
                )
            response = self.http.request("GET", next_url)
        raise ConnectorError(f"ConnectWise kept sending pages for {path} after {max_pages}", ErrorKind.SERVER)

    # --- flattening ------------------------------------------------------------------------------
    def _record(self, spec: ObjectSpec, row: dict) -> Record:
        info = row.get("_info") or {}
        return Record(
            id=self._record_id(spec, row),
            properties=self._flatten(spec, row),
            updated_at=_parse_time(info["lastUpdated"]) if info.get("lastUpdated") else None,
            created_at=_parse_time(info["dateEntered"]) if info.get("dateEntered") else None,
        )

    def _flatten(self, spec: ObjectSpec, row: dict) -> dict[str, Any]:
        props: dict[str, Any] = {}
        for f in spec.fields:
            value = row.get(f.cw_path)
            if f.kind in ("ref", "parent"):
                ref = value.get("id") if isinstance(value, dict) else value
                props[f.name] = str(ref) if ref is not None else None
            elif f.kind == "info":
                props[f.name] = (row.get("_info") or {}).get(f.cw_path)
            elif f.kind == "start":
                # An activity logged without a start happened when it was entered (HubSpot needs a time).
                props[f.name] = value or (row.get("_info") or {}).get("dateEntered")
            elif f.kind == "types":
                props[f.name] = str(value[0]["id"]) if value else None
            elif f.kind == "email":
                props[f.name] = _default_item(row, "Email")
            elif f.kind == "phone":
                props[f.name] = _default_item(row, "Phone", type_name="Direct")
            else:
                props[f.name] = value
        for custom in row.get("customFields") or []:
            props[f"custom_{custom['id']}"] = custom.get("value")
        return props

    def _body(self, spec: ObjectSpec, properties: Mapping[str, Any]) -> dict[str, Any]:
        """A create body from flat properties."""
        body: dict[str, Any] = {}
        items: list[dict] = []
        for name, value in properties.items():
            if name.startswith("custom_"):
                body.setdefault("customFields", []).append({"id": int(name[7:]), "value": _wire(value)})
                continue
            f = self._writable(spec, name)
            if f.kind == "parent":
                continue  # in the URL: a note lives under its record
            if f.kind in ("email", "phone"):
                if value not in (None, ""):
                    items.append({"type": {"id": self._communication_type(f.kind)}, "value": str(value), "defaultFlag": True})
            elif f.kind == "types":
                body["types"] = [{"id": _int_id(value, name)}] if value not in (None, "") else []
            elif f.kind == "ref":
                body[f.cw_path] = {"id": _int_id(value, name)} if value not in (None, "") else None
            else:
                body[f.cw_path] = _wire(value)
        if items:
            body["communicationItems"] = items
        return body

    def _patch(self, spec: ObjectSpec, properties: Mapping[str, Any], current: dict | None) -> list[dict]:
        """JSON-patch operations for an update; `current` is needed for e-mail/phone/custom fields."""
        ops: list[dict] = []
        items = [dict(i) for i in (current or {}).get("communicationItems") or []]
        items_changed = False
        customs: dict[int, Any] = {}
        for name, value in properties.items():
            if name.startswith("custom_"):
                customs[int(name[7:])] = _wire(value)
                continue
            f = self._writable(spec, name)
            if f.kind == "parent":
                continue  # a note stays under its record
            if spec.activity_type and name == "assignTo" and value in (None, ""):
                continue  # ConnectWise requires an assignee: an owner that did not map keeps the current one
            if f.kind in ("email", "phone"):
                items = _set_item(items, self._communication_type(f.kind), "Email" if f.kind == "email" else "Phone", value)
                items_changed = True
            else:
                ops.append(_replace_op(f, name, value))
        if items_changed:
            ops.append({"op": "replace", "path": "communicationItems", "value": items})
        if customs:
            ops.append(_custom_fields_op(customs, current))
        return ops

    @staticmethod
    def _writable(spec: ObjectSpec, name: str) -> FieldSpec:
        f = spec.spec(name)
        if f is None:
            raise ConnectorError(f"{name!r} is not a ConnectWise {spec.name} field", ErrorKind.VALIDATION, fields=[name])
        if f.read_only:
            raise ConnectorError(f"{f.label} is read-only in ConnectWise", ErrorKind.VALIDATION, fields=[name])
        return f

    def _communication_type(self, kind: str) -> int:
        if self.caches.communication_types is None:
            with self._caches_lock:
                self._load_communication_types()
        type_id = self.caches.communication_types.get(kind)
        if not type_id:
            raise ConnectorError(f"This ConnectWise has no {kind} communication type", ErrorKind.CONFIG)
        return type_id

    def _load_communication_types(self) -> None:
        if self.caches.communication_types is None:
            rows = self._get_all("company/communicationTypes", {"pageSize": MAX_PAGE_SIZE})
            types: dict[str, int] = {}
            for row in rows:
                if row.get("emailFlag"):
                    types.setdefault("email", row["id"])
                if row.get("phoneFlag") and str(row.get("description", "")).lower() == "direct":
                    types["phone"] = row["id"]
            types.setdefault("phone", next((r["id"] for r in rows if r.get("phoneFlag")), 0))
            self.caches.communication_types = types

    # --- writing ---------------------------------------------------------------------------------
    def create(self, object_type: str, inputs: Sequence[WriteInput]) -> list[WriteResult]:
        spec = self._spec(object_type)
        self._refuse_read_only(spec)
        return [self._create_one(spec, item) for item in inputs]

    def _create_one(self, spec: ObjectSpec, item: WriteInput) -> WriteResult:
        properties = dict(item.properties)
        missing = [name for name in spec.required_refs if properties.get(name) in (None, "")]
        if missing:
            return WriteResult(
                ref=item.ref,
                error=ConnectorError(
                    f"A ConnectWise {spec.name[:-1]} needs a {' and a '.join(missing)}: link it first.",
                    ErrorKind.VALIDATION,
                    fields=missing,
                ),
            )
        if spec.name == "companies" and not properties.get("identifier"):
            properties["identifier"] = generate_identifier(str(properties.get("name") or ""), item.ref)
        try:
            body = self._body(spec, properties)
            if spec.activity_type:
                body["type"] = {"id": self._activity_type_id(spec.activity_type)}
                body.setdefault("assignTo", None)
                body["assignTo"] = body["assignTo"] or {"id": self._default_member()}
            path = spec.path
            if spec.note_parent:
                path = path.replace("{parentId}", str(_int_id(properties.get(spec.note_parent), spec.note_parent)))
            response = self.http.request("POST", path, json=body, idempotent=False)
        except ConnectorError as error:
            self._raise_if_fatal(error)
            return WriteResult(ref=item.ref, error=self._explain_duplicate(spec, properties, error))
        row = response.json()
        record = self._record(spec, row)
        return WriteResult(ref=item.ref, id=record.id, record=record)

    def _explain_duplicate(self, spec: ObjectSpec, properties: Mapping[str, Any], error: ConnectorError) -> ConnectorError:
        """A company identifier already in use is a conflict with a known record, not a failure."""
        if spec.name != "companies" or "identifier" not in error.fields or "already in use" not in error.message:
            return error
        existing = self.find_by("companies", "identifier", [str(properties["identifier"])])
        matches = existing.get(str(properties["identifier"]).lower()) or []
        return ConnectorError(
            error.message,
            ErrorKind.CONFLICT,
            status=error.status,
            fields=error.fields,
            vendor_code=error.vendor_code,
            existing_id=matches[0].id if matches else None,
            body=error.body,
        )

    def update(self, object_type: str, inputs: Sequence[WriteInput]) -> list[WriteResult]:
        spec = self._spec(object_type)
        self._refuse_read_only(spec)
        needs_current = [
            i.id for i in inputs if i.id and any(k in ("email", "phone") or k.startswith("custom_") for k in i.properties)
        ]
        current = {r["id"]: r for r in self._rows_by_ids(spec, needs_current)} if needs_current else {}
        return [self._update_one(spec, item, current) for item in inputs]

    def _update_one(self, spec: ObjectSpec, item: WriteInput, current: dict[int, dict]) -> WriteResult:
        path = record_path(spec, str(item.id or ""))
        if path is None:
            return WriteResult(
                ref=item.ref,
                id=item.id,
                error=ConnectorError(f"{item.id!r} is not a ConnectWise {spec.name} id", ErrorKind.NOT_FOUND),
            )
        try:
            ops = self._patch(spec, item.properties, current.get(int(item.id)) if str(item.id).isdigit() else None)
            if not ops:
                return WriteResult(ref=item.ref, id=str(item.id))
            response = self.http.request("PATCH", path, json=ops)
        except ConnectorError as error:
            self._raise_if_fatal(error)
            return WriteResult(ref=item.ref, id=str(item.id), error=error)
        row = response.json()
        record = self._record(spec, row)
        return WriteResult(ref=item.ref, id=record.id, record=record)

    # --- activities and notes ------------------------------------------------------------------------
    @staticmethod
    def _record_id(spec: ObjectSpec, row: dict) -> str:
        """A note's id names its record too ("12:345"): ConnectWise reaches a note only under it."""
        if not spec.note_parent:
            return str(row["id"])
        parent = row.get(spec.spec(spec.note_parent).cw_path)
        return f"{parent.get('id') if isinstance(parent, dict) else parent}:{row['id']}"

    def _activity_type_id(self, name: str) -> int:
        with self._caches_lock:
            if self.caches.activity_types is None:
                rows = self._get_all("sales/activities/types", {"pageSize": MAX_PAGE_SIZE})
                self.caches.activity_types = {str(r.get("name", "")).lower(): int(r["id"]) for r in rows}
        type_id = self.caches.activity_types.get(name.lower())
        if type_id is None:
            raise ConnectorError(
                f"This ConnectWise has no activity type {name!r} (System > Setup Tables > Activity Type)", ErrorKind.CONFIG
            )
        return type_id

    def _default_member(self) -> int:
        """Who an activity without a mapped owner is assigned to (ConnectWise requires assignTo):
        the connection's `default_member` identifier, or else the first active member."""
        with self._caches_lock:
            if self.caches.default_member is None:
                wanted = self.default_member_identifier
                conditions = f"identifier = {quote(wanted)}" if wanted else "inactiveFlag = false"
                rows = self.http.request(
                    "GET", "system/members", params={"conditions": conditions, "orderBy": "id asc", "pageSize": 1, "fields": "id"}
                ).json()
                if not rows:
                    raise ConnectorError(f"ConnectWise has no active member {wanted!r} to assign activities to", ErrorKind.CONFIG)
                self.caches.default_member = int(rows[0]["id"])
        return self.caches.default_member

    def _count_notes(self, spec: ObjectSpec, since: dt.datetime | None) -> int | None:
        """Notes (changed since a date) counted record by record; unknown (None) past NOTE_COUNT_PARENTS records."""
        parent = OBJECTS[spec.spec(spec.note_parent).reference_to or ""]
        parents = self.http.request("GET", parent.path, params={"pageSize": NOTE_COUNT_PARENTS + 1, "fields": "id"}).json()
        if len(parents) > NOTE_COUNT_PARENTS:
            return None
        params = {"conditions": f"lastUpdated >= {datetime_literal(since)}"} if since else {}
        return sum(
            int(
                self.http.request("GET", spec.path.replace("{parentId}", str(int(row["id"]))) + "/count", params=params).json()[
                    "count"
                ]
            )
            for row in parents
        )

    def _read_note_changes(self, spec: ObjectSpec, cursor: Mapping[str, Any]) -> Page:
        """Notes changed since the cursor, NOTE_PARENTS_PER_PAGE records at a time: ConnectWise
        lists notes only per record, so a pass walks every contact (or company) by id, and a new
        walk starts at most every `notes_every` (a walk costs a call per record)."""
        walked = cursor.get("walked_at")
        if walked and not cursor.get("after_parent") and _parse_time(walked) + self.notes_every > dt.datetime.now(dt.UTC):
            return Page(records=[], cursor=dict(cursor), has_more=False)
        parent = OBJECTS[spec.spec(spec.note_parent).reference_to or ""]
        after = int(cursor.get("after_parent") or 0)
        parents = self.http.request(
            "GET",
            parent.path,
            params={"conditions": f"id > {after}", "orderBy": "id asc", "pageSize": NOTE_PARENTS_PER_PAGE, "fields": "id"},
        ).json()
        since = cursor.get("since")
        conditions = {"conditions": f"lastUpdated >= {datetime_literal(_parse_time(since) - self.overlap)}"} if since else {}
        records: list[Record] = []
        for row in parents:
            path = spec.path.replace("{parentId}", str(int(row["id"])))
            records += [self._record(spec, note) for note in self._get_all(path, {**conditions, "pageSize": MAX_PAGE_SIZE})]
        stamps = [since or "", cursor.get("newest") or "", *(_iso(r.updated_at) for r in records if r.updated_at)]
        newest = max(stamps)
        if len(parents) == NOTE_PARENTS_PER_PAGE:
            next_cursor = {"since": since, "newest": newest, "after_parent": parents[-1]["id"]}
            return Page(records=records, cursor=next_cursor, has_more=True)
        done = {"walked_at": _iso(dt.datetime.now(dt.UTC))}
        return Page(records=records, cursor={"since": newest, **done} if newest else done, has_more=False)

    def _read_notes_by_ids(self, spec: ObjectSpec, ids: Sequence[str]) -> list[Record]:
        by_parent: dict[int, list[int]] = {}
        for record_id in ids:
            parent, _, note = str(record_id).partition(":")
            if parent.isdigit() and note.isdigit():
                by_parent.setdefault(int(parent), []).append(int(note))
        records: list[Record] = []
        for parent, notes in sorted(by_parent.items()):
            path = spec.path.replace("{parentId}", str(parent))
            for chunk in _condition_chunks("id", sorted(notes), self.max_batch_read):
                try:
                    rows = self._get_all(path, {"conditions": chunk, "pageSize": MAX_PAGE_SIZE})
                except ConnectorError as error:
                    if error.kind != ErrorKind.NOT_FOUND:
                        raise
                    continue  # the record is gone, and its notes with it
                records += [self._record(spec, row) for row in rows]
        return records

    def _rows_by_ids(self, spec: ObjectSpec, ids: Sequence[Any]) -> list[dict]:
        numeric = sorted({int(i) for i in ids if str(i).isdigit()})
        rows: list[dict] = []
        for chunk in _condition_chunks("id", numeric, self.max_batch_read):
            rows += self._get_all(spec.path, {"conditions": chunk, "pageSize": MAX_PAGE_SIZE})
        return rows

    @staticmethod
    def _refuse_read_only(spec: ObjectSpec) -> None:
        if spec.read_only:
            raise ConnectorError(f"ConnectWise {spec.name} are read-only", ErrorKind.CONFIG)

    @staticmethod
    def _raise_if_fatal(error: ConnectorError) -> None:
        # Bad credentials or configuration fail every record alike: stop the batch and say so.
        if error.kind in (ErrorKind.AUTH, ErrorKind.CONFIG):
            raise error

    # --- callbacks ---------------------------------------------------------------------------------
    def register_callbacks(self, url: str, types: Sequence[str] = cb.CALLBACK_TYPES) -> list[dict]:
        """Make sure ConnectWise calls `url` on every change of these types (idempotent)."""
        existing = self._get_all("system/callbacks", {"conditions": f"url = {quote(url)}", "pageSize": MAX_PAGE_SIZE})
        have = {str(c.get("type", "")).lower() for c in existing}
        created = []
        for type_ in types:
            if type_ not in have:
                body = {"url": url, "type": type_, "level": "owner", "objectId": 1, "description": "SyncSmart"}
                created.append(self.http.request("POST", "system/callbacks", json=body, idempotent=False).json())
        return existing + created

    def unregister_callbacks(self, url: str) -> int:
        existing = self._get_all("system/callbacks", {"conditions": f"url = {quote(url)}", "pageSize": MAX_PAGE_SIZE})
        for hook in existing:
            self.http.request("DELETE", f"system/callbacks/{int(hook['id'])}", ok_statuses=(404,))
        return len(existing)

    def verify_webhook(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> bool:
        """The signature against the key of the callback-key path this body names on our own site.
        Nothing else in the (still unverified) body leads to a request."""
        header = {k.lower(): v for k, v in headers.items()}.get(cb.SIGNATURE_HEADER, "")
        if method.upper() != "POST" or not cb.signature_well_formed(header):
            return False
        try:
            metadata = jsonbounds.loads(body)["Metadata"]
            key_id = cb.key_id_of(self.site_root, metadata["key_url"])
        except (ValueError, KeyError, TypeError):
            return False
        if key_id is None:
            log.info("ConnectWise callback names a key URL other than this site's callback-key path; refused")
            return False
        key = self._signing_key(key_id)
        return bool(key) and cb.signature_matches(key, body, header)

    def _signing_key(self, key_id: str) -> str | None:
        """The signing key of a key id, fetched once per site and id (a failed fetch is remembered
        for a minute, so repeated garbage does not repeat the request)."""
        cache_key = (self.site_root, key_id)
        with _SIGNING_KEYS_LOCK:
            cached = _SIGNING_KEYS.get(cache_key)
            failed_until = _KEY_FAILURES.get(cache_key, 0.0)
        if cached is not None:
            return cached
        if failed_until > time.monotonic():
            return None
        key = self._fetch_signing_key(key_id)
        with _SIGNING_KEYS_LOCK:
            if key is None:
                _bounded_put(_KEY_FAILURES, cache_key, time.monotonic() + KEY_FAILURE_SECONDS)
            else:
                _bounded_put(_SIGNING_KEYS, cache_key, key)
        return key

    def _fetch_signing_key(self, key_id: str) -> str | None:
        # A web request waits on this: a short timeout and no retries. The key path is public, so
        # the request carries none of the connection's credentials.
        http = VendorHttp(
            self.site_root + cb.KEY_PATH,
            system="ConnectWise",
            retry=Retry(total=0),
            timeout=KEY_FETCH_TIMEOUT,
            verify=self._verify,
            transport=self._transport,
        )
        try:
            key = http.request("GET", key_id).json().get("signing_key")
        except (ConnectorError, ValueError, AttributeError):
            return None
        finally:
            http.close()
        return str(key) if isinstance(key, str) and key else None

    def parse_webhook(self, body: bytes, headers: Mapping[str, str] | None = None) -> list[WebhookEvent]:
        try:
            payload = jsonbounds.loads(body)
        except ValueError:
            return []
        items = payload if isinstance(payload, list) else [payload]
        events = []
        for item in items:
            if not isinstance(item, dict) or item.get("ID") is None:
                continue
            entity = _entity(item.get("Entity"))
            info = entity.get("_info") if entity else None
            stamp = info.get("lastUpdated") if isinstance(info, dict) else None
            object_types = _callback_object_types(str(item.get("Type", "")).lower(), entity)
            for object_type in object_types:
                event_id = str(item.get("MessageId") or "")
                events.append(
                    WebhookEvent(
                        object_type=object_type,
                        record_id=str(item["ID"])[:100],
                        change={"added": "created", "deleted": "deleted"}.get(str(item.get("Action", "")).lower(), "updated"),
                        occurred_at=_callback_time(stamp),
                        # one stored row per object type a deleted activity may have been
                        event_id=f"{event_id}:{object_type}" if len(object_types) > 1 and event_id else event_id,
                        payload=item if len(object_types) == 1 else {**item, UNSURE_TYPE: True},
                    )
                )
        return events

    # --- connection test ----------------------------------------------------------------------------
    def test_connection(self) -> ConnectionTest:
        site = urlsplit(self.site_root).netloc
        try:
            info = self.http.request(
                "GET",
                f"{self.site_root}/login/companyinfo/{self.company_id}",
                ok_statuses=(404,),
                extensions={"retry": QUICK_RETRY},
            )
        except ConnectorError as error:
            if error.kind in (ErrorKind.NETWORK, ErrorKind.TIMEOUT):
                return ConnectionTest(
                    False,
                    f"Could not reach the ConnectWise site {site}. Check the site name (the host "
                    f"you log in at, e.g. na.myconnectwise.net) and that it is online.",
                )
            return ConnectionTest(False, f"The ConnectWise site {site} answered unexpectedly: {error.message}")
        company = _json_or_none(info)
        if info.status_code == 404 or not isinstance(company, dict) or not company.get("CompanyID"):
            return ConnectionTest(
                False,
                f"The site {site} does not know the company ID {self.company_id!r}. Enter the "
                f"company you type on the ConnectWise log-in page.",
            )
        try:
            system = self.http.request("GET", "system/info", extensions={"retry": QUICK_RETRY}).json()
        except ConnectorError as error:
            if error.kind == ErrorKind.AUTH:
                vendor_words = str(error.body.get("message") or "") if isinstance(error.body, dict) else ""
                detail = "clientId" if "clientid" in vendor_words.lower() else "keys"
                hint = (
                    "The clientId is missing or not registered: use the client id from developer.connectwise.com."
                    if detail == "clientId"
                    else "Check the public and private key of the API member (System > Members > API Members > API Keys); "
                    "a private key is shown only once, so generate a new pair if in doubt."
                )
                return ConnectionTest(
                    False,
                    f"ConnectWise refused the API credentials for company {self.company_id!r}. {hint}",
                    account=self.company_id,
                )
            return ConnectionTest(False, f"ConnectWise answered with an error: {error.message}", account=self.company_id)
        return ConnectionTest(
            True,
            f"Connected to ConnectWise {system.get('version', '')} as company "
            f"{company.get('CompanyName') or self.company_id}.".replace("  ", " "),
            account=str(company.get("CompanyID") or self.company_id),
        )


# --- helpers ------------------------------------------------------------------------------------------
NOTE_PARENTS_PER_PAGE = 50  # contacts / companies whose notes one page of a notes read asks for
NOTE_COUNT_PARENTS = 500  # a count of notes walks at most this many records, else it is unknown


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _type_condition(spec: ObjectSpec) -> str:
    return f"type/name = {quote(spec.activity_type)}" if spec.activity_type else ""


def _all_of(*conditions: str) -> str:
    present = [c for c in conditions if c]
    return " and ".join(f"({c})" for c in present) if len(present) > 1 else "".join(present)


def record_path(spec: ObjectSpec, record_id: str) -> str | None:
    """The URL of one record: `sales/activities/7`, `company/contacts/12/notes/345`."""
    if not spec.note_parent:
        return f"{spec.path}/{int(record_id)}" if record_id.isdigit() else None
    parent, _, note = record_id.partition(":")
    if not (parent.isdigit() and note.isdigit()):
        return None
    return f"{spec.path.replace('{parentId}', parent)}/{note}"


def generate_identifier(name: str, ref: str | None = None) -> str:
    """An alphanumeric company identifier (≤25) derived from the name and the caller's ref, so a
    retried create of the same source record asks for the same identifier and is refused as a
    duplicate instead of creating a second company."""
    stem = re.sub(r"[^A-Za-z0-9]", "", name)[: IDENTIFIER_LENGTH - 6] or "Company"
    digest = hashlib.sha256(f"{name.lower()}|{ref or ''}".encode()).hexdigest()[:6].upper()
    return f"{stem}{digest}"[:IDENTIFIER_LENGTH]


def normalise_domain(value: str) -> str:
    """'https://www.Acme.com/about' -> 'acme.com'."""
    text = value.strip().lower()
    if "://" not in text:
        text = "//" + text
    host = urlsplit(text).hostname or ""
    return host[4:] if host.startswith("www.") else host


def _condition_chunks(path: str, values: Sequence[Any], max_values: int) -> list[str]:
    chunks, current = [], []
    for value in values:
        candidate = current + [value]
        if current and (len(candidate) > max_values or len(in_list(path, candidate)) > MAX_CONDITION_CHARS):
            chunks.append(in_list(path, current))
            candidate = [value]
        current = candidate
    if current:
        chunks.append(in_list(path, current))
    return chunks


def _or_chunks(path: str, op: str, values: Sequence[str]) -> list[str]:
    chunks, current = [], ""
    for value in values:
        part = f"{path} {op} {quote(value)}"
        if current and len(current) + len(part) + 4 > MAX_CONDITION_CHARS:
            chunks.append(current)
            current = ""
        current = f"{current} or {part}" if current else part
    if current:
        chunks.append(current)
    return chunks


def _default_item(row: dict, kind: str, type_name: str | None = None) -> str | None:
    items = [i for i in row.get("communicationItems") or [] if i.get("communicationType") == kind]
    if type_name:
        items = [i for i in items if str((i.get("type") or {}).get("name", "")).lower() == type_name.lower()]
    chosen = next((i for i in items if i.get("defaultFlag")), items[0] if items else None)
    return chosen.get("value") if chosen else None


def _set_item(items: list[dict], type_id: int, kind: str, value: Any) -> list[dict]:
    same_type = [i for i in items if (i.get("type") or {}).get("id") == type_id]
    current = next((i for i in same_type if i.get("defaultFlag")), same_type[0] if same_type else None)
    if value in (None, ""):
        return [i for i in items if i is not current]
    if current is None:
        for i in items:
            if i.get("communicationType") == kind:
                i["defaultFlag"] = False
        return items + [{"type": {"id": type_id}, "value": str(value), "defaultFlag": True}]
    current["value"] = str(value)
    return items


def _int_id(value: Any, name: str) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise ConnectorError(
            f"{name} must be a ConnectWise id (a number), not {value!r}", ErrorKind.VALIDATION, fields=[name]
        ) from None


def _wire(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        value = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%dT00:00:00Z")
    return value


def _version(row: Mapping[str, Any]) -> str:
    """A short fingerprint of everything the row says (its stamp included)."""
    return hashlib.sha1(json.dumps(row, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _resting_cursor(cursor: Mapping[str, Any]) -> dict[str, Any]:
    """After an empty read: keep the stamp and the versions already seen; stop paging."""
    if not cursor.get("since"):
        return {}
    resting: dict[str, Any] = {"since": cursor["since"]}
    if cursor.get("seen") and not cursor.get("paging"):
        resting |= {"after_id": cursor.get("after_id"), "paging": False, "seen": cursor["seen"]}
    return resting


def _parse_time(value: str) -> dt.datetime:
    text = str(value).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = dt.datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _check_site_url(base_url: str) -> None:
    """A stored site URL (edited outside the form, perhaps) is https, or http to an emulator host
    in development. Whether its address is public is checked by the HTTP seam at connect time."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConnectorError(f"{base_url!r} is not a ConnectWise site URL.", ErrorKind.CONFIG)
    if parts.scheme != "https" and parts.hostname.lower() not in allowed_emulator_hosts():
        raise ConnectorError("ConnectWise sites are reached over https only.", ErrorKind.CONFIG)


def _callback_time(stamp: Any) -> dt.datetime | None:
    """A callback entity's lastUpdated, or None when the (verified but still vendor-made) text is
    no time."""
    if not isinstance(stamp, str) or not stamp:
        return None
    try:
        return _parse_time(stamp)
    except ValueError:
        return None


def _callback_object_types(callback_type: str, entity: dict | None) -> list[str]:
    """Our object types a callback concerns: its type's, or for an activity the one of its
    activity type (none for a type we do not sync); a deleted activity comes without its Entity,
    so it may be any of them (the engine takes it where it is linked)."""
    if callback_type != cb.ACTIVITY:
        return [cb.OBJECT_TYPES[callback_type]] if callback_type in cb.OBJECT_TYPES else []
    if entity is None:
        return list(ACTIVITY_OBJECT_TYPES.values())
    kind = entity.get("type")
    name = str(kind.get("name") or "").lower() if isinstance(kind, dict) else ""
    return [ACTIVITY_OBJECT_TYPES[name]] if name in ACTIVITY_OBJECT_TYPES else []


def _entity(value: Any) -> dict | None:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value:
        try:
            parsed = jsonbounds.loads(value)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None
    return None


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _replace_op(f: FieldSpec, name: str, value: Any) -> dict:
    """The JSON-patch replace of one plain field: ids for references and types, the wire value otherwise."""
    if f.kind == "types":
        return {"op": "replace", "path": "types", "value": [{"id": _int_id(value, name)}] if value not in (None, "") else []}
    if f.kind == "ref":
        return {"op": "replace", "path": f.cw_path, "value": {"id": _int_id(value, name)} if value not in (None, "") else None}
    return {"op": "replace", "path": f.cw_path, "value": _wire(value)}


def _custom_fields_op(customs: dict[int, Any], current: dict | None) -> dict:
    """The replace of customFields: the record's current ones with the written values, then new ones."""
    merged = [{"id": c["id"], "value": customs.pop(c["id"], c.get("value"))} for c in (current or {}).get("customFields") or []]
    merged += [{"id": k, "value": v} for k, v in customs.items()]
    return {"op": "replace", "path": "customFields", "value": merged}
