"""Preview (dry run): what a run would do, read from both systems and written to neither —
per object and direction, records that would be linked (and by which match key), created,
updated (which fields), filtered (by which filter), left ambiguous or fail, with samples;
progress while it runs (the page polls), cancel, and the vendor calls it made."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from mappings.views.common import integration_or_404
from syncsmart.engine import previews
from syncsmart.models import Preview
from tenants.access import tenant_object_or_404, tenant_required, writes_need_role

KINDS = dict(Preview.Kind.choices)
PURPOSES = {
    "": "",
    "resync": "before a historical resync",
    "go_live": "before the switch",
    "mapping_on": "before turning it on",
    "install": "before the installer's finish",
}


def preview_rows(integration, preview: Preview | None) -> list[dict]:
    """The result's flows as table rows: the object's name and the direction in words."""
    if preview is None or not preview.result:
        return []
    names = {m.pk: str(m) for m in integration.object_mappings.all()}
    other = integration.other_system_label
    rows = []
    for flow in preview.result.get("flows", []):
        arrow = f"HubSpot → {other}" if flow["source_side"] == "hubspot" else f"{other} → HubSpot"
        rows.append({**flow, "name": names.get(flow["object_mapping"], flow["source_object"]), "direction": arrow})
    return rows


@tenant_required
@writes_need_role
def preview_page(request: HttpRequest, pk: int) -> HttpResponse:
    integration = integration_or_404(request, pk)
    if request.method == "POST":
        kind = request.POST.get("kind", Preview.Kind.FIRST_RUN)
        kind = kind if kind in KINDS else Preview.Kind.FIRST_RUN
        mapping = integration.object_mappings.filter(pk=request.POST.get("object_mapping") or 0).first()
        purpose = request.POST.get("purpose", "")
        preview = previews.request_preview(
            integration, request.user, kind=kind, object_mapping=mapping, purpose=purpose if purpose in PURPOSES else ""
        )
        messages.success(request, "Preview started: it reads both systems and writes nothing.")
        return redirect(f"{request.path}?id={preview.pk}")
    shown = Preview.objects.filter(integration=integration)
    wanted = request.GET.get("id", "")
    preview = (shown.filter(pk=wanted).first() if _uuid_like(wanted) else None) or shown.first()
    context = {
        "integration": integration,
        "preview": preview,
        "rows": preview_rows(integration, preview),
        "kinds": Preview.Kind.choices,
        "object_mappings": integration.object_mappings.all(),
        "tab": "preview",
        "categories": previews.CATEGORIES,
    }
    template = "mappings/partials/preview_result.html" if request.htmx else "mappings/preview.html"
    return render(request, template, context)


@require_POST
@tenant_required
@writes_need_role
def preview_cancel(request: HttpRequest, pk: int, preview_pk: str) -> HttpResponse:
    integration = integration_or_404(request, pk)
    preview = tenant_object_or_404(
        request, Preview.objects.filter(integration=integration), tenant_path="integration__tenant", pk=preview_pk
    )
    previews.cancel_preview(preview)
    messages.info(request, "Preview cancelled.")
    return redirect(f"/integrations/{integration.pk}/preview/?id={preview.pk}")


def _uuid_like(value: str) -> bool:
    return len(value) == 36 and all(c in "0123456789abcdef-" for c in value.lower())
