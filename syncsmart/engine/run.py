"""A run: the integration's flows in dependency order, each page checkpointed.

Order inside a run: the webhook inbox first (fast path for fresh changes), then for every
flow (mapping, source side): records of the reverse flow this run decided to look at, due
deferred records, then the change feed from the stored cursor, worked PAGE_PART records at a
time with one inbox pass after each part while notifications wait (a webhook run works its
whole inbox; any other run one pass at a time, so a steady stream of notifications neither
waits behind a backfill nor stops it). A run can stop after any page (`should_yield`) and
continue later from run.state and the cursors, because every page's links, cursor, inbox marks
and events are committed together (a page's earlier parts commit their links and events without
its cursor: read again after a crash, they are unchanged records).

An idle run (nothing changed anywhere) should cost next to nothing, so the bookkeeping is per
run, not per flow or page: the cursors and the flows with due deferred records are read once;
cancellation, waiting webhooks and waiting tenants are asked in one query, after every page that
did work and otherwise at most once a second; the lease and the heartbeat are renewed only when
due; a page that brought no records commits nothing (its cursor, if it moved, is stored with the
next commit or at the end of the slice: an older cursor only reads again what was empty); and a
flow's schemas are discovered only when a page brings it records.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import dataclasses
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from connectors import http as vendor_http
from connectors.base import UNSURE_TYPE, Page, Record, chunked
from mappings.models import ObjectMapping
from syncsmart.core.choices import Side
from syncsmart.engine import deletions, inclusion_lists, wakeups, webhook_registration
from syncsmart.engine.concurrency import in_flight
from syncsmart.engine.config import engine_settings
from syncsmart.engine.context import RunContext
from syncsmart.engine.control import LeaseLost, RunCancelled, RunHints, RunSignals, WorkspaceBlocked
from syncsmart.engine.flow.page import Flow
from syncsmart.engine.lease import lease_seconds
from syncsmart.models import DeferredRecord, InboxItem, RecordEvent, RecordLink, SyncCursor, SyncRun

log = logging.getLogger("syncsmart.engine")

INBOX_BATCH = 500
# A change-feed page is worked and committed this many records at a time, the inbox served between parts.
PAGE_PART = 500
# Between pages that did no work, the run asks about cancellation, webhooks and waiting tenants at most this often.
POLL_EVERY_SECONDS = 1.0
# Vendor reads of one inbox pass in flight at once (each side's records and their counterparts).
INBOX_READS_IN_FLIGHT = 4


class Engine:
    def __init__(
        self,
        ctx: RunContext,
        *,
        historical: bool = False,
        renew: Callable[[], bool] | None = None,
        out_of_time: Callable[[], bool] | None = None,
        poll: Callable[[], RunSignals] | None = None,
        hints: RunHints | None = None,
    ):
        self.ctx = ctx
        self.run = ctx.run
        self.kind = SyncCursor.Kind.HISTORICAL if historical else SyncCursor.Kind.INCREMENTAL
        self.renew = renew or (lambda: True)
        ctx.renew = self.renew
        self.out_of_time = out_of_time or (lambda: False)
        self.poll = poll or RunSignals
        # The run row was read just now: that answers the first second's questions.
        self._signals = RunSignals(cancelled=bool(self.run is not None and self.run.cancel_requested))
        self._polled_at = time.monotonic()
        self.state: dict[str, Any] = dict(self.run.state) if self.run is not None else {}
        for key, ids in self.state.pop("reverse", {}).items():
            mapping_id, side = key.split(":")
            ctx.reverse_pending[(int(mapping_id), side)].update(ids)
        self._flows: dict[tuple[int, str], Flow] = {}
        self._cursors: dict[tuple[int, str], SyncCursor] | None = None
        self._unsaved_cursors: dict[tuple[int, str], SyncCursor] = {}
        self._due: set[tuple[int, str]] | None = None
        self.hints = hints or RunHints()
        if not self.hints.deferred_due:
            self._due = set()  # the state read saw none due

    def flow(self, mapping: ObjectMapping, side: str) -> Flow:
        """The flow's transformer; built (schemas discovered) the first time a page has records for it."""
        key = (mapping.pk, side)
        if key not in self._flows:
            self._flows[key] = Flow(self.ctx, mapping, side)
        return self._flows[key]

    # --- one page, committed as a unit -------------------------------------------------------
    def page(
        self,
        mapping: ObjectMapping,
        side: str,
        records: list[Record],
        *,
        cursor: SyncCursor | None = None,
        new_cursor: Any = None,
        inbox_ids: Iterable[int] = (),
        targets: Mapping[str, Record] | None = None,
    ) -> None:
        inbox_ids = list(inbox_ids)
        if not records:
            self._quiet_page(mapping, side, cursor, new_cursor, inbox_ids)
            return
        checkpoint = self.flow(mapping, side).process(records, targets=targets)
        with transaction.atomic():
            self._still_ours()
            checkpoint()
            if cursor is not None:
                cursor.cursor = new_cursor
                self._unsaved_cursors[(mapping.pk, side)] = cursor
            self._save_cursors()
            if inbox_ids:
                self.ctx.finish_inbox(inbox_ids)
            self.ctx.heartbeat(pages=1, processed=len(records))

    def _quiet_page(
        self, mapping: ObjectMapping, side: str, cursor: SyncCursor | None, new_cursor: Any, inbox_ids: list[int]
    ) -> None:
        """A page without records has no links or events to commit with its cursor."""
        if cursor is not None and new_cursor != cursor.cursor:
            cursor.cursor = new_cursor
            self._unsaved_cursors[(mapping.pk, side)] = cursor
        if inbox_ids:  # notifications about records that are gone: done, with whatever cursors wait
            with transaction.atomic():
                self._still_ours()
                self._save_cursors()
                self.ctx.finish_inbox(inbox_ids)
        self.ctx.heartbeat_if_due(lease_seconds() / 3)

    def _still_ours(self) -> None:
        if not self.renew():
            raise LeaseLost("The run's lease expired and another worker took the integration over.")

    def _save_cursors(self) -> None:
        """Store the cursors that moved, in the caller's transaction: one UPDATE for all of them."""
        if not self._unsaved_cursors:
            return
        rows, self._unsaved_cursors = list(self._unsaved_cursors.values()), {}
        now = timezone.now()
        stored = []
        for row in rows:
            row.updated_at = now
            if row.pk is None:
                row.save()  # the flow's first cursor
            else:
                stored.append(row)
        if len(stored) == 1:
            stored[0].save(update_fields=["cursor", "updated_at"])
        elif stored:
            SyncCursor.objects.bulk_update(stored, ["cursor", "updated_at"])

    def _commit_quiet_cursors(self) -> None:
        if self._unsaved_cursors:
            with transaction.atomic():
                self._still_ours()
                self._save_cursors()

    # --- what the world asks of the run --------------------------------------------------
    def _check(self, *, worked: bool) -> RunSignals:
        """Cancellation, a suspended workspace, waiting webhooks and waiting tenants: asked after a page that did work,
        else at most once a second (a quiet run must not pay a query per flow)."""
        if worked or time.monotonic() - self._polled_at >= POLL_EVERY_SECONDS:
            self._polled_at = time.monotonic()
            self._signals = self.poll()
        if self._signals.cancelled:
            raise RunCancelled()
        if self._signals.blocked:
            raise WorkspaceBlocked(self._signals.blocked)
        return self._signals

    def should_yield(self, *, worked: bool) -> bool:
        """After a page: stop when the slice is used up, or when another tenant's run waits (slices.poll)."""
        return self.out_of_time() or self._check(worked=worked).others_waiting

    # --- phases ------------------------------------------------------------------------
    def execute(self) -> bool:
        """Work until done (True) or until asked to yield after a page (False)."""
        done = self._work()
        self._commit_quiet_cursors()
        return done

    def _work(self) -> bool:
        if not self.state.get("lifecycle_checked"):
            # Once per run: webhooks the vendors lost come back; linked ids gone missing are noticed.
            if self.hints.webhook_check_due:
                webhook_registration.keep_registered(self.ctx.integration)
            deletions.reconcile_due(self.ctx)
            self.state["lifecycle_checked"] = True
        # Webhook runs work the whole inbox; any other run one pass here and one after each page part
        # (_read_page), so a steady stream of notifications never holds its flows back.
        webhook_run = self.run is not None and self.run.trigger == SyncRun.Trigger.WEBHOOK
        if self.hints.inbox_waiting and not self._drain_inbox(passes=None if webhook_run else 1):
            return False
        if self.state.get("records"):
            return self._retry_records()
        flows = self.ctx.flows(self._only_mapping())
        step = int(self.state.get("step", 0))
        while step < len(flows):
            mapping, side = flows[step]
            if not self._run_flow(mapping, side):
                return False
            step += 1
            self.state["step"], self.state["phase"] = step, "reverse"
            if step < len(flows) and self.should_yield(worked=False):
                return False
        if self.hints.deletions_waiting or self.ctx.deletions_noticed:
            deletions.apply_pending(self.ctx)
        if self.run is not None and self.run.trigger == SyncRun.Trigger.WEBHOOK:
            return self._stay_for_webhooks()
        return True

    def _stay_for_webhooks(self) -> bool:
        """A webhook run works what arrived meanwhile and ends, releasing its worker, as soon as
        its inbox is empty and no notification is in flight: the vendors' notifications of this
        run's own writes (echoes), which a new run would otherwise start for only to find them
        ours. While echoes are awaited (up to SYNC_WEBHOOK_LINGER_SECONDS after the last write)
        the run is woken by the intake's announcement (Redis pub/sub; a short poll without
        Redis), and any notification arriving meanwhile is worked at once. It leaves at once
        when another run waits for a worker."""
        linger = engine_settings().webhook_linger_seconds
        deadline = time.monotonic() + linger
        with wakeups.InboxBell(self.ctx.integration.pk) as bell:
            woken = True
            while True:
                if woken and self._inbox_pending():
                    writes = self._writes()
                    if not self._drain_inbox():
                        return False
                    if self._writes() > writes:  # their echoes are on their way
                        deadline = time.monotonic() + linger
                    elif self._writes_settled():
                        return True
                elif woken and self._writes_settled():
                    return True
                if time.monotonic() >= deadline or self.should_yield(worked=False) or self._other_work_waits():
                    return True
                woken = bell.wait(deadline - time.monotonic())

    def _inbox_pending(self) -> bool:
        return InboxItem.objects.filter(integration=self.ctx.integration, status=InboxItem.Status.PENDING).exists()

    def _writes(self) -> int:
        return sum(n for key, n in self.ctx.counts.items() if str(key).startswith("writes_"))

    def _writes_settled(self) -> bool:
        """No echo in flight: the run wrote nothing, or the notifications since its last write
        cover as many records as it wrote then (read by the pass that found them ours)."""
        return self._writes() <= self._echoes_seen()

    def _echoes_seen(self) -> int:
        return int(self.ctx.counts.get(RecordEvent.Outcome.ECHO, 0))

    def _other_work_waits(self) -> bool:
        """Any queued run but this integration's webhook runs (whose notifications this run works)."""
        return (
            SyncRun.objects.filter(status=SyncRun.Status.QUEUED, queued_at__lte=timezone.now())
            .exclude(integration=self.ctx.integration, trigger=SyncRun.Trigger.WEBHOOK)
            .exists()
        )

    def _only_mapping(self) -> ObjectMapping | None:
        if self.run is not None and self.run.object_mapping_id:
            return self.ctx.mapping(self.run.object_mapping_id)
        return None

    def _run_flow(self, mapping: ObjectMapping, side: str) -> bool:
        phase = self.state.get("phase", "reverse")
        if phase == "reverse":
            self._reverse_pending(mapping, side)
            phase = self.state["phase"] = "deferred"
        if phase == "deferred":
            self._due_deferred(mapping, side)
            phase = self.state["phase"] = "changes"
        if self.run is not None and self.run.trigger == SyncRun.Trigger.WEBHOOK:
            return True  # a webhook run syncs just the notified records
        if phase == "changes":
            if not self._changes(mapping, side):
                return False
            self.state["phase"] = "lists"
        self._inclusion_lists(mapping, side)
        return True

    def _inclusion_lists(self, mapping: ObjectMapping, side: str) -> None:
        """After the change feed: records that joined the flow's HubSpot lists sync; linked ones
        that left follow the mapping's delete policy (syncsmart/engine/inclusion_lists.py)."""
        if side != Side.HUBSPOT or not inclusion_lists.lists_of(mapping):
            return
        result = inclusion_lists.changes(self.ctx, mapping)
        for records in self._read_ids(mapping, side, result.joined):
            if records:
                self.page(mapping, side, records)
        left = [r for batch in self._read_ids(mapping, side, result.left) for r in batch if not r.deleted]
        self.ctx.counts["list_joined"] += len(result.joined)
        self.ctx.counts["list_left"] += inclusion_lists.record_left(self.ctx, self.flow(mapping, side).gate, result, left)

    def _read_ids(self, mapping: ObjectMapping, side: str, ids: list[str]) -> list[list[Record]]:
        connector = self.ctx.connector(side)
        return [connector.read_by_ids(mapping.object_for(side), batch) for batch in chunked(ids, connector.max_batch_read)]

    def _reverse_pending(self, mapping: ObjectMapping, side: str) -> None:
        ids = sorted(self.ctx.reverse_pending.pop((mapping.pk, side), set()))
        for records in self._read_ids(mapping, side, ids):
            if records:
                self.page(mapping, side, records)

    def _flows_with_due_records(self) -> set[tuple[int, str]]:
        """(mapping id, side) of every flow with a deferred record due: one query per run."""
        if self._due is None:
            self._due = set(
                self._due_rows(DeferredRecord.objects.filter(integration=self.ctx.integration))
                .values_list("object_mapping_id", "source_side")
                .distinct()
            )
        return self._due

    @staticmethod
    def _due_rows(rows):
        return rows.filter(next_attempt_at__lte=timezone.now(), attempts__lt=DeferredRecord.MAX_ATTEMPTS)

    def _due_deferred(self, mapping: ObjectMapping, side: str) -> None:
        if (mapping.pk, side) not in self._flows_with_due_records():
            return
        due = self._due_rows(DeferredRecord.objects.filter(object_mapping=mapping, source_side=side))
        ids = list(due.values_list("record_id", flat=True)[:INBOX_BATCH])
        seen: set[str] = set()
        for records in self._read_ids(mapping, side, ids):
            seen |= {str(r.id) for r in records}
            if records:
                self.page(mapping, side, records)
        gone = set(ids) - seen
        if gone:  # deleted while waiting: nothing left to sync
            DeferredRecord.objects.filter(object_mapping=mapping, source_side=side, record_id__in=gone).delete()

    def _cursor(self, mapping: ObjectMapping, side: str) -> SyncCursor:
        if self._cursors is None:
            self._cursors = self.ctx.cursor_rows(self.kind)
        return self._cursors[(mapping.pk, side)]

    def _changes(self, mapping: ObjectMapping, side: str) -> bool:
        cursor = self._cursor(mapping, side)
        self._note_full_scan(mapping, side, cursor)
        connector, object_type = self.ctx.connector(side), mapping.object_for(side)
        with PageReader(lambda position: connector.read_changes(object_type, position, connector.max_page_size)) as reader:
            self._check(worked=False)  # a cancelled run reads nothing more
            page = reader.read_now(cursor.cursor)
            while True:
                if page.has_more:
                    reader.read_ahead(page.cursor)  # only the cursor decides the next read: fetch it while this page works
                self._note_total(page)
                self._read_page(mapping, side, page, cursor)
                if not page.has_more:
                    return True
                if self.should_yield(worked=False):
                    return False
                page = reader.take()

    def _read_page(self, mapping: ObjectMapping, side: str, page: Page, cursor: SyncCursor) -> None:
        """A change-feed page, worked PAGE_PART records at a time (a Dynamics page holds 5,000), with
        one inbox pass after each part when notifications wait: webhooks never wait behind a long
        backfill for more than a part and a pass, and a steady stream of them never stops the
        backfill (a pass works what waits, then the next part goes). Only the last part commits the
        page's cursor: after a crash the page is read again and the parts already linked are
        unchanged records."""
        parts = list(chunked(page.records, PAGE_PART)) or [[]]
        for n, part in enumerate(parts):
            if n == len(parts) - 1:
                self.page(mapping, side, part, cursor=cursor, new_cursor=page.cursor)
            else:
                self.page(mapping, side, part)
            if self._check(worked=bool(part)).inbox_waiting:
                self._drain_inbox(passes=1)

    def _note_full_scan(self, mapping: ObjectMapping, side: str, cursor: SyncCursor) -> None:
        """A flow reading from the start (first run, historical resync) matches against the whole
        target object, read once; remembered in the run's state across slices."""
        key = f"{mapping.pk}:{side}"
        scans = self.state.setdefault("full_scan", [])
        if key not in scans and (self.kind == SyncCursor.Kind.HISTORICAL or not cursor.cursor):
            scans.append(key)
        if key in scans:
            self.ctx.full_scan_flows.add((mapping.pk, side))

    def _note_total(self, page: Page) -> None:
        """A historical run shows how far it got when the vendor says how many records there are."""
        total = (page.cursor or {}).get("total") if isinstance(page.cursor, dict) else None
        if not total or self.run is None or self.kind != SyncCursor.Kind.HISTORICAL:
            return
        if int(total) > (self.run.progress_total or 0):
            self.run.progress_total = int(total)
            SyncRun.objects.filter(pk=self.run.pk).update(progress_total=self.run.progress_total)

    def _drain_inbox(self, passes: int | None = None) -> bool:
        """Webhook notifications first: each becomes a read by id, then a normal page. `passes`:
        stop after that many passes (between a backfill's pages), the rest waiting for the next.

        A pass reads its records, and the linked counterparts' current values, side by side
        (`_read_early`) before it works the pages one after another on this thread: the two vendors
        answer in parallel instead of each call queueing behind the previous one. Notifications that
        arrived while a pass read are read while it writes (`_read_ahead`), so the next pass starts
        with their answers."""
        ahead: InboxReadAhead | None = None
        try:
            done = 0
            while passes is None or done < passes:
                done += 1
                items = self._next_inbox_batch()
                if not items:
                    self._signals = dataclasses.replace(self._signals, inbox_waiting=False)
                    return True
                pages, touched = self._inbox_pages(items)
                sources, targets = self._read_early(pages, ahead)
                if ahead is not None:
                    ahead.close()
                ahead = self._read_ahead(items, touched)
                self._work_inbox_pages(pages, sources, targets)
                if self.should_yield(worked=True):
                    return False
            return True
        finally:
            if ahead is not None:
                ahead.close()

    def _next_inbox_batch(self) -> list[InboxItem]:
        """The oldest INBOX_BATCH pending notifications. When that many are waiting (a backlog: an
        e-mail campaign's 20,000 activity notifications), every other side and object waiting gets
        its own oldest INBOX_BATCH too, so a contact edit notified behind the burst is worked in this
        pass, not after every activity notified before it (`_inbox_pages` works parents first)."""
        pending = InboxItem.objects.filter(integration=self.ctx.integration, status=InboxItem.Status.PENDING)
        items = list(pending.order_by("received_at", "id")[:INBOX_BATCH])
        if len(items) < INBOX_BATCH:
            return items
        taken = {(i.side, i.object_type) for i in items}
        for side, object_type in pending.values_list("side", "object_type").distinct().order_by():
            if (side, object_type) not in taken:
                group = pending.filter(side=side, object_type=object_type).order_by("received_at", "id")
                items += list(group[:INBOX_BATCH])
        return items

    def _mapping_rank(self, side: str, object_type: str) -> int:
        """Where a notified object's mapping stands in the dependency order (parents first); the two
        sides of one mapping rank alike, so their notifications keep the order they came in."""
        mappings = self.ctx.mappings
        return next((n for n, m in enumerate(mappings) if m.object_for(side) == object_type), len(mappings))

    def _pending_items(self):
        return InboxItem.objects.filter(integration=self.ctx.integration, status=InboxItem.Status.PENDING).order_by(
            "received_at", "id"
        )

    def _work_inbox_pages(
        self, pages: list[InboxPage], sources: dict[int, list[list[Record]]], targets: dict[int, dict[str, Record]]
    ) -> None:
        for page in pages:
            batches = sources.get(id(page), []) + self._read_ids(page.mapping, page.side, page.late_ids)
            batches = [b for b in batches if b] or [[]]
            # A deletion notification whose record no longer reads back is a deleted record.
            found = {str(r.id) for batch in batches for r in batch}
            batches[-1] = batches[-1] + [Record(i, {}, deleted=True) for i in page.deleted_ids if i not in found]
            for n, records in enumerate(batches):
                last = n == len(batches) - 1 and page.closes_group
                self.page(
                    page.mapping, page.side, records, inbox_ids=page.inbox_ids if last else (), targets=targets.get(id(page))
                )

    def _read_ahead(self, items: list[InboxItem], touched: set[RecordKey]) -> InboxReadAhead | None:
        """Before a pass writes: the notifications that arrived since it looked at the inbox are
        read now, in the background, while it writes; the next pass uses those answers instead of
        reading again. Only what that pass would read early anyway, and never a record this pass
        reads or may write (nor one whose counterpart it does): their reads must follow its writes.
        Not behind a backlog (a full batch): the next pass takes the oldest notifications, not these."""
        if len(items) >= INBOX_BATCH:
            return None
        newer = list(self._pending_items().filter(pk__gt=max(i.pk for i in items))[:INBOX_BATCH])
        if not newer:
            return None
        pages, _ = self._inbox_pages(newer, finish_unmapped=False)
        ahead = InboxReadAhead({i.pk for i in newer})
        for page in pages:
            setup = page.flow.setup
            pairs = [
                (source_id, target_id)
                for source_id, target_id in zip(page.early_ids, page.target_ids, strict=True)
                if (setup.source, setup.source_object, source_id) not in touched
                and (setup.target, setup.target_object, target_id) not in touched
            ]
            ahead.read(page, pairs)
        return ahead if ahead.reads else None

    def _inbox_pages(self, items: list[InboxItem], *, finish_unmapped: bool = True) -> tuple[list[InboxPage], set[RecordKey]]:
        """One page per flow a notification concerns, grouped by side and object, parents' groups
        first (the flows' dependency order: a contact's page is not worked after a burst of its
        activities); the group's inbox rows are marked done with its last page. Also every record
        the pass reads or may write (`_plan_early_reads`)."""
        groups: dict[tuple[str, str], list[InboxItem]] = {}
        for item in items:
            groups.setdefault((item.side, item.object_type), []).append(item)
        groups = dict(sorted(groups.items(), key=lambda kv: self._mapping_rank(*kv[0])))
        pages: list[InboxPage] = []
        for (side, object_type), group in groups.items():
            mappings = [m for m in self.ctx.mappings if m.object_for(side) == object_type and (m, side) in self.ctx.flows()]
            ids = sorted({i.record_id for i in group})
            deleted_ids = sorted({i.record_id for i in group if i.change == "deleted"})
            inbox_ids = [i.pk for i in group]
            items_of: dict[str, set[int]] = {}
            for item in group:
                items_of.setdefault(item.record_id, set()).add(item.pk)
            if not mappings:
                if finish_unmapped:
                    self.ctx.finish_inbox(inbox_ids)
                continue
            for mapping in mappings:
                elsewhere = _unsure_and_unlinked(mapping, side, group)
                page = InboxPage(
                    mapping,
                    side,
                    self.flow(mapping, side),
                    [i for i in ids if i not in elsewhere],
                    inbox_ids,
                    closes_group=mapping is mappings[-1],
                )
                page.deleted_ids = [i for i in deleted_ids if i not in elsewhere]
                page.items_of = items_of
                pages.append(page)
        touched = _plan_early_reads(pages)
        return pages, touched

    def _read_early(
        self, pages: list[InboxPage], ahead: InboxReadAhead | None = None
    ) -> tuple[dict[int, list[list[Record]]], dict[int, dict[str, Record]]]:
        """The pass's early reads, side by side on worker threads (vendor calls only; in_flight hands
        anything that must touch the database back to this thread). A failed read fails the pass
        before any of its pages is worked; its notifications stay in the inbox for the retry.
        Records the previous pass read ahead for this one are taken from its answers (`InboxReadAhead.take`)."""
        calls = []
        sources: dict[int, list[list[Record]]] = {}
        targets: dict[int, dict[str, Record]] = {}
        for page in pages:
            flow = page.flow.setup
            if ahead is not None:
                got_sources, got_targets = ahead.take(page)
                sources.setdefault(id(page), []).append(got_sources)
                targets.setdefault(id(page), {}).update(got_targets)
            for batch in chunked(page.early_ids, flow.source_connector.max_batch_read):
                calls.append((("source", id(page)), partial(flow.source_connector.read_by_ids, flow.source_object, batch)))
            for batch in chunked(page.target_ids, flow.target_connector.max_batch_read):
                calls.append((("target", id(page)), partial(flow.target_connector.read_by_ids, flow.target_object, batch)))
        for (kind, key), records in in_flight(calls, INBOX_READS_IN_FLIGHT):
            if kind == "source":
                sources.setdefault(key, []).append(records)
            else:
                targets.setdefault(key, {}).update((str(r.id), r) for r in records)
        return sources, targets

    def _retry_records(self) -> bool:
        wanted: dict[tuple[int, str], list[str]] = {}
        for entry in self.state.get("records", []):
            wanted.setdefault((int(entry["mapping"]), entry["side"]), []).append(str(entry["id"]))
        for (mapping_id, side), ids in wanted.items():
            mapping = self.ctx.mapping(mapping_id)
            if mapping is None:
                continue
            for records in self._read_ids(mapping, side, ids):
                if records:
                    self.page(mapping, side, records)
        return True

    def saved_state(self) -> dict[str, Any]:
        state = dict(self.state)
        reverse = {f"{m}:{s}": sorted(ids) for (m, s), ids in self.ctx.reverse_pending.items() if ids}
        if reverse:
            state["reverse"] = reverse
        return state


