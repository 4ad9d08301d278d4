"""Stage 5 — the checkpoint: links and their baselines, the deferred queue, and one event per
record. Built after the writes, run by the caller in the page's transaction together with the
page's cursor, so a page is either wholly remembered or read again."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from syncsmart.core.choices import Side
from syncsmart.engine.events import EventRow
from syncsmart.engine.flow.counterparts import Counterparts
from syncsmart.engine.flow.items import Item, Outcome
from syncsmart.engine.flow.setup import FlowSetup
from syncsmart.engine.matching import label_of
from syncsmart.engine.values import values_hash
from syncsmart.models import (
    AmbiguousMatch,
    DeferredRecord,
    HeldConflict,
    PendingCreate,
    RecordEvent,
    RecordLink,
    SyncRun,
)

LINKED_OUTCOMES = (Outcome.CREATED, Outcome.UPDATED, Outcome.UNCHANGED, Outcome.LINKED, Outcome.CONFLICT)
DONE_OUTCOMES = (*LINKED_OUTCOMES, Outcome.ECHO, Outcome.FILTERED, Outcome.DELETED)

# Runs a person asked for: their record log shows every record read, unchanged ones included.
ASKED_FOR = frozenset({SyncRun.Trigger.RETRY, SyncRun.Trigger.HISTORICAL})


class Checkpoint:
    def __init__(self, setup: FlowSetup, counterparts: Counterparts):
        self.s = setup
        self.counterparts = counterparts

    # --- links and baselines -------------------------------------------------------------------
    def new_link(self, item: Item) -> RecordLink:
        s = self.s
        hubspot_id, other_id = (item.id, item.target_id) if s.source == Side.HUBSPOT else (item.target_id, item.id)
        return RecordLink(
            integration=s.ctx.integration,
            object_mapping=s.mapping,
            hubspot_object=s.mapping.hubspot_object,
            other_object=s.mapping.other_object,
            hubspot_id=hubspot_id,
            other_id=other_id,
        )

    def apply_baseline(self, item: Item) -> None:
        """The link remembers the values both sides now have (and their hashes, for the echo check)."""
        link = item.link
        source_values = {**link.values_on(self.s.source), **item.source_base}
        target_values = {**link.values_on(self.s.target), **item.target_base}
        link.set_values_on(self.s.source, source_values)
        link.set_values_on(self.s.target, target_values)
        link.hubspot_hash = self._hash_for(Side.HUBSPOT, link.hubspot_values)
        link.other_hash = self._hash_for(Side.OTHER, link.other_values)

    def _hash_for(self, side: str, values: dict[str, Any]) -> str:
        """Hash of the values a side sends (the fields flowing from it); '' when one is unknown."""
        names = [f.field_on(side) for f in (self.s.fields if side == self.s.source else self.s.reverse_fields)]
        if any(name not in values for name in names):
            return ""
        return values_hash({name: values[name] for name in names})

    def save_new_links(self, items: list[Item]) -> None:
        """Links of records just created, stored at once (a crash now must not create them again)."""
        if not items:
            return
        for item in items:
            item.link = self.new_link(item)
            self.apply_baseline(item)
            item.baseline_saved = True
        with transaction.atomic():
            RecordLink.objects.bulk_create([i.link for i in items], batch_size=500)

    # --- the checkpoint itself -----------------------------------------------------------------
    def build(self, items: list[Item]) -> Callable[[], None]:
        now = timezone.now()
        new_links, changed_links, done_ids, deferred, events = [], [], [], [], []
        changed_columns: set[str] = set()
        already_seen, unlogged = self._already_seen([i for i in items if i.outcome == Outcome.ECHO]), Counter()
        self._give_up_on_hopeless([i for i in items if i.retry_later])
        for item in items:
            if item.outcome in LINKED_OUTCOMES and item.target_id:
                if item.link is None:
                    item.link = self.new_link(item)
                    self.apply_baseline(item)
                    new_links.append(item.link)
                elif not item.baseline_saved:
                    before = _stored(item.link)
                    self.apply_baseline(item)
                    columns = {
                        c for c, old, new in zip(BASELINE_COLUMNS, before, _stored(item.link), strict=True) if not _same(old, new)
                    }
                    if columns:  # an unchanged baseline is not written again
                        changed_links.append(item.link)
                        changed_columns |= columns
            if item.outcome in DONE_OUTCOMES:
                done_ids.append(item.id)
            if item.retry_later:
                deferred.append(item)
            if item.elsewhere:
                continue  # its sibling mapping's record: neither logged nor counted here
            if item.id in already_seen:
                unlogged[item.outcome] += 1  # counted on the run, not logged again
            else:
                events.append(self._event(item, now))
        ambiguous = [i for i in items if i.outcome == Outcome.AMBIGUOUS]
        reviews = _under_review(items)

        def checkpoint() -> None:
            if new_links:
                self._bulk_create_links(new_links)
            if changed_links:
                _upsert_baselines([link for link in changed_links if link.pk], changed_columns)
            if self.counterparts.pending:
                self.counterparts.forget_creates([i for i in done_ids if i in self.counterparts.pending])
            self._drop_adopted()
            if done_ids:
                DeferredRecord.objects.filter(
                    object_mapping=self.s.mapping, source_side=self.s.source, record_id__in=done_ids
                ).delete()
                # A record that synced no longer waits for a choice (its candidates were linked elsewhere).
                AmbiguousMatch.objects.filter(
                    object_mapping=self.s.mapping, source_side=self.s.source, source_id__in=done_ids, resolved_at__isnull=True
                ).delete()
            if deferred:
                self._defer(deferred, now)
            if ambiguous:
                self._store_ambiguous(ambiguous, now)
            self._store_reviews(reviews, now)
            self.s.ctx.save_events(events, unlogged)

        return checkpoint

    def _already_seen(self, echoes: list[Item]) -> set[str]:
        """Unchanged records the log already covers: read from this side and logged since they
        last changed there, such as the overlap window reading them again every scheduled run.
        The record log keeps real changes and real decisions; our own write coming back is said
        once ("Our own change"), and a record touched since with no mapped change again once."""
        if self.s.ctx.run.trigger in ASKED_FOR:
            return set()  # a retry or historical sync the customer asked for shows every record it read
        stamped = {i.id: i.record.updated_at for i in echoes if i.record.updated_at is not None}
        if not stamped:
            return set()
        s = self.s
        rows = RecordEvent.objects.filter(object_mapping=s.mapping, source_side=s.source, source_id__in=list(stamped))
        latest = dict(rows.values("source_id").annotate(at=Max("created_at")).values_list("source_id", "at"))
        return {record_id for record_id, at in latest.items() if stamped[record_id] <= at}

    def _drop_adopted(self) -> None:
        adopted = self.counterparts.adopted
        if not adopted:
            return
        PendingCreate.objects.filter(pk__in=[r.pk for r in adopted]).delete()
        DeferredRecord.objects.filter(
            object_mapping=self.s.mapping, source_side=self.s.target, record_id__in=[r.source_id for r in adopted]
        ).delete()
        self.counterparts.adopted = []

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

    # --- the deferred queue --------------------------------------------------------------------
    def _give_up_on_hopeless(self, items: list[Item]) -> None:
        """A record deferred MAX_ATTEMPTS times fails, visibly, instead of waiting forever."""
        if not items:
            return
        now = timezone.now()
        rows = DeferredRecord.objects.filter(
            object_mapping=self.s.mapping, source_side=self.s.source, record_id__in=[i.id for i in items]
        ).values_list("record_id", "attempts", "next_attempt_at")
        tries = {record_id: attempts + (due <= now) for record_id, attempts, due in rows}
        for item in items:
            if tries.get(item.id, 1) >= DeferredRecord.MAX_ATTEMPTS:
                item.outcome = Outcome.FAILED
                item.message = f"Gave up after {DeferredRecord.MAX_ATTEMPTS} tries: {item.message}"

    def _defer(self, items: list[Item], now: datetime) -> None:
        existing = {
            d.record_id: d
            for d in DeferredRecord.objects.filter(
                object_mapping=self.s.mapping, source_side=self.s.source, record_id__in=[i.id for i in items]
            )
        }
        for item in items:
            row = existing.get(item.id)
            values = dict(reason=item.message[:2000], waiting_for=item.waiting_for, **_next_try(row, now))
            if row is None:
                DeferredRecord.objects.create(
                    integration=self.s.ctx.integration,
                    object_mapping=self.s.mapping,
                    source_side=self.s.source,
                    record_id=item.id,
                    **values,
                )
            else:
                DeferredRecord.objects.filter(pk=row.pk).update(**values)

    # --- the event -----------------------------------------------------------------------------
    def _store_ambiguous(self, items: list[Item], now: datetime) -> None:
        """One waiting row per record, with its candidates, for the customer's choice."""
        for item in items:
            AmbiguousMatch.objects.update_or_create(
                object_mapping=self.s.mapping,
                source_side=self.s.source,
                source_id=item.id,
                defaults=dict(
                    integration=self.s.ctx.integration,
                    source_object=self.s.source_object,
                    source_label=label_of(item.record)[:300],
                    key=item.match_key[:500],
                    value=item.match_value[:500],
                    candidates=item.candidates,
                    chosen_id="",
                    resolved_at=None,
                    resolved_by="",
                    created_at=now,
                ),
            )

    def _store_reviews(self, items: list[Item], now: datetime) -> None:
        """Conflict review: a held field's pair opens (or refreshes) its review with both values as
        read now; a field under review that is in sync again, or flowed one way, closes it."""
        s = self.s
        unsaved = [i.id for i in items if i.link is None or i.link.pk is None]
        found = (
            RecordLink.objects.filter(object_mapping=s.mapping, **{f"{RecordLink.id_column(s.source)}__in": unsaved})
            if unsaved
            else []
        )
        by_source = {link.id_on(s.source): link for link in found}
        for item in items:
            link = item.link if item.link is not None and item.link.pk else by_source.get(item.id)
            if link is None:
                continue
            if item.settled:
                HeldConflict.objects.filter(link=link, field_mapping_id__in=item.settled, status=HeldConflict.Status.OPEN).update(
                    status=HeldConflict.Status.SETTLED, resolved_at=now
                )
            for held in item.held.values():
                values = {s.source: _json_value(held["source_value"]), s.target: _json_value(held["target_value"])}
                HeldConflict.objects.update_or_create(
                    link=link,
                    field_mapping_id=held["field_mapping"],
                    status=HeldConflict.Status.OPEN,
                    defaults={"hubspot_value": values[Side.HUBSPOT], "other_value": values[Side.OTHER]},
                    create_defaults={
                        "integration": s.ctx.integration,
                        "object_mapping": s.mapping,
                        "hubspot_id": link.hubspot_id,
                        "other_id": link.other_id,
                        "label": label_of(item.record)[:300],
                        "hubspot_value": values[Side.HUBSPOT],
                        "other_value": values[Side.OTHER],
                        "created_at": now,
                    },
                )

    @staticmethod
    def _label_of_waiting(item: Item) -> str:
        if item.outcome != Outcome.DEFERRED and not (item.outcome == Outcome.FAILED and item.target_id is None):
            return ""
        label = label_of(item.record)
        return "" if label == str(item.record.id) else label

    def _event(self, item: Item, now: datetime) -> EventRow:
        details = {
            name: value
            for name, value in (
                ("candidates", item.candidates),
                ("match_key", item.match_key if item.candidates else ""),
                ("conflicts", item.conflicts),
                ("unmatched", item.unmatched),
                ("error", item.error),
                ("waiting_for", item.waiting_for),
                # A waiting (or never created) record has no link to name it by: the record log shows this instead.
                ("label", self._label_of_waiting(item)),
                ("notes", item.notes),
                (
                    "changes",
                    changes_of(item)
                    if item.outcome in (Outcome.CREATED, Outcome.UPDATED, Outcome.CONFLICT, Outcome.LINKED)
                    else {},
                ),
            )
            if value
        }
        fields = (
            sorted(item.writes) if item.outcome in (Outcome.CREATED, Outcome.UPDATED, Outcome.CONFLICT, Outcome.LINKED) else []
        )
        if item.error and item.error.get("fields"):
            fields = list(item.error["fields"])
        if item.conflicts:
            fields = sorted(set(fields) | set(item.conflicts))
        message = item.message or "; ".join(item.notes)
        if item.outcome == Outcome.CONFLICT and not item.message:
            message = "Both sides changed " + ", ".join(sorted(item.conflicts)) + "; the system of record won."
        return EventRow(
            self.s.mapping.pk,
            self.s.source,
            self.s.source_object,
            item.id,
            item.target_id or "",
            item.outcome,
            message[:4000],
            fields,
            details,
            now,
        )


