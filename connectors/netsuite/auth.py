"""NetSuite authentication, both sides, on oauthlib and PyJWT (no signature code of our own).

- Token-Based Authentication (TBA) is OAuth 1.0a with HMAC-SHA256, the account id as `realm`
  (upper case, `_SB1` for a sandbox), an integration record's consumer key / secret and a user's
  token id / secret. `TBAAuth` signs each httpx request with `oauthlib.oauth1.Client` (a fresh
  nonce and timestamp per attempt, so a retried call is signed anew); `TBAVerifier` checks a
  request with oauthlib's `ResourceEndpoint` (the emulator's side).
- OAuth 2.0: the authorization code grant with refresh tokens (`OAuth2Auth` keeps the access
  token fresh), and the client credentials (machine-to-machine) grant, whose client assertion is
  a JWT signed with the private key of a certificate uploaded to NetSuite (PyJWT, PS256).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Callable, Generator, Mapping
from typing import Any

import httpx
import jwt
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, SIGNATURE_TYPE_AUTH_HEADER, Client, RequestValidator, ResourceEndpoint
from oauthlib.oauth1.rfc5849 import utils as oauth1_utils

from connectors.base import ConnectorError, ErrorKind

TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
AUTHORIZE_PATH = "/app/login/oauth2/authorize.nl"
SCOPE = "rest_webservices"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# Refresh a little before NetSuite's 60-minute expiry so a call never starts with a dying token.
REFRESH_MARGIN = dt.timedelta(minutes=5)


def realm_for(account_id: str) -> str:
    """NetSuite's realm: the account id in upper case ('1234567_sb1' -> '1234567_SB1')."""
    return account_id.strip().upper().replace("-", "_")


def host_slug(account_id: str) -> str:
    """The account's host prefix: '1234567_SB1' -> '1234567-sb1'."""
    return account_id.strip().lower().replace("_", "-")


def is_sandbox(account_id: str) -> bool:
    return "_SB" in realm_for(account_id)


# --- client side -----------------------------------------------------------------------------------
class TBAAuth(httpx.Auth):
    """Signs every request (and every retry) with OAuth 1.0a HMAC-SHA256 through oauthlib."""

    def __init__(self, account_id: str, consumer_key: str, consumer_secret: str, token_id: str, token_secret: str):
        self.realm = realm_for(account_id)
        self._client = Client(
            consumer_key,
            client_secret=consumer_secret,
            resource_owner_key=token_id,
            resource_owner_secret=token_secret,
            signature_method=SIGNATURE_HMAC_SHA256,
            signature_type=SIGNATURE_TYPE_AUTH_HEADER,
            realm=self.realm,
        )

    def sign(self, request: httpx.Request) -> None:
        # A JSON body is not part of an OAuth 1.0a signature (only form bodies are), so it is
        # left out; the query string is signed as part of the URI.
        _, headers, _ = self._client.sign(str(request.url), request.method, body=None, headers={})
        request.headers["Authorization"] = headers["Authorization"]

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.sign(request)
        yield request


class TBASigningTransport(httpx.BaseTransport):
    """Signs each attempt as it leaves. NetSuite refuses a nonce it has seen, and retries (added
    by httpx-retries below the client's auth) resend the same request: a signature made once per
    request would make every retry a replay."""

    def __init__(self, inner: httpx.BaseTransport, auth: TBAAuth):
        self.inner = inner
        self.auth = auth

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.auth.sign(request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


class OAuth2Auth(httpx.Auth):
    """Bearer access token, refreshed (once, under a lock) when it is about to expire or refused.

    `refresh` returns a fresh token body ({access_token, expires_in, refresh_token?}); `on_tokens`
    stores them (wrapped by the caller to run on the owner thread if it touches the database)."""

    def __init__(
        self,
        access_token: str,
        expires_at: dt.datetime | None,
        refresh: Callable[[], Mapping[str, Any]],
        on_tokens: Callable[[Mapping[str, Any]], None] | None = None,
    ):
        self.access_token = access_token
        self.expires_at = expires_at
        self._refresh = refresh
        self._on_tokens = on_tokens
        self._lock = threading.Lock()

    def _expiring(self) -> bool:
        return not self.access_token or (
            self.expires_at is not None and dt.datetime.now(dt.UTC) >= self.expires_at - REFRESH_MARGIN
        )

    def _renew(self, stale: str) -> None:
        with self._lock:
            if self.access_token != stale and not self._expiring():
                return  # another thread renewed it while we waited
            body = self._refresh()
            self.access_token = str(body["access_token"])
            self.expires_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=int(body.get("expires_in", 3600)))
            if self._on_tokens:
                self._on_tokens(body)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._expiring():
            self._renew(self.access_token)
        token = self.access_token
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            self._renew(token)
            request.headers["Authorization"] = f"Bearer {self.access_token}"
            yield request


