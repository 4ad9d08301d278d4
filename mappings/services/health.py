"""Sync health: the records that still fail, grouped by cause, each cause with a plain-language
explanation and what fixes it; connection health kept apart from record errors.

A failure is *open* while it is the newest outcome of its record: a later success (or a
deliberate skip) closes it, so a fixed record drops out of the groups and loses its Retry button
without anyone clearing it. Attempts are not records: five failed tries of one record count once."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.db.models.lookups import IsNull
from django.utils import timezone

from mappings.models import Integration
from syncsmart.core.choices import Side
from syncsmart.models import RecordEvent

OPEN_WINDOW = dt.timedelta(days=14)  # failures older than this are history, not today's work
MAX_OPEN = 5000  # newest failures read per integration for the groups


@dataclass(frozen=True)
class Cause:
    key: str
    title: str
    explanation: str
    fix: str


CAUSES: dict[str, Cause] = {
    c.key: c
    for c in (
        Cause(
            "missing_parent",
            "Missing parent record",
            "The record belongs to a parent (a contact's company, a deal's company) that does not exist on the "
            "other side yet, and the other system will not take the record without it.",
            "Make sure the parent syncs: check that its object is switched on and passes the filters, then retry.",
        ),
        Cause(
            "duplicate",
            "Already exists in the other system",
            "The other system already holds a record with the same unique value (usually the e-mail address), "
            "so it refused to create a second one.",
            "Open the existing record from the record page and link or merge it, or change the matching rule so "
            "SyncSmart finds it; then retry.",
        ),
        Cause(
            "required_field",
            "A required field is empty",
            "The other system needs a value in a field that these records leave empty (for a Salesforce "
            "opportunity, its stage), so it refused to save them. Each record below names the field.",
            "Give the field a value in the source record, or map a field that fills it — for a dropdown such as a "
            "deal stage, map every source option in the mapping editor; then retry.",
        ),
        Cause(
            "invalid_value",
            "A value the other system does not accept",
            "A field holds a value the other system refuses: a required field is empty, a dropdown option does not "
            "exist there, or the text is too long or in the wrong format.",
            "Correct the value in the source record (the fields involved are listed), or map the dropdown value "
            "in the mapping editor; then retry.",
        ),
        Cause(
            "permission",
            "Not allowed",
            "The account SyncSmart connects with may not read or write this record or field.",
            "Give the connected user or app the missing permission (or reconnect with an administrator), then retry.",
        ),
        Cause(
            "rate_limit",
            "Too many requests",
            "The other system asked SyncSmart to slow down. These records are retried automatically.",
            "Nothing to do unless it persists; then lower the sync frequency or ask the vendor for a higher limit.",
        ),
        Cause(
            "connection",
            "Could not reach the system",
            "The system did not answer in time or answered with a server error. These records are retried automatically.",
            "Check the connection's status above; if the system is down, wait — retry when it is back.",
        ),
        Cause(
            "other",
            "Other errors",
            "The other system refused these records for a reason SyncSmart does not recognise.",
            "Read the message on each record; fix the record or the mapping, then retry.",
        ),
    )
}

PARENT_WORDS = re.compile(r"parent|association|no linked record|is not synced yet", re.I)
DUPLICATE_WORDS = re.compile(r"already exists|duplicate|existing id", re.I)
PERMISSION_WORDS = re.compile(r"permission|forbidden|not authori[sz]ed|scope|access denied|security role", re.I)
RATE_WORDS = re.compile(r"rate limit|too many requests|throttl", re.I)
# Vendors' codes and words for "a required field has no value" (Salesforce REQUIRED_FIELD_MISSING).
REQUIRED_CODES = frozenset({"REQUIRED_FIELD_MISSING"})
REQUIRED_WORDS = re.compile(r"required fields? (?:are |is )?missing", re.I)
INVALID_WORDS = re.compile(r"required|invalid|not a valid|too long|no option|unmatched|must be", re.I)
CONNECTION_WORDS = re.compile(r"timed? ?out|connection|unreachable|service unavailable|bad gateway|server error", re.I)


@dataclass(frozen=True)
class _Failure:
    """What a failed event says about its error: the details, the connector's error, its kind,
    HTTP status and message."""

    details: dict[str, Any]
    error: dict[str, Any]
    kind: str
    status: Any
    message: str


def cause_of(event: RecordEvent) -> str:
    """The cause key of one failed event: the connector's error kind first, the message's words second."""
    details = event.details if isinstance(event.details, dict) else {}
    error = details.get("error") if isinstance(details.get("error"), dict) else {}
    message = event.message or str(error.get("message") or "")
    failure = _Failure(details, error, str(error.get("kind") or ""), error.get("status"), message)
    return next((cause for cause, applies in CAUSE_RULES if applies(failure)), "other")


def _waits_for_parent(f: _Failure) -> bool:
    return bool(f.details.get("waiting_for") or PARENT_WORDS.search(f.message))


def _is_duplicate(f: _Failure) -> bool:
    return bool(f.kind == "conflict" or f.error.get("existing_id") or f.status == 409 or DUPLICATE_WORDS.search(f.message))


def _not_allowed(f: _Failure) -> bool:
    return bool(f.kind == "auth" or f.status in (401, 403) or PERMISSION_WORDS.search(f.message))


def _rate_limited(f: _Failure) -> bool:
    return bool(f.kind == "rate_limited" or f.status == 429 or RATE_WORDS.search(f.message))


def _unreachable(f: _Failure) -> bool:
    return f.kind in ("network", "timeout", "server") or (isinstance(f.status, int) and f.status >= 500)


def _required_missing(f: _Failure) -> bool:
    return bool(str(f.error.get("vendor_code") or "") in REQUIRED_CODES or REQUIRED_WORDS.search(f.message))


def _invalid_value(f: _Failure) -> bool:
    return bool(f.kind == "validation" or f.status in (400, 422) or f.details.get("unmatched") or INVALID_WORDS.search(f.message))


def _connection_words(f: _Failure) -> bool:
    return bool(CONNECTION_WORDS.search(f.message))


# In order: the first rule that applies names the cause.
CAUSE_RULES: tuple[tuple[str, Callable[[_Failure], bool]], ...] = (
    ("missing_parent", _waits_for_parent),
    ("duplicate", _is_duplicate),
    ("permission", _not_allowed),
    ("rate_limit", _rate_limited),
    ("connection", _unreachable),
    ("required_field", _required_missing),
    ("invalid_value", _invalid_value),
    ("connection", _connection_words),
)


def open_failures(integration: Integration, since: dt.datetime | None = None):
    """Failed events that are still their record's newest outcome (one per record)."""
    return _open_failures(RecordEvent.objects.filter(integration=integration), since).select_related("object_mapping")


