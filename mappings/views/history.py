"""Historical sync: start one (all records, or since a date), watch its progress bar (records
done / total, rate, time left) — the state is the run row, so a reload picks it up — and cancel."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from mappings.forms import HistoricalSyncForm
from mappings.services import previewed
from mappings.services.queries import run_rate
from mappings.views.common import integration_or_404
from mappings.views.gate import CONFIRMED, echoed, render_gate
from syncsmart.engine import run_requests
from syncsmart.engine.counts import since_cursor
from syncsmart.models import Preview, SyncRun
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
        try:
            run = previewed.start_resync(
                integration,
                request.user,
                object_mapping=form.cleaned_data["object_mapping"],
                since=since,
                preview_id=request.POST.get(CONFIRMED),
            )
        except previewed.PreviewRequired as exc:
            preview = previewed.preview_for(integration, request.user, exc.question)
            error = " ".join(exc.messages) if request.POST.get(CONFIRMED) else ""
            return _resync_gate(request, integration, preview, echoed(request), error)
        messages.success(request, "Historical sync started." if run.is_active else "Historical sync finished.")
        return redirect("historical", pk=integration.pk)
    if (waiting := _waiting_preview(request, integration)) is not None:
        return _resync_gate(request, integration, waiting, _form_of(waiting), "")
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
            # Salesforce's and NetSuite's feeds cannot start at a time: "since" reads all of their side.
            "since_reads_all": since_cursor(integration.other_connection.system, timezone.now()) is None,
        },
    )


def _waiting_preview(request: HttpRequest, integration) -> Preview | None:
    """The resync preview named by `?preview=` (the address the gate gives itself, so a reload
    shows the same step), while it still waits for a confirmation: fresh, and no historical sync
    started since it was asked for."""
    preview_id = request.GET.get("preview")
    if not preview_id:
        return None
    try:
        preview = Preview.objects.filter(integration=integration, purpose="resync", pk=preview_id).first()
    except (ValueError, ValidationError):
        return None
    if preview is None or preview.created_at < max(timezone.now() - previewed.FRESH_FOR, integration.updated_at):
        return None
    if preview.status not in (Preview.Status.QUEUED, Preview.Status.RUNNING, Preview.Status.DONE):
        return None
    started = _historical_runs(integration).filter(created_at__gte=preview.created_at).exists()
    return None if started else preview


def _form_of(preview: Preview) -> list[tuple[str, str]]:
    """The historical sync form's fields that ask `preview`'s question."""
    since = timezone.localtime(preview.since).date().isoformat() if preview.since else ""
    return [
        ("scope", "since" if since else "all"),
        ("since", since),
        ("object_mapping", str(preview.object_mapping_id or "")),
    ]


def _resync_gate(request, integration, preview: Preview, hidden: list[tuple[str, str]], error: str) -> HttpResponse:
    """The preview of the resync, and the button that starts it once the customer has seen it."""
    mapping = preview.object_mapping
    what = f"every {mapping} record" if mapping else "every record of every object"
    if preview.since:
        what += f" changed since {timezone.localtime(preview.since).date().isoformat()}"
    return render_gate(
        request,
        integration,
        preview,
        title="Start a historical sync?",
        consequence=f"SyncSmart reads {what} again in HubSpot and {integration.other_system_label} and writes "
        "what differs, with the current mappings and filters: records may be created or updated on both sides.",
        confirm_label="Confirm: start the historical sync",
        hidden=hidden,
        error=error,
        tab="historical",
        address=f"{reverse('historical', args=[integration.pk])}?{urlencode({'preview': str(preview.pk)})}",
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
