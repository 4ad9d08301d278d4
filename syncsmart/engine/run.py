"""A run: the integration's flows in dependency order, each page checkpointed.

Order inside a run: the webhook inbox first (fast path for fresh changes), then for every
flow (mapping, source side): records of the reverse flow this run decided to look at, due
deferred records, then the change feed from the stored cursor. A run can stop after any page
(`should_yield`) and continue later from run.state and the cursors, because every page's
links, cursor, inbox marks and events are committed together.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Iterable

from django.db import transaction
from django.utils import timezone

from connectors.base import Record, chunked
from mappings.models import ObjectMapping
from syncsmart.engine.context import RunContext
from syncsmart.engine.flow import Flow
from syncsmart.models import DeferredRecord, InboxItem, SyncCursor, SyncRun

log = logging.getLogger("syncsmart.engine")

INBOX_BATCH = 500


class LeaseLost(Exception):
    """Another worker took over this integration (our lease expired): stop without committing."""


class Engine:
    def __init__(self, ctx: RunContext, *, historical: bool = False, renew: Callable[[], bool] | None = None,
                 should_yield: Callable[[], bool] | None = None):
        self.ctx = ctx
        self.run = ctx.run
        self.kind = SyncCursor.Kind.HISTORICAL if historical else SyncCursor.Kind.INCREMENTAL
        self.renew = renew or (lambda: True)
        ctx.renew = self.renew
        self.should_yield = should_yield or (lambda: False)
        self.state: dict[str, Any] = dict(self.run.state) if self.run is not None else {}
        for key, ids in self.state.pop("reverse", {}).items():
            mapping_id, side = key.split(":")
            ctx.reverse_pending[(int(mapping_id), side)].update(ids)
        self._flows: dict[tuple[int, str], Flow] = {}

    def flow(self, mapping: ObjectMapping, side: str) -> Flow:
        key = (mapping.pk, side)
        if key not in self._flows:
            self._flows[key] = Flow(self.ctx, mapping, side)
        return self._flows[key]

    # --- one page, committed as a unit -------------------------------------------------------
    def page(self, flow: Flow, records: list[Record], *, cursor: SyncCursor | None = None, new_cursor: Any = None,
             inbox_ids: Iterable[int] = ()) -> None:
        result, checkpoint = flow.process(records)
        with transaction.atomic():
            if not self.renew():
                raise LeaseLost("The run's lease expired and another worker took the integration over.")
            checkpoint()
            if cursor is not None:
                cursor.cursor = new_cursor
                cursor.save(update_fields=["cursor", "updated_at"])
            if inbox_ids:
                self.ctx.finish_inbox(inbox_ids)
            self.ctx.heartbeat(pages=1, processed=len(records))

    # --- phases ------------------------------------------------------------------------
    def execute(self) -> bool:
        """Work until done (True) or until asked to yield after a page (False)."""
        if not self._drain_inbox():
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
            if self.should_yield() and step < len(flows):
                return False
        return True

    def _only_mapping(self) -> ObjectMapping | None:
        if self.run is not None and self.run.object_mapping_id:
            return self.ctx.mapping(self.run.object_mapping_id)
        return None

    def _run_flow(self, mapping: ObjectMapping, side: str) -> bool:
        flow = self.flow(mapping, side)
        phase = self.state.get("phase", "reverse")
        if phase == "reverse":
            self._reverse_pending(flow)
            phase = self.state["phase"] = "deferred"
        if phase == "deferred":
            self._due_deferred(flow)
            phase = self.state["phase"] = "changes"
        if self.run is not None and self.run.trigger == SyncRun.Trigger.WEBHOOK:
            return True  # a webhook run syncs just the notified records
        return self._changes(flow)

    def _read_ids(self, flow: Flow, ids: list[str]) -> list[list[Record]]:
        connector = flow.source_connector
        return [connector.read_by_ids(flow.source_object, batch) for batch in chunked(ids, connector.max_batch_read)]

    def _reverse_pending(self, flow: Flow) -> None:
        ids = sorted(self.ctx.reverse_pending.pop((flow.mapping.pk, flow.source), set()))
        for records in self._read_ids(flow, ids):
            if records:
                self.page(flow, records)

    def _due_deferred(self, flow: Flow) -> None:
        due = DeferredRecord.objects.filter(object_mapping=flow.mapping, source_side=flow.source,
                                            next_attempt_at__lte=timezone.now(), attempts__lt=DeferredRecord.MAX_ATTEMPTS)
        ids = list(due.values_list("record_id", flat=True)[:INBOX_BATCH])
        seen: set[str] = set()
        for records in self._read_ids(flow, ids):
            seen |= {str(r.id) for r in records}
            if records:
                self.page(flow, records)
        gone = set(ids) - seen
        if gone:  # deleted while waiting: nothing left to sync
            DeferredRecord.objects.filter(object_mapping=flow.mapping, source_side=flow.source, record_id__in=gone).delete()

    def _changes(self, flow: Flow) -> bool:
        cursor = self.ctx.cursor_row(flow.mapping, flow.source, self.kind)
        connector = flow.source_connector
        while True:
            if self.run is not None and SyncRun.objects.filter(pk=self.run.pk, cancel_requested=True).exists():
                raise RunCancelled()
            page = connector.read_changes(flow.source_object, cursor.cursor, connector.max_page_size)
            total = (page.cursor or {}).get("total") if isinstance(page.cursor, dict) else None
            if total and self.run is not None and self.kind == SyncCursor.Kind.HISTORICAL:
                self.run.progress_total = max(self.run.progress_total or 0, int(total))
                SyncRun.objects.filter(pk=self.run.pk).update(progress_total=self.run.progress_total)
            self.page(flow, page.records, cursor=cursor, new_cursor=page.cursor)
            if InboxItem.objects.filter(integration=self.ctx.integration, status=InboxItem.Status.PENDING).exists():
                self._drain_inbox()  # webhooks never wait behind a long backfill for more than a page
            if not page.has_more:
                return True
            if self.should_yield():
                return False

    def _drain_inbox(self) -> bool:
        """Webhook notifications first: each becomes a read by id, then a normal page."""
        while True:
            items = list(InboxItem.objects.filter(integration=self.ctx.integration, status=InboxItem.Status.PENDING)
                         .order_by("received_at", "id")[:INBOX_BATCH])
            if not items:
                return True
            groups: dict[tuple[str, str], list[InboxItem]] = {}
            for item in items:
                groups.setdefault((item.side, item.object_type), []).append(item)
            for (side, object_type), group in groups.items():
                flows = [self.flow(m, side) for m in self.ctx.mappings
                         if m.object_for(side) == object_type and (m, side) in self.ctx.flows()]
                ids = sorted({i.record_id for i in group})
                inbox_ids = [i.pk for i in group]
                if not flows:
                    self.ctx.finish_inbox(inbox_ids)
                    continue
                for flow in flows:
                    batches = self._read_ids(flow, ids) or [[]]
                    for n, records in enumerate(batches):
                        last = n == len(batches) - 1 and flow is flows[-1]
                        self.page(flow, records, inbox_ids=inbox_ids if last else ())
            if self.should_yield():
                return False

    def _retry_records(self) -> bool:
        wanted: dict[tuple[int, str], list[str]] = {}
        for entry in self.state.get("records", []):
            wanted.setdefault((int(entry["mapping"]), entry["side"]), []).append(str(entry["id"]))
        for (mapping_id, side), ids in wanted.items():
            mapping = self.ctx.mapping(mapping_id)
            if mapping is None:
                continue
            flow = self.flow(mapping, side)
            for records in self._read_ids(flow, ids):
                if records:
                    self.page(flow, records)
        return True

    def saved_state(self) -> dict[str, Any]:
        state = dict(self.state)
        reverse = {f"{m}:{s}": sorted(ids) for (m, s), ids in self.ctx.reverse_pending.items() if ids}
        if reverse:
            state["reverse"] = reverse
        return state


class RunCancelled(Exception):
    pass

