"""The ConnectWise connector's own promises beyond the shared contract: the flat shape the engine
relies on, overlapping incremental reads, look-ups, per-record writes, callbacks."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.test import override_settings

from connectors.base import UNSURE_TYPE, ConnectorError, ErrorKind, FieldType, WriteInput
from connectors.connectwise.connector import ConnectWiseConnector, generate_identifier, normalise_domain
from connectors.connectwise.emulator import DEMO_CLIENT_ID, DEMO_COMPANY, DEMO_PRIVATE_KEY, DEMO_PUBLIC_KEY, ConnectWiseEmulator
from connectors.http import default_retry, mount, unmount
from tests.factories import ConnectionFactory

UTC = dt.UTC


class Recording(httpx.BaseTransport):
    """Delegates to the emulator and remembers every request (to read the conditions sent)."""

    def __init__(self, inner: httpx.BaseTransport):
        self.inner, self.requests = inner, []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.inner.handle_request(request)

    def conditions(self) -> list[str]:
        return [parse_qs(urlsplit(str(r.url)).query).get("conditions", [""])[0] for r in self.requests]


@pytest.fixture
def emulator() -> ConnectWiseEmulator:
    emulator = ConnectWiseEmulator(limits=False)
    emulator.clock = Clock("2030-01-01T10:00:00Z")
    acme = emulator.add_company(
        "Acme Corp", "AcmeCorp", status="Active", type="Customer", website="https://www.Acme.example/home"
    )
    emulator.add_contact("Ann", "Lee", company_id=acme["id"], email="ann@acme.example", phone="555-1000")
    emulator.add_member("dana", "Dana", "Reyes", "Dana.Reyes@acme.example")
    return emulator


@pytest.fixture
def recording(emulator) -> Recording:
    return Recording(emulator.transport())


@pytest.fixture
def connector(recording) -> ConnectWiseConnector:
    connector = ConnectWiseConnector(
        base_url="http://cw.test",
        company_id=DEMO_COMPANY,
        public_key=DEMO_PUBLIC_KEY,
        private_key=DEMO_PRIVATE_KEY,
        client_id=DEMO_CLIENT_ID,
        transport=recording,
        retry=default_retry(backoff_factor=0.01, max_backoff_wait=0.05),
    )
    yield connector
    connector.close()


class Clock:
    def __init__(self, start: str):
        self.now = dt.datetime.fromisoformat(start.replace("Z", "+00:00"))

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


# --- shape --------------------------------------------------------------------------------------------
def test_object_types_are_the_names_the_engine_uses(connector):
    types = {t.name: t for t in connector.object_types()}
    activities = {
        "call_activities",
        "email_activities",
        "task_activities",
        "meeting_activities",
        "contact_notes",
        "company_notes",
    }
    assert set(types) == {"companies", "contacts", "opportunities", "members"} | activities
    assert all(types[name].needs_parent for name in activities) and types["contact_notes"].parents == ("contacts",)
    assert types["members"].read_only and types["members"].email_field == "email"
    assert types["contacts"].parents == ("companies",) and types["contacts"].match_fields == ("email",)
    assert types["opportunities"].parents == ("companies", "contacts")
    assert set(types["companies"].match_fields) == {"identifier", "website"}


def test_references_enums_owners_and_custom_fields_are_typed(connector):
    contacts = {f.name: f for f in connector.discover_fields("contacts")}
    assert contacts["company"].type == FieldType.REFERENCE and contacts["company"].reference_to == "companies"
    assert contacts["email"].type == FieldType.EMAIL and contacts["phone"].type == FieldType.PHONE
    opportunities = {f.name: f for f in connector.discover_fields("opportunities")}
    assert opportunities["contact"].reference_to == "contacts"
    assert opportunities["primarySalesRep"].type == FieldType.OWNER and opportunities["primarySalesRep"].reference_to == "members"
    stage = opportunities["stage"]
    assert stage.type == FieldType.ENUM and stage.option_by_value("1").label == "1.Prospect"
    companies = {f.name: f for f in connector.discover_fields("companies")}
    assert [o.label for o in companies["status"].options][:2] == ["Active", "Inactive"]
    assert companies["custom_1"].type == FieldType.ENUM and companies["custom_1"].label == "Industry Segment"
    assert companies["custom_2"].type == FieldType.NUMBER
    assert contacts["custom_3"].type == FieldType.BOOL


def test_discovering_fields_twice_asks_connectwise_once(connector, emulator):
    connector.discover_fields("companies")
    before = emulator.counters()["total"]
    connector.discover_fields("companies")
    assert emulator.counters()["total"] == before


def test_records_are_flat_with_email_phone_and_reference_ids(connector, emulator):
    emulator.edit(
        "contacts",
        1,
        {
            "communicationItems": emulator.get("contacts", 1)["communicationItems"]
            + [{"type": {"id": 3}, "value": "555-9999", "defaultFlag": False}]
        },
    )  # a cell phone is not the direct phone
    record = connector.read_by_ids("contacts", ["1"])[0]
    assert record.properties["email"] == "ann@acme.example"
    assert record.properties["phone"] == "555-1000"
    assert record.properties["company"] == "1"
    assert record.updated_at == dt.datetime(2030, 1, 1, 10, tzinfo=UTC)
    company = connector.read_by_ids("companies", ["1"])[0]
    assert company.properties["status"] == "1" and company.properties["type"] == "1"


# --- incremental reads -----------------------------------------------------------------------------------
def test_fresh_reads_rewind_by_the_overlap_and_mid_reads_continue_by_keyset(connector, emulator, recording):
    for n in range(4):
        emulator.add_company(f"Company {n}", f"Company{n}")
    first = connector.read_changes("companies", None, page_size=2)
    assert first.has_more and first.cursor == {"since": "2030-01-01T10:00:00Z", "after_id": 2, "paging": True}
    connector.read_changes("companies", first.cursor, page_size=2)
    assert (
        recording.conditions()[-1] == "lastUpdated > [2030-01-01T10:00:00Z] or (lastUpdated = [2030-01-01T10:00:00Z] and id > 2)"
    )
    connector.read_changes("companies", {"since": "2030-01-01T10:00:00Z", "after_id": 5, "paging": False})
    assert recording.conditions()[-1] == "lastUpdated >= [2030-01-01T09:59:00Z]"


def test_a_change_stamped_in_the_same_second_behind_the_cursor_is_read_on_the_next_run(connector, emulator):
    for n in range(3):
        emulator.add_company(f"Company {n}", f"Company{n}")
    everything = read_all(connector, "companies", None)
    emulator.edit("companies", 1, {"name": "Changed in the same second"})  # same stamp, lower id than the cursor
    again = read_all(connector, "companies", everything[1])
    assert "Changed in the same second" in [r.properties["name"] for r in again[0]]


def test_records_edited_while_paging_are_not_skipped(connector, emulator):
    for n in range(9):
        emulator.clock.advance(1)
        emulator.add_company(f"Company {n}", f"Company{n}")
    page = connector.read_changes("companies", None, page_size=3)
    seen = {r.id for r in page.records}
    emulator.clock.advance(5)
    emulator.edit("companies", 2, {"name": "Edited early"})  # already read: moves to the end
    emulator.edit("companies", 6, {"name": "Edited later"})  # not read yet: moves to the end too
    cursor = page.cursor
    names = {}
    while page.has_more:
        page = connector.read_changes("companies", cursor, page_size=3)
        cursor = page.cursor
        seen |= {r.id for r in page.records}
        names |= {r.id: r.properties["name"] for r in page.records}
    assert seen == {str(r["id"]) for r in emulator.records("companies")}
    assert names["2"] == "Edited early" and names["6"] == "Edited later"


def test_an_empty_read_keeps_the_cursor(connector):
    page = connector.read_changes("companies", {"since": "2031-01-01T00:00:00Z", "after_id": 9, "paging": False})
    assert page.records == [] and page.cursor == {"since": "2031-01-01T00:00:00Z"} and not page.has_more


# --- look-ups --------------------------------------------------------------------------------------------
def test_find_companies_by_domain_whatever_form_the_website_takes(connector):
    found = connector.find_by("companies", "website", ["acme.example", "http://ACME.example/contact", "nobody.example"])
    assert [r.id for r in found["acme.example"]] == ["1"]
    assert [r.id for r in found["http://acme.example/contact"]] == ["1"]
    assert found["nobody.example"] == []


def test_find_members_by_exact_email_ignoring_case(connector):
    found = connector.find_by("members", "email", ["dana.reyes@ACME.example"])
    assert [r.properties["identifier"] for r in found["dana.reyes@acme.example"]] == ["dana"]


def test_find_contacts_by_email_uses_one_child_conditions_call(connector, recording):
    connector.find_by("contacts", "email", ["ann@acme.example", "x@y.example"])
    query = parse_qs(urlsplit(str(recording.requests[-1].url)).query)
    assert query["childConditions"] == [
        'communicationItems/value in ("ann@acme.example", "x@y.example") and communicationItems/communicationType = "Email"'
    ]


def test_look_up_by_a_field_that_is_not_a_match_field_is_a_config_error(connector):
    with pytest.raises(Exception) as caught:
        connector.find_by("contacts", "firstName", ["Ann"])
    assert caught.value.kind == ErrorKind.CONFIG


def test_values_with_quotes_are_quoted_not_pasted(connector, emulator):
    emulator.add_company('Quote "Inc"', "QuoteInc")
    found = connector.find_by("companies", "identifier", ["QuoteInc", 'x") or (id > 0'])
    assert [r.id for r in found["quoteinc"]] == ["2"]
    assert found['x") or (id > 0'] == []


# --- writes ----------------------------------------------------------------------------------------------
def test_integration_rules_refuse_orphans_before_calling_connectwise(connector, emulator):
    before = emulator.counters()["total"]
    results = connector.create("contacts", [WriteInput({"firstName": "Orphan"}, ref="c")])
    results += connector.create("opportunities", [WriteInput({"name": "Deal", "company": "1"}, ref="o")])
    assert [r.error.kind for r in results] == [ErrorKind.VALIDATION, ErrorKind.VALIDATION]
    assert results[0].error.fields == ["company"] and results[1].error.fields == ["contact"]
    assert "company" in results[0].error.message
    assert emulator.counters()["total"] == before


def test_companies_get_a_generated_alphanumeric_identifier_and_a_retry_is_a_conflict(connector):
    first = connector.create("companies", [WriteInput({"name": "Initech, L.L.C. (Austin)"}, ref="hs-42")])[0]
    assert first.ok
    identifier = first.record.properties["identifier"]
    assert identifier.isalnum() and len(identifier) <= 25
    assert identifier == generate_identifier("Initech, L.L.C. (Austin)", "hs-42")
    retry = connector.create("companies", [WriteInput({"name": "Initech, L.L.C. (Austin)"}, ref="hs-42")])[0]
    assert retry.error.kind == ErrorKind.CONFLICT and retry.error.existing_id == first.id
    other = connector.create("companies", [WriteInput({"name": "Initech, L.L.C. (Austin)"}, ref="hs-43")])[0]
    assert other.ok and other.id != first.id


def test_updating_email_keeps_other_communication_items(connector, emulator):
    emulator.edit(
        "contacts",
        1,
        {
            "communicationItems": emulator.get("contacts", 1)["communicationItems"]
            + [{"type": {"id": 3}, "value": "555-9999", "defaultFlag": False}]
        },
    )
    result = connector.update("contacts", [WriteInput({"email": "ann.lee@acme.example"}, id="1", ref="r")])[0]
    assert result.ok and result.record.properties["email"] == "ann.lee@acme.example"
    items = {(i["type"]["name"], i["value"]) for i in emulator.get("contacts", 1)["communicationItems"]}
    assert items == {("Email", "ann.lee@acme.example"), ("Direct", "555-1000"), ("Cell", "555-9999")}


def test_updates_are_json_patch_operations(connector, recording):
    connector.update("companies", [WriteInput({"name": "Acme Inc", "status": "2", "type": "2"}, id="1")])
    patch = recording.requests[-1]
    assert patch.method == "PATCH" and patch.url.path.endswith("/company/companies/1")
    assert json.loads(patch.content) == [
        {"op": "replace", "path": "name", "value": "Acme Inc"},
        {"op": "replace", "path": "status", "value": {"id": 2}},
        {"op": "replace", "path": "types", "value": [{"id": 2}]},
    ]


def test_custom_field_updates_merge_with_the_stored_values(connector, emulator):
    connector.update("companies", [WriteInput({"custom_1": "Enterprise"}, id="1")])
    connector.update("companies", [WriteInput({"custom_2": 250}, id="1")])
    values = {c["id"]: c["value"] for c in emulator.get("companies", 1)["customFields"]}
    assert values == {1: "Enterprise", 2: 250}


def test_read_only_fields_and_objects_are_refused(connector):
    result = connector.update("opportunities", [WriteInput({"closedFlag": True}, id="1", ref="x")])[0]
    assert result.error.kind == ErrorKind.VALIDATION
    with pytest.raises(Exception) as caught:
        connector.create("members", [WriteInput({"email": "a@b.example"})])
    assert caught.value.kind == ErrorKind.CONFIG


def test_an_opportunity_is_created_with_its_references(connector):
    result = connector.create(
        "opportunities",
        [
            WriteInput(
                {
                    "name": "Managed services",
                    "company": "1",
                    "contact": "1",
                    "primarySalesRep": "2",
                    "stage": "3",
                    "expectedCloseDate": dt.datetime(2030, 3, 1, tzinfo=UTC),
                },
                ref="d",
            )
        ],
    )[0]
    assert result.ok, result.error
    props = result.record.properties
    assert (props["company"], props["contact"], props["primarySalesRep"], props["stage"]) == ("1", "1", "2", "3")
    assert props["expectedCloseDate"] == "2030-03-01T00:00:00Z"


def test_bad_credentials_stop_a_write_batch_with_an_auth_error(emulator):
    bad = ConnectWiseConnector(
        base_url="http://cw.test",
        company_id=DEMO_COMPANY,
        public_key=DEMO_PUBLIC_KEY,
        private_key="wrong",
        client_id=DEMO_CLIENT_ID,
        transport=emulator.transport(),
    )
    with pytest.raises(Exception) as caught:
        bad.create("companies", [WriteInput({"name": "X"})])
    assert caught.value.kind == ErrorKind.AUTH and "private key" in caught.value.message


# --- callbacks ---------------------------------------------------------------------------------------------
def test_register_callbacks_is_idempotent(connector, emulator):
    connector.register_callbacks("https://syncsmart.example/hooks/cw/1")
    connector.register_callbacks("https://syncsmart.example/hooks/cw/1")
    assert sorted(c["type"] for c in emulator.store["callbacks"].values()) == ["activity", "company", "contact", "opportunity"]
    assert connector.unregister_callbacks("https://syncsmart.example/hooks/cw/1") == 4
    assert not emulator.store["callbacks"]


def test_callbacks_from_the_emulator_verify_and_parse_into_events(connector, emulator):
    received: list[httpx.Request] = []
    emulator.webhooks.transport = httpx.MockTransport(lambda r: received.append(r) or httpx.Response(200))
    connector.register_callbacks("https://syncsmart.example/hooks/cw/1")
    emulator.edit("contacts", 1, {"title": "CTO"})
    emulator.delete("contacts", 1)
    emulator.webhooks.wait_idle(5)
    assert len(received) == 2
    for request in received:
        assert connector.verify_webhook("POST", str(request.url), dict(request.headers), request.content)
    # Each callback is its own POST, so (as from ConnectWise) they may arrive in either order.
    events = [e for r in received for e in connector.parse_webhook(r.content)]
    assert sorted((e.object_type, e.record_id, e.change) for e in events) == [
        ("contacts", "1", "deleted"),
        ("contacts", "1", "updated"),
    ]
    updated = next(e for e in events if e.change == "updated")
    assert updated.occurred_at == dt.datetime(2030, 1, 1, 10, tzinfo=UTC) and updated.event_id
    edit = next(r for r in received if b"CTO" in r.content)
    tampered = edit.content.replace(b"CTO", b"CEO")
    assert not connector.verify_webhook("POST", "", dict(edit.headers), tampered)


def test_activity_callbacks_parse_into_the_object_type_of_their_activity_type(connector):
    def callback(action, entity):
        return json.dumps(
            {"MessageId": "m1", "Type": "activity", "Action": action, "ID": 7, "Entity": json.dumps(entity) if entity else None}
        ).encode()

    [added] = connector.parse_webhook(callback("added", {"id": 7, "type": {"id": 1, "name": "Call"}}))
    assert (added.object_type, added.record_id, added.change, added.event_id) == ("call_activities", "7", "created", "m1")
    assert UNSURE_TYPE not in added.payload
    assert connector.parse_webhook(callback("updated", {"id": 7, "type": {"id": 3, "name": "Appointment"}})) == []
    # A deletion does not say which type it was: one notification per activity type, each marked.
    deleted = connector.parse_webhook(callback("deleted", None))
    assert sorted(e.object_type for e in deleted) == [
        "call_activities",
        "email_activities",
        "meeting_activities",
        "task_activities",
    ]
    assert all(e.change == "deleted" and e.payload[UNSURE_TYPE] for e in deleted)
    assert len({e.event_id for e in deleted}) == 4  # each stored once, none dropped as a repeat


def test_callback_keys_are_only_fetched_from_the_connections_own_site(connector, recording):
    body = json.dumps({"Type": "contact", "ID": 1, "Metadata": {"key_url": "https://evil.example/key"}}).encode()
    assert not connector.verify_webhook("POST", "", {"x-content-signature": "abc"}, body)
    assert not any("evil" in str(r.url) for r in recording.requests)
    assert not connector.verify_webhook("POST", "", {}, b"not json")


def test_connector_talks_https_to_the_emulator_trusting_its_generated_ca(emulator, tmp_path):
    ca = tmp_path / "ca.pem"
    running = emulator.serve("127.0.0.1", 0, tls=True, ca_file=ca)
    try:
        secure = ConnectWiseConnector(
            base_url=running.base_url,
            company_id=DEMO_COMPANY,
            public_key=DEMO_PUBLIC_KEY,
            private_key=DEMO_PRIVATE_KEY,
            client_id=DEMO_CLIENT_ID,
            verify=str(ca),
        )
        assert running.base_url.startswith("https://") and secure.test_connection().ok
        secure.close()
    finally:
        running.stop()


# --- building from a Connection ------------------------------------------------------------------------------
@pytest.mark.django_db
def test_from_connection_uses_config_and_encrypted_private_key(emulator):
    connection = ConnectionFactory(
        system="connectwise",
        config={
            "site": "cw-demo.test",
            "company_id": DEMO_COMPANY,
            "client_id": DEMO_CLIENT_ID,
            "public_key": DEMO_PUBLIC_KEY,
            "base_url": "https://cw-demo.test",
        },
        credentials={"private_key": DEMO_PRIVATE_KEY},
    )
    mount("https://cw-demo.test", emulator.transport())
    try:
        connector = connection.connector()
        assert connector.test_connection().ok
        connector.close()
    finally:
        unmount("https://cw-demo.test")


@pytest.mark.django_db
def test_an_incomplete_connection_is_a_config_error():
    connection = ConnectionFactory(system="connectwise", config={"site": "x.example"}, credentials={})
    with pytest.raises(Exception) as caught:
        connection.connector()
    assert caught.value.kind == ErrorKind.CONFIG


@pytest.mark.django_db
@override_settings(SYNCSMART_ALLOWED_EMULATOR_HOSTS=[])
@pytest.mark.parametrize("base_url", ["http://169.254.169.254", "https://10.1.2.3", "http://na.myconnectwise.net"])
def test_a_connection_pointing_at_internal_or_plain_http_hosts_is_refused(base_url):
    connection = ConnectionFactory(
        system="connectwise",
        config={"base_url": base_url, "company_id": "c", "public_key": "p", "client_id": "i"},
        credentials={"private_key": "k"},
    )
    # Plain http is refused when the connector is built; an internal address when it connects
    # (the HTTP seam checks the address of every connection).
    with pytest.raises(ConnectorError) as caught:
        connection.connector().http.request("GET", "system/info")
    assert caught.value.kind == ErrorKind.CONFIG


def test_domain_normalisation():
    assert normalise_domain("https://www.Acme.com/about") == "acme.com"
    assert normalise_domain("acme.com") == "acme.com"
    assert normalise_domain("WWW.acme.com:8080") == "acme.com"


def read_all(connector, object_type, cursor):
    records = []
    while True:
        page = connector.read_changes(object_type, cursor)
        records += page.records
        cursor = page.cursor
        if not page.has_more:
            return records, cursor
