"""Webhook endpoints, one per integration and side: HubSpot webhooks v3, the Dynamics service
endpoint, ConnectWise callbacks.

    POST /webhooks/<integration id>/hubspot
    POST /webhooks/<integration id>/other

Each request is verified by the side's connector (signature, timestamp, key) before anything
else happens: no write, and no call out except ConnectWise's signing-key fetch from its own
callback-key path. Unknown integrations and unverified requests get the same 401 and leave no
trace; bodies over MAX_BODY_BYTES are a 413 before they are read; a verified notification for a
suspended workspace is a 503 that stores nothing. Verified notifications go to the
durable inbox (one row per vendor event id, so a replayed webhook stores nothing new) and the
answer goes back at once; a run for just the notified records is queued after commit.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Callable

from django.conf import settings
from django.db import OperationalError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from connectors.base import ConnectorError, WebhookEvent
from connectors.hubspot import webhooks as hubspot_webhooks
from mappings.models import Integration
from mappings.services.go_live import webhook_intake_paused
from syncsmart.core import metrics
from syncsmart.core.choices import Side
from syncsmart.engine import wakeups
from syncsmart.engine.run_requests import request_run
from syncsmart.models import InboxItem, WebhookRegistration
from tenants.access import tenant_block_reason

log = logging.getLogger("syncsmart.webhooks")

MAX_BODY_BYTES = 2 * 1024 * 1024


def _event_id(event: WebhookEvent) -> str:
    """The vendor's id, or a content hash when the vendor sends none (replays still collapse)."""
    if event.event_id:
        return event.event_id[:200]
    raw = json.dumps(
        [
            event.object_type,
            event.record_id,
            event.change,
            event.occurred_at.isoformat() if event.occurred_at else "",
            event.payload,
        ],
        sort_keys=True,
        default=str,
    )
    return "sha256:" + hashlib.sha256(raw.encode()).hexdigest()


def store_events(integration: Integration, side: str, events: list[WebhookEvent]) -> int:
    """Put verified events in the inbox; returns how many were new."""
    if not events:
        return 0
    rows = [
        InboxItem(
            integration=integration,
            side=side,
            event_id=_event_id(e),
            object_type=e.object_type,
            record_id=str(e.record_id)[:100],
            change=e.change[:30],
            payload=e.payload,
        )
        for e in events
    ]
    wanted = {r.event_id for r in rows}
    before = set(
        InboxItem.objects.filter(integration=integration, side=side, event_id__in=wanted).values_list("event_id", flat=True)
    )
    InboxItem.objects.bulk_create(rows, ignore_conflicts=True)
    new = len(wanted - before)
    metrics.WEBHOOKS.labels("hubspot" if side == Side.HUBSPOT else integration.other_system).inc(new)
    return new


def _refused() -> JsonResponse:
    """The one answer for an unknown integration or side and for anything unverified, so ids
    cannot be told apart from outside."""
    return JsonResponse({"error": "not accepted"}, status=401)


def _body_too_large(request: HttpRequest) -> bool:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return True
    return declared > MAX_BODY_BYTES


def _integration(integration_id: int, side: str) -> Integration | None:
    if side not in (Side.HUBSPOT, Side.OTHER):
        return None
    return (
        Integration.objects.select_related("tenant", "hubspot_connection", "other_connection").filter(pk=integration_id).first()
    )


def _verified(request: HttpRequest, integration: Integration, side: str) -> bool:
    """The side's connector checks signature / key / timestamp; nothing is written before, and
    the only call out is ConnectWise's signing-key fetch (connectors.connectwise.callbacks)."""
    connection = integration.hubspot_connection if side == Side.HUBSPOT else integration.other_connection
    if connection is None:
        return False
    try:
        connector = connection.connector()
    except ConnectorError:
        return False
    try:
        headers = {k: v for k, v in request.headers.items()}
        return bool(connector.verify_webhook(request.method, request.build_absolute_uri(), headers, request.body))
    except ConnectorError as exc:
        log.warning("webhook for integration %s (%s) could not be verified: %s", integration.pk, side, exc.message)
        return False
    finally:
        connector.close()


def _parsed(integration: Integration, side: str, body: bytes) -> list[WebhookEvent] | None:
    connection = integration.hubspot_connection if side == Side.HUBSPOT else integration.other_connection
    connector = connection.connector()
    try:
        return connector.parse_webhook(body)
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError, RecursionError) as exc:
        # Signed by the vendor yet not a shape we know: refuse it (the vendor sees a 400), never a 500.
        log.warning("webhook for integration %s (%s) is verified but unreadable: %r", integration.pk, side, exc)
        return None
    finally:
        connector.close()


