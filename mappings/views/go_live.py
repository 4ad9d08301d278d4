"""The guided sandbox -> production page of one integration (the steps live in mappings/go_live.py)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path

from mappings.models import Integration
from mappings.services import go_live, previewed
from mappings.views.gate import CONFIRMED, echoed, render_gate
from tenants.access import require_write, tenant_object_or_404, tenant_required
from tenants.models import GoLiveSwitch
from tenants.onboarding.credentials import credential_form, run_connection_test, split_credential_form


class ConfirmForm(forms.Form):
    mappings = forms.ChoiceField(
        label="Mappings in production",
        choices=GoLiveSwitch.Mappings.choices,
        initial=GoLiveSwitch.Mappings.KEEP,
        widget=forms.RadioSelect,
    )
    keep_test_mode = forms.BooleanField(
        label="Keep test mode on in production", required=False, help_text="Only test-marked records would keep syncing."
    )
    confirm = forms.BooleanField(
        label="I understand: the integration stops, the sandbox's sync history (links, cursors, waiting records) is "
        "cleared, and it restarts against production.",
        error_messages={"required": "Tick the confirmation to switch."},
    )


@tenant_required
def go_live_page(request: HttpRequest, integration_id: int) -> HttpResponse:
    integration = tenant_object_or_404(request, Integration.objects.select_related("other_connection"), pk=integration_id)
    switch = go_live.open_switch(integration)
    if request.method == "POST":
        require_write(request)
        return _handle_post(request, integration, switch)
    last = switch or integration.go_live_switches.first()
    form = credential_form(
        integration.other_system, connection=switch.production_connection if switch else None, environment="production"
    )
    return _render(request, integration, last, form, ConfirmForm())


def _handle_post(request: HttpRequest, integration: Integration, switch: GoLiveSwitch | None) -> HttpResponse:
    action = request.POST.get("action")
    try:
        if action == "resume" and switch is not None:
            go_live.resume(switch, request.user)
            messages.success(request, f"{integration} now syncs with production.")
        elif action == "roll_back" and (target := switch or _latest_done(integration)) is not None:
            go_live.roll_back(target, request.user)
            messages.info(request, "The switch was rolled back: the integration is as it was before.")
        elif action in ("test", "start"):
            return _test_or_start(request, integration, switch, action)
        elif action == "start_previewed" and switch is not None and switch.status == GoLiveSwitch.Status.PREPARING:
            return _start_previewed(request, integration, switch)
    except go_live.GoLiveError as exc:
        messages.error(request, str(exc))
    return redirect("go_live", integration_id=integration.pk)


def _latest_done(integration: Integration) -> GoLiveSwitch | None:
    """A finished switch can be rolled back while it is the integration's latest one."""
    latest = integration.go_live_switches.first()
    return latest if latest is not None and latest.status == GoLiveSwitch.Status.DONE else None


def _test_or_start(request, integration, switch, action) -> HttpResponse:
    if switch is None:
        switch = go_live.prepare(integration, request.user)
    if switch.status != GoLiveSwitch.Status.PREPARING:
        return redirect("go_live", integration_id=integration.pk)
    form = credential_form(
        integration.other_system, data=request.POST, connection=switch.production_connection, environment="production"
    )
    confirm = ConfirmForm(request.POST if action == "start" else None)
    result = None
    if not form.is_valid():
        messages.error(request, "Some production connection values need fixing; see the messages under each field.")
        return _render(request, integration, switch, form, confirm)
    config, secrets = split_credential_form(form)
    connection = go_live.save_production_connection(switch, request.user, config, secrets)
    result = run_connection_test(request.user, connection)
    if action == "start" and result.ok and confirm.is_valid():
        return _switch_gate(request, integration, switch)
    switch.refresh_from_db()
    form = credential_form(integration.other_system, connection=connection, environment="production")
    return _render(request, integration, switch, form, confirm, result=result)


def _switch_gate(request, integration, switch, error: str = "") -> HttpResponse:
    """The preview against production, with the switch's consequence in words; confirming switches.
    Only the choices are posted again, never the connection's secrets (saved on the switch already)."""
    preview = previewed.preview_for(integration, request.user, previewed.go_live(switch.production_connection))
    hidden = [("action", "start_previewed"), *echoed(request, keep={"mappings", "keep_test_mode", "confirm"})]
    other = integration.other_system_label
    return render_gate(
        request,
        integration,
        preview,
        title="Switch to production?",
        consequence=f"{integration} stops, forgets the sandbox's links and cursors, discovers both production "
        f"schemas and starts again against production {other}: objects that already hold records on both "
        "sides only link them (nothing is created there) until you turn creation on. You can undo the "
        "whole switch today.",
        confirm_label="Confirm: switch to production",
        hidden=hidden,
        error=error,
    )


def _start_previewed(request, integration, switch) -> HttpResponse:
    confirm = ConfirmForm(request.POST)
    if not confirm.is_valid():
        messages.error(request, "Tick the confirmation to switch.")
        return redirect("go_live", integration_id=integration.pk)
    try:
        go_live.start_after_preview(
            switch,
            request.user,
            request.POST.get(CONFIRMED),
            mappings=confirm.cleaned_data["mappings"],
            keep_test_mode=confirm.cleaned_data["keep_test_mode"],
        )
    except ValidationError as exc:
        return _switch_gate(request, integration, switch, error=" ".join(exc.messages))
    messages.success(request, f"{integration} now syncs with production.")
    return redirect("go_live", integration_id=integration.pk)


def _render(request, integration, switch, form, confirm, result=None) -> HttpResponse:
    return render(
        request,
        "go_live/page.html",
        {
            "integration": integration,
            "switch": switch,
            "form": form,
            "confirm_form": confirm,
            "result": result,
            "steps": go_live.describe(switch) if switch else go_live.describe(GoLiveSwitch()),
            "production": switch.production_connection if switch else None,
        },
    )


urlpatterns = [
    path("integrations/<int:integration_id>/go-live/", go_live_page, name="go_live"),
]
