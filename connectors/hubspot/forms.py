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

from connectors.base import ConnectionTest, ConnectorError

TOKEN_PATTERN = re.compile(r"^pat-[a-z0-9]+-[A-Za-z0-9-]+$")


class HubSpotCredentialsForm(forms.Form):
    token = forms.CharField(label="Private app access token", required=False, strip=True,
                            widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
                            help_text="HubSpot → Settings → Integrations → Private apps → your app → Access token "
                                      "(starts with pat-). Leave blank to keep the stored token.")
    portal_id = forms.CharField(label="HubSpot account (portal) ID", required=False, max_length=20,
                                help_text="Optional: the number in your HubSpot URL; we check the token belongs to it.")

    def __init__(self, data=None, *args: Any, connection: Any = None, **kwargs: Any):
        self.connection = connection
        initial = kwargs.pop("initial", None) or {}
        if connection is not None:
            initial.setdefault("portal_id", (connection.config or {}).get("portal_id", ""))
        super().__init__(data, *args, initial=initial, **kwargs)

    def _stored_token(self) -> str:
        if self.connection is None:
            return ""
        return str((getattr(self.connection, "credentials", None) or {}).get("token") or "")

    def clean_token(self) -> str:
        value = self.cleaned_data.get("token", "")
        if not value:
            if not self._stored_token():
                raise forms.ValidationError("Enter the private app's access token (it starts with pat-).")
            return ""
        if any(ch.isspace() for ch in value):
            raise forms.ValidationError("The token has no spaces; copy it again with the Copy button in HubSpot.")
        if not TOKEN_PATTERN.match(value):
            raise forms.ValidationError("That is not a private app access token: it starts with pat- (e.g. pat-na1-…). "
                                        "An API key or a client secret will not work.")
        return value

    def clean_portal_id(self) -> str:
        value = self.cleaned_data.get("portal_id", "").strip()
        if value and not value.isdigit():
            raise forms.ValidationError("The portal ID is a number, e.g. 62515.")
        return value

    # --- what the Connection gets --------------------------------------------------------------
    def config(self) -> dict[str, str]:
        existing = dict((getattr(self.connection, "config", None) or {}))
        base_url = existing.get("base_url") or settings.HUBSPOT_API_BASE
        return {**existing, "base_url": base_url, "portal_id": self.cleaned_data.get("portal_id", "")}

    def credentials(self) -> dict[str, str]:
        return {"token": self.cleaned_data.get("token") or self._stored_token()}

    get_config, get_credentials = config, credentials

    def apply_to(self, connection: Any) -> Any:
        connection.config = self.config()
        connection.credentials = self.credentials()
        return connection

    def connector(self, **kwargs: Any):
        from connectors.hubspot.connector import HubSpotConnector

        config = self.config()
        return HubSpotConnector(config["base_url"], token=self.credentials()["token"], portal_id=config["portal_id"], **kwargs)

    def test_connection(self, **connector_kwargs: Any) -> ConnectionTest:
        try:
            connector = self.connector(**connector_kwargs)
        except ConnectorError as error:
            return ConnectionTest(False, error.message)
        try:
            return connector.test_connection()
        finally:
            connector.close()
