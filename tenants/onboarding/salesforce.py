"""The installer's "Sign in with Salesforce": the OAuth 2.0 web-server flow against the login host of
the org chosen in the system step (login.salesforce.com for production, test.salesforce.com for a
sandbox, or settings.SALESFORCE_LOGIN_URL, e.g. the emulator in the demo).

    GET onboarding/salesforce/connect/   -> 302 to {login host}/services/oauth2/authorize (state in the session)
    GET onboarding/salesforce/callback/  -> code exchanged, tokens stored encrypted, connection tested live

The connected app's consumer key and secret come from settings (SALESFORCE_CLIENT_ID / _SECRET);
the secret is kept with the connection (encrypted) because refreshing the session needs it.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from connectors.base import ConnectorError
from connectors.http import VendorHttp
from connectors.salesforce import oauth
from tenants.access import require_write, tenant_required
from tenants.models import OnboardingProgress
from tenants.onboarding import actions, steps
from tenants.onboarding.credentials import run_connection_test

Step = OnboardingProgress.Step
STATE_KEY = "salesforce_oauth_state"


def login_url(progress: OnboardingProgress) -> str:
    return oauth.login_url_for(progress.answers.get("environment", "sandbox"), settings.SALESFORCE_LOGIN_URL or None)


def callback_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("salesforce_oauth_callback"))


def _progress(request: HttpRequest) -> OnboardingProgress | None:
    require_write(request)
    progress = actions.progress_for(request.tenant, request.user)
    if progress.answers.get("system") != "salesforce" or not steps.may_open(progress, Step.CREDENTIALS):
        messages.info(request, "Choose Salesforce as the system to connect first.")
        return None
    return progress


@tenant_required
def connect(request: HttpRequest) -> HttpResponse:
    progress = _progress(request)
    if progress is None:
        return redirect("onboarding_step", step=Step.SYSTEM)
    if not settings.SALESFORCE_CLIENT_ID:
        messages.error(request, "This installation has no Salesforce connected app (SALESFORCE_CLIENT_ID is not set).")
        return redirect("onboarding_step", step=Step.CREDENTIALS)
    state = secrets.token_urlsafe(24)
    request.session[STATE_KEY] = state
    return redirect(oauth.authorize_url(login_url(progress), settings.SALESFORCE_CLIENT_ID, callback_url(request), state=state))


@tenant_required
def callback(request: HttpRequest) -> HttpResponse:
    progress = _progress(request)
    if progress is None:
        return redirect("onboarding_step", step=Step.SYSTEM)
    expected = request.session.pop(STATE_KEY, None)
    if not expected or not secrets.compare_digest(expected, request.GET.get("state", "")):
        messages.error(request, "The Salesforce sign-in could not be verified (it expired or came from elsewhere); try again.")
        return redirect("onboarding_step", step=Step.CREDENTIALS)
    if request.GET.get("error"):
        reason = request.GET.get("error_description") or request.GET.get("error")
        messages.error(request, f"Salesforce did not grant access: {reason[:200]}.")
        return redirect("onboarding_step", step=Step.CREDENTIALS)
    try:
        session = _exchange(progress, request.GET.get("code", ""), callback_url(request))
    except ConnectorError as error:
        messages.error(request, f"Salesforce refused the sign-in: {error.message}")
        return redirect("onboarding_step", step=Step.CREDENTIALS)
    config = {"client_id": settings.SALESFORCE_CLIENT_ID, "instance_url": session.instance_url, "login_url": login_url(progress)}
    if settings.SALESFORCE_CA_FILE:
        config["ca_file"] = settings.SALESFORCE_CA_FILE
    connection = actions.save_other_connection(
        progress, request.user, config, {"client_secret": settings.SALESFORCE_CLIENT_SECRET}
    )
    connection.save_tokens(session.as_dict(), None)
    result = run_connection_test(request.user, connection)
    if result.ok:
        actions.reach(progress, Step.OBJECTS)
        messages.success(request, result.message)
    else:
        messages.error(request, result.message)
    return redirect("onboarding_step", step=Step.CREDENTIALS)


def _exchange(progress: OnboardingProgress, code: str, redirect_uri: str) -> oauth.Session:
    http = VendorHttp(
        login_url(progress),
        system="Salesforce login",
        error_parser=oauth.token_error,
        verify=settings.SALESFORCE_CA_FILE or True,
    )
    try:
        return oauth.exchange_code(http, code, redirect_uri, settings.SALESFORCE_CLIENT_ID, settings.SALESFORCE_CLIENT_SECRET)
    finally:
        http.close()