class PageReader:
    """Reads a change feed one page ahead: while the run processes and checkpoints a page, a
    background thread already reads the next one (it depends only on that page's cursor, which
    is still committed only with its page). The thread makes vendor calls only, never database
    calls (a token refresh it triggers is handed back to the run's thread). Leaving the reader
    (yield, cancellation, lost lease, an error) waits for a read in flight and drops it: the next
    slice reads that page again from the committed cursor."""

    def __init__(self, read: Callable[[Any], Page]):
        self._read = read
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._ahead: concurrent.futures.Future | None = None

    def __enter__(self) -> PageReader:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.discard()

    def read_now(self, position: Any) -> Page:
        return self._read(position)

    def read_ahead(self, position: Any) -> None:
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="page-ahead")
        self._ahead = self._pool.submit(self._read, position)

    def take(self) -> Page:
        """The page read ahead (its error, if the read failed)."""
        ahead, self._ahead = self._ahead, None
        if ahead is None:
            raise RuntimeError("No page was read ahead.")
        try:
            return ahead.result()
        finally:
            _run_handed_back_callbacks()

    def discard(self) -> None:
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            concurrent.futures.wait([ahead])  # never leave a read running against a connector about to close
            if ahead.exception() is not None:
                log.debug("a page read ahead and not needed failed: %s", ahead.exception())
            _run_handed_back_callbacks()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


