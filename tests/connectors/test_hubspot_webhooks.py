"""Webhooks v3 signatures: HubSpot's published vectors, stale timestamps, tampering, parsing."""

from __future__ import annotations

import hashlib
import json

from connectors.hubspot.webhooks import compute_signature_v3, parse_events, verify_v3

# HubSpot's published example (developers.hubspot.com/docs/api/webhooks/validating-requests, v1 and v2 sections).
SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
BODY = (
    '[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation",'
    '"attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]'
)
URI = "https://www.example.com/webhook_uri"
TIMESTAMP = "1564113600000"
# HubSpot publishes no v3 worked example; this one was computed outside our code, with
# `printf '%s' "POST${URI}${BODY}${TIMESTAMP}" | openssl dgst -sha256 -hmac "$SECRET" -binary | base64`,
# over HubSpot's published inputs.
V3_SIGNATURE = "DxmVAjFNa2xfF3YgQjdZP6TNcok9k1oaH7UXombPtvw="
NOW = int(TIMESTAMP) + 1_000


def headers(signature: str = V3_SIGNATURE, timestamp: str = TIMESTAMP) -> dict[str, str]:
    return {"X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": timestamp, "Content-Type": "application/json"}


def test_hubspot_published_v1_and_v2_vectors_confirm_the_inputs():
    """The inputs we use for v3 are HubSpot's own: their v1 / v2 hashes come out as published."""
    assert (
        hashlib.sha256((SECRET + BODY).encode()).hexdigest() == "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"
    )
    assert (
        hashlib.sha256((SECRET + "GET" + URI).encode()).hexdigest()
        == "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e"
    )


def test_v3_signature_matches_the_independently_computed_vector():
    assert compute_signature_v3(SECRET, "POST", URI, BODY.encode(), TIMESTAMP) == V3_SIGNATURE
    assert verify_v3(SECRET, "POST", URI, headers(), BODY.encode(), now_ms=NOW)


def test_header_names_are_case_insensitive():
    lowered = {k.lower(): v for k, v in headers().items()}
    assert verify_v3(SECRET, "POST", URI, lowered, BODY.encode(), now_ms=NOW)


def test_timestamp_older_than_five_minutes_is_rejected():
    assert verify_v3(SECRET, "POST", URI, headers(), BODY.encode(), now_ms=int(TIMESTAMP) + 5 * 60 * 1000)
    assert not verify_v3(SECRET, "POST", URI, headers(), BODY.encode(), now_ms=int(TIMESTAMP) + 5 * 60 * 1000 + 1)


def test_tampered_body_uri_method_or_secret_is_rejected():
    tampered = BODY.replace('"objectId":123', '"objectId":124').encode()
    assert not verify_v3(SECRET, "POST", URI, headers(), tampered, now_ms=NOW)
    assert not verify_v3(SECRET, "POST", URI + "?x=1", headers(), BODY.encode(), now_ms=NOW)
    assert not verify_v3(SECRET, "PUT", URI, headers(), BODY.encode(), now_ms=NOW)
    assert not verify_v3("another-secret", "POST", URI, headers(), BODY.encode(), now_ms=NOW)
    assert not verify_v3(SECRET, "POST", URI, headers(timestamp=str(int(TIMESTAMP) + 1)), BODY.encode(), now_ms=NOW)


def test_missing_headers_or_secret_are_rejected():
    assert not verify_v3(SECRET, "POST", URI, {}, BODY.encode(), now_ms=NOW)
    assert not verify_v3("", "POST", URI, headers(), BODY.encode(), now_ms=NOW)
    assert not verify_v3(SECRET, "POST", URI, headers(timestamp="yesterday"), BODY.encode(), now_ms=NOW)


def test_url_encoded_characters_hubspot_decodes_are_decoded_before_signing():
    encoded = "https://www.example.com/webhook_uri%3Fa%3Ab%40c"
    signature = compute_signature_v3(SECRET, "POST", "https://www.example.com/webhook_uri?a:b@c", BODY, TIMESTAMP)
    assert verify_v3(SECRET, "POST", encoded, headers(signature=signature), BODY.encode(), now_ms=NOW)


def test_connector_verifies_with_the_app_client_secret(connector):
    connector.client_secret = SECRET
    assert connector.verify_webhook("POST", URI, headers(), BODY.encode()) is False  # 2019: far older than 5 minutes


def test_events_parse_into_webhook_events():
    body = json.dumps(
        [
            {
                "eventId": 7,
                "subscriptionId": 1,
                "portalId": 62515,
                "occurredAt": 1564113600000,
                "subscriptionType": "contact.propertyChange",
                "objectId": 123,
                "propertyName": "firstname",
                "propertyValue": "Ada",
                "changeSource": "CRM_UI",
            },
            {
                "eventId": 8,
                "subscriptionId": 2,
                "portalId": 62515,
                "occurredAt": 1564113600001,
                "subscriptionType": "deal.deletion",
                "objectId": 9,
                "changeSource": "CRM_UI",
            },
            {"eventId": 9, "subscriptionType": "ticket.creation", "objectId": 1},  # not an object type we sync
        ]
    ).encode()
    events = parse_events(body)
    assert [(e.object_type, e.record_id, e.change, e.event_id) for e in events] == [
        ("contacts", "123", "property_change", "7"),
        ("deals", "9", "deleted", "8"),
    ]
    assert events[0].occurred_at.year == 2019 and events[0].payload["propertyName"] == "firstname"
    assert parse_events(b"not json") == []
