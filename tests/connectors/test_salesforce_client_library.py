"""simple-salesforce, the most used Python Salesforce client, against the emulator over HTTPS:
what it sends (paths, headers, bodies, query paging, error handling) is accepted and answered as
Salesforce answers it. The client insists on https, as Salesforce's SDKs do."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceExpiredSession, SalesforceMalformedRequest, SalesforceResourceNotFound

from connectors.salesforce.emulator import SalesforceEmulator

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def org(tmp_path_factory) -> Iterator[tuple[SalesforceEmulator, str, str]]:
    emulator = SalesforceEmulator(limits=False)
    ca_file = tmp_path_factory.mktemp("tls") / "ca.pem"
    running = emulator.serve("127.0.0.1", 0, tls=True, ca_file=ca_file)
    try:
        yield emulator, running.base_url, str(ca_file)
    finally:
        running.stop()


@pytest.fixture
def sf(org) -> Salesforce:
    emulator, base_url, ca_file = org
    session = requests.Session()
    session.verify = ca_file
    session.trust_env = False  # else requests prefers REQUESTS_CA_BUNDLE from the environment over session.verify
    return Salesforce(instance_url=base_url, session_id=emulator.issue_session()["access_token"], session=session, version="59.0")


def test_crud_through_the_client(sf, org):
    emulator = org[0]
    account = sf.Account.create({"Name": "Client Library Inc", "Website": "https://client.example.com"})
    assert account["success"] and account["id"].startswith("001")
    contact = sf.Contact.create({"LastName": "Lovelace", "Email": "ada@client.example.com", "AccountId": account["id"]})
    assert sf.Contact.get(contact["id"])["AccountId"] == account["id"]
    assert sf.Contact.update(contact["id"], {"Title": "Analyst"}) == 204
    assert emulator.record("Contact", contact["id"])["Title"] == "Analyst"
    assert sf.Contact.delete(contact["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.Contact.get(contact["id"])


def test_query_all_follows_next_records_url(sf, org):
    emulator = org[0]
    for n in range(2100):
        emulator.create_record("Lead", {"LastName": f"Paged {n}", "Company": "Paging Co", "Email": f"p{n}@paging.example.com"})
    first = sf.query("SELECT Id, Email FROM Lead WHERE Company = 'Paging Co'")
    assert not first["done"] and len(first["records"]) == 2000
    every = sf.query_all("SELECT Id, Email FROM Lead WHERE Company = 'Paging Co' ORDER BY Email")
    assert every["totalSize"] == 2100 and len(every["records"]) == 2100
    assert sf.api_usage["api-usage"].used >= 3


def test_describe_limits_and_replication_calls(sf):
    described = sf.Opportunity.describe()
    stage = next(f for f in described["fields"] if f["name"] == "StageName")
    assert {"Closed Won", "Prospecting"} <= {p["value"] for p in stage["picklistValues"]}
    assert sf.limits()["DailyApiRequests"]["Max"] > 0
    now = dt.datetime.now(dt.UTC)
    updated = sf.Account.updated(now - dt.timedelta(days=1), now)
    assert "ids" in updated and "latestDateCovered" in updated
    assert "deletedRecords" in sf.Contact.deleted(now - dt.timedelta(days=1), now)


def test_sobject_collections_through_restful(sf):
    body = {"allOrNone": False, "records": [{"attributes": {"type": "Contact"}, "LastName": f"Bulk {n}"} for n in range(3)]}
    answer = sf.restful("composite/sobjects", method="POST", json=body)
    assert [r["success"] for r in answer] == [True, True, True]


def test_errors_raise_the_clients_exceptions(sf, org):
    with pytest.raises(SalesforceMalformedRequest) as malformed:
        sf.query("SELECT Id FROM Contact WHERE")
    assert malformed.value.content[0]["errorCode"] == "MALFORMED_QUERY"
    with pytest.raises(SalesforceMalformedRequest) as missing:
        sf.Lead.create({"LastName": "No Company"})
    assert missing.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    org[0].expire_sessions()
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Contact")
