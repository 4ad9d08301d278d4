"""The integrations overview and one integration's page: state, main switch, "Sync now", options.

Every view reaches data through tenants.access (tenant_object_or_404 for ids, so another
tenant's id is a 404) and changes it through named actions (which audit); writes need an
owner or admin role (writes_need_role: a viewer gets 403).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from connectors import quota
from mappings.forms import IntegrationOptionsForm
from mappings.models import Integration
from mappings.services import actions
from mappings.services.deletions import held_deletions
from mappings.services.queries import integrations_of, summaries
from mappings.views.common import integration_or_404, validation_text
from syncsmart import alerts
from syncsmart.engine import run_requests
from syncsmart.models import Alert, WebhookRegistration
from syncsmart.redirects import redirect_to_next
from tenants.access import tenant_required, writes_need_role


@tenant_required
def home(request: HttpRequest) -> HttpResponse:
    cards = summaries(integrations_of(request.tenant))
    return render(request, "mappings/home.html", {"cards": cards})


@tenant_required
@writes_need_role
def integration_detail(request: HttpRequest, pk: int) -> HttpResponse:
    integration = integration_or_404(request, pk)
    form = IntegrationOptionsForm(request.POST or None, instance=Integration.objects.get(pk=integration.pk))
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            actions.update_integration(integration, request.user, **changes)
        except ValidationError as exc:
            form.add_error(None, validation_text(exc))
        else:
            messages.success(request, "Options saved." if changes else "Nothing changed.")
            return _back(request, integration)
    summary = summaries(integrations_of(request.tenant).filter(pk=integration.pk))[0]
    object_mappings = integration.object_mappings.annotate(field_count=Count("field_mappings"))
    return render(
        request,
        "mappings/integration.html",
        {
            "integration": integration,
            "summary": summary,
            "object_mappings": object_mappings,
            "form": form,
            "tab": "overview",
            "webhook_registrations": WebhookRegistration.objects.filter(integration=integration).order_by("side"),
            "held_deletions": held_deletions(integration),
            "alerts": alerts.listed(Alert.objects.filter(integration=integration), limit=10),
            "budgets": _budgets(integration),
        },
    )


@require_POST
@tenant_required
@writes_need_role
def main_switch(request: HttpRequest, pk: int) -> HttpResponse:
    integration = integration_or_404(request, pk)
    turn_on = request.POST.get("on") == "1"
    actions.set_main_switch(integration, request.user, turn_on)
    messages.success(request, f"Sync is {'on' if turn_on else 'off'} for {integration}.")
    return _back(request, integration)


@require_POST
@tenant_required
@writes_need_role
def sync_now(request: HttpRequest, pk: int) -> HttpResponse:
    integration = integration_or_404(request, pk)
    try:
        run = run_requests.request_run(integration, request.user, trigger="manual")
    except ValidationError as exc:
        messages.error(request, validation_text(exc))
    else:
        run.refresh_from_db()
        messages.success(request, f"Sync {run.get_status_display().lower()} for {integration}.")
    return _back(request, integration)


def _budgets(integration: Integration) -> list[dict]:
    """Today's use of each side's vendor account's daily API budget and when it runs out at the
    current rate (connectors/quota.py)."""
    at = quota.now()
    found = []
    for side, connection in (("hubspot", integration.hubspot_connection), ("other", integration.other_connection)):
        budget = quota.budget_of(connection, at)
        if budget is not None:
            found.append({"side": side, "budget": budget, "forecast": quota.forecast(budget).words(budget)})
    return found


def _back(request: HttpRequest, integration: Integration) -> HttpResponse:
    """Back to the page the button was on (a local path only), else the integration page."""
    return redirect_to_next(request, reverse("integration", args=[integration.pk]))
