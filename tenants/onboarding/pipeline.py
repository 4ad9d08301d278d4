"""social-auth pipeline steps of the HubSpot install flow.

The install flow connects a portal to the tenant of the user already logged in (the wizard's first
step creates the account). Tokens go into the encrypted Connection, never into social-auth's
plaintext UserSocialAuth.extra_data: this pipeline creates no UserSocialAuth row at all.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse

from tenants.access import current_membership
from tenants.onboarding import actions


def require_installer(strategy, backend, user=None, *args: Any, **kwargs: Any):
    """Only a logged-in owner or admin of a tenant can connect a portal to it."""
    request = strategy.request
    if user is None or not user.is_authenticated:
        messages.info(request, "Create your account (or log in) first, then connect HubSpot.")
        return redirect(reverse("onboarding_step", args=["account"]))
    membership = current_membership(request)
    if membership is None or not membership.can_write or getattr(request, "read_only", False):
        messages.error(request, "Only an owner or admin of this workspace can connect HubSpot.")
        return redirect(reverse("onboarding_step", args=["hubspot"]))
    return {"membership": membership}


def store_hubspot_connection(strategy, backend, response: dict[str, Any], membership=None, user=None, *args: Any, **kwargs: Any):
    progress = actions.progress_for(membership.tenant, user)
    actions.connect_hubspot(progress, user, response)
    # Returning the logged-in user ends the pipeline as a successful "association" without storing one.
    return {"user": user, "social": None, "is_new": False}
