"""The lease: at most one run per integration across every worker.

One conditional UPDATE on `RunLease` takes it; nobody can take a lease before it expires, so a
slice renews it only once a third of its length has passed. A slice that finds the lease held
marks it `waiting`, so releasing a lease nobody waited for is one UPDATE too (the releasing slice
asks which queued run to start only when one waited)."""

from __future__ import annotations

import os
import socket
import time
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from syncsmart.engine.config import engine_settings
from syncsmart.models import RunLease


def lease_seconds() -> int:
    """How long a run's lease lasts without a renewal (renewed once a third of it has passed)."""
    return engine_settings().lease_seconds


def acquire_lease(integration_id: int, holder: str) -> bool:
    """Take the integration's lease if it is free, expired or already ours. One UPDATE with
    the condition in its WHERE clause: PostgreSQL re-checks it under the row lock, SQLite
    serialises writers, so two workers can never both succeed."""
    if _take_lease(integration_id, holder):
        return True
    if _note_waiting(integration_id):
        return False  # held by another run, which hands the queued run on when it releases
    if _take_lease(integration_id, holder):
        return True  # released between the two questions
    try:
        with transaction.atomic():  # a savepoint: a concurrent creation must not spoil an outer transaction
            RunLease.objects.create(integration_id=integration_id)  # the integration's first run
    except IntegrityError:
        pass  # created by a concurrent worker
    return _take_lease(integration_id, holder)


def _take_lease(integration_id: int, holder: str) -> bool:
    now = timezone.now()
    return (
        RunLease.objects.filter(integration_id=integration_id)
        .filter(Q(holder="") | Q(expires_at__lt=now) | Q(holder=holder))
        .update(holder=holder, expires_at=now + timedelta(seconds=lease_seconds()))
    ) == 1


def renew_lease(integration_id: int, holder: str) -> bool:
    now = timezone.now()
    return (
        RunLease.objects.filter(integration_id=integration_id, holder=holder).update(
            expires_at=now + timedelta(seconds=lease_seconds())
        )
        == 1
    )


def _note_waiting(integration_id: int) -> bool:
    """Mark a lease held by another (live) run as waited for; False when it is free or missing."""
    held = RunLease.objects.filter(integration_id=integration_id, expires_at__gte=timezone.now()).exclude(holder="")
    return held.update(waiting=True) == 1


def release_lease(integration_id: int, holder: str) -> bool:
    """Give the lease up; True when a slice found it held meanwhile (its run waits to be handed on).
    Nobody waited (the usual case): one UPDATE."""
    mine = RunLease.objects.filter(integration_id=integration_id, holder=holder)
    if mine.filter(waiting=False).update(holder="", expires_at=timezone.now()) == 1:
        return False
    mine.update(holder="", expires_at=timezone.now(), waiting=False)
    return True  # or the lease was lost: the caller asks who waits either way


def keep_waiting(integration_id: int) -> None:
    """More than one run waits: the next holder's release hands the next one on."""
    RunLease.objects.filter(integration_id=integration_id).update(waiting=True)


class Lease:
    """This slice's hold on its integration. Nobody can take a lease before it expires, so one
    renewed less than a third of its length ago is still ours without asking the database: an
    idle run or a run of quick pages renews it only when that much time has passed."""

    def __init__(self, integration_id: int, holder: str):
        self.integration_id = integration_id
        self.holder = holder
        self._renewed_at: float | None = None  # monotonic time just before the last successful UPDATE

    def acquire(self) -> bool:
        asked_at = time.monotonic()
        if not acquire_lease(self.integration_id, self.holder):
            return False
        self._renewed_at = asked_at
        return True

    def renew(self) -> bool:
        """True while the lease is ours (renewed now if due); False once another worker took it."""
        if self._renewed_at is not None and time.monotonic() - self._renewed_at < lease_seconds() / 3:
            return True
        asked_at = time.monotonic()
        if not renew_lease(self.integration_id, self.holder):
            return False
        self._renewed_at = asked_at
        return True

    def release(self) -> bool:
        """True when a run may wait for this integration (see `release_lease`)."""
        return release_lease(self.integration_id, self.holder)


def worker_label() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"
