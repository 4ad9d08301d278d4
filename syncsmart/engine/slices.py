"""One slice of a run: take the lease, work until the run is done or its slice ends, then
finish it or put it back in the queue. A slice ends after any page when its time is up and
another run waits for a worker, so no tenant starves another."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from connectors import quota
from connectors.base import ConnectorError, ErrorKind
from syncsmart.engine import queue, states, webhook_registration
from syncsmart.engine.config import engine_settings
from syncsmart.engine.context import RunContext
from syncsmart.engine.control import LeaseLost, RunCancelled, RunHints, RunSignals, WorkspaceBlocked
from syncsmart.engine.lease import Lease, keep_waiting, worker_label
from syncsmart.engine.matching import MATCH_INDEXES
from syncsmart.engine.run import Engine
from syncsmart.logging import log_ids
from syncsmart.models import DeferredRecord, InboxItem, PendingDeletion, SyncRun
from tenants.access import status_block_reason, tenant_block_reason

log = logging.getLogger("syncsmart.engine")

RETRY_DELAY_SECONDS = 30
RETRY_ATTEMPTS = 5
# A slice nobody waits for may go on past its budget, up to this many budgets.
SLICE_OVERRUN_BUDGETS = 3
# How a run ends that the workspace's suspension stopped between two pages.
SUSPENDED_MID_RUN = "Stopped: the workspace was suspended while this run worked; it wrote nothing after that."


def slice_seconds() -> float:
    """How long one slice of a run may work before it goes back to the queue."""
    return engine_settings().slice_seconds


def run_slice(run_id: str, *, connectors: dict | None = None, max_seconds: float | None = None) -> dict[str, Any]:
    """Execute a run until it finishes or its slice ends. Safe to call twice for one run."""
    run = load_run(run_id)
    if run is None or run.status in SyncRun.FINISHED:
        return {"skipped": "finished"}
    with log_ids(tenant=run.integration.tenant_id, integration=run.integration_id, run=run.pk):
        return _run_slice(run, connectors, max_seconds)


def load_run(run_id: str) -> SyncRun | None:
    """The run's one state read: the run, its integration and both connections, and whether
    anything waits besides the change feeds (webhook notifications, due deferred records, queued
    deletions, a due webhook-registration check), so an idle run asks nothing more about them."""
    integration = OuterRef("integration_id")
    now = timezone.now()
    deferred = DeferredRecord.objects.filter(
        integration_id=integration, next_attempt_at__lte=now, attempts__lt=DeferredRecord.MAX_ATTEMPTS
    )
    deletions = PendingDeletion.objects.filter(
        integration_id=integration, status__in=(PendingDeletion.Status.PENDING, PendingDeletion.Status.CONFIRMED)
    )
    run = (
        SyncRun.objects.select_related("integration__tenant", "integration__hubspot_connection", "integration__other_connection")
        .annotate(
            hint_inbox=Exists(InboxItem.objects.filter(integration_id=integration, status=InboxItem.Status.PENDING)),
            hint_deferred=Exists(deferred),
            hint_deletions=Exists(deletions),
            hint_webhooks=Exists(webhook_registration.check_due_rows().filter(integration_id=integration)),
        )
        .filter(pk=run_id)
        .first()
    )
    if run is not None:
        run.hints = RunHints(run.hint_inbox, run.hint_deferred, run.hint_deletions, run.hint_webhooks)
    return run


def _run_slice(run: SyncRun, connectors: dict | None, max_seconds: float | None) -> dict[str, Any]:
    integration = run.integration
    if not integration.enabled and run.trigger in (SyncRun.Trigger.SCHEDULE, SyncRun.Trigger.WEBHOOK):
        states.finish(run, SyncRun.Status.CANCELLED, "The integration is switched off.")
        return {"skipped": "switched off"}
    lease = Lease(integration.pk, f"{run.pk}:{uuid.uuid4().hex[:12]}")
    if not lease.acquire():
        return {"skipped": "another run of this integration is active"}
    blocked = tenant_block_reason(integration.tenant)
    if blocked:
        return _refuse_blocked(run, lease, blocked)
    # Low priority: historical resyncs and previews (a dry run of a copy, preview_of) stop where a
    # vendor account's daily budget keeps its reserve for live changes (docs/operations.md).
    low_priority = run.trigger == SyncRun.Trigger.HISTORICAL or bool(integration.preview_of_id)
    if low_priority and (budget_note := budget_reserve_reached(integration)):
        return _pause_for_budget(run, lease, budget_note)
    started = time.monotonic()
    budget = slice_seconds() if max_seconds is None else max_seconds
    ctx = None
    try:
        states.mark_running(run, worker_label())
        ctx = RunContext(integration, run, connectors=connectors)
        engine = _engine_for(run, ctx, lease, low_priority, out_of=(started, budget))
        try:
            done = engine.execute()
        finally:
            run.state = engine.saved_state()
            run.counts = dict(ctx.counts)
        _after_slice(run, done, low_priority)
    except RunCancelled:
        states.finish(run, SyncRun.Status.CANCELLED, "Cancelled on request.")
    except WorkspaceBlocked as exc:
        states.finish(run, SyncRun.Status.CANCELLED, f"{SUSPENDED_MID_RUN} {exc}")
    except LeaseLost as exc:
        log.warning("run %s: %s", run.pk, exc)
        return {"skipped": "lease lost"}
    except ConnectorError as exc:
        _connector_failed(run, exc)
    except Exception as exc:  # noqa: BLE001 - a run records every failure it did not expect
        log.exception("run %s failed", run.pk)
        states.finish(run, SyncRun.Status.FAILED, f"{exc.__class__.__name__}: {exc}")
    finally:
        if ctx is not None and connectors is None:
            ctx.close()
        if run.status in SyncRun.FINISHED:
            MATCH_INDEXES.forget_run(run.pk)  # kept for the run's next slice only
        if lease.release():
            _kick_next(integration.pk, run.pk)
    return {"status": run.status, "counts": run.counts}


def _engine_for(run: SyncRun, ctx: RunContext, lease: Lease, low_priority: bool, out_of: tuple[float, float]) -> Engine:
    """The engine for one slice: out of time when the slice's seconds (`out_of`: started, budget)
    are spent or, for low-priority work, when a vendor account's budget reserve is reached."""
    started, budget = out_of
    integration = run.integration
    return Engine(
        ctx,
        historical=run.trigger == SyncRun.Trigger.HISTORICAL,
        renew=lease.renew,
        out_of_time=lambda: (
            _slice_over(run, time.monotonic() - started, budget)
            or (low_priority and budget_reserve_reached(integration) is not None)
        ),
        poll=lambda: poll(run),
        hints=getattr(run, "hints", None),
    )


