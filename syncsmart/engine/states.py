"""The one place a SyncRun's status changes: the allowed transitions and the named moves.

    queued ──► running ──► succeeded | partial | failed | cancelled
      │  ▲        │ │
      │  └────────┘ └─► running   (a slice ended / vendor trouble: back to the queue;
      │                            a new slice takes over a run whose worker died)
      └──► cancelled | failed      (cancelled before it started, switched off, or broken)

A finished run never changes again. Every status write (one run, or many in one UPDATE) goes
through `move` or `move_all`, which refuse any other transition."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone

from syncsmart.core import metrics
from syncsmart.models import SyncRun

log = logging.getLogger("syncsmart.engine")
S = SyncRun.Status
ALLOWED: dict[str, frozenset[str]] = {
    S.QUEUED: frozenset({S.RUNNING, S.CANCELLED, S.FAILED}),
    S.RUNNING: frozenset({S.RUNNING, S.QUEUED, S.SUCCEEDED, S.PARTIAL, S.FAILED, S.CANCELLED}),
    S.SUCCEEDED: frozenset(),
    S.PARTIAL: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
}


class IllegalTransition(Exception):
    """A status change the state machine does not allow (a bug in the caller)."""


def allowed(current: str, new: str) -> bool:
    return new in ALLOWED.get(current, frozenset())


def move(run: SyncRun, new: str) -> None:
    """Set the run's status in memory (the caller saves it), or refuse."""
    if not allowed(run.status, new):
        raise IllegalTransition(f"run {run.pk}: {run.status} -> {new} is not allowed")
    run.status = new


def move_all(runs: QuerySet, current: str, new: str, **fields) -> int:
    """Move every run of `runs` that is in `current` to `new` in one UPDATE; returns how many."""
    if not allowed(current, new):
        raise IllegalTransition(f"{current} -> {new} is not allowed")
    return runs.filter(status=current).update(status=new, **fields)


# --- the named moves --------------------------------------------------------------------
def mark_running(run: SyncRun, worker: str) -> None:
    now = timezone.now()
    move(run, S.RUNNING)
    run.worker, run.heartbeat_at = worker, now
    run.started_at = run.started_at or now
    run.add_log("info", f"Slice started on {run.worker}")
    run.save(update_fields=["status", "worker", "heartbeat_at", "started_at", "log"])


def finish(run: SyncRun, status: str, error: str) -> None:
    move(run, status)
    run.error, run.finished_at = error[:4000], timezone.now()
    run.add_log("error" if status == S.FAILED else "info", error or f"Finished: {status}")
    run.save(update_fields=["status", "error", "finished_at", "state", "counts", "log"])
    log.info("run finished: %s %s", status, dict(run.counts or {}))
    duration = (run.finished_at - run.started_at).total_seconds() if run.started_at else None
    metrics.run_finished(run.integration_id, run.trigger, status, duration)


def postpone(run: SyncRun, note: str, delay: float) -> None:
    """A queued run that may not start yet (e.g. the daily API budget) stays queued, due later."""
    if run.status != S.QUEUED:
        raise IllegalTransition(f"run {run.pk}: only a queued run is postponed, not a {run.status} one")
    run.queued_at = timezone.now() + timedelta(seconds=delay)
    run.add_log("info", note)
    run.save(update_fields=["queued_at", "log"])


def requeue(run: SyncRun, note: str, delay: float = 0) -> None:
    """Back to the queue (the caller hands it to the broker when `delay` is 0)."""
    move(run, S.QUEUED)
    run.queued_at = timezone.now() + timedelta(seconds=delay)
    run.add_log("info", note)
    run.save(update_fields=["status", "queued_at", "state", "counts", "log"])


def cancel(run: SyncRun) -> None:
    """Cancel a queued run at once; a running one is asked to stop after its current page."""
    if run.status == S.QUEUED:
        move(run, S.CANCELLED)
        run.finished_at = timezone.now()
    run.cancel_requested = True
    run.add_log("info", "Cancel requested")
    run.save(update_fields=["status", "finished_at", "cancel_requested", "log"])
