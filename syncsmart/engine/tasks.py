"""The django-q2 task functions, called by the broker by their dotted paths (see `queue`)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from mappings.models import Integration
from syncsmart.engine.run_requests import request_run
from syncsmart.engine.slices import run_slice
from syncsmart.engine.sweep import sweep_once


def execute_run(run_id: str) -> dict[str, Any]:
    """Execute (a slice of) one run."""
    return run_slice(run_id)


def scheduled_run(integration_id: int) -> None:
    """An integration's schedule came due."""
    integration = Integration.objects.filter(pk=integration_id, enabled=True).first()
    if integration is not None:
        with transaction.atomic():
            request_run(integration, None, trigger="schedule")


def sweep() -> dict[str, int]:
    """Re-queue what dead workers left behind; retry deferred records that are due."""
    return sweep_once()