def busy_database_is_503(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A database too busy to take a notification (SQLite locked past its timeout, PostgreSQL out of
    connections) answers 503 with Retry-After, not a 500: the vendors resend a 5xx later, and a
    notification stored before the error is de-duplicated when it comes again."""

    @functools.wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except OperationalError as error:
            log.warning("webhook deferred: the database is busy (%s)", type(error).__name__)
            response = JsonResponse({"error": "busy, retry later"}, status=503)
            response["Retry-After"] = "30"
            return response

    return guarded


@csrf_exempt
@require_POST
@busy_database_is_503
def receive(request: HttpRequest, integration_id: int, side: str) -> HttpResponse:
    if _body_too_large(request):
        return JsonResponse({"error": "body too large"}, status=413)
    integration = _integration(integration_id, side)
    if integration is None or not _verified(request, integration, side):
        log.info("webhook for integration %s (%s) refused: unknown or unverified", integration_id, side[:20])
        return _refused()
    blocked = tenant_block_reason(integration.tenant)
    if blocked:
        # Verified, but the workspace may not sync: store nothing; a vendor retries a 503 later.
        response = JsonResponse({"error": blocked}, status=503)
        response["Retry-After"] = "3600"
        return response
    if webhook_intake_paused(integration):
        # Mid sandbox -> production switch: store nothing; vendors retry a 503 later.
        response = JsonResponse({"error": "webhook intake paused while this integration moves to production"}, status=503)
        response["Retry-After"] = "60"
        return response
    events = _parsed(integration, side, request.body)
    if events is None:
        return JsonResponse({"error": "unreadable notification"}, status=400)
    with transaction.atomic():
        new = store_events(integration, side, events)
        if new and integration.enabled:
            transaction.on_commit(lambda: _queue_run(integration.pk))
    return JsonResponse({"received": len(events), "new": new})


def _hubspot_app_secrets() -> list[str]:
    """The client secrets HubSpot signs app webhooks with: the product's app, and the apps of
    connections that registered their own (the built-in emulator's, in the demo)."""
    secrets = [settings.SOCIAL_AUTH_HUBSPOT_SECRET] if settings.SOCIAL_AUTH_HUBSPOT_SECRET else []
    registered = WebhookRegistration.objects.filter(side=Side.HUBSPOT, state=WebhookRegistration.State.ACTIVE)
    for registration in registered.select_related("integration__hubspot_connection"):
        secret = (registration.integration.hubspot_connection.credentials or {}).get("client_secret")
        if secret and secret not in secrets:
            secrets.append(secret)
    return secrets


def _app_verified(request: HttpRequest) -> bool:
    headers = {k: v for k, v in request.headers.items()}
    uri = request.build_absolute_uri()
    return any(hubspot_webhooks.verify_v3(s, request.method, uri, headers, request.body) for s in _hubspot_app_secrets())


@csrf_exempt
@require_POST
@busy_database_is_503
def receive_hubspot_app(request: HttpRequest) -> HttpResponse:
    """HubSpot's one target URL for the product's app: events of every portal that installed it,
    verified with the app's secret, then stored for each integration on that portal."""
    if _body_too_large(request):
        return JsonResponse({"error": "body too large"}, status=413)
    if not _app_verified(request):
        log.info("HubSpot app webhook refused: unverified")
        return _refused()
    events = hubspot_webhooks.parse_events(request.body)
    by_portal: dict[str, list[WebhookEvent]] = {}
    for event in events:
        by_portal.setdefault(str(event.payload.get("portalId", ""))[:40], []).append(event)
    stored = 0
    for portal, portal_events in by_portal.items():
        integrations = Integration.objects.select_related("tenant").filter(hubspot_connection__config__portal_id=portal)
        for integration in integrations:
            if tenant_block_reason(integration.tenant) or webhook_intake_paused(integration):
                continue  # the run after the pause reads these changes by polling
            with transaction.atomic():
                new = store_events(integration, Side.HUBSPOT, portal_events)
                if new and integration.enabled:
                    transaction.on_commit(lambda pk=integration.pk: _queue_run(pk))
            stored += new
    return JsonResponse({"received": len(events), "new": stored})


def _queue_run(integration_id: int) -> None:
    """After the notifications are committed: a run waiting on this integration hears of them
    at once (Redis pub/sub); otherwise the queued run works them."""
    wakeups.announce(integration_id)
    integration = Integration.objects.filter(pk=integration_id, enabled=True).first()
    if integration is not None:
        with transaction.atomic():
            request_run(integration, None, trigger="webhook")


urlpatterns = [
    path("hubspot", receive_hubspot_app, name="hubspot-app-webhook"),
    path("<int:integration_id>/<str:side>", receive, name="webhook"),
]
