"""The conflict review queue (issue 20): fields under conflict review that both sides changed
since they were last in sync, each with both values; accept HubSpot's, the other system's, or
type the value, one at a time or several for one side at once. The decisions are
mappings.services.conflicts' (the REST API's /api/conflicts/ makes the same ones)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from mappings.services import conflicts
from mappings.services.schema import SchemaField, field_index
from mappings.views.common import integration_or_404, validation_text
from syncsmart.core.choices import Side
from syncsmart.models import HeldConflict
from tenants.access import tenant_object_or_404, tenant_required, writes_need_role

PER_PAGE = 50


def _shown(field: SchemaField | None, value: Any) -> str:
    """A value as a person reads it: a dropdown's option label, “(empty)” for nothing."""
    if value in (None, ""):
        return "(empty)"
    if field is not None and field.options:
        return dict(field.options).get(str(value), str(value))
    return str(value)


def _rows(integration, held: list[HeldConflict]) -> list[dict[str, Any]]:
    indexes: dict[tuple[str, str], dict[str, SchemaField]] = {}
    rows = []
    for conflict in held:
        mapping, fm = conflict.object_mapping, conflict.field_mapping
        hub_index = indexes.setdefault(
            (Side.HUBSPOT, mapping.hubspot_object), field_index(integration.hubspot_connection, mapping.hubspot_object)
        )
        other_index = indexes.setdefault(
            (Side.OTHER, mapping.other_object), field_index(integration.other_connection, mapping.other_object)
        )
        hub, other = hub_index.get(fm.hubspot_field), other_index.get(fm.other_field)
        rows.append(
            {
                "conflict": conflict,
                "hub_label": hub.label if hub else fm.hubspot_field,
                "other_label": other.label if other else fm.other_field,
                "hub_value": _shown(hub, conflict.hubspot_value),
                "other_value": _shown(other, conflict.other_value),
                "options": hub.options if hub is not None else (),
            }
        )
    return rows


@tenant_required
def conflict_queue(request: HttpRequest, pk: int) -> HttpResponse:
    integration = integration_or_404(request, pk)
    page = Paginator(conflicts.open_conflicts(integration), PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "integration": integration,
        "tab": "conflicts",
        "page": page,
        "rows": _rows(integration, list(page.object_list)),
        "recent": HeldConflict.objects.filter(integration=integration, status=HeldConflict.Status.RESOLVED)
        .select_related("object_mapping", "field_mapping")
        .order_by("-resolved_at")[:10],
        "under_review": integration.object_mappings.filter(field_mappings__conflict_review=True).distinct().count(),
    }
    return render(request, "mappings/conflicts.html", context)


@require_POST
@tenant_required
@writes_need_role
def conflict_resolve(request: HttpRequest, pk: int, conflict_pk: int) -> HttpResponse:
    integration = integration_or_404(request, pk)
    conflict = tenant_object_or_404(
        request, HeldConflict.objects.filter(integration=integration), tenant_path="integration__tenant", pk=conflict_pk
    )
    accept = request.POST.get("accept", "")
    try:
        conflicts.resolve_conflict(conflict, request.user, accept, request.POST.get("value", ""))
    except ValidationError as exc:
        messages.error(request, validation_text(exc))
    else:
        side = {
            "hubspot": "HubSpot's value",
            "other": f"{integration.other_system_label}'s value",
            "value": "the value you typed",
        }[accept]
        messages.success(request, f"Accepted {side} for {conflict.label or 'the record'}: it is written across in a moment.")
    return redirect("conflict_queue", pk=integration.pk)


@require_POST
@tenant_required
@writes_need_role
def conflicts_bulk(request: HttpRequest, pk: int) -> HttpResponse:
    integration = integration_or_404(request, pk)
    ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit() and len(i) <= 18]
    chosen = HeldConflict.objects.filter(integration=integration, pk__in=ids[: conflicts.MAX_BULK + 1])
    accept = request.POST.get("accept", "")
    if not ids:
        messages.error(request, "Tick the conflicts to accept first.")
        return redirect("conflict_queue", pk=integration.pk)
    try:
        count, _ = conflicts.resolve_conflicts(integration, list(chosen), request.user, accept)
    except ValidationError as exc:
        messages.error(request, validation_text(exc))
    else:
        side = "HubSpot's" if accept == "hubspot" else f"{integration.other_system_label}'s"
        messages.success(
            request, f"Accepted {side} value for {count} conflict{'s' if count != 1 else ''}: written across in a moment."
        )
    return redirect("conflict_queue", pk=integration.pk)
