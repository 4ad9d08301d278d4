"""NetSuite in the shared connector contract suite, for contacts and for customers (companies),
each run in-process and on a real port, signed with Token-Based Authentication."""

from __future__ import annotations

from typing import Any

import httpx

from connectors.netsuite.emulator import NetSuiteEmulator
from tests.connectors.contract import ConnectorContract, Harness
from tests.connectors.netsuite_harness import WEBHOOK_SECRET, netsuite_connector


class NetSuiteHarness(Harness):
    system = "netsuite"
    in_process_base_url = "https://1234567-sb1.suitetalk.api.netsuite.test"
    max_calls_for_100_lookups = 1
    record_type = ""

    def make_emulator(self) -> NetSuiteEmulator:
        emulator = NetSuiteEmulator(limits=False)
        self.company_id = emulator.add_customer("Contract Co")["id"]
        return emulator

    def make_connector(self, emulator, base_url, transport):
        return netsuite_connector(base_url, transport)

    def make_bad_credentials_connector(self, emulator, base_url, transport):
        return netsuite_connector(base_url, transport, token_secret="f" * 64)

    def edit_record(self, emulator, record_id, properties):
        emulator.edit(self.record_type, record_id, properties)

    def stored_value(self, emulator, record_id, field_name):
        record = emulator.get(self.record_type, record_id)
        return None if record is None else record.get(field_name)

    def count_records(self, emulator):
        return emulator.count(self.record_type)

    def capture_webhook(self, emulator, connector, record_id):
        """Deploy the user-event script, edit the record as a NetSuite user would, and return the
        signed notification the script posted."""
        received: list[httpx.Request] = []
        emulator.webhooks.transport = httpx.MockTransport(lambda r: received.append(r) or httpx.Response(200))
        emulator.deploy_script("https://syncsmart.example/webhooks/1/other", WEBHOOK_SECRET)
        self.edit_record(emulator, record_id, {self.update_field: "Changed For Script"})
        assert emulator.webhooks.wait_idle(10)
        request = received[-1]
        return request.method, str(request.url), dict(request.headers), request.content


class NetSuiteContactsHarness(NetSuiteHarness):
    object_type = "contacts"
    record_type = "contact"
    match_field = "email"
    update_field = "firstName"
    enum_field = "subsidiary"

    def new_properties(self, n: int) -> dict[str, Any]:
        return {
            "firstName": f"First{n}",
            "lastName": f"Last{n}",
            "email": f"person{n}@contract.example.com",
            "company": str(self.company_id),
        }

    def invalid_properties(self) -> dict[str, Any]:
        return {"firstName": "Bad", "lastName": "Mail", "email": "not-an-e-mail"}

    def make_record(self, emulator, properties):
        record = emulator.add_contact(
            properties["firstName"], properties.get("lastName", ""), properties["email"], int(properties["company"])
        )
        return str(record["id"])


class NetSuiteCustomersHarness(NetSuiteHarness):
    object_type = "customers"
    record_type = "customer"
    match_field = "email"
    update_field = "companyName"
    enum_field = "entityStatus"

    def new_properties(self, n: int) -> dict[str, Any]:
        return {"companyName": f"Contract Company {n}", "email": f"billing{n}@company{n}.example.com", "entityStatus": "13"}

    def invalid_properties(self) -> dict[str, Any]:
        return {"companyName": "Bad Status Inc", "email": "bad@status.example.com", "entityStatus": "999"}

    def make_record(self, emulator, properties):
        return str(emulator.add_customer(properties["companyName"], email=properties["email"])["id"])


class TestNetSuiteContactsContract(ConnectorContract):
    harness_class = NetSuiteContactsHarness


class TestNetSuiteCustomersContract(ConnectorContract):
    harness_class = NetSuiteCustomersHarness
