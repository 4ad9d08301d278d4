"""Refresh fields: discover both systems' fields again and check every field mapping against
them (mappings/schema_checks.py); the editor says which mappings broke and why."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from mappings import schema_checks
from mappings.views.common import integration_or_404
from tenants.access import tenant_required, writes_need_role


@require_POST
@tenant_required
@writes_need_role
def refresh_fields(request: HttpRequest, pk: int) -> HttpResponse:
    integration = integration_or_404(request, pk)
    report = schema_checks.refresh_fields(integration, request.user)
    fields = sum(sum((counts or {}).values()) for counts in report.discovered.values())
    if report.missing:
        messages.error(request, "Could not discover the fields of " + ", ".join(report.missing) + ".")
    messages.info(request, f"{fields} fields discovered.")
    for problem in report.broken[:10]:
        messages.warning(request, f"Broken mapping — {problem}")
    target = request.POST.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect("integration", pk=integration.pk)
