"""Conversions: a record that becomes another record of the same system, as a Salesforce Lead
becomes a Contact (its object type declares `successor`: the Lead names the Contact in
ConvertedContactId, and the converted lead is read only).

- A HubSpot record linked to the converted record moves its link to the record it became, in the
  mapping that syncs that object type with the same HubSpot object — unless either is linked there
  already, then the old link is dropped: nothing is created twice, nothing is written to the
  converted record. The moved link has no baseline, so both records are then synced as a new
  match (right away, through that mapping's two flows).
- Seen from either side: the converted record in its own change feed, or as the counterpart a
  HubSpot record's update was about to write to.
- A converted record that was never linked does not sync (its successor does).
- Routing of new records: a HubSpot record that matches no successor (Contact) is not created as
  one: it goes to the predecessor's mapping (a Lead) and becomes a Contact by conversion.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.db import transaction
from django.db.models import Q

from connectors.base import Record
from mappings.models import ObjectMapping
from syncsmart.core.choices import other_side
from syncsmart.engine.context import mapping_flows
from syncsmart.engine.flow.items import Item, Outcome
from syncsmart.engine.flow.setup import FlowSetup
from syncsmart.models import RecordEvent, RecordLink

FlowFor = Callable[[ObjectMapping, str], object]  # (mapping, source side) -> a Flow


def successor_of(setup: FlowSetup, side: str, record: Record | None) -> tuple[str, str] | None:
    """(object type, id) of the record this one became, or None (not converted)."""
    if record is None:
        return None
    declared = setup.ctx.object_type(side, setup.mapping.object_for(side)).successor
    if not declared:
        return None
    field_name, successor_type = declared
    successor_id = str(record.properties.get(field_name) or "").strip()
    return (successor_type, successor_id) if successor_id else None


def successor_mapping(setup: FlowSetup, side: str, successor_type: str) -> ObjectMapping | None:
    """The mapping syncing the successor type with this mapping's object on the other side."""
    partner = setup.mapping.object_for(other_side(side))
    return next(
        (
            m
            for m in setup.ctx.mappings
            if m.pk != setup.mapping.pk and m.object_for(side) == successor_type and m.object_for(other_side(side)) == partner
        ),
        None,
    )


def related_mappings(setup: FlowSetup) -> list[ObjectMapping]:
    """Other mappings of this flow's source object whose target type converts into this mapping's
    target type, or the other way round (HubSpot contacts ↔ Lead and ↔ Contact): a record linked
    through one of them is not also synced through this one."""
    s = setup
    mine = s.ctx.object_type(s.target, s.target_object).successor
    out = []
    for m in s.ctx.mappings:
        if m.pk == s.mapping.pk or m.object_for(s.source) != s.source_object:
            continue
        theirs = s.ctx.object_type(s.target, m.object_for(s.target)).successor
        if (theirs and theirs[1] == s.target_object) or (mine and mine[1] == m.object_for(s.target)):
            out.append(m)
    return out


def creation_goes_elsewhere(setup: FlowSetup) -> ObjectMapping | None:
    """The mapping that creates what this one would: its target type converts into ours and it
    writes the same way (a new HubSpot contact becomes a Lead, never straight a Contact)."""
    s = setup
    for m in s.ctx.mappings:
        if m.pk == s.mapping.pk or m.object_for(s.source) != s.source_object or s.target not in mapping_flows(m):
            continue
        theirs = s.ctx.object_type(s.target, m.object_for(s.target)).successor
        if theirs and theirs[1] == s.target_object:
            return m
    return None


