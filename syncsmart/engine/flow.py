"""One page of one flow (an object mapping, from one side to the other), DESIGN.md §4 steps 2-8:

gate / filter -> echo check -> parents -> resolve counterparts (links, then one batched match
look-up) -> read the targets' current values (one batched read) -> transform + conflict + diff
per field -> batched creates and updates with per-record outcomes -> links, events, cursor.

A page's vendor calls of one kind (its look-ups, its reads, its creates, its updates) are
independent chunks, so they go out side by side, up to the target connection's concurrency
bound (`in_flight`); only the HTTP runs on worker threads. Everything that touches the database,
including each chunk's PendingCreate rows before it is sent and its links right after it
answers, stays on the run's thread.

Per field, with the link's baseline (the values both sides had when the field was last in
sync): a field is written only when the source changed it since then; when both sides changed
it, the field's system of record wins and the losing value goes on the event; when the value
already equals the target's, nothing is written. The reverse flow handles target-side changes.
"""

from __future__ import annotations

import itertools
import logging
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any, Callable, Iterable, Iterator, Mapping, TypeVar

from django.db import IntegrityError, transaction
from django.utils import timezone

from connectors.base import ConnectorError, ErrorKind, FieldType, Record, WriteInput, WriteResult, chunked
from connectors.http import run_owner_callbacks
from mappings import filters
from mappings.models import FieldMapping, ObjectMapping, Side
from syncsmart.engine.context import FREE_EMAIL_DOMAINS, RunContext, mapping_flows, other_side
from syncsmart.engine.jobs import tuning
from syncsmart.engine.transform import Unmatched, dropdown_to_hubspot, dropdown_to_other, owner_across
from syncsmart.engine.values import ConversionError, convert, is_empty, normal, values_hash
from syncsmart.models import DeferredRecord, PendingCreate, RecordEvent, RecordLink

log = logging.getLogger("syncsmart.engine")

MISSING = object()
MAX_PARENT_DEPTH = 2
# How long a create without an answer waits to show up before it is sent again.
PENDING_GRACE = timedelta(minutes=10)
# Failures after which a create may or may not have happened (the answer was lost).
UNCERTAIN_KINDS = {ErrorKind.TIMEOUT.value, ErrorKind.NETWORK.value}
NAME_FIELDS = ("name", "dealname", "companyname", "company_name", "fullname", "lastname")
O = RecordEvent.Outcome
PLAIN_TYPES = {FieldType.STRING, FieldType.TEXT, FieldType.EMAIL, FieldType.PHONE}


K = TypeVar("K")
T = TypeVar("T")


def in_flight(calls: Iterable[tuple[K, Callable[[], T]]], limit: int) -> Iterator[tuple[K, T]]:
    """Run vendor calls up to `limit` at a time on worker threads; yield (key, answer) here, on
    the calling thread, as each one answers.

    `calls` is drawn lazily, here, only when a slot is free: whatever it does before handing out
    a call (remember a create, renew the lease) happens on this thread, before that call is sent.
    When a call (or drawing the next one) fails, nothing new is sent, the calls already out are
    awaited and yielded, and then the first error is raised: one chunk's failure never loses
    what another chunk did. A single call, or a bound of 1, runs here without a pool."""
    calls = iter(calls)
    first = next(calls, None)
    if first is None:
        return
    second = next(calls, None) if limit > 1 else None
    if second is None:
        yield first[0], first[1]()
        for key, call in calls:
            yield key, call()
        return
    waiting = itertools.chain((first, second), calls)
    running: dict[Future, K] = {}
    error: BaseException | None = None
    pool = ThreadPoolExecutor(max_workers=limit, thread_name_prefix="syncsmart-vendor")
    try:
        while True:
            while error is None and len(running) < limit:
                try:
                    nxt = next(waiting, None)
                except Exception as exc:  # e.g. the lease is lost: send nothing more
                    error = exc
                    break
                if nxt is None:
                    break
                running[pool.submit(nxt[1])] = nxt[0]
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                key = running.pop(future)
                if future.exception() is not None:
                    error = error or future.exception()
                else:
                    yield key, future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        run_owner_callbacks()  # e.g. a token a worker refreshed is stored by this thread
    if error is not None:
        raise error


class DeferParent(Exception):
    def __init__(self, message: str, waiting_for: dict[str, str]):
        super().__init__(message)
        self.waiting_for = waiting_for


@dataclass
class Item:
    record: Record
    link: RecordLink | None = None
    target_id: str | None = None
    target: Record | None = None
    matched: bool = False  # linked in this page to a record found by match value
    writes: dict[str, Any] = field(default_factory=dict)
    source_base: dict[str, Any] = field(default_factory=dict)  # baseline updates, source terms
    target_base: dict[str, Any] = field(default_factory=dict)  # baseline updates, target terms
    conflicts: dict[str, Any] = field(default_factory=dict)
    unmatched: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    outcome: str | None = None
    message: str = ""
    error: dict[str, Any] | None = None
    waiting_for: list[dict[str, str]] = field(default_factory=list)
    retry_later: bool = False
    baseline_saved: bool = False  # the link was stored right after the create

    @property
    def id(self) -> str:
        return str(self.record.id)


@dataclass
class PageResult:
    events: list[RecordEvent] = field(default_factory=list)
    processed: int = 0
    writes: int = 0