def client_assertion(client_id: str, certificate_id: str, private_key_pem: str, token_url: str, lifetime: int = 300) -> str:
    """The signed JWT of NetSuite's client credentials grant (PS256, `kid` = the certificate id)."""
    now = int(time.time())
    claims = {"iss": client_id, "scope": [SCOPE], "aud": token_url, "iat": now, "exp": now + lifetime, "jti": str(uuid.uuid4())}
    return jwt.encode(claims, private_key_pem, algorithm="PS256", headers={"kid": certificate_id, "typ": "JWT"})


def token_request_error(response: httpx.Response) -> ConnectorError:
    """The token endpoint's {error, error_description}: invalid_grant / invalid_client are permanent."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    code = str(body.get("error") or "") if isinstance(body, dict) else ""
    words = str(body.get("error_description") or code or f"HTTP {response.status_code}") if isinstance(body, dict) else ""
    permanent = code in ("invalid_grant", "invalid_client", "unauthorized_client", "invalid_request") or response.status_code in (
        400,
        401,
    )
    return ConnectorError(
        f"NetSuite refused the OAuth 2.0 token request: {words}. Reconnect NetSuite to grant access again.",
        ErrorKind.AUTH if permanent else ErrorKind.SERVER,
        status=response.status_code,
        vendor_code=code,
        body=body,
    )


# --- server side (the emulator) -------------------------------------------------------------------------
class _Validator(RequestValidator):
    """What oauthlib asks the server: which keys exist, their secrets, and whether a nonce is new."""

    # NetSuite's keys and tokens are 64 hex characters; its nonces are at least 6 characters.
    client_key_length = (20, 128)
    access_token_length = (20, 128)
    nonce_length = (6, 64)
    enforce_ssl = False  # the emulator also serves plain HTTP (in-process and on local ports)

    def __init__(self, verifier: TBAVerifier):
        super().__init__()
        self.verifier = verifier

    @property
    def allowed_signature_methods(self) -> tuple[str, ...]:
        return (SIGNATURE_HMAC_SHA256,)

    @property
    def dummy_client(self) -> str:
        return "0" * 64

    @property
    def dummy_access_token(self) -> str:
        return "1" * 64

    def get_client_secret(self, client_key: str, request: Any) -> str:
        return self.verifier.consumers.get(client_key, "dummy-secret")

    def get_access_token_secret(self, client_key: str, token: str, request: Any) -> str:
        found = self.verifier.tokens.get(token)
        return found[1] if found and found[0] == client_key else "dummy-secret"

    def validate_client_key(self, client_key: str, request: Any) -> bool:
        return client_key in self.verifier.consumers

    def validate_access_token(self, client_key: str, token: str, request: Any) -> bool:
        found = self.verifier.tokens.get(token)
        return bool(found and found[0] == client_key)

    def validate_realms(self, client_key: str, token: str, request: Any, uri: str | None = None, realms: Any = None) -> bool:
        return True  # the realm is compared with the account id by TBAVerifier.verify

    def validate_timestamp_and_nonce(
        self, client_key: str, timestamp: str, nonce: str, request: Any, request_token: Any = None, access_token: Any = None
    ) -> bool:
        return self.verifier.remember_nonce(client_key, timestamp, nonce, access_token)


class TBAVerifier:
    """Checks TBA requests for one account: the signature (oauthlib), the realm, the nonce."""

    NONCE_MEMORY = 100_000

    def __init__(self, account_id: str):
        self.account_realm = realm_for(account_id)
        self.consumers: dict[str, str] = {}  # consumer key -> consumer secret
        self.tokens: dict[str, tuple[str, str]] = {}  # token id -> (consumer key, token secret)
        self._nonces: dict[tuple[str, str, str], float] = {}
        self._lock = threading.Lock()
        self._endpoint = ResourceEndpoint(_Validator(self))

    def add_consumer(self, key: str, secret: str) -> None:
        self.consumers[key] = secret

    def add_token(self, consumer_key: str, token_id: str, token_secret: str) -> None:
        self.tokens[token_id] = (consumer_key, token_secret)

    def remember_nonce(self, client_key: str, timestamp: str, nonce: str, token: Any) -> bool:
        key = (client_key, str(token), nonce)
        with self._lock:
            if key in self._nonces:
                return False  # a replay
            if len(self._nonces) >= self.NONCE_MEMORY:
                for old in list(self._nonces)[: self.NONCE_MEMORY // 2]:
                    del self._nonces[old]
            self._nonces[key] = time.time()
        return True

    def verify(self, method: str, uri: str, headers: Mapping[str, str]) -> tuple[bool, str]:
        """(ok, why not). The realm must be this account's."""
        header = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        try:
            params = dict(oauth1_utils.parse_authorization_header(header))
        except (ValueError, TypeError, IndexError):
            return False, "malformed OAuth header"
        if realm_for(params.get("realm", "")) != self.account_realm:
            return False, "wrong realm (account id)"
        try:
            ok, _ = self._endpoint.validate_protected_resource_request(
                uri, http_method=method, body=None, headers={"Authorization": header}
            )
        except ValueError as exc:  # oauthlib refuses some malformed input by raising
            return False, str(exc)
        return bool(ok), "" if ok else "signature, key, token, timestamp or nonce refused"
