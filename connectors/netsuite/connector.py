"""The NetSuite connector: customers, contacts, opportunities and employees over SuiteTalk REST.

Shape the engine relies on (see connectors.base):
- object types "customers" (companies and individuals in one record type: `isPerson` says
  which; the default mappings send companies to HubSpot companies and individuals to HubSpot
  contacts through each object mapping's filter on `isPerson`, which the customer can edit),
  "contacts", "opportunities" and "employees" (read-only, matched by e-mail for owners);
- flat fields named as NetSuite's REST record fields; references (`company`, `entity`) are ids
  of type REFERENCE, `salesRep` is an OWNER reference to employees, select fields over lists
  (`entityStatus`, `subsidiary`) are ENUMs whose options (value = internal id, label = name)
  come from SuiteQL over the list's table; field names, titles and types come from the
  metadata catalog (JSON Schema);
- reads go through SuiteQL, which returns every needed column of up to 1,000 records per call
  (the record service would need one GET per record): a change feed ordered by
  (lastmodifieddate, id) and continued with a keyset condition rather than offsets, rewound by
  OVERLAP on every fresh read because NetSuite stamps to the second and a slow transaction can
  commit with an older stamp; the versions already delivered inside the overlap are remembered
  so an idle poll re-delivers nothing; look-ups are one `IN (...)` query per chunk;
- writes are one record per call (the record service has no batch endpoint): creates are
  upserts by external id (`PUT …/eid:syncsmart-<ref>`), so a create retried after a timeout
  or a 429 finds the record it made instead of making a second one; updates are PATCHes;
- concurrency: NetSuite governs concurrent requests per account, not a request rate, so the
  limiter (connectors.ratelimit, in-flight mode) holds a slot for each call while it is in
  flight, shared by every worker process; a 429 CONCURRENCY_LIMIT_EXCEEDED is retried;
- near real time: the SyncSmart user-event script posts signed notifications (webhooks.py);
  SuiteQL polling remains the fallback.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import httpx
from httpx_retries import Retry

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
    WebhookEvent,
    WriteInput,
    WriteResult,
    keys_held,
    searchable_fragments,
)
from connectors.http import (
    Limiter,
    VendorHttp,
    kind_for_status,
    mounted_transport,
    network_transport,
    on_owner_thread,
    retry_after_seconds,
    tls_context,
)
from connectors.netsuite import DEFAULT_INTEGRATION_CONCURRENCY, MAX_PAGE_SIZE, METADATA_PATH, RECORD_PATH, SUITEQL_PATH
from connectors.netsuite import webhooks as script
from connectors.netsuite.auth import OAuth2Auth, TBAAuth, TBASigningTransport, host_slug, realm_for
from connectors.netsuite.oauth import token_refresher
from connectors.netsuite.suiteql import literal, timestamp_literal
from connectors.ratelimit import netsuite_limiter

log = logging.getLogger("syncsmart.netsuite")

OVERLAP = dt.timedelta(seconds=60)
STAMP_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS'
# SuiteQL statements stay well under the request-size limits of proxies in between.
MAX_QUERY_CHARS = 60_000
EXTERNAL_ID_PREFIX = "syncsmart-"
QUICK_RETRY = Retry(
    total=1,
    backoff_factor=0.2,
    respect_retry_after_header=False,
    max_backoff_wait=1.0,
    status_forcelist=(429, 502, 503, 504),
    allowed_methods=["GET", "POST"],
)


@dataclass(frozen=True)
class FieldSpec:
    name: str  # REST field name = our flat name
    label: str
    type: FieldType
    column: str = ""  # SuiteQL column (default: name lower-cased)
    reference_to: str | None = None
    list_table: str = ""  # ENUM over a list: the SuiteQL table with its options
    read_only: bool = False
    required: bool = False

    @property
    def col(self) -> str:
        return self.column or self.name.lower()


def id_field_missing_text(name: str, counterpart: str) -> str:
    """What to do when the id field is missing, in words (the run's log and the mapping editor)."""
    return (
        f"NetSuite has no field {name}, and SyncSmart cannot create it: NetSuite's REST API does not make custom fields. "
        f"An administrator makes it once in NetSuite (Customization > Lists, Records & Fields > Entity Fields > New): "
        f"Type Free-Form Text, ID {name.removeprefix('custentity')} (NetSuite adds custentity), Label “{counterpart} ID”, "
        "applied to Customer and Contact. Until then the ids are written on the HubSpot side only."
    )


@dataclass(frozen=True)
class ObjectSpec:
    name: str
    label: str
    record: str  # REST record type
    table: str  # SuiteQL table
    fields: tuple[FieldSpec, ...]
    match_fields: tuple[str, ...] = ()
    parents: tuple[str, ...] = ()
    read_only: bool = False
    email_field: str | None = None
    where: str = ""  # fixed SuiteQL condition (the transaction type of opportunities)
    created_column: str = "datecreated"
    subsidiary: bool = False  # NetSuite asks for a subsidiary on create when the account uses them

    def spec(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)


S, T, N, B, D = FieldType.STRING, FieldType.TEXT, FieldType.NUMBER, FieldType.BOOL, FieldType.DATE
E, P, EN = FieldType.EMAIL, FieldType.PHONE, FieldType.ENUM
OBJECTS: dict[str, ObjectSpec] = {
    o.name: o
    for o in [
        ObjectSpec(
            "customers",
            "Customers",
            "customer",
            "customer",
            (
                FieldSpec("companyName", "Company name", S),
                FieldSpec("isPerson", "Individual", B),
                FieldSpec("firstName", "First name", S),
                FieldSpec("lastName", "Last name", S),
                FieldSpec("email", "E-mail", E),
                FieldSpec("phone", "Phone", P),
                FieldSpec("url", "Web address", S),
                FieldSpec("entityStatus", "Status", EN, list_table="entitystatus"),
                FieldSpec("subsidiary", "Primary subsidiary", EN, list_table="subsidiary"),
                FieldSpec("salesRep", "Sales rep", FieldType.OWNER, reference_to="employees"),
                FieldSpec("comments", "Comments", T),
                FieldSpec("externalId", "External ID", S),
                FieldSpec("entityId", "Customer ID", S),
                FieldSpec("isInactive", "Inactive", B),
            ),
            match_fields=("email", "url", "companyName", "externalId"),
            subsidiary=True,
        ),
        ObjectSpec(
            "contacts",
            "Contacts",
            "contact",
            "contact",
            (
                FieldSpec("firstName", "First name", S),
                FieldSpec("lastName", "Last name", S),
                FieldSpec("email", "E-mail", E),
                FieldSpec("phone", "Main phone", P),
                FieldSpec("mobilePhone", "Mobile phone", P),
                FieldSpec("title", "Job title", S),
                FieldSpec("company", "Company", FieldType.REFERENCE, reference_to="customers"),
                FieldSpec("subsidiary", "Subsidiary", EN, list_table="subsidiary"),
                FieldSpec("externalId", "External ID", S),
                FieldSpec("isInactive", "Inactive", B),
            ),
            match_fields=("email", "externalId"),
            parents=("customers",),
            subsidiary=True,
        ),
        ObjectSpec(
            "opportunities",
            "Opportunities",
            "opportunity",
            "transaction",
            (
                FieldSpec("title", "Title", S),
                FieldSpec("entity", "Customer", FieldType.REFERENCE, reference_to="customers", required=True),
                FieldSpec("entityStatus", "Status", EN, list_table="entitystatus"),
                FieldSpec("probability", "Probability (%)", N),
                FieldSpec("expectedCloseDate", "Expected close", D),
                FieldSpec("projectedTotal", "Projected total", N),
                FieldSpec("salesRep", "Sales rep", FieldType.OWNER, column="employee", reference_to="employees"),
                FieldSpec("memo", "Memo", T),
                FieldSpec("externalId", "External ID", S),
                FieldSpec("tranId", "Opportunity number", S, read_only=True),
            ),
            match_fields=("externalId", "tranId"),
            parents=("customers",),
            where="type = 'Opprtnty'",
            created_column="createddate",
        ),
        ObjectSpec(
            "employees",
            "Employees",
            "employee",
            "employee",
            (
                FieldSpec("firstName", "First name", S, read_only=True),
                FieldSpec("lastName", "Last name", S, read_only=True),
                FieldSpec("email", "E-mail", E, read_only=True),
                FieldSpec("title", "Job title", S, read_only=True),
                FieldSpec("isInactive", "Inactive", B, read_only=True),
            ),
            match_fields=("email",),
            read_only=True,
            email_field="email",
        ),
    ]
}
LIST_LABELS = {"entitystatus": ("key", "name"), "subsidiary": ("id", "name")}
SCHEMA_TYPES = {
    ("string", "email"): E,
    ("string", "phone"): P,
    ("string", "date"): D,
    ("string", "date-time"): FieldType.DATETIME,
    ("boolean", ""): B,
    ("number", "double"): N,
    ("integer", "int64"): N,
}


def parse_error(response: httpx.Response) -> ConnectorError:
    """NetSuite's {type, title, status, o:errorDetails: [{detail, o:errorCode, o:errorPath}]}."""
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text[:500]
    status = response.status_code
    details = [d for d in (body.get("o:errorDetails") or []) if isinstance(d, dict)] if isinstance(body, dict) else []
    message = "; ".join(str(d.get("detail") or "") for d in details if d.get("detail"))
    code = str(details[0].get("o:errorCode") or "") if details else ""
    fields = [str(d["o:errorPath"]) for d in details if d.get("o:errorPath")]
    if not message and isinstance(body, dict):
        message = str(body.get("title") or "")
    kind = kind_for_status(status)
    if status == 401:
        message = "NetSuite refused the credentials (account id, consumer key/secret or token id/secret). " + message
    elif status == 403:
        message = "The NetSuite role of these credentials does not allow this. " + message
    elif code == "CONCURRENCY_LIMIT_EXCEEDED":
        kind = ErrorKind.RATE_LIMITED
    return ConnectorError(
        message.strip() or f"NetSuite answered HTTP {status}",
        kind,
        status=status,
        fields=fields,
        vendor_code=code,
        retry_after=retry_after_seconds(response),
        body=body,
    )


class NetSuiteConnector(Connector):
    system = "netsuite"
    max_batch_write: ClassVar[int] = 1  # no batch endpoint: one record per call
    max_batch_read: ClassVar[int] = 500  # ids / values per SuiteQL IN (...)
    max_page_size: ClassVar[int] = MAX_PAGE_SIZE
    max_concurrency: ClassVar[int] = DEFAULT_INTEGRATION_CONCURRENCY

    def __init__(
        self,
        *,
        account_id: str,
        base_url: str | None = None,
        auth: httpx.Auth | None,
        transport: httpx.BaseTransport | None = None,
        limiter: Limiter | None = None,
        retry: Retry | None = None,
        verify: bool | str = True,
        default_subsidiary: str = "",
        webhook_secret: str = "",
        concurrency: int | None = None,
        overlap: dt.timedelta = OVERLAP,
    ):
        self.account_id = realm_for(account_id)
        self.base_url = (base_url or f"https://{host_slug(account_id)}.suitetalk.api.netsuite.com").rstrip("/")
        self.default_subsidiary = str(default_subsidiary or "")
        self.webhook_secret = webhook_secret
        self.overlap = overlap
        self._concurrency = concurrency
        tls = tls_context(verify)  # a CA file (the emulator's): the seam's shared context for it
        if isinstance(auth, TBAAuth):
            inner = transport or mounted_transport(self.base_url) or network_transport(tls)
            transport, auth = TBASigningTransport(inner, auth), None
        self.http = VendorHttp(
            self.base_url,
            system="NetSuite",
            auth=auth,
            headers={"Accept": "application/json", "X-NetSuite-PropertyNameValidation": "error"},
            limiter=limiter,
            error_parser=parse_error,
            retry=retry,
            verify=tls,
            transport=transport,
        )
        self._options: dict[str, tuple[Option, ...]] = {}
        self._schemas: dict[str, dict] = {}
        self._custom: dict[str, tuple[FieldSpec, ...]] = {}  # custom entity fields in use (id fields)
        self._cache_lock = threading.Lock()

    @property
    def concurrency(self) -> int:
        return self._concurrency or super().concurrency

    @classmethod
    def from_connection(
        cls,
        connection: Any,
        transport: httpx.BaseTransport | None = None,
        limiter: Limiter | None = None,
        retry: Retry | None = None,
        **kwargs: Any,
    ) -> NetSuiteConnector:
        config = connection.config or {}
        credentials = connection.credentials or {}
        account = str(config.get("account_id") or "")
        if not account:
            raise ConnectorError("The NetSuite connection has no account id: enter it again.", ErrorKind.CONFIG)
        tokens = dict(getattr(connection, "oauth_tokens", None) or {})
        credentials = {**credentials, **{k: v for k, v in tokens.items() if k in ("access_token", "refresh_token") and v}}
        on_tokens = kwargs.pop("on_tokens", None) or _token_saver(connection, tokens)
        auth = auth_for(config, credentials, transport=transport, on_tokens=on_tokens)
        concurrency = int(config.get("concurrency") or DEFAULT_INTEGRATION_CONCURRENCY)
        if limiter is None:
            key, daily = quota.account_budget("netsuite", config, getattr(connection, "pk", None))
            limiter = netsuite_limiter(account, concurrency, daily=daily, daily_key=key)
        return cls(
            account_id=account,
            base_url=config.get("base_url") or None,
            auth=auth,
            transport=transport,
            limiter=limiter,
            retry=retry,
            verify=config.get("ca_file") or True,
            default_subsidiary=str(config.get("default_subsidiary") or ""),
            webhook_secret=str(credentials.get("webhook_secret") or ""),
            concurrency=concurrency,
            **kwargs,
        )

    # --- object types and fields ----------------------------------------------------------------
    def object_types(self) -> list[ObjectType]:
        return [
            ObjectType(
                name=o.name,
                label=o.label,
                primary_key="id",
                cursor_field="lastModifiedDate",
                match_fields=o.match_fields,
                parents=o.parents,
                read_only=o.read_only,
                email_field=o.email_field,
            )
            for o in OBJECTS.values()
        ]

    def _spec(self, object_type: str) -> ObjectSpec:
        spec = OBJECTS.get(object_type)
        if spec is None:
            raise ConnectorError(f"Unknown object type {object_type!r} for NetSuite", ErrorKind.CONFIG)
        return spec

    def discover_fields(self, object_type: str) -> list[FieldInfo]:
        spec = self._spec(object_type)
        schema = self._schema(spec.record)
        properties = schema.get("properties") or {}
        required = set(schema.get("required") or [])
        fields = []
        for f in spec.fields:
            prop = properties.get(f.name)
            if prop is None:
                continue  # this account does not have the field (a feature switched off)
            fields.append(
                FieldInfo(
                    name=f.name,
                    label=str(prop.get("title") or f.label),
                    type=f.type if f.type in (EN, FieldType.REFERENCE, FieldType.OWNER) else _schema_type(prop, f.type),
                    required=f.required or f.name in required,
                    read_only=f.read_only or spec.read_only or bool(prop.get("readOnly")),
                    options=self._list_options(f.list_table) if f.list_table else (),
                    reference_to=f.reference_to,
                )
            )
        return fields + [FieldInfo(name=f.name, label=f.label, type=S) for f in self._custom.get(spec.name, ())]

    def _fields(self, spec: ObjectSpec) -> tuple[FieldSpec, ...]:
        """The spec's fields and the custom entity fields this connector writes (write_back_ids)."""
        return spec.fields + self._custom.get(spec.name, ())

    def _field(self, spec: ObjectSpec, name: str) -> FieldSpec | None:
        return spec.spec(name) or next((f for f in self._custom.get(spec.name, ()) if f.name == name), None)

    # --- the counterpart's id (write_back_ids): a custom entity field that must exist ----------------
    id_field_objects: ClassVar[tuple[str, ...]] = ("customers", "contacts")
    id_field_made_by_hand: ClassVar[str] = (
        "Not created by SyncSmart: NetSuite's REST API cannot make custom fields. An administrator makes it once in "
        "NetSuite (Customization > Lists, Records & Fields > Entity Fields > New: Free-Form Text, this ID without its "
        "custentity start, applied to Customer and Contact); until then ids are written on the HubSpot side only."
    )

    @classmethod
    def default_id_field(cls, object_type: str, counterpart: str) -> str:
        if object_type not in cls.id_field_objects:
            return ""
        return "custentity_syncsmart_" + re.sub(r"[^a-z0-9]+", "_", counterpart.lower()).strip("_") + "_id"

    @classmethod
    def id_field_problem(cls, name: str) -> str | None:
        if not re.fullmatch(r"custentity[a-z0-9_]{1,30}", name):
            return (
                "A NetSuite custom entity field's ID starts with custentity and has lower-case letters, digits and _ "
                "(e.g. custentity_syncsmart_hubspot_id)."
            )
        return None

    def ensure_id_field(self, object_type: str, name: str, counterpart: str) -> str:
        """NetSuite has no REST resource that creates a custom field: the field must exist (made by
        an administrator); found in the record's metadata catalog schema, else a CONFIG error that
        says how to make it."""
        spec = self._spec(object_type)
        if object_type not in self.id_field_objects:
            raise ConnectorError(f"NetSuite {object_type} cannot carry the other system's id", ErrorKind.CONFIG)
        prop = (self._schema(spec.record).get("properties") or {}).get(name)
        if prop is None:
            raise ConnectorError(id_field_missing_text(name, counterpart), ErrorKind.CONFIG)
        if prop.get("type") != "string" or prop.get("readOnly"):
            raise ConnectorError(f"The NetSuite field {name} is not a writable text field: name another one.", ErrorKind.CONFIG)
        if self._field(spec, name) is None:
            custom = FieldSpec(name, str(prop.get("title") or name), S)
            with self._cache_lock:
                self._custom[spec.name] = (*self._custom.get(spec.name, ()), custom)
        return name

    def _schema(self, record: str) -> dict:
        if record not in self._schemas:
            response = self.http.request("GET", f"{METADATA_PATH}/{record}", headers={"Accept": "application/schema+json"})
            self._schemas[record] = response.json()
        return self._schemas[record]

    def _list_options(self, table: str) -> tuple[Option, ...]:
        if table not in self._options:
            key, label = LIST_LABELS[table]
            rows = self._query_all(f"SELECT {key} AS value, {label} AS label FROM {table} ORDER BY {key}")
            self._options[table] = tuple(Option(value=str(r["value"]), label=str(r.get("label") or r["value"])) for r in rows)
        return self._options[table]

    # --- SuiteQL --------------------------------------------------------------------------------------
    def _query(self, q: str, limit: int = MAX_PAGE_SIZE, offset: int = 0) -> dict[str, Any]:
        response = self.http.request(
            "POST",
            SUITEQL_PATH,
            json={"q": q},
            params={"limit": limit, "offset": offset},
            headers={"Prefer": "transient"},
        )
        return response.json()

    def _query_all(self, q: str, max_pages: int = 100) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for page in range(max_pages):
            body = self._query(q, MAX_PAGE_SIZE, page * MAX_PAGE_SIZE)
            rows += body.get("items") or []
            if not body.get("hasMore"):
                return rows
        raise ConnectorError(f"NetSuite kept sending pages after {max_pages}", ErrorKind.SERVER)

    def _select(self, spec: ObjectSpec) -> str:
        columns = ["id"]
        for f in self._fields(spec):
            if f.type == D:
                columns.append(f"TO_CHAR({f.col}, 'YYYY-MM-DD') AS {f.col}")
            else:
                columns.append(f.col)
        columns.append(f"TO_CHAR(lastmodifieddate, '{STAMP_FORMAT}') AS ss_modified")
        columns.append(f"TO_CHAR({spec.created_column}, '{STAMP_FORMAT}') AS ss_created")
        return f"SELECT {', '.join(columns)} FROM {spec.table}"

    def _where(self, spec: ObjectSpec, *conditions: str) -> str:
        parts = [c for c in (spec.where, *conditions) if c]
        return (" WHERE " + " AND ".join(f"({p})" for p in parts)) if parts else ""

    # --- reading --------------------------------------------------------------------------------------
    def read_changes(self, object_type: str, cursor: dict[str, Any] | None, page_size: int | None = None) -> Page:
        spec = self._spec(object_type)
        size = max(1, min(page_size or MAX_PAGE_SIZE, MAX_PAGE_SIZE))
        cursor = cursor or {}
        q = self._select(spec) + self._where(spec, self._change_condition(cursor)) + " ORDER BY lastmodifieddate, id"
        body = self._query(q, size, 0)
        rows = body.get("items") or []
        has_more = bool(body.get("hasMore"))
        if not rows:
            return Page(records=[], cursor=_resting_cursor(cursor), has_more=False)
        seen = cursor.get("seen") or {}
        records = [self._record(spec, row) for row in rows if not seen or seen.get(str(row["id"])) != _version(row)]
        last = rows[-1]
        next_cursor: dict[str, Any] = {"since": last["ss_modified"], "after_id": int(last["id"]), "paging": has_more}
        if not has_more:
            next_cursor["seen"] = self._versions_in_overlap(rows, _parse_stamp(last["ss_modified"]))
        return Page(records=records, cursor=next_cursor, has_more=has_more)

    def _change_condition(self, cursor: Mapping[str, Any]) -> str:
        since = cursor.get("since")
        if not since:
            return ""
        stamp = _parse_stamp(str(since))
        if cursor.get("paging"):
            lit = timestamp_literal(stamp)
            return f"lastmodifieddate > {lit} OR (lastmodifieddate = {lit} AND id > {int(cursor['after_id'])})"
        return f"lastmodifieddate >= {timestamp_literal(stamp - self.overlap)}"

    def _versions_in_overlap(self, rows: list[dict[str, Any]], newest: dt.datetime) -> dict[str, str]:
        """Versions the next poll's overlap reads again, so it can skip them (content, not the
        stamp: a second edit within the same second keeps the stamp but not the content)."""
        floor = newest - self.overlap
        return {str(row["id"]): _version(row) for row in rows if _parse_stamp(row["ss_modified"]) >= floor}

    def read_by_ids(self, object_type: str, ids: Sequence[str]) -> list[Record]:
        spec = self._spec(object_type)
        numeric = sorted({int(i) for i in ids if str(i).isdigit() and len(str(i)) < 19})
        records: list[Record] = []
        for chunk in _chunks(numeric, self.max_batch_read):
            q = self._select(spec) + self._where(spec, f"id IN ({', '.join(str(i) for i in chunk)})") + " ORDER BY id"
            records += [self._record(spec, row) for row in self._query_all(q)]
        return records

    def match_chunk_size(self, object_type: str, field_name: str) -> int:
        return 100 if field_name == "url" else self.max_batch_read

    def find_by(self, object_type: str, field_name: str, values: Sequence[str]) -> dict[str, list[Record]]:
        spec = self._spec(object_type)
        fspec = spec.spec(field_name)
        if fspec is None or field_name not in spec.match_fields:
            raise ConnectorError(f"NetSuite {object_type} cannot be looked up by {field_name!r}", ErrorKind.CONFIG)
        wanted = {str(v).strip().lower(): str(v).strip() for v in values if str(v).strip()}
        found: dict[str, list[Record]] = {key: [] for key in wanted}
        if not wanted:
            return found
        if field_name == "url":
            self._find_by_domain(spec, wanted, found)
            return found
        for chunk in _chunks(sorted(wanted), self.max_batch_read):
            for row in self._query_all(
                self._select(spec) + self._where(spec, _lookup_condition(fspec.col, chunk)) + " ORDER BY id"
            ):
                record = self._record(spec, row)
                for key in keys_held(chunk, record.properties.get(field_name)):
                    if record.id not in {r.id for r in found[key]}:
                        found[key].append(record)
        return found

    def _find_by_domain(self, spec: ObjectSpec, wanted: dict[str, str], found: dict[str, list[Record]]) -> None:
        by_domain: dict[str, list[str]] = {}
        for key in wanted:
            by_domain.setdefault(normalise_domain(key), []).append(key)
        domains = sorted(d for d in by_domain if d)
        for chunk in _chunks(domains, 100):
            condition = " OR ".join(f"LOWER(url) LIKE {literal('%' + d + '%')}" for d in chunk)
            for row in self._query_all(self._select(spec) + self._where(spec, condition) + " ORDER BY id"):
                record = self._record(spec, row)
                for key in by_domain.get(normalise_domain(str(record.properties.get("url") or "")), []):
                    found[key].append(record)

    # --- flattening -------------------------------------------------------------------------------------
    def _record(self, spec: ObjectSpec, row: dict[str, Any]) -> Record:
        props: dict[str, Any] = {}
        for f in self._fields(spec):
            props[f.name] = _from_sql(f, row.get(f.col))
        return Record(
            id=str(row["id"]),
            properties=props,
            updated_at=_parse_stamp(row["ss_modified"]) if row.get("ss_modified") else None,
            created_at=_parse_stamp(row["ss_created"]) if row.get("ss_created") else None,
        )

    def _body(self, spec: ObjectSpec, properties: Mapping[str, Any], creating: bool) -> dict[str, Any]:
        body: dict[str, Any] = {}
        for name, value in properties.items():
            f = self._field(spec, name)
            if f is None:
                raise ConnectorError(f"{name!r} is not a NetSuite {spec.name} field", ErrorKind.VALIDATION, fields=[name])
            if f.read_only or spec.read_only:
                raise ConnectorError(f"{f.label} is read-only in NetSuite", ErrorKind.VALIDATION, fields=[name])
            body[name] = _to_rest(f, value)
        if creating:
            if spec.name == "customers" and "isPerson" not in body:
                body["isPerson"] = not body.get("companyName") and bool(body.get("lastName") or body.get("firstName"))
            if spec.subsidiary and not body.get("subsidiary") and self.default_subsidiary:
                body["subsidiary"] = {"id": self.default_subsidiary}
        return body

    # --- writing ----------------------------------------------------------------------------------------
    def create(self, object_type: str, inputs: Sequence[WriteInput]) -> list[WriteResult]:
        spec = self._spec(object_type)
        self._refuse_read_only(spec)
        return [self._create_one(spec, item) for item in inputs]

    def _create_one(self, spec: ObjectSpec, item: WriteInput) -> WriteResult:
        try:
            body = self._body(spec, item.properties, creating=True)
            missing = [f.name for f in spec.fields if f.required and not body.get(f.name)]
            if missing:
                raise ConnectorError(
                    f"A NetSuite {spec.record} needs {' and '.join(missing)}: link it first.",
                    ErrorKind.VALIDATION,
                    fields=missing,
                )
            if item.ref:
                # An upsert by external id is idempotent: a retry after a lost answer finds the record.
                body.setdefault("externalId", external_id_for(spec.name, item.ref))
                path = f"{RECORD_PATH}/{spec.record}/eid:{quote(str(body['externalId']), safe='')}"
                response = self.http.request("PUT", path, json={k: v for k, v in body.items() if k != "externalId"})
            else:
                response = self.http.request("POST", f"{RECORD_PATH}/{spec.record}", json=body, idempotent=False)
        except ConnectorError as error:
            self._raise_if_fatal(error)
            return WriteResult(ref=item.ref, error=error)
        return WriteResult(ref=item.ref, id=_id_from_location(response))

    def update(self, object_type: str, inputs: Sequence[WriteInput]) -> list[WriteResult]:
        spec = self._spec(object_type)
        self._refuse_read_only(spec)
        return [self._update_one(spec, item) for item in inputs]

    def _update_one(self, spec: ObjectSpec, item: WriteInput) -> WriteResult:
        if not item.id or not str(item.id).isdigit():
            return WriteResult(
                ref=item.ref,
                id=item.id,
                error=ConnectorError(f"NetSuite ids are numbers, not {item.id!r}", ErrorKind.NOT_FOUND),
            )
        try:
            body = self._body(spec, item.properties, creating=False)
            if body:
                self.http.request("PATCH", f"{RECORD_PATH}/{spec.record}/{int(item.id)}", json=body)
        except ConnectorError as error:
            self._raise_if_fatal(error)
            return WriteResult(ref=item.ref, id=str(item.id), error=error)
        return WriteResult(ref=item.ref, id=str(item.id))

    @staticmethod
    def _refuse_read_only(spec: ObjectSpec) -> None:
        if spec.read_only:
            raise ConnectorError(f"NetSuite {spec.name} are read-only", ErrorKind.CONFIG)

    @staticmethod
    def _raise_if_fatal(error: ConnectorError) -> None:
        if error.kind in (ErrorKind.AUTH, ErrorKind.CONFIG):
            raise error

    # --- the user-event script's notifications -----------------------------------------------------------
    def verify_webhook(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> bool:
        # The signature first, before the body is parsed or anything else is looked at.
        return script.verify(self.webhook_secret, headers, body) and method.upper() == "POST"

    def parse_webhook(self, body: bytes, headers: Mapping[str, str] | None = None) -> list[WebhookEvent]:
        try:
            payload = json.loads(body)
        except ValueError:
            return []
        events = []
        for item in payload if isinstance(payload, list) else [payload]:
            if not isinstance(item, dict):
                continue
            object_type = script.OBJECT_TYPES.get(str(item.get("type", "")).lower())
            record_id = str(item.get("id") or "")
            if not object_type or not record_id.isdigit():
                continue
            occurred = _parse_stamp(str(item["occurredAt"])) if _is_stamp(item.get("occurredAt")) else None
            change = {"create": "created", "delete": "deleted"}.get(str(item.get("event", "")).lower(), "updated")
            events.append(
                WebhookEvent(
                    object_type=object_type,
                    record_id=record_id,
                    change=change,
                    occurred_at=occurred,
                    event_id=hashlib.sha1(body).hexdigest()[:20] + f":{record_id}",
                    payload=item,
                )
            )
        return events

    # --- connection test --------------------------------------------------------------------------------
    def test_connection(self) -> ConnectionTest:
        host = urlsplit(self.base_url).netloc
        try:
            body = self.http.request(
                "POST",
                SUITEQL_PATH,
                json={"q": "SELECT id, name FROM subsidiary ORDER BY id"},
                params={"limit": 5},
                headers={"Prefer": "transient"},
                extensions={"retry": QUICK_RETRY},
            ).json()
        except ConnectorError as error:
            if error.kind in (ErrorKind.NETWORK, ErrorKind.TIMEOUT):
                return ConnectionTest(False, f"Could not reach NetSuite at {host}. Check the account id and that it is online.")
            if error.kind == ErrorKind.AUTH:
                return ConnectionTest(
                    False,
                    f"NetSuite refused the credentials for account {self.account_id}: check the account id, the "
                    "integration's consumer key and secret and the access token id and secret (Setup > Users/Roles > "
                    "Access Tokens), or connect with OAuth 2.0 again.",
                    account=self.account_id,
                )
            return ConnectionTest(False, f"NetSuite answered with an error: {error.message}", account=self.account_id)
        subsidiaries = ", ".join(str(i.get("name")) for i in body.get("items") or [])
        sandbox = " (sandbox)" if "_SB" in self.account_id else ""
        return ConnectionTest(
            True,
            f"Connected to NetSuite account {self.account_id}{sandbox}."
            + (f" Subsidiaries: {subsidiaries}." if subsidiaries else ""),
            account=self.account_id,
        )


# --- credentials ---------------------------------------------------------------------------------------
def auth_for(
    config: Mapping[str, Any],
    credentials: Mapping[str, Any],
    transport: httpx.BaseTransport | None = None,
    on_tokens: Callable[[Mapping[str, Any]], None] | None = None,
) -> httpx.Auth:
    """TBA when a token id is stored, else OAuth 2.0 (refresh token or client credentials)."""
    account = str(config.get("account_id") or "")
    if credentials.get("token_id"):
        return TBAAuth(
            account,
            str(config.get("consumer_key") or credentials.get("consumer_key") or ""),
            str(credentials.get("consumer_secret") or ""),
            str(credentials["token_id"]),
            str(credentials.get("token_secret") or ""),
        )

    refresh = token_refresher(config, credentials, transport=transport)
    if refresh is None:
        raise ConnectorError(
            "The NetSuite connection has neither TBA tokens nor OAuth 2.0 credentials: connect it again.", ErrorKind.CONFIG
        )
    return OAuth2Auth(str(credentials.get("access_token") or ""), None, refresh, on_tokens)


def _token_saver(connection: Any, tokens: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], None] | None:
    """Keep refreshed OAuth 2.0 tokens on the connection (encrypted); run by the run's own thread."""
    save = getattr(connection, "save_tokens", None)
    if save is None:
        return None

    def store(body: Mapping[str, Any]) -> None:
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=int(body.get("expires_in", 3600)))
        refresh = body.get("refresh_token") or tokens.get("refresh_token")
        save({"access_token": body["access_token"], **({"refresh_token": refresh} if refresh else {})}, expires)

    return on_owner_thread(store)


