"""Who is calling the API, and in which tenant with which rights.

Two ways in: an API token (`Authorization: Bearer ss_…`), scoped to one tenant and one role,
for scripts; or the logged-in browser session (same rights as in the UI), for the browsable
docs. Either way the view sees `request.tenant` and `request.membership.can_write`, exactly
what tenants.access expects, so tenant scoping and the read-only rule are the UI's own.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import Http404
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from syncsmart.api import tokens
from tenants import throttle
from tenants.access import check_workspace_usable, current_membership, require_write
from tenants.models import ApiToken, Tenant

KEYWORDS = ("bearer", "token")


class TokenPrincipal:
    """`request.user` of a token request: not a person, but named in the audit trail."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, token: ApiToken) -> None:
        self.token = token

    def get_username(self) -> str:
        return f"API token “{self.token.name}” ({self.token.prefix}…)"

    __str__ = get_username


@dataclass
class ApiAccess:
    """What tenants.access reads as `request.membership` (tenant + can_write)."""

    tenant: Tenant
    can_write: bool
    token: ApiToken | None = None


class ApiTokenAuthentication(authentication.BaseAuthentication):
    www_authenticate_realm = "api"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode("latin-1").lower() not in KEYWORDS:
            return None  # not ours: maybe a session
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send the header as “Authorization: Bearer <token>”.")
        try:
            plaintext = header[1].decode("ascii")
        except UnicodeDecodeError:
            plaintext = header[1].decode("latin-1")
            self._refuse(request, plaintext, "That API token is not valid.")
        # The log-in lock-out, before the token is looked at (tenants.throttle).
        if not throttle.api_token_allowed(request._request, plaintext):
            raise exceptions.Throttled(detail="Too many failed attempts from here; try again later.")
        token = tokens.active_token_for(plaintext)
        if token is None:
            self._refuse(request, plaintext, "That API token is not valid or has been revoked.")
        tokens.note_use(token)
        return TokenPrincipal(token), token

    @staticmethod
    def _refuse(request, plaintext: str, message: str) -> None:
        throttle.api_token_failed(request._request, plaintext)
        raise exceptions.AuthenticationFailed(message)

    def authenticate_header(self, request) -> str:
        return f'Bearer realm="{self.www_authenticate_realm}"'


def access_for(request) -> ApiAccess:
    """The tenant and rights of an authenticated API request (404 without a tenant, like the UI)."""
    if isinstance(request.auth, ApiToken):
        return ApiAccess(tenant=request.auth.tenant, can_write=request.auth.can_write, token=request.auth)
    membership = current_membership(request._request)
    if membership is None:
        raise Http404("You are not a member of any tenant.")
    read_only = bool(getattr(request._request, "read_only", False))
    return ApiAccess(tenant=membership.tenant, can_write=membership.can_write and not read_only)


class TenantAccess(permissions.BasePermission):
    """Authenticated, inside one tenant; writes need a read-write role (tenants.access.require_write)."""

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        access = access_for(request)
        if not getattr(request._request, "read_only", False):  # staff "view as" may look at a suspended tenant
            # Token or session alike: the one workspace rule of tenants.access (403, saying why).
            check_workspace_usable(access.tenant)
        request.tenant = access.tenant
        request.membership = access
        if request.method not in permissions.SAFE_METHODS:
            require_token_write(access)
            require_write(request)
        return True


def require_token_write(access: ApiAccess) -> None:
    """A read-only token refused a change says it is the token, not the person's role, that is
    read-only (its owner may well be an Owner)."""
    if access.token is not None and not access.token.can_write:
        raise exceptions.PermissionDenied(
            "This API token is read-only; create a token with “Read and write” access on the API tokens page."
        )


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema (and so the docs page and schemathesis) sends a token."""

    target_class = ApiTokenAuthentication
    name = "ApiToken"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "ss_…",
            "description": "A tenant's API token (Settings → API tokens): `Authorization: Bearer ss_…`.",
        }