class Conversions:
    def __init__(self, setup: FlowSetup, flow_for: FlowFor):
        self.s = setup
        self.flow_for = flow_for

    def converted_sources(self, records: list[Record]) -> tuple[dict[str, str], list[RecordEvent]]:
        """Source records that were converted: their links move (or go); {id: why it does not
        sync} for the gate, and the events of the moves."""
        s = self.s
        found = {str(r.id): successor_of(s, s.source, r) for r in records if not r.deleted}
        found = {k: v for k, v in found.items() if v}
        if not found:
            return {}, []
        links = {
            link.id_on(s.source): link
            for link in RecordLink.objects.filter(
                object_mapping=s.mapping, **{f"{RecordLink.id_column(s.source)}__in": list(found)}
            )
        }
        reasons, events, follow = {}, [], []
        for record_id, (successor_type, successor_id) in found.items():
            reasons[record_id] = f"Converted into the {successor_type} {successor_id}, which syncs instead."
            link = links.get(record_id)
            if link is not None:
                message, moved = self._move(link, s.source, successor_type, successor_id)
                events.append(self._event(record_id, link.id_on(s.target), message))
                follow += moved
        self._sync_moved(follow)
        return reasons, events

    def converted_targets(self, items: list[Item]) -> None:
        """Linked counterparts that were converted: the link moves, nothing is written to them."""
        s = self.s
        follow: list[tuple[ObjectMapping, str, str]] = []
        for item in items:
            became = successor_of(s, s.target, item.target) if item.open and item.link is not None else None
            if not became:
                continue
            message, moved = self._move(item.link, s.target, *became)
            item.outcome, item.message = Outcome.LINKED, message
            item.link, item.target_id, item.target = None, None, None
            follow += moved
        self._sync_moved(follow)

    def _move(
        self, link: RecordLink, side: str, successor_type: str, successor_id: str
    ) -> tuple[str, list[tuple[ObjectMapping, str, str]]]:
        """Move `link` from the converted record (on `side`) to its successor; returns the message
        and the (mapping, side, id) records to sync through the successor's mapping now."""
        partner_side = other_side(side)
        partner_id = link.id_on(partner_side)
        target = successor_mapping(self.s, side, successor_type)
        system = self.s.ctx.integration.other_system_label if side != "hubspot" else "HubSpot"
        if target is None:
            link.delete()
            return (
                f"Converted in {system} into the {successor_type} {successor_id}; no mapping syncs "
                f"{successor_type} records, so the link was dropped.",
                [],
            )
        taken = list(
            RecordLink.objects.filter(object_mapping=target).filter(
                Q(**{RecordLink.id_column(side): successor_id}) | Q(**{RecordLink.id_column(partner_side): partner_id})
            )
        )
        follow = [(target, side, successor_id), (target, partner_side, partner_id)]
        if taken:
            link.delete()
            # The same pair matched there already (by e-mail): what waited for the old link syncs now.
            same = any(t.id_on(side) == successor_id and t.id_on(partner_side) == partner_id for t in taken)
            return (
                f"Converted in {system} into the {successor_type} {successor_id}, which is linked already "
                f"(“{target}”): this link was dropped.",
                follow if same else [],
            )
        with transaction.atomic():
            RecordLink.objects.filter(pk=link.pk).update(
                object_mapping=target,
                **{RecordLink.object_column(side): successor_type, RecordLink.id_column(side): successor_id},
                hubspot_values={},
                other_values={},
                hubspot_hash="",
                other_hash="",
            )
        message = (
            f"Converted in {system} into the {successor_type} {successor_id}: the link moved to it; from now on "
            f"this record syncs through “{target}”."
        )
        return message, follow

    def _sync_moved(self, follow: Iterable[tuple[ObjectMapping, str, str]]) -> None:
        """Sync the moved pairs through their new mapping now (both sides, as a new match)."""
        for mapping, side, record_id in follow:
            if other_side(side) not in mapping_flows(mapping):
                continue
            connector = self.s.ctx.connector(side)
            records = connector.read_by_ids(mapping.object_for(side), [record_id])
            if records:
                checkpoint = self.flow_for(mapping, side).process(records, 1)
                with transaction.atomic():
                    checkpoint()

    def _event(self, source_id: str, target_id: str, message: str) -> RecordEvent:
        s = self.s
        return RecordEvent(
            run=s.ctx.run,
            integration=s.ctx.integration,
            object_mapping=s.mapping,
            source_side=s.source,
            source_object=s.source_object,
            source_id=source_id,
            target_id=target_id,
            outcome=RecordEvent.Outcome.LINKED,
            message=message,
        )
