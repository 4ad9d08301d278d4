"""Runs as jobs: the lease (one run per integration across every worker), slices (a run
works a bounded amount, then goes to the back of the queue so no tenant starves another),
start / finish / error bookkeeping, and the sweep that recovers work dead workers left."""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, Q
from django.utils import timezone

from connectors.base import ConnectorError, ErrorKind
from syncsmart.models import InboxItem, RunLease, SyncRun

log = logging.getLogger("syncsmart.engine")

RETRY_DELAY_SECONDS = 30
# A slice nobody waits for may go on past its budget, up to this many budgets.
SLICE_OVERRUN_BUDGETS = 3


def tuning(name: str, default: float) -> float:
    """Engine knobs: a Django setting if present, else the environment (worker processes), else the default."""
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name) or default
    return float(value)


def lease_seconds() -> int:
    """How long a run's lease lasts without a renewal (renewed once a third of it has passed)."""
    return int(tuning("SYNC_LEASE_SECONDS", 120))


def slice_seconds() -> float:
    """How long one slice of a run may work before it goes back to the queue."""
    return tuning("SYNC_SLICE_SECONDS", 20)


@dataclass(frozen=True)
class RunSignals:
    """What a running run is asked to do, read in one query (see `_poll`)."""

    cancelled: bool = False
    inbox_waiting: bool = False
    others_waiting: bool = False


# --- the lease ---------------------------------------------------------------------------
def acquire_lease(integration_id: int, holder: str) -> bool:
    """Take the integration's lease if it is free, expired or already ours. One UPDATE with
    the condition in its WHERE clause: PostgreSQL re-checks it under the row lock, SQLite
    serialises writers, so two workers can never both succeed."""
    if _take_lease(integration_id, holder):
        return True
    if RunLease.objects.filter(integration_id=integration_id).exists():
        return False  # held by another run
    try:
        with transaction.atomic():  # a savepoint: a concurrent creation must not spoil an outer transaction
            RunLease.objects.create(integration_id=integration_id)  # the integration's first run
    except IntegrityError:
        pass  # created by a concurrent worker
    return _take_lease(integration_id, holder)


def _take_lease(integration_id: int, holder: str) -> bool:
    now = timezone.now()
    return (
        RunLease.objects.filter(integration_id=integration_id)
        .filter(Q(holder="") | Q(expires_at__lt=now) | Q(holder=holder))
        .update(holder=holder, expires_at=now + timedelta(seconds=lease_seconds()))
    ) == 1


def renew_lease(integration_id: int, holder: str) -> bool:
    now = timezone.now()
    return (
        RunLease.objects.filter(integration_id=integration_id, holder=holder).update(
            expires_at=now + timedelta(seconds=lease_seconds())
        )
        == 1
    )


def release_lease(integration_id: int, holder: str) -> None:
    RunLease.objects.filter(integration_id=integration_id, holder=holder).update(holder="", expires_at=timezone.now())


class Lease:
    """This slice's hold on its integration. Nobody can take a lease before it expires, so one
    renewed less than a third of its length ago is still ours without asking the database: an
    idle run or a run of quick pages renews it only when that much time has passed."""

    def __init__(self, integration_id: int, holder: str):
        self.integration_id = integration_id
        self.holder = holder
        self._renewed_at: float | None = None  # monotonic time just before the last successful UPDATE

    def acquire(self) -> bool:
        asked_at = time.monotonic()
        if not acquire_lease(self.integration_id, self.holder):
            return False
        self._renewed_at = asked_at
        return True

    def renew(self) -> bool:
        """True while the lease is ours (renewed now if due); False once another worker took it."""
        if self._renewed_at is not None and time.monotonic() - self._renewed_at < lease_seconds() / 3:
            return True
        asked_at = time.monotonic()
        if not renew_lease(self.integration_id, self.holder):
            return False
        self._renewed_at = asked_at
        return True

    def release(self) -> None:
        release_lease(self.integration_id, self.holder)


