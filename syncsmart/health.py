"""/healthz: 200 when the database, the broker and the worker cluster answer; 503 naming what is
down otherwise.

- database: SELECT 1;
- broker: the django-q2 broker answers (the ORM broker is its queue table);
- workers: at least one q2 worker process beat (syncsmart.heartbeat) in the last
  WORKER_STALE_SECONDS; the stale ones are named;
- queue: no run due to start has waited longer than QUEUE_WAIT_SECONDS (workers that beat but
  take nothing are as bad as none).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import OrmQ

from syncsmart.models import SyncRun, WorkerHeartbeat

WORKER_STALE_SECONDS = 60
QUEUE_WAIT_SECONDS = 300


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone()[0] == 1
    except Exception:
        return False


def _broker_ok() -> bool:
    try:
        broker = get_broker()
        if broker.info().startswith("ORM"):
            # The ORM broker is the database: reachable when its queue table answers.
            OrmQ.objects.exists()
            return True
        return bool(broker.ping())
    except Exception:
        return False


def workers_report(now: dt.datetime) -> dict[str, Any]:
    """{"ok", "alive": n, "stale": [names of workers that stopped beating in the last hour]}."""
    fresh_since = now - dt.timedelta(seconds=WORKER_STALE_SECONDS)
    beats = list(WorkerHeartbeat.objects.filter(beaten_at__gte=now - dt.timedelta(hours=1)).values_list("name", "beaten_at"))
    alive = [name for name, beaten in beats if beaten >= fresh_since]
    stale = [name for name, beaten in beats if beaten < fresh_since]
    return {"ok": bool(alive), "alive": len(alive), "stale": stale[:20]}


def queue_report(now: dt.datetime) -> dict[str, Any]:
    """{"ok", "oldest_wait_seconds"}: how long the oldest run due to start has waited."""
    oldest = (
        SyncRun.objects.filter(status=SyncRun.Status.QUEUED, queued_at__lte=now)
        .order_by("queued_at")
        .values_list("queued_at", flat=True)
        .first()
    )
    wait = int((now - oldest).total_seconds()) if oldest else 0
    return {"ok": wait <= QUEUE_WAIT_SECONDS, "oldest_wait_seconds": wait}


def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    body: dict[str, Any] = {}
    if checks["database"]:
        now = timezone.now()
        workers, queue = workers_report(now), queue_report(now)
        checks["workers"], checks["queue"] = workers.pop("ok"), queue.pop("ok")
        body["workers"], body["queue"] = workers, queue
    down = [name for name, ok in checks.items() if not ok]
    body = {"status": "ok" if not down else "down", "checks": {k: "ok" if v else "down" for k, v in checks.items()}, **body}
    if down:
        body["down"] = down
    return JsonResponse(body, status=503 if down else 200)
