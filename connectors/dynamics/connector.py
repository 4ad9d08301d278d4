"""The Microsoft Dynamics 365 (Dataverse Web API v9.2) connector.

Object types are the Dataverse tables by entity set name: leads, contacts, accounts,
opportunities and systemusers (read only; people are matched by internalemailaddress).
Fields are flat logical names, discovered through EntityDefinitions: lookups are REFERENCE
fields named after the lookup column (contact `parentcustomerid` -> accounts) read from
`_x_value` and written as `nav@odata.bind`; `ownerid` is an OWNER -> systemusers; picklists,
statecode and statuscode are ENUMs whose option values are str(int) with localized labels.

Reads: the first read is a change-tracked full read (`Prefer: odata.track-changes` with
`odata.maxpagesize`), the cursor holding its @odata.nextLink until the last page hands over the
@odata.deltaLink; later reads follow the deltaLink, so every change is read once, deletions
come back as records with deleted=True. Writes (write_mode "bulk", the default, measured faster
in docs/benchmarks.md): CreateMultiple / UpdateMultiple / UpsertMultiple with up to 1,000 Targets,
as Microsoft recommends for throughput on standard tables; a bulk message is all or nothing there,
so a chunk it refuses (one bad record, a row already created by a retried call) is written again
with $batch, which settles each record on its own, and a table that takes no bulk messages is
remembered and written with $batch from then on. $batch (write_mode "batch", or the connection's
config["write_mode"]): one per up to 1,000 records, one change set per record by default (so one
bad record cannot roll back the others) and `Prefer: odata.continue-on-error`; when a change set
of several records is rolled back, its failing operation's error goes to that record and the
others are sent again. Creates carry an id chosen here (CreateMultiple Targets, or
`PATCH {set}({id})` with `If-None-Match: *`) and updates never create (UpdateMultiple, or PATCH
with `If-Match: *`), so every call is safe to retry after a lost answer: nothing is created twice;
`upsert()` offers the unguarded form too (UpsertMultiple, or PATCH without a guard).

Webhooks: Connection.config["webhook_auth"] names the service endpoint's auth type
(WebhookKey, the default; HttpHeader; HttpQueryString) and Connection.credentials holds the
secret: "webhook_key" (the `code`) or "webhook_pairs" ({name: value} headers or query
parameters). verify_webhook needs the full request URL, query included.

Auth: OAuth 2.0 client credentials against Azure AD ({token_url_base}/{tenant}/oauth2/v2.0/token,
scope {org url}/.default). The token is cached (and persisted on the Connection, encrypted),
refreshed five minutes before it expires, and once more transparently when Dataverse says 401.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

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
    chunked,
)
from connectors.dynamics import batch as batchfmt
from connectors.dynamics import limits, odata, parties
from connectors.dynamics import webhooks as hooks
from connectors.dynamics.schema_activities import party_navigation
from connectors.http import Limiter, VendorHttp, kind_for_status, on_owner_thread, retry_after_seconds, tls_context

log = logging.getLogger("syncsmart.dynamics")

API_PATH = "/api/data/v9.2"
LOGIN_BASE = "https://login.microsoftonline.com"
MAX_BATCH_OPERATIONS = limits.MAX_BATCH_OPERATIONS  # Dataverse: up to 1,000 requests per $batch
# Writes: "bulk" sends CreateMultiple / UpdateMultiple / UpsertMultiple (Microsoft's advice for
# throughput on standard tables) and falls back to $batch per chunk; "batch" sends $batch only.
WRITE_MODES = ("bulk", "batch")
BULK_TARGETS = 1000  # Targets per bulk message: as many as a $batch carries, so one call replaces one
# The guard each write kind carries -> the bulk message that writes the same way.
BULK_MESSAGE_OF_GUARD = {"If-None-Match": "CreateMultiple", "If-Match": "UpdateMultiple", "": "UpsertMultiple"}
MAX_PAGE_SIZE = limits.MAX_PAGE_SIZE  # Dataverse: odata.maxpagesize is capped at 5,000 rows
LOOKUP_VALUES_PER_QUERY = 100  # keeps a look-up URL far below Dataverse's 32 KB URL limit
TOKEN_REFRESH_MARGIN = 300  # seconds before expiry a cached token is replaced
ANNOTATIONS = 'odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"'
# "Version stamp associated with the client has expired": the delta token outlived change
# tracking's retention; the only way on is a full read (records may repeat, none are lost).
CHANGE_TOKEN_EXPIRED = "0x80044352"
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class _Table:
    def __init__(
        self,
        name: str,
        logical: str,
        label: str,
        primary_key: str,
        match_fields: tuple[str, ...],
        parents: tuple[str, ...] = (),
        read_only: bool = False,
        email_field: str | None = None,
        needs_parent: bool = False,
    ):
        self.object_type = ObjectType(
            name=name,
            label=label,
            primary_key=primary_key,
            cursor_field="modifiedon",
            match_fields=match_fields,
            parents=parents,
            read_only=read_only,
            email_field=email_field,
            needs_parent=needs_parent,
        )
        self.logical = logical


ACTIVITY_PARENTS = ("contacts", "accounts", "opportunities")
TABLES = {
    t.object_type.name: t
    for t in (
        _Table("accounts", "account", "Accounts", "accountid", ("websiteurl", "name")),
        _Table("contacts", "contact", "Contacts", "contactid", ("emailaddress1",), parents=("accounts",)),
        _Table("leads", "lead", "Leads", "leadid", ("emailaddress1",)),
        _Table("opportunities", "opportunity", "Opportunities", "opportunityid", ("name",), parents=("accounts", "contacts")),
        _Table(
            "systemusers",
            "systemuser",
            "Users",
            "systemuserid",
            ("internalemailaddress",),
            read_only=True,
            email_field="internalemailaddress",
        ),
        # Activities: never created without the record they hang off (an orphan note helps nobody).
        _Table("annotations", "annotation", "Notes", "annotationid", (), parents=ACTIVITY_PARENTS, needs_parent=True),
        _Table("phonecalls", "phonecall", "Phone calls", "activityid", (), parents=ACTIVITY_PARENTS, needs_parent=True),
        _Table("tasks", "task", "Tasks", "activityid", (), parents=ACTIVITY_PARENTS, needs_parent=True),
        _Table("emails", "email", "E-mails", "activityid", (), parents=ACTIVITY_PARENTS, needs_parent=True),
        _Table("appointments", "appointment", "Appointments", "activityid", (), parents=ACTIVITY_PARENTS, needs_parent=True),
    )
}
SET_OF_LOGICAL = {t.logical: name for name, t in TABLES.items()}
# Polymorphic lookups: the one target SyncSmart maps them to (customer: account or contact;
# owner: systemuser or team).
PREFERRED_TARGET = {"Customer": "account", "Owner": "systemuser"}


@dataclasses.dataclass
class _Op:
    """One write of a batch: a guarded PATCH of one record."""

    method: str
    url: str  # relative to the Web API root
    headers: dict[str, str]
    ref: str | None
    record_id: str
    properties: dict[str, Any]
    ours: bool = False  # a create whose id this connector chose
    body: dict[str, Any] | None = None


class _Column:
    """What the connector knows about one column from the metadata."""

    def __init__(self, info: FieldInfo, attribute_type: str, targets: tuple[str, ...]):
        self.info = info
        self.attribute_type = attribute_type
        self.targets = targets

    @property
    def is_lookup(self) -> bool:
        return self.info.type in (FieldType.REFERENCE, FieldType.OWNER)

    @property
    def target(self) -> str:
        return mapped_target(self.attribute_type, self.targets) or self.targets[0]

    def navigation(self) -> str:
        """The single-valued navigation property to bind: `ownerid` and one-target lookups use the
        column name; other polymorphic lookups one per target (`parentcustomerid_account`)."""
        if self.attribute_type == "Owner" or len(self.targets) == 1:
            return self.info.name
        return f"{self.info.name}_{self.target}"


def mapped_target(attribute_type: str | None, targets: tuple[str, ...]) -> str | None:
    preferred = PREFERRED_TARGET.get(attribute_type or "")
    return preferred if preferred in targets else (targets[0] if targets else None)


def dataverse_error(response: httpx.Response) -> ConnectorError:
    """Dataverse's {"error": {"code", "message"}} (or an empty 401) as one ConnectorError."""
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text[:500]
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        message, code = str(error.get("message") or ""), str(error.get("code") or "")
    else:
        message, code = "", ""
    if response.status_code == 401 and not message:
        message = "Dynamics 365 rejected the access token (401): the app's credentials or its application user are not valid."
    return ConnectorError(
        message or f"Dynamics 365 answered HTTP {response.status_code}",
        kind_for_status(response.status_code),
        status=response.status_code,
        vendor_code=code,
        retry_after=retry_after_seconds(response),
        body=body,
    )


