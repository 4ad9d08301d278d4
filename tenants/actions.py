"""Named, atomic state changes of tenants and memberships; each writes an audit row."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from tenants.models import AuditLog, Membership, Tenant

SECRET_WORDS = ("secret", "password", "token", "private", "key", "credential")


def _scrub(changes: dict[str, Any]) -> dict[str, Any]:
    """An audit row says a secret changed, never what it became."""
    clean: dict[str, Any] = {}
    for name, value in changes.items():
        if any(word in name.lower() for word in SECRET_WORDS):
            clean[name] = "(changed)"
        elif isinstance(value, dict):
            clean[name] = _scrub(value)
        else:
            clean[name] = value
    return clean


def audit(tenant: Tenant | None, actor, action: str, target=None, summary: str = "", **changes: Any) -> AuditLog:
    actor_label = ""
    if actor is not None and getattr(actor, "is_authenticated", False):
        actor_label = actor.get_username()
    elif isinstance(actor, str):
        actor_label, actor = actor, None
    return AuditLog.objects.create(
        tenant=tenant,
        actor=actor if actor is not None and getattr(actor, "pk", None) else None,
        actor_label=actor_label or "system",
        action=action,
        target_type=target._meta.label if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        summary=summary[:500],
        changes=_scrub(changes),
    )


@transaction.atomic
def sign_up(email: str, password: str, company_name: str) -> tuple[Any, Tenant]:
    User = get_user_model()
    email = email.strip().lower()
    user = User.objects.create_user(username=email, email=email, password=password)
    tenant = Tenant.objects.create(name=company_name.strip(), slug=Tenant.unique_slug_for(company_name))
    Membership.objects.create(user=user, tenant=tenant, role=Membership.Role.OWNER)
    audit(tenant, user, "tenant.created", tenant, summary=f"{email} signed up and created {tenant.name}")
    return user, tenant


@transaction.atomic
def add_member(tenant: Tenant, actor, user, role: str) -> Membership:
    membership, created = Membership.objects.update_or_create(user=user, tenant=tenant, defaults={"role": role})
    audit(
        tenant,
        actor,
        "membership.added" if created else "membership.changed",
        membership,
        summary=f"{user.get_username()} is {role}",
        role=role,
    )
    return membership
