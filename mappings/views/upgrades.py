"""New default mappings offered in the mapping editor (mappings/upgrades.py): applied when asked."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from mappings import upgrades
from mappings.services import actions
from mappings.views.editor import object_mapping_or_404
from tenants.access import tenant_required, writes_need_role


@require_POST
@tenant_required
@writes_need_role
def apply(request: HttpRequest, pk: int, mapping_pk: int) -> HttpResponse:
    mapping = object_mapping_or_404(request, pk, mapping_pk)
    chosen = [c for c in request.POST.getlist("changes") if c][:50]
    if not chosen:
        messages.error(request, "Tick at least one change to apply.")
    else:
        try:
            applied = actions.apply_default_upgrades(mapping.integration, request.user, chosen)
        except upgrades.NotOffered:
            messages.error(request, "Nothing was changed: one of these changes is no longer offered. Review the list again.")
        else:
            messages.success(request, f"Applied {len(applied)} new default mapping change{'s' if len(applied) != 1 else ''}.")
    return redirect("mapping_editor", pk=pk, mapping_pk=mapping.pk)