class InboxReadAhead:
    """The next inbox pass's early reads, sent by this pass before it writes and answered in the
    background while it does (vendor calls only, on worker threads; anything that must touch the
    database is handed back to the run's thread, as with in_flight).

    The next pass takes an answer only for a record it reads early anyway (linked, alone in its
    pass with its counterpart), with the same counterpart, and whose inbox rows in that pass were
    all in the inbox when the read was sent: a record notified again later is read again, so a
    later edit is never marked done on an older read. A read that failed is simply not used."""

    def __init__(self, item_ids: set[int]):
        self.item_ids = item_ids
        self.reads: list[tuple[tuple[int, str], str, list[str], concurrent.futures.Future]] = []
        self._target_of: dict[tuple[int, str], dict[str, str]] = {}
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._answers: dict[tuple[tuple[int, str], str], dict[str, Record | None]] | None = None

    def read(self, page: InboxPage, pairs: list[tuple[str, str]]) -> None:
        """Send the reads of these (record, counterpart) pairs of one flow."""
        if not pairs:
            return
        setup, key = page.flow.setup, (page.mapping.pk, page.side)
        self._target_of.setdefault(key, {}).update(pairs)
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(INBOX_READS_IN_FLIGHT, thread_name_prefix="inbox-ahead")
        for kind, connector, object_type, ids in (
            ("source", setup.source_connector, setup.source_object, [p[0] for p in pairs]),
            ("target", setup.target_connector, setup.target_object, [p[1] for p in pairs]),
        ):
            for batch in chunked(ids, connector.max_batch_read):
                call = partial(connector.read_by_ids, object_type, batch)
                self.reads.append((key, kind, batch, self._pool.submit(contextvars.copy_context().run, call)))

    def _answered(self) -> dict[tuple[tuple[int, str], str], dict[str, Record | None]]:
        """Every read's answer, by flow and kind: record id -> the record (None: read, not found)."""
        if self._answers is None:
            self._answers = {}
            concurrent.futures.wait([future for *_, future in self.reads])
            _run_handed_back_callbacks()
            for key, kind, ids, future in self.reads:
                if future.exception() is not None:
                    log.debug("an inbox read ahead failed and is read again: %s", future.exception())
                    continue
                found = {str(r.id): r for r in future.result()}
                self._answers.setdefault((key, kind), {}).update({i: found.get(i) for i in ids})
        return self._answers

    def take(self, page: InboxPage) -> tuple[list[Record], dict[str, Record]]:
        """This page's early records that were read ahead, and their counterparts; they leave the
        page's early reads."""
        key = (page.mapping.pk, page.side)
        target_of = self._target_of.get(key)
        if not target_of:
            return [], {}
        answers = self._answered()
        sources, targets = answers.get((key, "source"), {}), answers.get((key, "target"), {})
        taken: list[Record] = []
        counterparts: dict[str, Record] = {}
        early, target_ids = [], []
        for source_id, target_id in zip(page.early_ids, page.target_ids, strict=True):
            if (
                target_of.get(source_id) == target_id
                and source_id in sources
                and target_id in targets
                and page.items_of.get(source_id, set()) <= self.item_ids
            ):
                if (record := sources[source_id]) is not None:
                    taken.append(record)
                if (counterpart := targets[target_id]) is not None:
                    counterparts[target_id] = counterpart
            else:
                early.append(source_id)
                target_ids.append(target_id)
        page.early_ids, page.target_ids = early, target_ids
        return taken, counterparts

    def close(self) -> None:
        """Wait for reads still out (never leave one running against a connector about to close)."""
        if self._pool is not None:
            concurrent.futures.wait([future for *_, future in self.reads])
            _run_handed_back_callbacks()
            self._pool.shutdown(wait=True)
            self._pool = None


