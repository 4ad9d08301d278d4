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


def test_the_client_pages_suiteql_deletes_and_reads_the_deleted_record_feed(served):
    emulator, base = served
    for n in range(4):
        emulator.add_customer(f"Paged {n}", email=f"paged{n}@library.example.com")
    api = client().rest_api
    suiteql = f"{base}/services/rest/query/v1/suiteql"
    query = "SELECT id, companyname FROM customer WHERE companyname LIKE 'Paged%' ORDER BY id"

    async def scenario():
        first = await api.suiteql(query, limit=3, offset=0, url=suiteql)
        second = await api.suiteql(query, limit=3, offset=3, url=suiteql)
        gone = first["items"][0]["id"]
        await api.delete("", url=f"{base}/services/rest/record/v1/customer/{gone}")
        deleted = await api.suiteql(
            f"SELECT recordid, type FROM DeletedRecord WHERE type = 'customer' AND recordid = {gone}", url=suiteql
        )
        return first, second, gone, deleted

    first, second, gone, deleted = run_coroutine(scenario())
    assert first["hasMore"] is True and first["totalResults"] == 4 and len(first["items"]) == 3
    assert second["hasMore"] is False and len(second["items"]) == 1
    assert {row["id"] for row in first["items"]}.isdisjoint(row["id"] for row in second["items"])
    assert emulator.get("customer", gone) is None
    assert [(row["recordid"], row["type"]) for row in deleted["items"]] == [(gone, "customer")]


def test_the_client_reads_the_metadata_catalog_as_json_schema_and_openapi(served):
    _, base = served
    api = client().rest_api
    catalog = f"{base}/services/rest/record/v1/metadata-catalog"

    async def scenario():
        schema = await api.jsonschema("customer", url=f"{catalog}/customer")
        spec = await api.openapi(["customer"], url=catalog)
        return schema, spec

    schema, spec = run_coroutine(scenario())
    assert schema["type"] == "object" and "companyName" in schema["properties"]
    assert spec["openapi"].startswith("3.") and any("customer" in path for path in spec["paths"])


@pytest.mark.parametrize(
    "method, path, body, status, code",
    [
        ("GET", "/services/rest/record/v1/customer/999999", None, 404, "NONEXISTENT_ID"),
        ("POST", "/services/rest/record/v1/customer", {"companyName": "X", "nonsense": 1}, 400, "INVALID_PARAMETER"),
        ("POST", "/services/rest/query/v1/suiteql", {"q": "SELECT FROM"}, 400, "INVALID_PARAMETER"),
    ],
)
def test_the_client_sees_netsuite_errors_for_bad_requests(served, method, path, body, status, code):
    _, base = served
    api = client().rest_api
    call = (
        api.get("", url=base + path)
        if method == "GET"
        else api.post("", url=base + path, json=body, headers={"Prefer": "transient"})
    )
    with pytest.raises(NetsuiteAPIRequestError) as caught:
        run_coroutine(call)
    assert caught.value.status_code == status
    assert code in caught.value.response_text
