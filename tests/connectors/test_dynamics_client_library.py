"""Microsoft's PowerPlatform-Dataverse-Client against the Dynamics emulator served over HTTPS
(the client refuses plain http): create one and many (CreateMultiple), read, update one and many
(UpdateMultiple), query with filters / ordering / paging, delete, and the error cases.

The credential is ours (azure-core's TokenCredential protocol over the emulator's Azure AD token
endpoint): azure-identity would first fetch Microsoft's OpenID discovery documents, which the
emulator does not serve."""

from __future__ import annotations

import ssl
import time
import uuid
from pathlib import Path

import httpx
import pytest
from azure.core.credentials import AccessToken
from PowerPlatform.Dataverse.client import DataverseClient
from PowerPlatform.Dataverse.core.config import DataverseConfig
from PowerPlatform.Dataverse.core.errors import HttpError

from connectors.dynamics.emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT, DynamicsEmulator


class EmulatorCredential:
    """azure-core TokenCredential: client credentials at the emulator's token endpoint."""

    def __init__(self, base_url: str, ca_file: str):
        self.base_url, self.ca_file = base_url, ca_file
        self.calls = 0

    def get_token(self, *scopes: str, **kwargs) -> AccessToken:
        self.calls += 1
        answer = httpx.post(
            f"{self.base_url}/{DEFAULT_TENANT}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": DEFAULT_CLIENT_ID,
                "client_secret": DEFAULT_CLIENT_SECRET,
                "scope": scopes[0],
            },
            verify=ssl.create_default_context(cafile=self.ca_file),
        )
        answer.raise_for_status()
        body = answer.json()
        return AccessToken(body["access_token"], int(time.time()) + int(body["expires_in"]))


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    ca_file = Path(tmp_path_factory.mktemp("dataverse-tls")) / "ca.pem"
    emulator = DynamicsEmulator(limits=False)
    running = emulator.serve(tls=True, ca_file=ca_file)
    yield running, str(ca_file)
    running.stop()


@pytest.fixture(scope="module")
def dataverse(served):
    running, ca_file = served
    # requests (which the client uses) trusts the CA bundle named by REQUESTS_CA_BUNDLE: the
    # emulator's locally generated CA, as --tls --ca-file is meant for.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REQUESTS_CA_BUNDLE", ca_file)
        client = DataverseClient(running.base_url, EmulatorCredential(running.base_url, ca_file), DataverseConfig())
        yield client
        client.close()


@pytest.fixture
def emulator(served) -> DynamicsEmulator:
    return served[0].emulator


def test_create_read_update_and_delete_one_account(dataverse, emulator):
    account_id = dataverse.records.create("account", {"name": "Contoso Ltd", "telephone1": "555-0100"})
    assert emulator.record("accounts", account_id)["name"] == "Contoso Ltd"
    record = dataverse.records.retrieve("account", account_id, select=["name", "telephone1"])
    assert record["name"] == "Contoso Ltd" and record["telephone1"] == "555-0100"
    dataverse.records.update("account", account_id, {"telephone1": "555-0200"})
    assert emulator.record("accounts", account_id)["telephone1"] == "555-0200"
    dataverse.records.delete("account", account_id)
    assert emulator.record("accounts", account_id) is None
    assert dataverse.records.retrieve("account", account_id) is None  # the client's reading of a 404


def test_many_records_go_as_create_multiple_and_update_multiple(dataverse, emulator):
    emulator.reset_counters()
    ids = dataverse.records.create("contact", [{"lastname": f"Bulk {n}", "firstname": "Ann"} for n in range(5)])
    assert len(ids) == 5 and [emulator.record("contacts", i)["lastname"] for i in ids] == [f"Bulk {n}" for n in range(5)]
    dataverse.records.update("contact", ids, {"jobtitle": "Engineer"})
    assert {emulator.record("contacts", i)["jobtitle"] for i in ids} == {"Engineer"}
    bulk_calls = {k: n for k, n in emulator.counters()["calls"].items() if "bulk" in k}
    assert bulk_calls == {"POST bulk": 2}


