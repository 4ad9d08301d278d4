"""The connector interface every system implements, and the values it passes around.

A connector wraps one vendor account. It declares its object types (primary key, cursor,
match fields, parents), discovers fields with types and dropdown options, and offers batch
operations only. Everything it returns is plain data the engine understands; everything
vendor-specific (paths, nesting, paging, error bodies) stays inside the connector.

Field values are flat: nested vendor structures are flattened into named fields (e.g. a
ConnectWise contact's e-mail inside `communicationItems` is the field `email`; a reference
such as `company/id` is the field `company` of type `reference`). References between objects
(HubSpot associations, ConnectWise `company/id`, Dynamics lookups) are fields of type
`reference` whose `reference_to` names the object type and whose value is the other record's
id, so the engine maps them through its record links like any other field.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from django.conf import settings


class FieldType(enum.StrEnum):
    STRING = "string"
    TEXT = "text"  # long text
    NUMBER = "number"
    BOOL = "bool"
    DATE = "date"
    DATETIME = "datetime"
    ENUM = "enumeration"  # dropdown: options carry value and label
    EMAIL = "email"
    PHONE = "phone"
    REFERENCE = "reference"  # id of a record of `reference_to`
    OWNER = "owner"  # id of a user / owner / member (matched by e-mail)


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class FieldInfo:
    name: str
    label: str
    type: FieldType
    required: bool = False
    read_only: bool = False
    options: tuple[Option, ...] = ()
    reference_to: str | None = None  # object type name for REFERENCE / OWNER fields
    # A polymorphic reference's other target types (Salesforce Task.WhoId: Contact, also Lead)
    also_references: tuple[str, ...] = ()
    description: str = ""
    max_length: int | None = None  # characters the vendor accepts (long bodies are truncated to it)
    html: bool = False  # the vendor keeps HTML in this text (HubSpot note and call bodies)
    # A REFERENCE holding several records: their ids sorted and joined with MULTI_SEPARATOR
    # (an engagement's contacts, a Dataverse activity's parties that are contacts).
    multiple: bool = False

    def option_by_value(self, value: str) -> Option | None:
        return next((o for o in self.options if o.value == value), None)


@dataclass(frozen=True)
class ObjectType:
    name: str  # the connector's name, e.g. "contacts", "company/contacts", "leads"
    label: str
    primary_key: str = "id"
    cursor_field: str = "updated_at"
    match_fields: tuple[str, ...] = ()  # fields `find_by` accepts (e-mail, domain, identifier...)
    parents: tuple[str, ...] = ()  # object types a record needs linked first
    needs_parent: bool = False  # an activity: never created without at least one of `parents`
    read_only: bool = False  # owners / members / system users
    email_field: str | None = None  # for owner-like objects: the e-mail used to match people
    # A record that becomes another on conversion: (the field naming what it became, that object
    # type). A Salesforce Lead names its Contact in ConvertedContactId; links move to it.
    successor: tuple[str, str] | None = None


@dataclass
class Record:
    id: str
    properties: dict[str, Any]
    updated_at: datetime | None = None
    created_at: datetime | None = None
    deleted: bool = False
    # What the vendor holds that the record's fields cannot carry (an e-mail's recipient that is
    # a user or a bare address): said on the record's event.
    remarks: list[str] = field(default_factory=list)


@dataclass
class Page:
    """One page of changes. Store `cursor` after the page is processed; pass it back to resume."""

    records: list[Record]
    cursor: dict[str, Any]
    has_more: bool


@dataclass
class WriteInput:
    properties: dict[str, Any]
    id: str | None = None  # set for updates
    ref: str | None = None  # caller's correlation key (e.g. the source record id)


@dataclass
class WriteResult:
    """The outcome of one input of a batch write, in input order."""

    ref: str | None
    id: str | None = None
    record: Record | None = None
    error: ConnectorError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


UNSURE_TYPE = "_unsure_object_type"
MULTI_SEPARATOR = ";"


def join_ids(ids) -> str | None:
    """Several record ids as one comparable value (sorted, de-duplicated), None for none."""
    unique = sorted({str(i) for i in ids if i not in (None, "")}, key=lambda i: (len(i), i))
    return MULTI_SEPARATOR.join(unique) or None


def split_ids(value) -> list[str]:
    return [p for p in str(value or "").split(MULTI_SEPARATOR) if p.strip()]


@dataclass
class WebhookEvent:
    """One notification. A deletion whose object type the vendor does not say (a deleted
    ConnectWise activity may have been a call or an e-mail...) is stored once per type it may be,
    with UNSURE_TYPE set in its payload: the engine takes it only where the id is linked."""

    object_type: str
    record_id: str
    change: str = "updated"  # created / updated / deleted / property_change
    occurred_at: datetime | None = None
    event_id: str = ""  # vendor's id, for idempotent storage
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class ConnectionTest:
    ok: bool
    message: str  # human: what is wrong and what to do about it
    account: str = ""  # e.g. portal id / company / org the credentials belong to


class ErrorKind(enum.StrEnum):
    RATE_LIMITED = "rate_limited"
    SERVER = "server"
    TIMEOUT = "timeout"
    NETWORK = "network"
    AUTH = "auth"
    VALIDATION = "validation"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"  # e.g. HubSpot 409: a contact with this e-mail exists
    CONFIG = "config"


RETRYABLE_KINDS = {ErrorKind.RATE_LIMITED, ErrorKind.SERVER, ErrorKind.TIMEOUT, ErrorKind.NETWORK}


class ConnectorError(Exception):
    """The one error type connectors raise. `retryable` says whether trying again can help."""

    def __init__(
        self,
        message: str,
        kind: ErrorKind = ErrorKind.VALIDATION,
        *,
        status: int | None = None,
        fields: Sequence[str] = (),
        vendor_code: str = "",
        retry_after: float | None = None,
        existing_id: str | None = None,
        record_errors: Mapping[str, ConnectorError] | None = None,
        body: Any = None,
    ):
        super().__init__(message)
        self.message = message
        self.kind = ErrorKind(kind)
        self.status = status
        self.fields = list(fields)
        self.vendor_code = vendor_code
        self.retry_after = retry_after
        self.existing_id = existing_id
        self.record_errors = dict(record_errors or {})
        self.body = body

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE_KINDS

    def as_dict(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "kind": self.kind.value,
            "status": self.status,
            "fields": self.fields,
            "vendor_code": self.vendor_code,
            "retryable": self.retryable,
            **({"existing_id": self.existing_id} if self.existing_id else {}),
        }

    def __repr__(self) -> str:
        return f"ConnectorError({self.kind.value}, {self.status}, {self.message!r})"


class Connector(abc.ABC):
    """One vendor account. Built by `connectors.registry.connector_for(connection)`.

    `config` holds non-secret settings (base URL, site, org URL, portal id...), `credentials`
    the decrypted secrets; `http` is the shared HTTP seam (see connectors.http).
    """

    system: ClassVar[str]
    # Published batch sizes: the engine never sends more per call.
    max_batch_write: ClassVar[int] = 100
    max_batch_read: ClassVar[int] = 100
    max_page_size: ClassVar[int] = 100
    # Vendor calls of one connection the engine keeps in flight at once (a page's batch look-ups,
    # reads and writes run side by side up to this bound; the rate limiter still spaces them).
    # settings.SYNC_VENDOR_CONCURRENCY overrides it per system.
    max_concurrency: ClassVar[int] = 1

    @property
    def concurrency(self) -> int:
        """The in-flight bound for this connection: the setting for this system, else the declared one."""
        configured = (getattr(settings, "SYNC_VENDOR_CONCURRENCY", None) or {}).get(self.system)
        return max(1, int(configured or self.max_concurrency))

    @classmethod
    def from_connection(cls, connection: Any, **kwargs: Any) -> Connector:
        """Build from a `connectors.models.Connection` (config + decrypted credentials).
        kwargs may carry `transport` (an emulator's in-process transport) or `limiter`."""
        raise NotImplementedError

    @abc.abstractmethod
    def object_types(self) -> list[ObjectType]: ...

    def object_type(self, name: str) -> ObjectType:
        for obj in self.object_types():
            if obj.name == name:
                return obj
        raise ConnectorError(f"Unknown object type {name!r} for {self.system}", ErrorKind.CONFIG)

    @abc.abstractmethod
    def discover_fields(self, object_type: str) -> list[FieldInfo]: ...

    @abc.abstractmethod
    def read_changes(self, object_type: str, cursor: dict[str, Any] | None, page_size: int | None = None) -> Page:
        """Records changed since `cursor` (None = everything), oldest first. May return a
        record more than once across pages (overlapping windows); never skips one."""

    @classmethod
    def cursor_at(cls, since: datetime) -> dict[str, Any] | None:
        """A `read_changes` cursor from which the feed brings the records changed since `since`
        (a historical sync "since a date"); None when this vendor's feed cannot start at a time."""
        return None

    def count_records(self, object_type: str, since: datetime | None = None) -> int | None:
        """How many records a full read (of those changed since `since`, when given) brings, from
        one cheap vendor call — for a progress bar, never for the sync itself. None when the
        vendor cannot say."""
        return None

    @abc.abstractmethod
    def read_by_ids(self, object_type: str, ids: Sequence[str]) -> list[Record]:
        """Records with these ids; missing ids are left out, not errors."""

    def match_chunk_size(self, object_type: str, field_name: str) -> int:
        """How many values one `find_by` call looks up in one vendor call: the engine sends a
        page's look-ups in chunks of this size, side by side."""
        return self.max_batch_read

    @abc.abstractmethod
    def find_by(self, object_type: str, field_name: str, values: Sequence[str]) -> dict[str, list[Record]]:
        """Records whose `field_name` equals one of `values` (case-insensitive for e-mails and
        domains), keyed by the lower-cased value. One batched look-up per call where the API allows."""

    @abc.abstractmethod
    def create(self, object_type: str, inputs: Sequence[WriteInput]) -> list[WriteResult]: ...

    @abc.abstractmethod
    def update(self, object_type: str, inputs: Sequence[WriteInput]) -> list[WriteResult]: ...

    def write_back_id(self, object_type: str, pairs: Mapping[str, str], field_name: str) -> list[WriteResult]:
        """Store the counterpart's id on our records: {our id: their id}, in the vendor's batched
        update (one call per `max_batch_write` records)."""
        return self.update(object_type, [WriteInput({field_name: theirs}, id=ours, ref=ours) for ours, theirs in pairs.items()])

    # Records one `write_back_id` call takes (None: max_batch_write). A vendor without batch writes
    # may take more per call to share the reads an update needs (ConnectWise: current custom fields).
    max_batch_write_back: ClassVar[int | None] = None

    @property
    def write_back_batch(self) -> int:
        return self.max_batch_write_back or self.max_batch_write

    # --- the counterpart's id written back (an integration's `write_back_ids`) ------------------
    # Object types whose records can carry a field holding the other system's id.
    id_field_objects: ClassVar[tuple[str, ...]] = ()
    # How the id field comes to exist, in words for the mapping editor: "" when a run creates it
    # through the vendor's API (ensure_id_field), else what an administrator must do (NetSuite).
    id_field_made_by_hand: ClassVar[str] = ""

    @classmethod
    def default_id_field(cls, object_type: str, counterpart: str) -> str:
        """The name the id field gets unless the customer names it (`counterpart`: the other
        system's label, e.g. "HubSpot"); blank when this system cannot carry one."""
        return ""

    @classmethod
    def id_field_problem(cls, name: str) -> str | None:
        """Why `name` cannot name an id field in this system (None when it can)."""
        return None if cls.id_field_objects else f"{cls.system} records cannot carry the other system's id."

    def ensure_id_field(self, object_type: str, name: str, counterpart: str) -> str:
        """The field (this connector's name for it) that holds the counterpart's id, created
        through the vendor's own API (HubSpot property, ConnectWise custom field, Dataverse
        column) when it does not exist yet. Costs no call when the field is already known from
        the run's schema discovery."""
        raise ConnectorError(f"{self.system} records cannot carry the other system's id", ErrorKind.CONFIG)

    def add_option(self, object_type: str, field_name: str, label: str, value: str) -> Option:
        raise ConnectorError(f"{self.system} cannot add dropdown options", ErrorKind.CONFIG)

    def verify_webhook(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> bool:
        """True when the request really comes from the vendor (signature, timestamp, key)."""
        return False

    def parse_webhook(self, body: bytes, headers: Mapping[str, str] | None = None) -> list[WebhookEvent]:
        return []

    @abc.abstractmethod
    def test_connection(self) -> ConnectionTest: ...

    def use_shared_metadata(self, identity: str, version: str) -> None:
        """Share metadata lists the connector caches (field lists a change feed asks for) with
        this process's other connectors of the same `identity` (a connection) while `version`
        stays the same; a connector with nothing worth sharing only remembers the key."""
        self.shared_metadata_key = (identity, version)

    def close(self) -> None:
        http = getattr(self, "http", None)
        if http is not None:
            http.close()


# A match look-up finds a record however it was typed ("  Ava.Kim@X.com " for ava.kim@x.com,
# "ACME  Inc." for acme): it asks the vendor for the key's longest word (contains / LIKE
# '%word%'), never the whole value as typed, and keeps the records whose text holds it; the caller
# compares what it finds normalised, by the mapping's match rules. A word shorter than this is too
# common to search for: the exact values are asked instead.
SHORTEST_FRAGMENT = 3


def lookup_fragment(key: str) -> str:
    """The word a look-up searches a text column for: the (lower-case) key's longest word."""
    return max(key.split(), key=len, default="")


def searchable_fragments(keys: Sequence[str]) -> list[str] | None:
    """The words to search for, one per key (deduplicated); None when one is too short to."""
    fragments = [lookup_fragment(k) for k in keys]
    if any(len(f) < SHORTEST_FRAGMENT for f in fragments):
        return None
    return list(dict.fromkeys(fragments))


def keys_held(keys: Iterable[str], value: Any) -> list[str]:
    """The look-up keys a found record's text answers: equal to it, or holding the key's word."""
    if value is None:
        return []
    text = " ".join(str(value).lower().split())
    return [k for k in keys if k == text or lookup_fragment(k) in text]


def chunked(items: Sequence[Any] | Iterable[Any], size: int) -> Iterable[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
