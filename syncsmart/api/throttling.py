"""Rate limits per API token (per user for browser sessions).

The counters live in Redis when REDIS_URL is set, so every web process shares one budget per
token; otherwise in Django's default cache (per process in the embedded default). The rate is
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["api"], read on every request so settings changes
(and tests) take effect without a restart.
"""

from __future__ import annotations

import logging
from functools import cache

from django.conf import settings
from django.core.cache import cache as default_cache
from django.core.cache.backends.redis import RedisCache
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from tenants.models import ApiToken

logger = logging.getLogger(__name__)


@cache
def _shared_cache(redis_url: str):
    return RedisCache(redis_url, {"KEY_PREFIX": "syncsmart-api-throttle"})


def throttle_cache():
    redis_url = getattr(settings, "REDIS_URL", "")
    return _shared_cache(redis_url) if redis_url else default_cache


class PerTokenThrottle(SimpleRateThrottle):
    scope = "api"

    def __init__(self) -> None:
        self.cache = throttle_cache()
        super().__init__()

    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except Exception as exc:  # the counter store is down: serve rather than fail every call
            logger.warning("API rate limit not enforced: its counter store failed (%s)", exc.__class__.__name__)
            return True

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view) -> str | None:
        if isinstance(request.auth, ApiToken):
            # The hash, not the row id: ids repeat across test databases sharing one Redis.
            ident = "token:" + request.auth.token_hash[:32]
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = "anon:" + (self.get_ident(request) or "")
        return f"throttle_{self.scope}_{ident}"
