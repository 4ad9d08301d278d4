"""ConnectWise callbacks (system/callbacks): the payload shape and its signature.

When a record of a subscribed type changes, ConnectWise POSTs a JSON payload to the callback's
URL:

    {"MessageId": "...", "FromUrl": "<site>", "CompanyId": "<company>", "MemberId": "<member>",
     "Action": "added" | "updated" | "deleted", "Type": "company" | "contact" | "opportunity" | "activity",
     "ID": 123, "CallbackObjectRecId": <callback id>, "Entity": "<the record as a JSON string>",
     "Metadata": {"key_url": "https://<site>/.../<key id>"}}

with an `x-content-signature` header: base64(HMAC-SHA256(key=SHA-256(signing key), body)),
where the signing key is what `Metadata.key_url` answers ({"signing_key": "..."}). The body is
unverified until that key is known, so a receiver follows nothing else it names: only a key URL
that is exactly the callback-key path on the connection's own site
(`<site>/v4_6_release/apis/3.0/system/callbackKeys/<key id>`, `key_id_of`) is fetched, once per
key id, and only for a well-formed signature header (`signature_well_formed`). Both the emulator
(signing) and the connector (verifying) use this module.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from typing import Any

from connectors.connectwise import API_PATH

SIGNATURE_HEADER = "x-content-signature"
KEY_PATH = API_PATH + "/system/callbackKeys/"
_KEY_ID = re.compile(r"[A-Za-z0-9]{1,64}")
ACTIONS = ("added", "updated", "deleted")
# Callback `type` -> our object type name.
OBJECT_TYPES = {"company": "companies", "contact": "contacts", "opportunity": "opportunities"}
# Sales activities have one callback type; our object type follows the activity's own type
# (the connector's `*_activities`), named in the payload's Entity — absent on "deleted".
ACTIVITY = "activity"
CALLBACK_TYPES = (*OBJECT_TYPES, ACTIVITY)


def signature(signing_key: str, body: bytes) -> str:
    key = hashlib.sha256(signing_key.encode()).digest()
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()


def signature_matches(signing_key: str, body: bytes, header_value: str) -> bool:
    return hmac.compare_digest(signature(signing_key, body).encode(), (header_value or "").strip().encode("utf-8", "replace"))


def signature_well_formed(header_value: str) -> bool:
    """base64 of a 32-byte HMAC-SHA256: anything else cannot match, so no key is fetched for it."""
    try:
        return len(base64.b64decode((header_value or "").strip(), validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


def key_id_of(site_root: str, key_url: Any) -> str | None:
    """The key id when `key_url` is exactly the callback-key path on this site, else None."""
    prefix = site_root.rstrip("/") + KEY_PATH
    if not isinstance(key_url, str) or not key_url.startswith(prefix):
        return None
    key_id = key_url[len(prefix) :]
    return key_id if _KEY_ID.fullmatch(key_id) else None


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
