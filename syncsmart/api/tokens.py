"""Named actions over API tokens: issue (shown once), revoke (immediately), and look up.

A token is `ss_` + 43 URL-safe characters (32 random bytes from `secrets`). Only its SHA-256
is stored: with 256 bits of entropy, guessing is hopeless, so a fast unsalted hash is the
standard choice (as GitHub and others do for API tokens) and lets us find the row by an
indexed equality look-up instead of comparing every token.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tenants.actions import audit
from tenants.models import ApiToken, Tenant

TOKEN_BYTES = 32
# Characters after "ss_" kept in clear to tell tokens apart in lists (~48 bits: not a secret).
PREFIX_CHARS = 8
# last_used_at is advisory: refreshing it at most once a minute keeps a busy client from
# turning every read into a write.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def hash_token(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def _new_plaintext() -> str:
    return ApiToken.PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


@transaction.atomic
def issue_token(tenant: Tenant, actor, name: str, role: str) -> tuple[ApiToken, str]:
    """Create a token and return it with its plaintext, which is never available again."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the token a name, so you can tell it apart later."})
    if role not in dict(ApiToken.ROLE_CHOICES):
        raise ValidationError({"role": "Choose read-only or read and write."})
    plaintext = _new_plaintext()
    token = ApiToken.objects.create(
        tenant=tenant,
        name=name[:100],
        role=role,
        prefix=plaintext[: len(ApiToken.PREFIX) + PREFIX_CHARS],
        token_hash=hash_token(plaintext),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    audit(tenant, actor, "api_token.created", token, summary=f"API token “{token.name}” ({token.prefix}…) created", role=role)
    return token, plaintext


@transaction.atomic
def revoke_token(token: ApiToken, actor) -> ApiToken:
    """Revoke now: the very next request with this token is refused."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.revoked_by = actor if getattr(actor, "pk", None) else None
        token.save(update_fields=["revoked_at", "revoked_by"])
        audit(token.tenant, actor, "api_token.revoked", token, summary=f"API token “{token.name}” ({token.prefix}…) revoked")
    return token


def active_token_for(plaintext: str) -> ApiToken | None:
    """The live token with this plaintext, or None (unknown, malformed or revoked)."""
    if not plaintext.startswith(ApiToken.PREFIX) or len(plaintext) > 200:
        return None
    return ApiToken.objects.select_related("tenant").filter(token_hash=hash_token(plaintext), revoked_at__isnull=True).first()


def note_use(token: ApiToken) -> None:
    """Record when a token was last used, at most once per LAST_USED_RESOLUTION."""
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
