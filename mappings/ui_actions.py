"""Named actions the customer UI needs on top of mappings.actions (which stays the one place
integration state changes; these compose its actions and audit like them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from django.db import transaction
from django.utils import timezone

from mappings import actions
from mappings.models import Direction, Integration, ObjectMapping, Side
from mappings.ui_counts import SINCE_SUPPORTED, count_records, since_cursor
from tenants.actions import audit


@dataclass(frozen=True)
class SourceRead:
    mapping: ObjectMapping
    side: str  # the side read (the source of one flow)

    def connection(self, integration: Integration):
        return integration.hubspot_connection if self.side == Side.HUBSPOT else integration.other_connection


def historical_reads(integration: Integration, object_mapping: ObjectMapping | None = None) -> list[SourceRead]:
    """Every (object mapping, source side) a historical sync reads, in the engine's order."""
    mappings = [object_mapping] if object_mapping else list(integration.object_mappings.filter(enabled=True))
    reads = []
    for mapping in mappings:
        for target in Direction.flows(mapping.direction):
            reads.append(SourceRead(mapping, Side.HUBSPOT if target == Side.OTHER else Side.OTHER))
    return reads


def estimate_total(integration: Integration, reads: list[SourceRead], since: datetime | None) -> int | None:
    """Records the sync will read, from the vendors' count answers; None if any side cannot say."""
    total = 0
    for read in reads:
        connection = read.connection(integration)
        start = since if since and connection.system in SINCE_SUPPORTED else None
        n = count_records(connection, read.mapping.object_for(read.side), start)
        if n is None:
            return None
        total += n
    return total


def start_historical_sync(
    integration: Integration, actor, *, since: date | None = None, object_mapping: ObjectMapping | None = None
):
    """Start a historical sync of all records, or of records changed since a date, with a total
    for its progress bar. Counting calls the vendors, so it happens before the transaction."""
    start = timezone.make_aware(datetime.combine(since, time.min), timezone.get_current_timezone()) if since else None
    reads = historical_reads(integration, object_mapping)
    total = estimate_total(integration, reads, start)
    return _start(integration, actor, reads, start, total, object_mapping)


@transaction.atomic
def _start(
    integration: Integration,
    actor,
    reads: list[SourceRead],
    start: datetime | None,
    total: int | None,
    object_mapping: ObjectMapping | None,
):
    from syncsmart.models import SyncCursor

    run = actions.start_historical_sync(integration, actor, object_mapping=object_mapping)
    if run.progress_done or run.status != run.Status.QUEUED or run.state.get("since") or run.progress_total:
        return run  # already under way: leave it be
    if start is not None:
        # The run reads from these cursors (created in this transaction, before a worker sees the run).
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
        run.state = {**run.state, "since": start.isoformat()}
    run.progress_total = total
    run.save(update_fields=["state", "progress_total"])
    if start is not None:
        audit(
            integration.tenant,
            actor,
            "run.historical_since",
            integration,
            summary=f"Historical sync limited to records changed since {start.date().isoformat()}",
            run=str(run.pk),
            since=start.date().isoformat(),
        )
    return run
