"""The confirmation page an action shows before it happens: a preview's counts (started or
reused by mappings.services.previewed) with the action's consequence in words and one confirm
button that posts the same request again, carrying the preview's id."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from mappings.models import Integration
from mappings.views.preview import preview_rows
from syncsmart.engine import previews
from syncsmart.models import Preview

CONFIRMED = "confirmed_preview"
# Never echoed into the page: the form's own token is rendered anew, and secrets are never posted back.
NOT_ECHOED = {"csrfmiddlewaretoken", CONFIRMED}


def echoed(request: HttpRequest, keep: set[str] | None = None) -> list[tuple[str, str]]:
    """The request's own form fields (all, or `keep`), to send again with the confirmation."""
    return [
        (name, value)
        for name, values in request.POST.lists()
        if name not in NOT_ECHOED and (keep is None or name in keep)
        for value in values
    ]


def render_gate(
    request: HttpRequest,
    integration: Integration,
    preview: Preview,
    *,
    title: str,
    consequence: str,
    confirm_label: str,
    hidden: list[tuple[str, Any]],
    action_url: str = "",
    error: str = "",
    tab: str = "",
    address: str = "",
) -> HttpResponse:
    """`address`: where this step can be read again (GET); the page puts it in the address bar,
    so a reload shows the same step instead of the form it came from."""
    return render(
        request,
        "mappings/confirm_preview.html",
        {
            "integration": integration,
            "preview": preview,
            "rows": preview_rows(integration, preview),
            "categories": previews.CATEGORIES,
            "gate_title": title,
            "consequence": consequence,
            "confirm_label": confirm_label,
            "hidden": [*hidden, (CONFIRMED, str(preview.pk))],
            "action_url": action_url or request.path,
            "gate_error": error,
            "tab": tab,
            "address": address,
        },
    )
