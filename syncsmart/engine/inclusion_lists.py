"""Inclusion lists: HubSpot lists (static or active) in the filter of a mapping's HubSpot →
other flow ("only contacts in this list sync", seed 002).

Being in a list is not a property: adding a contact to a list does not change the contact, so
HubSpot's change feed never shows it. So, once per scheduled or manual run, for each flow whose
filter names lists, each list's members are read (once per run; the gate tests the same set)
and compared with the members the previous run saw (a LISTS cursor):

- joined: members now that were not then are read and synced like any changed record (the
  gate lets them through now);
- left: linked records that were members then and are not now are read; those the filter now
  stops have left. Each is an event ("Left the HubSpot list ...") saying what the mapping's
  delete policy does with the linked record: ignore keeps it and the link; archive / delete
  queue a PendingDeletion (reason left_list), confirmed against the list's members again and
  counted by the mass-deletion guard like any deletion (syncsmart/engine/deletions.py).

The first run after a list condition is saved has no previous members: members not linked yet
are read (joined), and no one is judged to have left — a record never seen in the list did not
leave it. A failed membership read raises before anything is judged (the run retries).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from connectors.base import Record
from mappings import filters
from mappings.models import ObjectMapping
from syncsmart.core.choices import Side
from syncsmart.engine.context import RunContext
from syncsmart.engine.deletions import consequence, noticed, save_noticed
from syncsmart.engine.flow.gate import Gate
from syncsmart.models import PendingDeletion, RecordEvent, RecordLink, SyncCursor

P = ObjectMapping.DeletePolicy


@dataclass
class Changes:
    mapping: ObjectMapping
    cursor: SyncCursor
    members: dict[str, frozenset[str]]
    joined: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)

    def snapshot(self) -> dict:
        return {"members": {list_id: sorted(ids, key=_id_order) for list_id, ids in self.members.items()}}


def _id_order(record_id: str) -> tuple[int, str]:
    return (int(record_id), "") if record_id.isdigit() else (0, record_id)


def lists_of(mapping: ObjectMapping) -> dict[str, str]:
    return filters.lists_used(mapping.filter_to_other or {})


def changes(ctx: RunContext, mapping: ObjectMapping) -> Changes:
    """Who joined and who left the mapping's lists since the last run (reads each list once)."""
    cursor, _ = SyncCursor.objects.get_or_create(
        integration=ctx.integration, object_mapping=mapping, side=Side.HUBSPOT, kind=SyncCursor.Kind.LISTS
    )
    before = (cursor.cursor or {}).get("members") or {}
    members = {list_id: ctx.list_members(list_id) for list_id in lists_of(mapping)}
    linked = set(RecordLink.objects.filter(object_mapping=mapping).values_list("hubspot_id", flat=True))
    joined: set[str] = set()
    left: set[str] = set()
    for list_id, now in members.items():
        if list_id not in before:
            joined |= now - linked
            continue
        was = set(before[list_id])
        joined |= now - was
        left |= (was - now) & linked
    return Changes(mapping, cursor, members, sorted(joined, key=_id_order), sorted(left - joined, key=_id_order))


def record_left(ctx: RunContext, gate: Gate, result: Changes, records: list[Record]) -> int:
    """Linked records that left: those the filter now stops get an event and, unless the mapping
    ignores deletions toward the other side, a queued removal. Saved with the new snapshot."""
    mapping = result.mapping
    stopped = {str(r.id): reason for r in records if (reason := gate.reason_to_skip(r))}
    links = list(RecordLink.objects.filter(object_mapping=mapping, hubspot_id__in=list(stopped)))
    names = ", ".join(f"“{name}”" for name in lists_of(mapping).values())
    policy = mapping.delete_policy_to(Side.OTHER)
    kept = " The link stays: a later change syncs again once it is back in the list." if policy == P.IGNORE else ""
    message = f"Left the HubSpot list {names}; {consequence(ctx, mapping, Side.HUBSPOT)}.{kept}"
    now = timezone.now()
    events = [
        RecordEvent(
            object_mapping=mapping,
            source_side=Side.HUBSPOT,
            source_object=mapping.hubspot_object,
            source_id=link.hubspot_id,
            target_id=link.other_id,
            outcome=RecordEvent.Outcome.LEFT_LIST,
            message=message,
            created_at=now,
        )
        for link in links
    ]
    rows = noticed(ctx, mapping, Side.HUBSPOT, links, reason=PendingDeletion.Reason.LEFT_LIST)
    with transaction.atomic():
        save_noticed(rows)
        ctx.save_events(events)
        save_snapshot(result)
    return len(links)


def save_snapshot(result: Changes) -> None:
    result.cursor.cursor = result.snapshot()
    result.cursor.save(update_fields=["cursor", "updated_at"])
