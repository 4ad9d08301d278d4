"""Stage 2 — each record's counterpart on the target side: its link, else one batched look-up
by match value, else what an interrupted create made (ours, or the other flow's); then one
batched read of the counterparts' current values."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from functools import partial

from django.db import transaction
from django.utils import timezone

from connectors.base import ConnectorError, ErrorKind, Record, chunked
from mappings.models import ObjectMapping
from syncsmart.engine.concurrency import in_flight
from syncsmart.engine.config import engine_settings
from syncsmart.engine.flow.items import Item, Outcome
from syncsmart.engine.flow.setup import FlowSetup
from syncsmart.engine.matching import Matcher, MatchResult
from syncsmart.models import PendingCreate, RecordLink


class Counterparts:
    def __init__(self, setup: FlowSetup):
        self.s = setup
        # Records with a PendingCreate row of this flow (kept across the flow's pages).
        self.pending: set[str] = set()
        # The other flow's PendingCreate rows this page adopted (deleted at the checkpoint).
        self.adopted: list[PendingCreate] = []
        self.matcher = self._matcher()

    # --- links ---------------------------------------------------------------------------
    def links_for(self, ids: list[str]) -> dict[str, RecordLink]:
        column = RecordLink.id_column(self.s.source)
        return {
            getattr(link, column): link
            for link in RecordLink.objects.filter(object_mapping=self.s.mapping, **{f"{column}__in": ids})
        }

    def taken_target_ids(self, ids: set[str]) -> set[str]:
        """Which of these target records are linked already (never link one twice)."""
        column = RecordLink.id_column(self.s.target)
        return set(
            RecordLink.objects.filter(object_mapping=self.s.mapping, **{f"{column}__in": list(ids)}).values_list(
                column, flat=True
            )
        )

    # --- match look-up (the mapping's match rules) ----------------------------------------------
    def _matcher(self) -> Matcher:
        s = self.s

        def reference_of(key_field) -> str:
            info = s.source_schema.get(key_field.field_for(s.source))
            return (info.reference_to if info else "") or ""

        return Matcher(
            s.target_connector,
            s.target_object,
            s.source,
            s.target,
            s.mapping.match_keys(),
            reference_of=reference_of,
            index=lambda: s.ctx.target_index(s.mapping, s.target, self.matcher.keys),
            source_index=lambda: s.ctx.target_index(s.mapping, s.source, self.matcher.keys),
            full_scan=lambda: s.ctx.full_scan(s.mapping, s.source),
            in_flight=in_flight,
        )

    def taken_source_ids(self, ids: set[str]) -> set[str]:
        column = RecordLink.id_column(self.s.source)
        return set(
            RecordLink.objects.filter(object_mapping=self.s.mapping, **{f"{column}__in": list(ids)}).values_list(
                column, flat=True
            )
        )

    def resolve(self, items: list[Item], parents: dict[tuple[str, str], str]) -> None:
        """Linked records know their counterpart; unlinked ones are looked up by the match rules
        (syncsmart/engine/matching.py), compared normalised, never guessed: two candidates and the
        record waits as an ambiguous match. Two records matching one target: the first goes, the
        rest wait."""
        for item in items:
            if item.link is not None:
                item.target_id = item.link.id_on(self.s.target)
                if not (item.link.hubspot_values or item.link.other_values or item.link.hubspot_hash or item.link.other_hash):
                    item.matched = True  # a pair a customer chose: no baseline yet, synced as a new match
        unlinked = [i for i in items if i.link is None and i.open]
        if not unlinked or not self.matcher.keys:
            return
        results = self.matcher.find([i.record for i in unlinked], parents, self.taken_target_ids, self.taken_source_ids)
        self.s.ctx.counts["match_lookups"] += self.matcher.lookups
        self.matcher.lookups = 0
        claimed: set[str] = set()
        for item in unlinked:
            result = results.get(item.id)
            if result is None or (result.target_id is None and not result.ambiguous):
                continue
            if result.ambiguous:
                self._wait_as_ambiguous(item, result)
            elif result.target_id in claimed:
                item.defer(f"Another record matches the same {self.s.target_object} by {result.key}; it is synced first.")
            else:
                claimed.add(result.target_id)
                item.target_id, item.target, item.matched = result.target_id, result.target, True
                item.notes.append(f"Matched an existing record by {result.key}: {result.value}.")

    def _wait_as_ambiguous(self, item: Item, result: MatchResult) -> None:
        chosen = self.s.ctx.chosen_match(self.s.mapping, self.s.source, item.id)
        if chosen and chosen in {c.id for c in result.candidates}:
            item.target_id, item.matched = chosen, True
            item.notes.append("Linked to the record chosen among the ambiguous matches.")
            return
        names = "; ".join(f"{c.label} ({c.id})" for c in result.candidates[:5])
        item.outcome = Outcome.AMBIGUOUS
        if result.rivals:
            rivals = "; ".join(f"{c.label} ({c.id})" for c in result.rivals[:5])
            item.message = (
                f"The {self.s.target_object} {names} matches this record by {result.key} ({result.value}), "
                f"and also {rivals}. Nothing is linked or created until one is chosen."
            )
        else:
            item.message = (
                f"{len(result.candidates)} {self.s.target_object} match by {result.key} ({result.value}): {names}. "
                "Nothing is created until you choose one."
            )
        item.candidates = [{"id": c.id, "label": c.label[:300]} for c in result.candidates[:20]]
        item.match_key, item.match_value = result.key, result.value

    @staticmethod
    def _by_match_value(items: list[Item], field_name: str) -> dict[str, list[Item]]:
        """Records by their (trimmed, lower-cased) match value; records without one are left out."""
        by_value: dict[str, list[Item]] = {}
        for item in items:
            value = str(item.record.properties.get(field_name) or "").strip().lower()
            if value:
                by_value.setdefault(value, []).append(item)
        return by_value

    def find_targets(self, field_name: str, values: list[str]) -> dict[str, list[Record]]:
        """The batched match look-up, one call per chunk of values, the chunks in flight together."""
        connector = self.s.target_connector
        calls = (
            (None, partial(connector.find_by, self.s.target_object, field_name, chunk))
            for chunk in chunked(values, connector.match_chunk_size(self.s.target_object, field_name))
        )
        found: dict[str, list[Record]] = {}
        for _, part in in_flight(calls, connector.concurrency):
            for value, records in part.items():
                found.setdefault(value, []).extend(records)
        return found

    # --- interrupted creates ---------------------------------------------------------------
    def recover_interrupted_creates(self, items: list[Item]) -> None:
        """Records whose last create had no answer: link what that create made, if it did."""
        unlinked = {i.id: i for i in items if i.target_id is None and i.open}
        if not unlinked:
            return
        pending = list(
            PendingCreate.objects.filter(object_mapping=self.s.mapping, source_side=self.s.source, source_id__in=list(unlinked))
        )
        if not pending:
            return
        self.pending |= {p.source_id for p in pending}
        by_field: dict[str, list[PendingCreate]] = {}
        for row in pending:
            if row.field and row.value:
                by_field.setdefault(row.field, []).append(row)
        for field_name, rows in by_field.items():
            self._recover_by(field_name, rows, unlinked)

    def _recover_by(self, field_name: str, rows: list[PendingCreate], unlinked: dict[str, Item]) -> None:
        try:
            found = self.s.target_connector.find_by(self.s.target_object, field_name, sorted({r.value for r in rows}))
        except ConnectorError as exc:
            if exc.kind != ErrorKind.CONFIG:
                raise
            # The vendor cannot look this field up: the reverse flow will meet the record in
            # its change feed and adopt it (adopt_opposite_creates). Until then, wait.
            grace = timedelta(seconds=engine_settings().pending_grace_seconds)
            for row in rows:
                if timezone.now() - row.created_at < grace:
                    unlinked[row.source_id].defer("An earlier create got no answer; waiting to see whether it went through.")
            return
        taken = self.taken_target_ids({str(r.id) for records in found.values() for r in records})
        for row in rows:
            match = next((r for r in found.get(row.value.strip().lower(), []) if str(r.id) not in taken and not r.deleted), None)
            if match is not None:
                item = unlinked[row.source_id]
                item.target_id, item.target, item.matched = str(match.id), match, True
                item.notes.append(
                    f"Linked to the {self.s.target_object} an interrupted create had made ({field_name} {row.value})."
                )
                taken.add(str(match.id))

    def adopt_opposite_creates(self, items: list[Item]) -> None:
        """A record of ours that the other flow created without hearing back: link, never copy back."""
        unlinked = [i for i in items if i.target_id is None and i.open]
        if not unlinked:
            return
        rows = [
            r
            for r in PendingCreate.objects.filter(object_mapping=self.s.mapping, source_side=self.s.target)
            if r.field and r.value
        ]
        if not rows:
            return
        by_key = {(r.field, r.value.strip().lower()): r for r in rows}
        for item in unlinked:
            for (field_name, value), row in list(by_key.items()):
                if str(item.record.properties.get(field_name) or "").strip().lower() == value:
                    item.target_id, item.matched = row.source_id, True
                    item.notes.append(f"This is the record an interrupted create made for {self.s.target} {row.source_id}.")
                    self.adopted.append(row)
                    del by_key[(field_name, value)]
                    break

    def remember_creates(self, batch: list[Item]) -> None:
        """Before a create is sent: a row that finds what it made if the answer is lost."""
        if all(self.s.match_fields()):
            return  # every retry looks the record up by its match field anyway
        rows = [
            PendingCreate(
                object_mapping=self.s.mapping,
                source_side=self.s.source,
                source_id=i.id,
                field=self.s.recovery_field,
                value=str(i.writes.get(self.s.recovery_field) or "")[:500],
            )
            for i in batch
        ]
        with transaction.atomic():
            PendingCreate.objects.filter(
                object_mapping=self.s.mapping, source_side=self.s.source, source_id__in=[i.id for i in batch]
            ).delete()
            PendingCreate.objects.bulk_create(rows)
        self.pending |= {i.id for i in batch}

    def forget_creates(self, ids: list[str]) -> None:
        ids = [i for i in ids if i in self.pending]
        if ids:
            PendingCreate.objects.filter(object_mapping=self.s.mapping, source_side=self.s.source, source_id__in=ids).delete()
            self.pending -= set(ids)

    # --- the counterparts' current values ----------------------------------------------------
    def read_targets(self, items: list[Item], known: Mapping[str, Record] | None = None) -> None:
        """One batched read of the counterparts (what the caller read already is used as is). A
        counterpart that is gone: forget the link, treat the record as new."""
        need = [i for i in items if i.target is None]
        if not need:
            return
        connector = self.s.target_connector
        current: dict[str, Record] = {i.target_id: known[i.target_id] for i in need if known and i.target_id in known}
        calls = (
            (None, partial(connector.read_by_ids, self.s.target_object, batch))
            for batch in chunked([i.target_id for i in need if i.target_id not in current], connector.max_batch_read)
        )
        for _, records in in_flight(calls, connector.concurrency):
            for record in records:
                current[str(record.id)] = record
        for item in need:
            item.target = current.get(item.target_id)
            if item.target is None or item.target.deleted:
                if self.s.mapping.delete_policy_to(self.s.source) != ObjectMapping.DeletePolicy.IGNORE:
                    # Deleted on the other side, and this mapping syncs such deletions: the deletion
                    # step decides (never re-created here); see syncsmart.engine.deletions.
                    item.outcome, item.target = Outcome.DELETED, None
                    continue
                item.notes.append(f"The linked {self.s.target_object} {item.target_id} no longer exists; a new one is created.")
                if item.link is not None and item.link.pk:
                    item.link.delete()
                item.link, item.target_id, item.target = None, None, None