def test_queries_filter_order_and_page(dataverse, emulator):
    tag = uuid.uuid4().hex[:6]
    for n in range(7):
        emulator.create_record("accounts", {"name": f"Q{tag} {n}", "numberofemployees": n})
    pages = list(
        dataverse.records.list_pages(
            "account",
            select=["name", "numberofemployees"],
            filter=f"startswith(name,'Q{tag}')",
            orderby=["numberofemployees desc"],
            page_size=3,
        )
    )
    assert [len(list(p)) for p in pages] == [3, 3, 1]
    assert [r["numberofemployees"] for p in pages for r in p] == [6, 5, 4, 3, 2, 1, 0]


def test_errors_are_raised_with_dataverse_codes(dataverse):
    with pytest.raises(HttpError) as missing:
        dataverse.records.update("account", str(uuid.uuid4()), {"name": "Nobody"})
    assert missing.value.status_code == 404
    with pytest.raises(HttpError) as invalid:
        dataverse.records.create("account", {"name": "x" * 500})
    assert invalid.value.status_code == 400 and "maximum allowed length" in str(invalid.value)
    with pytest.raises(HttpError) as unknown:
        dataverse.records.create("account", {"no_such_column": 1})
    assert unknown.value.status_code == 400


def test_formatted_values_and_lookups_come_back_when_asked_for(dataverse, emulator):
    account = emulator.create_record("accounts", {"name": "Parent Ltd"})
    contact = dataverse.records.create(
        "contact", {"lastname": "Child", "parentcustomerid_account@odata.bind": f"/accounts({account})"}
    )
    record = dataverse.records.retrieve(
        "contact",
        contact,
        select=["lastname", "statecode", "_parentcustomerid_value"],
        include_annotations="OData.Community.Display.V1.FormattedValue",
    )
    assert record["_parentcustomerid_value"] == account
    assert record["_parentcustomerid_value@OData.Community.Display.V1.FormattedValue"] == "Parent Ltd"
    assert record["statecode@OData.Community.Display.V1.FormattedValue"] == "Active"


def test_list_counts_and_deletes_one_by_one(dataverse, emulator):
    tag = uuid.uuid4().hex[:6]
    ids = [emulator.create_record("accounts", {"name": f"D{tag} {n}"}) for n in range(3)]
    listed = dataverse.records.list("account", filter=f"startswith(name,'D{tag}')", select=["name"], page_size=2)
    assert sorted(r["name"] for r in listed) == [f"D{tag} {n}" for n in range(3)]
    dataverse.records.delete("account", ids, use_bulk_delete=False)
    assert all(emulator.record("accounts", i) is None for i in ids)


def test_upsert_by_primary_key_goes_as_patch_or_upsert_multiple(dataverse, emulator):
    """The client's upsert names a record by key columns; with the primary key (the only key the
    emulator knows: alternate keys are not emulated) one item is a PATCH, several an UpsertMultiple."""
    present = emulator.create_record("accounts", {"name": "Before"})
    missing = uuid.uuid4()
    emulator.reset_counters()
    dataverse.records.upsert(
        "account",
        [
            {"alternate_key": {"accountid": uuid.UUID(present)}, "record": {"name": "After"}},
            {"alternate_key": {"accountid": missing}, "record": {"name": "Made by upsert"}},
        ],
    )
    assert emulator.record("accounts", present)["name"] == "After"
    assert emulator.record("accounts", str(missing))["name"] == "Made by upsert"
    single = uuid.uuid4()
    dataverse.records.upsert("account", [{"alternate_key": {"accountid": single}, "record": {"name": "One"}}])
    assert emulator.record("accounts", str(single))["name"] == "One"
    calls = {k: n for k, n in emulator.counters()["calls"].items() if k.startswith(("POST bulk", "PATCH"))}
    assert calls == {"POST bulk": 1, "PATCH entity": 1}


def test_an_alternate_key_is_refused_with_a_dataverse_error(dataverse):
    with pytest.raises(HttpError) as caught:
        dataverse.records.upsert("account", [{"alternate_key": {"accountnumber": "ACC-1"}, "record": {"name": "Alt"}}])
    assert caught.value.status_code == 400
