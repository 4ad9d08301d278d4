from django.db import connection
from django.http import JsonResponse


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone()[0] == 1
    except Exception:
        return False


def _broker_ok() -> bool:
    try:
        from django_q.brokers import get_broker

        broker = get_broker()
        if broker.info().startswith("ORM"):
            # The ORM broker is the database: reachable when its queue table answers.
            from django_q.models import OrmQ

            OrmQ.objects.exists()
            return True
        return bool(broker.ping())
    except Exception:
        return False


def healthz(request):
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    down = [name for name, ok in checks.items() if not ok]
    body = {"status": "ok" if not down else "down", "checks": {k: "ok" if v else "down" for k, v in checks.items()}}
    if down:
        body["down"] = down
    return JsonResponse(body, status=503 if down else 200)
