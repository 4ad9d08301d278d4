"""Team invitations: the signed, expiring link and the e-mail that carries it.

The link holds the invitation's id and e-mail signed with django.core.signing (salted for this
purpose, timestamped); it is refused after INVITATION_MAX_AGE, when the signature does not
match, or when the invitation row was used or withdrawn. E-mail goes through Django's mail
backend (the console backend in the demo and by default, see EMAIL_BACKEND in settings)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from tenants import actions
from tenants.models import Invitation, Membership, PortalApproval, Tenant

SALT = "syncsmart.tenants.invitation"
INVITATION_MAX_AGE = dt.timedelta(days=7)


class InvalidInvitation(Exception):
    """The link is broken, expired, used or withdrawn; the message says which, in words."""


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps({"i": invitation.pk, "e": invitation.email}, salt=SALT, compress=True)


def invitation_url(invitation: Invitation) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("invitation", args=[invitation_token(invitation)])


def invitation_from_token(token: str) -> Invitation:
    try:
        data = signing.loads(token, salt=SALT, max_age=INVITATION_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise InvalidInvitation("This invitation has expired. Ask the owner to send a new one.") from exc
    except signing.BadSignature as exc:
        raise InvalidInvitation("This invitation link is not valid. Check that it was copied whole.") from exc
    invitation = Invitation.objects.select_related("tenant").filter(pk=data.get("i"), email=data.get("e")).first()
    if invitation is None or not invitation.is_open:
        raise InvalidInvitation("This invitation has already been used or withdrawn. Ask the owner for a new one.")
    return invitation


def invite(tenant: Tenant, actor, email: str, role: str) -> Invitation:
    """Record the invitation and e-mail its link."""
    invitation = actions.invite_member(tenant, actor, email, role)
    context = {
        "invitation": invitation,
        "url": invitation_url(invitation),
        "inviter": actor.email,
        "days": INVITATION_MAX_AGE.days,
    }
    send_mail(
        subject=f"{actor.email} invited you to {tenant.name} on SyncSmart",
        message=render_to_string("tenants/invitation_email.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[invitation.email],
    )
    return invitation


def is_owner(membership: Membership | None) -> bool:
    return membership is not None and membership.role == Membership.Role.OWNER and membership.pk is not None


# --- one HubSpot portal, two tenants -------------------------------------------------------


def other_tenants_on_portal(tenant: Tenant, portal_id: str) -> list[str]:
    if not portal_id:
        return []
    return list(Tenant.objects.filter(hubspot_portal_id=portal_id).exclude(pk=tenant.pk).values_list("name", flat=True))


def portal_approval_for(tenant: Tenant, portal_id: str, actor=None) -> PortalApproval | None:
    """None when no other tenant uses the portal; else the (possibly new) request to the staff console."""
    others = other_tenants_on_portal(tenant, portal_id)
    if not others:
        return None
    approval, created = PortalApproval.objects.get_or_create(
        tenant=tenant, portal_id=portal_id, defaults={"requested_by": actor, "other_tenants": others}
    )
    if created:
        actions.audit(
            tenant,
            actor,
            "portal.approval_requested",
            approval,
            summary=f"HubSpot portal {portal_id} is already used by another workspace; asked staff to approve",
        )
    return approval
