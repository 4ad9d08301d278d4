"""Deletions, safety first (nango#1132: missed deletes, and false deletions after a read that
failed part-way, are where sync products lose their customers' data).

A deletion travels in three steps, each leaving a trace:

1. Noticed: a linked record comes back deleted (a deletion webhook, Dynamics change tracking's
   `$deletedEntity`, the reconcile of linked ids every SYNC_RECONCILE_MINUTES against HubSpot's
   archived list, ConnectWise's ids — ConnectWise lists never show deleted records — and NetSuite's
   SuiteQL DeletedRecord table). It is an event first — "Deleted in
   HubSpot" with what the mapping's policy will do — and, unless the policy is to ignore
   deletions, a `PendingDeletion` row, saved with the page's checkpoint.
2. Confirmed: before anything is removed the source system is asked again, with a complete
   answer (`connectors.lifecycle`: HubSpot's archived list, ConnectWise / Dataverse by id). A
   failing or partial read raises and removes nothing; a record that exists again (restored,
   or merged into a survivor) is dropped from the queue.
3. Applied — unless too many: when a run would remove more than the guard allows (the smaller of
   SYNC_DELETE_GUARD_COUNT, default 50, and SYNC_DELETE_GUARD_PERCENT of the mapping's links,
   default 5 %, but never fewer than SYNC_DELETE_GUARD_MIN, default 5), the rows are held until a
   person confirms them on the integration page; then they are applied by the next run. The policy of
   the mapping and direction decides: archive (HubSpot archive, ConnectWise inactive, Dynamics
   deactivated; the link stays, so a restore re-links) or delete (the link goes with the record).
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from connectors.base import ConnectorError
from connectors.lifecycle import lifecycle_for
from mappings import filters
from mappings.models import ObjectMapping
from syncsmart.core.choices import Side, other_side
from syncsmart.engine.config import engine_settings
from syncsmart.engine.context import RunContext, mapping_flows
from syncsmart.models import PendingDeletion, RecordEvent, RecordLink, SyncCursor

log = logging.getLogger("syncsmart.engine.deletions")
Outcome = RecordEvent.Outcome
P = ObjectMapping.DeletePolicy
R = PendingDeletion.Reason
SYSTEM_LABELS = {"hubspot": "HubSpot", "connectwise": "ConnectWise", "dynamics": "Dynamics 365", "netsuite": "NetSuite"}


def label(ctx: RunContext, side: str) -> str:
    system = ctx.integration.connection_on(side).system
    return SYSTEM_LABELS.get(system, system.title())


def consequence(ctx: RunContext, mapping: ObjectMapping, source: str) -> str:
    """What the policy does on the other side, in words (the event and the mapping editor say it)."""
    target = other_side(source)
    policy = mapping.delete_policy_to(target)
    where = label(ctx, target)
    return {
        P.IGNORE: f"kept in {where} (this mapping does not sync deletions)",
        P.ARCHIVE: f"to be archived in {where}",
        P.DELETE: f"to be deleted in {where}",
    }[policy]


def noticed(
    ctx: RunContext, mapping: ObjectMapping, source: str, links: Iterable[RecordLink], reason: str = R.DELETED
) -> list[PendingDeletion]:
    """Rows to save with the page's checkpoint for linked records found deleted in `source`, or
    that left the mapping's inclusion list (`reason`); none when the mapping ignores deletions this way."""
    target = other_side(source)
    policy = mapping.delete_policy_to(target)
    links = list(links)
    if policy == P.IGNORE or not links:
        return []
    handled = _handled(mapping, source, {link.id_on(source): link for link in links})
    ctx.deletions_noticed = True
    return [
        PendingDeletion(
            integration=ctx.integration,
            object_mapping=mapping,
            source_side=source,
            source_id=link.id_on(source),
            target_id=link.id_on(target),
            policy=policy,
            reason=reason,
            run=ctx.run,
        )
        for link in links
        if link.id_on(source) not in handled
    ]


def noticed_message(ctx: RunContext, mapping: ObjectMapping, source: str) -> str:
    return f"Deleted in {label(ctx, source)}; {consequence(ctx, mapping, source)}."


def save_noticed(rows: list[PendingDeletion]) -> None:
    """Once per record: a deletion noticed again (a webhook and the reconcile) is not queued twice."""
    if rows:
        PendingDeletion.objects.bulk_create(rows, ignore_conflicts=True)


# --- the reconcile ---------------------------------------------------------------------------------
# Systems whose change feed reports deletions itself (Dataverse change tracking) need no reconcile.
FEEDS_REPORT_DELETIONS = {"dynamics"}


