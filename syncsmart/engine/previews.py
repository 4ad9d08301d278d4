"""Previews (dry runs): what a run would do, before it does it.

A preview runs the real engine, page by page, on a short-lived copy of the integration (its
settings, mappings, links, waiting records and chosen matches; `Integration.preview_of` set, so
no list, schedule or webhook ever sees it) through connectors that read from the vendors and
write nothing (connectors/dry_run.py). Every run of such a copy gets those connectors, however it
is started (syncsmart.engine.context), so a preview cannot write by any path. What the copy's
run decided is then counted per object mapping, direction and outcome, with 20 samples of
each, the fields updates would change and the filters that kept records out, and the copy is
deleted.

It is a background task (django-q2) with progress and cancel, reads within the vendors' limits
like any run (the shared limiter), and counts its vendor calls.
"""

from __future__ import annotations

import collections
import logging
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from connectors.dry_run import PREVIEW_ID_PREFIX, DryConnector
from mappings.models import FieldMapping, Integration, ObjectMapping
from syncsmart.engine import historical
from syncsmart.engine.config import engine_settings
from syncsmart.engine.slices import budget_reserve_reached, run_slice
from syncsmart.models import AmbiguousMatch, DeferredRecord, Preview, RecordEvent, RecordLink, SyncCursor, SyncRun

log = logging.getLogger("syncsmart.previews")

PREVIEW_TASK = "syncsmart.engine.previews.run_preview"
SAMPLES = 20
MAX_SLICES = 100_000
Outcome = RecordEvent.Outcome
# The preview's words for the engine's outcomes.
CATEGORY = {
    Outcome.LINKED: "link",
    Outcome.CREATED: "create",
    Outcome.UPDATED: "update",
    Outcome.CONFLICT: "update",
    Outcome.FILTERED: "filtered",
    Outcome.AMBIGUOUS: "ambiguous",
    Outcome.FAILED: "fail",
    Outcome.DEFERRED: "fail",
    Outcome.UNCHANGED: "unchanged",
    Outcome.ECHO: "unchanged",
}
CATEGORIES = ("link", "create", "update", "filtered", "ambiguous", "fail", "unchanged")


# --- asking for one ------------------------------------------------------------------------------


def request_preview(
    integration: Integration,
    actor: Any = None,
    *,
    kind: str = Preview.Kind.FIRST_RUN,
    purpose: str = "",
    object_mapping: ObjectMapping | None = None,
    other_connection=None,
    with_creates: bool = True,
    since: datetime | None = None,
    enqueue: bool = True,
) -> Preview:
    """Queue a preview (a worker runs it); `enqueue=False` leaves running it to the caller."""
    who = actor.get_username() if getattr(actor, "is_authenticated", False) else str(actor or "system")
    preview = Preview.objects.create(
        integration=integration,
        object_mapping=object_mapping,
        kind=kind,
        purpose=purpose,
        other_connection=other_connection,
        with_creates=with_creates,
        since=since if kind == Preview.Kind.HISTORICAL else None,
        requested_by=who[:200],
    )
    if enqueue:
        transaction.on_commit(lambda: _enqueue(preview.pk))
    return preview


def _enqueue(preview_id) -> None:
    """Hand the preview to a worker; inline (SYNC_RUN_INLINE, the embedded demo), run it here."""
    if engine_settings().run_inline:
        run_preview(str(preview_id))
        return
    async_task(PREVIEW_TASK, str(preview_id), task_name=f"preview-{preview_id}", q_options={"ack_failure": True})


def cancel_preview(preview: Preview) -> Preview:
    Preview.objects.filter(pk=preview.pk, status__in=[Preview.Status.QUEUED, Preview.Status.RUNNING]).update(
        cancel_requested=True
    )
    SyncRun.objects.filter(integration__preview_of=preview.integration, status__in=SyncRun.ACTIVE).update(cancel_requested=True)
    preview.refresh_from_db()
    return preview


# --- running it --------------------------------------------------------------------------------


