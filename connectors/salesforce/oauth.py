"""Salesforce OAuth 2.0: the web-server flow (authorize URL, code exchange, refresh) and the JWT
bearer flow, and an httpx.Auth that keeps a connection's session alive.

The token requests are built by oauthlib (WebApplicationClient for the code and refresh grants,
ServiceApplicationClient for the JWT bearer grant, which signs the RS256 assertion with PyJWT);
they go out through the connector's VendorHttp seam like every other call.

Salesforce's token answers carry no `expires_in`: a session lasts until it has been idle for
the org's timeout, and a call with a stale one is answered 401 INVALID_SESSION_ID. So the auth
refreshes when Salesforce says 401 (once per stale token, however many threads hold it) and sends
the call again. A refresh that Salesforce refuses with `invalid_grant` (the refresh token was
revoked, the user deactivated, the connected app's policy changed) cannot be fixed by retrying:
it raises a permanent AUTH error with vendor_code "invalid_grant" and calls `on_reconnect_needed`,
which marks the Connection "reconnect needed" for the customer to see.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from oauthlib.oauth2 import ServiceApplicationClient, WebApplicationClient

from connectors.base import ConnectorError, ErrorKind
from connectors.salesforce import limits

AUTHORIZE_PATH = "/services/oauth2/authorize"
TOKEN_PATH = "/services/oauth2/token"
REVOKE_PATH = "/services/oauth2/revoke"
SCOPES = ("api", "refresh_token")
JWT_LIFETIME = 170  # seconds; Salesforce accepts an `exp` at most 3 minutes ahead
FORM = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}


def login_url_for(environment: str, override: str | None = None) -> str:
    """The login host of an org: test.salesforce.com for a sandbox, login.salesforce.com otherwise
    (or a My Domain / emulator URL the connection names)."""
    if override:
        return override.rstrip("/")
    return limits.TEST_URL if environment == "sandbox" else limits.LOGIN_URL


def authorize_url(login_url: str, client_id: str, redirect_uri: str, state: str = "", scopes: tuple[str, ...] = SCOPES) -> str:
    """Where to send the user who connects an org (the login host of its environment)."""
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": " ".join(scopes)}
    if state:
        query["state"] = state
    return f"{login_url.rstrip('/')}{AUTHORIZE_PATH}?{urlencode(query)}"


@dataclass
class Session:
    access_token: str
    instance_url: str
    refresh_token: str = ""
    issued_at: float = 0.0
    identity: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "instance_url": self.instance_url,
            "refresh_token": self.refresh_token,
            "issued_at": self.issued_at,
            "id": self.identity,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Session:
        return cls(
            str(data.get("access_token") or ""),
            str(data.get("instance_url") or ""),
            str(data.get("refresh_token") or ""),
            float(data.get("issued_at") or 0),
            str(data.get("id") or ""),
        )


def token_error(response: httpx.Response) -> ConnectorError:
    """Salesforce's `{"error", "error_description"}`: invalid_grant is permanent and asks for a reconnect."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    error, description = str(body.get("error") or ""), str(body.get("error_description") or "")
    status = response.status_code
    if status == 429 or status >= 500:
        kind = ErrorKind.RATE_LIMITED if status == 429 else ErrorKind.SERVER
        return ConnectorError(f"Salesforce's token endpoint answered HTTP {status}", kind, status=status, vendor_code=error)
    if error == "invalid_grant":
        return ConnectorError(
            f"Salesforce refused the authorization ({description or error}): reconnect Salesforce to grant access again.",
            ErrorKind.AUTH,
            status=status,
            vendor_code="invalid_grant",
            body={"error": error},
        )
    if error in ("invalid_client_id", "invalid_client"):
        return ConnectorError(
            f"Salesforce does not accept this connected app's consumer key / secret ({description or error}): check the "
            "credentials in the connected app (Setup > App Manager > View > Manage Consumer Details).",
            ErrorKind.AUTH,
            status=status,
            vendor_code=error,
            body={"error": error},
        )
    return ConnectorError(
        f"Salesforce refused the token request: {description or error or status}",
        ErrorKind.AUTH,
        status=status,
        vendor_code=error,
        body={"error": error},
    )


