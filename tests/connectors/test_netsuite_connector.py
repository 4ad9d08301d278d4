"""The NetSuite connector's own promises beyond the contract suite: a same-second change feed
continued by id, idle polls that re-deliver nothing, look-ups by domain, list options by label,
idempotent creates, individuals vs companies, subsidiaries, OAuth 2.0, the script's signatures."""

from __future__ import annotations

import datetime as dt
import json
import time
from types import SimpleNamespace

import pytest

from connectors.base import ConnectorError, ErrorKind, FieldType, WriteInput
from connectors.netsuite import webhooks as script
from connectors.netsuite.connector import NetSuiteConnector, external_id_for
from connectors.netsuite.emulator import (
    DEMO_ACCOUNT,
    DEMO_CONSUMER_KEY,
    DEMO_CONSUMER_SECRET,
    DEMO_REDIRECT_URI,
    NetSuiteEmulator,
)
from connectors.netsuite.oauth import exchange_code
from tests.connectors.netsuite_harness import FAST_RETRY, WEBHOOK_SECRET, netsuite_connector
from tests.factories import NoLimit

BASE = "https://1234567-sb1.suitetalk.api.netsuite.test"


@pytest.fixture
def emulator() -> NetSuiteEmulator:
    return NetSuiteEmulator(limits=False)


@pytest.fixture
def connector(emulator):
    connector = netsuite_connector(BASE, emulator.transport())
    yield connector
    connector.close()


def read_all(connector, object_type, cursor=None, page_size=None):
    records = []
    for _ in range(100):
        page = connector.read_changes(object_type, cursor, page_size)
        records += page.records
        cursor = json.loads(json.dumps(page.cursor))
        if not page.has_more:
            return records, cursor
    raise AssertionError("never ended")


def test_records_stamped_in_the_same_second_are_paged_by_id_and_none_is_skipped(connector, emulator):
    stamp = dt.datetime(2026, 12, 1, 9, 0, 0, tzinfo=dt.UTC)
    ids = []
    for n in range(7):
        record = emulator.add_customer(f"Same Second {n}")
        record["lastModifiedDate"] = stamp
        ids.append(str(record["id"]))
    records, _ = read_all(connector, "customers", page_size=2)
    assert [r.id for r in records] == ids  # (lastmodifieddate, id) order, each once


def test_an_idle_poll_re_delivers_nothing_but_an_edit_in_the_overlap_is_delivered(connector, emulator):
    first = emulator.add_customer("Idle One")
    _, cursor = read_all(connector, "customers")
    again, cursor = read_all(connector, "customers", cursor)
    assert again == []
    emulator.edit("customer", first["id"], {"phone": "+44 1"})
    changed, _ = read_all(connector, "customers", cursor)
    assert [r.id for r in changed] == [str(first["id"])] and changed[0].properties["phone"] == "+44 1"


def test_companies_are_found_by_their_web_domain_in_one_query(connector, emulator):
    emulator.add_customer("Acme", url="https://www.acme.example.com/about")
    emulator.add_customer("Acme Labs", url="https://labs.acme.example.com")
    before = emulator.calls()
    found = connector.find_by("customers", "url", ["acme.example.com", "none.example.com"])
    assert [r.properties["companyName"] for r in found["acme.example.com"]] == ["Acme"]
    assert found["none.example.com"] == [] and emulator.calls() - before == 1


def test_list_fields_are_dropdowns_with_labels_and_references_name_their_object(connector):
    fields = {f.name: f for f in connector.discover_fields("opportunities")}
    status = fields["entityStatus"]
    assert status.type == FieldType.ENUM and status.option_by_value("13").label == "Closed Won"
    assert fields["entity"].type == FieldType.REFERENCE and fields["entity"].reference_to == "customers"
    assert fields["salesRep"].type == FieldType.OWNER and fields["expectedCloseDate"].type == FieldType.DATE
    subsidiary = {f.name: f for f in connector.discover_fields("customers")}["subsidiary"]
    assert [o.label for o in subsidiary.options] == ["Parent Company", "SyncSmart UK"] and subsidiary.required


