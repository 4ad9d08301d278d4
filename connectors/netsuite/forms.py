"""The NetSuite credential form: account id, then Token-Based Authentication (consumer key and
secret of the integration record, token id and secret of an access token) or OAuth 2.0 client
credentials (the integration's client id, the certificate id NetSuite showed on upload, and the
certificate's private key), plus the subsidiary new records get when the account uses them.

The account id is what NetSuite shows at Setup > Company > Company Information > Account ID:
digits (`1234567`), a sandbox (`1234567_SB1`) or a test drive (`TSTDRV1234567`); customers
often paste the host (`1234567-sb1.app.netsuite.com`) and the form accepts that too. The API
address is derived from it; an explicit one (advanced) is allowed only for NetSuite's own hosts
and for the emulators in settings.SYNCSMART_ALLOWED_EMULATOR_HOSTS. Secrets are write-only:
never rendered back; left blank on edit, the stored ones are kept. A new integration gets a
fresh signing secret for the user-event script.
"""

from __future__ import annotations

import re
import secrets
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from django import forms

from connectors.dynamics.forms import allowed_emulator_hosts
from connectors.forms import SAVED_SECRET_PLACEHOLDER, CredentialsForm
from connectors.netsuite import DEFAULT_INTEGRATION_CONCURRENCY
from connectors.netsuite.auth import host_slug, is_sandbox, realm_for
from connectors.netsuite.connector import NetSuiteConnector

ACCOUNT = re.compile(r"^(?:TSTDRV)?\d{3,12}(?:_(?:SB|RP)\d{1,3})?$")
NETSUITE_HOST = re.compile(r"^[a-z0-9-]{3,40}\.(?:suitetalk\.api|app|restlets\.api)\.netsuite\.com$")
HEX_KEY = re.compile(r"^[0-9a-fA-F]{64}$")
SECRET_FIELDS = ("consumer_secret", "token_secret", "private_key")


def clean_account_id(value: str) -> str:
    text = (value or "").strip()
    if "." in text or "/" in text:  # a pasted address: take the host's first label
        host = urlsplit(text if "://" in text else "//" + text).hostname or ""
        text = host.split(".")[0]
    account = realm_for(text)
    if not ACCOUNT.match(account):
        raise forms.ValidationError(
            "Enter the NetSuite account ID from Setup > Company > Company Information, e.g. 1234567 "
            "(a sandbox looks like 1234567_SB1)."
        )
    return account


def clean_api_url(value: str) -> str:
    text = (value or "").strip()
    if not text:
        return ""
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise forms.ValidationError("That is not a valid address.") from None
    host = (parts.hostname or "").lower()
    if host in allowed_emulator_hosts() and parts.scheme in ("http", "https") and not parts.path.strip("/"):
        return f"{parts.scheme}://{host}" + (f":{port}" if port else "")
    if parts.scheme != "https" or port or parts.path.strip("/") or not NETSUITE_HOST.match(host):
        raise forms.ValidationError(
            "Leave the API address blank: it comes from the account ID (e.g. https://1234567.suitetalk.api.netsuite.com)."
        )
    return f"https://{host}"


