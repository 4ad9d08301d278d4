"""Removing records in each system (archive / deactivate / delete) and confirming removals with a
complete answer: a failing read raises instead of reporting deletions."""

from __future__ import annotations

import pytest

from connectors.base import ConnectorError
from connectors.connectwise.connector import ConnectWiseConnector
from connectors.connectwise.emulator import DEMO_CLIENT_ID, DEMO_COMPANY, DEMO_PRIVATE_KEY, DEMO_PUBLIC_KEY, ConnectWiseEmulator
from connectors.dynamics.connector import DynamicsConnector
from connectors.dynamics.emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT, DynamicsEmulator
from connectors.http import default_retry
from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.emulator import DEFAULT_TOKEN, HubSpotEmulator
from connectors.lifecycle import lifecycle_for


def no_retry():
    return default_retry(total=0)


def test_hubspot_archive_and_the_archived_list_tell_deleted_from_merged_away():
    hub = HubSpotEmulator(limits=False)
    connector = HubSpotConnector("https://api.hubapi.test", token=DEFAULT_TOKEN, transport=hub.transport(), retry=no_retry())
    ids = [hub.create_record("contacts", {"email": f"c{n}@example.com"}) for n in range(4)]
    life = lifecycle_for(connector)
    assert all(r.ok for r in life.archive("contacts", ids[:2]))
    hub.lifecycle.merge_records("contacts", ids[2], ids[3])
    assert hub.count("contacts") == 1
    assert life.gone("contacts", ids) == set(ids[:2])  # the merged-away id is not a deletion
    hub.set_knobs(faults={"500": 1.0})
    with pytest.raises(ConnectorError):
        life.gone("contacts", ids)


@pytest.fixture
def connectwise():
    emulator = ConnectWiseEmulator(limits=False)
    connector = ConnectWiseConnector(
        base_url="http://cw.test",
        company_id=DEMO_COMPANY,
        public_key=DEMO_PUBLIC_KEY,
        private_key=DEMO_PRIVATE_KEY,
        client_id=DEMO_CLIENT_ID,
        transport=emulator.transport(),
        retry=no_retry(),
    )
    yield emulator, connector
    connector.close()


def test_connectwise_deactivates_contacts_and_companies_and_deletes(connectwise):
    emulator, connector = connectwise
    company = emulator.add_company("Acme", "Acme1")
    contact = emulator.add_contact("Ann", "Lee", company_id=company["id"], email="ann@acme.example")
    other = emulator.add_company("Globex", "Globex1")
    life = lifecycle_for(connector)
    assert all(r.ok for r in life.archive("contacts", [str(contact["id"])]))
    assert emulator.store["contacts"][contact["id"]]["inactiveFlag"] is True
    assert all(r.ok for r in life.archive("companies", [str(company["id"])]))
    assert emulator.store["companies"][company["id"]]["status"]["name"] == "Inactive"
    assert all(r.ok for r in life.delete("companies", [str(other["id"]), str(other["id"])]))  # twice: already gone is done
    assert life.gone("companies", [str(company["id"]), str(other["id"])]) == {str(other["id"])}
    emulator.set_knobs(faults={"503": 1.0})
    with pytest.raises(ConnectorError):
        life.gone("companies", [str(company["id"])])


def test_dynamics_deactivates_accounts_deletes_and_confirms_removals():
    emulator = DynamicsEmulator(limits=False)
    base = "http://dynamics.invalid"
    connector = DynamicsConnector(
        base,
        DEFAULT_TENANT,
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        token_url_base=base,
        transport=emulator.transport(),
        retry=no_retry(),
    )
    kept, dropped = emulator.create_record("accounts", {"name": "Kept"}), emulator.create_record("accounts", {"name": "Dropped"})
    life = lifecycle_for(connector)
    assert all(r.ok for r in life.archive("accounts", [kept]))
    assert emulator.record("accounts", kept)["statecode"] == 1
    assert all(r.ok for r in life.delete("accounts", [dropped, dropped]))
    assert life.gone("accounts", [kept, dropped]) == {dropped}
    assert not life.can_archive("leads")
    emulator.set_knobs(faults={"503": 1.0})
    with pytest.raises(ConnectorError):
        life.gone("accounts", [kept])
    connector.close()
