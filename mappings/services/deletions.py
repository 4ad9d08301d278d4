"""Deletions a person decides on: the mass-deletion guard's held rows, confirmed or discarded from
the integration page or the REST API (the engine applies confirmed ones in the next run)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count

from mappings.models import Integration, ObjectMapping
from syncsmart.engine.run_requests import request_run
from syncsmart.models import PendingDeletion
from tenants.actions import audit

HELD = PendingDeletion.Status.HELD


@dataclass(frozen=True)
class HeldGroup:
    mapping: ObjectMapping
    source_side: str
    policy: str
    count: int
    reason: str = PendingDeletion.Reason.DELETED  # or left_list: the record left the mapping's inclusion list


def held_deletions(integration: Integration) -> list[HeldGroup]:
    """What the guard holds, per mapping, direction and policy."""
    rows = (
        PendingDeletion.objects.filter(integration=integration, status=HELD)
        .values("object_mapping", "source_side", "policy", "reason")
        .annotate(count=Count("id"))
        .order_by("object_mapping", "source_side")
    )
    mappings = {m.pk: m for m in integration.object_mappings.all()}
    return [
        HeldGroup(mappings[r["object_mapping"]], r["source_side"], r["policy"], r["count"], r["reason"])
        for r in rows
        if r["object_mapping"] in mappings
    ]


def _held(integration: Integration, object_mapping: ObjectMapping | None):
    rows = PendingDeletion.objects.filter(integration=integration, status=HELD)
    return rows.filter(object_mapping=object_mapping) if object_mapping is not None else rows


@transaction.atomic
def confirm_held_deletions(integration: Integration, actor, object_mapping: ObjectMapping | None = None) -> int:
    """A person says yes: the held deletions are applied by a run queued now."""
    changed = _held(integration, object_mapping).update(
        status=PendingDeletion.Status.CONFIRMED, decided_by=actor if getattr(actor, "pk", None) else None
    )
    if changed:
        audit(
            integration.tenant,
            actor,
            "deletions.confirmed",
            integration,
            summary=f"{changed} held deletions confirmed for {object_mapping or integration}",
            count=changed,
        )
        request_run(integration, actor, trigger="manual")
    return changed


@transaction.atomic
def discard_held_deletions(integration: Integration, actor, object_mapping: ObjectMapping | None = None) -> int:
    """A person says no: nothing is removed; the links stay."""
    changed = _held(integration, object_mapping).update(
        status=PendingDeletion.Status.CANCELLED,
        message="Discarded by a person; nothing removed.",
        decided_by=actor if getattr(actor, "pk", None) else None,
    )
    if changed:
        audit(
            integration.tenant,
            actor,
            "deletions.discarded",
            integration,
            summary=f"{changed} held deletions discarded for {object_mapping or integration}",
            count=changed,
        )
    return changed
