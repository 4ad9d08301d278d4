"""Dynamics 365 plugged into the shared connector contract suite (in-process and on a real port),
plus the same connector over HTTPS against the emulator's locally generated certificate."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.dynamics.connector import DynamicsConnector
from connectors.dynamics.emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT, DynamicsEmulator
from connectors.http import default_retry
from tests.connectors.contract import ConnectorContract, Harness


class DynamicsHarness(Harness):
    system = "dynamics"
    object_type = "contacts"
    match_field = "emailaddress1"
    update_field = "jobtitle"
    enum_field = "preferredcontactmethodcode"

    def make_emulator(self) -> DynamicsEmulator:
        return DynamicsEmulator(limits=False)

    def _connector(self, base_url: str, transport: Any, secret: str) -> DynamicsConnector:
        return DynamicsConnector(
            base_url, DEFAULT_TENANT, DEFAULT_CLIENT_ID, secret, token_url_base=base_url, transport=transport
        )

    def make_connector(self, emulator, base_url, transport) -> DynamicsConnector:
        connector = self._connector(base_url, transport, DEFAULT_CLIENT_SECRET)
        # As a sync run does once: get the token and the table's column metadata, so call
        # counts below measure the operation under test, not the connector's warm-up.
        connector.auth.access_token()
        connector._schema(self.object_type)
        return connector

    def make_bad_credentials_connector(self, emulator, base_url, transport) -> DynamicsConnector:
        return self._connector(base_url, transport, "not-the-secret")

    def new_properties(self, n: int) -> dict[str, Any]:
        return {
            "firstname": f"Test{n}",
            "lastname": f"Person {n}",
            "emailaddress1": f"person{n}@example.com",
            "jobtitle": "Engineer",
        }

    def invalid_properties(self) -> dict[str, Any]:
        return {"lastname": "Invalid", "emailaddress1": "invalid@example.com", "preferredcontactmethodcode": "99"}

    def make_record(self, emulator: DynamicsEmulator, properties: dict[str, Any]) -> str:
        return emulator.create_record("contacts", properties)

    def edit_record(self, emulator: DynamicsEmulator, record_id: str, properties: dict[str, Any]) -> None:
        emulator.edit_record("contacts", record_id, properties)

    def stored_value(self, emulator: DynamicsEmulator, record_id: str, field_name: str) -> Any:
        row = emulator.record("contacts", record_id) or {}
        value = row.get(field_name)
        return value[1] if isinstance(value, tuple) else value

    def count_records(self, emulator: DynamicsEmulator) -> int:
        return emulator.count("contacts")


class TestDynamicsContract(ConnectorContract):
    harness_class = DynamicsHarness


@pytest.mark.slow
def test_connector_reads_and_writes_over_https_trusting_the_emulator_ca(tmp_path):
    emulator = DynamicsEmulator(limits=False)
    ca_file = tmp_path / "ca.pem"
    running = emulator.serve("127.0.0.1", 0, tls=True, ca_file=ca_file)
    try:
        assert running.base_url.startswith("https://")
        connector = DynamicsConnector(
            running.base_url,
            DEFAULT_TENANT,
            DEFAULT_CLIENT_ID,
            DEFAULT_CLIENT_SECRET,
            token_url_base=running.base_url,
            verify=str(ca_file),
        )
        try:
            assert connector.test_connection().ok
            emulator.create_record("contacts", {"lastname": "Secure", "emailaddress1": "secure@example.com"})
            found = connector.find_by("contacts", "emailaddress1", ["SECURE@example.com"])
            assert len(found["secure@example.com"]) == 1
        finally:
            connector.close()
    finally:
        running.stop()


@pytest.mark.slow
def test_connector_refuses_the_emulator_certificate_without_its_ca():
    emulator = DynamicsEmulator(limits=False)
    running = emulator.serve("127.0.0.1", 0, tls=True)
    try:
        connector = DynamicsConnector(
            running.base_url,
            DEFAULT_TENANT,
            DEFAULT_CLIENT_ID,
            DEFAULT_CLIENT_SECRET,
            token_url_base=running.base_url,
            retry=default_retry(total=0),
        )
        try:
            result = connector.test_connection()
        finally:
            connector.close()
        assert not result.ok
        assert "Could not reach" in result.message
    finally:
        running.stop()