class Flow:
    def __init__(self, ctx: RunContext, mapping: ObjectMapping, source_side: str):
        self.ctx = ctx
        self.mapping = mapping
        self.source = source_side
        self.target = other_side(source_side)
        self.source_object = mapping.object_for(self.source)
        self.target_object = mapping.object_for(self.target)
        all_fields = [f for f in mapping.field_mappings.all() if f.enabled]
        self.fields: list[FieldMapping] = [f for f in all_fields if f.flows_to(self.target)]
        self.reverse_fields: list[FieldMapping] = [f for f in all_fields if f.flows_to(self.source)]
        self.source_connector = ctx.connector(self.source)
        self.target_connector = ctx.connector(self.target)
        self.source_schema = ctx.schema(self.source, self.source_object)
        self.target_schema = ctx.schema(self.target, self.target_object)
        self.filter = mapping.filter_for_target(self.target) or {}
        self.email_field = self._primary_email_field()
        self.name_field = next((n for n in NAME_FIELDS if n in self.source_schema.fields), None)
        # (field mapping, source name, target name, source type, target type), resolved once per run.
        self.plan_fields = [(f, self.src(f), self.dst(f), self.src_kind(f), self.dst_kind(f)) for f in self.fields]
        self.recovery_field = self._recovery_field()
        self._pending: set[str] = set()
        self._adopted: list[PendingCreate] = []

    # --- names -----------------------------------------------------------------------------
    def src(self, fm: FieldMapping) -> str:
        return fm.hubspot_field if self.source == Side.HUBSPOT else fm.other_field

    def dst(self, fm: FieldMapping) -> str:
        return fm.other_field if self.source == Side.HUBSPOT else fm.hubspot_field

    def src_kind(self, fm: FieldMapping) -> str:
        return self.source_schema.kind(self.src(fm)) or (fm.hubspot_type if self.source == Side.HUBSPOT else fm.other_type)

    def dst_kind(self, fm: FieldMapping) -> str:
        return self.target_schema.kind(self.dst(fm)) or (fm.other_type if self.source == Side.HUBSPOT else fm.hubspot_type)

    def link_source_id(self, link: RecordLink) -> str:
        return link.hubspot_id if self.source == Side.HUBSPOT else link.other_id

    def link_target_id(self, link: RecordLink) -> str:
        return link.other_id if self.source == Side.HUBSPOT else link.hubspot_id

    def source_values(self, link: RecordLink) -> dict[str, Any]:
        return link.hubspot_values if self.source == Side.HUBSPOT else link.other_values

    def target_values(self, link: RecordLink) -> dict[str, Any]:
        return link.other_values if self.source == Side.HUBSPOT else link.hubspot_values

    def source_hash(self, link: RecordLink) -> str:
        return link.hubspot_hash if self.source == Side.HUBSPOT else link.other_hash

    # --- entry point ---------------------------------------------------------------------
    def process(
        self, records: Iterable[Record], depth: int = 0, targets: Mapping[str, Record] | None = None
    ) -> tuple[PageResult, Callable[[], None]]:
        """Sync one page. Returns the result and the checkpoint to run in the page's transaction.
        `targets`: counterparts' current records the caller already read (by target id)."""
        records = list({str(r.id): r for r in records}.values())
        result = PageResult(processed=len(records))
        links = self._links_for([str(r.id) for r in records])
        items: list[Item] = []
        elsewhere = self._linked_elsewhere([str(r.id) for r in records if str(r.id) not in links])
        for record in records:
            item = Item(record, link=links.get(str(record.id)))
            reason = self.gate(record) or (elsewhere.get(item.id) if item.link is None else None)
            if reason:
                item.outcome, item.message = O.FILTERED, reason
            elif item.link is not None and self.is_echo(item):
                item.outcome, item.message = O.ECHO, "No change since the last sync (our own write coming back)."
            items.append(item)
        live = [i for i in items if i.outcome is None]
        parent_ids = self.resolve_parents(live, depth)
        self.resolve_counterparts(live)
        self.recover_interrupted_creates(live)
        self.adopt_opposite_creates(live)
        self.read_targets([i for i in live if i.target_id and i.outcome is None], targets)
        for item in live:
            if item.outcome is None:
                self.plan(item, parent_ids)
        self.write(live, result)
        checkpoint = self._checkpoint(items, result)
        return result, checkpoint

    # --- 2. gate and filter -----------------------------------------------------------------
    def _primary_email_field(self) -> str | None:
        """The e-mail that identifies a person-like record (contacts, leads). Companies and deals
        have none here even when they carry an address: their test marker is in the name."""

        def is_email(name: str) -> bool:
            info = self.source_schema.get(name)
            return info is not None and (info.type == FieldType.EMAIL or "email" in name.lower())

        declared = self.ctx.object_type(self.source, self.source_object).match_fields
        for name in (self.mapping.match_field_for(self.source), *declared):
            if name and is_email(name):
                return name
        return None

    def gate(self, record: Record) -> str | None:
        if record.deleted:
            return "Deleted in the source system; deletions are not synced."
        integration = self.ctx.integration
        props = record.properties
        email = str(props.get(self.email_field) or "").strip().lower() if self.email_field else ""
        if integration.test_mode:
            if self.email_field:
                marker = (integration.test_email_marker or "").lower()
                if marker and marker not in email:
                    return f"Test mode: the e-mail does not contain “{integration.test_email_marker}”."
            elif self.name_field:
                marker = (integration.test_name_marker or "").lower()
                if marker and marker not in str(props.get(self.name_field) or "").lower():
                    return f"Test mode: the name does not contain “{integration.test_name_marker}”."
        if integration.block_free_emails and email and email.rpartition("@")[2] in FREE_EMAIL_DOMAINS:
            return f"Free e-mail addresses are blocked ({email.rpartition('@')[2]})."
        failure = filters.first_failure(self.filter, props)
        if failure:
            return f"Filter: {failure}."
        return None

    def _linked_elsewhere(self, ids: list[str]) -> dict[str, str]:
        """Records already linked through another mapping of the same object that does not
        sync this way (a HubSpot contact that came from a Dynamics lead is not also a contact)."""
        others = [
            m
            for m in self.ctx.mappings
            if m.pk != self.mapping.pk and m.object_for(self.source) == self.source_object and self.target not in mapping_flows(m)
        ]
        if not others or not ids:
            return {}
        column = "hubspot_id" if self.source == Side.HUBSPOT else "other_id"
        rows = RecordLink.objects.filter(object_mapping__in=others, **{f"{column}__in": ids}).select_related("object_mapping")
        return {getattr(r, column): f"Linked through “{r.object_mapping}”, which syncs only the other way." for r in rows}

    # --- 3. echo check ------------------------------------------------------------------
    def current_hash(self, record: Record) -> str:
        props = record.properties
        return values_hash({s_name: normal(props.get(s_name), s_kind) for _, s_name, _, s_kind, _ in self.plan_fields})

    def is_echo(self, item: Item) -> bool:
        stored = self.source_hash(item.link)
        return bool(stored) and stored == self.current_hash(item.record)

    # --- 4a. parents before children ------------------------------------------------------
    def _association_fields(self) -> list[tuple[FieldMapping, str, str | None]]:
        """(field mapping, source reference type, target reference type) of association fields."""
        out = []
        for fm in self.fields:
            info = self.source_schema.get(self.src(fm))
            if fm.transform != FieldMapping.Transform.ASSOCIATION and not (info and info.type == FieldType.REFERENCE):
                continue
            target_info = self.target_schema.get(self.dst(fm))
            ref = info.reference_to if info else None
            if ref:
                out.append((fm, ref, target_info.reference_to if target_info else None))
        return out

    def resolve_parents(self, items: list[Item], depth: int) -> dict[tuple[str, str], str]:
        """{(source parent type, source parent id): target parent id}. Unlinked parents are
        synced first through their own mapping; what still is not linked is reported."""
        assoc = self._association_fields()
        if not assoc or not items:
            return {}
        wanted: dict[tuple[str, str | None], set[str]] = {}
        for item in items:
            for fm, ref, target_ref in assoc:
                value = item.record.properties.get(self.src(fm))
                if not is_empty(value):
                    wanted.setdefault((ref, target_ref), set()).add(str(value))
        resolved: dict[tuple[str, str], str] = {}
        for (ref, target_ref), ids in wanted.items():
            found = self._parent_links(ref, target_ref, ids)
            missing = ids - set(found)
            if missing and depth < MAX_PARENT_DEPTH:
                parent_mapping = self.ctx.parent_mapping(self.source, ref, target_ref)
                if parent_mapping is not None:
                    self._sync_parents_first(parent_mapping, ref, sorted(missing), depth)
                    found = self._parent_links(ref, target_ref, ids)
            resolved.update({(ref, source_id): target_id for source_id, target_id in found.items()})
        return resolved

    def _parent_links(self, ref: str, target_ref: str | None, ids: set[str]) -> dict[str, str]:
        source_obj, source_id = ("hubspot_object", "hubspot_id") if self.source == Side.HUBSPOT else ("other_object", "other_id")
        target_obj, target_id = ("other_object", "other_id") if self.source == Side.HUBSPOT else ("hubspot_object", "hubspot_id")
        qs = RecordLink.objects.filter(integration=self.ctx.integration, **{source_obj: ref, f"{source_id}__in": list(ids)})
        if target_ref:
            qs = qs.filter(**{target_obj: target_ref})
        return dict(qs.values_list(source_id, target_id))

    def _sync_parents_first(self, parent_mapping: ObjectMapping, ref: str, ids: list[str], depth: int) -> None:
        parent_flow = Flow(self.ctx, parent_mapping, self.source)
        for batch in chunked(ids, self.source_connector.max_batch_read):
            records = self.source_connector.read_by_ids(ref, batch)
            if not records:
                continue
            _, checkpoint = parent_flow.process(records, depth + 1)
            with transaction.atomic():
                checkpoint()

    # --- 5. resolve counterparts --------------------------------------------------------
    def resolve_counterparts(self, items: list[Item]) -> None:
        for item in items:
            if item.link is not None:
                item.target_id = self.link_target_id(item.link)
        unlinked = [i for i in items if i.link is None and i.outcome is None]
        source_match, target_match = self.mapping.match_field_for(self.source), self.mapping.match_field_for(self.target)
        if not unlinked or not source_match or not target_match:
            return
        by_value: dict[str, list[Item]] = {}
        for item in unlinked:
            value = str(item.record.properties.get(source_match) or "").strip().lower()
            if value:
                by_value.setdefault(value, []).append(item)
        if not by_value:
            return
        found = self._find_targets(target_match, sorted(by_value))
        candidates = {str(r.id) for records in found.values() for r in records}
        taken = self._taken_target_ids(candidates)
        for value, group in by_value.items():
            match = next((r for r in found.get(value, []) if str(r.id) not in taken and not r.deleted), None)
            if match is not None:
                first = group[0]
                first.target_id, first.target, first.matched = str(match.id), match, True
                first.notes.append(f"Matched an existing record by {target_match} {value}.")
                taken.add(str(match.id))
            for twin in group[1 if match is not None else 1 :]:
                twin.outcome = O.DEFERRED
                twin.message = f"Another record with {source_match} {value} is synced first."
                twin.retry_later = True

    def _find_targets(self, field_name: str, values: list[str]) -> dict[str, list[Record]]:
        """The batched match look-up, one call per chunk of values, the chunks in flight together."""
        connector = self.target_connector
        calls = (
            (None, partial(connector.find_by, self.target_object, field_name, chunk))
            for chunk in chunked(values, connector.match_chunk_size(self.target_object, field_name))
        )
        found: dict[str, list[Record]] = {}
        for _, part in in_flight(calls, connector.concurrency):
            for value, records in part.items():
                found.setdefault(value, []).extend(records)
        return found

    def _recovery_field(self) -> str:
        """The target field that finds a record we may have created without hearing back."""
        match = self.mapping.match_field_for(self.target)
        if match:
            return match
        written = {self.dst(f) for f in self.fields}
        declared = self.ctx.object_type(self.target, self.target_object).match_fields
        return next((f for f in (*declared, *NAME_FIELDS) if f in written), "")

    def recover_interrupted_creates(self, items: list[Item]) -> None:
        """Records whose last create had no answer: link what that create made, if it did."""
        unlinked = {i.id: i for i in items if i.target_id is None and i.outcome is None}
        if not unlinked:
            return
        pending = list(
            PendingCreate.objects.filter(object_mapping=self.mapping, source_side=self.source, source_id__in=list(unlinked))
        )
        if not pending:
            return
        self._pending |= {p.source_id for p in pending}
        by_field: dict[str, list[PendingCreate]] = {}
        for row in pending:
            if row.field and row.value:
                by_field.setdefault(row.field, []).append(row)
        for field_name, rows in by_field.items():
            try:
                found = self.target_connector.find_by(self.target_object, field_name, sorted({r.value for r in rows}))
            except ConnectorError as exc:
                if exc.kind != ErrorKind.CONFIG:
                    raise
                # The vendor cannot look this field up: the reverse flow will meet the record in
                # its change feed and adopt it (adopt_opposite_creates). Until then, wait.
                grace = timedelta(seconds=tuning("SYNC_PENDING_GRACE_SECONDS", PENDING_GRACE.total_seconds()))
                for row in rows:
                    if timezone.now() - row.created_at < grace:
                        item = unlinked[row.source_id]
                        item.outcome, item.retry_later = O.DEFERRED, True
                        item.message = "An earlier create got no answer; waiting to see whether it went through."
                continue
            candidates = {str(r.id) for records in found.values() for r in records}
            taken = self._taken_target_ids(candidates)
            for row in rows:
                match = next(
                    (r for r in found.get(row.value.strip().lower(), []) if str(r.id) not in taken and not r.deleted), None
                )
                if match is not None:
                    item = unlinked[row.source_id]
                    item.target_id, item.target, item.matched = str(match.id), match, True
                    item.notes.append(
                        f"Linked to the {self.target_object} an interrupted create had made ({field_name} {row.value})."
                    )
                    taken.add(str(match.id))

    def adopt_opposite_creates(self, items: list[Item]) -> None:
        """A record of ours that the other flow created without hearing back: link, never copy back."""
        unlinked = [i for i in items if i.target_id is None and i.outcome is None]
        if not unlinked:
            return
        rows = [
            r for r in PendingCreate.objects.filter(object_mapping=self.mapping, source_side=self.target) if r.field and r.value
        ]
        if not rows:
            return
        by_key = {(r.field, r.value.strip().lower()): r for r in rows}
        for item in unlinked:
            for (field_name, value), row in list(by_key.items()):
                if str(item.record.properties.get(field_name) or "").strip().lower() == value:
                    item.target_id, item.matched = row.source_id, True
                    item.notes.append(f"This is the record an interrupted create made for {self.target} {row.source_id}.")
                    self._adopted.append(row)
                    del by_key[(field_name, value)]
                    break

    def _remember_creates(self, batch: list[Item]) -> None:
        if self.mapping.match_field_for(self.target) and self.mapping.match_field_for(self.source):
            return  # every retry looks the record up by its match field anyway
        rows = [
            PendingCreate(
                object_mapping=self.mapping,
                source_side=self.source,
                source_id=i.id,
                field=self.recovery_field,
                value=str(i.writes.get(self.recovery_field) or "")[:500],
            )
            for i in batch
        ]
        with transaction.atomic():
            PendingCreate.objects.filter(
                object_mapping=self.mapping, source_side=self.source, source_id__in=[i.id for i in batch]
            ).delete()
            PendingCreate.objects.bulk_create(rows)
        self._pending |= {i.id for i in batch}

    def _forget_creates(self, ids: list[str]) -> None:
        ids = [i for i in ids if i in self._pending]
        if ids:
            PendingCreate.objects.filter(object_mapping=self.mapping, source_side=self.source, source_id__in=ids).delete()
            self._pending -= set(ids)

    def _taken_target_ids(self, ids: set[str]) -> set[str]:
        column = "other_id" if self.source == Side.HUBSPOT else "hubspot_id"
        return set(
            RecordLink.objects.filter(object_mapping=self.mapping, **{f"{column}__in": list(ids)}).values_list(column, flat=True)
        )

    def read_targets(self, items: list[Item], known: Mapping[str, Record] | None = None) -> None:
        need = [i for i in items if i.target is None]
        if not need:
            return
        connector = self.target_connector
        current: dict[str, Record] = {i.target_id: known[i.target_id] for i in need if known and i.target_id in known}
        calls = (
            (None, partial(connector.read_by_ids, self.target_object, batch))
            for batch in chunked([i.target_id for i in need if i.target_id not in current], connector.max_batch_read)
        )
        for _, records in in_flight(calls, connector.concurrency):
            for record in records:
                current[str(record.id)] = record
        for item in need:
            item.target = current.get(item.target_id)
            if item.target is None or item.target.deleted:
                # The counterpart is gone: forget the link, treat the record as new.
                item.notes.append(f"The linked {self.target_object} {item.target_id} no longer exists; a new one is created.")
                if item.link is not None and item.link.pk:
                    item.link.delete()
                item.link, item.target_id, item.target = None, None, None

    # --- 4b/6/7. transform, conflict and diff per field -----------------------------------
    def plan(self, item: Item, parents: dict[tuple[str, str], str]) -> None:
        props = item.record.properties
        target_props = item.target.properties if item.target is not None else {}
        creating = item.target_id is None
        if creating and self.mapping.create_policy != ObjectMapping.CreatePolicy.CREATE:
            item.outcome = O.FILTERED
            item.message = f"No matching {self.target_object} and this mapping only updates existing records."
            return
        source_base = self.source_values(item.link) if item.link is not None else {}
        target_base = self.target_values(item.link) if item.link is not None else {}
        for fm, s_name, t_name, s_kind, t_kind in self.plan_fields:
            if s_name not in props:
                continue  # not read: never blank a field we did not see
            try:
                if s_kind == t_kind and s_kind in PLAIN_TYPES and not fm.value_map:
                    value = props[s_name]  # text to text of the same kind: nothing to transform
                    new = value if value is None or isinstance(value, str) else convert(value, t_kind)
                else:
                    new = self.transform(fm, props[s_name], parents)
            except Unmatched as exc:
                item.unmatched.append(exc.detail)
                item.notes.append(str(exc))
                continue
            except ConversionError as exc:
                item.notes.append(f"{s_name}: {exc}")
                continue
            except DeferParent as exc:
                item.waiting_for.append(exc.waiting_for)
                item.notes.append(str(exc))
                continue
            s_norm = normal(props[s_name], s_kind)
            new_norm = normal(new, t_kind)
            if creating:
                if new_norm is not None:
                    item.writes[t_name] = new
                item.source_base[s_name], item.target_base[t_name] = s_norm, new_norm
                continue
            t_norm = normal(target_props.get(t_name), t_kind)
            if new_norm == t_norm:
                item.source_base[s_name], item.target_base[t_name] = s_norm, t_norm
                continue
            if fm.only_if_target_empty and t_norm is not None:
                item.source_base[s_name], item.target_base[t_name] = s_norm, t_norm
                continue
            s_changed = source_base.get(s_name, MISSING) != s_norm
            t_changed = target_base.get(t_name, MISSING) != t_norm
            source_wins = fm.winner == self.source
            if t_name not in target_props and not item.matched:
                t_changed = False  # the target did not report the field: treat as unchanged
            if t_norm is None and t_name not in target_base:
                t_changed = False  # filling an empty field of a newly matched record is no conflict
            if s_norm is None and s_name not in source_base:
                s_changed = False  # an empty field never blanks the counterpart of a newly matched record
            if s_changed and t_changed:
                kept, lost = (new, target_props.get(t_name)) if source_wins else (target_props.get(t_name), props[s_name])
                item.conflicts[t_name] = {
                    "winner": fm.winner,
                    "kept": kept,
                    "lost": lost,
                    "source_field": s_name,
                    "target_field": t_name,
                }
                if not source_wins:
                    self._queue_reverse(item)
                    continue
            elif not s_changed and (t_changed or not source_wins):
                if not t_changed:
                    self._queue_reverse(item)
                continue  # the target's change (or the winner's value) flows the other way
            item.writes[t_name] = new
            item.source_base[s_name], item.target_base[t_name] = s_norm, new_norm
        if item.matched:
            self._queue_reverse(item)  # what the counterpart knows better flows back in this run
        self._defer_if_parent_missing(item)

    def _queue_reverse(self, item: Item) -> None:
        if item.target_id and self.source in mapping_flows(self.mapping):
            self.ctx.reverse_pending[(self.mapping.pk, self.target)].add(item.target_id)

    def _defer_if_parent_missing(self, item: Item) -> None:
        """Never create an orphan: a new record whose parent is not linked yet (or an update whose
        target type needs that parent) waits in the deferred queue for it."""
        if item.waiting_for:
            needs_parent = set(self.ctx.object_type(self.target, self.target_object).parents)
            blocking = [w for w in item.waiting_for if w.get("target_object") in needs_parent or item.target_id is None]
            if blocking:
                item.outcome = O.DEFERRED
                item.message = "Waiting for " + ", ".join(f"{w['object']} {w['id']}" for w in blocking) + " to be synced first."
                item.retry_later = True
                return

    def transform(self, fm: FieldMapping, value: Any, parents: dict[tuple[str, str], str]) -> Any:
        if is_empty(value):
            return None
        if fm.value_map:
            mapped = fm.value_map.get(str(value))
            if mapped is not None:
                return mapped
        s_info, t_info = self.source_schema.get(self.src(fm)), self.target_schema.get(self.dst(fm))
        s_kind, t_kind = self.src_kind(fm), self.dst_kind(fm)
        if fm.transform == FieldMapping.Transform.ASSOCIATION or s_kind == FieldType.REFERENCE:
            ref = s_info.reference_to if s_info else ""
            target_id = parents.get((ref, str(value)))
            if target_id is None:
                raise DeferParent(
                    f"{ref} {value} is not synced yet",
                    {"object": ref, "id": str(value), "target_object": t_info.reference_to if t_info else ""},
                )
            return target_id
        if fm.transform == FieldMapping.Transform.OWNER or s_kind == FieldType.OWNER:
            source_owners = self.ctx.owners(
                self.source, (s_info.reference_to if s_info and s_info.reference_to else self.ctx.owner_object(self.source))
            )
            target_owners = self.ctx.owners(
                self.target, (t_info.reference_to if t_info and t_info.reference_to else self.ctx.owner_object(self.target))
            )
            return owner_across(value, source_owners, target_owners, self.src(fm))
        if s_kind == FieldType.ENUM and t_kind == FieldType.ENUM and s_info and t_info:
            if self.source == Side.HUBSPOT:
                return dropdown_to_other(value, s_info, t_info)
            return dropdown_to_hubspot(
                value, s_info, t_info, lambda label: self.ctx.add_hubspot_option(self.target_object, t_info.name, label)
            )
        if s_kind == FieldType.ENUM and s_info is not None and t_kind != FieldType.ENUM:
            option = s_info.option_by_value(str(value))
            value = option.label if option else value
        if t_kind == FieldType.ENUM:
            if t_info is not None and t_info.options and not t_info.option_by_value(str(value)):
                label_match = next((o for o in t_info.options if o.label == str(value)), None)
                if label_match is not None:
                    return label_match.value
                raise Unmatched(f"No option of {t_info.name} matches “{value}”", {"property": self.src(fm), "value": str(value)})
            return str(value)
        return convert(value, t_kind)

    # --- 7. writes ---------------------------------------------------------------------
    def write(self, items: list[Item], result: PageResult) -> None:
        creates = [i for i in items if i.outcome is None and i.target_id is None]
        self._create(creates, result)
        updates = [i for i in items if i.outcome is None and i.target_id is not None and i.writes]
        self._update(updates, result)
        for item in items:
            if item.outcome is None:
                item.outcome = O.LINKED if item.matched else (O.CONFLICT if item.conflicts else O.UNCHANGED)

    def _create(self, items: list[Item], result: PageResult) -> None:
        relinked: list[Item] = []
        connector = self.target_connector

        def sends() -> Iterator[tuple[list[Item], Callable[[], list[WriteResult]]]]:
            for batch in chunked(items, connector.max_batch_write):
                self._remember_creates(batch)  # committed before the call: a kill now cannot duplicate
                self.ctx.keep_alive()
                yield batch, partial(connector.create, self.target_object, [WriteInput(dict(i.writes), ref=i.id) for i in batch])

        for batch, results in in_flight(sends(), connector.concurrency):
            self.ctx.counts[f"writes_{self.target}"] += len(batch)
            result.writes += len(batch)
            created = []
            for item, outcome in zip(batch, self._in_order(batch, results)):
                if outcome.ok and outcome.id:
                    item.target_id, item.outcome = str(outcome.id), O.CREATED
                    self._adopt_written(item, outcome)
                    created.append(item)
                elif outcome.error is not None and outcome.error.kind == ErrorKind.CONFLICT and outcome.error.existing_id:
                    # HubSpot 409: a record with this e-mail exists. Link to it instead of failing.
                    item.target_id, item.matched = str(outcome.error.existing_id), True
                    item.notes.append(f"Linked to the existing {self.target_object} {item.target_id} ({outcome.error.message}).")
                    relinked.append(item)
                else:
                    self._fail(item, outcome.error)
            self._save_new_links(created)  # at once: a crash now must not create them again
            self._forget_creates([i.id for i in batch if not (i.error and i.error.get("kind") in UNCERTAIN_KINDS)])
        if relinked:
            self.read_targets(relinked)
            for item in relinked:
                item.writes, item.source_base, item.target_base = {}, {}, {}
                if item.target_id is None:
                    self._fail(item, ConnectorError("The existing record could not be read", ErrorKind.NOT_FOUND))
                    continue
                self.plan(item, self._parents_from(item))
            self._update([i for i in relinked if i.outcome is None and i.writes], result)

    def _parents_from(self, item: Item) -> dict[tuple[str, str], str]:
        return self.resolve_parents([item], MAX_PARENT_DEPTH)

    def _update(self, items: list[Item], result: PageResult) -> None:
        connector = self.target_connector

        def sends() -> Iterator[tuple[list[Item], Callable[[], list[WriteResult]]]]:
            for batch in chunked(items, connector.max_batch_write):
                self.ctx.keep_alive()
                yield (
                    batch,
                    partial(
                        connector.update,
                        self.target_object,
                        [WriteInput(dict(i.writes), id=i.target_id, ref=i.id) for i in batch],
                    ),
                )

        for batch, results in in_flight(sends(), connector.concurrency):
            self.ctx.counts[f"writes_{self.target}"] += len(batch)
            result.writes += len(batch)
            for item, outcome in zip(batch, self._in_order(batch, results)):
                if outcome.ok:
                    item.outcome = O.LINKED if item.matched else (O.CONFLICT if item.conflicts else O.UPDATED)
                    self._adopt_written(item, outcome)
                else:
                    self._fail(item, outcome.error)

    @staticmethod
    def _in_order(batch: list[Item], results: list[WriteResult]) -> list[WriteResult]:
        by_ref = {r.ref: r for r in results if r.ref is not None}
        if len(by_ref) == len(batch):
            return [
                by_ref.get(i.id) or WriteResult(i.id, error=ConnectorError("No result for this record", ErrorKind.SERVER))
                for i in batch
            ]
        return list(results) + [WriteResult(None, error=ConnectorError("No result for this record", ErrorKind.SERVER))] * (
            len(batch) - len(results)
        )

    def _adopt_written(self, item: Item, outcome: WriteResult) -> None:
        """Baseline in the target's own spelling when the vendor echoed the record back."""
        if outcome.record is None:
            return
        for _, _, t_name, _, t_kind in self.plan_fields:
            if t_name in item.writes and t_name in outcome.record.properties:
                item.target_base[t_name] = normal(outcome.record.properties[t_name], t_kind)

    def _fail(self, item: Item, error: ConnectorError | None) -> None:
        error = error or ConnectorError("The vendor rejected this record without a reason", ErrorKind.SERVER)
        item.error = error.as_dict()
        item.message = error.message
        if error.retryable:
            item.outcome, item.retry_later = O.DEFERRED, True
            item.message = f"Will retry: {error.message}"
        elif self._only_missing_parents(error):
            # The vendor insists on a parent this record does not have yet (a ConnectWise
            # contact needs a company): wait for it rather than fail or create an orphan.
            item.outcome, item.retry_later = O.DEFERRED, True
            item.waiting_for.extend(
                {"object": self.target_schema.get(f).reference_to or f, "id": "", "target_object": ""} for f in error.fields
            )
            item.message = f"Waiting for a parent: {error.message}"
        else:
            item.outcome = O.FAILED

    def _only_missing_parents(self, error: ConnectorError) -> bool:
        if error.kind != ErrorKind.VALIDATION or not error.fields:
            return False
        kinds = [self.target_schema.kind(f) for f in error.fields]
        return all(kind == FieldType.REFERENCE for kind in kinds)

    # --- 8. checkpoint -------------------------------------------------------------------
    def _new_link(self, item: Item) -> RecordLink:
        hub_id, other_id = (item.id, item.target_id) if self.source == Side.HUBSPOT else (item.target_id, item.id)
        return RecordLink(
            integration=self.ctx.integration,
            object_mapping=self.mapping,
            hubspot_object=self.mapping.hubspot_object,
            other_object=self.mapping.other_object,
            hubspot_id=hub_id,
            other_id=other_id,
        )

    def _apply_baseline(self, item: Item) -> None:
        link = item.link
        source_values, target_values = dict(self.source_values(link)), dict(self.target_values(link))
        source_values.update(item.source_base)
        target_values.update(item.target_base)
        if self.source == Side.HUBSPOT:
            link.hubspot_values, link.other_values = source_values, target_values
        else:
            link.other_values, link.hubspot_values = source_values, target_values
        link.hubspot_hash = self._hash_for(Side.HUBSPOT, link.hubspot_values)
        link.other_hash = self._hash_for(Side.OTHER, link.other_values)

    def _hash_for(self, side: str, values: dict[str, Any]) -> str:
        """Hash of the values a side sends (the fields flowing from it); '' when one is unknown."""
        names = [
            f.hubspot_field if side == Side.HUBSPOT else f.other_field
            for f in (self.fields if side == self.source else self.reverse_fields)
        ]
        if any(name not in values for name in names):
            return ""
        return values_hash({name: values[name] for name in names})

    def _save_new_links(self, items: list[Item]) -> None:
        if not items:
            return
        for item in items:
            item.link = self._new_link(item)
            self._apply_baseline(item)
            item.baseline_saved = True
        with transaction.atomic():
            RecordLink.objects.bulk_create([i.link for i in items], batch_size=500)

    def _checkpoint(self, items: list[Item], result: PageResult) -> Callable[[], None]:
        now = timezone.now()
        new_links, changed_links, done_ids, deferred, events = [], [], [], [], []
        self._give_up_on_hopeless([i for i in items if i.retry_later])
        for item in items:
            synced = item.outcome in (O.CREATED, O.UPDATED, O.UNCHANGED, O.LINKED, O.CONFLICT, O.ECHO, O.FILTERED)
            if item.outcome in (O.CREATED, O.UPDATED, O.UNCHANGED, O.LINKED, O.CONFLICT) and item.target_id:
                if item.link is None:
                    item.link = self._new_link(item)
                    self._apply_baseline(item)
                    new_links.append(item.link)
                elif not item.baseline_saved:
                    self._apply_baseline(item)
                    changed_links.append(item.link)
            if synced:
                done_ids.append(item.id)
            if item.retry_later:
                deferred.append(item)
            events.append(self._event(item, now))
        result.events = events

        def checkpoint() -> None:
            if new_links:
                self._bulk_create_links(new_links)
            if changed_links:
                RecordLink.objects.bulk_update(
                    [l for l in changed_links if l.pk],
                    ["hubspot_values", "other_values", "hubspot_hash", "other_hash", "updated_at"],
                    batch_size=500,
                )
            if self._pending:
                self._forget_creates([i for i in done_ids if i in self._pending])
            if self._adopted:
                adopted_ids = [r.source_id for r in self._adopted]
                PendingCreate.objects.filter(pk__in=[r.pk for r in self._adopted]).delete()
                DeferredRecord.objects.filter(
                    object_mapping=self.mapping, source_side=self.target, record_id__in=adopted_ids
                ).delete()
                self._adopted = []
            if done_ids:
                DeferredRecord.objects.filter(
                    object_mapping=self.mapping, source_side=self.source, record_id__in=done_ids
                ).delete()
            if deferred:
                self._defer(deferred, now)
            self.ctx.save_events(events)

        return checkpoint

    def _bulk_create_links(self, links: list[RecordLink]) -> None:
        for link in links:
            link.updated_at = timezone.now()
        try:
            with transaction.atomic():
                RecordLink.objects.bulk_create(links, batch_size=500)
        except IntegrityError:
            # A concurrent page linked one of these already (a retried page): keep theirs.
            for link in links:
                try:
                    with transaction.atomic():
                        link.save()
                except IntegrityError:
                    pass

    def _give_up_on_hopeless(self, items: list[Item]) -> None:
        """A record deferred MAX_ATTEMPTS times fails, visibly, instead of waiting forever."""
        if not items:
            return
        attempts = dict(
            DeferredRecord.objects.filter(
                object_mapping=self.mapping, source_side=self.source, record_id__in=[i.id for i in items]
            ).values_list("record_id", "attempts")
        )
        for item in items:
            if attempts.get(item.id, 0) + 1 >= DeferredRecord.MAX_ATTEMPTS:
                item.outcome = O.FAILED
                item.message = f"Gave up after {DeferredRecord.MAX_ATTEMPTS} tries: {item.message}"

    def _defer(self, items: list[Item], now) -> None:
        existing = {
            d.record_id: d
            for d in DeferredRecord.objects.filter(
                object_mapping=self.mapping, source_side=self.source, record_id__in=[i.id for i in items]
            )
        }
        for item in items:
            row = existing.get(item.id)
            attempts = (row.attempts + 1) if row else 1
            values = dict(
                reason=item.message[:2000],
                waiting_for=item.waiting_for,
                attempts=attempts,
                next_attempt_at=now + DeferredRecord.backoff(attempts),
            )
            if row is None:
                DeferredRecord.objects.create(
                    integration=self.ctx.integration,
                    object_mapping=self.mapping,
                    source_side=self.source,
                    record_id=item.id,
                    **values,
                )
            else:
                DeferredRecord.objects.filter(pk=row.pk).update(**values)

    def _event(self, item: Item, now) -> RecordEvent:
        details: dict[str, Any] = {}
        if item.conflicts:
            details["conflicts"] = item.conflicts
        if item.unmatched:
            details["unmatched"] = item.unmatched
        if item.error:
            details["error"] = item.error
        if item.waiting_for:
            details["waiting_for"] = item.waiting_for
        if item.notes:
            details["notes"] = item.notes
        fields = sorted(item.writes) if item.outcome in (O.CREATED, O.UPDATED, O.CONFLICT, O.LINKED) else []
        if item.error and item.error.get("fields"):
            fields = list(item.error["fields"])
        if item.conflicts:
            fields = sorted(set(fields) | set(item.conflicts))
        message = item.message or "; ".join(item.notes)
        if item.outcome == O.CONFLICT and not item.message:
            message = "Both sides changed " + ", ".join(sorted(item.conflicts)) + "; the system of record won."
        return RecordEvent(
            object_mapping=self.mapping,
            source_side=self.source,
            source_object=self.source_object,
            source_id=item.id,
            target_id=item.target_id or "",
            outcome=item.outcome,
            message=message[:4000],
            fields=fields,
            details=details,
            created_at=now,
        )

    def _links_for(self, ids: list[str]) -> dict[str, RecordLink]:
        column = "hubspot_id" if self.source == Side.HUBSPOT else "other_id"
        return {getattr(l, column): l for l in RecordLink.objects.filter(object_mapping=self.mapping, **{f"{column}__in": ids})}
