"""Sync health and the record log: runs with their counts; every record's outcome, searchable
by e-mail, name or id and filterable by outcome; failures with the vendor's message, the
fields involved and "Retry"; deferred records with what they wait for; conflicts with both
values and the winner."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from mappings import matching_actions
from mappings.services import health, record_search
from mappings.views.common import integration_or_404, validation_text
from syncsmart.core.choices import Side
from syncsmart.engine import run_requests
from syncsmart.models import AmbiguousMatch, DeferredRecord, RecordEvent, RecordLink
from syncsmart.redirects import redirect_to_next
from tenants.access import tenant_object_or_404, tenant_required, writes_need_role

EVENTS_PER_PAGE = 50
RUNS_SHOWN = 50
LABEL_FIELDS = ("email", "emailaddress1", "name", "dealname", "companyname", "fullname", "identifier")
COUNT_ORDER = ("created", "updated", "linked", "unchanged", "filtered", "echo", "deferred", "conflict", "failed")


def looked_up_ids(integration, email: str) -> tuple[set[str], list[str]]:
    """The ids record_search.looked_up_keys finds for this e-mail in both systems."""
    keys, problems = record_search.looked_up_keys(integration, email)
    return {key.id for key in keys}, problems


def chosen_mapping(mapping_id: str) -> int | None:
    """The object filter's mapping id, or None (blank, or not a plausible id: no 500 for a hostile one)."""
    return int(mapping_id) if mapping_id.isdigit() and len(mapping_id) <= 18 else None


def id_choices(integration, events, query: str, mapping_id: str) -> list[dict[str, Any]]:
    """A bare id found in several objects, no object chosen: each object with its matches, to pick one."""
    if chosen_mapping(mapping_id) is not None:
        return []
    shared = record_search.objects_sharing_id(events, query.replace("\x00", "").strip())
    names = {m.pk: m for m in integration.object_mappings.filter(pk__in=[pk for pk, _ in shared])}
    return [{"mapping": names[pk], "count": n} for pk, n in shared if pk in names]


def search_events(
    integration,
    query: str = "",
    outcome: str = "",
    run_id: str = "",
    mapping_id: str = "",
    extra_keys: list[record_search.RecordKey] | None = None,
):
    events = RecordEvent.objects.filter(integration=integration)
    if outcome:
        events = events.filter(outcome=outcome)
    if run_id:
        events = events.filter(run_id=run_id)
    chosen = chosen_mapping(mapping_id)
    if chosen is not None:
        events = events.filter(object_mapping_id=chosen)
    query = query.replace("\x00", "").strip()  # PostgreSQL text holds no NUL
    if query:
        keys = record_search.keys_in_links(integration, query, chosen) + list(extra_keys or [])
        events = events.annotate(details_text=Cast("details", TextField())).filter(record_search.events_matching(keys, query))
    return events.select_related("object_mapping", "run")


@dataclass
class EventRow:
    event: RecordEvent
    label: str = ""
    waiting: DeferredRecord | None = None
    retryable: bool = False  # failed and not fixed since, or waiting: the row offers Retry
    match: AmbiguousMatch | None = None  # an ambiguous match still waiting: one button per candidate

    @property
    def conflicts(self) -> list[dict[str, Any]]:
        found = self.event.details.get("conflicts") if isinstance(self.event.details, dict) else None
        source = found if isinstance(found, dict) else self.event.details if self.event.outcome == "conflict" else {}
        return [
            {"field": name, **value}
            for name, value in (source or {}).items()
            if isinstance(value, dict) and ("lost" in value or "kept" in value)
        ]

    @property
    def unmatched(self) -> list[dict[str, Any]]:
        found = self.event.details.get("unmatched") if isinstance(self.event.details, dict) else None
        return found if isinstance(found, list) else []


def _label(values: dict[str, Any]) -> str:
    for name in LABEL_FIELDS:
        if values.get(name):
            return str(values[name])
    first, last = values.get("firstname") or values.get("firstName"), values.get("lastname") or values.get("lastName")
    return " ".join(str(v) for v in (first, last) if v)


def event_rows(integration, events: list[RecordEvent]) -> list[EventRow]:
    """Labels from the links and waits from the deferred queue, two queries for the whole page."""
    labels, waits = _link_labels(integration, events), _waits(integration, events)
    rows = []
    for event in events:
        details = event.details if isinstance(event.details, dict) else {}
        label = labels.get((event.object_mapping_id, event.source_side, event.source_id), "") or str(details.get("label") or "")
        if not label and isinstance(details.get("properties"), dict):
            label = _label(details["properties"])
        rows.append(EventRow(event, label, waits.get((event.object_mapping_id, event.source_side, event.source_id))))
    return rows


def _link_labels(integration, events: list[RecordEvent]) -> dict[tuple[int, str, str], str]:
    """{(object mapping, side, record id): label} from the links of the events' records."""
    hub_ids = {e.source_id for e in events if e.source_side == Side.HUBSPOT} | {
        e.target_id for e in events if e.source_side == Side.OTHER
    }
    other_ids = {e.source_id for e in events if e.source_side == Side.OTHER} | {
        e.target_id for e in events if e.source_side == Side.HUBSPOT
    }
    # Ids are unique per object type only (a ConnectWise contact and company can both be 2),
    # so labels are keyed by the object mapping too.
    labels: dict[tuple[int, str, str], str] = {}
    links = RecordLink.objects.filter(integration=integration).filter(
        Q(hubspot_id__in=hub_ids - {""}) | Q(other_id__in=other_ids - {""})
    )
    for link in links.only("object_mapping_id", "hubspot_id", "other_id", "hubspot_values", "other_values"):
        label = _label(link.hubspot_values or {}) or _label(link.other_values or {})
        labels[(link.object_mapping_id, Side.HUBSPOT, link.hubspot_id)] = labels[
            (link.object_mapping_id, Side.OTHER, link.other_id)
        ] = label
    return labels


