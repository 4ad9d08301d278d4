"""The Dynamics 365 credential form: org URL, tenant id, client id and client secret.

The org URL must be https and a Dynamics host: `{org}.crm.dynamics.com` or a regional
`{org}.crmN.dynamics.com` (crm2 South America, crm4 EMEA, crm5 APAC, crm11 UK...). Customers
often paste the address bar (`.../main.aspx?appid=...`) or the Web API URL; the form says what
to type instead. Hosts in settings.SYNCSMART_ALLOWED_EMULATOR_HOSTS (the emulators on loopback,
in the demo and tests) are let through, with http and a port. The token endpoint base
(login.microsoftonline.com) is an advanced setting so the emulator can serve it; it too must be
an Azure AD login host or an allowed emulator host. The client secret is write-only: never
rendered back; left blank on edit, the stored one is kept.

    form = DynamicsCredentialsForm(request.POST, connection=existing_or_None)
    if form.is_valid():
        result = form.test_connection()          # ConnectionTest (token + WhoAmI), explains failures
        form.apply_to(connection)                # config + credentials (not saved)
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import urlsplit

from django import forms

from connectors.dynamics.connector import DynamicsConnector
from connectors.forms import CredentialsForm
from connectors.http import allowed_emulator_hosts as http_allowed_emulator_hosts

ORG_EXAMPLE = "https://contoso.crm.dynamics.com"
DYNAMICS_HOST = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)\.crm(?:[2-9]|1[0-9]|2[0-9])?\.dynamics\.com$")
AZURE_LOGIN_HOSTS = {"login.microsoftonline.com", "login.microsoftonline.us", "login.chinacloudapi.cn"}
TENANT_DOMAIN = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63})+$")


def allowed_emulator_hosts() -> frozenset[str]:
    """The emulator hosts (development only), as the HTTP seam sees them."""
    return http_allowed_emulator_hosts()


def _parts(value: str, what: str, example: str):
    text = (value or "").strip()
    if not text:
        raise forms.ValidationError(f"Enter the {what}, e.g. {example}.", code="required")
    if any(ch.isspace() for ch in text):
        raise forms.ValidationError(f"The {what} cannot contain spaces, e.g. {example}.", code="spaces")
    if "://" not in text:
        raise forms.ValidationError(f"Enter the full {what} starting with https://, e.g. {example}.", code="scheme")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise forms.ValidationError(f"That is not a valid URL. Enter the {what}, e.g. {example}.", code="invalid") from None
    return parts, port


def clean_org_url(value: str) -> str:
    """The org URL as scheme://host[:port] (no trailing slash), or a ValidationError saying what to type."""
    parts, port = _parts(value, "organization URL", ORG_EXAMPLE)
    host = (parts.hostname or "").lower()
    if parts.username or parts.password:
        raise forms.ValidationError(
            f"The org URL cannot contain a user name or password. Enter e.g. {ORG_EXAMPLE}.", code="userinfo"
        )
    emulator = host in allowed_emulator_hosts()
    if parts.scheme not in ("https", "http") or (parts.scheme == "http" and not emulator):
        raise forms.ValidationError(f"The org URL must start with https://, e.g. {ORG_EXAMPLE}.", code="scheme")
    if parts.path.rstrip("/") or parts.query or parts.fragment:
        raise forms.ValidationError(
            f"Enter only the organization URL, without a path such as /main.aspx or /api/data: e.g. "
            f"{parts.scheme}://{host or 'contoso.crm.dynamics.com'}.",
            code="path",
        )
    if emulator:
        return f"{parts.scheme}://{host}" + (f":{port}" if port else "")
    if port is not None:
        raise forms.ValidationError(f"Enter the org URL without a port (:{port}), e.g. {ORG_EXAMPLE}.", code="port")
    if not DYNAMICS_HOST.match(host):
        raise forms.ValidationError(
            f"{host or 'That'} is not a Dynamics 365 address. The org URL looks like {ORG_EXAMPLE} (or a regional "
            "https://contoso.crm4.dynamics.com); find it in Power Platform admin center > Environments > Environment URL.",
            code="host",
        )
    return f"https://{host}"


def clean_token_url_base(value: str) -> str:
    if not (value or "").strip():
        return "https://login.microsoftonline.com"
    parts, port = _parts(value, "token endpoint", "https://login.microsoftonline.com")
    host = (parts.hostname or "").lower()
    if host in allowed_emulator_hosts() and parts.scheme in ("http", "https") and not parts.path.strip("/"):
        return f"{parts.scheme}://{host}" + (f":{port}" if port else "")
    if parts.scheme != "https" or host not in AZURE_LOGIN_HOSTS or port or parts.path.strip("/"):
        raise forms.ValidationError(
            "The token endpoint must be an Azure AD login host such as https://login.microsoftonline.com "
            "(leave it blank for the default).",
            code="token_url_base",
        )
    return f"https://{host}"