def reconcile_due(ctx: RunContext) -> None:
    """Every SYNC_RECONCILE_MINUTES per flow that syncs deletions: ask the source which linked
    records are gone (a complete answer or nothing) and queue them like any noticed deletion."""
    every = timedelta(minutes=engine_settings().reconcile_minutes)
    now = timezone.now()
    for mapping in ctx.mappings:
        for source in (Side.HUBSPOT, Side.OTHER):
            target = other_side(source)
            if target not in mapping_flows(mapping) or mapping.delete_policy_to(target) == P.IGNORE:
                continue
            if ctx.integration.connection_on(source).system in FEEDS_REPORT_DELETIONS:
                continue
            cursor, _ = SyncCursor.objects.get_or_create(
                integration=ctx.integration, object_mapping=mapping, side=source, kind=SyncCursor.Kind.RECONCILE
            )
            last = (cursor.cursor or {}).get("at")
            if last and now - datetime.fromisoformat(last) < every:
                continue
            try:
                _reconcile(ctx, mapping, source)
            except ConnectorError as exc:
                log.info("reconcile of %s (%s) skipped: %s", mapping, source, exc.message)
                continue  # nothing is judged on a failed read; the next run tries again
            cursor.cursor = {"at": now.isoformat()}
            cursor.save(update_fields=["cursor", "updated_at"])


def _reconcile(ctx: RunContext, mapping: ObjectMapping, source: str) -> None:
    column = RecordLink.id_column(source)
    links = {link.id_on(source): link for link in RecordLink.objects.filter(object_mapping=mapping)}
    handled = _handled(mapping, source, links)
    wanted = [i for i in links if i not in handled]
    if not wanted:
        return
    gone = lifecycle_for(ctx.connector(source)).gone(mapping.object_for(source), wanted)
    if not gone:
        return
    found = [links[i] for i in sorted(gone)]
    with transaction.atomic():
        save_noticed(noticed(ctx, mapping, source, found))
        ctx.save_events([_noticed_event(ctx, mapping, source, link) for link in found])
    log.info("reconcile of %s (%s): %d linked records gone (%s)", mapping, source, len(found), column)


def _handled(mapping: ObjectMapping, source: str, links: dict[str, RecordLink]) -> set[str]:
    """Ids not to notice again: queued, or decided (applied, discarded) since the link last changed
    — an archived counterpart keeps its link, and its source stays deleted."""
    handled = set()
    rows = PendingDeletion.objects.filter(object_mapping=mapping, source_side=source, source_id__in=list(links)).exclude(
        status=PendingDeletion.Status.FAILED
    )
    for source_id, status, noticed_at in rows.values_list("source_id", "status", "noticed_at"):
        link = links.get(source_id)
        if status in PendingDeletion.OPEN or (link is not None and noticed_at >= link.updated_at):
            handled.add(source_id)
    return handled


def _noticed_event(ctx: RunContext, mapping: ObjectMapping, source: str, link: RecordLink) -> RecordEvent:
    return RecordEvent(
        run=ctx.run,
        integration=ctx.integration,
        object_mapping=mapping,
        source_side=source,
        source_object=mapping.object_for(source),
        source_id=link.id_on(source),
        target_id=link.id_on(other_side(source)),
        outcome=Outcome.DELETED,
        message=noticed_message(ctx, mapping, source),
        created_at=timezone.now(),
    )


# --- the guard -------------------------------------------------------------------------------------
def guard_limit(link_count: int) -> int:
    """How many deletions one run may apply to one mapping and direction without a person."""
    config = engine_settings()
    by_share = math.floor(link_count * config.delete_guard_percent / 100)
    return max(config.delete_guard_min, min(config.delete_guard_count, by_share))


# --- applying ----------------------------------------------------------------------------------------
def apply_pending(ctx: RunContext) -> int:
    """Confirm and apply the queued deletions of this integration (held ones wait); returns how
    many were applied. A vendor failure leaves the rest queued for the next run."""
    rows = list(
        PendingDeletion.objects.filter(
            integration=ctx.integration, status__in=(PendingDeletion.Status.PENDING, PendingDeletion.Status.CONFIRMED)
        ).select_related("object_mapping")
    )
    groups: dict[tuple[int, str], list[PendingDeletion]] = defaultdict(list)
    for row in rows:
        groups[(row.object_mapping_id, row.source_side)].append(row)
    applied = 0
    for (_, source), group in groups.items():
        mapping = group[0].object_mapping
        try:
            applied += _apply_group(ctx, mapping, source, group)
        except ConnectorError as exc:
            log.info("deletions of %s left queued: %s", mapping, exc.message)
            ctx.counts["deletions_waiting"] += len(group)
    return applied


def _apply_group(ctx: RunContext, mapping: ObjectMapping, source: str, group: list[PendingDeletion]) -> int:
    group = _past_the_guard(ctx, mapping, source, group)
    if group is None:
        return 0
    # Step 2: the source is asked again, completely; anything it still has (or that is back in
    # the inclusion list) is not removed.
    gone = _confirmed(ctx, mapping, source, group)
    back = [r for r in group if r.source_id not in gone]
    doomed = [r for r in group if r.source_id in gone]
    results = _remove(ctx, mapping, other_side(source), doomed)
    _record(ctx, mapping, source, back, doomed, results)
    return sum(1 for r in doomed if results.get(r.target_id) is not None and results[r.target_id].ok)


