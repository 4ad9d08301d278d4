"""Waking a webhook run when a notification arrives for its integration.

With Redis (REDIS_URL) the webhook intake publishes on the integration's channel once the
notification is committed to the inbox, and a run waiting for more notifications blocks on
that channel: it wakes the moment one arrives instead of polling the inbox. The embedded default
(no Redis) has no channel between the web and worker processes: the run asks the inbox again
after a short poll. The inbox rows stay the truth either way; a lost message only means the run
leaves at its deadline and the run the intake queued works the notification.
"""

from __future__ import annotations

import contextlib
import logging
import time

import redis
from django.conf import settings

log = logging.getLogger("syncsmart.engine")

# The embedded default's inbox poll while a webhook run waits for notifications.
EMBEDDED_POLL_SECONDS = 0.05


def _channel(integration_id: int) -> str:
    # One Redis may serve several deployments (and parallel test sessions): their q2 names differ.
    return f"{settings.Q_CLUSTER.get('name', 'syncsmart')}:inbox:{integration_id}"


def _redis() -> redis.Redis | None:
    url = getattr(settings, "REDIS_URL", "")
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2) if url else None


def announce(integration_id: int) -> None:
    """Tell a run waiting on this integration that a notification is in the inbox (call after commit)."""
    client = _redis()
    if client is None:
        return
    try:
        client.publish(_channel(integration_id), b"1")
    except redis.RedisError as exc:  # the queued run still works the notification
        log.info("inbox wake-up for integration %s not published: %s", integration_id, exc)
    finally:
        client.close()


class InboxBell:
    """A waiting run's ear on its integration's channel. Subscribe before looking at the inbox,
    so a notification committed between the look and the wait still wakes the run."""

    def __init__(self, integration_id: int):
        self._client = _redis()
        self._pubsub = None
        if self._client is not None:
            try:
                self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
                self._pubsub.subscribe(_channel(integration_id))
            except redis.RedisError as exc:
                log.info("inbox wake-ups unavailable, polling: %s", exc)
                self._pubsub = None

    def __enter__(self) -> InboxBell:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pushed(self) -> bool:
        """True when notifications wake the run (Redis); False when it polls."""
        return self._pubsub is not None

    def wait(self, timeout: float) -> bool:
        """Until a notification is announced (True) or `timeout` passes; polling: a short sleep, then True."""
        if timeout <= 0:
            return False
        if self._pubsub is None:
            time.sleep(min(timeout, EMBEDDED_POLL_SECONDS))
            return True
        try:
            return self._pubsub.get_message(timeout=timeout) is not None
        except redis.RedisError as exc:
            log.info("inbox wake-ups lost, polling: %s", exc)
            self._pubsub = None
            return True

    def close(self) -> None:
        if self._pubsub is not None:
            with contextlib.suppress(redis.RedisError):  # closing a broken connection: nothing to keep
                self._pubsub.close()
        if self._client is not None:
            self._client.close()
