"""The `tenants` scenario (issue 21, part (a) only): N integrations, each its own tenant, on one
shared pair of emulators, all on a one-minute schedule spread over the minute, served by K real
`manage.py qcluster` processes (django-q2's scheduler and workers, the Redis broker when REDIS_URL
is set). Reports how late scheduled runs started after they were due, and the CPU the worker
processes used. Run only when named (`--scenario tenants`): it takes minutes.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import time
from typing import Any

import psutil
from django.utils import timezone
from django_q.models import Schedule

from bench import lab as labs
from bench.database import child_environment
from bench.runs import sync_here
from bench.services import Worker
from mappings.models import Integration
from syncsmart.engine import queue
from syncsmart.models import SyncRun

PERIOD_SECONDS = 60  # django-q2's finest schedule: every minute
FIRST_DUE_SECONDS = 20  # time for the clusters to start before the first run is due


def tenants(opts: Any, another_tenant, age_clocks) -> dict[str, Any]:
    lab = labs.build_lab("connectwise", latency_ms=opts.latency_ms, limits=False)
    workers: list[Worker] = []
    try:
        labs.seed_other(lab, 10)
        labs.seed_hubspot(lab, 10)
        integrations = [lab.integration] + [another_tenant(lab, n) for n in range(1, opts.integrations)]
        for integration in integrations:
            sync_here(integration)
        age_clocks(lab)
        for integration in integrations:  # settle: what the windows re-read once
            sync_here(integration, trigger=SyncRun.Trigger.SCHEDULE)
        due = _spread_schedules(integrations)
        since = timezone.now()
        workers = [
            Worker(child_environment(opts.database), log_path=str(opts.workdir / f"tenants-qcluster-{k}.log"))
            for k in range(opts.workers)
        ]
        for worker in workers:
            worker.start()
        started, cpu_before = time.monotonic(), _cpu_seconds(workers)
        time.sleep(FIRST_DUE_SECONDS + opts.minutes * PERIOD_SECONDS)
        cpu, wall = _cpu_seconds(workers) - cpu_before, time.monotonic() - started
        for worker in workers:
            worker.stop()
        late = _lateness(due, since)
        return {
            "integrations": len(integrations),
            "workers": opts.workers,
            "minutes": opts.minutes,
            "runs_started": len(late),
            "runs_expected": sum(len(_due_times(first, since, timezone.now())) for first in due.values()),
            "lateness_p50_s": _pct(late, 50),
            "lateness_p95_s": _pct(late, 95),
            "lateness_max_s": round(max(late), 3) if late else None,
            "worker_cpu_s": round(cpu, 2),
            "worker_cpu_share_of_machine": round(cpu / (wall * (os.cpu_count() or 1)), 4),
            "note": "lateness = a scheduled run's start minus the time its schedule was due; CPU of every "
            "process of the K clusters (sentinel, scheduler, workers) over the measured window",
        }
    finally:
        for worker in workers:
            worker.stop()
        for integration in Integration.objects.filter(schedule_minutes=1):
            Schedule.objects.filter(name=integration.schedule_name).delete()
        lab.stop()


def _spread_schedules(integrations: list[Integration]) -> dict[int, dt.datetime]:
    """Every integration due once a minute, their first runs spread evenly over a minute."""
    first = timezone.now() + dt.timedelta(seconds=FIRST_DUE_SECONDS)
    due = {}
    for n, integration in enumerate(integrations):
        Integration.objects.filter(pk=integration.pk).update(schedule_minutes=1)
        queue.sync_schedule(integration.pk)
        due[integration.pk] = first + dt.timedelta(seconds=PERIOD_SECONDS * n / len(integrations))
        Schedule.objects.filter(name=integration.schedule_name).update(next_run=due[integration.pk])
    return due


def _due_times(first: dt.datetime, since: dt.datetime, until: dt.datetime) -> list[dt.datetime]:
    count = max(0, math.floor((until - first).total_seconds() / PERIOD_SECONDS) + 1)
    return [first + dt.timedelta(seconds=PERIOD_SECONDS * k) for k in range(count) if first >= since]


def _lateness(due: dict[int, dt.datetime], since: dt.datetime) -> list[float]:
    """Each scheduled run's start after the latest due time at or before it was queued."""
    late = []
    runs = SyncRun.objects.filter(trigger=SyncRun.Trigger.SCHEDULE, queued_at__gte=since, started_at__isnull=False)
    for integration_id, queued_at, started_at in runs.values_list("integration_id", "queued_at", "started_at"):
        first = due[integration_id]
        periods = max(0, math.floor((queued_at - first).total_seconds() / PERIOD_SECONDS))
        late.append((started_at - (first + dt.timedelta(seconds=PERIOD_SECONDS * periods))).total_seconds())
    return sorted(late)


def _pct(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    return round(values[min(len(values) - 1, max(0, math.ceil(pct / 100 * len(values)) - 1))], 3)


def _cpu_seconds(workers: list[Worker]) -> float:
    """User + system CPU of every live process of the clusters (and of their reaped children)."""
    total = 0.0
    for worker in workers:
        if worker.process is None:
            continue
        try:
            root = psutil.Process(worker.process.pid)
            for proc in [root, *root.children(recursive=True)]:
                times = proc.cpu_times()
                total += times.user + times.system + times.children_user + times.children_system
        except psutil.NoSuchProcess:
            continue
    return total
