"""Historical sync: start one (all records, or since a date), watch its progress bar (records
done / total, rate, time left) — the state is the run row, so a reload picks it up — and cancel."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from mappings.forms import HistoricalSyncForm
from mappings.services import previewed
from mappings.services.queries import run_rate
from mappings.views.common import integration_or_404
from mappings.views.gate import CONFIRMED, echoed, render_gate
from syncsmart.engine import run_requests
from syncsmart.engine.historical import start_historical_sync
from syncsmart.models import SyncRun
from tenants.access import tenant_object_or_404, tenant_required, writes_need_role

PAST_RUNS_SHOWN = 10


def _historical_runs(integration):
    return SyncRun.objects.filter(integration=integration, trigger=SyncRun.Trigger.HISTORICAL).select_related("object_mapping")


def progress_context(run: SyncRun) -> dict:
    rate, left = run_rate(run)
    # A run that finished reading everything is complete, even if records vanished while it ran.
    done = run.status in (SyncRun.Status.SUCCEEDED, SyncRun.Status.PARTIAL)
    return {"run": run, "rate": rate, "left": left, "percent": 100 if done else run.progress_percent}


@tenant_required
@writes_need_role
def historical(request: HttpRequest, pk: int) -> HttpResponse:
    integration = integration_or_404(request, pk)
    form = HistoricalSyncForm(request.POST or None, integration=integration)
    if request.method == "POST" and form.is_valid():
        since = form.cleaned_data["since"] if form.cleaned_data["scope"] == "since" else None
        if _historical_runs(integration).filter(status__in=SyncRun.ACTIVE).exists():
            messages.info(request, "A historical sync is already running; cancel it first to start another.")
            return redirect("historical", pk=integration.pk)
        mapping = form.cleaned_data["object_mapping"]
        question = previewed.resync(mapping)
        try:
            previewed.confirmed_preview(integration, question, request.POST.get(CONFIRMED))
        except ValidationError as exc:
            return _resync_gate(request, integration, mapping, question, exc)
        run = start_historical_sync(integration, request.user, since=since, object_mapping=mapping, estimate=True)
        messages.success(request, "Historical sync started." if run.is_active else "Historical sync finished.")
        return redirect("historical", pk=integration.pk)
    past = list(_historical_runs(integration)[:PAST_RUNS_SHOWN])
    current = next((r for r in past if r.is_active), None) or (past[0] if past else None)
    return render(
        request,
        "mappings/historical.html",
        {
            "integration": integration,
            "form": form,
            "tab": "historical",
            "past": past,
            "current": progress_context(current) if current else None,
        },
    )


def _resync_gate(request, integration, mapping, question, refused: ValidationError) -> HttpResponse:
    """The preview of the resync, and the button that starts it once the customer has seen it."""
    preview = previewed.preview_for(integration, request.user, question)
    what = f"every {mapping} record" if mapping else "every record of every object"
    return render_gate(
        request,
        integration,
        preview,
        title="Start a historical sync?",
        consequence=f"SyncSmart reads {what} again in HubSpot and {integration.other_system_label} and writes "
        "what differs, with the current mappings and filters: records may be created or updated on both sides.",
        confirm_label="Confirm: start the historical sync",
        hidden=echoed(request),
        error=" ".join(refused.messages) if request.POST.get(CONFIRMED) else "",
        tab="historical",
    )


@tenant_required
def historical_progress(request: HttpRequest, pk: int, run_pk: str) -> HttpResponse:
    """htmx poll target: the bar re-renders itself every second until the run is finished."""
    integration = integration_or_404(request, pk)
    run = tenant_object_or_404(request, _historical_runs(integration), tenant_path="integration__tenant", pk=run_pk)
    return render(request, "mappings/partials/progress.html", {"integration": integration, "current": progress_context(run)})


@require_POST
@tenant_required
@writes_need_role
def historical_cancel(request: HttpRequest, pk: int, run_pk: str) -> HttpResponse:
    integration = integration_or_404(request, pk)
    run = tenant_object_or_404(request, _historical_runs(integration), tenant_path="integration__tenant", pk=run_pk)
    run_requests.cancel_run(run, request.user)
    messages.info(request, "Historical sync cancelled; it stops after the page it is on.")
    return redirect("historical", pk=integration.pk)
