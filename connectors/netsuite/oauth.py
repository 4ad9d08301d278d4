"""NetSuite OAuth 2.0 for the connector and the installer: the authorize URL, the code
exchange, refreshes and the client credentials grant (token calls go through httpx directly:
they are not record calls and do not count against the account's concurrency in our limiter)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import httpx

from connectors.base import ConnectorError, ErrorKind
from connectors.http import mounted_transport, network_transport
from connectors.netsuite.auth import (
    AUTHORIZE_PATH,
    JWT_BEARER,
    SCOPE,
    TOKEN_PATH,
    client_assertion,
    host_slug,
    token_request_error,
)

TIMEOUT = httpx.Timeout(20.0, connect=10.0)


def api_base(config: Mapping[str, Any]) -> str:
    return str(config.get("base_url") or f"https://{host_slug(str(config['account_id']))}.suitetalk.api.netsuite.com").rstrip("/")


def app_base(config: Mapping[str, Any]) -> str:
    """The UI host where users consent (the emulator serves both on one port)."""
    return str(
        config.get("app_url") or config.get("base_url") or f"https://{host_slug(str(config['account_id']))}.app.netsuite.com"
    )


def authorize_url(config: Mapping[str, Any], client_id: str, redirect_uri: str, state: str) -> str:
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": SCOPE, "state": state}
    return f"{app_base(config).rstrip('/')}{AUTHORIZE_PATH}?{urlencode(query)}"


def _post_token(config: Mapping[str, Any], form: dict[str, str], auth: httpx.Auth | None, transport: Any = None) -> dict:
    url = api_base(config) + TOKEN_PATH
    # The token endpoint is an address derived from what the customer typed: the seam's public-address check applies.
    chosen = transport or mounted_transport(api_base(config)) or network_transport(config.get("ca_file") or True)
    try:
        with httpx.Client(timeout=TIMEOUT, transport=chosen) as client:
            response = client.post(url, data=form, auth=auth)
    except httpx.HTTPError as exc:
        raise ConnectorError(f"Could not reach NetSuite's token endpoint: {exc.__class__.__name__}", ErrorKind.NETWORK) from exc
    if not response.is_success:
        raise token_request_error(response)
    return response.json()


def exchange_code(
    config: Mapping[str, Any], client_id: str, client_secret: str, code: str, redirect_uri: str, transport: Any = None
) -> dict:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    return _post_token(config, form, httpx.BasicAuth(client_id, client_secret), transport)


def token_refresher(
    config: Mapping[str, Any], credentials: Mapping[str, Any], transport: Any = None
) -> Callable[[], Mapping[str, Any]] | None:
    """A function that fetches a fresh access token, or None when nothing to refresh with."""
    client_id = str(config.get("client_id") or config.get("consumer_key") or "")
    if credentials.get("refresh_token") and credentials.get("client_secret"):
        form = {"grant_type": "refresh_token", "refresh_token": str(credentials["refresh_token"])}
        auth = httpx.BasicAuth(client_id, str(credentials["client_secret"]))
        return lambda: _post_token(config, form, auth, transport)
    if credentials.get("private_key") and config.get("certificate_id"):

        def client_credentials() -> Mapping[str, Any]:
            assertion = client_assertion(
                client_id, str(config["certificate_id"]), str(credentials["private_key"]), api_base(config) + TOKEN_PATH
            )
            form = {"grant_type": "client_credentials", "client_assertion_type": JWT_BEARER, "client_assertion": assertion}
            return _post_token(config, form, None, transport)

        return client_credentials
    return None