def run_preview(preview_id: str, *, connectors: dict | None = None) -> Preview:
    """Run a queued preview to its end (a worker task). `connectors`: real connectors to read
    through (tests pass the emulators'); they are wrapped so that nothing is written."""
    preview = Preview.objects.select_related("integration").get(pk=preview_id)
    if preview.status != Preview.Status.QUEUED:
        return preview
    Preview.objects.filter(pk=preview.pk).update(status=Preview.Status.RUNNING, started_at=timezone.now())
    shadow, copies = _shadow(preview)
    dry = _dry_connectors(shadow, connectors)
    try:
        run = SyncRun.objects.create(
            integration=shadow,
            trigger=SyncRun.Trigger.HISTORICAL if preview.kind == Preview.Kind.HISTORICAL else SyncRun.Trigger.MANUAL,
            object_mapping_id=copies.get(preview.object_mapping_id) if preview.object_mapping_id else None,
        )
        paused = _drive(preview, run, shadow, dry)
        status = {
            SyncRun.Status.SUCCEEDED: Preview.Status.DONE,
            SyncRun.Status.PARTIAL: Preview.Status.DONE,
            SyncRun.Status.CANCELLED: Preview.Status.CANCELLED,
        }.get(run.status, Preview.Status.FAILED)
        result = summarise(run, {copy: original for original, copy in copies.items()})
        Preview.objects.filter(pk=preview.pk).update(
            status=status,
            result=result,
            error=(paused or run.error) if status == Preview.Status.FAILED else "",
            api_calls=sum(c.vendor_calls for c in dry.values()),
            write_calls=0,
            finished_at=timezone.now(),
        )
    except Exception as exc:  # noqa: BLE001 - a preview records every failure, then cleans up
        log.exception("preview %s failed", preview.pk)
        Preview.objects.filter(pk=preview.pk).update(
            status=Preview.Status.FAILED, error=f"{exc.__class__.__name__}: {exc}"[:2000], finished_at=timezone.now()
        )
    finally:
        for connector in dry.values():
            if connectors is None:
                connector.close()
        Integration.all_objects.filter(pk=shadow.pk).delete()
    return Preview.objects.get(pk=preview.pk)


def _drive(preview: Preview, run: SyncRun, shadow: Integration, dry: dict[str, DryConnector]) -> str:
    """The preview run's slices, one after another, until it finishes; or, when a vendor account's
    daily budget reaches its reserve for live changes (a preview is low-priority work, as a
    historical resync: connectors/quota.py), until then: the pause's words, to end the preview with."""
    for _ in range(MAX_SLICES):
        if Preview.objects.filter(pk=preview.pk, cancel_requested=True).exists():
            SyncRun.objects.filter(pk=run.pk).update(cancel_requested=True)
        run_slice(str(run.pk), connectors=dry)
        run.refresh_from_db()
        Preview.objects.filter(pk=preview.pk).update(progress_done=run.progress_done, progress_total=run.progress_total)
        if run.status in SyncRun.FINISHED:
            return ""
        paused = budget_reserve_reached(shadow)
        if paused:
            return f"{paused.split(' Looks again', 1)[0]} Run the preview again when the budget returns at midnight UTC."
    return ""


def _dry_connectors(shadow: Integration, connectors: dict | None) -> dict[str, DryConnector]:
    raw = connectors or {"hubspot": shadow.hubspot_connection.connector(), "other": shadow.other_connection.connector()}
    return {side: c if isinstance(c, DryConnector) else DryConnector(c) for side, c in raw.items()}


@transaction.atomic
def _shadow(preview: Preview) -> tuple[Integration, dict[int, int]]:
    """The integration's copy the preview runs on: {original mapping id: copy id}."""
    original = preview.integration
    shadow = Integration.all_objects.get(pk=original.pk)
    shadow.pk = None
    shadow.preview_of = original
    shadow.enabled = False
    shadow.name = f"Preview of {original}"[:200]
    if preview.other_connection_id:
        shadow.other_connection_id = preview.other_connection_id
    shadow.save()
    copies: dict[int, int] = {}
    for mapping in ObjectMapping.objects.filter(integration=original).prefetch_related("field_mappings"):
        fields = list(mapping.field_mappings.all())
        original_id = mapping.pk
        mapping.pk, mapping.integration = None, shadow
        if preview.object_mapping_id == original_id:
            mapping.enabled = True  # "what turning this mapping on would do"
        if preview.with_creates:
            mapping.create_policy = ObjectMapping.CreatePolicy.CREATE
        mapping.save()
        copies[original_id] = mapping.pk
        for fm in fields:
            fm.pk, fm.object_mapping = None, mapping
        FieldMapping.objects.bulk_create(fields)
    if preview.kind != Preview.Kind.FIRST_RUN and not preview.other_connection_id:
        _copy_state(original, shadow, copies, cursors=preview.kind == Preview.Kind.NEXT_RUN)
    if preview.kind == Preview.Kind.HISTORICAL and preview.since is not None:
        # The resync's own start, placed by the resync's own code: the same records are read.
        only = ObjectMapping.objects.get(pk=copies[preview.object_mapping_id]) if preview.object_mapping_id else None
        historical.place_since_cursors(shadow, historical.historical_reads(shadow, only), preview.since)
    return shadow, copies