class DynamicsCredentialsForm(CredentialsForm):
    initial_from_config = ("org_url", "tenant_id", "client_id", "token_url_base")
    secret_field = "client_secret"

    org_url = forms.CharField(
        label="Organization URL",
        max_length=255,
        error_messages={"required": f"Enter the organization URL, e.g. {ORG_EXAMPLE}."},
        help_text="Power Platform admin center > Environments > your environment > Environment URL, e.g. "
        f"{ORG_EXAMPLE}. Only the address, no /main.aspx.",
    )
    tenant_id = forms.CharField(
        label="Directory (tenant) ID",
        max_length=255,
        help_text="Azure portal > App registrations > your app > Overview > Directory (tenant) ID.",
    )
    client_id = forms.CharField(
        label="Application (client) ID",
        max_length=64,
        help_text="Azure portal > App registrations > your app > Overview > Application (client) ID. The app must be an "
        "application user in the environment with a security role.",
    )
    client_secret = forms.CharField(
        label="Client secret",
        max_length=500,
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Certificates & secrets > the secret's Value (not its Secret ID). Left blank, the saved secret is kept.",
    )
    token_url_base = forms.CharField(
        label="Token endpoint (advanced)",
        max_length=255,
        required=False,
        help_text="Leave blank for https://login.microsoftonline.com (sovereign clouds: login.microsoftonline.us).",
    )

    def clean_org_url(self) -> str:
        return clean_org_url(self.cleaned_data.get("org_url", ""))

    def clean_token_url_base(self) -> str:
        return clean_token_url_base(self.cleaned_data.get("token_url_base", ""))

    def clean_tenant_id(self) -> str:
        value = self.cleaned_data["tenant_id"].strip().lower()
        if _is_guid(value) or TENANT_DOMAIN.match(value):
            return value
        raise forms.ValidationError(
            "The tenant ID is a GUID like 8f5d2a6c-1b3e-4c7a-9d2f-6e4b1a0c9d11 (or your "
            "contoso.onmicrosoft.com domain); copy it from the app registration's Overview page."
        )

    def clean_client_id(self) -> str:
        value = self.cleaned_data["client_id"].strip().lower()
        if not _is_guid(value):
            raise forms.ValidationError(
                "The client ID is a GUID like 5b1c7e2a-3d4f-4a6b-8c9d-0e1f2a3b4c5d; copy the "
                "Application (client) ID from the app registration's Overview page."
            )
        return value

    def clean_client_secret(self) -> str:
        value = self.entered_secret("Enter the client secret (its Value is shown only once, when the secret is created).")
        if value and _is_guid(value):
            raise forms.ValidationError(
                "That looks like the secret's ID. Enter the secret's Value instead (Certificates & "
                "secrets > Client secrets > Value)."
            )
        return value

    # --- what the Connection gets -------------------------------------------------------------
    def get_config(self) -> dict[str, str]:
        data = self.cleaned_data
        return {
            "org_url": data["org_url"],
            "tenant_id": data["tenant_id"],
            "client_id": data["client_id"],
            "token_url_base": data.get("token_url_base") or "https://login.microsoftonline.com",
        }

    def get_credentials(self) -> dict[str, Any]:
        kept = dict(getattr(self.connection, "credentials", None) or {})  # webhook keys live here too
        return {**kept, **super().get_credentials()}

    def apply_to(self, connection: Any) -> Any:
        """Set config and credentials on `connection` (the caller saves it). A changed app drops cached tokens."""
        before = dict(connection.config or {})
        connection.config = {**before, **self.get_config()}
        connection.credentials = self.get_credentials()
        if any(before.get(k) != connection.config[k] for k in ("org_url", "tenant_id", "client_id")) or self.cleaned_data.get(
            "client_secret"
        ):
            connection.oauth_tokens = {}
        return connection

    def connector(self, **kwargs: Any):
        config = self.get_config()
        ca_file = (getattr(self.connection, "config", None) or {}).get("ca_file")
        kwargs.setdefault("verify", ca_file or True)
        return DynamicsConnector(
            config["org_url"],
            config["tenant_id"],
            config["client_id"],
            self.get_credentials()["client_secret"],
            token_url_base=config["token_url_base"],
            **kwargs,
        )


def _is_guid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False
