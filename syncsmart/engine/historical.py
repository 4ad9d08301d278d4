"""Historical sync: re-read every record (or every record changed since a date), not just the
changes, and sync it, with a total for its progress bar. The one entry point is
`start_historical_sync`; the UI, the REST API and the staff console all call it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from django.db import transaction
from django.utils import timezone

from mappings.models import Integration, ObjectMapping
from syncsmart.core.choices import Direction, other_side
from syncsmart.engine.counts import count_records, since_cursor
from syncsmart.engine.run_requests import request_run
from syncsmart.models import SyncCursor, SyncRun
from tenants.actions import audit


@dataclass(frozen=True)
class SourceRead:
    mapping: ObjectMapping
    side: str  # the side read (the source of one flow)

    def connection(self, integration: Integration):
        return integration.connection_on(self.side)


def historical_reads(integration: Integration, object_mapping: ObjectMapping | None = None) -> list[SourceRead]:
    """Every (object mapping, source side) a historical sync reads, in the engine's order."""
    mappings = [object_mapping] if object_mapping else list(integration.object_mappings.filter(enabled=True))
    return [SourceRead(mapping, other_side(target)) for mapping in mappings for target in Direction.flows(mapping.direction)]


def since_start(since: date | None) -> datetime | None:
    """The moment "changed since this date" starts: the date's first instant, local time."""
    return timezone.make_aware(datetime.combine(since, time.min), timezone.get_current_timezone()) if since else None


def place_since_cursors(integration: Integration, reads: list[SourceRead], start: datetime) -> None:
    """Each read's historical cursor at `start`, where its vendor's feed can start at a time (the
    others read every record). A historical sync and its preview (syncsmart.engine.previews) both
    read from these, so the preview reads exactly what the sync will."""
    for read in reads:
        cursor = since_cursor(read.connection(integration).system, start)
        if cursor is not None:
            SyncCursor.objects.update_or_create(
                integration=integration,
                object_mapping=read.mapping,
                side=read.side,
                kind=SyncCursor.Kind.HISTORICAL,
                defaults={"cursor": cursor},
            )


def estimate_total(integration: Integration, reads: list[SourceRead], since: datetime | None) -> int | None:
    """Records the sync will read, from the vendors' count answers; None if any side cannot say."""
    total = 0
    for read in reads:
        connection = read.connection(integration)
        start = since if since and since_cursor(connection.system, since) is not None else None
        n = count_records(connection, read.mapping.object_for(read.side), start)
        if n is None:
            return None
        total += n
    return total


def under_way(integration: Integration, object_mapping: ObjectMapping | None = None) -> SyncRun | None:
    """The historical sync already under way that starting this one would return instead."""
    active = SyncRun.objects.filter(integration=integration, trigger=SyncRun.Trigger.HISTORICAL, status__in=SyncRun.ACTIVE)
    if object_mapping is not None:
        active = active.filter(object_mapping=object_mapping)
    return active.first()


def start_historical_sync(
    integration: Integration,
    actor,
    *,
    object_mapping: ObjectMapping | None = None,
    since: date | None = None,
    estimate: bool = False,
) -> SyncRun:
    """Start a historical sync of all records, or of records changed since a date; an identical
    one already under way is returned instead. `estimate`: ask the vendors how many records it
    will read, for the progress bar (that calls them, so it happens before the transaction)."""
    start = since_start(since)
    reads = historical_reads(integration, object_mapping)
    total = estimate_total(integration, reads, start) if estimate else None
    return _start(integration, actor, object_mapping, reads, start, total)


@transaction.atomic
def _start(
    integration: Integration,
    actor,
    object_mapping: ObjectMapping | None,
    reads: list[SourceRead],
    start: datetime | None,
    total: int | None,
) -> SyncRun:
    if (existing := under_way(integration, object_mapping)) is not None:
        return existing  # already under way: leave it be
    cursors = SyncCursor.objects.filter(integration=integration, kind=SyncCursor.Kind.HISTORICAL)
    if object_mapping is not None:
        cursors = cursors.filter(object_mapping=object_mapping)
    cursors.delete()  # a historical sync starts from the very first record (or from `start`)
    run = request_run(integration, actor, trigger="historical", object_mapping=object_mapping)
    audit(
        integration.tenant,
        actor,
        "run.historical_started",
        integration,
        summary=f"Historical sync started for {object_mapping or integration}",
        run=str(run.pk),
    )
    if start is not None:
        _start_at(integration, actor, run, reads, start)
    if total is not None or start is not None:
        run.progress_total = total
        run.save(update_fields=["state", "progress_total"])
    return run


def _start_at(integration: Integration, actor, run: SyncRun, reads: list[SourceRead], start: datetime) -> None:
    """The run reads from these cursors (created in this transaction, before a worker sees the run)."""
    place_since_cursors(integration, reads, start)
    run.state = {**run.state, "since": start.isoformat()}
    audit(
        integration.tenant,
        actor,
        "run.historical_since",
        integration,
        summary=f"Historical sync limited to records changed since {start.date().isoformat()}",
        run=str(run.pk),
        since=start.date().isoformat(),
    )
