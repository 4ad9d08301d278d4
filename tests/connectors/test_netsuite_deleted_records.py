"""NetSuite deletions: the emulator's SuiteQL DeletedRecord table gets a row per DELETE, and the
connector's lifecycle reads it as the deletion feed — an id is gone only when DeletedRecord names
it under its record type, and a failed read raises instead of reporting anything."""

from __future__ import annotations

import httpx
import pytest

from connectors.base import ConnectorError
from connectors.lifecycle import lifecycle_for
from connectors.netsuite.emulator import NetSuiteEmulator
from connectors.netsuite.lifecycle import NetSuiteLifecycle
from tests.connectors.netsuite_harness import netsuite_connector, tba

BASE = "https://1234567-sb1.suitetalk.api.netsuite.test"


@pytest.fixture
def emulator() -> NetSuiteEmulator:
    return NetSuiteEmulator(limits=False)


@pytest.fixture
def connector(emulator):
    connector = netsuite_connector(BASE, emulator.transport())
    yield connector
    connector.close()


def suiteql(emulator: NetSuiteEmulator, q: str) -> list[dict]:
    with httpx.Client(transport=emulator.transport(), base_url=BASE, auth=tba()) as http:
        response = http.post("/services/rest/query/v1/suiteql", json={"q": q}, headers={"Prefer": "transient"})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_a_rest_delete_adds_a_deletedrecord_row_with_type_id_date_and_name(emulator):
    customer = emulator.add_customer("Gone Corp")
    kept = emulator.add_customer("Kept Corp")
    with httpx.Client(transport=emulator.transport(), base_url=BASE, auth=tba()) as http:
        assert http.delete(f"/services/rest/record/v1/customer/{customer['id']}").status_code == 204
    rows = suiteql(
        emulator,
        "SELECT recordid, type, name, TO_CHAR(deleteddate, 'YYYY-MM-DD') AS day FROM DeletedRecord WHERE type = 'customer'",
    )
    assert [(r["recordid"], r["type"], r["name"]) for r in rows] == [(str(customer["id"]), "customer", "Gone Corp")]
    assert len(rows[0]["day"]) == 10
    assert str(kept["id"]) not in {r["recordid"] for r in suiteql(emulator, "SELECT recordid FROM DeletedRecord")}


def test_gone_names_only_ids_deletedrecord_lists_under_that_record_type(connector, emulator):
    customer = emulator.add_customer("Gone Corp")
    contact = emulator.add_contact("Al", "Gone", "al@gone.example.com", customer["id"])
    live = emulator.add_customer("Live Corp")
    emulator.delete("contact", contact["id"])
    lifecycle = lifecycle_for(connector)
    assert isinstance(lifecycle, NetSuiteLifecycle)
    # a contact id under "customers" is not a deleted customer; an id NetSuite never had is not a deletion
    assert lifecycle.gone("customers", [str(contact["id"]), str(live["id"]), "999999"]) == set()
    assert lifecycle.gone("contacts", [str(contact["id"]), "not-an-id"]) == {str(contact["id"])}


def test_a_failed_deletedrecord_read_raises_and_reports_no_deletion(connector, emulator):
    customer = emulator.add_customer("Gone Corp")
    emulator.delete("customer", customer["id"])
    emulator.set_knobs(faults={"500": 1.0})
    with pytest.raises(ConnectorError):
        lifecycle_for(connector).gone("customers", [str(customer["id"])])


def test_archive_makes_a_customer_inactive_and_delete_removes_it_even_when_already_gone(connector, emulator):
    kept, doomed = emulator.add_customer("Kept Corp"), emulator.add_customer("Doomed Corp")
    lifecycle = lifecycle_for(connector)
    assert all(r.ok for r in lifecycle.archive("customers", [str(kept["id"])]))
    assert emulator.get("customer", kept["id"])["isInactive"] is True
    assert all(r.ok for r in lifecycle.delete("customers", [str(doomed["id"])]))
    assert emulator.get("customer", doomed["id"]) is None
    assert all(r.ok for r in lifecycle.delete("customers", [str(doomed["id"])]))  # 404: already done
    with pytest.raises(ConnectorError):
        lifecycle.archive("opportunities", ["1"])  # no inactive state: delete only