def worker_label() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# --- one slice of a run ------------------------------------------------------------------
def run_slice(run_id: str, *, connectors: dict | None = None, max_seconds: float | None = None) -> dict[str, Any]:
    """Execute a run until it finishes or its slice ends. Safe to call twice for one run."""
    from syncsmart.engine.context import RunContext
    from syncsmart.engine.run import Engine, LeaseLost, RunCancelled

    run = (
        SyncRun.objects.select_related("integration__hubspot_connection", "integration__other_connection")
        .filter(pk=run_id)
        .first()
    )
    if run is None or run.status in SyncRun.FINISHED:
        return {"skipped": "finished"}
    integration = run.integration
    if not integration.enabled and run.trigger in (SyncRun.Trigger.SCHEDULE, SyncRun.Trigger.WEBHOOK):
        _finish(run, SyncRun.Status.CANCELLED, "The integration is switched off.")
        return {"skipped": "switched off"}
    lease = Lease(integration.pk, f"{run.pk}:{uuid.uuid4().hex[:12]}")
    if not lease.acquire():
        return {"skipped": "another run of this integration is active"}
    started = time.monotonic()
    budget = slice_seconds() if max_seconds is None else max_seconds
    ctx = None
    try:
        _mark_running(run)
        ctx = RunContext(integration, run, connectors=connectors)
        engine = Engine(
            ctx,
            historical=run.trigger == SyncRun.Trigger.HISTORICAL,
            renew=lease.renew,
            out_of_time=lambda: _slice_over(run, time.monotonic() - started, budget),
            poll=lambda: _poll(run),
        )
        try:
            done = engine.execute()
        finally:
            run.state = engine.saved_state()
            run.counts = dict(ctx.counts)
        if done:
            status = SyncRun.Status.PARTIAL if run.counts.get("failed") else SyncRun.Status.SUCCEEDED
            _finish(run, status, "")
            _connections_work(integration)
        else:
            _requeue(run, "Slice ended; continuing after other work.")
    except RunCancelled:
        _finish(run, SyncRun.Status.CANCELLED, "Cancelled on request.")
    except LeaseLost as exc:
        log.warning("run %s: %s", run.pk, exc)
        return {"skipped": "lease lost"}
    except ConnectorError as exc:
        _connector_failed(run, exc)
    except Exception as exc:  # noqa: BLE001 - a run records every failure it did not expect
        log.exception("run %s failed", run.pk)
        _finish(run, SyncRun.Status.FAILED, f"{exc.__class__.__name__}: {exc}")
    finally:
        if ctx is not None and connectors is None:
            ctx.close()
        lease.release()
        _kick_next(integration.pk, run.pk)
    return {"status": run.status, "counts": run.counts}


def _slice_over(run: SyncRun, elapsed: float, budget: float) -> bool:
    """The slice ends when its budget is used up and another run waits for a worker. A slice
    nobody waits for goes on (ending it would only cost a new slice's start: seconds for the
    webhook notifications arriving meanwhile), up to SLICE_OVERRUN_BUDGETS budgets, well inside
    q2's task timeout."""
    if elapsed < budget:
        return False
    if elapsed >= budget * SLICE_OVERRUN_BUDGETS:
        return True
    return (
        SyncRun.objects.filter(status=SyncRun.Status.QUEUED, queued_at__lte=timezone.now())
        .exclude(integration_id=run.integration_id)
        .exists()
    )


def _poll(run: SyncRun) -> RunSignals:
    """What the world asks of a running run, in one query: was it cancelled, do webhook
    notifications wait in the inbox, and does another tenant's run wait for a worker.

    Fairness: least work done goes first. A waiting run of another tenant that has done no more
    pages than this one gets the worker: the engine asks after every page that did work (and at
    least once a second otherwise), so a new small run waits at most one page behind any backlog,
    and two backlogs take turns page by page."""
    others = SyncRun.objects.filter(status=SyncRun.Status.QUEUED, queued_at__lte=timezone.now(), pages__lte=run.pages).exclude(
        integration_id=run.integration_id
    )
    inbox = InboxItem.objects.filter(integration_id=run.integration_id, status=InboxItem.Status.PENDING)
    row = (
        SyncRun.objects.filter(pk=run.pk)
        .annotate(inbox_waiting=Exists(inbox), others_waiting=Exists(others))
        .values_list("cancel_requested", "inbox_waiting", "others_waiting")
        .first()
    )
    if row is None:  # the run was deleted under us: stop as if cancelled
        return RunSignals(cancelled=True)
    return RunSignals(cancelled=row[0], inbox_waiting=row[1], others_waiting=row[2])


