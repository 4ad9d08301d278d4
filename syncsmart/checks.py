"""`manage.py check --deploy` checks of our own settings (Django checks only its own).

- syncsmart.E001: SYNCSMART_ENCRYPTION_KEYS does not parse (id:base64, 32-byte keys, at least one);
- syncsmart.E002: DEBUG is on in production (tracebacks with settings and request data to anyone).
"""

from __future__ import annotations

import binascii
from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register

from syncsmart.core.crypto import Keyring


def encryption_key_problem(spec: str) -> str | None:
    """Why SYNCSMART_ENCRYPTION_KEYS is unusable, or None."""
    ids = [item.partition(":")[0].strip() for item in spec.split(",") if item.strip()]
    if len(ids) != len(set(ids)):
        return "a key id appears twice"
    try:
        Keyring.parse(spec)
    except (ValueError, binascii.Error) as exc:
        return str(exc) or "it does not parse"
    return None


@register(Tags.security, deploy=True)
def check_encryption_keys(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    problem = encryption_key_problem(getattr(settings, "SYNCSMART_ENCRYPTION_KEYS", "") or "")
    if problem is None:
        return []
    return [
        Error(
            f"SYNCSMART_ENCRYPTION_KEYS is not usable: {problem}.",
            hint="Set it to '<id>:<base64 of 32 random bytes>', several comma-separated; the highest id encrypts.",
            id="syncsmart.E001",
        )
    ]


@register(Tags.security, deploy=True)
def check_debug_in_production(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    if getattr(settings, "PRODUCTION", False) and settings.DEBUG:
        return [Error("DEBUG is on with SYNCSMART_ENV=production.", hint="Unset DEBUG (or set it to 0).", id="syncsmart.E002")]
    return []