def open_failure_counts(integration_ids: Iterable[int] | None, since: dt.datetime | None = None) -> dict[int, int]:
    """The count of failing records: records (not attempts) whose newest outcome is a failure, per
    integration (of `integration_ids`; None: every integration), in one query. The one count the
    integration page ("Failing records"), the staff console and the failed-records alert show;
    `since` narrows it to the records whose failure is that recent (default: OPEN_WINDOW)."""
    events = (
        RecordEvent.objects.all()
        if integration_ids is None
        else RecordEvent.objects.filter(integration_id__in=list(integration_ids))
    )
    rows = (
        _open_failures(events, since)
        .order_by()
        .values_list("integration_id", "object_mapping_id", "source_side", "source_id")
        .distinct()
    )
    counts: dict[int, int] = {}
    for integration_id, *_record in rows:
        counts[integration_id] = counts.get(integration_id, 0) + 1
    return counts


def open_failures_in(events, since: dt.datetime | None = None):
    """Of these events (e.g. a tenant's), the failed ones still their record's newest outcome."""
    return _open_failures(events, since).select_related("object_mapping")


def _open_failures(events, since: dt.datetime | None):
    since = since or timezone.now() - OPEN_WINDOW
    # A failure logged without an object mapping (e.g. the mapping was removed since) is cleared by
    # a later event that also has none: `object_mapping = NULL` is never true in SQL.
    same_mapping = Q(object_mapping=OuterRef("object_mapping")) | (
        Q(object_mapping__isnull=True) & Q(IsNull(OuterRef("object_mapping"), True))
    )
    later = RecordEvent.objects.filter(
        same_mapping,
        integration=OuterRef("integration"),
        source_side=OuterRef("source_side"),
        source_id=OuterRef("source_id"),
        created_at__gt=OuterRef("created_at"),
    )
    return (
        events.filter(outcome=RecordEvent.Outcome.FAILED, created_at__gte=since)
        .exclude(source_id="")
        .filter(~Exists(later))
        .order_by("-created_at", "-id")
    )