def _mark_running(run: SyncRun) -> None:
    now = timezone.now()
    run.status, run.worker, run.heartbeat_at = SyncRun.Status.RUNNING, worker_label(), now
    run.started_at = run.started_at or now
    run.add_log("info", f"Slice started on {run.worker}")
    run.save(update_fields=["status", "worker", "heartbeat_at", "started_at", "log"])


def _finish(run: SyncRun, status: str, error: str) -> None:
    run.status, run.error, run.finished_at = status, error[:4000], timezone.now()
    run.add_log("error" if status == SyncRun.Status.FAILED else "info", error or f"Finished: {status}")
    run.save(update_fields=["status", "error", "finished_at", "state", "counts", "log"])


def _requeue(run: SyncRun, note: str, delay: float = 0) -> None:
    run.status, run.queued_at = SyncRun.Status.QUEUED, timezone.now() + timedelta(seconds=delay)
    run.add_log("info", note)
    run.save(update_fields=["status", "queued_at", "state", "counts", "log"])
    if not delay:
        from syncsmart import tasks

        transaction.on_commit(lambda: tasks.enqueue_run(run.pk))


def _connector_failed(run: SyncRun, exc: ConnectorError) -> None:
    integration = run.integration
    connection = integration.hubspot_connection if getattr(exc, "side", "") == "hubspot" else integration.other_connection
    if exc.retryable:
        attempts = int(run.state.get("retries", 0)) + 1
        run.state["retries"] = attempts
        if attempts <= 5:
            _requeue(run, f"Vendor trouble, will retry: {exc.message}", delay=RETRY_DELAY_SECONDS * attempts)
            return
    connection.record_failure(exc.message, reconnect=exc.kind == ErrorKind.AUTH)
    _finish(run, SyncRun.Status.FAILED, exc.message)


def _connections_work(integration) -> None:
    """A run that got through shows both connections as working again (a failing one recovers by itself)."""
    for connection in (integration.hubspot_connection, integration.other_connection):
        if connection.status != connection.Status.OK:
            connection.record_success()


def _kick_next(integration_id: int, finished_run_id: Any) -> None:
    """A run waiting for this integration's lease may go now."""
    waiting = (
        SyncRun.objects.filter(integration_id=integration_id, status=SyncRun.Status.QUEUED, queued_at__lte=timezone.now())
        .exclude(pk=finished_run_id)
        .order_by("queued_at")
        .values_list("pk", flat=True)
        .first()
    )
    if waiting is not None:
        from syncsmart import tasks

        transaction.on_commit(lambda: tasks.enqueue_run(waiting))


# --- the sweep ---------------------------------------------------------------------------
def sweep_once() -> dict[str, int]:
    """Re-queue what the broker lost: runs a dead worker held, queued runs nobody started,
    inbox items no run picked up."""
    from syncsmart import tasks

    from mappings.actions import request_run

    now = timezone.now()
    stale = now - timedelta(seconds=lease_seconds())
    dead = list(
        SyncRun.objects.filter(status=SyncRun.Status.RUNNING)
        .filter(Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, started_at__lt=stale))
        .values_list("pk", flat=True)
    )
    for run_id in dead:
        SyncRun.objects.filter(pk=run_id, status=SyncRun.Status.RUNNING).update(status=SyncRun.Status.QUEUED, queued_at=now)
    forgotten = list(
        SyncRun.objects.filter(
            status=SyncRun.Status.QUEUED, queued_at__lt=now - timedelta(seconds=tasks.STALE_QUEUED_SECONDS)
        ).values_list("pk", flat=True)
    )
    for run_id in dead + forgotten:
        tasks.enqueue_run(run_id)
    orphan_inbox = 0
    waiting = (
        InboxItem.objects.filter(status=InboxItem.Status.PENDING, received_at__lt=now - timedelta(seconds=5))
        .values_list("integration_id", flat=True)
        .distinct()
    )
    from mappings.models import Integration

    for integration in Integration.objects.filter(pk__in=list(waiting), enabled=True):
        if not SyncRun.objects.filter(integration=integration, status__in=SyncRun.ACTIVE).exists():
            with transaction.atomic():
                request_run(integration, None, trigger="webhook")
            orphan_inbox += 1
    return {"dead_runs": len(dead), "requeued": len(forgotten), "inbox_runs": orphan_inbox}
