"""Sign-up that does not tell whether an address already has an account.

Every valid sign-up gets the same answer ("check your e-mail") and sends one e-mail:
- a new address: a SignUpRequest row (the password already hashed) and a link to confirm it.
  Nothing can log in until the link is opened; confirming creates the account and its
  workspace, logs the person in, and deletes the row (a link works once);
- an address that has an account: its owner is told someone tried to sign up with it (with links
  to log in and to reset the password); nothing else happens.
The password is hashed in both cases, so the answer takes as long either way.

The link holds the row's id and address signed with django.core.signing (salted for this
purpose, timestamped) and is refused after SIGN_UP_MAX_AGE or when its signature does not match.
E-mail goes through Django's mail backend, like team invitations (tenants/team.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from tenants import actions
from tenants.models import SignUpRequest, Tenant

SALT = "syncsmart.tenants.signup"
SIGN_UP_MAX_AGE = dt.timedelta(days=2)


class InvalidSignUpLink(Exception):
    """The link is broken, expired or already used; the message says which, in words."""


def request_sign_up(email: str, password: str, company_name: str, next_url: str = "") -> None:
    """Answer a valid sign-up form: a confirmation link for a new address, a note to the owner
    of an address that has an account. The caller shows the same page either way."""
    email = email.strip().lower()
    password_hash = make_password(password)  # for both branches: timing tells nothing either
    existing = get_user_model().objects.filter(email__iexact=email).order_by("id").first()
    if existing is not None:
        _mail(
            existing.email, "Someone tried to sign up to SyncSmart with your address", "registration/signup_exists_email.txt", {}
        )
        return
    SignUpRequest.objects.filter(created_at__lt=timezone.now() - SIGN_UP_MAX_AGE).delete()  # expired links' rows
    pending = SignUpRequest.objects.create(
        email=email, company_name=company_name.strip(), password=password_hash, next_url=next_url[:500]
    )
    _mail(
        pending.email,
        "Confirm your e-mail address for SyncSmart",
        "registration/signup_confirm_email.txt",
        {
            "url": confirmation_url(pending),
            "days": SIGN_UP_MAX_AGE.days,
        },
    )


def confirmation_token(pending: SignUpRequest) -> str:
    return signing.dumps({"s": pending.pk, "e": pending.email}, salt=SALT, compress=True)


def confirmation_url(pending: SignUpRequest) -> str:
    return _site_url(reverse("signup_confirm", args=[confirmation_token(pending)]))


def pending_from_token(token: str) -> SignUpRequest:
    try:
        data = signing.loads(token, salt=SALT, max_age=SIGN_UP_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise InvalidSignUpLink("This confirmation link has expired. Sign up again to get a new one.") from exc
    except signing.BadSignature as exc:
        raise InvalidSignUpLink("This confirmation link is not valid. Check that it was copied whole.") from exc
    pending = SignUpRequest.objects.filter(pk=data.get("s"), email=data.get("e")).first()
    if pending is None:
        raise InvalidSignUpLink("This confirmation link was already used. Log in with your e-mail and password.")
    return pending


def confirm(pending: SignUpRequest) -> tuple[Any, Tenant]:
    """Create the account and its workspace. Every waiting sign-up of the address goes: the first
    link opened wins, the others say they were used."""
    with transaction.atomic():
        pending = SignUpRequest.objects.select_for_update().filter(pk=pending.pk).first()
        if pending is None:
            raise InvalidSignUpLink("This confirmation link was already used. Log in with your e-mail and password.")
        SignUpRequest.objects.filter(email=pending.email).delete()
        if not get_user_model().objects.filter(email__iexact=pending.email).exists():
            return actions.sign_up(pending.email, pending.password, pending.company_name)
    # Only the address's owner holds this link, so saying so reveals nothing to anyone else.
    raise InvalidSignUpLink("This e-mail address already has an account. Log in, or reset your password.")


def _mail(to: str, subject: str, template: str, context: dict[str, Any]) -> None:
    context = {
        **context,
        "login_url": _site_url(reverse("login")),
        "reset_url": _site_url(reverse("password_reset")),
    }
    send_mail(
        subject=subject,
        message=render_to_string(template, context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[to],
    )


def _site_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path
