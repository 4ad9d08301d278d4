"""The HubSpot connector: CRM v3 objects, search, properties, owners, pipelines and associations v4.

Shapes the engine relies on:
- values are flat strings as HubSpot returns them;
- associations are REFERENCE pseudo-fields: contacts.company -> companies, deals.company ->
  companies, deals.contact -> contacts; read with associations v4 batch reads, written on
  create (inline `associations`) and update (v4 associate / archive);
- hubspot_owner_id is an OWNER field referring to "owners"; owners are read-only, matched by email.

Incremental reads (read_changes) page through the search API with a keyset on the modified-time
property (lastmodifieddate for contacts, hs_lastmodifieddate for companies and deals):
every page is its own window "modified >= floor", sorted oldest first, so the 10,000-result
cap of one query is never reached however many records changed, and a record that changes
while we page only moves further ahead of the floor. When more than a page of records share
one millisecond, the window narrows to that millisecond and pages by record id. To survive
search-index lag, each pass re-reads an overlap (`overlap_ms`) before the time the pass began;
records already delivered in the same version (id + modified time, kept in the cursor) are
skipped, so the overlap costs calls, not duplicates.

Creates are idempotent under timeouts and dropped connections, which can happen after HubSpot
wrote the records: every input carries a write-once unique property (`syncsmart_write_id`); when
the outcome of a batch is unknown the connector re-finds those ids before sending again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import json
import re
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
from django.conf import settings

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
    join_ids,
    split_ids,
)
from connectors.http import Limiter, VendorHttp, kind_for_status, on_owner_thread, retry_after_seconds, tls_context
from connectors.hubspot import activities, limits, oauth, webhooks

CRM_TYPES = ("contacts", "companies", "deals")
MODIFIED_PROPERTY = {"contacts": "lastmodifieddate", "companies": "hs_lastmodifieddate", "deals": "hs_lastmodifieddate"}
# Pseudo-fields for associations: (object type, field) -> associated object type.
REFERENCES = {("contacts", "company"): "companies", ("deals", "company"): "companies", ("deals", "contact"): "contacts"}
ASSOCIATION_TYPE_IDS = {("contacts", "companies"): 1, ("deals", "contacts"): 3, ("deals", "companies"): 5}
# Property lists shared by one connection's connectors in this process (use_shared_metadata):
# identity -> (version, since, {object type: property definitions}).
_SHARED_PROPERTIES: dict[str, tuple[str, float, dict[str, list[dict[str, Any]]]]] = {}
_SHARED_LOCK = threading.Lock()
# A property created in HubSpot and not mapped (no new version) shows up in reads after this long at most.
SHARED_PROPERTIES_SECONDS = 600.0

# HubSpot properties whose names the association pseudo-fields take: exposed under another name.
# (A contact's `company` is free text, "Company Name"; our `company` is the associated company.)
RENAMED = {("contacts", "company"): "company_name"}
VENDOR_NAME = {(object_type, ours): theirs for (object_type, theirs), ours in RENAMED.items()}
WRITE_ID_PROPERTY = "syncsmart_write_id"
MERGED_PROPERTY = "hs_merged_object_ids"
PROPERTY_GROUPS = {"contacts": "contactinformation", "companies": "companyinformation", "deals": "dealinformation"}
# Notes and calls (engagements): connectors/hubspot/activities.py.
CRM_TYPES += activities.ACTIVITY_TYPES
MODIFIED_PROPERTY |= activities.MODIFIED_PROPERTY
REFERENCES |= activities.REFERENCES
ASSOCIATION_TYPE_IDS |= activities.ASSOCIATION_TYPE_IDS
PROPERTY_GROUPS |= activities.PROPERTY_GROUPS
DEFAULT_OVERLAP_MS = 30_000
SEEN_LIMIT = 5_000  # versions remembered in a cursor for de-duplicating the overlap
MAX_WRITE_ROUNDS = 8
OWNER_FIELDS = (
    FieldInfo("email", "Email", FieldType.EMAIL, read_only=True),
    FieldInfo("firstName", "First name", FieldType.STRING, read_only=True),
    FieldInfo("lastName", "Last name", FieldType.STRING, read_only=True),
    FieldInfo("userId", "User id", FieldType.STRING, read_only=True),
)


def hubspot_error(response: httpx.Response) -> ConnectorError:
    """HubSpot's {status, message, correlationId, category} error bodies -> ConnectorError."""
    try:
        body: Any = response.json()
    except ValueError:
        body = {"message": response.text[:500]}
    if not isinstance(body, dict):
        body = {"message": str(body)[:500]}
    message = body.get("message") or f"HTTP {response.status_code}"
    status = response.status_code
    category = body.get("category") or ""
    kind = kind_for_status(status)
    if category == "MISSING_SCOPES":
        message = f"{message} (the HubSpot app lacks a permission: reconnect HubSpot and grant the requested scopes)"
    return ConnectorError(
        message,
        kind,
        status=status,
        vendor_code=category or str(body.get("status") or ""),
        retry_after=retry_after_seconds(response),
        existing_id=_existing_id(message),
        body=body,
        fields=_invalid_fields(message),
    )


def _existing_id(message: str) -> str | None:
    match = re.search(r"Existing ID: (\d+)", message or "")
    return match.group(1) if match else None


def _invalid_fields(message: str) -> list[str]:
    return re.findall(r'"name": "([^"]+)"', message or "")


def _error_from_item(item: dict[str, Any]) -> ConnectorError:
    """One entry of a 207 multi-status `errors` array."""
    category = item.get("category") or item.get("subCategory") or ""
    status = {"OBJECT_NOT_FOUND": 404, "CONFLICT": 409, "RATE_LIMITS": 429}.get(category, 400)
    message = item.get("message") or category
    return ConnectorError(
        message,
        kind_for_status(status),
        status=status,
        vendor_code=category,
        existing_id=_existing_id(message),
        body=item,
        fields=_invalid_fields(message),
    )


def _ms(value: Any) -> int | None:
    if value in (None, ""):
        return None
    text = str(value)
    if text.isdigit():
        return int(text)
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return int(parsed.timestamp() * 1000)