def _run_handed_back_callbacks() -> None:
    """Database work a vendor call left for the run's thread (connectors.http.on_owner_thread), e.g. stored tokens."""
    run_owner_callbacks = getattr(vendor_http, "run_owner_callbacks", None)
    if run_owner_callbacks is not None:
        run_owner_callbacks()


def _unsure_and_unlinked(mapping: ObjectMapping, side: str, group: list[InboxItem]) -> set[str]:
    """Ids notified only under a guessed object type (UNSURE_TYPE: a deleted ConnectWise activity
    of some type) that this mapping has no link for: another mapping's record, not this one's."""
    unsure = {i.record_id for i in group if (i.payload or {}).get(UNSURE_TYPE)}
    unsure -= {i.record_id for i in group if not (i.payload or {}).get(UNSURE_TYPE)}
    if not unsure:
        return set()
    column = RecordLink.id_column(side)
    linked = set(RecordLink.objects.filter(object_mapping=mapping, **{f"{column}__in": unsure}).values_list(column, flat=True))
    return unsure - linked


@dataclass
class InboxPage:
    """The notified records of one flow in one inbox pass. `early_ids` (and their counterparts'
    ids in `target_ids`) are read side by side before the pass works its pages; `late_ids` are
    read when their page comes, after the pages before it have written."""

    mapping: ObjectMapping
    side: str
    flow: Flow
    ids: list[str]
    inbox_ids: list[int]
    closes_group: bool
    early_ids: list[str] = field(default_factory=list)
    late_ids: list[str] = field(default_factory=list)
    target_ids: list[str] = field(default_factory=list)
    deleted_ids: list[str] = field(default_factory=list)  # notified as deleted
    items_of: dict[str, set[int]] = field(default_factory=dict)  # each notified id's inbox rows