def test_a_create_retried_with_the_same_ref_finds_the_record_it_made(connector, emulator):
    inputs = [WriteInput({"companyName": "Once Only"}, ref="hub-77")]
    first = connector.create("customers", inputs)[0]
    second = connector.create("customers", inputs)[0]
    assert first.ok and second.ok and first.id == second.id
    stored = emulator.get("customer", first.id)
    assert emulator.count("customer") == 1 and stored["externalId"] == external_id_for("customers", "hub-77")
    assert stored["subsidiary"] == 1 and stored["isPerson"] is False  # the default subsidiary; a company


def test_a_customer_with_only_a_name_is_an_individual_and_reads_back_as_one(connector, emulator):
    result = connector.create(
        "customers", [WriteInput({"firstName": "Ida", "lastName": "Lone", "email": "ida@x.org"}, ref="c1")]
    )[0]
    assert emulator.get("customer", result.id)["isPerson"] is True
    [record] = connector.read_by_ids("customers", [result.id])
    assert record.properties["isPerson"] is True and record.properties["companyName"] is None


def test_an_opportunity_needs_its_customer_first(connector):
    [result] = connector.create("opportunities", [WriteInput({"title": "Orphan"}, ref="d1")])
    assert not result.ok and result.error.kind == ErrorKind.VALIDATION and result.error.fields == ["entity"]


def test_without_a_subsidiary_netsuite_refuses_with_its_own_words(emulator):
    connector = netsuite_connector(BASE, emulator.transport())
    connector.default_subsidiary = ""
    [result] = connector.create("customers", [WriteInput({"companyName": "No Sub"}, ref="x")])
    assert not result.ok and "Subsidiary" in result.error.message and not result.error.retryable


def test_employees_are_read_only_and_found_by_e_mail(connector, emulator):
    emulator.add_employee("Rep@Example.com", "Rita", "Rep")
    found = connector.find_by("employees", "email", ["rep@example.com"])
    assert found["rep@example.com"][0].properties["firstName"] == "Rita"
    with pytest.raises(ConnectorError, match="read-only"):
        connector.create("employees", [WriteInput({"firstName": "No"})])


def test_oauth2_connection_refreshes_its_access_token_and_stores_it(emulator):
    transport = emulator.transport()
    config = {"account_id": DEMO_ACCOUNT, "base_url": BASE, "client_id": DEMO_CONSUMER_KEY, "default_subsidiary": "1"}
    # The browser step (authorize.nl -> redirect with a code) is covered by the emulator tests.
    code = "direct-code"
    emulator._codes[code] = (DEMO_REDIRECT_URI, time.time() + 60)
    tokens = exchange_code(config, DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET, code, DEMO_REDIRECT_URI, transport=transport)
    stored: list[dict] = []
    connection = SimpleNamespace(
        config=config,
        credentials={"refresh_token": tokens["refresh_token"], "client_secret": DEMO_CONSUMER_SECRET, "access_token": "stale"},
    )
    connector = NetSuiteConnector.from_connection(
        connection, transport=transport, limiter=NoLimit(), retry=FAST_RETRY, on_tokens=lambda body: stored.append(dict(body))
    )
    emulator.add_customer("OAuth Co")
    records, _ = read_all(connector, "customers")
    assert [r.properties["companyName"] for r in records] == ["OAuth Co"]
    assert stored and stored[0]["access_token"] != "stale"


def test_script_notifications_verify_before_parsing_and_map_record_types(connector):
    body = json.dumps({"type": "opportunity", "id": "55", "event": "delete", "occurredAt": "2026-12-07T10:00:00.000Z"}).encode()
    headers = script.sign(WEBHOOK_SECRET, body, int(time.time()))
    assert connector.verify_webhook("POST", "https://x/webhooks/1/other", headers, body)
    assert not connector.verify_webhook("POST", "https://x", headers, body.replace(b"55", b"56"))
    assert not connector.verify_webhook("POST", "https://x", script.sign("wrong", body, int(time.time())), body)
    assert not connector.verify_webhook("POST", "https://x", script.sign(WEBHOOK_SECRET, body, int(time.time()) - 600), body)
    [event] = connector.parse_webhook(body, headers)
    assert (event.object_type, event.record_id, event.change) == ("opportunities", "55", "deleted")
    assert connector.parse_webhook(b"\xff not json") == []