def _dt(value: Any) -> dt.datetime | None:
    ms = _ms(value)
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC) if ms is not None else None


def _budgeted_limiter(account: str, config: dict[str, Any], connection_pk: Any) -> Limiter:
    """The portal's shared limiter, whose daily stop is our budget (a share of the portal's limit:
    connectors/hubspot/budget.py)."""
    _, daily = quota.account_budget("hubspot", config, connection_pk)
    return limits.hubspot_limiter(account, tier=config.get("rate_tier", "starter"), daily=daily)


class HubSpotConnector(Connector):
    system = "hubspot"
    max_batch_write = limits.BATCH_LIMIT
    max_batch_read = limits.BATCH_LIMIT
    max_page_size = limits.SEARCH_PAGE_LIMIT
    # HubSpot publishes no concurrency limit, only the 10-second bucket. A page needs two calls per
    # 100 records (look-up, batch create) at 100-250 ms each: four in flight keep the bucket busy,
    # and the shared limiter spaces them.
    max_concurrency = 4
    id_field_objects = CRM_TYPES

    def __init__(
        self,
        base_url: str | None = None,
        *,
        token: str = "",
        tokens: oauth.OAuthTokens | None = None,
        client_id: str = "",
        client_secret: str = "",
        portal_id: str = "",
        transport: httpx.BaseTransport | None = None,
        limiter: Limiter | None = None,
        retry=None,
        overlap_ms: int = DEFAULT_OVERLAP_MS,
        on_tokens: Callable[[oauth.OAuthTokens], None] | None = None,
        on_reconnect_needed: Callable[[str], None] | None = None,
        timeout: float | httpx.Timeout | None = None,
        verify: bool | str | ssl.SSLContext = True,
    ):
        self.base_url = (base_url or settings.HUBSPOT_API_BASE).rstrip("/")
        self.portal_id = str(portal_id or "")
        self.client_id, self.client_secret = client_id, client_secret
        self.overlap_ms = overlap_ms
        self.uses_oauth = tokens is not None and not token
        self.oauth: oauth.HubSpotOAuth | None = None
        headers = {"Accept": "application/json"}
        if self.uses_oauth:
            self.oauth = oauth.HubSpotOAuth(tokens, self.base_url, client_id, client_secret, on_tokens, on_reconnect_needed)
        elif token:
            headers["Authorization"] = f"Bearer {token}"
        self._token = token
        self.limiter = limiter
        verify = tls_context(verify)  # a CA file (the emulator's): the seam's shared context for it
        kwargs: dict[str, Any] = {"timeout": timeout} if timeout is not None else {}
        self.http = VendorHttp(
            self.base_url,
            system="HubSpot",
            auth=self.oauth,
            headers=headers,
            limiter=limiter,
            error_parser=hubspot_error,
            retry=retry,
            transport=transport,
            verify=verify,
            **kwargs,
        )
        self._properties: dict[str, list[dict[str, Any]]] = {}
        self._write_id_ready: set[str] = set()
        # Metadata is fetched once however many of a page's concurrent calls first ask for it.
        self._metadata_lock = threading.RLock()

    @classmethod
    def from_connection(
        cls, connection: Any, transport: httpx.BaseTransport | None = None, limiter: Limiter | None = None, **kwargs: Any
    ) -> HubSpotConnector:
        config = connection.config or {}
        credentials = connection.credentials or {}
        stored = connection.oauth_tokens or {}
        token = credentials.get("token") or credentials.get("private_app_token") or ""
        tokens = None
        if stored.get("access_token") and not token:
            tokens = oauth.OAuthTokens(stored["access_token"], stored.get("refresh_token", ""), connection.token_expires_at)
        portal_id = str(config.get("portal_id") or "")
        account = portal_id or f"connection-{connection.pk}"

        @on_owner_thread  # a refresh may happen in a concurrent call; the database is the run's thread's
        def save(new: oauth.OAuthTokens) -> None:
            connection.save_tokens(new.as_dict(), new.expires_at)

        @on_owner_thread
        def reconnect(message: str) -> None:
            connection.record_failure(message, reconnect=True)

        return cls(
            config.get("base_url") or settings.HUBSPOT_API_BASE,
            token=token,
            tokens=tokens,
            client_id=config.get("client_id") or getattr(settings, "SOCIAL_AUTH_HUBSPOT_KEY", "") or "",
            client_secret=credentials.get("client_secret") or getattr(settings, "SOCIAL_AUTH_HUBSPOT_SECRET", "") or "",
            portal_id=portal_id,
            transport=transport,
            limiter=limiter if limiter is not None else _budgeted_limiter(account, config, connection.pk),
            overlap_ms=int(config.get("search_overlap_ms", DEFAULT_OVERLAP_MS)),
            on_tokens=save,
            on_reconnect_needed=reconnect,
            **kwargs,
        )

    # --- object types and fields ------------------------------------------------------------------
    def object_types(self) -> list[ObjectType]:
        return [
            ObjectType("companies", "Companies", cursor_field="hs_lastmodifieddate", match_fields=("domain", "name")),
            ObjectType("contacts", "Contacts", cursor_field="lastmodifieddate", match_fields=("email",), parents=("companies",)),
            ObjectType(
                "deals",
                "Deals",
                cursor_field="hs_lastmodifieddate",
                match_fields=("dealname",),
                parents=("companies", "contacts"),
            ),
            ObjectType(
                "owners", "Owners", cursor_field="updatedAt", match_fields=("email",), read_only=True, email_field="email"
            ),
            *activities.activity_object_types(),
        ]

    def _crm_type(self, object_type: str) -> str:
        self.object_type(object_type)
        if object_type not in CRM_TYPES:
            raise ConnectorError(f"HubSpot {object_type} cannot be written", ErrorKind.CONFIG)
        return object_type

    def use_shared_metadata(self, identity: str, version: str) -> None:
        """Property lists shared across runs: an idle run's searches then ask for none. A new
        `version` (the engine's: schema refreshed, a mapping changed) or SHARED_PROPERTIES_SECONDS
        start afresh, and schema discovery (every run that brings records) always re-reads them."""
        now = time.monotonic()
        with _SHARED_LOCK:
            entry = _SHARED_PROPERTIES.get(identity)
            if entry is None or entry[0] != version or now - entry[1] > SHARED_PROPERTIES_SECONDS:
                entry = _SHARED_PROPERTIES[identity] = (version, now, {})
        self._properties = entry[2]

    def _property_defs(self, object_type: str, refresh: bool = False) -> list[dict[str, Any]]:
        defs = None if refresh else self._properties.get(object_type)
        if defs is None:
            with self._metadata_lock:
                defs = None if refresh else self._properties.get(object_type)
                if defs is None:
                    defs = self.http.request("GET", f"/crm/v3/properties/{object_type}").json().get("results", [])
                    self._properties[object_type] = defs
        return defs

    def _property_names(self, object_type: str) -> list[str]:
        names = [p["name"] for p in self._property_defs(object_type) if not p.get("hidden")]
        # A merge survivor names the records merged into it: the engine re-points their links.
        return names if MERGED_PROPERTY in names else [*names, MERGED_PROPERTY]

    def discover_fields(self, object_type: str) -> list[FieldInfo]:
        self.object_type(object_type)
        if object_type == "owners":
            return list(OWNER_FIELDS)
        stages = self._deal_stage_options() if object_type == "deals" else None
        fields = [
            self._field(object_type, p, stages)
            for p in self._property_defs(object_type, refresh=True)
            if p["name"] != WRITE_ID_PROPERTY and not p.get("hidden")
        ]
        fields = [
            dataclasses.replace(f, name=RENAMED[(object_type, f.name)]) if (object_type, f.name) in RENAMED else f for f in fields
        ]
        for (owner_type, name), target in REFERENCES.items():
            if owner_type == object_type:
                many = (owner_type, name) in activities.MULTIPLE
                fields.append(
                    FieldInfo(
                        name,
                        "Contacts (all)" if many else name.capitalize(),
                        FieldType.REFERENCE,
                        reference_to=target,
                        description=f"The associated {target} record{'s' if many else ''} (HubSpot association)",
                        multiple=many,
                    )
                )
        return fields

    def _field(self, object_type: str, prop: dict[str, Any], stages: tuple[Option, ...] | None) -> FieldInfo:
        name, type_, field_type = prop["name"], prop.get("type"), prop.get("fieldType")
        read_only = bool(prop.get("modificationMetadata", {}).get("readOnlyValue") or prop.get("calculated"))
        options = tuple(Option(str(o["value"]), o["label"]) for o in prop.get("options", []) if not o.get("hidden"))
        reference_to = None
        if name == "hubspot_owner_id" or prop.get("referencedObjectType") == "OWNER":
            kind, reference_to, options = FieldType.OWNER, "owners", ()
        else:
            kind = _kind_of(name, type_, field_type)
        if object_type == "deals" and name == "dealstage" and stages:
            options = stages
        return FieldInfo(
            name,
            prop.get("label") or name,
            kind,
            read_only=read_only,
            options=options,
            reference_to=reference_to,
            description=prop.get("description", ""),
            html=field_type == "html",
            max_length=activities.BODY_LIMIT if name == activities.BODY_FIELDS.get(object_type) else None,
        )

    def _deal_stage_options(self) -> tuple[Option, ...]:
        # Stage ids are unique across pipelines in HubSpot; labels stay as users see them (the
        # dropdown algorithm matches by label).
        pipelines = self.http.request("GET", "/crm/v3/pipelines/deals").json().get("results", [])
        return tuple(Option(stage["id"], stage["label"]) for pipeline in pipelines for stage in pipeline["stages"])

    def pipelines(self) -> list[dict[str, Any]]:
        """Deal pipelines with their stages, as HubSpot returns them."""
        return self.http.request("GET", "/crm/v3/pipelines/deals").json().get("results", [])

    def add_option(self, object_type: str, field_name: str, label: str, value: str) -> Option:
        """Append a dropdown option (the dropdown algorithm's last resort); existing values are kept."""
        self._crm_type(object_type)
        prop = self.http.request("GET", f"/crm/v3/properties/{object_type}/{field_name}").json()
        options = [
            {"label": o["label"], "value": o["value"], "displayOrder": o.get("displayOrder", i), "hidden": o.get("hidden", False)}
            for i, o in enumerate(prop.get("options", []))
        ]
        existing = next((o for o in options if o["value"] == value), None)
        if existing is not None:
            return Option(existing["value"], existing["label"])
        options.append({"label": label, "value": value, "displayOrder": len(options), "hidden": False})
        self.http.request("PATCH", f"/crm/v3/properties/{object_type}/{field_name}", json={"options": options})
        self._properties.pop(object_type, None)
        return Option(value, label)

    # --- reading --------------------------------------------------------------------------------------
    def _record(self, object_type: str, item: dict[str, Any]) -> Record:
        props = {RENAMED.get((object_type, k), k): v for k, v in (item.get("properties") or {}).items() if k != WRITE_ID_PROPERTY}
        return Record(
            id=str(item["id"]),
            properties=props,
            updated_at=_dt(props.get(MODIFIED_PROPERTY.get(object_type, "")) or item.get("updatedAt")),
            created_at=_dt(props.get("createdate") or item.get("createdAt")),
            deleted=bool(item.get("archived")),
        )

    def _attach_references(self, object_type: str, records: list[Record]) -> None:
        """Fill the association pseudo-fields with one v4 batch read per association per 100 records."""
        read: dict[str, dict[str, list[str]]] = {}  # by target: `contact` and `contacts` share one read
        for (owner_type, name), target in REFERENCES.items():
            if owner_type != object_type or not records:
                continue
            if target in read:
                self._fill_reference(object_type, name, records, read[target])
                continue
            found: dict[str, list[str]] = {}
            for chunk in chunked([r.id for r in records], limits.BATCH_LIMIT):
                response = self.http.request(
                    "POST",
                    f"/crm/v4/associations/{object_type}/{target}/batch/read",
                    json={"inputs": [{"id": i} for i in chunk]},
                    ok_statuses=(207,),
                )
                for result in response.json().get("results", []):
                    found[str(result["from"]["id"])] = sorted((str(t["toObjectId"]) for t in result.get("to", [])), key=int)
            read[target] = found
            self._fill_reference(object_type, name, records, found)

    @staticmethod
    def _fill_reference(object_type: str, name: str, records: list[Record], found: dict[str, list[str]]) -> None:
        for record in records:
            ids = found.get(record.id, [])
            if (object_type, name) in activities.MULTIPLE:
                record.properties[name] = join_ids(ids)
            else:
                record.properties[name] = ids[0] if ids else None

    def read_by_ids(self, object_type: str, ids: Sequence[str]) -> list[Record]:
        if object_type == "owners":
            wanted = set(map(str, ids))
            return [r for r in self._all_owners() if r.id in wanted]
        self._crm_type(object_type)
        records: list[Record] = []
        names = self._property_names(object_type)
        for chunk in chunked([str(i) for i in ids], limits.BATCH_LIMIT):
            response = self.http.request(
                "POST",
                f"/crm/v3/objects/{object_type}/batch/read",
                json={"properties": names, "inputs": [{"id": i} for i in chunk]},
                ok_statuses=(207,),
            )
            records += [self._record(object_type, item) for item in response.json().get("results", [])]
        self._attach_references(object_type, records)
        return records

    def _is_unique(self, object_type: str, vendor_field: str) -> bool:
        return any(p["name"] == vendor_field and p.get("hasUniqueValue") for p in self._property_defs(object_type))

    def match_chunk_size(self, object_type: str, field_name: str) -> int:
        """A unique property is read in batches of 100; anything else is searched, and one search
        takes 5 filter groups of 100 IN values (search has its own 5-per-second limit)."""
        if object_type == "owners":
            return limits.BATCH_LIMIT
        vendor_field = VENDOR_NAME.get((object_type, field_name), field_name)
        if self._is_unique(object_type, vendor_field):
            return limits.BATCH_LIMIT
        return limits.SEARCH_MAX_IN_VALUES * min(limits.SEARCH_MAX_FILTER_GROUPS, limits.SEARCH_MAX_FILTERS)

    def find_by(self, object_type: str, field_name: str, values: Sequence[str]) -> dict[str, list[Record]]:
        """Batched look-up. Unique properties (contact email) use batch read by idProperty, which does
        not depend on the search index; others use search, 5 filter groups of <=100 IN values per call."""
        wanted = list(dict.fromkeys(str(v).strip().lower() for v in values if str(v or "").strip()))
        found: dict[str, list[Record]] = {v: [] for v in wanted}
        if not wanted:
            return found
        if object_type == "owners":
            for record in self._all_owners():
                key = str(record.properties.get(field_name) or "").lower()
                if key in found:
                    found[key].append(record)
            return found
        self._crm_type(object_type)
        names = self._property_names(object_type)
        vendor_field = VENDOR_NAME.get((object_type, field_name), field_name)
        unique = self._is_unique(object_type, vendor_field)
        records: list[Record] = []
        for chunk in chunked(wanted, self.match_chunk_size(object_type, field_name)):
            if unique:
                response = self.http.request(
                    "POST",
                    f"/crm/v3/objects/{object_type}/batch/read",
                    ok_statuses=(207,),
                    json={"properties": names, "idProperty": vendor_field, "inputs": [{"id": v} for v in chunk]},
                )
                records += [self._record(object_type, item) for item in response.json().get("results", [])]
            else:
                # Filter groups are ORed: one search asks for up to 5 × 100 values.
                groups = [
                    {"filters": [{"propertyName": vendor_field, "operator": "IN", "values": part}]}
                    for part in chunked(chunk, limits.SEARCH_MAX_IN_VALUES)
                ]
                records += self._search_all(object_type, groups, names)
        self._attach_references(object_type, records)
        for record in records:
            key = str(record.properties.get(field_name) or "").lower()
            if key in found and all(r.id != record.id for r in found[key]):
                found[key].append(record)
        return found

    @classmethod
    def cursor_at(cls, since: dt.datetime) -> dict[str, Any] | None:
        return {"floor": int(since.timestamp() * 1000)}  # the modified-date floor of read_changes

    def count_records(self, object_type: str, since: dt.datetime | None = None) -> int | None:
        """The search's `total` for "modified since" (the epoch when no date), one result asked for."""
        if object_type not in MODIFIED_PROPERTY:
            return None
        floor = int(since.timestamp() * 1000) if since else 0
        body = {
            "filterGroups": [
                {"filters": [{"propertyName": MODIFIED_PROPERTY[object_type], "operator": "GTE", "value": str(floor)}]}
            ],
            "limit": 1,
            "properties": ["hs_object_id"],
        }
        answer, _ = self._search(object_type, body)
        return int(answer.get("total", 0))

    def _search(self, object_type: str, body: dict[str, Any]) -> tuple[dict[str, Any], int | None]:
        response = self.http.request("POST", f"/crm/v3/objects/{object_type}/search", json=body)
        server_ms = None
        if response.headers.get("Date"):
            try:
                server_ms = int(email.utils.parsedate_to_datetime(response.headers["Date"]).timestamp() * 1000)
            except (TypeError, ValueError):
                server_ms = None
        return response.json(), server_ms

    def _search_all(self, object_type: str, groups: list[dict[str, Any]], names: list[str]) -> list[Record]:
        records, after = [], None
        while True:
            body: dict[str, Any] = {"filterGroups": groups, "properties": names, "limit": limits.SEARCH_PAGE_LIMIT}
            if after:
                body["after"] = after
            answer, _ = self._search(object_type, body)
            records += [self._record(object_type, item) for item in answer.get("results", [])]
            after = answer.get("paging", {}).get("next", {}).get("after")
            if not after or int(after) + limits.SEARCH_PAGE_LIMIT > limits.SEARCH_RESULT_CAP:
                return records

    def _all_owners(self) -> list[Record]:
        records, after = [], None
        while True:
            params: dict[str, Any] = {"limit": 500}
            if after:
                params["after"] = after
            answer = self.http.request("GET", "/crm/v3/owners/", params=params).json()
            for owner in answer.get("results", []):
                records.append(
                    Record(
                        str(owner["id"]),
                        {
                            k: (str(owner[k]) if owner.get(k) is not None else None)
                            for k in ("email", "firstName", "lastName", "userId")
                        },
                        updated_at=_dt(owner.get("updatedAt")),
                        created_at=_dt(owner.get("createdAt")),
                        deleted=bool(owner.get("archived")),
                    )
                )
            after = answer.get("paging", {}).get("next", {}).get("after")
            if not after:
                return records

    def read_changes(self, object_type: str, cursor: dict[str, Any] | None, page_size: int | None = None) -> Page:
        if object_type == "owners":
            # Owners are few; a full read every run is cheaper than tracking them.
            records = self._all_owners()
            records.sort(key=lambda r: (r.updated_at or dt.datetime.min.replace(tzinfo=dt.UTC), r.id))
            return Page(records, {}, False)
        self._crm_type(object_type)
        limit = max(1, min(page_size or limits.SEARCH_PAGE_LIMIT, limits.SEARCH_PAGE_LIMIT))
        state = {"floor": 0, "seen": {}, "pass_start": None, "tie": None} | dict(cursor or {})
        state["seen"] = dict(state.get("seen") or {})
        if state.get("tie"):
            return self._read_tie(object_type, state, limit)
        return self._read_window(object_type, state, limit)

    def _page_body(self, object_type: str, filters: list[dict[str, Any]], sort: str, limit: int) -> dict[str, Any]:
        return {
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
            "properties": self._property_names(object_type),
            "limit": limit,
        }

    def _read_window(self, object_type: str, state: dict[str, Any], limit: int) -> Page:
        modified = MODIFIED_PROPERTY[object_type]
        floor = int(state["floor"])
        answer, server_ms = self._search(
            object_type,
            self._page_body(object_type, [{"propertyName": modified, "operator": "GTE", "value": str(floor)}], modified, limit),
        )
        if state.get("pass_start") is None:
            state["pass_start"] = server_ms if server_ms is not None else int(time.time() * 1000)
        items = answer.get("results", [])
        records = [self._record(object_type, item) for item in items]
        stamps = [_ms(r.properties.get(modified)) or floor for r in records]
        full = len(items) >= limit
        if full and all(s == floor for s in stamps):
            # More than a page of changes in one millisecond: narrow the window to it, page by id.
            state["tie"] = {"ts": floor, "after_id": 0}
            return self._read_tie(object_type, state, limit)
        fresh = self._unseen(records, stamps, state["seen"])
        if full:
            state["floor"] = max(stamps)
            return self._page(object_type, fresh, state, has_more=True)
        return self._end_pass(object_type, fresh, state, max(stamps) if stamps else floor)

    def _read_tie(self, object_type: str, state: dict[str, Any], limit: int) -> Page:
        modified = MODIFIED_PROPERTY[object_type]
        tie = state["tie"]
        answer, _ = self._search(
            object_type,
            self._page_body(
                object_type,
                [
                    {"propertyName": modified, "operator": "EQ", "value": str(tie["ts"])},
                    {"propertyName": "hs_object_id", "operator": "GT", "value": str(tie["after_id"])},
                ],
                "hs_object_id",
                limit,
            ),
        )
        records = [self._record(object_type, item) for item in answer.get("results", [])]
        fresh = self._unseen(records, [int(tie["ts"])] * len(records), state["seen"])
        if len(records) >= limit:
            state["tie"] = {"ts": tie["ts"], "after_id": int(records[-1].id)}
            return self._page(object_type, fresh, state, has_more=True)
        # Everything at that millisecond is read: continue after it.
        state["tie"] = None
        state["floor"] = int(tie["ts"]) + 1
        return self._page(object_type, fresh, state, has_more=True)

    def _end_pass(self, object_type: str, fresh: list[Record], state: dict[str, Any], newest: int) -> Page:
        """The present is reached. Next pass starts `overlap_ms` before this pass began, so a change
        that was not searchable yet when we passed its time is still found."""
        pass_start = int(state.get("pass_start") or newest)
        state["floor"] = max(0, min(newest, pass_start - self.overlap_ms))
        state["pass_start"] = None
        return self._page(object_type, fresh, state, has_more=False)

    @staticmethod
    def _unseen(records: list[Record], stamps: list[int], seen: dict[str, int]) -> list[Record]:
        fresh = []
        for record, stamp in zip(records, stamps, strict=True):
            if seen.get(record.id) == stamp:
                continue
            seen[record.id] = stamp
            fresh.append(record)
        return fresh

    def _page(self, object_type: str, records: list[Record], state: dict[str, Any], has_more: bool) -> Page:
        floor = int(state["floor"])
        if state.get("pass_start") is not None:  # keep what the next pass's overlap will re-read
            floor = min(floor, int(state["pass_start"]) - self.overlap_ms)
        seen = {k: v for k, v in state["seen"].items() if v >= floor}
        if len(seen) > SEEN_LIMIT:  # keep the cursor small: forget the oldest versions (may re-deliver them)
            seen = dict(sorted(seen.items(), key=lambda kv: kv[1])[-SEEN_LIMIT:])
        state["seen"] = seen
        self._attach_references(object_type, records)
        return Page(records, json.loads(json.dumps(state)), has_more)

    # --- writing ------------------------------------------------------------------------------------------
    def _split_references(self, object_type: str, properties: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str | None]]:
        props, refs = {}, {}
        for name, value in properties.items():
            if (object_type, name) in REFERENCES:
                refs[name] = str(value) if value not in (None, "") else None
            else:
                props[VENDOR_NAME.get((object_type, name), name)] = (
                    "" if value is None else (("true" if value else "false") if isinstance(value, bool) else str(value))
                )
        return props, refs

    def _ensure_write_id_property(self, object_type: str) -> None:
        if object_type in self._write_id_ready:
            return
        with self._metadata_lock:
            if object_type not in self._write_id_ready:
                self._create_write_id_property(object_type)

    def _create_write_id_property(self, object_type: str) -> None:
        try:
            self.http.request("GET", f"/crm/v3/properties/{object_type}/{WRITE_ID_PROPERTY}")
        except ConnectorError as exc:
            if exc.kind != ErrorKind.NOT_FOUND:
                raise
            try:
                self.http.request(
                    "POST",
                    f"/crm/v3/properties/{object_type}",
                    json={
                        "name": WRITE_ID_PROPERTY,
                        "label": "SyncSmart write id",
                        "type": "string",
                        "fieldType": "text",
                        "groupName": PROPERTY_GROUPS[object_type],
                        "hasUniqueValue": True,
                        "formField": False,
                        "description": (
                            "Set once by SyncSmart when it creates the record, so a retried create never duplicates it."
                        ),
                    },
                )
            except ConnectorError as again:
                if again.status != 409:
                    raise
        self._write_id_ready.add(object_type)

    # --- the counterpart's id (write_back_ids) -----------------------------------------------------
    @classmethod
    def default_id_field(cls, object_type: str, counterpart: str) -> str:
        if object_type not in CRM_TYPES:
            return ""
        return "syncsmart_" + re.sub(r"[^a-z0-9]+", "_", counterpart.lower()).strip("_") + "_id"

    @classmethod
    def id_field_problem(cls, name: str) -> str | None:
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,99}", name):
            return "A HubSpot property's internal name is lower-case letters, digits and _ (100 at most), starting with a letter."
        if name.startswith("hs_") or name == WRITE_ID_PROPERTY:
            return f"{name} is HubSpot's or SyncSmart's own property: pick another name."
        return None

    def ensure_id_field(self, object_type: str, name: str, counterpart: str) -> str:
        """The property through HubSpot's properties API (POST /crm/v3/properties/{object}) when
        the run's property list does not have it; a 409 (made meanwhile) is as good."""
        self._crm_type(object_type)
        existing = next((p for p in self._property_defs(object_type) if p["name"] == name), None)
        if existing is not None:
            if existing.get("type") != "string":
                raise ConnectorError(
                    f"The HubSpot property {name} is a {existing.get('type')} property, not text: name another one.",
                    ErrorKind.CONFIG,
                )
            return name
        try:
            self.http.request(
                "POST",
                f"/crm/v3/properties/{object_type}",
                json={
                    "name": name,
                    "label": f"{counterpart} ID"[:100],
                    "type": "string",
                    "fieldType": "text",
                    "groupName": PROPERTY_GROUPS[object_type],
                    "formField": False,
                    "description": f"The {counterpart} record this one is synced with, written by SyncSmart.",
                },
            )
        except ConnectorError as exc:
            if exc.status != 409:
                raise
        self._property_defs(object_type, refresh=True)  # the feed's property list now asks for it
        return name

    def create(self, object_type: str, inputs: Sequence[WriteInput]) -> list[WriteResult]:
        self._crm_type(object_type)
        if not inputs:
            return []
        self._ensure_write_id_property(object_type)
        results: list[WriteResult] = []
        for chunk in chunked(list(inputs), limits.BATCH_LIMIT):
            results += self._create_chunk(object_type, chunk)
        return results

    def _create_chunk(self, object_type: str, chunk: list[WriteInput]) -> list[WriteResult]:
        write_ids = [uuid.uuid4().hex for _ in chunk]
        payloads = {
            n: self._create_body(object_type, item, write_id)
            for n, (item, write_id) in enumerate(zip(chunk, write_ids, strict=True))
        }
        outcome: dict[int, WriteResult] = {}
        pending = list(range(len(chunk)))
        unsure = False
        last_error: ConnectorError | None = None
        for _ in range(MAX_WRITE_ROUNDS):
            if not pending:
                break
            if unsure:
                # The last call may have written records before the connection failed: find them first.
                try:
                    pending = self._adopt_created(object_type, chunk, write_ids, pending, outcome)
                except ConnectorError as exc:
                    if not exc.retryable:
                        raise
                    last_error = exc
                    continue
                unsure = False
                if not pending:
                    break
            try:
                response = self.http.request(
                    "POST",
                    f"/crm/v3/objects/{object_type}/batch/create",
                    idempotent=False,
                    ok_statuses=(207,),
                    json={"inputs": [payloads[n] for n in pending]},
                )
            except ConnectorError as exc:
                last_error = exc
                if exc.kind in (ErrorKind.TIMEOUT, ErrorKind.NETWORK):
                    unsure = True
                    continue
                if exc.retryable:
                    continue
                self._create_refused(object_type, chunk, pending, exc, outcome)
                pending = []
                break
            self._read_create_answer(object_type, response.json(), chunk, write_ids, pending, outcome)
            pending = []
        for n in pending:
            outcome[n] = WriteResult(
                chunk[n].ref, error=last_error or ConnectorError("HubSpot did not confirm the create", ErrorKind.SERVER)
            )
        return [outcome[n] for n in range(len(chunk))]

    def _create_body(self, object_type: str, item: WriteInput, write_id: str) -> dict[str, Any]:
        """One batch-create input: the properties, our write id, and the associations to parents."""
        props, refs = self._split_references(object_type, item.properties)
        props[WRITE_ID_PROPERTY] = write_id
        body: dict[str, Any] = {"properties": props, "objectWriteTraceId": write_id}
        wanted = {
            (REFERENCES[(object_type, name)], to_id): None for name, value in refs.items() for to_id in split_ids(value)
        }  # `contact` and `contacts` may name the same record: associated once
        assoc = [
            {
                "to": {"id": to_id},
                "types": [
                    {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": ASSOCIATION_TYPE_IDS[(object_type, target)]}
                ],
            }
            for target, to_id in wanted
        ]
        if assoc:
            body["associations"] = assoc
        return body

    def _adopt_created(
        self, object_type: str, chunk: list[WriteInput], write_ids: list[str], pending: list[int], outcome: dict[int, WriteResult]
    ) -> list[int]:
        """Records an unanswered create made after all (found by write id) are done; returns the rest."""
        created = self._find_by_write_ids(object_type, [write_ids[n] for n in pending])
        for n in pending:
            if write_ids[n] in created:
                outcome[n] = WriteResult(chunk[n].ref, id=created[write_ids[n]].id, record=created[write_ids[n]])
        return [n for n in pending if write_ids[n] not in created]

    def _create_refused(
        self, object_type: str, chunk: list[WriteInput], pending: list[int], exc: ConnectorError, outcome: dict[int, WriteResult]
    ) -> None:
        if len(pending) > 1:
            # HubSpot rejected the whole batch for one input: isolate it by sending one by one.
            for n in pending:
                outcome[n] = self._create_chunk(object_type, [chunk[n]])[0]
            return
        outcome[pending[0]] = WriteResult(chunk[pending[0]].ref, error=exc)

    def _read_create_answer(
        self,
        object_type: str,
        answer: dict[str, Any],
        chunk: list[WriteInput],
        write_ids: list[str],
        pending: list[int],
        outcome: dict[int, WriteResult],
    ) -> None:
        by_write_id = {write_ids[n]: n for n in pending}
        created: list[Record] = []
        for item in answer.get("results", []):
            write_id = item.get("objectWriteTraceId") or (item.get("properties") or {}).get(WRITE_ID_PROPERTY)
            n = by_write_id.get(write_id)
            if n is None:
                continue
            record = self._record(object_type, item)
            created.append(record)
            outcome[n] = WriteResult(chunk[n].ref, id=record.id, record=record)
        unmatched_errors = []
        for item in answer.get("errors", []):
            traces = (item.get("context") or {}).get("objectWriteTraceId") or []
            n = by_write_id.get(traces[0]) if traces else None
            if n is None:
                unmatched_errors.append(item)
            else:
                outcome[n] = WriteResult(chunk[n].ref, error=_error_from_item(item))
        for n in pending:
            if n not in outcome:
                item = (
                    unmatched_errors.pop(0)
                    if unmatched_errors
                    else {"message": "HubSpot did not report this input", "category": "UNKNOWN"}
                )
                outcome[n] = WriteResult(chunk[n].ref, error=_error_from_item(item))
        for n, item in enumerate(chunk):
            if n in outcome and outcome[n].record is not None:
                _, refs = self._split_references(object_type, item.properties)
                outcome[n].record.properties.update(refs)

    def _find_by_write_ids(self, object_type: str, write_ids: list[str]) -> dict[str, Record]:
        response = self.http.request(
            "POST",
            f"/crm/v3/objects/{object_type}/batch/read",
            ok_statuses=(207,),
            json={
                "idProperty": WRITE_ID_PROPERTY,
                "properties": [WRITE_ID_PROPERTY] + self._property_names(object_type),
                "inputs": [{"id": w} for w in write_ids],
            },
        )
        found = {}
        for item in response.json().get("results", []):
            write_id = (item.get("properties") or {}).get(WRITE_ID_PROPERTY)
            if write_id:
                found[write_id] = self._record(object_type, item)
        return found

    def search(
        self,
        object_type: str,
        filter_groups: list[dict[str, Any]],
        sorts: list[dict[str, Any]] | None = None,
        limit: int = limits.SEARCH_PAGE_LIMIT,
        after: str | None = None,
    ) -> tuple[list[Record], str | None]:
        """One page of HubSpot search (filterGroups, one sort, <=200 per page); returns (records, next after)."""
        self._crm_type(object_type)
        body: dict[str, Any] = {
            "filterGroups": filter_groups,
            "properties": self._property_names(object_type),
            "limit": min(limit, limits.SEARCH_PAGE_LIMIT),
        }
        if sorts:
            body["sorts"] = sorts
        if after:
            body["after"] = after
        answer, _ = self._search(object_type, body)
        records = [self._record(object_type, item) for item in answer.get("results", [])]
        self._attach_references(object_type, records)
        return records, answer.get("paging", {}).get("next", {}).get("after")

    def update(self, object_type: str, inputs: Sequence[WriteInput]) -> list[WriteResult]:
        self._crm_type(object_type)
        results: list[WriteResult] = []
        for chunk in chunked(list(inputs), limits.BATCH_LIMIT):
            results += self._update_chunk(object_type, chunk)
        return results

    def _update_chunk(self, object_type: str, chunk: list[WriteInput]) -> list[WriteResult]:
        split = [self._split_references(object_type, item.properties) for item in chunk]
        outcome: dict[int, WriteResult] = {}
        with_props = [n for n, (props, _) in enumerate(split) if props]
        isolated = bool(with_props) and self._update_properties(object_type, chunk, split, with_props, outcome)
        if not isolated:  # (one by one, each input did its own references)
            self._update_references(object_type, chunk, split, outcome)
        return [outcome.get(n) or WriteResult(chunk[n].ref, id=str(chunk[n].id)) for n in range(len(chunk))]

    def _update_properties(
        self,
        object_type: str,
        chunk: list[WriteInput],
        split: list[tuple[dict[str, Any], dict[str, Any]]],
        with_props: list[int],
        outcome: dict[int, WriteResult],
    ) -> bool:
        """One batch update of the inputs' properties; True when HubSpot refused the batch for one
        input and the inputs went one by one instead."""
        try:
            # Updates are idempotent (same values again), so every failure may be retried.
            response = self.http.request(
                "POST",
                f"/crm/v3/objects/{object_type}/batch/update",
                ok_statuses=(207,),
                json={"inputs": [{"id": str(chunk[n].id), "properties": split[n][0]} for n in with_props]},
            )
        except ConnectorError as exc:
            if exc.retryable or len(with_props) == 1:
                for n in with_props:
                    outcome[n] = WriteResult(chunk[n].ref, id=str(chunk[n].id), error=exc)
                return False
            for n in with_props:
                outcome[n] = self._update_chunk(object_type, [chunk[n]])[0]
            return True
        self._read_update_answer(object_type, response.json(), chunk, with_props, outcome)
        return False

    def _update_references(
        self,
        object_type: str,
        chunk: list[WriteInput],
        split: list[tuple[dict[str, Any], dict[str, Any]]],
        outcome: dict[int, WriteResult],
    ) -> None:
        for n, (_, refs) in enumerate(split):
            if refs and (n not in outcome or outcome[n].ok):
                try:
                    self._set_references(object_type, str(chunk[n].id), refs)
                except ConnectorError as exc:
                    outcome[n] = WriteResult(chunk[n].ref, id=str(chunk[n].id), error=exc)

    def _read_update_answer(
        self,
        object_type: str,
        answer: dict[str, Any],
        chunk: list[WriteInput],
        indexes: list[int],
        outcome: dict[int, WriteResult],
    ) -> None:
        by_id = {str(chunk[n].id): n for n in indexes}
        for item in answer.get("results", []):
            n = by_id.get(str(item["id"]))
            if n is not None:
                outcome[n] = WriteResult(chunk[n].ref, id=str(item["id"]), record=self._record(object_type, item))
        for item in answer.get("errors", []):
            for record_id in (item.get("context") or {}).get("ids") or []:
                n = by_id.get(str(record_id))
                if n is not None:
                    outcome[n] = WriteResult(chunk[n].ref, id=str(record_id), error=_error_from_item(item))
        for n in indexes:
            outcome.setdefault(
                n,
                WriteResult(
                    chunk[n].ref, id=str(chunk[n].id), error=ConnectorError("HubSpot did not report this input", ErrorKind.SERVER)
                ),
            )

    def _set_references(self, object_type: str, record_id: str, refs: dict[str, str | None]) -> None:
        """Make the record's association to each target exactly the given ids (or none): one id for
        `contact`, several for `contacts`, their union when both are written."""
        desired: dict[str, set[str]] = {}
        for name, value in refs.items():
            desired.setdefault(REFERENCES[(object_type, name)], set()).update(split_ids(value))
        # An engagement's other contacts are `contacts`' to remove, not `contact`'s.
        keeps_others = (object_type, "contacts") in activities.MULTIPLE and "contacts" not in refs
        for target, wanted in desired.items():
            answer = self.http.request(
                "POST",
                f"/crm/v4/associations/{object_type}/{target}/batch/read",
                ok_statuses=(207,),
                json={"inputs": [{"id": record_id}]},
            ).json()
            current = {str(t["toObjectId"]) for r in answer.get("results", []) for t in r.get("to", [])}
            stale = [] if keeps_others and target == "contacts" else sorted(current - wanted)
            if stale:
                self.http.request(
                    "POST",
                    f"/crm/v4/associations/{object_type}/{target}/batch/archive",
                    json={"inputs": [{"from": {"id": record_id}, "to": [{"id": s} for s in stale]}]},
                )
            for to_id in sorted(wanted - current):
                response = self.http.request(
                    "POST",
                    f"/crm/v4/associations/{object_type}/{target}/batch/associate/default",
                    ok_statuses=(207,),
                    json={"inputs": [{"from": {"id": record_id}, "to": {"id": to_id}}]},
                )
                errors = response.json().get("errors") or []
                if errors:
                    raise _error_from_item(errors[0])

    # --- webhooks -------------------------------------------------------------------------------------------
    def verify_webhook(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> bool:
        return webhooks.verify_v3(self.client_secret, method, url, headers, body)

    def parse_webhook(self, body: bytes, headers: Mapping[str, str] | None = None) -> list[WebhookEvent]:
        return webhooks.parse_events(body)

    # --- connection test ------------------------------------------------------------------------------------------
    def account(self) -> dict[str, Any]:
        """The portal these credentials belong to (hub id etc.)."""
        if self.oauth is not None:
            if self.oauth.tokens.expiring():
                self.http.request("GET", "/account-info/v3/details")  # triggers the refresh
            info = self.http.request("GET", f"/oauth/v1/access-tokens/{self.oauth.tokens.access_token}").json()
            return {
                "portalId": info.get("hub_id"),
                "hub_domain": info.get("hub_domain"),
                "user": info.get("user"),
                "scopes": info.get("scopes", []),
            }
        return self.http.request("GET", "/account-info/v3/details").json()

    def test_connection(self) -> ConnectionTest:
        try:
            info = self.account()
            self.http.request("GET", "/crm/v3/objects/contacts", params={"limit": 1})
        except ConnectorError as exc:
            return ConnectionTest(False, self._explain(exc))
        portal = str(info.get("portalId") or "")
        if self.portal_id and portal and portal != self.portal_id:
            return ConnectionTest(
                False,
                f"These credentials belong to HubSpot portal {portal}, not {self.portal_id}. "
                "Connect the portal this integration was set up with.",
                account=portal,
            )
        return ConnectionTest(True, f"Connected to HubSpot portal {portal}.", account=portal)

    def _explain(self, exc: ConnectorError) -> str:
        if exc.vendor_code == "invalid_grant":
            return exc.message
        if exc.kind == ErrorKind.AUTH:
            if self.uses_oauth:
                return (
                    "HubSpot rejected the OAuth access token (auth failed): reconnect HubSpot to authorise SyncSmart again. "
                    f"HubSpot said: {exc.message}"
                )
            return (
                "HubSpot rejected the private-app access token (auth failed): check that the token was copied completely "
                f"and that the private app is still active and has the CRM scopes. HubSpot said: {exc.message}"
            )
        if exc.kind in (ErrorKind.NETWORK, ErrorKind.TIMEOUT):
            return f"Could not reach HubSpot at {self.base_url}; try again in a minute. ({exc.message})"
        if exc.kind == ErrorKind.RATE_LIMITED:
            return f"HubSpot is rate limiting this account right now; try again shortly. ({exc.message})"
        return f"HubSpot answered with an error: {exc.message}"


def _kind_of(name: str, type_: str | None, field_type: str | None) -> FieldType:
    """Our field type for a HubSpot property's type and fieldType (owners are told apart before)."""
    if name == "email":
        return FieldType.EMAIL
    if (type_ == "enumeration" and field_type == "booleancheckbox") or type_ == "bool":
        return FieldType.BOOL
    if type_ == "enumeration":
        return FieldType.ENUM
    if type_ == "number":
        return FieldType.NUMBER
    if type_ == "date":
        return FieldType.DATE
    if type_ == "datetime":
        return FieldType.DATETIME
    if field_type == "phonenumber":
        return FieldType.PHONE
    if field_type in ("textarea", "html"):
        return FieldType.TEXT
    return FieldType.STRING
