"""Named, atomic state changes of tenants and memberships; each writes an audit row."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from tenants.models import AuditLog, Invitation, Membership, Tenant

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
def sign_up(email: str, password_hash: str, company_name: str) -> tuple[Any, Tenant]:
    """The account and workspace of a confirmed sign-up (tenants/signup.py): the password was
    hashed when the person chose it and is stored as it was kept while the e-mail was confirmed."""
    User = get_user_model()
    email = email.strip().lower()
    user = User.objects.create(username=email, email=email, password=password_hash)
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


class TeamError(ValueError):
    """A team change that is refused, with the reason in words the owner can act on."""


def _owners_left(tenant: Tenant, without: Membership) -> int:
    return tenant.memberships.filter(role=Membership.Role.OWNER).exclude(pk=without.pk).count()


@transaction.atomic
def change_role(membership: Membership, actor, role: str) -> Membership:
    """An owner gives a member another role; the workspace always keeps one owner."""
    if role not in Membership.Role.values:
        raise TeamError("Choose Owner, Admin or Viewer.")
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.role == role:
        return membership
    if membership.role == Membership.Role.OWNER and not _owners_left(membership.tenant, membership):
        raise TeamError(f"{membership.user.email} is the only owner; make someone else an owner first.")
    before = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit(
        membership.tenant,
        actor,
        "membership.changed",
        membership,
        summary=f"{membership.user.email}: {Membership.Role(before).label} → {membership.get_role_display()}",
        role=role,
        was=before,
    )
    return membership


@transaction.atomic
def set_alert_emails(membership: Membership, actor, wanted: bool) -> Membership:
    """A member switches alert e-mails (syncsmart.alerts) on or off for themselves."""
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.alert_emails == wanted:
        return membership
    membership.alert_emails = wanted
    membership.save(update_fields=["alert_emails"])
    summary = f"{membership.user.email}: alert e-mails {'on' if wanted else 'off'}"
    audit(membership.tenant, actor, "membership.alert_emails", membership, summary=summary, alert_emails=wanted)
    return membership


@transaction.atomic
def remove_member(membership: Membership, actor) -> None:
    """An owner removes someone from the workspace (their account stays; other workspaces keep them)."""
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.role == Membership.Role.OWNER and not _owners_left(membership.tenant, membership):
        raise TeamError(f"{membership.user.email} is the only owner and cannot be removed.")
    email = membership.user.email
    audit(
        membership.tenant, actor, "membership.removed", membership, summary=f"{email} removed from the team", role=membership.role
    )
    membership.delete()


@transaction.atomic
def invite_member(tenant: Tenant, actor, email: str, role: str):
    """Record an invitation (the e-mail with its signed link is sent by tenants/team.py)."""
    email = email.strip().lower()
    if tenant.memberships.filter(user__email__iexact=email).exists():
        raise TeamError(f"{email} is already in the team.")
    Invitation.objects.filter(tenant=tenant, email__iexact=email, accepted_at=None, revoked_at=None).update(
        revoked_at=timezone.now()
    )  # the newest invitation is the one that works
    invitation = Invitation.objects.create(tenant=tenant, email=email, role=role, invited_by=actor)
    audit(tenant, actor, "invitation.sent", invitation, summary=f"Invited {email} as {invitation.get_role_display()}", role=role)
    return invitation


@transaction.atomic
def revoke_invitation(invitation, actor) -> None:
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit(invitation.tenant, actor, "invitation.revoked", invitation, summary=f"Invitation of {invitation.email} withdrawn")


@transaction.atomic
def accept_invitation(invitation, user) -> Membership:
    """The invited person joins with the invitation's role; the link cannot be used again."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_open:
        raise TeamError("This invitation has already been used or withdrawn. Ask the owner for a new one.")
    membership, created = Membership.objects.get_or_create(
        user=user, tenant=invitation.tenant, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit(
        invitation.tenant,
        user,
        "membership.added" if created else "invitation.accepted",
        membership,
        summary=f"{user.email} joined as {membership.get_role_display()} (invited)",
        role=membership.role,
    )
    return membership


@transaction.atomic
def decide_portal_approval(approval, actor, approve: bool):
    """Staff allow (or refuse) a second tenant syncing a HubSpot portal another tenant already uses."""
    approval.status = approval.Status.APPROVED if approve else approval.Status.REFUSED
    approval.decided_by = actor
    approval.decided_at = timezone.now()
    approval.save(update_fields=["status", "decided_by", "decided_at"])
    audit(
        approval.tenant,
        actor,
        "portal.approved" if approve else "portal.refused",
        approval,
        summary=f"Staff {'approved' if approve else 'refused'} syncing HubSpot portal {approval.portal_id}",
    )
    return approval
