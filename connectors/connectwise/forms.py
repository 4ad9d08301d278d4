"""The ConnectWise credential form: company ID, site, public key, private key, client id.

The site is a host name only (na.myconnectwise.net). Customers type `https://...` or paste a
URL with a path all the time — SyncSmart's own installer guide warns "DO NOT enter the https://
portion" — so the form says exactly what to type instead. Whether the address is public is not
this form's business: the HTTP seam (connectors/http.py) checks every connection when it is made,
so "Test connection" explains a private, loopback or link-local address. Ports and plain http are
for hosts in settings.SYNCSMART_ALLOWED_EMULATOR_HOSTS only (the emulators, in development).

The private key is write-only: never rendered back; left blank on edit, the stored one is kept.

    form = ConnectWiseCredentialsForm(request.POST, connection=existing_or_None)
    if form.is_valid():
        result = form.test_connection()          # ConnectionTest, explains failures
        form.apply_to(connection)                # config + credentials (not saved)
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from django import forms

from connectors.forms import CredentialsForm
from connectors.http import allowed_emulator_hosts
from connectors.registry import SYSTEMS

SITE_EXAMPLE = "na.myconnectwise.net"
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def clean_site(value: str) -> str:
    """Return the site as a lower-case host[:port], or raise ValidationError saying what to type."""
    site = (value or "").strip()
    if not site:
        raise forms.ValidationError(f"Enter your ConnectWise site, the host you log in at, e.g. {SITE_EXAMPLE}.", code="required")
    lowered = site.lower()
    if re.match(r"^[a-z][a-z0-9+.-]*://", lowered) or lowered.startswith(("http:", "https:", "//")):
        host = re.sub(r"^[a-z][a-z0-9+.-]*:/*|^/+", "", lowered).split("/")[0]
        raise forms.ValidationError(
            f"Enter the site without https:// — only the host name, e.g. {host or SITE_EXAMPLE}.", code="scheme"
        )
    if any(ch.isspace() for ch in site):
        raise forms.ValidationError(
            f"The site cannot contain spaces. Type only the host name, e.g. {SITE_EXAMPLE}.", code="spaces"
        )
    if "/" in site or "?" in site or "#" in site:
        host = re.split(r"[/?#]", lowered)[0]
        raise forms.ValidationError(
            f"Enter only the host name, without a path such as /v4_6_release: e.g. {host or SITE_EXAMPLE}.", code="path"
        )
    if "@" in site:
        raise forms.ValidationError(
            f"The site is a host name such as {SITE_EXAMPLE}, not an e-mail or user@host.", code="invalid"
        )
    host, port = _split_port(lowered)
    allowed = allowed_emulator_hosts()
    if port is not None and host not in allowed:
        raise forms.ValidationError(
            f"Enter the site without a port (:{port}): ConnectWise sites answer on the standard HTTPS port, e.g. {SITE_EXAMPLE}.",
            code="port",
        )
    if host in allowed:
        return lowered
    _check_host_syntax(host)
    return lowered


def base_url_for(site: str) -> str:
    """https://{site} for real sites; http://{site} for an allowed emulator host on loopback."""
    host, _port = _split_port(site)
    return f"http://{site}" if host in allowed_emulator_hosts() else f"https://{site}"


def _split_port(site: str) -> tuple[str, int | None]:
    if site.startswith("["):  # [IPv6]:port
        host, _, rest = site[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif site.count(":") == 1:
        host, _, port_text = site.partition(":")
    else:
        host, port_text = site, ""
    if not port_text:
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise forms.ValidationError(f"{port_text!r} is not a port. Type only the host name, e.g. {SITE_EXAMPLE}.", code="port")
    return host, int(port_text)


def _check_host_syntax(host: str) -> None:
    try:
        ipaddress.ip_address(host)
        return  # an IP literal: the HTTP seam decides whether it may be reached
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise forms.ValidationError(
            f"{host!r} is not a host name. Type the site you log in at, e.g. {SITE_EXAMPLE}.", code="invalid"
        )


class ConnectWiseCredentialsForm(CredentialsForm):
    initial_from_config = ("company_id", "site", "public_key", "client_id")
    secret_field = "private_key"

    company_id = forms.CharField(
        label="Company ID", max_length=100, help_text="The company you type on the ConnectWise log-in page."
    )
    site = forms.CharField(
        label="Site",
        max_length=255,
        error_messages={"required": f"Enter your ConnectWise site, the host you log in at, e.g. {SITE_EXAMPLE}."},
        help_text=f"Only the host name you log in at, e.g. {SITE_EXAMPLE}. Do not type https:// or a path.",
    )
    public_key = forms.CharField(
        label="Public key", max_length=100, help_text="System > Members > API Members > your API member > API Keys."
    )
    private_key = forms.CharField(
        label="Private key",
        max_length=200,
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Shown only once when the key is generated. Left blank, the saved key is kept.",
    )
    client_id = forms.CharField(
        label="Client ID", max_length=100, help_text="The clientId of the integration, registered at developer.connectwise.com."
    )

    def clean_site(self) -> str:
        return clean_site(self.cleaned_data.get("site", ""))

    def clean_company_id(self) -> str:
        value = self.cleaned_data["company_id"].strip()
        if any(ch.isspace() for ch in value) or "/" in value or "+" in value or ":" in value:
            raise forms.ValidationError("The company ID is one word, exactly as on the ConnectWise log-in page.")
        return value

    def clean_public_key(self) -> str:
        value = self.cleaned_data["public_key"].strip()
        if any(ch.isspace() for ch in value) or ":" in value:
            raise forms.ValidationError("The public key has no spaces or colons; copy it again from the API Keys tab.")
        return value

    def clean_private_key(self) -> str:
        return self.entered_secret("Enter the private key (it is shown only once when the key pair is generated).")

    def clean_client_id(self) -> str:
        value = self.cleaned_data["client_id"].strip()
        if any(ch.isspace() for ch in value):
            raise forms.ValidationError("The client ID has no spaces; copy it again from developer.connectwise.com.")
        return value

    # --- what the Connection gets -------------------------------------------------------------
    def get_config(self) -> dict[str, str]:
        data = self.cleaned_data
        return {
            "site": data["site"],
            "company_id": data["company_id"],
            "client_id": data["client_id"],
            "public_key": data["public_key"],
            "base_url": base_url_for(data["site"]),
        }

    def connector(self, **kwargs: Any):
        config = self.get_config()
        # Through the registry: forms and connectors are looked up by system name.
        return SYSTEMS["connectwise"].connector_class(
            base_url=config["base_url"],
            company_id=config["company_id"],
            public_key=config["public_key"],
            private_key=self.get_credentials()["private_key"],
            client_id=config["client_id"],
            **kwargs,
        )
