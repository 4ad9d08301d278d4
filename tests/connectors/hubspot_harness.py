"""How the contract suite drives HubSpot: the emulator, a connector against it, direct edits."""

from __future__ import annotations

from typing import Any

import httpx
from httpx_retries import Retry

from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.emulator import DEFAULT_TOKEN, HubSpotEmulator
from tests.connectors.contract import Harness


def fast_retry(total: int = 6) -> Retry:
    """Backoff short enough for tests; the shape (exponential, jitter, Retry-After) is the product's."""
    return Retry(
        total=total,
        backoff_factor=0.01,
        backoff_jitter=0.5,
        max_backoff_wait=0.2,
        respect_retry_after_header=True,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=["HEAD", "GET", "PUT", "DELETE", "OPTIONS", "PATCH", "POST"],
    )


class HubSpotHarness(Harness):
    system = "hubspot"
    object_type = "contacts"
    match_field = "email"
    update_field = "firstname"
    enum_field = "lifecyclestage"
    in_process_base_url = "https://api.hubapi.test"
    max_calls_for_100_lookups = 2  # batch read by email + the company association read

    def make_emulator(self) -> HubSpotEmulator:
        emulator = HubSpotEmulator(limits=False)
        emulator.add_owner("sam.rivera@example.com", "Sam", "Rivera")
        return emulator

    def make_connector(self, emulator, base_url: str, transport: Any | None) -> HubSpotConnector:
        return HubSpotConnector(
            base_url, token=DEFAULT_TOKEN, transport=transport, retry=fast_retry(), client_secret=emulator.client_secret
        )

    def make_bad_credentials_connector(self, emulator, base_url: str, transport: Any | None) -> HubSpotConnector:
        return HubSpotConnector(base_url, token="pat-na1-wrong", transport=transport, retry=fast_retry())

    def new_properties(self, n: int) -> dict[str, Any]:
        return {
            "email": f"person{n}@contract.example.com",
            "firstname": f"Person{n}",
            "lastname": "Contract",
            "lifecyclestage": "lead",
        }

    def invalid_properties(self) -> dict[str, Any]:
        return {"email": "invalid-option@contract.example.com", "lifecyclestage": "not-a-stage"}

    def make_record(self, emulator: HubSpotEmulator, properties: dict[str, Any]) -> str:
        return emulator.create_record("contacts", properties)

    def edit_record(self, emulator: HubSpotEmulator, record_id: str, properties: dict[str, Any]) -> None:
        emulator.advance_clock(5)  # a user's edit happens a moment later
        emulator.edit_record("contacts", record_id, properties)

    def stored_value(self, emulator: HubSpotEmulator, record_id: str, field_name: str) -> Any:
        return (emulator.get_record("contacts", record_id) or {}).get(field_name)

    def count_records(self, emulator: HubSpotEmulator) -> int:
        return emulator.count("contacts")

    def capture_webhook(self, emulator: HubSpotEmulator, connector, record_id: str):
        received: list[httpx.Request] = []
        emulator.webhooks.transport = httpx.MockTransport(lambda request: received.append(request) or httpx.Response(204))
        url = "https://sync.example.com/webhooks/hubspot/contract"
        emulator.subscribe(url, emulator.client_secret)
        emulator.edit_record("contacts", record_id, {"jobtitle": "Webhook Tester"})
        assert emulator.webhooks.wait_idle(5)
        request = received[-1]
        return request.method, url, dict(request.headers), request.content
