"""The django-q2 task functions, called by the broker by their dotted paths (see `queue`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from mappings.models import Integration
from syncsmart.engine.run_requests import request_run
from syncsmart.engine.slices import run_slice
from syncsmart.engine.sweep import sweep_once
from tenants.access import tenant_block_reason
from tenants.actions import audit
from tenants.models import AuditLog

SKIP_NOTE_EVERY = dt.timedelta(hours=1)


def execute_run(run_id: str) -> dict[str, Any]:
    """Execute (a slice of) one run."""
    return run_slice(run_id)


def scheduled_run(integration_id: int) -> None:
    """An integration's schedule came due. A workspace that may not be used (suspended) runs
    nothing; the skip is an audit row (at most one an hour per integration)."""
    integration = Integration.objects.select_related("tenant").filter(pk=integration_id, enabled=True).first()
    if integration is None:
        return
    reason = tenant_block_reason(integration.tenant)
    if reason:
        _note_skipped(integration, reason)
        return
    with transaction.atomic():
        request_run(integration, None, trigger="schedule")


def _note_skipped(integration: Integration, reason: str) -> None:
    recent = AuditLog.objects.filter(
        tenant=integration.tenant,
        action="sync.skipped",
        target_id=str(integration.pk),
        created_at__gte=timezone.now() - SKIP_NOTE_EVERY,
    )
    if not recent.exists():
        audit(integration.tenant, "system", "sync.skipped", target=integration, summary=f"Scheduled sync skipped: {reason}")


def sweep() -> dict[str, int]:
    """Re-queue what dead workers left behind; retry deferred records that are due."""
    return sweep_once()