def _session_from(
    response: httpx.Response, client: WebApplicationClient | ServiceApplicationClient, refresh: str = ""
) -> Session:
    token = client.parse_request_body_response(response.text)  # validates the answer as OAuth 2.0 says
    if not token.get("instance_url"):
        raise ConnectorError("Salesforce answered the token request without an instance URL.", ErrorKind.AUTH)
    return Session(
        access_token=token["access_token"],
        instance_url=str(token["instance_url"]).rstrip("/"),
        refresh_token=str(token.get("refresh_token") or refresh),
        issued_at=float(token.get("issued_at") or time.time() * 1000) / 1000,
        identity=str(token.get("id") or ""),
    )


def exchange_code(token_http, code: str, redirect_uri: str, client_id: str, client_secret: str) -> Session:
    """Trade an authorization code for a session (web-server flow)."""
    client = WebApplicationClient(client_id)
    body = client.prepare_request_body(code=code, redirect_uri=redirect_uri, client_secret=client_secret, include_client_id=True)
    return _session_from(token_http.request("POST", TOKEN_PATH, content=body, headers=FORM, idempotent=False), client)


def refresh(token_http, refresh_token: str, client_id: str, client_secret: str) -> Session:
    client = WebApplicationClient(client_id)
    body = client.prepare_refresh_body(refresh_token=refresh_token, client_id=client_id, client_secret=client_secret)
    return _session_from(token_http.request("POST", TOKEN_PATH, content=body, headers=FORM), client, refresh=refresh_token)


def jwt_bearer(token_http, client_id: str, username: str, private_key: str, audience: str) -> Session:
    """A session for `username` from a signed assertion (the connected app holds the certificate)."""
    client = ServiceApplicationClient(client_id)
    now = int(time.time())
    body = client.prepare_request_body(
        private_key=private_key,
        subject=username,
        issuer=client_id,
        audience=audience,
        issued_at=now,
        expires_at=now + JWT_LIFETIME,
    )
    return _session_from(token_http.request("POST", TOKEN_PATH, content=body, headers=FORM), client)


class SalesforceAuth(httpx.Auth):
    """Bearer auth with the session; renewed (refresh token, else JWT bearer) when Salesforce says 401."""

    def __init__(
        self,
        token_http,
        session: Session,
        *,
        client_id: str,
        client_secret: str = "",
        username: str = "",
        private_key: str = "",
        audience: str = limits.LOGIN_URL,
        on_session: Callable[[Session], None] | None = None,
        on_reconnect_needed: Callable[[str], None] | None = None,
    ):
        self.token_http = token_http
        self.session = session
        self.client_id, self._secret = client_id, client_secret
        self.username, self._private_key, self.audience = username, private_key, audience
        self.on_session = on_session
        self.on_reconnect_needed = on_reconnect_needed
        self._lock = threading.Lock()
        self.renewals = 0

    @property
    def can_renew(self) -> bool:
        return bool(self.session.refresh_token or (self.username and self._private_key))

    def access_token(self) -> str:
        with self._lock:
            if not self.session.access_token:
                self._renew()
            return self.session.access_token

    def renew(self, stale: str | None = None) -> str:
        """A fresh session, unless another thread already replaced the stale one."""
        with self._lock:
            if stale is None or self.session.access_token == stale:
                self._renew()
            return self.session.access_token

    def _renew(self) -> None:
        if not self.can_renew:
            raise ConnectorError(
                "The Salesforce session expired and this connection has no refresh token: reconnect Salesforce.",
                ErrorKind.AUTH,
                vendor_code="invalid_grant",
            )
        try:
            if self.session.refresh_token:
                fresh = refresh(self.token_http, self.session.refresh_token, self.client_id, self._secret)
            else:
                fresh = jwt_bearer(self.token_http, self.client_id, self.username, self._private_key, self.audience)
        except ConnectorError as error:
            if error.vendor_code in ("invalid_grant", "invalid_client_id", "invalid_client") and self.on_reconnect_needed:
                self.on_reconnect_needed(error.message)
            raise
        self.session = fresh
        self.renewals += 1
        if self.on_session:
            self.on_session(fresh)

    def auth_flow(self, request: httpx.Request):
        token = self.access_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401 and self.can_renew:
            request.headers["Authorization"] = f"Bearer {self.renew(stale=token)}"
            yield request
