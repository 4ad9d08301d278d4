"""How the contract suite drives Salesforce: the emulator, a connector against it, direct edits."""

from __future__ import annotations

from typing import Any

from connectors.salesforce.connector import SalesforceConnector
from connectors.salesforce.emulator import DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET, SalesforceEmulator
from tests.connectors.contract import Harness
from tests.connectors.hubspot_harness import fast_retry
from tests.factories import NoLimit

IN_PROCESS_BASE = "https://org.salesforce.emulator.invalid"


def salesforce_connector(emulator: SalesforceEmulator, base_url: str, transport: Any, **kwargs: Any) -> SalesforceConnector:
    """A connector with a fresh session (access + refresh token) of the emulator's integration user."""
    session = emulator.issue_session()
    options = {
        "client_id": DEFAULT_CONSUMER_KEY,
        "client_secret": DEFAULT_CONSUMER_SECRET,
        "access_token": session["access_token"],
        "refresh_token": session["refresh_token"],
        "login_url": base_url,
        "transport": transport,
        "retry": fast_retry(),
        "limiter": NoLimit(),
    } | kwargs
    return SalesforceConnector(base_url, **options)


class SalesforceHarness(Harness):
    system = "salesforce"
    object_type = "Contact"
    match_field = "Email"
    update_field = "Title"
    enum_field = "LeadSource"
    in_process_base_url = IN_PROCESS_BASE
    max_calls_for_100_lookups = 1

    def make_emulator(self) -> SalesforceEmulator:
        return SalesforceEmulator(limits=False)

    def make_connector(self, emulator, base_url, transport) -> SalesforceConnector:
        connector = salesforce_connector(emulator, base_url, transport)
        connector.describe(self.object_type)  # as a run does once: the field list, so call counts measure the operation
        return connector

    def make_bad_credentials_connector(self, emulator, base_url, transport) -> SalesforceConnector:
        return salesforce_connector(emulator, base_url, transport, access_token="00Dbogus!AQ", refresh_token="bogus-refresh")

    def new_properties(self, n: int) -> dict[str, Any]:
        return {"FirstName": f"Test{n}", "LastName": f"Person {n}", "Email": f"person{n}@example.com", "Title": "Engineer"}

    def invalid_properties(self) -> dict[str, Any]:
        return {"LastName": "Invalid", "Email": "not an e-mail"}

    def make_record(self, emulator: SalesforceEmulator, properties: dict[str, Any]) -> str:
        return emulator.create_record("Contact", properties)

    def edit_record(self, emulator: SalesforceEmulator, record_id: str, properties: dict[str, Any]) -> None:
        emulator.edit_record("Contact", record_id, properties)

    def stored_value(self, emulator: SalesforceEmulator, record_id: str, field_name: str) -> Any:
        return (emulator.record("Contact", record_id) or {}).get(field_name)

    def count_records(self, emulator: SalesforceEmulator) -> int:
        return emulator.count("Contact")
