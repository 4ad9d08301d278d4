"""HubSpot webhooks v3: verify X-HubSpot-Signature-v3 and turn the event array into WebhookEvents.

Signature (developers.hubspot.com/docs/api/webhooks/validating-requests):
    base64(HMAC-SHA256(client secret, method + uri + body + timestamp))
where uri is the full URL HubSpot called, with a few URL-encoded characters decoded, and
timestamp is X-HubSpot-Request-Timestamp (epoch ms). Requests more than 5 minutes away from
now, older or newer, are rejected. Any bytes may arrive: non-UTF-8 bodies, absurd timestamps and
JSON of any shape are a refusal or nothing to store, never an exception.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from typing import Any

from connectors.base import WebhookEvent
from connectors.hubspot.limits import WEBHOOK_MAX_AGE_MS
from syncsmart import jsonbounds

# Epoch milliseconds: ASCII digits only (str.isdigit() also accepts "²³"), and few enough of
# them that int() is cheap.
_TIMESTAMP = re.compile(r"[0-9]{1,15}")

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
    "merge": "merged",  # objectId is the survivor; mergedObjectIds the records merged into it
    "restore": "restored",
    "associationChange": "association_change",  # fromObjectId's association changed
}


def _decoded_uri(uri: str) -> str:
    for encoded, plain in _DECODE.items():
        uri = uri.replace(encoded, plain).replace(encoded.lower(), plain)
    return uri


def compute_signature_v3(client_secret: str, method: str, uri: str, body: bytes | str, timestamp: str) -> str:
    # HubSpot signs the UTF-8 text; concatenating bytes gives the same message for any valid body
    # and never fails on bytes that are not UTF-8 (their signature simply does not match).
    if isinstance(body, str):
        body = body.encode("utf-8")
    message = f"{method.upper()}{_decoded_uri(uri)}".encode("utf-8", "surrogatepass") + body + timestamp.encode("ascii")
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
    """True when the signature matches and the timestamp is within 5 minutes of now, either way."""
    if not client_secret:
        return False
    signature = _header(headers, "X-HubSpot-Signature-v3")
    timestamp = _header(headers, "X-HubSpot-Request-Timestamp")
    if not signature or not _TIMESTAMP.fullmatch(timestamp):
        return False
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    if abs(now_ms - int(timestamp)) > WEBHOOK_MAX_AGE_MS:
        return False
    expected = compute_signature_v3(client_secret, method, uri, body, timestamp)
    # Headers arrive as latin-1 text: compare bytes, in constant time.
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "surrogatepass"))


def parse_events(body: bytes) -> list[WebhookEvent]:
    try:
        events: Any = jsonbounds.loads(body or b"[]")
    except ValueError:
        return []
    if isinstance(events, dict):
        events = [events]
    parsed = []
    for event in events if isinstance(events, list) else []:
        if not isinstance(event, dict):
            continue
        subject, _, change = str(event.get("subscriptionType", "")).partition(".")
        object_type = OBJECT_TYPES.get(subject)
        # An association change names its two ends; the record whose association changed is "from".
        object_id = event.get("fromObjectId") if change == "associationChange" else event.get("objectId")
        if object_type is None or object_id is None:
            continue
        if not isinstance(object_id, (int, str)) or isinstance(object_id, bool) or not str(object_id):
            continue
        parsed.append(
            WebhookEvent(
                object_type=object_type,
                record_id=str(object_id)[:100],
                change=CHANGES.get(change, "updated"),
                occurred_at=_occurred_at(event.get("occurredAt")),
                event_id=str(event.get("eventId", "")),
                payload=event,
            )
        )
    return parsed


def _occurred_at(value: Any) -> dt.datetime | None:
    """occurredAt (epoch ms), or None when it is missing or no real moment (1e20, NaN, -1e300)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    try:
        return dt.datetime.fromtimestamp(value / 1000, dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None
