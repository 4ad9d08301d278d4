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
    delete_guard_count: int = 50  # deletions one run applies to a mapping and direction without a person...
    delete_guard_percent: float = 5.0  # ...or this share of its links, whichever is smaller...
    delete_guard_min: int = 5  # ...but never fewer than this
    reconcile_minutes: float = 60.0  # how often linked ids are checked for deletions (HubSpot, ConnectWise)
    webhook_check_minutes: float = 5.0  # how often a run checks the vendors still have our webhooks


@cache
def engine_settings() -> EngineSettings:
    defaults = EngineSettings()
    return EngineSettings(
        lease_seconds=int(getattr(settings, "SYNC_LEASE_SECONDS", defaults.lease_seconds)),
        slice_seconds=float(getattr(settings, "SYNC_SLICE_SECONDS", defaults.slice_seconds)),
        pending_grace_seconds=float(getattr(settings, "SYNC_PENDING_GRACE_SECONDS", defaults.pending_grace_seconds)),
        webhook_linger_seconds=float(getattr(settings, "SYNC_WEBHOOK_LINGER_SECONDS", defaults.webhook_linger_seconds)),
        run_inline=bool(getattr(settings, "SYNC_RUN_INLINE", defaults.run_inline)),
        delete_guard_count=int(getattr(settings, "SYNC_DELETE_GUARD_COUNT", defaults.delete_guard_count)),
        delete_guard_percent=float(getattr(settings, "SYNC_DELETE_GUARD_PERCENT", defaults.delete_guard_percent)),
        delete_guard_min=int(getattr(settings, "SYNC_DELETE_GUARD_MIN", defaults.delete_guard_min)),
        reconcile_minutes=float(getattr(settings, "SYNC_RECONCILE_MINUTES", defaults.reconcile_minutes)),
        webhook_check_minutes=float(getattr(settings, "SYNC_WEBHOOK_CHECK_MINUTES", defaults.webhook_check_minutes)),
    )


@receiver(setting_changed)
def _reread(setting: str, **kwargs) -> None:
    if setting.startswith("SYNC_"):
        engine_settings.cache_clear()