def _confirmed(ctx: RunContext, mapping: ObjectMapping, source: str, group: list[PendingDeletion]) -> set[str]:
    deleted = [r.source_id for r in group if r.reason != R.LEFT_LIST]
    left = [r.source_id for r in group if r.reason == R.LEFT_LIST]
    gone = lifecycle_for(ctx.connector(source)).gone(mapping.object_for(source), deleted) if deleted else set()
    return gone | (out_of_lists(ctx, mapping, left) if left else set())


def out_of_lists(ctx: RunContext, mapping: ObjectMapping, ids: Iterable[str]) -> set[str]:
    """Ids in none of the mapping's inclusion lists, by their members read completely in this run;
    none when the mapping no longer filters by a list."""
    lists = filters.lists_used(mapping.filter_to_other or {})
    if not lists:
        return set()
    members = frozenset().union(*(ctx.list_members(list_id) for list_id in lists))
    return {i for i in ids if i not in members}


def _why(ctx: RunContext, row: PendingDeletion) -> str:
    if row.reason == R.LEFT_LIST:
        return f"Left the {label(ctx, row.source_side)} inclusion list"
    return f"Deleted in {label(ctx, row.source_side)}"


def _past_the_guard(
    ctx: RunContext, mapping: ObjectMapping, source: str, group: list[PendingDeletion]
) -> list[PendingDeletion] | None:
    """The group, or only its confirmed rows when more unconfirmed ones wait than one run may
    apply without a person (those are held); None when that leaves nothing."""
    unconfirmed = [r for r in group if r.status == PendingDeletion.Status.PENDING]
    if unconfirmed:
        links = RecordLink.objects.filter(object_mapping=mapping).count()
        if len(unconfirmed) > guard_limit(links):
            _hold(ctx, mapping, source, unconfirmed, links)
            return [r for r in group if r.status == PendingDeletion.Status.CONFIRMED] or None
    return group


def _remove(ctx: RunContext, mapping: ObjectMapping, target: str, doomed: list[PendingDeletion]) -> dict[str, Any]:
    """Archive or delete the counterparts, as each row's policy says; the vendor's results by target id."""
    remover = lifecycle_for(ctx.connector(target))
    results = {}
    for policy in (P.ARCHIVE, P.DELETE):
        ids = [r.target_id for r in doomed if r.policy == policy]
        if ids:
            action = remover.archive if policy == P.ARCHIVE else remover.delete
            results.update({res.ref: res for res in action(mapping.object_for(target), ids)})
    return results


def _hold(ctx: RunContext, mapping: ObjectMapping, source: str, rows: list[PendingDeletion], links: int) -> None:
    PendingDeletion.objects.filter(pk__in=[r.pk for r in rows]).update(status=PendingDeletion.Status.HELD)
    for row in rows:
        row.status = PendingDeletion.Status.HELD
    message = (
        f"{len(rows)} deletions in {label(ctx, source)} for {mapping} are held: more than the "
        f"{guard_limit(links)} one run may apply without a person. Confirm or discard them on the integration page."
    )
    log.info("integration %s: %s", ctx.integration.pk, message)
    ctx.counts["deletions_held"] += len(rows)


@transaction.atomic
def _record(ctx, mapping, source, back, doomed, results) -> None:
    now = timezone.now()
    target = other_side(source)
    events = []
    for row in back:
        again = "Back in the inclusion list" if row.reason == R.LEFT_LIST else f"Exists again in {label(ctx, source)}"
        row.status, row.message = PendingDeletion.Status.CANCELLED, f"{again}; nothing removed."
    for row in doomed:
        result = results.get(row.target_id)
        verb = "Archived" if row.policy == P.ARCHIVE else "Deleted"
        if result is not None and result.ok:
            row.status, row.message, row.applied_at = PendingDeletion.Status.APPLIED, f"{verb} in {label(ctx, target)}.", now
            outcome = Outcome.REMOVED
        else:
            row.status = PendingDeletion.Status.FAILED
            row.message = result.error.message if result is not None and result.error else "No answer from the vendor."
            outcome = Outcome.FAILED
        events.append(
            RecordEvent(
                run=ctx.run,
                integration=ctx.integration,
                object_mapping=mapping,
                source_side=source,
                source_object=mapping.object_for(source),
                source_id=row.source_id,
                target_id=row.target_id,
                outcome=outcome,
                message=f"{_why(ctx, row)}; {row.message[0].lower()}{row.message[1:]}",
                created_at=now,
            )
        )
    PendingDeletion.objects.bulk_update([*back, *doomed], ["status", "message", "applied_at"])
    ctx.save_events(events)
    deleted = [r for r in doomed if r.status == PendingDeletion.Status.APPLIED and r.policy == P.DELETE]
    if deleted:
        column = RecordLink.id_column(source)
        RecordLink.objects.filter(object_mapping=mapping, **{f"{column}__in": [r.source_id for r in deleted]}).delete()
