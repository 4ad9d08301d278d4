"""/metrics: the Prometheus exposition of every process's metrics (syncsmart.core.metrics).

Open to a scraper that sends `Authorization: Bearer <METRICS_TOKEN>` or connects from an address
in METRICS_ALLOWED_IPS (REMOTE_ADDR: behind a proxy, list the proxy or use the token). With
neither setting the endpoint does not exist (404); a request that matches neither gets 403.

The work waiting in the database (inbox backlog, deferred records, worker heartbeat ages) is read
here at scrape time, as gauges of this scrape: no process has to keep them, none goes stale when a
process dies. They describe the whole deployment (one database), whichever machine is scraped."""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Min
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from syncsmart.core import metrics
from syncsmart.models import DeferredRecord, InboxItem, WorkerHeartbeat


class DatabaseState:
    """Backlogs and worker liveness, read from the database when /metrics is scraped."""

    def collect(self) -> Iterable[Metric]:
        now = timezone.now()
        backlog = GaugeMetricFamily("syncsmart_inbox_backlog", "Webhook notifications not processed yet.")
        oldest = GaugeMetricFamily("syncsmart_inbox_oldest_age_seconds", "Age of the oldest unprocessed notification (0: none).")
        pending = InboxItem.objects.filter(status=InboxItem.Status.PENDING).aggregate(n=Count("pk"), first=Min("received_at"))
        backlog.add_metric([], pending["n"])
        oldest.add_metric([], (now - pending["first"]).total_seconds() if pending["first"] else 0.0)
        deferred = GaugeMetricFamily("syncsmart_deferred_records", "Records waiting for a parent or a retry (deferred queue).")
        deferred.add_metric([], DeferredRecord.objects.count())
        beats = GaugeMetricFamily(
            "syncsmart_worker_heartbeat_age_seconds", "Seconds since each q2 worker process last beat.", labels=["worker"]
        )
        # Workers seen in the last hour: a restarted worker is a new process name, the old one
        # drops out instead of staying a label forever.
        recent = WorkerHeartbeat.objects.filter(beaten_at__gte=now - timedelta(hours=1)).order_by("name")
        for name, beaten_at in recent.values_list("name", "beaten_at"):
            beats.add_metric([name], max(0.0, (now - beaten_at).total_seconds()))
        return [backlog, oldest, deferred, beats]


def _token_ok(request: HttpRequest) -> bool:
    expected = settings.METRICS_TOKEN
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    return bool(expected) and scheme.lower() == "bearer" and hmac.compare_digest(sent.strip().encode(), expected.encode())


def _address_ok(request: HttpRequest) -> bool:
    return request.META.get("REMOTE_ADDR", "") in settings.METRICS_ALLOWED_IPS


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not settings.METRICS_TOKEN and not settings.METRICS_ALLOWED_IPS:
        raise Http404("metrics are not enabled")
    if not (_token_ok(request) or _address_ok(request)):
        return HttpResponseForbidden("metrics: token or allowed address required")
    body, content_type = metrics.scrape([DatabaseState()])
    return HttpResponse(body, content_type=content_type)
