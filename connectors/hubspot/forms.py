"""HubSpot credentials typed by a customer: a private-app access token (the OAuth install flow
stores tokens itself and needs no form). The token is write-only: never rendered back; left
blank on edit, the stored one is kept.

    form = HubSpotCredentialsForm(request.POST, connection=existing_or_None)
    if form.is_valid():
        result = form.test_connection()   # ConnectionTest with a message saying what to fix
        form.apply_to(connection)         # config + credentials (the caller saves)
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.conf import settings

from connectors.forms import CredentialsForm
from connectors.hubspot.connector import HubSpotConnector

TOKEN_PATTERN = re.compile(r"^pat-[a-z0-9]+-[A-Za-z0-9-]+$")


class HubSpotCredentialsForm(CredentialsForm):
    initial_from_config = ("portal_id",)
    secret_field = "token"

    token = forms.CharField(
        label="Private app access token",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="HubSpot → Settings → Integrations → Private apps → your app → Access token "
        "(starts with pat-). Leave blank to keep the stored token.",
    )
    portal_id = forms.CharField(
        label="HubSpot account (portal) ID",
        required=False,
        max_length=20,
        help_text="Optional: the number in your HubSpot URL; we check the token belongs to it.",
    )

    def clean_token(self) -> str:
        value = self.entered_secret("Enter the private app's access token (it starts with pat-).")
        if not value:
            return ""
        if any(ch.isspace() for ch in value):
            raise forms.ValidationError("The token has no spaces; copy it again with the Copy button in HubSpot.")
        if not TOKEN_PATTERN.match(value):
            raise forms.ValidationError(
                "That is not a private app access token: it starts with pat- (e.g. pat-na1-…). "
                "An API key or a client secret will not work."
            )
        return value

    def clean_portal_id(self) -> str:
        value = self.cleaned_data.get("portal_id", "").strip()
        if value and not value.isdigit():
            raise forms.ValidationError("The portal ID is a number, e.g. 62515.")
        return value

    # --- what the Connection gets --------------------------------------------------------------
    def get_config(self) -> dict[str, str]:
        existing = dict(getattr(self.connection, "config", None) or {})
        base_url = existing.get("base_url") or settings.HUBSPOT_API_BASE
        return {**existing, "base_url": base_url, "portal_id": self.cleaned_data.get("portal_id", "")}

    def connector(self, **kwargs: Any):
        config = self.get_config()
        return HubSpotConnector(
            config["base_url"], token=self.get_credentials()["token"], portal_id=config["portal_id"], **kwargs
        )
