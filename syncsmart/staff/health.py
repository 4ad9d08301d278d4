"""Integration health for the console, in a fixed number of queries whatever the tenant count."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, OuterRef, Q, Subquery
from django.utils import timezone

from mappings.models import Integration
from mappings.services.health import open_failure_counts
from syncsmart.models import DeferredRecord, InboxItem, RecordEvent, SyncRun

ERROR_RATE_WINDOW = dt.timedelta(hours=24)


@dataclass
class IntegrationHealth:
    integration: Integration
    last_run: SyncRun | None = None
    events_total: int = 0
    events_failed: int = 0
    failing: int = 0  # failing records now, counted as the integration page and the alert count them
    deferred: int = 0
    inbox_pending: int = 0
    connections: list = field(default_factory=list)

    @property
    def error_rate(self) -> float | None:
        """Share of record outcomes in the last 24 hours that failed (None when nothing synced)."""
        return self.events_failed / self.events_total if self.events_total else None

    @property
    def backlog(self) -> int:
        return self.deferred + self.inbox_pending

    @property
    def problems(self) -> list[str]:
        found = [
            f"{c.get_system_display()}: {c.get_status_display()}"
            for c in self.connections
            if c.status in (c.Status.ERROR, c.Status.RECONNECT_NEEDED)
        ]
        if self.last_run is not None and self.last_run.status == SyncRun.Status.FAILED:
            found.append("Last run failed")
        if self.error_rate is not None and self.error_rate >= 0.05:
            found.append(f"{self.error_rate:.0%} of records failed")
        return found


def health_of(integrations) -> list[IntegrationHealth]:
    integrations = list(integrations.select_related("tenant", "hubspot_connection", "other_connection"))
    ids = [i.pk for i in integrations]
    since = timezone.now() - ERROR_RATE_WINDOW
    events = {
        row["integration"]: row
        for row in RecordEvent.objects.filter(integration__in=ids, created_at__gte=since)
        .values("integration")
        .annotate(total=Count("id"), failed=Count("id", filter=Q(outcome=RecordEvent.Outcome.FAILED)))
    }
    deferred = dict(DeferredRecord.objects.filter(integration__in=ids).values_list("integration").annotate(n=Count("id")))
    inbox = dict(
        InboxItem.objects.filter(integration__in=ids, status=InboxItem.Status.PENDING)
        .values_list("integration")
        .annotate(n=Count("id"))
    )
    last_runs = {run.integration_id: run for run in _latest_runs(ids)}
    failing = open_failure_counts(ids)
    return [
        IntegrationHealth(
            integration=i,
            last_run=last_runs.get(i.pk),
            events_total=events.get(i.pk, {}).get("total", 0),
            events_failed=events.get(i.pk, {}).get("failed", 0),
            failing=failing.get(i.pk, 0),
            deferred=deferred.get(i.pk, 0),
            inbox_pending=inbox.get(i.pk, 0),
            connections=[i.hubspot_connection, i.other_connection],
        )
        for i in integrations
    ]


def _latest_runs(integration_ids: list[int]) -> list[SyncRun]:
    """The newest run of each integration, in one query (a correlated subquery works on SQLite and PostgreSQL)."""
    newest = SyncRun.objects.filter(integration=OuterRef("integration")).order_by("-queued_at").values("pk")[:1]
    return list(SyncRun.objects.filter(integration__in=integration_ids, pk=Subquery(newest)))
