from tenants.access import memberships_of


def tenant(request):
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    membership = getattr(request, "membership", None) or request.lazy_membership
    return {
        "current_membership": membership,
        "current_tenant": membership.tenant if membership else None,
        "my_memberships": memberships_of(request.user),
        "read_only": bool(getattr(request, "read_only", False)) or not (membership and membership.can_write),
        "view_as_banner": request.session.get("view_as_tenant_name"),
    }
