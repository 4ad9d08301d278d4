"""The Salesforce credential form: the server-to-server way in (OAuth 2.0 JWT bearer flow).

Most customers connect with "Sign in with Salesforce" (the web-server flow, see
connectors/salesforce/views.py), which needs no form. An admin who prefers a connected app with a
certificate enters its consumer key, the integration user's username and the private key; the
login host follows the environment chosen in the installer (login.salesforce.com for production,
test.salesforce.com for a sandbox) unless a My Domain login URL is given. The private key is
write-only: never rendered back; left blank on edit, the stored one is kept.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from django import forms

from connectors.dynamics.forms import allowed_emulator_hosts
from connectors.forms import CredentialsForm
from connectors.salesforce.connector import SalesforceConnector

SALESFORCE_LOGIN_HOST = re.compile(r"^(login|test)\.salesforce\.com$|^[a-z0-9-]+(\.[a-z0-9-]+)*\.my\.salesforce\.com$")
USERNAME = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def clean_login_url(value: str) -> str:
    """'' (the environment's default host) or scheme://host[:port] of a Salesforce login host or an allowed emulator."""
    text = (value or "").strip()
    if not text:
        return ""
    try:
        parts = urlsplit(text if "://" in text else f"https://{text}")
        port = parts.port
    except ValueError:
        raise forms.ValidationError("That is not a valid URL, e.g. https://acme.my.salesforce.com.") from None
    host = (parts.hostname or "").lower()
    if host in allowed_emulator_hosts() and parts.scheme in ("http", "https"):
        return f"{parts.scheme}://{host}" + (f":{port}" if port else "")
    if parts.scheme != "https" or port or parts.path.strip("/") or not SALESFORCE_LOGIN_HOST.match(host):
        raise forms.ValidationError(
            "Enter a Salesforce login host: https://login.salesforce.com, https://test.salesforce.com or your My Domain "
            "(https://acme.my.salesforce.com); leave it blank to use the one of the environment.",
            code="login_url",
        )
    return f"https://{host}"


class SalesforceCredentialsForm(CredentialsForm):
    initial_from_config = ("client_id", "username", "login_url")
    secret_field = "private_key"

    client_id = forms.CharField(
        label="Consumer key",
        max_length=255,
        help_text="Setup > App Manager > your connected app > View > Manage Consumer Details > Consumer Key.",
    )
    username = forms.CharField(
        label="Integration user's username",
        max_length=255,
        help_text="The Salesforce username the sync acts as (pre-authorized for the connected app).",
    )
    private_key = forms.CharField(
        label="Private key (PEM)",
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off"}),
        help_text="The key whose certificate is uploaded to the connected app (Use digital signatures). Left blank, "
        "the saved key is kept.",
    )
    login_url = forms.CharField(
        label="Login URL (advanced)",
        max_length=255,
        required=False,
        help_text="Blank: login.salesforce.com for production, test.salesforce.com for a sandbox.",
    )

    def clean_client_id(self) -> str:
        value = self.cleaned_data["client_id"].strip()
        if not value.isprintable() or " " in value:
            raise forms.ValidationError("The consumer key has no spaces; copy it from Manage Consumer Details.")
        return value

    def clean_username(self) -> str:
        value = self.cleaned_data["username"].strip()
        if not USERNAME.match(value):
            raise forms.ValidationError("A Salesforce username looks like an e-mail address, e.g. sync@acme.com.")
        return value

    def clean_private_key(self) -> str:
        value = self.entered_secret("Paste the private key of the connected app's certificate.")
        if value and "PRIVATE KEY-----" not in value:
            raise forms.ValidationError("Paste the whole PEM private key, from -----BEGIN PRIVATE KEY----- to the END line.")
        return value

    def clean_login_url(self) -> str:
        return clean_login_url(self.cleaned_data.get("login_url", ""))

    def get_config(self) -> dict[str, str]:
        data = self.cleaned_data
        return {"client_id": data["client_id"], "username": data["username"], "login_url": data.get("login_url") or ""}

    def apply_to(self, connection: Any) -> Any:
        super().apply_to(connection)
        connection.oauth_tokens = {}  # new credentials: the next call signs in afresh
        return connection

    def connector(self, **kwargs: Any):
        return SalesforceConnector.from_jwt(
            self.get_config(), self.get_credentials()["private_key"], self._environment(), **kwargs
        )

    def _environment(self) -> str:
        """The org the caller means (the installer's answer; go-live: production), else the connection's."""
        return self.environment or getattr(self.connection, "environment", "") or "production"
