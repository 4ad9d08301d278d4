"""The sync-health page: records that still fail, grouped by cause with what fixes each, a
retry per cause; the connections' own health apart from record errors; then the runs."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from mappings.services import health
from mappings.views.common import integration_or_404
from mappings.views.record_log import COUNT_ORDER, RUNS_SHOWN, event_rows
from syncsmart.engine import run_requests
from syncsmart.models import SyncRun
from tenants.access import tenant_required, writes_need_role


@tenant_required
def sync_health(request: HttpRequest, pk: int) -> HttpResponse:
    integration = integration_or_404(request, pk)
    groups = health.failure_groups(integration)
    labels = {row.event.pk: row.label for row in event_rows(integration, [e for g in groups for e in g.sample])}
    for group in groups:
        for event in group.sample:
            event.label = labels.get(event.pk, "")
    shown = list(SyncRun.objects.filter(integration=integration).select_related("object_mapping", "requested_by")[:RUNS_SHOWN])
    context = {
        "integration": integration,
        "groups": groups,
        "connections": [integration.hubspot_connection, integration.other_connection],
        "runs": shown,
        "tab": "runs",
        "count_order": COUNT_ORDER,
    }
    return render(request, "mappings/runs.html", context)


@require_POST
@tenant_required
@writes_need_role
def retry_cause(request: HttpRequest, pk: int, cause: str) -> HttpResponse:
    """Retry every record still failing for one cause, in one run."""
    integration = integration_or_404(request, pk)
    if cause not in health.CAUSES:
        raise Http404("No such cause.")
    group = next((g for g in health.failure_groups(integration) if g.cause.key == cause), None)
    if group is None:
        messages.info(request, f"No record fails with “{health.CAUSES[cause].title}” any more.")
        return redirect("runs", pk=integration.pk)
    run_requests.request_run(integration, request.user, trigger="retry", records=health.retry_targets(group))
    messages.success(
        request,
        f"Retrying {group.count} record{'s' if group.count != 1 else ''} that failed with “{group.cause.title}”. "
        "Each leaves this list once it syncs.",
    )
    return redirect("runs", pk=integration.pk)
