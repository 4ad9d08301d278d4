"""The engine's settings, read once from django.conf.settings into one typed object.

syncsmart/settings.py reads each SYNC_* variable from the environment; this module is the only
reader of those Django settings. A test that changes one (pytest-django's `settings` fixture,
`override_settings`) fires Django's `setting_changed`, which makes the next read fresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver


@dataclass(frozen=True)
class EngineSettings:
    lease_seconds: int = 120  # a run's claim on its integration without a renewal
    slice_seconds: float = 20.0  # one slice of work before the run yields to other tenants
    pending_grace_seconds: float = 600.0  # how long a create with no answer waits to show up
    webhook_linger_seconds: float = 2.0  # a webhook run waits this long for more notifications
    run_inline: bool = False  # execute requested runs in the requesting process (tests, demos)


@cache
def engine_settings() -> EngineSettings:
    defaults = EngineSettings()
    return EngineSettings(
        lease_seconds=int(getattr(settings, "SYNC_LEASE_SECONDS", defaults.lease_seconds)),
        slice_seconds=float(getattr(settings, "SYNC_SLICE_SECONDS", defaults.slice_seconds)),
        pending_grace_seconds=float(getattr(settings, "SYNC_PENDING_GRACE_SECONDS", defaults.pending_grace_seconds)),
        webhook_linger_seconds=float(getattr(settings, "SYNC_WEBHOOK_LINGER_SECONDS", defaults.webhook_linger_seconds)),
        run_inline=bool(getattr(settings, "SYNC_RUN_INLINE", defaults.run_inline)),
    )


@receiver(setting_changed)
def _reread(setting: str, **kwargs) -> None:
    if setting.startswith("SYNC_"):
        engine_settings.cache_clear()