class NetSuiteCredentialsForm(CredentialsForm):
    initial_from_config = ("account_id", "auth_method", "consumer_key", "token_id", "certificate_id", "default_subsidiary")
    secret_field = "consumer_secret"

    account_id = forms.CharField(
        label="Account ID",
        max_length=100,
        help_text="Setup > Company > Company Information > Account ID, e.g. 1234567 or 1234567_SB1 for a sandbox.",
    )
    auth_method = forms.ChoiceField(
        label="Sign in with",
        choices=[("tba", "Token-based authentication (access token)"), ("oauth2_m2m", "OAuth 2.0 client credentials")],
        initial="tba",
    )
    consumer_key = forms.CharField(
        label="Consumer key / client ID",
        max_length=64,
        help_text="Setup > Integration > Manage Integrations > your integration (shown once, when it is saved).",
    )
    consumer_secret = forms.CharField(
        label="Consumer secret",
        max_length=64,
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="For token-based authentication. Left blank, the saved secret is kept.",
    )
    token_id = forms.CharField(
        label="Token ID",
        max_length=64,
        required=False,
        help_text="Setup > Users/Roles > Access Tokens > New, for the integration and a role with REST web services.",
    )
    token_secret = forms.CharField(
        label="Token secret",
        max_length=64,
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    certificate_id = forms.CharField(
        label="Certificate ID",
        max_length=100,
        required=False,
        help_text="For OAuth 2.0 client credentials: Setup > Integration > OAuth 2.0 Client Credentials (M2M) Setup.",
    )
    private_key = forms.CharField(
        label="Certificate private key (PEM)",
        max_length=10_000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off"}),
    )
    default_subsidiary = forms.CharField(
        label="Subsidiary for new records",
        max_length=18,
        required=False,
        help_text="Internal ID of the subsidiary NetSuite should give new customers and contacts (OneWorld accounts).",
    )
    api_url = forms.CharField(label="API address (advanced)", max_length=255, required=False)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        stored = getattr(self.connection, "credentials", None) or {}
        for name in SECRET_FIELDS:
            if stored.get(name):
                self.fields[name].widget.attrs["placeholder"] = SAVED_SECRET_PLACEHOLDER

    def clean_account_id(self) -> str:
        account = clean_account_id(self.cleaned_data.get("account_id", ""))
        if self.environment == "production" and is_sandbox(account):
            raise forms.ValidationError(
                f"{account} is a sandbox account (it ends in {account[account.index('_') :]}). Enter the production account "
                f"ID, {account.split('_')[0]}, and an access token made in production."
            )
        return account

    def clean_api_url(self) -> str:
        return clean_api_url(self.cleaned_data.get("api_url", ""))

    def clean_default_subsidiary(self) -> str:
        value = (self.cleaned_data.get("default_subsidiary") or "").strip()
        if value and not value.isdigit():
            raise forms.ValidationError("Enter the subsidiary's internal ID (a number), e.g. 1.")
        return value

    def _kept(self, name: str) -> str:
        return str(self.cleaned_data.get(name) or (getattr(self.connection, "credentials", None) or {}).get(name) or "")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        method = data.get("auth_method") or "tba"
        key = (data.get("consumer_key") or "").strip()
        if method == "tba":
            if key and not HEX_KEY.match(key):
                self.add_error("consumer_key", "The consumer key is 64 letters and digits (0-9, a-f).")
            token = (data.get("token_id") or "").strip()
            if not HEX_KEY.match(token):
                self.add_error("token_id", "Enter the token ID: 64 letters and digits (0-9, a-f).")
            for name, words in (("consumer_secret", "consumer secret"), ("token_secret", "token secret")):
                if not self._kept(name):
                    self.add_error(name, f"Enter the {words} (NetSuite shows it once, when it is created).")
        else:
            if not (data.get("certificate_id") or "").strip():
                self.add_error("certificate_id", "Enter the certificate ID NetSuite showed when you uploaded the certificate.")
            private_key = self._kept("private_key")
            if not private_key:
                self.add_error("private_key", "Paste the certificate's private key (-----BEGIN PRIVATE KEY----- ...).")
            elif "PRIVATE KEY-----" not in private_key:
                self.add_error("private_key", "That is not a PEM private key: it starts with -----BEGIN PRIVATE KEY-----.")
        return data

    # --- what the Connection gets -------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        data = self.cleaned_data
        account = data["account_id"]
        config = {
            "account_id": account,
            "auth_method": data.get("auth_method") or "tba",
            "consumer_key": data["consumer_key"].strip(),
            "client_id": data["consumer_key"].strip(),
            "token_id": (data.get("token_id") or "").strip(),
            "certificate_id": (data.get("certificate_id") or "").strip(),
            "default_subsidiary": data.get("default_subsidiary") or "",
            "base_url": data.get("api_url") or f"https://{host_slug(account)}.suitetalk.api.netsuite.com",
            "concurrency": int(
                (getattr(self.connection, "config", None) or {}).get("concurrency") or DEFAULT_INTEGRATION_CONCURRENCY
            ),
        }
        return config

    def get_credentials(self) -> dict[str, Any]:
        kept = dict(getattr(self.connection, "credentials", None) or {})
        credentials = {**kept, "webhook_secret": kept.get("webhook_secret") or secrets.token_urlsafe(32)}
        if (self.cleaned_data.get("auth_method") or "tba") == "tba":
            credentials |= {
                "consumer_secret": self._kept("consumer_secret"),
                "token_id": (self.cleaned_data.get("token_id") or "").strip(),
                "token_secret": self._kept("token_secret"),
            }
            credentials.pop("private_key", None)
        else:
            credentials |= {"private_key": self._kept("private_key")}
            for name in ("token_id", "token_secret", "consumer_secret", "access_token", "refresh_token"):
                credentials.pop(name, None)
        return credentials

    def connector(self, **kwargs: Any):
        config = self.get_config() | {"ca_file": (getattr(self.connection, "config", None) or {}).get("ca_file", "")}

        draft = SimpleNamespace(config=config, credentials=self.get_credentials())  # the values typed, shaped like a Connection
        return NetSuiteConnector.from_connection(draft, **kwargs)