def _waits(integration, events: list[RecordEvent]) -> dict[tuple[int, str, str], DeferredRecord]:
    """The deferred-queue rows of the page's deferred records."""
    deferred_ids = [e.source_id for e in events if e.outcome == RecordEvent.Outcome.DEFERRED]
    if not deferred_ids:
        return {}
    return {
        (d.object_mapping_id, d.source_side, d.record_id): d
        for d in DeferredRecord.objects.filter(integration=integration, record_id__in=deferred_ids)
    }


def _waiting_matches(integration, events: list[RecordEvent]) -> dict[tuple[int, str, str], AmbiguousMatch]:
    """The unresolved ambiguous matches of the page's ambiguous events, one query."""
    ids = {e.source_id for e in events if e.outcome == RecordEvent.Outcome.AMBIGUOUS}
    if not ids:
        return {}
    rows = AmbiguousMatch.objects.filter(integration=integration, source_id__in=ids, resolved_at__isnull=True)
    return {(m.object_mapping_id, m.source_side, m.source_id): m for m in rows}


@require_POST
@tenant_required
@writes_need_role
def resolve_match(request: HttpRequest, pk: int, match_pk: int) -> HttpResponse:
    """The record log's one-click choice: link the record to exactly the chosen candidate."""
    integration = integration_or_404(request, pk)
    match = tenant_object_or_404(
        request, AmbiguousMatch.objects.filter(integration=integration), tenant_path="integration__tenant", pk=match_pk
    )
    target_id = request.POST.get("target_id", "")
    try:
        matching_actions.resolve_ambiguous(match, request.user, target_id)
    except ValidationError as exc:
        messages.error(request, validation_text(exc))
    else:
        label = next((str(c.get("label") or "") for c in match.candidates if str(c.get("id")) == target_id), "")
        messages.success(
            request,
            f"Linked {match.source_label or 'the record'} to {label or 'the chosen record'}; "
            "the next sync brings their fields in line.",
        )
    return redirect_to_next(request, reverse("record_log", args=[integration.pk]))


@tenant_required
def record_log(request: HttpRequest, pk: int) -> HttpResponse:
    integration = integration_or_404(request, pk)
    query, outcome = request.GET.get("q", ""), request.GET.get("outcome", "")
    run_id, mapping_id = request.GET.get("run", ""), request.GET.get("mapping", "")
    if outcome not in RecordEvent.Outcome.values:
        outcome = ""
    lookup = request.GET.get("lookup") == "1" and "@" in query
    extra_keys, lookup_problems = record_search.looked_up_keys(integration, query.strip()) if lookup else ([], [])
    try:
        events = search_events(integration, query, outcome, run_id, mapping_id, extra_keys)
        page = Paginator(events, EVENTS_PER_PAGE).get_page(request.GET.get("page"))
        choices = id_choices(integration, events, query, mapping_id)
    except ValidationError:  # a malformed run id in the address
        events = RecordEvent.objects.none()
        page, choices = Paginator(events, EVENTS_PER_PAGE).get_page(1), []
    rows = event_rows(integration, list(page.object_list))
    still_open = health.still_open_ids([row.event for row in rows])
    waiting = _waiting_matches(integration, [row.event for row in rows])
    for row in rows:
        row.retryable = row.event.outcome == RecordEvent.Outcome.DEFERRED or row.event.pk in still_open
        if row.event.outcome == RecordEvent.Outcome.AMBIGUOUS:
            row.match = waiting.get((row.event.object_mapping_id, row.event.source_side, row.event.source_id))
    context = {
        "integration": integration,
        "page": page,
        "rows": rows,
        "q": query,
        "outcome": outcome,
        "run_id": run_id,
        "mapping_id": mapping_id,
        "outcomes": RecordEvent.Outcome.choices,
        "tab": "records",
        "lookup": lookup,
        "lookup_problems": lookup_problems,
        "can_look_up": "@" in query and not lookup,
        "waiting_total": DeferredRecord.objects.filter(integration=integration).count(),
        "object_mappings": integration.object_mappings.all(),
        "id_choices": choices,
    }
    template = (
        "mappings/partials/record_rows.html"
        if request.htmx and request.htmx.target == "record-results"
        else "mappings/records.html"
    )
    return render(request, template, context)


@require_POST
@tenant_required
@writes_need_role
def retry_event(request: HttpRequest, pk: int, event_pk: int) -> HttpResponse:
    integration = integration_or_404(request, pk)
    event = tenant_object_or_404(
        request, RecordEvent.objects.filter(integration=integration), tenant_path="integration__tenant", pk=event_pk
    )
    try:
        run = run_requests.retry_record(event, request.user)
    except ValidationError as exc:
        messages.error(request, validation_text(exc))
    else:
        run.refresh_from_db()
        latest = (
            RecordEvent.objects.filter(run=run, source_side=event.source_side, source_id=event.source_id)
            .order_by("-created_at", "-id")
            .first()
        )
        name = next((row.label for row in event_rows(integration, [event]) if row.label), "") or "the record"
        if latest is None:
            messages.info(request, f"Retrying {name}: it syncs in a moment; this log shows the result.")
        elif latest.outcome == RecordEvent.Outcome.FAILED:
            messages.error(request, f"Retried {name}: failed again — {latest.message}")
        else:
            messages.success(request, f"Retried {name}: {latest.get_outcome_display().lower()}.")
    return redirect_to_next(request, reverse("record_log", args=[integration.pk]))
