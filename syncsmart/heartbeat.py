"""Each django-q2 worker process writes a heartbeat (WorkerHeartbeat) every HEARTBEAT_SECONDS
from a small thread started when q2 spawns it (the `post_spawn` signal). A frozen, killed or
stopped worker stops beating; /healthz (syncsmart.health) reads the rows.
"""

from __future__ import annotations

import logging
import os
import socket
import threading

from django.db import close_old_connections, connection
from django.dispatch import receiver
from django.utils import timezone
from django_q.signals import post_spawn

from syncsmart.core import metrics
from syncsmart.models import WorkerHeartbeat

log = logging.getLogger("syncsmart.heartbeat")

HEARTBEAT_SECONDS = 15.0


def worker_name(proc_name: str) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{proc_name}"[:200]


def beat(name: str) -> None:
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        name=name, defaults={"beaten_at": now}, create_defaults={"started_at": now, "beaten_at": now}
    )
    metrics.WORKER_HEARTBEATS.inc()


def _beat_forever(name: str, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            close_old_connections()
            beat(name)
        except Exception:  # a database hiccup: the next beat tries again; health shows the gap
            log.exception("worker heartbeat failed")
        finally:
            connection.close()
        stop.wait(HEARTBEAT_SECONDS)


@receiver(post_spawn)
def start_heartbeat(sender: object, proc_name: str, **kwargs: object) -> threading.Thread:
    stop = threading.Event()
    thread = threading.Thread(target=_beat_forever, args=(worker_name(proc_name), stop), name="heartbeat", daemon=True)
    thread.stop = stop  # type: ignore[attr-defined]
    thread.start()
    return thread