def azure_ad_error(response: httpx.Response) -> ConnectorError:
    """Azure AD's {"error", "error_description": "AADSTS...: ..."} with a message that says what to fix."""
    try:
        body: Any = response.json()
    except ValueError:
        body = {}
    description = str(body.get("error_description") or "") if isinstance(body, dict) else ""
    m = re.match(r"AADSTS(\d+):\s*(.*?)(?:\r?\n|$)", description)
    code, detail = (m.group(1), m.group(2)) if m else ("", description)
    hint = AAD_HINTS.get(code)
    status = response.status_code
    kind = ErrorKind.AUTH if status in (400, 401, 403) else kind_for_status(status)
    message = f"{hint} (Azure AD AADSTS{code}: {detail})" if hint else f"Azure AD refused the token request: {detail or status}"
    return ConnectorError(
        message,
        kind,
        status=status,
        vendor_code=f"AADSTS{code}" if code else "",
        retry_after=retry_after_seconds(response),
        body={"error": body.get("error") if isinstance(body, dict) else None},
    )


AAD_HINTS = {
    "7000215": "Azure AD rejected the app's credentials: the client secret is wrong. Paste the secret's Value (not its "
    "Secret ID) from Azure portal > App registrations > Certificates & secrets, and check it has not expired",
    "7000222": "Azure AD rejected the app's credentials: the client secret has expired. Create a new secret and enter it here",
    "700016": "Azure AD does not know this Application (client) ID in this tenant: check the client ID and the Directory "
    "(tenant) ID on the app registration's Overview page",
    "90002": "Azure AD could not find this Directory (tenant) ID: copy it from the app registration's Overview page",
    "900023": "The Directory (tenant) ID is not valid: copy it from the app registration's Overview page",
    "500011": "Azure AD does not know this org URL as a Dynamics 365 environment in the tenant: check the org URL "
    "(e.g. https://contoso.crm.dynamics.com) and that the environment belongs to this tenant",
    "70011": "The token scope was refused: check the org URL",
}


class ClientCredentials(httpx.Auth):
    """Bearer tokens from Azure AD's client-credentials grant: cached, refreshed before expiry,
    and refreshed once more when Dataverse answers 401 (a token revoked or expired mid-run)."""

    requires_request_body = True

    def __init__(
        self,
        token_http: VendorHttp,
        *,
        tenant_id: str,
        client_id: str,
        client_secret: str,
        scope: str,
        tokens: Mapping[str, Any] | None = None,
        on_refresh: Callable[[dict[str, Any]], None] | None = None,
    ):
        self.token_http = token_http
        self.tenant_id, self.client_id, self._secret, self.scope = tenant_id, client_id, client_secret, scope
        self._token = dict(tokens or {})
        self._lock = threading.Lock()
        self.on_refresh = on_refresh
        self.refreshes = 0

    def _valid(self) -> bool:
        return (
            bool(self._token.get("access_token")) and float(self._token.get("expires_at", 0)) - TOKEN_REFRESH_MARGIN > time.time()
        )

    def access_token(self, force: bool = False, stale: str | None = None) -> str:
        with self._lock:
            if force and self._token.get("access_token") != stale and self._valid():
                return self._token["access_token"]  # another thread already replaced the stale token
            if force or not self._valid():
                self._token = self._fetch()
                self.refreshes += 1
                if self.on_refresh:
                    self.on_refresh(dict(self._token))
            return self._token["access_token"]

    def _fetch(self) -> dict[str, Any]:
        response = self.token_http.request(
            "POST",
            f"/{self.tenant_id}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self._secret,
                "scope": self.scope,
            },
        )
        body = response.json()
        if not body.get("access_token"):
            raise ConnectorError("Azure AD answered without an access token.", ErrorKind.AUTH)
        return {
            "access_token": body["access_token"],
            "token_type": body.get("token_type", "Bearer"),
            "expires_at": time.time() + float(body.get("expires_in", 3599)),
        }

    def auth_flow(self, request: httpx.Request):
        token = self.access_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = f"Bearer {self.access_token(force=True, stale=token)}"
            yield request


