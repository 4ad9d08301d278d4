"""Stage 4 — batched creates and updates, with an outcome per record. A create's PendingCreate
row is committed before the call and its link right after the answer, so a kill at any moment
never duplicates. A create HubSpot refuses as a duplicate (409) links to the existing record."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

from connectors.base import ConnectorError, ErrorKind, FieldType, WriteInput, WriteResult, chunked
from syncsmart.engine.concurrency import in_flight
from syncsmart.engine.flow.counterparts import Counterparts
from syncsmart.engine.flow.items import UNCERTAIN_KINDS, Item, Outcome
from syncsmart.engine.flow.setup import FlowSetup
from syncsmart.engine.values import is_empty, normal

NO_RESULT = "No result for this record"
# Outcomes after which a record and its counterpart are linked as they stand.
LINKED_OUTCOMES = {Outcome.CREATED, Outcome.UPDATED, Outcome.UNCHANGED, Outcome.LINKED, Outcome.CONFLICT, Outcome.ECHO}


class Writer:
    def __init__(
        self,
        setup: FlowSetup,
        counterparts: Counterparts,
        save_links: Callable[[list[Item]], None],
        replan: Callable[[list[Item]], None],
    ):
        self.s = setup
        self.counterparts = counterparts
        self.save_links = save_links  # store the links of records just created (checkpoint)
        self.replan = replan  # read and plan again records relinked to an existing record

    def write(self, items: list[Item]) -> None:
        self._create([i for i in items if i.open and i.target_id is None])
        self._update([i for i in items if i.open and i.target_id is not None and i.writes])
        for item in items:
            if item.open:
                item.outcome = Outcome.LINKED if item.matched else (Outcome.CONFLICT if item.conflicts else Outcome.UNCHANGED)

    def _create(self, items: list[Item]) -> None:
        relinked: list[Item] = []
        connector = self.s.target_connector

        def sends() -> Iterator[tuple[list[Item], Callable[[], list[WriteResult]]]]:
            for batch in chunked(items, connector.max_batch_write):
                self.counterparts.remember_creates(batch)  # committed before the call: a kill now cannot duplicate
                self.s.ctx.keep_alive()
                inputs = [WriteInput(dict(i.writes), ref=i.id) for i in batch]
                yield batch, partial(connector.create, self.s.target_object, inputs)

        for batch, results in in_flight(sends(), connector.concurrency):
            self._count(batch)
            created = []
            for item, outcome in zip(batch, in_order(batch, results), strict=False):  # a vendor may answer extra
                if outcome.ok and outcome.id:
                    item.target_id, item.outcome = str(outcome.id), Outcome.CREATED
                    self._adopt_written(item, outcome)
                    created.append(item)
                elif outcome.error is not None and outcome.error.kind == ErrorKind.CONFLICT and outcome.error.existing_id:
                    # HubSpot 409: a record with this e-mail exists. Link to it instead of failing.
                    item.target_id, item.matched = str(outcome.error.existing_id), True
                    item.notes.append(
                        f"Linked to the existing {self.s.target_object} {item.target_id} ({outcome.error.message})."
                    )
                    relinked.append(item)
                else:
                    self.fail(item, outcome.error)
            self.save_links(created)  # at once: a crash now must not create them again
            self.counterparts.forget_creates([i.id for i in batch if not (i.error and i.error.get("kind") in UNCERTAIN_KINDS)])
        if relinked:
            self.replan(relinked)
            self._update([i for i in relinked if i.open and i.writes])

    def _update(self, items: list[Item]) -> None:
        connector = self.s.target_connector

        def sends() -> Iterator[tuple[list[Item], Callable[[], list[WriteResult]]]]:
            for batch in chunked(items, connector.max_batch_write):
                self.s.ctx.keep_alive()
                inputs = [WriteInput(dict(i.writes), id=i.target_id, ref=i.id) for i in batch]
                yield batch, partial(connector.update, self.s.target_object, inputs)

        for batch, results in in_flight(sends(), connector.concurrency):
            self._count(batch)
            for item, outcome in zip(batch, in_order(batch, results), strict=False):  # a vendor may answer extra
                if outcome.ok:
                    item.outcome = Outcome.LINKED if item.matched else (Outcome.CONFLICT if item.conflicts else Outcome.UPDATED)
                    self._adopt_written(item, outcome)
                else:
                    self.fail(item, outcome.error)

    def write_back_ids(self, items: list[Item]) -> None:
        """write_back_ids, the source's half: linked records whose own id field does not hold
        their counterpart's id yet (a record just created on the other side — its id exists only
        now —, one matched or linked before ids were written back) get it in the source's
        batched update, `write_back_batch` records a call. Echoes count too: a record our create
        just reached is seen only as our own change coming back. The write is ours: the id field
        is no mapped field, so the record's hash stays and it comes back as an echo."""
        field = self.s.source_id_field
        if not field:
            return
        pairs = self._ids_to_write(items, field)
        if pairs:
            self._send_ids(pairs, field, {i.id: i for i in items})

    def _ids_to_write(self, items: list[Item], field: str) -> dict[str, str]:
        """{source id: target id} for the linked records of the page not holding it. A record
        whose read did not report the field at all (a feed asked before the field existed, as a
        Dataverse delta link keeps its $select) is read again by id — batched, and only then —
        so an id is never written over and over for want of seeing it."""
        linked: dict[str, tuple[Item, str]] = {}
        for item in items:
            target_id = item.target_id or (item.link.id_on(self.s.target) if item.link is not None else None)
            if item.outcome in LINKED_OUTCOMES and target_id:
                linked[item.id] = (item, str(target_id))
        unseen = [i for i, (item, _) in linked.items() if field not in item.record.properties and item.outcome != Outcome.CREATED]
        held = {i: item.record.properties.get(field) for i, (item, _) in linked.items()}
        connector = self.s.source_connector
        for chunk in chunked(unseen, connector.max_batch_read):
            fresh = {str(r.id): r for r in connector.read_by_ids(self.s.source_object, chunk)}
            held.update({i: fresh[i].properties.get(field) for i in chunk if i in fresh})
            self.s.ctx.counts["id_reads"] += 1
        return {i: target_id for i, (_, target_id) in linked.items() if str(held[i] or "") != target_id}

    def _send_ids(self, pairs: dict[str, str], field: str, by_id: dict[str, Item]) -> None:
        connector = self.s.source_connector

        def sends() -> Iterator[tuple[list[tuple[str, str]], Callable[[], list[WriteResult]]]]:
            for batch in chunked(list(pairs.items()), connector.write_back_batch):
                self.s.ctx.keep_alive()
                yield batch, partial(connector.write_back_id, self.s.source_object, dict(batch), field)

        for batch, results in in_flight(sends(), connector.concurrency):
            self.s.ctx.counts[f"writes_{self.s.source}"] += len(batch)
            self.s.ctx.counts["ids_written"] += len(batch)
            by_ref = {r.ref: r for r in results}
            for source_id, _ in batch:
                outcome = by_ref.get(source_id)
                if outcome is None or not outcome.ok:
                    reason = outcome.error.message if outcome is not None and outcome.error else NO_RESULT
                    by_id[source_id].notes.append(f"The counterpart's id was not written back to this record: {reason}")
                    self.s.ctx.counts["id_writes_failed"] += 1

    def _count(self, batch: list[Item]) -> None:
        self.s.ctx.counts[f"writes_{self.s.target}"] += len(batch)

    def _adopt_written(self, item: Item, outcome: WriteResult) -> None:
        """Baseline in the target's own spelling when the vendor echoed the record back. A new
        record's mapped fields we did not send take the vendor's defaults (a ConnectWise stage):
        those are the record as created, not a change its side made afterwards."""
        if outcome.record is None:
            return
        created = item.outcome == Outcome.CREATED
        for f in self.s.plan_fields:
            if (f.target_name in item.writes or created) and f.target_name in outcome.record.properties:
                item.target_base[f.target_name] = normal(outcome.record.properties[f.target_name], f.target_kind)

    def fail(self, item: Item, error: ConnectorError | None) -> None:
        """A write the vendor refused: retry later (vendor trouble, or a parent the vendor insists
        on that is not there yet) or fail visibly."""
        error = error or ConnectorError("The vendor rejected this record without a reason", ErrorKind.SERVER)
        item.error = error.as_dict()
        item.message = error.message
        if error.retryable:
            item.defer(f"Will retry: {error.message}")
        elif self._only_missing_parents(error) and (absent := self._parents_absent_in_source(item, error.fields)):
            # The vendor insists on a parent the source record has none of (a ConnectWise contact
            # with no company at all): nothing will ever come to wait for, so it fails at once.
            item.outcome = Outcome.FAILED
            item.message = self._no_parent_message(absent)  # the vendor's own words stay in the details
        elif self._only_missing_parents(error):
            # The vendor insists on a parent this record does not have yet (a ConnectWise
            # contact needs a company): wait for it rather than fail or create an orphan.
            item.waiting_for.extend(
                {"object": self.s.target_schema.get(f).reference_to or f, "id": "", "target_object": ""} for f in error.fields
            )
            item.defer(f"Waiting for a parent: {error.message}")
        else:
            item.outcome = Outcome.FAILED

    def _only_missing_parents(self, error: ConnectorError) -> bool:
        if error.kind != ErrorKind.VALIDATION or not error.fields:
            return False
        return all(self.s.target_schema.kind(f) == FieldType.REFERENCE for f in error.fields)

    def _parents_absent_in_source(self, item: Item, target_fields: list[str]) -> list[str]:
        """The target's required parent fields for which the source record names no parent at all
        (no mapped association, or an empty one) — not "a parent not linked yet"."""
        props = item.record.properties
        absent = []
        for name in target_fields:
            sources = [self.s.src(fm) for fm in self.s.fields if self.s.dst(fm) == name]
            if all(is_empty(props.get(source)) for source in sources):
                absent.append(name)
        return absent

    def _no_parent_message(self, absent: list[str]) -> str:
        source, target = self.s.ctx.system_label(self.s.source), self.s.ctx.system_label(self.s.target)
        what = self.s.target_schema.get(absent[0])
        parent = (what.label if what and what.label else absent[0]).lower()
        record = singular(self.s.source_object)
        return (
            f"This {record} has no {parent} in {source}, and {target} requires one on every "
            f"{singular(self.s.target_object)}. Associate it with a {parent} in {source}: it syncs on its next change."
        )


def singular(object_type: str) -> str:
    """'contacts' -> 'contact', 'opportunities' -> 'opportunity' (for messages)."""
    word = object_type.replace("_", " ")
    if word.endswith("ies"):
        return word[:-3] + "y"
    return word[:-1] if word.endswith("s") else word


def in_order(batch: list[Item], results: list[WriteResult]) -> list[WriteResult]:
    """The vendor's results in the batch's order (by ref when every result has one)."""
    by_ref = {r.ref: r for r in results if r.ref is not None}
    if len(by_ref) == len(batch):
        return [by_ref.get(i.id) or WriteResult(i.id, error=ConnectorError(NO_RESULT, ErrorKind.SERVER)) for i in batch]
    missing = len(batch) - len(results)
    return list(results) + [WriteResult(None, error=ConnectorError(NO_RESULT, ErrorKind.SERVER))] * missing
