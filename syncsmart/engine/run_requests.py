"""Asking for runs: request (from a schedule, a webhook, a person), retry one record, cancel,
and what switching an integration off does to its queued runs. Each request is a row first;
the broker hears of it only after the transaction commits (`queue.enqueue_after_commit`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from mappings.models import Integration, ObjectMapping
from syncsmart.engine import queue, states
from syncsmart.models import DeferredRecord, RecordEvent, SyncRun
from tenants.access import tenant_block_reason
from tenants.actions import audit


@transaction.atomic
def request_run(
    integration: Integration,
    actor=None,
    *,
    trigger: str = "manual",
    object_mapping: ObjectMapping | None = None,
    records: Iterable[dict[str, Any]] | None = None,
) -> SyncRun:
    """Queue a run. An identical run already waiting is reused instead of piling up another.

    `records` limits the run to given records: [{"mapping": id, "side": "hubspot", "id": "123"}]."""
    if not integration.enabled and trigger not in ("manual", "retry", "historical"):
        raise ValidationError("The integration is switched off.")
    if (blocked := tenant_block_reason(integration.tenant)) and trigger in ("schedule", "webhook"):
        raise ValidationError(blocked)  # a run asked for in person is refused when it would start
    state: dict[str, Any] = {"records": list(records)} if records else {}
    waiting = SyncRun.objects.filter(
        integration=integration, status=SyncRun.Status.QUEUED, trigger=trigger, object_mapping=object_mapping
    ).order_by("queued_at")
    if not state and trigger in ("schedule", "manual") and (existing := waiting.first()) is not None:
        return existing
    if trigger == "webhook":
        # Any run about to start drains the whole inbox first; one waiting is enough.
        soon = SyncRun.objects.filter(integration=integration, status=SyncRun.Status.QUEUED, queued_at__lte=timezone.now())
        if (existing := soon.order_by("queued_at").first()) is not None:
            return existing
    run = SyncRun.objects.create(
        integration=integration,
        trigger=trigger,
        object_mapping=object_mapping,
        state=state,
        requested_by=actor if getattr(actor, "pk", None) else None,
    )
    if trigger in ("manual", "retry") and actor is not None:
        audit(
            integration.tenant,
            actor,
            f"run.{trigger}_requested",
            integration,
            summary=f"{run.get_trigger_display()} run requested for {integration}",
            run=str(run.pk),
        )
    queue.enqueue_after_commit(run.pk)
    return run


@transaction.atomic
def retry_record(item: RecordEvent | DeferredRecord, actor) -> SyncRun:
    """Retry one record (a failed / deferred RecordEvent, or a DeferredRecord) now."""
    if isinstance(item, DeferredRecord):
        mapping_id, side, record_id, integration = item.object_mapping_id, item.source_side, item.record_id, item.integration
        DeferredRecord.objects.filter(pk=item.pk).update(next_attempt_at=timezone.now(), attempts=0)
    elif isinstance(item, RecordEvent):
        if not item.object_mapping_id or not item.source_id:
            raise ValidationError("This event is not about one record, so there is nothing to retry.")
        mapping_id, side, record_id, integration = item.object_mapping_id, item.source_side, item.source_id, item.integration
    else:
        raise TypeError("retry_record takes a RecordEvent or a DeferredRecord")
    return request_run(integration, actor, trigger="retry", records=[{"mapping": mapping_id, "side": side, "id": record_id}])


@transaction.atomic
def cancel_run(run: SyncRun, actor) -> SyncRun:
    """Stop a queued or running run (a historical sync, typically) after its current page."""
    run = SyncRun.objects.select_for_update().get(pk=run.pk)
    if not run.is_active:
        return run
    states.cancel(run)
    audit(
        run.integration.tenant,
        actor,
        "run.cancelled",
        run.integration,
        summary=f"{run.get_trigger_display()} run cancelled",
        run=str(run.pk),
    )
    return run


def cancel_queued_runs(integration: Integration, reason: str) -> int:
    """Cancel every run of the integration still waiting in the queue (it was switched off)."""
    return states.move_all(
        SyncRun.objects.filter(integration=integration),
        SyncRun.Status.QUEUED,
        SyncRun.Status.CANCELLED,
        finished_at=timezone.now(),
        error=reason,
    )
