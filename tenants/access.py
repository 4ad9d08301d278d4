"""The one way customer-facing code reaches tenant data.

`current_membership(request)` says which tenant the user is working in; `tenant_object_or_404`
fetches an object only through that tenant, so another tenant's id is a 404; `require_write`
turns a viewer's attempt to change anything into a 403.

`tenant_block_reason(tenant)` is the one rule for a workspace that may not be used (suspended):
pages (`tenant_required`), the API with a session or a token (syncsmart.api.auth), webhooks
(syncsmart.webhooks) and scheduled runs all ask it. A removed membership has no row, so
`current_membership` finds nothing; a disabled user's session no longer authenticates
(tenants.middleware logs them out).
"""

from __future__ import annotations

from functools import wraps
from typing import TypeVar

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404

from tenants.models import Membership, Tenant

SESSION_KEY = "tenant_id"
# Staff "view as customer" (syncsmart/staff): the tenant a staff user is looking at, read-only.
VIEW_AS_SESSION_KEY = "view_as_tenant_id"
M = TypeVar("M", bound=Model)


class WorkspaceBlocked(PermissionDenied):
    """The request's workspace may not be used (suspended); the message says so."""


def tenant_block_reason(tenant: Tenant) -> str | None:
    """Why nobody may use this workspace now, or None when it may be used."""
    return status_block_reason(tenant.status)


def status_block_reason(status: str) -> str | None:
    """The same answer from the workspace's status alone (a running run reads only the status)."""
    if status == Tenant.Status.SUSPENDED:
        return "This workspace is suspended: nothing syncs and nobody can use it until SyncSmart support reactivates it."
    return None


def check_workspace_usable(tenant: Tenant) -> None:
    reason = tenant_block_reason(tenant)
    if reason:
        raise WorkspaceBlocked(reason)


def memberships_of(user) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("tenant").order_by("tenant__name")


def current_membership(request) -> Membership | None:
    if not request.user.is_authenticated:
        return None
    cached = getattr(request, "_membership", None)
    if cached is not None:
        return cached
    viewing = staff_view_membership(request)
    if viewing is not None:
        request._membership = viewing
        return viewing
    memberships = memberships_of(request.user)
    tenant_id = request.session.get(SESSION_KEY)
    membership = memberships.filter(tenant_id=tenant_id).first() if tenant_id else None
    # Without a choice in the session, a workspace that may be used comes first.
    membership = membership or memberships.exclude(tenant__status=Tenant.Status.SUSPENDED).first() or memberships.first()
    request._membership = membership
    return membership


def staff_view_membership(request) -> Membership | None:
    """A staff user viewing a tenant as its customers see it: an unsaved viewer membership, and
    request.read_only so require_write refuses every change."""
    tenant_id = request.session.get(VIEW_AS_SESSION_KEY)
    if not tenant_id or not request.user.is_staff:
        return None
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return None
    request.read_only = True
    return Membership(user=request.user, tenant=tenant, role=Membership.Role.VIEWER)


def switch_tenant(request, tenant_id: int) -> Membership:
    membership = memberships_of(request.user).filter(tenant_id=tenant_id).first()
    if membership is None:
        raise Http404("No such tenant.")
    request.session[SESSION_KEY] = membership.tenant_id
    request._membership = membership
    return membership


def tenant_required(view):
    """Log-in plus a tenant: sets request.tenant and request.membership."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        membership = current_membership(request)
        if membership is None:
            raise Http404("You are not a member of any tenant.")
        if not getattr(request, "read_only", False):  # staff "view as" may look at a suspended tenant
            check_workspace_usable(membership.tenant)
        request.membership = membership
        request.tenant = membership.tenant
        return view(request, *args, **kwargs)

    return wrapper


def require_write(request) -> None:
    membership = getattr(request, "membership", None) or current_membership(request)
    if membership is None or not membership.can_write or getattr(request, "read_only", False):
        raise PermissionDenied("Your role in this tenant is read-only.")


def writes_need_role(view):
    """Any non-safe method on the view requires an owner or admin role."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            require_write(request)
        return view(request, *args, **kwargs)

    return wrapper


def tenant_queryset(tenant: Tenant, model_or_qs: type[M] | QuerySet[M], tenant_path: str = "tenant") -> QuerySet[M]:
    qs = model_or_qs if isinstance(model_or_qs, QuerySet) else model_or_qs._default_manager.all()
    return qs.filter(**{tenant_path: tenant})


def tenant_object_or_404(request, model_or_qs: type[M] | QuerySet[M], tenant_path: str = "tenant", **lookup) -> M:
    """Fetch one object of the request's tenant; another tenant's id is indistinguishable from none."""
    try:
        return tenant_queryset(request.tenant, model_or_qs, tenant_path).get(**lookup)
    except (ObjectDoesNotExist, ValidationError, ValueError, TypeError) as exc:
        raise Http404("Not found.") from exc
