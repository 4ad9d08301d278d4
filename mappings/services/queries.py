"""Read-only data the customer's pages show, in a fixed number of queries whatever the row count.

Every function takes a tenant (or objects already fetched through the tenant) and never
follows a relation row by row: aggregates are grouped in the database, runs are picked with
subqueries, so the overview of fifty integrations costs what the overview of one does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import TruncHour
from django.utils import timezone
from django_q.models import Schedule

from mappings.models import Integration
from mappings.services import health
from syncsmart.models import DeferredRecord, RecordEvent, SyncRun

SYNCED_OUTCOMES = (
    RecordEvent.Outcome.CREATED,
    RecordEvent.Outcome.UPDATED,
    RecordEvent.Outcome.LINKED,
    RecordEvent.Outcome.CONFLICT,
)
CHART_HOURS = 72


@dataclass(frozen=True)
class HourBucket:
    """One bar of the overview's records-per-hour chart (drawn by templatetags/ui_charts)."""

    hour: datetime
    synced: int
    failed: int


@dataclass
class IntegrationSummary:
    integration: Integration
    last_run: SyncRun | None = None
    active_run: SyncRun | None = None
    next_run_at: datetime | None = None
    synced_today: int = 0
    failed_today: int = 0  # failed attempts today (a record retried three times counts three)
    failing_now: int = 0  # records whose last sync failed and that have not synced since
    deferred_now: int = 0
    chart: list[HourBucket] = field(default_factory=list)

    @property
    def health(self) -> str:
        """One word for the card's badge: what a customer should look at first."""
        connections = (self.integration.hubspot_connection, self.integration.other_connection)
        if any(c.status == "reconnect_needed" for c in connections):
            return "reconnect_needed"
        if any(c.status == "error" for c in connections):
            return "error"
        if self.failed_today:
            return "warn"
        return "ok"


def integrations_of(tenant) -> Any:
    """The tenant's integrations with both connections and the latest runs, in one query."""
    runs = SyncRun.objects.filter(integration=OuterRef("pk"))
    return (
        Integration.objects.filter(tenant=tenant)
        .select_related("hubspot_connection", "other_connection")
        .annotate(
            last_run_id=Subquery(runs.filter(status__in=SyncRun.FINISHED).order_by("-created_at").values("pk")[:1]),
            active_run_id=Subquery(runs.filter(status__in=SyncRun.ACTIVE).order_by("-created_at").values("pk")[:1]),
        )
    )


def summaries(integrations: Iterable[Integration], now: datetime | None = None) -> list[IntegrationSummary]:
    integrations = list(integrations)
    now = now or timezone.now()
    result = {i.pk: IntegrationSummary(i) for i in integrations}
    if not integrations:
        return []
    _attach_runs(result, integrations)
    _attach_schedules(result)
    _attach_today_counts(result, now)
    _attach_charts(result, now)
    _attach_deferred(result)
    return list(result.values())


def _attach_runs(result: dict[int, IntegrationSummary], integrations: list[Integration]) -> None:
    wanted = {getattr(i, "last_run_id", None) for i in integrations} | {getattr(i, "active_run_id", None) for i in integrations}
    runs = {r.pk: r for r in SyncRun.objects.filter(pk__in=[w for w in wanted if w])}
    for integration in integrations:
        summary = result[integration.pk]
        summary.last_run = runs.get(getattr(integration, "last_run_id", None))
        summary.active_run = runs.get(getattr(integration, "active_run_id", None))


def _attach_schedules(result: dict[int, IntegrationSummary]) -> None:
    by_name = {s.integration.schedule_name: s for s in result.values()}
    for name, next_run in Schedule.objects.filter(name__in=list(by_name)).values_list("name", "next_run"):
        by_name[name].next_run_at = next_run


def _attach_today_counts(result: dict[int, IntegrationSummary], now: datetime) -> None:
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = (
        RecordEvent.objects.filter(integration_id__in=list(result), created_at__gte=midnight)
        .values("integration_id")
        .annotate(
            synced=Count("id", filter=Q(outcome__in=SYNCED_OUTCOMES)),
            failed=Count("id", filter=Q(outcome=RecordEvent.Outcome.FAILED)),
        )
    )
    for row in rows:
        result[row["integration_id"]].synced_today = row["synced"]
        result[row["integration_id"]].failed_today = row["failed"]
    for integration_id, failing in health.open_failure_counts(result).items():
        result[integration_id].failing_now = failing


def hour_buckets(now: datetime, hours: int = CHART_HOURS) -> list[datetime]:
    top = now.replace(minute=0, second=0, microsecond=0)
    return [top - timedelta(hours=h) for h in range(hours - 1, -1, -1)]


def _attach_charts(result: dict[int, IntegrationSummary], now: datetime) -> None:
    hours = hour_buckets(now)
    rows = (
        RecordEvent.objects.filter(
            integration_id__in=list(result), created_at__gte=hours[0], outcome__in=(*SYNCED_OUTCOMES, RecordEvent.Outcome.FAILED)
        )
        .annotate(hour=TruncHour("created_at"))
        .values("integration_id", "hour")
        .annotate(
            synced=Count("id", filter=Q(outcome__in=SYNCED_OUTCOMES)),
            failed=Count("id", filter=Q(outcome=RecordEvent.Outcome.FAILED)),
        )
    )
    counts: dict[int, dict[datetime, tuple[int, int]]] = defaultdict(dict)
    for row in rows:
        counts[row["integration_id"]][row["hour"]] = (row["synced"], row["failed"])
    for pk, summary in result.items():
        per_hour = counts.get(pk, {})
        summary.chart = [HourBucket(h, *per_hour.get(h, (0, 0))) for h in hours]


def _attach_deferred(result: dict[int, IntegrationSummary]) -> None:
    rows = DeferredRecord.objects.filter(integration_id__in=list(result)).values("integration_id").annotate(n=Count("id"))
    for row in rows:
        result[row["integration_id"]].deferred_now = row["n"]


def run_rate(run: SyncRun, now: datetime | None = None) -> tuple[float | None, timedelta | None]:
    """Records per second so far and the estimated time left, for a progress bar."""
    if not run.started_at or not run.progress_done:
        return None, None
    elapsed = ((run.finished_at or now or timezone.now()) - run.started_at).total_seconds()
    if elapsed <= 0:
        return None, None
    rate = run.progress_done / elapsed
    if not run.progress_total or run.progress_done >= run.progress_total or not run.is_active:
        return rate, timedelta(0) if run.progress_total else None
    return rate, timedelta(seconds=round((run.progress_total - run.progress_done) / rate))