def _budgeted_limiter(config: Mapping[str, Any], connection_pk: Any) -> Limiter:
    """The app user's 5-minute window, and the org's daily budget (connectors/dynamics/budget.py)."""
    account, daily = quota.account_budget("dynamics", config, connection_pk)
    return limits.dynamics_limiter(config["org_url"], config["client_id"], daily=daily, account=account)


class DynamicsConnector(Connector):
    system = "dynamics"
    max_batch_write = MAX_BATCH_OPERATIONS
    max_batch_read = LOOKUP_VALUES_PER_QUERY
    max_page_size = MAX_PAGE_SIZE
    # Dataverse allows 52 concurrent requests per user; leave a few for the run's other calls
    # (the next page's read, a token request) so our own fan-out never meets that 429.
    max_concurrency = limits.MAX_CONCURRENT - 4
    id_field_objects = ("accounts", "contacts", "leads", "opportunities")

    def __init__(
        self,
        org_url: str,
        tenant_id: str,
        client_id: str,
        client_secret: str,
        *,
        token_url_base: str = LOGIN_BASE,
        transport: httpx.BaseTransport | None = None,
        limiter: Limiter | None = None,
        verify: bool | str = True,
        tokens: Mapping[str, Any] | None = None,
        on_tokens: Callable[[dict[str, Any]], None] | None = None,
        webhook_auth: str = "WebhookKey",
        webhook_secrets: Mapping[str, Any] | None = None,
        changeset_size: int = 1,
        retry=None,
        default_page_size: int = 1000,
        write_mode: str = "bulk",
    ):
        self.org_url = org_url.rstrip("/")
        self.api_root = self.org_url + API_PATH
        self.tenant_id = tenant_id
        self.webhook_auth = webhook_auth
        self.webhook_secrets = dict(webhook_secrets or {})
        self.changeset_size = max(1, changeset_size)
        if write_mode not in WRITE_MODES:
            raise ConnectorError(f"write_mode must be one of {', '.join(WRITE_MODES)}, not {write_mode!r}", ErrorKind.CONFIG)
        self.write_mode = write_mode
        self._no_bulk: set[str] = set()  # tables that answered that they take no bulk messages
        self.default_page_size = default_page_size
        verify = tls_context(verify)  # a CA file (the emulator's, or a corporate proxy's): one shared context
        self.token_http = VendorHttp(
            token_url_base, system="Azure AD", error_parser=azure_ad_error, transport=transport, verify=verify, retry=retry
        )
        self.auth = ClientCredentials(
            self.token_http,
            tenant_id=tenant_id,
            client_id=client_id,
            client_secret=client_secret,
            scope=f"{self.org_url}/.default",
            tokens=tokens,
            on_refresh=on_tokens,
        )
        self.http = VendorHttp(
            self.api_root,
            system="Dynamics 365",
            auth=self.auth,
            limiter=limiter,
            error_parser=dataverse_error,
            transport=transport,
            verify=verify,
            retry=retry,
            headers={"Accept": "application/json", "OData-MaxVersion": "4.0", "OData-Version": "4.0"},
        )
        self._columns: dict[str, dict[str, _Column]] = {}
        self._options: dict[str, dict[str, tuple[Option, ...]]] = {}
        # Concurrent writes of a page all need a table's columns first: fetch them once.
        self._metadata_lock = threading.Lock()

    @classmethod
    def from_connection(
        cls, connection: Any, transport: httpx.BaseTransport | None = None, limiter: Limiter | None = None, **kwargs: Any
    ) -> DynamicsConnector:
        config = connection.config or {}
        credentials = connection.credentials or {}
        missing = [k for k in ("org_url", "tenant_id", "client_id") if not config.get(k)]
        if missing or not credentials.get("client_secret"):
            raise ConnectorError(
                "The Dynamics 365 connection is incomplete: enter the org URL, tenant ID, client ID and client secret again.",
                ErrorKind.CONFIG,
            )
        stored = connection.oauth_tokens or {}

        @on_owner_thread  # a token may be fetched in a concurrent call; the database is the run's thread's
        def persist(tokens: dict[str, Any]) -> None:
            if getattr(connection, "pk", None):
                connection.save_tokens(tokens, dt.datetime.fromtimestamp(tokens["expires_at"], dt.UTC))

        return cls(
            config["org_url"],
            config["tenant_id"],
            config["client_id"],
            credentials["client_secret"],
            token_url_base=config.get("token_url_base") or LOGIN_BASE,
            transport=transport,
            limiter=limiter if limiter is not None else _budgeted_limiter(config, getattr(connection, "pk", None)),
            verify=config.get("ca_file") or True,
            tokens=stored if stored.get("access_token") else None,
            on_tokens=persist,
            webhook_auth=config.get("webhook_auth", "WebhookKey"),
            webhook_secrets={k: v for k, v in credentials.items() if k.startswith("webhook_")},
            **({"write_mode": config["write_mode"]} if config.get("write_mode") else {}) | kwargs,
        )

    def close(self) -> None:
        self.http.close()
        self.token_http.close()

    # --- object types and fields -------------------------------------------------------------
    def object_types(self) -> list[ObjectType]:
        return [t.object_type for t in TABLES.values()]

    def _table(self, object_type: str) -> _Table:
        table = TABLES.get(object_type)
        if table is None:
            raise ConnectorError(f"Unknown object type {object_type!r} for Dynamics 365", ErrorKind.CONFIG)
        return table

    def discover_fields(self, object_type: str) -> list[FieldInfo]:
        """Columns with their dropdown options (three more metadata calls, cached)."""
        if object_type not in self._options:
            self._options[object_type] = self._option_sets(self._table(object_type).logical)
        options = self._options[object_type]
        fields = [
            dataclasses.replace(c.info, options=options.get(name, ())) if c.info.type == FieldType.ENUM else c.info
            for name, c in self._schema(object_type).items()
        ]
        if parties.has_parties(self._table(object_type).logical):
            fields.append(parties.field_info())  # the activity's contacts (activityparty rows): parties.py
        return fields

    def _attach_parties(self, object_type: str, records: list[Record]) -> list[Record]:
        table = self._table(object_type)
        if parties.has_parties(table.logical) and records:
            parties.attach(self._get_json, object_type, table.logical, table.object_type.primary_key, records)
        return records

    def _get_json(self, path: str, params: dict[str, str]) -> dict:
        return self.http.request("GET", path, params=params, headers=self._prefer()).json()

    def _schema(self, object_type: str) -> dict[str, _Column]:
        """Columns from EntityDefinitions with $expand=Attributes: one call per table, cached.
        Reads and writes need only this (which columns are lookups and picklists), not the options."""
        columns = self._columns.get(object_type)
        if columns is None:
            with self._metadata_lock:
                columns = self._columns.get(object_type)
                if columns is None:
                    columns = self._load_schema(object_type)
        return columns

    def _load_schema(self, object_type: str) -> dict[str, _Column]:
        table = self._table(object_type)
        definition = self.http.request(
            "GET",
            f"/EntityDefinitions(LogicalName='{table.logical}')",
            params={"$select": "LogicalName,EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute", "$expand": "Attributes"},
        ).json()
        columns: dict[str, _Column] = {}
        for attribute in definition.get("Attributes", []):
            column = self._column(table, definition, attribute)
            if column is not None:
                columns[column.info.name] = column
        self._columns[object_type] = columns
        return columns

    def _option_sets(self, logical: str) -> dict[str, tuple[Option, ...]]:
        found: dict[str, tuple[Option, ...]] = {}
        for cast in ("Picklist", "State", "Status"):
            body = self.http.request(
                "GET",
                f"/EntityDefinitions(LogicalName='{logical}')/Attributes/Microsoft.Dynamics.CRM.{cast}AttributeMetadata",
                params={"$select": "LogicalName", "$expand": "OptionSet($select=Options)"},
            ).json()
            for attribute in body.get("value", []):
                raw = ((attribute.get("OptionSet") or {}).get("Options")) or []
                found[attribute["LogicalName"]] = tuple(Option(str(o["Value"]), _label(o.get("Label"))) for o in raw)
        return found

    def _column(self, table: _Table, definition: dict, attribute: dict) -> _Column | None:
        name, kind = attribute["LogicalName"], attribute.get("AttributeType")
        if attribute.get("AttributeOf") or kind in ("EntityName", "Virtual", "PartyList", "ManagedProperty", None):
            return None  # shadow columns (e.g. owneridname) and types SyncSmart cannot map
        if name == definition.get("PrimaryIdAttribute"):
            return None  # Record.id carries it
        targets = tuple(attribute.get("Targets") or ())
        field_type, reference_to = _field_type(kind, attribute.get("Format")), None
        if kind in ("Lookup", "Customer", "Owner"):
            reference_to = SET_OF_LOGICAL.get(mapped_target(kind, targets) or "")
            if reference_to is None:
                return None  # a lookup to a table SyncSmart does not sync
        read_only = table.object_type.read_only or not (attribute.get("IsValidForCreate") or attribute.get("IsValidForUpdate"))
        required = (attribute.get("RequiredLevel") or {}).get("Value") in (
            "ApplicationRequired",
            "SystemRequired",
        ) and not read_only
        info = FieldInfo(
            name=name,
            label=_label(attribute.get("DisplayName")) or name,
            type=field_type,
            required=required and kind != "Owner",
            read_only=read_only,
            reference_to=reference_to,
            description=f"Dataverse {kind} column {table.logical}.{name}",
            max_length=attribute.get("MaxLength") if kind in ("String", "Memo") else None,
        )
        return _Column(info, kind, targets)

    # --- the counterpart's id (write_back_ids): a column ------------------------------------------
    @classmethod
    def default_id_field(cls, object_type: str, counterpart: str) -> str:
        if object_type not in cls.id_field_objects:
            return ""
        return "new_syncsmart" + re.sub(r"[^a-z0-9]+", "", counterpart.lower()) + "id"

    @classmethod
    def id_field_problem(cls, name: str) -> str | None:
        if not re.fullmatch(r"[a-z][a-z0-9]{1,7}_[a-z0-9_]{1,40}", name):
            return (
                "A Dataverse column's logical name is the publisher's customization prefix, _ and lower-case "
                "letters, digits or _ (e.g. new_syncsmarthubspotid)."
            )
        return None

    def ensure_id_field(self, object_type: str, name: str, counterpart: str) -> str:
        """The text column through the metadata Web API (POST EntityDefinitions(LogicalName='x')/
        Attributes with a StringAttributeMetadata) when the table has none of that name."""
        table = self._table(object_type)
        if object_type not in self.id_field_objects:
            raise ConnectorError(f"Dynamics {object_type} cannot carry the other system's id", ErrorKind.CONFIG)
        column = self._schema(object_type).get(name)
        if column is not None:
            if column.attribute_type not in ("String", "Memo") or column.info.read_only:
                raise ConnectorError(
                    f"The Dataverse column {name} is not a writable text column: name another one.", ErrorKind.CONFIG
                )
            return name
        label = {"@odata.type": "Microsoft.Dynamics.CRM.Label"}
        self.http.request(
            "POST",
            f"/EntityDefinitions(LogicalName='{table.logical}')/Attributes",
            json={
                "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
                "AttributeType": "String",
                "AttributeTypeName": {"Value": "StringType"},
                "SchemaName": name,
                "MaxLength": 100,
                "FormatName": {"Value": "Text"},
                "RequiredLevel": {"Value": "None", "CanBeChanged": True},
                "DisplayName": {**label, "LocalizedLabels": [_localized(f"{counterpart} ID")]},
                "Description": {
                    **label,
                    "LocalizedLabels": [_localized(f"The {counterpart} record this one is synced with, written by SyncSmart.")],
                },
            },
            idempotent=False,
        )
        with self._metadata_lock:
            self._load_schema(object_type)  # reads then $select the new column
        return name

    # --- reading -------------------------------------------------------------------------------------
    def _select(self, object_type: str) -> str:
        table = self._table(object_type)
        names = [table.object_type.primary_key]
        for column in self._schema(object_type).values():
            names.append(f"_{column.info.name}_value" if column.is_lookup else column.info.name)
        return ",".join(names)

    def _prefer(self, page_size: int | None = None, tracking: bool = False) -> dict[str, str]:
        prefs = [ANNOTATIONS]
        if tracking:
            prefs.append("odata.track-changes")
        if page_size:
            prefs.append(f"odata.maxpagesize={min(page_size, MAX_PAGE_SIZE)}")
        return {"Prefer": ",".join(prefs)}

    @classmethod
    def cursor_at(cls, since: dt.datetime) -> dict[str, Any] | None:
        # Change tracking has no start date: read_changes pages a `modifiedon ge` query instead.
        return {"since": since.isoformat().replace("+00:00", "Z")}

    def count_records(self, object_type: str, since: dt.datetime | None = None) -> int | None:
        """`$count=true` on a one-row page (with `modifiedon ge` when a date is given)."""
        table = self._table(object_type)
        params = {"$count": "true", "$top": "1", "$select": table.object_type.primary_key}
        if since:
            params["$filter"] = f"modifiedon ge {odata.quote(since)}"
        body = self.http.request("GET", f"/{table.object_type.name}", params=params).json()
        return int(body["@odata.count"]) if "@odata.count" in body else None

    def read_changes(self, object_type: str, cursor: dict[str, Any] | None, page_size: int | None = None) -> Page:
        table = self._table(object_type)
        columns = self._schema(object_type)
        size = page_size or self.default_page_size
        cursor = cursor or {}
        if cursor.get("since"):
            return self._read_since(object_type, cursor, size)
        link = cursor.get("next_link") or (
            self._current_select(object_type, cursor["delta_link"]) if cursor.get("delta_link") else None
        )
        try:
            response = self.http.request("GET", self._absolute(link), headers=self._prefer(size, tracking=True)) if link else None
        except ConnectorError as error:
            if error.vendor_code != CHANGE_TOKEN_EXPIRED:
                raise
            log.warning("Dynamics 365 change token for %s expired; reading the table in full again", object_type)
            response, cursor = None, {}
        if response is None:
            response = self.http.request(
                "GET",
                f"/{table.object_type.name}",
                params={"$select": self._select(object_type)},
                headers=self._prefer(size, tracking=True),
            )
        body = response.json()
        records = self._attach_parties(object_type, [self._record(table, columns, item) for item in body.get("value", [])])
        records.sort(key=lambda r: (r.updated_at is None, r.updated_at or dt.datetime.min.replace(tzinfo=dt.UTC)))
        if body.get("@odata.nextLink"):
            return Page(
                records,
                {"next_link": self._relative(body["@odata.nextLink"]), "delta_link": cursor.get("delta_link")},
                has_more=True,
            )
        delta = body.get("@odata.deltaLink")
        if not delta:
            raise ConnectorError(
                "Dynamics 365 returned neither a next link nor a delta link for a change-tracked read; "
                f"is change tracking enabled for {table.logical}?",
                ErrorKind.CONFIG,
            )
        return Page(records, {"delta_link": self._relative(delta)}, has_more=False)

    def _read_since(self, object_type: str, cursor: dict[str, Any], size: int) -> Page:
        """A historical read from a date: rows modified on or after `since`, paged by the server.
        Change tracking takes no $filter, so this is a plain query; it sees no deletions, and
        the incremental cursor (its own delta link) goes on as before."""
        table = self._table(object_type)
        columns = self._schema(object_type)
        if cursor.get("next_link"):
            response = self.http.request("GET", self._absolute(cursor["next_link"]), headers=self._prefer(size))
        else:
            since = _parse_time(cursor["since"])
            if since is None:
                raise ConnectorError(f"Not a date to start from: {cursor['since']!r}", ErrorKind.CONFIG)
            response = self.http.request(
                "GET",
                f"/{table.object_type.name}",
                params={
                    "$select": self._select(object_type),
                    "$filter": f"modifiedon ge {odata.quote(since)}",
                    "$orderby": f"modifiedon asc,{table.object_type.primary_key} asc",
                },
                headers=self._prefer(size),
            )
        body = response.json()
        records = self._attach_parties(object_type, [self._record(table, columns, item) for item in body.get("value", [])])
        if body.get("@odata.nextLink"):
            return Page(records, {"since": cursor["since"], "next_link": self._relative(body["@odata.nextLink"])}, True)
        return Page(records, {"since": cursor["since"]}, has_more=False)

    def _current_select(self, object_type: str, link: str) -> str:
        """A stored delta link with today's $select: the link keeps the columns of the read that
        made it, and a column made since (an id written back, a newly mapped field) would never
        be read from the feed. The $deltatoken, which says where the changes start, is kept."""
        parts = urlsplit(link)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "$select"]
        return urlunsplit(parts._replace(query=urlencode([("$select", self._select(object_type)), *query], safe="$,!:'")))

    def _relative(self, link: str) -> str:
        """Links are stored relative to the Web API root, so a moved org URL keeps its cursor."""
        if link.startswith(self.api_root):
            return link[len(self.api_root) :]
        return link.split(API_PATH, 1)[-1] if API_PATH in link else link

    def _absolute(self, link: str) -> str:
        return link if link.startswith("http") else self.api_root + link

    def _record(self, table: _Table, columns: dict[str, _Column], item: dict[str, Any]) -> Record:
        if "$deletedEntity" in str(item.get("@odata.context", "")) or item.get("reason") == "deleted":
            return Record(id=str(item.get("id", "")).lower(), properties={}, deleted=True)
        properties: dict[str, Any] = {}
        for name, column in columns.items():
            if column.is_lookup:
                value = item.get(f"_{name}_value")
                kind = item.get(f"_{name}_value@Microsoft.Dynamics.CRM.lookuplogicalname")
                # A customer lookup may point at a contact; only the mapped target is a usable reference.
                properties[name] = value if value and (kind is None or kind == column.target) else None
            elif column.info.type == FieldType.ENUM:
                value = item.get(name)
                properties[name] = None if value is None else str(value)
            else:
                properties[name] = item.get(name)
        return Record(
            id=str(item[table.object_type.primary_key]).lower(),
            properties=properties,
            updated_at=_parse_time(item.get("modifiedon")),
            created_at=_parse_time(item.get("createdon")),
        )

    def _query(self, object_type: str, filter_text: str, page_size: int = LOOKUP_VALUES_PER_QUERY) -> list[Record]:
        table = self._table(object_type)
        columns = self._schema(object_type)
        records: list[Record] = []
        response = self.http.request(
            "GET",
            f"/{object_type}",
            params={"$select": self._select(object_type), "$filter": filter_text},
            headers=self._prefer(page_size),
        )
        while True:
            body = response.json()
            records.extend(self._record(table, columns, item) for item in body.get("value", []))
            if not body.get("@odata.nextLink"):
                return self._attach_parties(object_type, records)
            response = self.http.request(
                "GET", self._absolute(self._relative(body["@odata.nextLink"])), headers=self._prefer(page_size)
            )

    def read_by_ids(self, object_type: str, ids: Sequence[str]) -> list[Record]:
        key = self._table(object_type).object_type.primary_key
        wanted = [i for i in dict.fromkeys(str(i).lower() for i in ids) if GUID.match(i)]  # others cannot exist
        self._schema(object_type)  # the $select; also where bad credentials surface, even for no valid ids
        records: list[Record] = []
        for chunk in chunked(wanted, LOOKUP_VALUES_PER_QUERY):
            records.extend(self._query(object_type, " or ".join(f"{key} eq {i}" for i in chunk)))
        return records

    def find_by(self, object_type: str, field_name: str, values: Sequence[str]) -> dict[str, list[Record]]:
        table = self._table(object_type)
        if field_name not in table.object_type.match_fields:
            raise ConnectorError(
                f"Dynamics 365 {object_type} cannot be looked up by {field_name!r}; use one of "
                f"{', '.join(table.object_type.match_fields)}.",
                ErrorKind.CONFIG,
            )
        keys = [k for k in dict.fromkeys(_match_key(field_name, v) for v in values if v) if k]
        found: dict[str, list[Record]] = {k: [] for k in keys}
        for chunk in chunked(keys, LOOKUP_VALUES_PER_QUERY):
            for record in self._query(object_type, _lookup_filter(field_name, chunk)):
                for key in _keys_held(field_name, chunk, record.properties.get(field_name)):
                    if record.id not in {r.id for r in found[key]}:
                        found[key].append(record)
        return found

    # --- writing -------------------------------------------------------------------------------------
    def _body(self, object_type: str, properties: Mapping[str, Any]) -> dict[str, Any]:
        """Flat properties -> a Dataverse body: ENUM strings as ints, references as @odata.bind."""
        columns = self._schema(object_type)
        body: dict[str, Any] = {}
        for name, value in properties.items():
            column = columns.get(name)
            logical = self._table(object_type).logical
            if name == parties.FIELD and parties.has_parties(logical):
                # a list: the whole party list of an update (update()); else the contacts of a create
                listed = value if isinstance(value, list) else parties.for_create(logical, value)
                body[party_navigation(logical)] = listed
            elif column is None:
                body[name] = value  # Dataverse names what it does not know in its own words
            elif column.is_lookup:
                target_set = SET_OF_LOGICAL[column.target]
                body[f"{column.navigation()}@odata.bind"] = f"/{target_set}({value})" if value else None
            elif column.info.type == FieldType.ENUM and value not in (None, ""):
                body[name] = _as_int(value, name)
            elif column.info.type == FieldType.NUMBER and isinstance(value, str) and value.strip():
                body[name] = _as_number(value, name)
            else:
                body[name] = None if value == "" and column.info.type != FieldType.STRING else value
        return body

    def create(self, object_type: str, inputs: Sequence[WriteInput]) -> list[WriteResult]:
        """Creates as `PATCH {set}({new id})` with `If-None-Match: *`: the id is chosen here, so a
        batch retried after a lost answer cannot create twice; a 412 on an id we chose means the
        earlier attempt did create it."""
        self._writable(object_type)
        key = self._table(object_type).object_type.primary_key
        ops = []
        for inp in inputs:
            chosen = inp.properties.get(key)
            record_id = str(chosen or uuid.uuid4()).lower()
            properties = {k: v for k, v in inp.properties.items() if k != key}
            ops.append(
                _Op(
                    "PATCH",
                    f"{object_type}({record_id})",
                    {"If-None-Match": "*"},
                    inp.ref,
                    record_id,
                    properties,
                    ours=not chosen,
                )
            )
        return self._run_batches(object_type, ops)

    def update(self, object_type: str, inputs: Sequence[WriteInput]) -> list[WriteResult]:
        return self.upsert(object_type, self._with_whole_parties(object_type, inputs), mode="update")

    def _with_whole_parties(self, object_type: str, inputs: Sequence[WriteInput]) -> list[WriteInput]:
        """An update of `parties` sends the whole party list (a PATCH replaces it): the parties the
        activity has now, less the contacts no longer wanted, plus the new ones (parties.py)."""
        table = self._table(object_type)
        touched = [i for i in inputs if parties.FIELD in i.properties and parties.has_parties(table.logical)]
        if not touched:
            return list(inputs)
        ids = [str(i.id or "").lower() for i in touched if GUID.match(str(i.id or ""))]
        now = parties.current(self._get_json, object_type, table.logical, table.object_type.primary_key, ids)
        out = []
        for inp in inputs:
            if any(inp is t for t in touched):
                whole = parties.for_update(table.logical, inp.properties[parties.FIELD], now.get(str(inp.id or "").lower(), []))
                inp = dataclasses.replace(inp, properties={**inp.properties, parties.FIELD: whole})
            out.append(inp)
        return out

    def upsert(self, object_type: str, inputs: Sequence[WriteInput], mode: str = "upsert") -> list[WriteResult]:
        """PATCH by id. mode "update" (If-Match: *, never creates), "create" (If-None-Match: *, never
        overwrites) or "upsert" (no guard: creates the row with this id when missing)."""
        self._writable(object_type)
        guard = {"update": {"If-Match": "*"}, "create": {"If-None-Match": "*"}, "upsert": {}}[mode]
        ops = [
            _Op(
                "PATCH",
                f"{object_type}({str(inp.id or '').lower()})",
                guard,
                inp.ref,
                str(inp.id or "").lower(),
                dict(inp.properties),
            )
            for inp in inputs
        ]
        return self._run_batches(object_type, ops)

    def _writable(self, object_type: str) -> None:
        if self._table(object_type).object_type.read_only:
            raise ConnectorError(f"Dynamics 365 {object_type} are read only in SyncSmart.", ErrorKind.CONFIG)

    def _run_batches(self, object_type: str, ops: list[_Op]) -> list[WriteResult]:
        results: dict[int, WriteResult] = {}
        pending: list[int] = []
        for index, op in enumerate(ops):
            if not GUID.match(op.record_id):
                results[index] = WriteResult(
                    op.ref,
                    error=ConnectorError(
                        f"{op.record_id!r} is not a Dynamics 365 record id, so no {object_type} record has it.",
                        ErrorKind.NOT_FOUND,
                        status=404,
                    ),
                )
                continue
            try:
                op.body = self._body(object_type, op.properties)
            except ConnectorError as error:
                results[index] = WriteResult(op.ref, error=error)
                continue
            pending.append(index)
        if self.write_mode == "bulk" and object_type not in self._no_bulk:
            pending = self._send_bulk(object_type, ops, pending, results)
        # A rolled-back change set re-sends its innocent operations; each round settles at least one.
        for _ in range(len(pending) + 1):
            if not pending:
                break
            retry: list[int] = []
            for chunk in chunked(pending, MAX_BATCH_OPERATIONS):
                retry += self._send_batch(object_type, ops, chunk, results)
            pending = retry
        return [results[i] for i in range(len(ops))]

    def _send_bulk(self, object_type: str, ops: list[_Op], indexes: list[int], results: dict[int, WriteResult]) -> list[int]:
        """CreateMultiple / UpdateMultiple / UpsertMultiple, one per chunk of like writes; fills
        `results` for the chunks that went through and returns the indexes $batch must write.
        On a standard table a bulk message is all or nothing, so a chunk it refuses (a bad
        record, a row that is missing or already there after a lost answer) goes to $batch,
        which settles each record on its own. Every chunk is safe to resend: creates carry the
        ids chosen here and updates only set values."""
        logical = self._table(object_type).logical
        by_message: dict[str, list[int]] = {}
        for index in indexes:
            guard = next((h for h in ("If-None-Match", "If-Match") if h in ops[index].headers), "")
            by_message.setdefault(BULK_MESSAGE_OF_GUARD[guard], []).append(index)
        key = self._table(object_type).object_type.primary_key
        left: list[int] = []
        for message, message_indexes in by_message.items():
            for chunk in chunked(message_indexes, BULK_TARGETS):
                if object_type in self._no_bulk:
                    left += chunk
                    continue
                targets = [
                    {"@odata.type": f"Microsoft.Dynamics.CRM.{logical}", **(ops[i].body or {}), key: ops[i].record_id}
                    for i in chunk
                ]
                try:
                    response = self.http.request(
                        "POST", f"/{object_type}/Microsoft.Dynamics.CRM.{message}", json={"Targets": targets}, idempotent=True
                    )
                except ConnectorError as error:
                    if error.retryable:
                        raise
                    if _no_bulk_message(error):
                        self._no_bulk.add(object_type)
                    left += chunk
                    continue
                answered = (response.json() or {}).get("Ids") if response.content else None
                for position, index in enumerate(chunk):
                    record_id = answered[position] if isinstance(answered, list) and position < len(answered) else None
                    results[index] = WriteResult(ops[index].ref, id=str(record_id or ops[index].record_id).lower())
        return left

    def _send_batch(self, object_type: str, ops: list[_Op], indexes: list[int], results: dict[int, WriteResult]) -> list[int]:
        """One $batch; fills `results`; returns the indexes to send again (rolled back by another's failure).
        Every operation is a guarded PATCH by id, so the whole batch is safe to retry."""
        parts: list[batchfmt.Part] = [
            batchfmt.ChangeSet(
                [
                    batchfmt.BatchRequest(
                        ops[i].method,
                        f"{self.api_root}/{ops[i].url}",
                        {**ops[i].headers, "Prefer": "return=representation"},
                        ops[i].body,
                        content_id=str(i + 1),
                    )
                    for i in group
                ]
            )
            for group in chunked(indexes, self.changeset_size)
        ]
        body, content_type = batchfmt.encode_batch(parts)
        response = self.http.request(
            "POST",
            "/$batch",
            content=body,
            idempotent=True,
            headers={"Content-Type": content_type, "Prefer": "odata.continue-on-error"},
        )
        answered = batchfmt.decode_batch_response(response.content, response.headers.get("content-type", ""))
        retry: list[int] = []
        # Not strict: a server may answer fewer parts or operations than were sent; those are
        # reported below as not answered.
        for group_indexes, result in zip(chunked(indexes, self.changeset_size), answered, strict=False):
            if isinstance(result, batchfmt.ChangeSetResult):
                for index, op_result in zip(group_indexes, result.results, strict=False):
                    results[index] = self._write_result(object_type, ops[index], op_result)
            else:
                retry += self._failed_change_set(ops, group_indexes, result, results)
        for index in [i for i in indexes if i not in results and i not in retry]:
            results[index] = WriteResult(
                ops[index].ref, error=ConnectorError("Dynamics 365 did not answer this operation of the batch.", ErrorKind.SERVER)
            )
        return retry

    def _failed_change_set(
        self, ops: list[_Op], group_indexes: list[int], result: Any, results: dict[int, WriteResult]
    ) -> list[int]:
        """A change set that failed as a whole: the failing operation gets the error, the others
        (rolled back only because of it) are returned to be sent again. A 412 on a create of ours
        means an earlier attempt created it."""
        failed = int(result.content_id) - 1 if result.content_id and result.content_id.isdigit() else None
        if failed not in group_indexes:
            failed = group_indexes[0] if len(group_indexes) == 1 else None
        if failed is not None and ops[failed].ours and result.status == 412:
            results[failed] = WriteResult(ops[failed].ref, id=ops[failed].record_id)  # created by an earlier attempt
            return [i for i in group_indexes if i != failed]
        retry = []
        for index in group_indexes:
            if index == failed or failed is None:
                results[index] = WriteResult(ops[index].ref, error=self._operation_error(result, rolled_back=failed is None))
            else:
                retry.append(index)  # rolled back only because another operation of its change set failed
        return retry

    def _write_result(self, object_type: str, op: _Op, result: batchfmt.OperationResult) -> WriteResult:
        if not result.ok:
            return WriteResult(op.ref, error=self._operation_error(result))
        table = self._table(object_type)
        record = None
        record_id = op.record_id
        if isinstance(result.body, dict) and table.object_type.primary_key in result.body:
            record = self._record(table, self._schema(object_type), result.body)
            record_id = record.id
        return WriteResult(op.ref, id=record_id, record=record)

    @staticmethod
    def _operation_error(result: batchfmt.OperationResult, rolled_back: bool = False) -> ConnectorError:
        error = (result.body or {}).get("error") if isinstance(result.body, dict) else None
        message = str((error or {}).get("message") or f"HTTP {result.status}")
        if rolled_back:
            message = f"Rolled back with its change set: {message}"
        kind = ErrorKind.CONFLICT if result.status == 412 else kind_for_status(result.status)
        return ConnectorError(
            message, kind, status=result.status, vendor_code=str((error or {}).get("code") or ""), body=result.body
        )

    # --- webhooks ------------------------------------------------------------------------------------
    def verify_webhook(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> bool:
        return hooks.verify(self.webhook_auth, self.webhook_secrets, method, url, headers)

    def parse_webhook(self, body: bytes, headers: Mapping[str, str] | None = None) -> list[WebhookEvent]:
        return hooks.parse(body)

    # --- connection test -------------------------------------------------------------------------------
    def test_connection(self) -> ConnectionTest:
        try:
            self.auth.access_token(force=True)
        except ConnectorError as error:
            if error.kind in (ErrorKind.NETWORK, ErrorKind.TIMEOUT):
                return ConnectionTest(
                    False,
                    f"Could not reach the Azure AD token endpoint: {error.message}. Check the network "
                    "and the token endpoint setting.",
                )
            return ConnectionTest(False, error.message)
        try:
            who = self.http.request("GET", "/WhoAmI").json()
        except ConnectorError as error:
            return ConnectionTest(False, self._who_am_i_hint(error))
        return ConnectionTest(
            True,
            f"Connected to {self.org_url} as the application user {who.get('UserId')}.",
            account=str(who.get("OrganizationId", "")),
        )

    def _who_am_i_hint(self, error: ConnectorError) -> str:
        if error.kind in (ErrorKind.NETWORK, ErrorKind.TIMEOUT):
            return f"Could not reach Dynamics 365 at {self.org_url}: check the org URL. ({error.message})"
        if error.kind == ErrorKind.AUTH:
            return (
                "Azure AD issued a token but Dynamics 365 refused it (auth failed): add the app as an application user "
                f"in the environment (Power Platform admin center > Users > App users) with a security role. ({error.message})"
            )
        if error.kind == ErrorKind.NOT_FOUND:
            return f"{self.org_url} answered, but it is not a Dynamics 365 Web API v9.2 endpoint: check the org URL."
        return f"Dynamics 365 refused the connection test: {error.message}"


# --- helpers -------------------------------------------------------------------------------------------
def _no_bulk_message(error: ConnectorError) -> bool:
    """Dataverse's answer when a table does not take a bulk message: 0x80040800, or no such action."""
    return error.vendor_code in ("0x80040800", "0x8006088a") or "is not supported for the" in error.message


def _localized(text: str) -> dict[str, Any]:
    return {"@odata.type": "Microsoft.Dynamics.CRM.LocalizedLabel", "Label": text, "LanguageCode": 1033}


def _label(label: Any) -> str:
    if not isinstance(label, dict):
        return ""
    user = label.get("UserLocalizedLabel") or {}
    if user.get("Label"):
        return str(user["Label"])
    localized = label.get("LocalizedLabels") or []
    english = next((item for item in localized if item.get("LanguageCode") == 1033), None)
    chosen = english or (localized[0] if localized else {})
    return str(chosen.get("Label") or "")


def _field_type(kind: str | None, fmt: str | None) -> FieldType:
    if kind in ("String",):
        return {"Email": FieldType.EMAIL, "Phone": FieldType.PHONE}.get(fmt or "", FieldType.STRING)
    if kind == "Memo":
        return FieldType.TEXT
    if kind in ("Integer", "BigInt", "Money", "Decimal", "Double"):
        return FieldType.NUMBER
    if kind == "Boolean":
        return FieldType.BOOL
    if kind == "DateTime":
        return FieldType.DATE if fmt == "DateOnly" else FieldType.DATETIME
    if kind in ("Picklist", "State", "Status"):
        return FieldType.ENUM
    if kind == "Owner":
        return FieldType.OWNER
    if kind in ("Lookup", "Customer"):
        return FieldType.REFERENCE
    return FieldType.STRING


def _parse_time(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        return odata.parse_datetime(str(value))
    except ValueError:
        return None


def _as_int(value: Any, name: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise ConnectorError(
            f"{value!r} is not an option value of {name} (Dynamics option values are numbers).",
            ErrorKind.VALIDATION,
            fields=[name],
        ) from None


def _as_number(value: str, name: str) -> int | float:
    try:
        number = float(value)
    except ValueError:
        raise ConnectorError(f"{value!r} is not a number for {name}.", ErrorKind.VALIDATION, fields=[name]) from None
    return int(number) if number.is_integer() else number


def domain_of(value: Any) -> str:
    """'https://www.Acme.com/about' -> 'acme.com'."""
    text = str(value or "").strip().lower()
    if not text:
        return ""
    host = urlsplit(text if "://" in text else f"//{text}").hostname or ""
    return host[4:] if host.startswith("www.") else host


def _match_key(field_name: str, value: Any) -> str:
    if value is None:
        return ""
    return domain_of(value) if field_name == "websiteurl" else str(value).strip().lower()


# A look-up finds records however they were typed: "  Ava.Kim@X.com " for ava.kim@x.com, and
# "ACME  Inc." for acme (the caller compares what it finds normalised, by its match rules). So
# text is searched with contains() on its longest word, never eq on the whole value, which
# Dataverse compares case-insensitively but with the spaces and legal suffixes as typed.
SHORTEST_FRAGMENT = 3


def _fragment(field_name: str, key: str) -> str:
    """What a look-up searches the column for: the domain, or the value's longest word."""
    if field_name == "websiteurl":
        return key  # stored as typed ("https://www.acme.com/"): contains the domain
    return max(key.split(), key=len, default="")


def _lookup_filter(field_name: str, keys: list[str]) -> str:
    fragments = [_fragment(field_name, k) for k in keys]
    if any(len(f) < SHORTEST_FRAGMENT for f in fragments):
        return odata.any_of(field_name, keys)  # a word too short to search for: the exact value
    return " or ".join(f"contains({field_name},{odata.quote(f)})" for f in dict.fromkeys(fragments))


def _keys_held(field_name: str, keys: list[str], value: Any) -> list[str]:
    """The look-up keys a found record answers: its domain, or the keys whose word its text holds."""
    if value is None:
        return []
    if field_name == "websiteurl":
        return [k for k in keys if k == domain_of(value)]
    text = " ".join(str(value).lower().split())
    return [k for k in keys if k == text or _fragment(field_name, k) in text]
