"""Historical sync: start one (all records, or since a date), watch its progress bar (records
done / total, rate, time left) — the state is the run row, so a reload picks it up — and cancel."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from mappings.forms import HistoricalSyncForm
from mappings.services.queries import run_rate
from mappings.views.common import integration_or_404
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
        run = start_historical_sync(
            integration, request.user, since=since, object_mapping=form.cleaned_data["object_mapping"], estimate=True
        )
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