def _copy_state(original: Integration, shadow: Integration, copies: dict[int, int], *, cursors: bool) -> None:
    """Links, waiting records and chosen matches (and, for "next run", cursors) of the original."""
    batch: list[RecordLink] = []
    for link in RecordLink.objects.filter(integration=original).iterator(chunk_size=2000):
        link.pk, link.integration_id, link.object_mapping_id = None, shadow.pk, copies[link.object_mapping_id]
        batch.append(link)
        if len(batch) >= 2000:
            RecordLink.objects.bulk_create(batch)
            batch = []
    RecordLink.objects.bulk_create(batch)
    for model, rows in (
        (DeferredRecord, DeferredRecord.objects.filter(integration=original)),
        (AmbiguousMatch, AmbiguousMatch.objects.filter(integration=original).exclude(chosen_id="")),
        *([(SyncCursor, SyncCursor.objects.filter(integration=original))] if cursors else []),
    ):
        copied = []
        for row in rows:
            row.pk, row.integration_id, row.object_mapping_id = None, shadow.pk, copies[row.object_mapping_id]
            copied.append(row)
        model.objects.bulk_create(copied)


# --- what it found -------------------------------------------------------------------------------


def summarise(run: SyncRun, original_of: dict[int, int]) -> dict[str, Any]:
    """{"flows": [{object_mapping, source_side, counts, samples, fields, filters}], "totals": {...}}."""
    events = RecordEvent.objects.filter(run=run).order_by("created_at", "id")
    flows: dict[tuple[int, str], dict[str, Any]] = {}
    totals: collections.Counter = collections.Counter()
    for event in events.iterator(chunk_size=2000):
        mapping_id = original_of.get(event.object_mapping_id, event.object_mapping_id)
        flow = flows.setdefault((mapping_id, event.source_side), _empty_flow(mapping_id, event))
        category = CATEGORY.get(event.outcome, "fail")
        flow["counts"][category] += 1
        totals[category] += 1
        if category in ("update", "link"):
            flow["fields"].update(event.fields)  # what a link or an update would write
        if category == "filtered":
            flow["filters"][event.message[:200]] += 1
        if category == "link":
            flow["rules"][_rule_of(event)] += 1
        if len(flow["samples"][category]) < SAMPLES:
            flow["samples"][category].append(_sample(event))
    return {
        "flows": [_as_json(flow) for flow in flows.values()],
        "totals": {c: totals.get(c, 0) for c in CATEGORIES},
        "run": {"pages": run.pages, "records": run.progress_done},
    }


def _empty_flow(mapping_id: int, event: RecordEvent) -> dict[str, Any]:
    return {
        "object_mapping": mapping_id,
        "source_side": event.source_side,
        "source_object": event.source_object,
        "counts": collections.Counter(),
        "samples": collections.defaultdict(list),
        "fields": collections.Counter(),
        "filters": collections.Counter(),
        "rules": collections.Counter(),
    }


def _rule_of(event: RecordEvent) -> str:
    for note in (event.details or {}).get("notes", []):
        if note.startswith("Matched an existing record by "):
            return note[len("Matched an existing record by ") :].split(":", 1)[0]
    return "chosen or earlier link"


def _sample(event: RecordEvent) -> dict[str, Any]:
    target = event.target_id if not event.target_id.startswith(PREVIEW_ID_PREFIX) else ""
    return {
        "source_id": event.source_id,
        "target_id": target,
        "message": event.message[:500],
        "fields": list(event.fields)[:30],
        **({"candidates": event.details["candidates"]} if (event.details or {}).get("candidates") else {}),
    }


def _as_json(flow: dict[str, Any]) -> dict[str, Any]:
    return {
        "object_mapping": flow["object_mapping"],
        "source_side": flow["source_side"],
        "source_object": flow["source_object"],
        "counts": {c: flow["counts"].get(c, 0) for c in CATEGORIES},
        "samples": {c: flow["samples"].get(c, []) for c in CATEGORIES},
        "fields": dict(flow["fields"].most_common()),
        "filters": dict(flow["filters"].most_common(20)),
        "rules": dict(flow["rules"].most_common()),
    }


def counts_of_run(run: SyncRun) -> dict[tuple[int, str], dict[str, int]]:
    """A real run's events in the preview's terms: {(mapping id, side): {category: n}}."""
    out: dict[tuple[int, str], collections.Counter] = collections.defaultdict(collections.Counter)
    for mapping_id, side, outcome in RecordEvent.objects.filter(run=run).values_list(
        "object_mapping_id", "source_side", "outcome"
    ):
        out[(mapping_id, side)][CATEGORY.get(outcome, "fail")] += 1
    return {key: {c: counter.get(c, 0) for c in CATEGORIES} for key, counter in out.items()}


def counts_of_preview(preview: Preview) -> dict[tuple[int, str], dict[str, int]]:
    return {(f["object_mapping"], f["source_side"]): f["counts"] for f in (preview.result or {}).get("flows", [])}
