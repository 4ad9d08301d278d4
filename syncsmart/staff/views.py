"""Staff console pages. Every view is staff-only; every POST is an audited action."""

from __future__ import annotations

from axes.models import AccessAttempt
from axes.utils import reset as reset_lockout
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from connectors.models import Connection
from mappings.models import Integration
from mappings.services.health import open_failures_in
from syncsmart import alerts
from syncsmart.models import Alert, DeferredRecord, RecordEvent, SyncRun
from syncsmart.staff import actions
from syncsmart.staff.access import staff_required
from syncsmart.staff.health import health_of
from tenants import actions as tenant_actions
from tenants.models import AuditLog, GoLiveSwitch, PortalApproval, Tenant

PAGE_SIZE = 100


@staff_required
def index(request: HttpRequest) -> HttpResponse:
    """Every tenant with its integrations' health; searchable by tenant, portal id or a user's e-mail."""
    query = request.GET.get("q", "").strip()
    tenants = Tenant.objects.order_by("name")
    if query:
        tenants = tenants.filter(
            Q(name__icontains=query)
            | Q(slug__icontains=query)
            | Q(hubspot_portal_id__icontains=query)
            | Q(memberships__user__email__icontains=query)
        ).distinct()
    tenants = list(tenants[:PAGE_SIZE])
    health = health_of(Integration.objects.filter(tenant__in=tenants))
    by_tenant: dict[int, list] = {}
    for item in health:
        by_tenant.setdefault(item.integration.tenant_id, []).append(item)
    rows = [{"tenant": t, "integrations": by_tenant.get(t.pk, [])} for t in tenants]
    approvals = PortalApproval.objects.filter(status=PortalApproval.Status.PENDING).select_related("tenant", "requested_by")
    context = {"rows": rows, "query": query, "approvals": approvals, "alerts": alerts.listed(Alert.objects.all())}
    return render(request, "staff/index.html", context)


@require_POST
@staff_required
def decide_portal(request: HttpRequest, approval_id: int) -> HttpResponse:
    """Approve or refuse a second tenant syncing a HubSpot portal (audited in the tenant's log)."""
    approval = get_object_or_404(PortalApproval, pk=approval_id)
    approve = request.POST.get("decision") == "approve"
    tenant_actions.decide_portal_approval(approval, request.user, approve)
    verb = "approved" if approve else "refused"
    messages.success(request, f"HubSpot portal {approval.portal_id} for {approval.tenant.name}: {verb}.")
    return redirect("staff_index")


@staff_required
def tenant_detail(request: HttpRequest, tenant_id: int) -> HttpResponse:
    tenant = get_object_or_404(Tenant, pk=tenant_id)
    integrations = Integration.objects.filter(tenant=tenant)
    context = {
        "tenant": tenant,
        "health": health_of(integrations),
        "connections": Connection.objects.filter(tenant=tenant),
        "runs": SyncRun.objects.filter(integration__tenant=tenant)
        .select_related("integration__other_connection")
        .order_by("-queued_at")[:30],
        # The records failing now, as the integration page and the alert count them (not every failed attempt).
        "failures": open_failures_in(RecordEvent.objects.filter(integration__tenant=tenant))[:50],
        "deferred": DeferredRecord.objects.filter(integration__tenant=tenant).select_related("object_mapping")[:50],
        "audit": AuditLog.objects.filter(tenant=tenant)[:100],
        "members": tenant.memberships.select_related("user"),
        "alerts": alerts.listed(Alert.objects.filter(tenant=tenant)),
        "switches": GoLiveSwitch.objects.filter(tenant=tenant).select_related("integration__other_connection")[:10],
    }
    return render(request, "staff/tenant.html", context)


def _integration_action(view):
    @require_POST
    @staff_required
    def wrapper(request: HttpRequest, integration_id: int) -> HttpResponse:
        integration = get_object_or_404(Integration.objects.select_related("tenant"), pk=integration_id)
        try:
            view(request, integration)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect("staff_tenant", tenant_id=integration.tenant_id)

    wrapper.__name__ = view.__name__
    return wrapper


@_integration_action
def sync_now(request: HttpRequest, integration: Integration) -> None:
    actions.sync_now(integration, request.user)
    messages.success(request, f"Sync of {integration} queued.")


@_integration_action
def historical_resync(request: HttpRequest, integration: Integration) -> None:
    actions.historical_resync(integration, request.user)
    messages.success(request, f"Historical resync of {integration} started.")


@_integration_action
def main_switch(request: HttpRequest, integration: Integration) -> None:
    on = request.POST.get("on") == "1"
    actions.main_switch(integration, request.user, on)
    messages.success(request, f"{integration} switched {'on' if on else 'off'}.")


@_integration_action
def repair_webhooks(request: HttpRequest, integration: Integration) -> None:
    states = actions.repair_webhooks(integration, request.user)
    messages.success(request, "Webhooks of {}: {}.".format(integration, ", ".join(f"{r.side} {r.state}" for r in states)))


@require_POST
@staff_required
def refresh_schema(request: HttpRequest, connection_id) -> HttpResponse:
    connection = get_object_or_404(Connection, pk=connection_id)
    messages.info(request, actions.refresh_schema(connection, request.user))
    return redirect("staff_tenant", tenant_id=connection.tenant_id)


@require_POST
@staff_required
def view_as(request: HttpRequest, tenant_id: int) -> HttpResponse:
    tenant = get_object_or_404(Tenant, pk=tenant_id)
    actions.begin_view_as(request.session, tenant, request.user)
    return redirect("home")


@staff_required
def view_as_end(request: HttpRequest) -> HttpResponse:
    """Linked from the banner on every page (templates/base.html), so a GET ends it too."""
    tenant = actions.end_view_as(request.session, request.user)
    return redirect("staff_tenant", tenant_id=tenant.pk) if tenant else redirect("staff_index")


@staff_required
def lockouts(request: HttpRequest) -> HttpResponse:
    """Accounts and addresses locked out of log-in now (django-axes), each with an unlock button."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    attempts = AccessAttempt.objects.filter(failures_since_start__gte=settings.AXES_FAILURE_LIMIT, attempt_time__gte=since)
    return render(request, "staff/lockouts.html", {"attempts": attempts.order_by("-attempt_time")[:PAGE_SIZE]})


@require_POST
@staff_required
def unlock(request: HttpRequest, attempt_id: int) -> HttpResponse:
    attempt = get_object_or_404(AccessAttempt, pk=attempt_id)
    removed = reset_lockout(ip=attempt.ip_address, username=attempt.username, ip_or_username=False)
    AuditLog.objects.create(
        tenant=None,
        actor=request.user,
        actor_label=request.user.get_username(),
        action="staff.unlocked_login",
        summary=f"Unlocked log-in for {attempt.username or '(no account)'} from {attempt.ip_address} ({removed} records).",
    )
    messages.success(request, f"Unlocked {attempt.username or attempt.ip_address}.")
    return redirect("staff_lockouts")
