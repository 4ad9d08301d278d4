"""django-q2 tasks: schedules per integration, run execution, and the sweep.

The broker only carries run ids. The rows (SyncRun, InboxItem, DeferredRecord) say what work
exists, so losing a broker message (Redis has no delivery receipts; a worker can be SIGKILLed)
loses nothing: the sweep finds queued runs nobody picked up and running runs whose lease
expired, and queues them again.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

log = logging.getLogger(__name__)

SWEEP_SCHEDULE_NAME = "syncsmart-sweep"
SWEEP_EVERY_MINUTES = 1
# A queued run nobody started within this long lost its broker message.
STALE_QUEUED_SECONDS = 60


def sync_schedule(integration_id: int) -> None:
    """One django-q2 schedule per enabled integration; none for a disabled or deleted one."""
    from django_q.models import Schedule

    from mappings.models import Integration

    name = f"sync-integration-{integration_id}"
    integration = Integration.objects.filter(pk=integration_id).first()
    if integration is None or not integration.enabled:
        Schedule.objects.filter(name=name).delete()
        return
    minutes = max(1, integration.schedule_minutes)
    schedule = Schedule.objects.filter(name=name).first()
    if schedule is None:
        Schedule.objects.create(
            name=name,
            func="syncsmart.tasks.scheduled_run",
            args=repr(integration_id),
            schedule_type=Schedule.MINUTES,
            minutes=minutes,
            repeats=-1,
            next_run=timezone.now() + timedelta(minutes=minutes),
        )
    elif schedule.minutes != minutes:
        schedule.minutes = minutes
        schedule.next_run = min(schedule.next_run, timezone.now() + timedelta(minutes=minutes))
        schedule.save(update_fields=["minutes", "next_run"])


def ensure_sweep_schedule() -> None:
    from django_q.models import Schedule

    Schedule.objects.get_or_create(
        name=SWEEP_SCHEDULE_NAME,
        defaults=dict(func="syncsmart.tasks.sweep", schedule_type=Schedule.MINUTES, minutes=SWEEP_EVERY_MINUTES, repeats=-1),
    )


def enqueue_run(run_id: Any) -> None:
    """Hand a run id to the broker. Call through transaction.on_commit."""
    from django_q.tasks import async_task

    if getattr(settings, "SYNC_RUN_INLINE", False):
        execute_run(str(run_id))
        return
    async_task("syncsmart.tasks.execute_run", str(run_id), task_name=f"sync-run-{run_id}", q_options={"ack_failure": True})


def execute_run(run_id: str) -> dict[str, Any]:
    """The q2 task: execute (a slice of) one run."""
    from syncsmart.engine.jobs import run_slice

    return run_slice(run_id)


def scheduled_run(integration_id: int) -> None:
    from mappings.actions import request_run
    from mappings.models import Integration

    integration = Integration.objects.filter(pk=integration_id, enabled=True).first()
    if integration is not None:
        with transaction.atomic():
            request_run(integration, None, trigger="schedule")


def sweep() -> dict[str, int]:
    """Re-queue what dead workers left behind; retry deferred records that are due."""
    from syncsmart.engine.jobs import sweep_once

    return sweep_once()
