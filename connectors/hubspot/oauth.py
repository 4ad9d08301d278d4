"""HubSpot OAuth 2.0: the authorize URL, the code exchange and refreshes, and an httpx.Auth that
keeps a connection's access token fresh.

A refresh that HubSpot refuses with `invalid_grant` (the app was uninstalled, the refresh token
revoked) cannot be fixed by retrying: the connector raises a permanent AUTH error with
vendor_code "invalid_grant" and calls `on_reconnect_needed`, which marks the Connection
"reconnect needed" so the customer sees it instead of a crash loop.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from connectors.base import ConnectorError, ErrorKind

TOKEN_PATH = "/oauth/v1/token"
AUTHORIZE_PATH = "/oauth/authorize"
# Refresh this long before HubSpot's expiry so a call never starts with a token about to die.
REFRESH_MARGIN = dt.timedelta(minutes=5)
DEFAULT_SCOPES = (
    "oauth",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.companies.read",
    "crm.objects.companies.write",
    "crm.objects.deals.read",
    "crm.objects.deals.write",
    "crm.objects.owners.read",
    "crm.schemas.contacts.read",
    "crm.schemas.companies.read",
    "crm.schemas.deals.read",
)


def authorize_url(
    app_base: str, client_id: str, redirect_uri: str, scopes: tuple[str, ...] = DEFAULT_SCOPES, state: str = ""
) -> str:
    """Where to send the installing user (HubSpot's app host, e.g. https://app.hubspot.com)."""
    query = {"client_id": client_id, "redirect_uri": redirect_uri, "scope": " ".join(scopes)}
    if state:
        query["state"] = state
    return f"{app_base.rstrip('/')}{AUTHORIZE_PATH}?{urlencode(query)}"


@dataclass
class OAuthTokens:
    access_token: str
    refresh_token: str
    expires_at: dt.datetime | None = None

    @classmethod
    def from_response(cls, body: dict[str, Any], now: dt.datetime | None = None) -> OAuthTokens:
        now = now or dt.datetime.now(dt.UTC)
        return cls(body["access_token"], body["refresh_token"], now + dt.timedelta(seconds=int(body.get("expires_in", 1800))))

    def as_dict(self) -> dict[str, Any]:
        return {"access_token": self.access_token, "refresh_token": self.refresh_token}

    def expiring(self, now: dt.datetime | None = None) -> bool:
        if self.expires_at is None:
            return False
        return (now or dt.datetime.now(dt.UTC)) >= self.expires_at - REFRESH_MARGIN


def token_error(response: httpx.Response) -> ConnectorError:
    """HubSpot's token endpoint errors: invalid_grant (BAD_REFRESH_TOKEN / BAD_AUTH_CODE) is permanent."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    code = body.get("error") or ""
    status = body.get("status") or ""
    message = body.get("message") or body.get("error_description") or f"HTTP {response.status_code}"
    if code == "invalid_grant" or status in ("BAD_REFRESH_TOKEN", "BAD_AUTH_CODE", "BAD_REDIRECT_URI"):
        return ConnectorError(
            f"HubSpot refused the authorization ({message}). Reconnect HubSpot to grant access again.",
            ErrorKind.AUTH,
            status=response.status_code,
            vendor_code="invalid_grant",
            body=body,
        )
    if code == "invalid_client" or status in ("BAD_CLIENT_ID", "BAD_CLIENT_SECRET"):
        return ConnectorError(
            f"HubSpot does not recognise this app's client id / secret ({message}).",
            ErrorKind.CONFIG,
            status=response.status_code,
            vendor_code="invalid_client",
            body=body,
        )
    kind = (
        ErrorKind.RATE_LIMITED
        if response.status_code == 429
        else ErrorKind.SERVER
        if response.status_code >= 500
        else ErrorKind.AUTH
    )
    return ConnectorError(
        f"HubSpot token request failed: {message}", kind, status=response.status_code, vendor_code=code or status, body=body
    )


def _token_request(base_url: str, form: dict[str, str]) -> httpx.Request:
    return httpx.Request(
        "POST",
        f"{base_url.rstrip('/')}{TOKEN_PATH}",
        data=form,
        headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"},
    )


def exchange_code(http, code: str, redirect_uri: str, client_id: str, client_secret: str) -> OAuthTokens:
    """Trade an authorization code for tokens through a VendorHttp pointed at the API base."""
    response = _send_token_request(
        http,
        {
            "grant_type": "authorization_code",
            "client_id": client_id,
            "client_secret": client_secret,
            "redirect_uri": redirect_uri,
            "code": code,
        },
    )
    return OAuthTokens.from_response(response.json())


def refresh_tokens(http, refresh_token: str, client_id: str, client_secret: str) -> OAuthTokens:
    response = _send_token_request(
        http,
        {"grant_type": "refresh_token", "client_id": client_id, "client_secret": client_secret, "refresh_token": refresh_token},
    )
    return OAuthTokens.from_response(response.json())


def _send_token_request(http, form: dict[str, str]) -> httpx.Response:
    try:
        return http.request(
            "POST",
            TOKEN_PATH,
            data=form,
            idempotent=False,
            headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"},
        )
    except ConnectorError as exc:
        if exc.status is not None and 400 <= exc.status < 500 and isinstance(exc.body, dict):
            raise token_error(httpx.Response(exc.status, json=exc.body)) from None
        raise


class HubSpotOAuth(httpx.Auth):
    """Bearer auth with the current access token; refreshes it before expiry and once on a 401."""

    def __init__(
        self,
        tokens: OAuthTokens,
        base_url: str,
        client_id: str,
        client_secret: str,
        on_tokens: Callable[[OAuthTokens], None] | None = None,
        on_reconnect_needed: Callable[[str], None] | None = None,
    ):
        self.tokens = tokens
        self.base_url = base_url
        self.client_id, self.client_secret = client_id, client_secret
        self.on_tokens = on_tokens
        self.on_reconnect_needed = on_reconnect_needed
        self._lock = threading.Lock()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.tokens.expiring():
            yield from self._refresh(self.tokens)
        sent_with = self.tokens
        request.headers["Authorization"] = f"Bearer {sent_with.access_token}"
        response = yield request
        if response.status_code == 401:
            # Expired earlier than we thought (clock skew, revoked token): refresh once and retry.
            response.read()
            yield from self._refresh(sent_with)
            request.headers["Authorization"] = f"Bearer {self.tokens.access_token}"
            yield request

    def _refresh(self, stale: OAuthTokens) -> Generator[httpx.Request, httpx.Response, None]:
        with self._lock:
            if self.tokens is not stale and not self.tokens.expiring():
                return  # a concurrent call of the same page refreshed while we waited for the lock
            response = yield _token_request(
                self.base_url,
                {
                    "grant_type": "refresh_token",
                    "client_id": self.client_id,
                    "client_secret": self.client_secret,
                    "refresh_token": self.tokens.refresh_token,
                },
            )
            response.read()
            if response.status_code != 200:
                error = token_error(response)
                if error.vendor_code == "invalid_grant" and self.on_reconnect_needed:
                    self.on_reconnect_needed(error.message)
                raise error
            self.tokens = OAuthTokens.from_response(response.json())
            if self.on_tokens:
                self.on_tokens(self.tokens)