def external_id_for(object_type: str, ref: str) -> str:
    """The external id a create by SyncSmart carries: stable per source record."""
    digest = hashlib.sha256(f"{object_type}|{ref}".encode()).hexdigest()[:24]
    return f"{EXTERNAL_ID_PREFIX}{digest}"


# --- helpers -------------------------------------------------------------------------------------------
def _lookup_condition(column: str, keys: list[str]) -> str:
    """A look-up's condition: each (lower-case) key's longest word with LIKE on the lower-cased
    column (connectors.base.lookup_fragment), so "ACME  Inc." or " Ava.Kim@X.com" are found, and
    the caller compares what it finds normalised; the exact values when a word is too short."""
    fragments = searchable_fragments(keys)
    if fragments is None:
        return f"LOWER({column}) IN ({', '.join(literal(v) for v in keys)})"
    return " OR ".join(f"LOWER({column}) LIKE {literal('%' + f + '%')}" for f in fragments)


def normalise_domain(value: str) -> str:
    text = value.strip().lower()
    if "://" not in text:
        text = "//" + text
    host = urlsplit(text).hostname or ""
    return host[4:] if host.startswith("www.") else host


def _schema_type(prop: Mapping[str, Any], default: FieldType) -> FieldType:
    kind = (str(prop.get("type") or ""), str(prop.get("format") or ""))
    return SCHEMA_TYPES.get(kind, default)


