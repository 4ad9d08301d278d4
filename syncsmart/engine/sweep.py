"""The sweep (a django-q2 schedule, every minute): re-queue what the broker lost — runs a dead
worker held, queued runs nobody started, webhook notifications no run picked up."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from mappings.models import Integration
from syncsmart.engine import queue, states
from syncsmart.engine.lease import lease_seconds
from syncsmart.engine.run_requests import request_run
from syncsmart.models import InboxItem, SyncRun
from tenants.access import tenant_block_reason

# Webhook notifications older than this with no run to take them get one.
ORPHAN_INBOX_SECONDS = 5


def sweep_once() -> dict[str, int]:
    now = timezone.now()
    dead = _requeue_dead_runs(now)
    forgotten = list(
        SyncRun.objects.filter(
            status=SyncRun.Status.QUEUED, queued_at__lt=now - timedelta(seconds=queue.STALE_QUEUED_SECONDS)
        ).values_list("pk", flat=True)
    )
    for run_id in dead + forgotten:
        queue.enqueue_run(run_id)
    return {"dead_runs": len(dead), "requeued": len(forgotten), "inbox_runs": _run_orphan_inbox(now)}


def _requeue_dead_runs(now) -> list:
    """Running runs whose heartbeat is older than a lease: their worker died."""
    stale = now - timedelta(seconds=lease_seconds())
    dead = list(
        SyncRun.objects.filter(status=SyncRun.Status.RUNNING)
        .filter(Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, started_at__lt=stale))
        .values_list("pk", flat=True)
    )
    for run_id in dead:
        states.move_all(SyncRun.objects.filter(pk=run_id), SyncRun.Status.RUNNING, SyncRun.Status.QUEUED, queued_at=now)
    return dead


def _run_orphan_inbox(now) -> int:
    waiting = (
        InboxItem.objects.filter(status=InboxItem.Status.PENDING, received_at__lt=now - timedelta(seconds=ORPHAN_INBOX_SECONDS))
        .values_list("integration_id", flat=True)
        .distinct()
    )
    started = 0
    for integration in Integration.objects.select_related("tenant").filter(pk__in=list(waiting), enabled=True):
        if tenant_block_reason(integration.tenant):
            continue  # a suspended workspace syncs nothing; the notifications wait for reactivation
        if not SyncRun.objects.filter(integration=integration, status__in=SyncRun.ACTIVE).exists():
            with transaction.atomic():
                request_run(integration, None, trigger="webhook")
            started += 1
    return started