def _after_slice(run: SyncRun, done: bool, low_priority: bool) -> None:
    """Finish a run whose work is done; else queue its next slice (later when paused for the budget)."""
    integration = run.integration
    if done:
        status = SyncRun.Status.PARTIAL if run.counts.get("failed") else SyncRun.Status.SUCCEEDED
        states.finish(run, status, "")
        _connections_work(integration)
    elif low_priority and (budget_note := budget_reserve_reached(integration)):
        _requeue(run, budget_note, delay=settings.QUOTA_PAUSE_MINUTES * 60)
    else:
        _requeue(run, "Slice ended; continuing after other work.")


def budget_reserve_reached(integration) -> str | None:
    """Low-priority work (a historical resync) stops where either side's vendor account's daily
    budget keeps its reserve for live traffic (connectors/quota.py, each connector's policy);
    webhook and scheduled runs go on."""
    for connection in (integration.hubspot_connection, integration.other_connection):
        budget = quota.budget_of(connection)
        if budget is not None and budget.low_priority_paused:
            return (
                f"Paused: {budget.used:,} of today's {budget.budget:,}-call {budget.vendor} budget used; the rest is kept "
                f"for live changes. Looks again in {settings.QUOTA_PAUSE_MINUTES:g} minutes (the budget returns at "
                "midnight UTC)."
            )
    return None


def _pause_for_budget(run: SyncRun, lease: Lease, note: str) -> dict[str, Any]:
    """Back to the queue, delayed, before any vendor call; the lease goes to the next run (webhooks)."""
    try:
        states.postpone(run, note, delay=settings.QUOTA_PAUSE_MINUTES * 60)
    finally:
        if lease.release():
            _kick_next(run.integration_id, run.pk)
    return {"skipped": "budget reserve"}


def _refuse_blocked(run: SyncRun, lease: Lease, reason: str) -> dict[str, Any]:
    """The run's workspace may not be used (suspended after the run was queued, or between two
    slices): it ends here, before any vendor call, cancelled with the reason in its error and log.
    Checked under the lease, so no other slice of the run is working meanwhile."""
    try:
        states.finish(run, SyncRun.Status.CANCELLED, f"Not run: {reason}")
    finally:
        if lease.release():
            _kick_next(run.integration_id, run.pk)
    return {"skipped": "workspace blocked"}


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


def poll(run: SyncRun) -> RunSignals:
    """What the world asks of a running run, in one query: was it cancelled, was its workspace
    suspended (it stops before the next page, see Engine._check), do webhook notifications wait
    in the inbox, and does another tenant's run wait for a worker.

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
        .values_list("cancel_requested", "inbox_waiting", "others_waiting", "integration__tenant__status")
        .first()
    )
    if row is None:  # the run was deleted under us: stop as if cancelled
        return RunSignals(cancelled=True)
    return RunSignals(cancelled=row[0], inbox_waiting=row[1], others_waiting=row[2], blocked=status_block_reason(row[3]))


def _requeue(run: SyncRun, note: str, delay: float = 0) -> None:
    states.requeue(run, note, delay)
    if not delay:
        queue.enqueue_after_commit(run.pk)


def _connector_failed(run: SyncRun, exc: ConnectorError) -> None:
    """Vendor trouble: retry later with a growing delay; after RETRY_ATTEMPTS, fail the run and
    mark the connection failing."""
    integration = run.integration
    connection = integration.hubspot_connection if getattr(exc, "side", "") == "hubspot" else integration.other_connection
    if exc.retryable:
        attempts = int(run.state.get("retries", 0)) + 1
        run.state["retries"] = attempts
        if attempts <= RETRY_ATTEMPTS:
            _requeue(run, f"Vendor trouble, will retry: {exc.message}", delay=RETRY_DELAY_SECONDS * attempts)
            return
    connection.record_failure(exc.message, reconnect=exc.kind == ErrorKind.AUTH)
    states.finish(run, SyncRun.Status.FAILED, exc.message)


def _connections_work(integration) -> None:
    """A run that got through shows both connections as working again (a failing one recovers by itself)."""
    for connection in (integration.hubspot_connection, integration.other_connection):
        if connection.status != connection.Status.OK:
            connection.record_success()


def _kick_next(integration_id: int, finished_run_id: Any) -> None:
    """A run waiting for this integration's lease may go now (the next after it when this one releases)."""
    waiting = list(
        SyncRun.objects.filter(integration_id=integration_id, status=SyncRun.Status.QUEUED, queued_at__lte=timezone.now())
        .exclude(pk=finished_run_id)
        .order_by("queued_at")
        .values_list("pk", flat=True)[:2]
    )
    if len(waiting) > 1:
        keep_waiting(integration_id)
    if waiting:
        queue.enqueue_after_commit(waiting[0])
