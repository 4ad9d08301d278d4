"""The mass-deletion guard's decision: confirm or discard the held deletions of one object mapping."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from mappings.services.deletions import confirm_held_deletions, discard_held_deletions
from mappings.views.editor import object_mapping_or_404
from tenants.access import tenant_required, writes_need_role


@require_POST
@tenant_required
@writes_need_role
def held_deletions(request: HttpRequest, pk: int, mapping_pk: int) -> HttpResponse:
    mapping = object_mapping_or_404(request, pk, mapping_pk)
    integration = mapping.integration
    if request.POST.get("decision") == "confirm":
        count = confirm_held_deletions(integration, request.user, mapping)
        messages.success(request, f"{count} deletions confirmed for {mapping}; they are applied by the sync that starts now.")
    elif request.POST.get("decision") == "discard":
        count = discard_held_deletions(integration, request.user, mapping)
        messages.success(request, f"{count} deletions discarded for {mapping}; nothing was removed.")
    else:
        messages.error(request, "Choose to confirm or to keep the records.")
    return redirect("integration", pk=integration.pk)
