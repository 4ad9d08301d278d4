"""ConnectWise callbacks (system/callbacks): the payload shape and its signature.

When a record of a subscribed type changes, ConnectWise POSTs a JSON payload to the callback's
URL:

    {"MessageId": "...", "FromUrl": "<site>", "CompanyId": "<company>", "MemberId": "<member>",
     "Action": "added" | "updated" | "deleted", "Type": "company" | "contact" | "opportunity",
     "ID": 123, "CallbackObjectRecId": <callback id>, "Entity": "<the record as a JSON string>",
     "Metadata": {"key_url": "https://<site>/.../<key id>"}}

with an `x-content-signature` header: base64(HMAC-SHA256(key=SHA-256(signing key), body)),
where the signing key is what `Metadata.key_url` answers ({"signing_key": "..."}). A receiver
must only fetch key URLs on the connection's own site (otherwise anyone could sign with a key
they host themselves). Both the emulator (signing) and the connector (verifying) use this module.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

SIGNATURE_HEADER = "x-content-signature"
ACTIONS = ("added", "updated", "deleted")
# Callback `type` -> our object type name.
OBJECT_TYPES = {"company": "companies", "contact": "contacts", "opportunity": "opportunities"}


def signature(signing_key: str, body: bytes) -> str:
    key = hashlib.sha256(signing_key.encode()).digest()
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()


def signature_matches(signing_key: str, body: bytes, header_value: str) -> bool:
    return hmac.compare_digest(signature(signing_key, body), (header_value or "").strip())


def payload(
    *,
    message_id: str,
    from_url: str,
    company_id: str,
    member_id: str,
    action: str,
    type_: str,
    record_id: int,
    callback_id: int,
    entity: dict[str, Any] | None,
    key_url: str,
) -> dict[str, Any]:
    return {
        "MessageId": message_id,
        "FromUrl": from_url,
        "CompanyId": company_id,
        "MemberId": member_id,
        "Action": action,
        "Type": type_,
        "ID": record_id,
        "CallbackObjectRecId": callback_id,
        "ProductInstanceId": None,
        "PartnerId": None,
        "Entity": json.dumps(entity) if entity is not None else None,
        "Metadata": {"key_url": key_url},
    }