BASELINE_COLUMNS = ("hubspot_values", "other_values", "hubspot_hash", "other_hash")


def _stored(link: RecordLink) -> tuple:
    """The baseline as stored: values copied (apply_baseline builds new dicts), hashes as they are."""
    return tuple(getattr(link, column) for column in BASELINE_COLUMNS)


def _same(old: Any, new: Any) -> bool:
    """Equal as stored: Python calls 1 and True (or 1.0) equal, JSON does not."""
    if old != new:
        return False
    return old is new or json.dumps(old, sort_keys=True, default=str) == json.dumps(new, sort_keys=True, default=str)


def _upsert_baselines(links: list[RecordLink], columns: set[str]) -> None:
    """Changed baselines of stored links: one INSERT .. ON CONFLICT (id) DO UPDATE per 500 links
    setting only the columns that changed in this page (cheaper to build than bulk_update's
    CASE per row and column). A link's updated_at stays as it was, as before: it says when the
    link itself last changed (the deletion bookkeeping compares against it)."""
    if not links:
        return
    changed = [c for c in BASELINE_COLUMNS if c in columns]
    kept = [(link.created_at, link.updated_at) for link in links]
    RecordLink.objects.bulk_create(links, batch_size=500, update_conflicts=True, unique_fields=["id"], update_fields=changed)
    for link, (created_at, updated_at) in zip(links, kept, strict=True):  # bulk_create's pre_save stamped them in memory only
        link.created_at, link.updated_at = created_at, updated_at