def _from_sql(f: FieldSpec, value: Any) -> Any:
    if value is None or value == "":
        return None
    if f.type == B:
        return value == "T"
    if f.type == N:
        try:
            number = float(value)
        except ValueError:
            return None
        return int(number) if number.is_integer() else number
    return str(value)


def _to_rest(f: FieldSpec, value: Any) -> Any:
    if value is None or value == "":
        return None
    if f.type in (EN, FieldType.REFERENCE, FieldType.OWNER):
        text = str(value)
        if not text.isdigit():
            raise ConnectorError(
                f"{f.label} must be a NetSuite internal id, not {value!r}", ErrorKind.VALIDATION, fields=[f.name]
            )
        return {"id": text}
    if f.type == B:
        return value if isinstance(value, bool) else str(value).lower() in ("true", "t", "1", "yes")
    if f.type == N:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConnectorError(f"{f.label} must be a number, not {value!r}", ErrorKind.VALIDATION, fields=[f.name]) from None
    if f.type == D:
        if isinstance(value, dt.datetime):
            return value.astimezone(dt.UTC).date().isoformat() if value.tzinfo else value.date().isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        return str(value)[:10]
    return str(value)


def _id_from_location(response: httpx.Response) -> str | None:
    location = response.headers.get("Location", "")
    match = re.search(r"/(\d+)/?$", location)
    return match.group(1) if match else None


def _chunks(values: Sequence[Any], size: int) -> list[list[Any]]:
    chunks: list[list[Any]] = [[]]
    length = 0
    for value in values:
        piece = len(str(value)) + 4
        if chunks[-1] and (len(chunks[-1]) >= size or length + piece > MAX_QUERY_CHARS):
            chunks.append([])
            length = 0
        chunks[-1].append(value)
        length += piece
    return [c for c in chunks if c]


def _version(row: Mapping[str, Any]) -> str:
    return hashlib.sha1(json.dumps(row, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _resting_cursor(cursor: Mapping[str, Any]) -> dict[str, Any]:
    if not cursor.get("since"):
        return {}
    resting: dict[str, Any] = {"since": cursor["since"]}
    if cursor.get("seen") and not cursor.get("paging"):
        resting |= {"after_id": cursor.get("after_id"), "paging": False, "seen": cursor["seen"]}
    return resting


def _parse_stamp(value: str) -> dt.datetime:
    text = value.strip().replace("Z", "+00:00")
    parsed = dt.datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _is_stamp(value: Any) -> bool:
    try:
        _parse_stamp(str(value))
    except ValueError:
        return False
    return value is not None
