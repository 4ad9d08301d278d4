"""Flow.process(): one page of one flow through its stages (see the package docstring)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from connectors.base import ConnectorError, ErrorKind, FieldType, Record
from mappings.models import ObjectMapping
from syncsmart.engine.context import RunContext, mapping_flows
from syncsmart.engine.deletions import noticed, noticed_message, save_noticed
from syncsmart.engine.flow.checkpoint import Checkpoint
from syncsmart.engine.flow.conversions import Conversions, creation_goes_elsewhere
from syncsmart.engine.flow.counterparts import Counterparts
from syncsmart.engine.flow.field_values import FieldValues
from syncsmart.engine.flow.gate import Gate
from syncsmart.engine.flow.items import Item, Outcome
from syncsmart.engine.flow.merges import kept_after_merge, repoint_merged
from syncsmart.engine.flow.parents import MAX_PARENT_DEPTH, Parents
from syncsmart.engine.flow.plan import SINGULAR, Sides, parents_blocking, plan_fields, waiting_message
from syncsmart.engine.flow.setup import FlowSetup
from syncsmart.engine.flow.write import Writer
from syncsmart.engine.values import normal


class Flow:
    """One object mapping in one direction, for the length of a run (the Engine keeps one per
    (mapping, source side)); `process` takes one page of source records."""

    def __init__(self, ctx: RunContext, mapping: ObjectMapping, source_side: str):
        self.ctx = ctx
        self.setup = FlowSetup(ctx, mapping, source_side)
        self.gate = Gate(self.setup)
        self.parents = Parents(self.setup, lambda parent_mapping: Flow(ctx, parent_mapping, source_side))
        self.counterparts = Counterparts(self.setup)
        self.values = FieldValues(self.setup)
        self.checkpoint = Checkpoint(self.setup, self.counterparts)
        self.writer = Writer(self.setup, self.counterparts, self.checkpoint.save_new_links, self._replan)
        self.conversions = Conversions(self.setup, lambda mapping, side: Flow(ctx, mapping, side))
        # The mapping that creates what this one would (a new HubSpot contact becomes a Lead, not a Contact).
        self.creates_elsewhere = creation_goes_elsewhere(self.setup)

    def process(
        self, records: Iterable[Record], depth: int = 0, targets: Mapping[str, Record] | None = None
    ) -> Callable[[], None]:
        """Sync one page. Returns the checkpoint to run in the page's transaction.
        `targets`: counterparts' current records the caller already read (by target id)."""
        records = list({str(r.id): r for r in records}.values())
        merge_events = repoint_merged(self.setup, records)  # before links are looked up: a survivor takes its link
        converted, moves = self.conversions.converted_sources(records)  # a converted lead's link moves to its contact
        merge_events += moves
        items = self._gated(records, converted)
        deletions = self._deleted(items)
        live = [i for i in items if i.open]
        parent_ids = self.parents.resolve(live, depth)
        self.counterparts.resolve(live, parent_ids)
        self.counterparts.recover_interrupted_creates(live)
        self.counterparts.adopt_opposite_creates(live)
        self.counterparts.read_targets([i for i in live if i.target_id and i.open], targets)
        self.conversions.converted_targets(live)
        deletions += self._counterparts_gone(live)
        for item in live:
            if item.open:
                self.plan(item, parent_ids)
        self.writer.write(live)
        self.writer.write_back_ids(items)
        checkpoint = self.checkpoint.build(items)

        def with_lifecycle() -> None:
            checkpoint()
            save_noticed(deletions)
            if merge_events:
                self.ctx.save_events(merge_events)

        return with_lifecycle

    def _counterparts_gone(self, items: list[Item]) -> list:
        """Linked records whose counterpart is gone (read_targets marked them): a deletion on the
        target side, queued under that direction's policy instead of re-creating the record."""
        s = self.setup
        gone = [i for i in items if i.outcome == Outcome.DELETED and i.link is not None and not i.record.deleted]
        for item in gone:
            item.message = f"The linked {s.target_object} {item.target_id}: " + noticed_message(self.ctx, s.mapping, s.target)
        return noticed(self.ctx, s.mapping, s.target, [i.link for i in gone])

    def _deleted(self, items: list[Item]) -> list:
        """Linked records deleted in the source: first an event saying so and what the mapping's
        deletion policy will do, then (unless it ignores deletions) a row for the deletion step."""
        s = self.setup
        gone = [i for i in items if i.record.deleted and i.link is not None]
        for item in gone:
            item.outcome, item.message = Outcome.DELETED, noticed_message(self.ctx, s.mapping, s.source)
            item.target_id = item.link.id_on(s.target)
        return noticed(self.ctx, s.mapping, s.source, [i.link for i in gone])

    def _gated(self, records: list[Record], converted: Mapping[str, str]) -> list[Item]:
        """Stage 1: every record becomes an Item; those the gate stops, and echoes, end here."""
        links = self.counterparts.links_for([str(r.id) for r in records])
        unlinked = [str(r.id) for r in records if str(r.id) not in links]
        elsewhere = self.gate.linked_elsewhere(unlinked)
        kept = kept_after_merge(self.setup, unlinked)  # by a HubSpot merge: never created back there
        items = []
        for record in records:
            item = Item(record, link=links.get(str(record.id)))
            item.notes.extend(record.remarks)  # what the vendor holds that no field carries
            if record.deleted and item.link is not None:
                items.append(item)  # the deletion stage (_deleted) takes it
                continue
            # A record linked through a sibling mapping (a HubSpot contact that is a Lead, not a
            # Contact) is that mapping's: not "filtered out" here, and not logged here.
            sibling = elsewhere.get(item.id) if item.link is None else None
            item.elsewhere = bool(sibling) and item.id not in converted
            reason = converted.get(item.id) or sibling or kept.get(item.id) or self.gate.reason_to_skip(record)
            # Our own write coming back is "Our own change" even when a filter would stop it
            # (a record we wrote need not pass the other direction's filter).
            if item.link is not None and not record.deleted and self.gate.is_echo(item):
                item.outcome, item.message = Outcome.ECHO, "No change since the last sync (our own write coming back)."
            elif reason:
                item.outcome, item.message = Outcome.FILTERED, reason
            items.append(item)
        return items

    def plan(self, item: Item, parents: dict[tuple[str, str], str]) -> None:
        """Stage 3 for one record: the pure plan, applied to the item."""
        s = self.setup
        creating = item.target_id is None
        link_only = s.mapping.create_policy == ObjectMapping.CreatePolicy.LINK_ONLY
        if creating and self._created_elsewhere(item):
            return
        if creating and s.mapping.create_policy != ObjectMapping.CreatePolicy.CREATE:
            item.outcome = Outcome.FILTERED
            item.message = (
                f"Link only: no existing {s.target_object} matches, and nothing is created until creation "
                "is turned on for this object."
                if link_only
                else f"No matching {s.target_object} and this mapping only updates existing records."
            )
            return
        if link_only and item.matched:
            self._link_as_it_stands(item)
            return
        sides = Sides(
            source=s.source,
            props=item.record.properties,
            target_props=item.target.properties if item.target is not None else {},
            source_base=item.link.values_on(s.source) if item.link is not None else {},
            target_base=item.link.values_on(s.target) if item.link is not None else {},
            creating=creating,
            matched=item.matched,
        )
        plan = plan_fields(s.plan_fields, sides, lambda field, value: self.values.transform(field, value, parents))
        item.writes.update(plan.writes)
        item.source_base.update(plan.source_base)
        item.target_base.update(plan.target_base)
        item.conflicts.update(plan.conflicts)
        item.held.update(plan.held)
        item.settled.extend(plan.settled)
        if plan.held:
            item.notes.append(
                f"Both sides changed {len(plan.held)} field{'s' if len(plan.held) > 1 else ''} under conflict review: "
                "neither value was written; it waits in the conflict review queue for a person to choose."
            )
        item.unmatched.extend(plan.unmatched)
        item.notes.extend(plan.notes)
        item.waiting_for.extend(plan.waiting_for)
        if plan.reverse and item.target_id and s.source in mapping_flows(s.mapping):
            self.ctx.reverse_pending[(s.mapping.pk, s.target)].add(item.target_id)
        self._plan_id_write(item, creating)
        self._defer_if_parent_missing(item)
        self._refuse_orphan(item)

    def _created_elsewhere(self, item: Item) -> bool:
        """A record matching no Contact becomes a Lead (through that mapping), never a Contact."""
        s = self.setup
        other = self.creates_elsewhere
        if other is None:
            return False
        item.outcome, item.elsewhere = Outcome.FILTERED, True  # the sibling mapping logs what it does
        item.message = (
            f"No {s.target_object} matches: it goes to the other side as a {other.object_for(s.target)} "
            f"(“{other}”) until it is converted."
        )
        return True

    def _plan_id_write(self, item: Item, creating: bool) -> None:
        """write_back_ids: the source's id goes into the target's id field in the same create or
        update call — on a create always, on an update when the counterpart (read for this
        page) does not hold it yet. Records the page does not read are covered by the other
        direction's write-back (Writer.write_back_ids) when they come through its feed."""
        field = self.setup.target_id_field
        if not field:
            return
        if creating or (item.target is not None and str(item.target.properties.get(field) or "") != item.id):
            item.writes[field] = item.id

    def _link_as_it_stands(self, item: Item) -> None:
        """Link only: the pair's baseline is what each side holds now; nothing is written, so
        later changes on either side flow as usual and today's differences stay until then."""
        props = item.record.properties
        target_props = item.target.properties if item.target is not None else {}
        for f in self.setup.plan_fields:
            if f.source_name in props:
                item.source_base[f.source_name] = normal(props[f.source_name], f.source_kind)
            if f.target_name in target_props:
                item.target_base[f.target_name] = normal(target_props[f.target_name], f.target_kind)
        item.notes.append("Link only: linked as both records stand; nothing was written.")

    def _defer_if_parent_missing(self, item: Item) -> None:
        """Never create an orphan: a new record whose parent is not linked yet (or an update whose
        target type needs that parent) waits in the deferred queue for it."""
        if not item.waiting_for:
            return
        needed = set(self.ctx.object_type(self.setup.target, self.setup.target_object).parents)
        blocking = parents_blocking(item.waiting_for, needed, creating=item.target_id is None)
        if blocking:
            item.defer(waiting_message(blocking))

    def _refuse_orphan(self, item: Item) -> None:
        """An activity (note, call...) is created only with at least one parent: without one it
        would be an orphan no record shows (HubSpot), so it is left out and the log says why."""
        s = self.setup
        if not item.open or item.target_id is not None:
            return
        target_type = self.ctx.object_type(s.target, s.target_object)
        if not target_type.needs_parent:
            return
        parent_fields = [f.target_name for f in s.plan_fields if f.target_kind == FieldType.REFERENCE]
        if not any(item.writes.get(name) for name in parent_fields):
            item.outcome = Outcome.FILTERED
            parents = ", ".join(SINGULAR.get(p, p) for p in target_type.parents)
            item.message = f"Not created: it has no {parents} to attach to on the other side (it would be an orphan)."

    def _replan(self, relinked: list[Item]) -> None:
        """Records a create linked to an existing record (HubSpot's 409): read it, plan again."""
        self.counterparts.read_targets(relinked)
        for item in relinked:
            item.writes, item.source_base, item.target_base = {}, {}, {}
            if item.target_id is None:
                self.writer.fail(item, ConnectorError("The existing record could not be read", ErrorKind.NOT_FOUND))
                continue
            self.plan(item, self.parents.resolve([item], MAX_PARENT_DEPTH))
