"""A widely used Python NetSuite client, the `netsuite` package (REST + SuiteQL with Token-Based
Authentication, signed by authlib), talks to the emulator unchanged: only its documented `url`
keyword points each call at the emulator's port instead of NetSuite's host (with TLS and the
emulator's CA, as a customer's script would be configured)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from netsuite import Config, NetSuite, TokenAuth
from netsuite.exceptions import NetsuiteAPIRequestError

from connectors.netsuite.emulator import (
    DEMO_ACCOUNT,
    DEMO_CONSUMER_KEY,
    DEMO_CONSUMER_SECRET,
    DEMO_TOKEN_ID,
    DEMO_TOKEN_SECRET,
    NetSuiteEmulator,
)


def run_coroutine(coroutine):
    """asyncio.run on a thread of its own: a Playwright test that ran earlier in the same xdist
    worker leaves an event loop marked running on the main thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@pytest.fixture
def served(tmp_path, monkeypatch):
    emulator = NetSuiteEmulator(limits=False)
    emulator.add_customer("Library Co", email="ap@library.example.com")
    ca = tmp_path / "ca.pem"
    running = emulator.serve("127.0.0.1", 0, tls=True, ca_file=ca)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))  # how a customer trusts a private CA with httpx
    yield emulator, running.base_url
    running.stop()


def client(token_secret: str = DEMO_TOKEN_SECRET) -> NetSuite:
    auth = TokenAuth(
        consumer_key=DEMO_CONSUMER_KEY, consumer_secret=DEMO_CONSUMER_SECRET, token_id=DEMO_TOKEN_ID, token_secret=token_secret
    )
    return NetSuite(Config(account=DEMO_ACCOUNT, auth=auth))


def test_the_client_reads_records_and_runs_suiteql_with_tba(served):
    emulator, base = served
    api = client().rest_api

    async def scenario():
        listed = await api.get("/record/v1/customer", url=f"{base}/services/rest/record/v1/customer?limit=5")
        customer = await api.get("", url=listed["items"][0]["links"][0]["href"])
        rows = await api.suiteql(
            "SELECT id, companyname, email FROM customer WHERE LOWER(email) = 'ap@library.example.com'",
            url=f"{base}/services/rest/query/v1/suiteql",
        )
        return listed, customer, rows

    listed, customer, rows = run_coroutine(scenario())
    assert listed["totalResults"] == 1 and listed["hasMore"] is False
    assert customer["companyName"] == "Library Co"
    assert rows["items"][0]["companyname"] == "Library Co" and rows["count"] == 1


def test_the_client_creates_and_updates_records(served):
    emulator, base = served
    api = client().rest_api

    async def scenario():
        await api.post(
            "", url=f"{base}/services/rest/record/v1/customer", json={"companyName": "Made By Lib", "subsidiary": {"id": "1"}}
        )
        await api.put(
            "",
            url=f"{base}/services/rest/record/v1/customer/eid:LIB-1",
            json={"companyName": "Upserted", "subsidiary": {"id": "1"}},
        )
        made = next(r for r in emulator.all("customer") if r.get("companyName") == "Made By Lib")
        await api.patch("", url=f"{base}/services/rest/record/v1/customer/{made['id']}", json={"phone": "+1 555 0100"})
        return made

    made = run_coroutine(scenario())
    assert emulator.get("customer", made["id"])["phone"] == "+1 555 0100"
    assert any(r.get("externalId") == "LIB-1" for r in emulator.all("customer"))


def test_the_client_sees_netsuite_errors_for_a_wrong_token_secret(served):
    _, base = served
    api = client(token_secret="0" * 64).rest_api
    with pytest.raises(NetsuiteAPIRequestError) as caught:
        run_coroutine(api.get("", url=f"{base}/services/rest/record/v1/customer"))
    assert caught.value.status_code == 401
    assert "INVALID_LOGIN" in caught.value.response_text
