"""Webhook endpoints, one per integration and side: HubSpot webhooks v3, the Dynamics service
endpoint, ConnectWise callbacks.

    POST /webhooks/<integration id>/hubspot
    POST /webhooks/<integration id>/other

Each request is verified by the side's connector (signature, timestamp, key) before anything
is stored: a bad signature is a 401 and leaves no trace. Verified notifications go to the
durable inbox (one row per vendor event id, so a replayed webhook stores nothing new) and the
answer goes back at once; a run for just the notified records is queued after commit.
"""

from __future__ import annotations

import hashlib
import json
import logging

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from connectors.base import ConnectorError, WebhookEvent
from mappings.go_live import webhook_intake_paused
from mappings.models import Integration, Side
from syncsmart.models import InboxItem

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
    return len(wanted - before)


@csrf_exempt
@require_POST
def receive(request: HttpRequest, integration_id: int, side: str) -> HttpResponse:
    if side not in (Side.HUBSPOT, Side.OTHER):
        return JsonResponse({"error": "unknown side"}, status=404)
    integration = Integration.objects.select_related("hubspot_connection", "other_connection").filter(pk=integration_id).first()
    if integration is None:
        return JsonResponse({"error": "unknown integration"}, status=404)
    if len(request.body) > MAX_BODY_BYTES:
        return JsonResponse({"error": "body too large"}, status=413)
    if webhook_intake_paused(integration):
        # Mid sandbox -> production switch: store nothing; vendors retry a 503 later.
        response = JsonResponse({"error": "webhook intake paused while this integration moves to production"}, status=503)
        response["Retry-After"] = "60"
        return response
    connection = integration.hubspot_connection if side == Side.HUBSPOT else integration.other_connection
    connector = connection.connector()
    try:
        headers = {k: v for k, v in request.headers.items()}
        if not connector.verify_webhook(request.method, request.build_absolute_uri(), headers, request.body):
            log.info("webhook for integration %s (%s) refused: bad signature", integration.pk, side)
            return JsonResponse({"error": "signature verification failed"}, status=401)
        events = connector.parse_webhook(request.body, headers)
    except ConnectorError as exc:
        log.warning("webhook for integration %s (%s) could not be verified: %s", integration.pk, side, exc.message)
        return JsonResponse({"error": "could not verify"}, status=401)
    finally:
        connector.close()
    with transaction.atomic():
        new = store_events(integration, side, events)
        if new and integration.enabled:
            transaction.on_commit(lambda: _queue_run(integration.pk))
    return JsonResponse({"received": len(events), "new": new})


def _queue_run(integration_id: int) -> None:
    from mappings.actions import request_run

    integration = Integration.objects.filter(pk=integration_id, enabled=True).first()
    if integration is not None:
        with transaction.atomic():
            request_run(integration, None, trigger="webhook")


urlpatterns = [
    path("<int:integration_id>/<str:side>", receive, name="webhook"),
]
