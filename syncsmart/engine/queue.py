"""Handing runs to django-q2, and the schedules that request them.

The broker only carries run ids. The rows (SyncRun, InboxItem, DeferredRecord) say what work
exists, so losing a broker message (Redis has no delivery receipts; a worker can be SIGKILLed)
loses nothing: the sweep (`syncsmart.engine.sweep`) finds queued runs nobody picked up and
running runs whose lease expired, and queues them again. The task functions the broker calls
live in `syncsmart.engine.tasks`, named here by their dotted paths.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.models import Schedule
from django_q.tasks import async_task

from mappings.models import Integration
from syncsmart.engine.config import engine_settings

EXECUTE_RUN_TASK = "syncsmart.engine.tasks.execute_run"
SCHEDULED_RUN_TASK = "syncsmart.engine.tasks.scheduled_run"
SWEEP_TASK = "syncsmart.engine.tasks.sweep"
SWEEP_SCHEDULE_NAME = "syncsmart-sweep"
SWEEP_EVERY_MINUTES = 1
# A queued run nobody started within this long lost its broker message.
STALE_QUEUED_SECONDS = 60


def enqueue_run(run_id: Any) -> None:
    """Hand a run id to the broker. Call through transaction.on_commit (`enqueue_after_commit`).
    Inline (SYNC_RUN_INLINE), the task the broker would call runs here, by the same path."""
    if engine_settings().run_inline:
        import_string(EXECUTE_RUN_TASK)(str(run_id))
        return
    async_task(EXECUTE_RUN_TASK, str(run_id), task_name=f"sync-run-{run_id}", q_options={"ack_failure": True})


def enqueue_after_commit(run_id: Any) -> None:
    """Queue the run once the transaction that created (or re-queued) it commits: a worker must
    never pick up a run row that does not exist yet."""
    transaction.on_commit(lambda: enqueue_run(run_id))


def sync_schedule(integration_id: int) -> None:
    """One django-q2 schedule per enabled integration; none for a disabled or deleted one."""
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
            func=SCHEDULED_RUN_TASK,
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


def sync_schedule_after_commit(integration: Integration) -> None:
    transaction.on_commit(lambda: sync_schedule(integration.pk))


def ensure_sweep_schedule() -> None:
    Schedule.objects.get_or_create(
        name=SWEEP_SCHEDULE_NAME,
        defaults=dict(func=SWEEP_TASK, schedule_type=Schedule.MINUTES, minutes=SWEEP_EVERY_MINUTES, repeats=-1),
    )


@receiver(post_delete, sender=Integration)
def _remove_schedule(sender, instance: Integration, **kwargs) -> None:
    """An integration's django-q2 schedule goes with it, however it is deleted."""
    Schedule.objects.filter(name=instance.schedule_name).delete()