def record_key(event: RecordEvent) -> tuple[Any, str, str]:
    return (event.object_mapping_id, event.source_side, event.source_id)


def still_open_ids(events: Iterable[RecordEvent]) -> set[int]:
    """Of these failed events, the ids still open (no later event for their record)."""
    failed = [e for e in events if e.outcome == RecordEvent.Outcome.FAILED]
    if not failed:
        return set()
    newest: dict[tuple, RecordEvent] = {}
    ids = {e.source_id for e in failed}
    integration_ids = {e.integration_id for e in failed}
    rows = RecordEvent.objects.filter(integration_id__in=integration_ids, source_id__in=ids).only(
        "id", "object_mapping_id", "source_side", "source_id", "created_at"
    )
    for row in rows.order_by("created_at", "id"):
        newest[record_key(row)] = row
    return {e.pk for e in failed if newest.get(record_key(e)) is not None and newest[record_key(e)].pk == e.pk}


@dataclass
class CauseGroup:
    cause: Cause
    events: list[RecordEvent] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.events)

    @property
    def sample(self) -> list[RecordEvent]:
        return self.events[:5]


def failure_groups(integration: Integration) -> list[CauseGroup]:
    """Open failures grouped by cause, largest group first, one event per record. Each sample
    carries `plain`: what went wrong in the customer's words where the cause has them."""
    groups: dict[str, CauseGroup] = {}
    seen: set[tuple] = set()
    for event in open_failures(integration)[:MAX_OPEN]:
        key = record_key(event)
        if key in seen:
            continue
        seen.add(key)
        cause = cause_of(event)
        groups.setdefault(cause, CauseGroup(CAUSES[cause])).events.append(event)
    for group in groups.values():
        for event in group.sample:
            event.plain = plain_message(integration, event, group.cause.key)
    return sorted(groups.values(), key=lambda g: (-g.count, list(CAUSES).index(g.cause.key)))


def plain_message(integration: Integration, event: RecordEvent, cause: str) -> str:
    """One failure in plain words ("Salesforce needs a value in Stage (StageName) …") where its
    cause has them; "" leaves the vendor's own message to be shown."""
    if cause != "required_field":
        return ""
    details = event.details if isinstance(event.details, dict) else {}
    error = details.get("error") if isinstance(details.get("error"), dict) else {}
    names = [str(n) for n in error.get("fields") or () if n] or _names_in_brackets(event.message or "")
    target_side = Side.HUBSPOT if event.source_side == Side.OTHER else Side.OTHER
    system = "HubSpot" if target_side == Side.HUBSPOT else integration.other_system_label
    labels = _field_labels(integration, event, target_side)
    fields = ", ".join(f"{labels[n]} ({n})" if labels.get(n, n) != n else n for n in names) or "a field"
    return f"{system} needs a value in {fields}, and this record leaves it empty, so {system} did not save it."


def _names_in_brackets(message: str) -> list[str]:
    """The names in "Required fields are missing: [A, B]"."""
    found = re.search(r"\[([^\]]*)\]", message)
    return [n.strip() for n in found.group(1).split(",") if n.strip()] if found else []


def _field_labels(integration: Integration, event: RecordEvent, side: str) -> dict[str, str]:
    mapping = event.object_mapping
    if mapping is None:
        return {}
    connection = integration.hubspot_connection if side == Side.HUBSPOT else integration.other_connection
    fields = (connection.schema_cache or {}).get(mapping.object_for(side)) or []
    return {f["name"]: str(f.get("label") or f["name"]) for f in fields if isinstance(f, dict) and f.get("name")}


def retry_targets(group: CauseGroup) -> list[dict[str, Any]]:
    """The records of one cause group as a retry run's record list."""
    return [
        {"mapping": e.object_mapping_id, "side": e.source_side, "id": e.source_id} for e in group.events if e.object_mapping_id
    ]
