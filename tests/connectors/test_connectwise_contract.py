"""ConnectWise in the shared connector contract suite, for contacts and for companies, each run
in-process and on a real port."""

from __future__ import annotations

from typing import Any

import httpx

from connectors.connectwise.connector import ConnectWiseConnector
from connectors.connectwise.emulator import DEMO_CLIENT_ID, DEMO_COMPANY, DEMO_PRIVATE_KEY, DEMO_PUBLIC_KEY, ConnectWiseEmulator
from connectors.http import default_retry
from tests.connectors.contract import ConnectorContract, Harness

FAST_RETRY = default_retry(total=8, backoff_factor=0.01, max_backoff_wait=0.05)


def connector_for(base_url: str, transport: Any, private_key: str = DEMO_PRIVATE_KEY) -> ConnectWiseConnector:
    return ConnectWiseConnector(
        base_url=base_url,
        company_id=DEMO_COMPANY,
        public_key=DEMO_PUBLIC_KEY,
        private_key=private_key,
        client_id=DEMO_CLIENT_ID,
        transport=transport,
        retry=FAST_RETRY,
    )


class ConnectWiseHarness(Harness):
    system = "connectwise"
    in_process_base_url = "http://connectwise.invalid"

    def make_emulator(self) -> ConnectWiseEmulator:
        emulator = ConnectWiseEmulator(limits=False)
        self.company_id = emulator.add_company("Contract Co", "ContractCo")["id"]
        return emulator

    def make_connector(self, emulator, base_url, transport):
        return connector_for(base_url, transport)

    def make_bad_credentials_connector(self, emulator, base_url, transport):
        return connector_for(base_url, transport, private_key="not-the-private-key")

    def capture_webhook(self, emulator, connector, record_id):
        """Subscribe through the connector (system/callbacks), edit the record as a user would,
        and return the signed callback ConnectWise posted."""
        received: list[httpx.Request] = []
        emulator.webhooks.transport = httpx.MockTransport(lambda r: received.append(r) or httpx.Response(200))
        connector.register_callbacks("https://syncsmart.example/webhooks/1/other")
        self.edit_record(emulator, record_id, {self.update_field: "Changed For Callback"})
        assert emulator.webhooks.wait_idle(10)
        request = received[-1]
        return request.method, str(request.url), dict(request.headers), request.content


class ConnectWiseContactsHarness(ConnectWiseHarness):
    object_type = "contacts"
    match_field = "email"
    update_field = "firstName"
    enum_field = "type"

    def new_properties(self, n: int) -> dict[str, Any]:
        return {
            "firstName": f"First{n}",
            "lastName": f"Last{n}",
            "email": f"person{n}@contract.example.com",
            "company": str(self.company_id),
            "type": "1",
        }

    def invalid_properties(self) -> dict[str, Any]:
        # An unknown contact type id: ConnectWise refuses the record with its own message.
        return {"firstName": "Bad", "email": "bad@contract.example.com", "company": str(self.company_id), "type": "999"}

    def make_record(self, emulator, properties):
        record = emulator.add_contact(
            properties["firstName"],
            properties.get("lastName", ""),
            company_id=int(properties["company"]),
            email=properties["email"],
        )
        return str(record["id"])

    def edit_record(self, emulator, record_id, properties):
        emulator.edit("contacts", record_id, properties)

    def stored_value(self, emulator, record_id, field_name):
        record = emulator.get("contacts", record_id)
        if record is None:
            return None
        if field_name == "email":
            return next((i["value"] for i in record["communicationItems"] if i["communicationType"] == "Email"), None)
        return record.get(field_name)

    def count_records(self, emulator):
        return emulator.count("contacts")


class ConnectWiseCompaniesHarness(ConnectWiseHarness):
    object_type = "companies"
    match_field = "identifier"
    update_field = "name"
    enum_field = "status"

    def new_properties(self, n: int) -> dict[str, Any]:
        return {"identifier": f"Contract{n}", "name": f"Contract Company {n}", "status": "1", "type": "1"}

    def invalid_properties(self) -> dict[str, Any]:
        return {"identifier": "has spaces no", "name": "Bad Company"}

    def make_record(self, emulator, properties):
        return str(emulator.add_company(properties["name"], properties["identifier"])["id"])

    def edit_record(self, emulator, record_id, properties):
        emulator.edit("companies", record_id, properties)

    def stored_value(self, emulator, record_id, field_name):
        record = emulator.get("companies", record_id)
        return None if record is None else record.get(field_name)

    def count_records(self, emulator):
        return emulator.count("companies")


class TestConnectWiseContactsContract(ConnectorContract):
    harness_class = ConnectWiseContactsHarness


class TestConnectWiseCompaniesContract(ConnectorContract):
    harness_class = ConnectWiseCompaniesHarness
