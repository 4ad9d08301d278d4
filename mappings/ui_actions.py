"""Named actions the customer UI needs on top of mappings.actions (which stays the one place
integration state changes; these compose its actions and audit like them)."""

from __future__ import annotations

from datetime import date, datetime, time

from django.db import transaction
from django.utils import timezone

from mappings import actions
from mappings.models import Integration, ObjectMapping
from tenants.actions import audit


@transaction.atomic
def start_historical_sync(integration: Integration, actor, *, since: date | None = None,
                          object_mapping: ObjectMapping | None = None):
    """Start a historical sync of all records, or of records changed since a date.

    The date rides on the run's state (``state["since"]``, ISO datetime at midnight UTC) which
    the run reads before its first page; it is set inside the same transaction that creates
    the run, before the run is handed to a worker on commit."""
    run = actions.start_historical_sync(integration, actor, object_mapping=object_mapping)
    if since is not None and run.progress_done == 0 and not run.state.get("since"):
        start = timezone.make_aware(datetime.combine(since, time.min), timezone.get_current_timezone())
        run.state = {**run.state, "since": start.isoformat()}
        run.save(update_fields=["state"])
        audit(integration.tenant, actor, "run.historical_since", integration,
              summary=f"Historical sync limited to records changed since {since.isoformat()}", run=str(run.pk),
              since=since.isoformat())
    return run
