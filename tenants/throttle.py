"""Log-in throttling with django-axes: per account and per IP address, for the log-in form, API
tokens and the installer's OAuth callback.

After AXES_FAILURE_LIMIT failures (5) within AXES_COOLOFF_TIME (15 minutes) for one account or
from one address, the next attempt is refused (429) before any password or token is checked.
django-axes counts the failures (AccessAttempt rows); this module adds:

- `login_name`: the account a failure counts against (e-mail, case-folded);
- `client_address`: the address it counts against (TRUSTED_PROXY_COUNT reverse proxies honoured);
- `check_api_token_allowed` / `api_token_failed`: the same rule for `Authorization: Bearer`;
- `oauth_complete`: social-auth's OAuth callback, refused when locked out, a failure counted;
- `tell_the_account_owner`: when an account locks, its owner gets an e-mail and every workspace
  they belong to an audit row, so they see it; staff see and lift it at /staff/lockouts/.
"""

from __future__ import annotations

import logging
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from django.core.mail import send_mail
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from rest_framework.throttling import BaseThrottle
from social_core.exceptions import SocialAuthBaseException
from social_django import views as social_views

from tenants.actions import audit
from tenants.models import Membership

log = logging.getLogger("syncsmart.auth")

OAUTH_CALLBACK = "oauth-callback"


def login_name(request: HttpRequest, credentials: dict | None) -> str | None:
    """What a failure counts against: the typed e-mail (case-folded), or an API token's prefix."""
    name = (credentials or {}).get("username")
    if name is None and request is not None:
        name = request.POST.get(settings.AXES_USERNAME_FORM_FIELD) if request.method == "POST" else None
    return str(name).strip().lower()[:150] if name else None


def client_address(request: HttpRequest) -> str | None:
    """The address a failure counts against (AXES_CLIENT_IP_CALLABLE): REMOTE_ADDR, or behind
    TRUSTED_PROXY_COUNT reverse proxies the address the outermost of them saw, counted from the
    right of X-Forwarded-For. DRF's parsing of it (NUM_PROXIES, set from TRUSTED_PROXY_COUNT),
    so the API's rate limit and the lock-out agree on who a client is."""
    return BaseThrottle().get_ident(request) or None


def _token_credentials(plaintext: str) -> dict[str, str]:
    # Never the token itself: its first characters say which token was tried.
    return {"username": "api-token:" + plaintext[:8]}


def api_token_allowed(request: HttpRequest, plaintext: str) -> bool:
    return AxesProxyHandler.is_allowed(request, _token_credentials(plaintext))


def api_token_failed(request: HttpRequest, plaintext: str) -> None:
    user_login_failed.send(sender=__name__, credentials=_token_credentials(plaintext), request=request)


def oauth_complete(request: HttpRequest, backend: str, *args: Any, **kwargs: Any) -> HttpResponse:
    """social-auth's callback behind the same lock-out: a locked-out address is refused before the
    code is exchanged; a callback that fails (bad state, denied, bad code) counts as a failure."""
    credentials = {"username": OAUTH_CALLBACK}
    if not AxesProxyHandler.is_allowed(request, credentials):
        return locked_out_response(request, credentials)
    try:
        return social_views.complete(request, backend, *args, **kwargs)
    except SocialAuthBaseException:
        user_login_failed.send(sender=__name__, credentials=credentials, request=request)
        raise


def locked_out_response(request: HttpRequest, credentials: dict | None = None) -> HttpResponse:
    """The page AXES_LOCKOUT_CALLABLE shows: 429, the wait, no hint whether the account exists."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    if request.path.startswith("/api/"):  # the API's error shape (syncsmart.api.errors)
        message = f"Too many failed attempts from here; try again in {minutes} minutes."
        response: HttpResponse = JsonResponse({"error": {"code": "throttled", "message": message}}, status=429)
    else:
        response = render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response


@receiver(user_locked_out)
def tell_the_account_owner(sender: Any, request: HttpRequest | None = None, username: str | None = None, **kwargs: Any) -> None:
    if not username or username.startswith("api-token:") or username == OAUTH_CALLBACK:
        return
    user = get_user_model().objects.filter(email__iexact=username).first()
    if user is None:
        return  # nobody to tell; the page says the same either way
    # axes signals again for every attempt during the lock-out: tell once per lock-out.
    if not cache.add(f"lockout-told:{user.pk}", True, timeout=settings.AXES_COOLOFF_TIME.total_seconds()):
        return
    ip_address = kwargs.get("ip_address") or "an unknown address"
    summary = f"Log-in locked for {user.email} after repeated wrong passwords (last from {ip_address})."
    for membership in Membership.objects.filter(user=user).select_related("tenant"):
        audit(membership.tenant, "system", "login.locked_out", summary=summary)
    send_mail(
        "SyncSmart: your log-in was locked",
        f"{summary}\n\nIf this was you, wait {int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)} minutes or "
        "reset your password. If it was not, reset your password now.",
        None,
        [user.email],
        fail_silently=True,
    )
    log.warning("log-in locked out for user %s", user.pk)