CHANGE_TEXT_LIMIT = 300  # a long text's change is shown cut, not stored whole twice per event


def _under_review(items: list[Item]) -> list[Item]:
    """Linked records with a field under conflict review to hold, or to settle."""
    return [i for i in items if (i.held or i.settled) and i.outcome in LINKED_OUTCOMES and i.target_id]


def _json_value(value: Any) -> Any:
    """A vendor's value as JSON stores it (a date or a decimal as its text)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    return str(value)


def _shown(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = str(value)
    return text if len(text) <= CHANGE_TEXT_LIMIT else text[: CHANGE_TEXT_LIMIT - 1] + "…"


def changes_of(item: Item) -> dict[str, list[Any]]:
    """What this event wrote, per target field: [value before, value written], for the record
    page's history ("old → new"). Before is the target as read in this page (none on a create)."""
    before = item.target.properties if item.target is not None else {}
    return {name: [_shown(before.get(name)), _shown(value)] for name, value in sorted(item.writes.items())}


def _next_try(row: DeferredRecord | None, now: datetime) -> dict[str, Any]:
    """A try counts only when the record was due: the same record brought again before then (a
    webhook, an inbox pass between two parts of a page, an overlap window) is not another try, or
    a record waiting on a parent a busy backfill has not reached yet runs out of its tries within
    seconds and fails instead of landing (the soak lost a logged call that way)."""
    if row is not None and row.next_attempt_at > now:
        return {"attempts": row.attempts, "next_attempt_at": row.next_attempt_at}
    attempts = row.attempts + 1 if row else 1
    return {"attempts": attempts, "next_attempt_at": now + DeferredRecord.backoff(attempts)}
