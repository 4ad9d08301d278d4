"""HubSpot webhooks v3: verify X-HubSpot-Signature-v3 and turn the event array into WebhookEvents.

Signature (developers.hubspot.com/docs/api/webhooks/validating-requests):
    base64(HMAC-SHA256(client secret, method + uri + body + timestamp))
where uri is the full URL HubSpot called, with a few URL-encoded characters decoded, and
timestamp is X-HubSpot-Request-Timestamp (epoch ms). Requests older than 5 minutes are rejected.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import time
from typing import Any, Mapping

from connectors.base import WebhookEvent
from connectors.hubspot.limits import WEBHOOK_MAX_AGE_MS

# HubSpot decodes these in the URI before signing (its docs list them).
_DECODE = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}
OBJECT_TYPES = {"contact": "contacts", "company": "companies", "deal": "deals"}
CHANGES = {
    "creation": "created",
    "deletion": "deleted",
    "propertyChange": "property_change",
    "merge": "updated",
    "restore": "created",
    "associationChange": "updated",
}


def _decoded_uri(uri: str) -> str:
    for encoded, plain in _DECODE.items():
        uri = uri.replace(encoded, plain).replace(encoded.lower(), plain)
    return uri


def compute_signature_v3(client_secret: str, method: str, uri: str, body: bytes | str, timestamp: str) -> str:
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    message = f"{method.upper()}{_decoded_uri(uri)}{body}{timestamp}".encode("utf-8")
    return base64.b64encode(hmac.new(client_secret.encode("utf-8"), message, hashlib.sha256).digest()).decode()


def _header(headers: Mapping[str, str], name: str) -> str:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return ""


def verify_v3(
    client_secret: str, method: str, uri: str, headers: Mapping[str, str], body: bytes, now_ms: int | None = None
) -> bool:
    """True when the signature matches and the timestamp is no older than 5 minutes."""
    if not client_secret:
        return False
    signature = _header(headers, "X-HubSpot-Signature-v3")
    timestamp = _header(headers, "X-HubSpot-Request-Timestamp")
    if not signature or not timestamp.isdigit():
        return False
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    if now_ms - int(timestamp) > WEBHOOK_MAX_AGE_MS:
        return False
    expected = compute_signature_v3(client_secret, method, uri, body, timestamp)
    return hmac.compare_digest(expected.encode(), signature.encode())


def parse_events(body: bytes) -> list[WebhookEvent]:
    try:
        events: Any = json.loads(body or b"[]")
    except ValueError:
        return []
    if isinstance(events, dict):
        events = [events]
    parsed = []
    for event in events if isinstance(events, list) else []:
        subject, _, change = str(event.get("subscriptionType", "")).partition(".")
        object_type = OBJECT_TYPES.get(subject)
        if object_type is None or event.get("objectId") is None:
            continue
        occurred = event.get("occurredAt")
        parsed.append(
            WebhookEvent(
                object_type=object_type,
                record_id=str(event["objectId"]),
                change=CHANGES.get(change, "updated"),
                occurred_at=dt.datetime.fromtimestamp(occurred / 1000, dt.timezone.utc)
                if isinstance(occurred, (int, float))
                else None,
                event_id=str(event.get("eventId", "")),
                payload=event,
            )
        )
    return parsed