# (side, object, record id): a record as the pass planning sees it.
RecordKey = tuple[str, str, str]


def _plan_early_reads(pages: list[InboxPage]) -> set[RecordKey]:
    """Which records a pass may read before it works its pages (asks the database: run's thread).

    A record read early must not be written by an earlier page of the same pass, or its page would
    work a stale value (a HubSpot contact and its ConnectWise counterpart notified together: the
    first page writes the second's source, which must then be read after that write, as before).
    A page writes only the counterparts of its records (or records it creates or matches, which have
    no link yet), so only linked records are read early, and only when neither they nor their
    counterpart appear in any other page of the pass.

    Returns every record the pass reads or may write: its notified records and their counterparts."""
    keys_of: list[dict[str, set[RecordKey]]] = []
    seen: dict[RecordKey, int] = {}
    touched: set[RecordKey] = set()
    for page in pages:
        flow = page.flow.setup
        links = page.flow.counterparts.links_for(page.ids)
        keys: dict[str, set[RecordKey]] = {}
        for record_id in page.ids:
            touched.add((flow.source, flow.source_object, record_id))
            link = links.get(record_id)
            if link is None:
                continue
            keys[record_id] = {
                (flow.source, flow.source_object, record_id),
                (flow.target, flow.target_object, link.id_on(flow.target)),
            }
            for key in keys[record_id]:
                seen[key] = seen.get(key, 0) + 1
        keys_of.append(keys)
    for page, keys in zip(pages, keys_of, strict=True):
        for record_id in page.ids:
            own = keys.get(record_id)
            if own is not None and all(seen[key] == 1 for key in own):
                page.early_ids.append(record_id)
                page.target_ids.append(next(k[2] for k in own if k[0] == page.flow.setup.target))
            else:
                page.late_ids.append(record_id)
    return touched | set(seen)
