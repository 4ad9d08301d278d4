"""/metrics: the Prometheus exposition of every process's metrics (syncsmart.core.metrics).

Open to a scraper that sends `Authorization: Bearer <METRICS_TOKEN>` or connects from an address
in METRICS_ALLOWED_IPS (REMOTE_ADDR: behind a proxy, list the proxy or use the token). With
neither setting the endpoint does not exist (404); a request that matches neither gets 403."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.http import require_GET

from syncsmart.core import metrics


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
    body, content_type = metrics.scrape()
    return HttpResponse(body, content_type=content_type)
