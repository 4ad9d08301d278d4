"""Near real time without vendor webhooks: the SyncSmart user-event script's notifications.

NetSuite has no outbound webhooks. The SuiteScript 2.1 user-event script shipped in
docs/netsuite/syncsmart_user_event.js runs after every create / edit / delete of a customer,
contact or opportunity and POSTs `{"type", "id", "event", "occurredAt", "account"}` to the
integration's webhook URL, signed with the integration's secret (stored in NetSuite as an API
secret, never in the script):

    X-SyncSmart-Timestamp: <unix seconds>
    X-SyncSmart-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>." + body)>

The receiver checks the signature (constant time) before reading anything else, and refuses
notifications older than five minutes (a replayed capture). The notification only says which
record changed; the sync reads the record itself through the API, so a forged or lost
notification can at worst cause or miss an early read — the scheduled SuiteQL poll still runs.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

SIGNATURE_HEADER = "X-SyncSmart-Signature"
TIMESTAMP_HEADER = "X-SyncSmart-Timestamp"
VERSION = "v1"
MAX_AGE_SECONDS = 300
# The script's record type -> the connector's object type.
OBJECT_TYPES = {"customer": "customers", "contact": "contacts", "opportunity": "opportunities"}


def _digest(secret: str, body: bytes, timestamp: int) -> str:
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    """The headers the script sends with `body` (the emulator's deployed script uses this)."""
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: f"{VERSION}={_digest(secret, body, timestamp)}",
    }


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float | None = None) -> bool:
    """True when the notification carries a valid, fresh signature made with `secret`."""
    if not secret:
        return False
    lower = {k.lower(): v for k, v in headers.items()}
    signature = lower.get(SIGNATURE_HEADER.lower(), "")
    stamp = lower.get(TIMESTAMP_HEADER.lower(), "")
    if not signature.startswith(VERSION + "=") or not stamp.isdigit() or len(stamp) > 12:
        return False
    expected = f"{VERSION}={_digest(secret, body, int(stamp))}"
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        return False
    return abs((time.time() if now is None else now) - int(stamp)) <= MAX_AGE_SECONDS
