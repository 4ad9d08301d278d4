"""$batch: the multipart codec, atomic change sets as Dataverse runs them, and how the connector
reports per-record errors from a batch."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.base import ConnectorError, ErrorKind, WriteInput
from connectors.dynamics import batch as batchfmt
from connectors.dynamics.batch import BatchRequest, ChangeSet, ChangeSetResult, OperationResult
from connectors.dynamics.connector import DynamicsConnector
from connectors.dynamics.emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT, DynamicsEmulator

BASE = "http://dynamics.invalid"
API = BASE + "/api/data/v9.2"


@pytest.fixture
def emulator() -> DynamicsEmulator:
    return DynamicsEmulator(limits=False)


@pytest.fixture
def client(emulator):
    """A raw HTTP client with a valid token, for driving the emulator as any Web API client would."""
    http = httpx.Client(transport=emulator.transport(), base_url=BASE)
    token = http.post(
        f"/{DEFAULT_TENANT}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
            "scope": f"{BASE}/.default",
        },
    ).json()["access_token"]
    http.headers["Authorization"] = f"Bearer {token}"
    yield http
    http.close()


def post_batch(client, parts, prefer: str | None = None):
    body, content_type = batchfmt.encode_batch(parts)
    headers = {"Content-Type": content_type, **({"Prefer": prefer} if prefer else {})}
    response = client.post("/api/data/v9.2/$batch", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("multipart/mixed; boundary=batchresponse_")
    return batchfmt.decode_batch_response(response.content, response.headers["content-type"])


def test_codec_round_trips_requests_and_change_sets():
    parts = [
        ChangeSet(
            [
                BatchRequest("POST", f"{API}/accounts", {}, {"name": "A"}, "1"),
                BatchRequest(
                    "PATCH",
                    f"{API}/accounts(00000000-0000-0000-0000-000000000001)",
                    {"If-Match": "*"},
                    {"name": "B; --not a boundary"},
                    "2",
                ),
            ]
        ),
        BatchRequest("GET", f"{API}/WhoAmI"),
    ]
    body, content_type = batchfmt.encode_batch(parts)
    assert b"\r\n" in body and content_type.startswith("multipart/mixed; boundary=batch_")
    decoded = batchfmt.decode_batch(body, content_type)
    assert isinstance(decoded[0], ChangeSet) and [r.content_id for r in decoded[0].requests] == ["1", "2"]
    assert decoded[0].requests[1].headers["if-match"] == "*"
    assert decoded[0].requests[1].body == {"name": "B; --not a boundary"}
    assert decoded[1].method == "GET" and decoded[1].url.endswith("/WhoAmI")

    results = [
        ChangeSetResult([OperationResult(204, {"OData-EntityId": "x"}, None, "1")]),
        OperationResult(400, {}, {"error": {"code": "0x1", "message": "no"}}, "3"),
    ]
    body, content_type = batchfmt.encode_batch_response(results)
    back = batchfmt.decode_batch_response(body, content_type)
    assert back[0].results[0].status == 204 and back[0].results[0].in_changeset
    assert back[1].status == 400 and back[1].body["error"]["message"] == "no" and back[1].content_id == "3"


def test_unclosed_multipart_is_refused():
    body, content_type = batchfmt.encode_batch([BatchRequest("GET", "WhoAmI")])
    with pytest.raises(batchfmt.BatchFormatError):
        batchfmt.decode_batch(body.rsplit(b"--batch", 1)[0], content_type)


def test_change_set_with_a_failing_operation_is_rolled_back_entirely(client, emulator):
    existing = emulator.create_record("accounts", {"name": "Before"})
    version_rows = emulator.count("accounts")
    results = post_batch(
        client,
        [
            ChangeSet(
                [
                    BatchRequest("POST", f"{API}/accounts", {}, {"name": "Created in change set"}, "1"),
                    BatchRequest(
                        "PATCH", f"{API}/accounts({existing})", {"If-Match": "*"}, {"name": "Changed in change set"}, "2"
                    ),
                    BatchRequest("POST", f"{API}/accounts", {}, {"name": "Bad", "industrycode": 999}, "3"),
                ]
            )
        ],
    )
    assert len(results) == 1
    failure = results[0]
    assert isinstance(failure, OperationResult) and failure.status == 400 and failure.content_id == "3"
    assert "outside the valid range" in failure.body["error"]["message"]
    assert emulator.count("accounts") == version_rows
    assert emulator.record("accounts", existing)["name"] == "Before"


def test_rolled_back_change_set_leaves_nothing_for_change_tracking(client, emulator):
    first = client.get("/api/data/v9.2/accounts", headers={"Prefer": "odata.track-changes"}).json()
    post_batch(
        client,
        [
            ChangeSet(
                [
                    BatchRequest("POST", f"{API}/accounts", {}, {"name": "Ghost"}, "1"),
                    BatchRequest("POST", f"{API}/accounts", {}, {"name": "x" * 161}, "2"),
                ]
            )
        ],
    )
    delta = client.get(first["@odata.deltaLink"], headers={"Prefer": "odata.track-changes"}).json()
    assert delta["value"] == []


def test_batch_stops_at_the_first_failure_unless_continue_on_error(client, emulator):
    bad = ChangeSet([BatchRequest("POST", f"{API}/accounts", {}, {"nosuchcolumn": 1}, "1")])
    good = ChangeSet([BatchRequest("POST", f"{API}/accounts", {}, {"name": "Good"}, "2")])
    assert len(post_batch(client, [bad, good])) == 1
    assert emulator.count("accounts") == 0
    results = post_batch(client, [bad, good], prefer="odata.continue-on-error")
    assert [type(r) for r in results] == [OperationResult, ChangeSetResult]
    assert emulator.count("accounts") == 1


def test_content_id_reference_binds_a_record_created_earlier_in_the_change_set(client, emulator):
    results = post_batch(
        client,
        [
            ChangeSet(
                [
                    BatchRequest("POST", f"{API}/accounts", {}, {"name": "Parent"}, "1"),
                    BatchRequest(
                        "POST", f"{API}/contacts", {}, {"lastname": "Child", "parentcustomerid_account@odata.bind": "$1"}, "2"
                    ),
                ]
            )
        ],
    )
    account_id = results[0].results[0].headers["odata-entityid"].rsplit("(", 1)[1].rstrip(")")
    contact_id = results[0].results[1].headers["odata-entityid"].rsplit("(", 1)[1].rstrip(")")
    assert emulator.record("contacts", contact_id)["parentcustomerid"] == ("account", account_id)


def test_more_than_1000_operations_are_refused(client):
    body, content_type = batchfmt.encode_batch(
        [ChangeSet([BatchRequest("POST", f"{API}/accounts", {}, {"name": str(n)}, str(n)) for n in range(1001)])]
    )
    response = client.post("/api/data/v9.2/$batch", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 400
    assert "1000" in response.json()["error"]["message"]


# --- the connector -----------------------------------------------------------------------------------
def connector_for(emulator: DynamicsEmulator, **kwargs) -> DynamicsConnector:
    return DynamicsConnector(
        BASE,
        DEFAULT_TENANT,
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        token_url_base=BASE,
        transport=emulator.transport(),
        **kwargs,
    )


def test_connector_writes_a_page_of_creates_in_one_batch_call(emulator):
    connector = connector_for(emulator, write_mode="batch")
    try:
        connector.discover_fields("contacts")
        before = emulator.calls("$batch")
        results = connector.create(
            "contacts", [WriteInput({"lastname": f"P{n}", "emailaddress1": f"p{n}@x.com"}, ref=str(n)) for n in range(250)]
        )
        assert emulator.calls("$batch") - before == 1
        assert [r.ref for r in results] == [str(n) for n in range(250)] and all(r.ok for r in results)
        assert results[0].record.properties["emailaddress1"] == "p0@x.com"
        assert emulator.count("contacts") == 250
    finally:
        connector.close()


def test_connector_reports_the_failing_record_of_a_rolled_back_change_set_and_resends_the_others(emulator):
    connector = connector_for(emulator, changeset_size=3, write_mode="batch")  # several records per atomic change set
    try:
        inputs = [
            WriteInput({"name": "One"}, ref="1"),
            WriteInput({"name": "Two", "industrycode": "999"}, ref="2"),
            WriteInput({"name": "Three"}, ref="3"),
            WriteInput({"name": "Four"}, ref="4"),
        ]
        results = connector.create("accounts", inputs)
        assert [r.ref for r in results] == ["1", "2", "3", "4"]
        assert [r.ok for r in results] == [True, False, True, True]
        error = results[1].error
        assert error.kind == ErrorKind.VALIDATION and not error.retryable
        assert "outside the valid range" in error.message and error.vendor_code == "0x8004431a"
        assert sorted(row["name"] for row in emulator.rows["account"].values()) == ["Four", "One", "Three"]
        assert emulator.calls("$batch") == 2  # the first attempt, then the rolled-back innocents once more
    finally:
        connector.close()


@pytest.mark.parametrize("write_mode", ["bulk", "batch"])
def test_upsert_guards_follow_if_match_and_if_none_match(emulator, write_mode):
    connector = connector_for(emulator, write_mode=write_mode)
    existing = emulator.create_record("accounts", {"name": "Existing"})
    missing = "11111111-2222-3333-4444-555555555555"
    try:
        update_only = connector.upsert("accounts", [WriteInput({"name": "U"}, id=missing, ref="m")], mode="update")
        assert update_only[0].error.kind == ErrorKind.NOT_FOUND and emulator.record("accounts", missing) is None
        create_only = connector.upsert("accounts", [WriteInput({"name": "C"}, id=existing, ref="e")], mode="create")
        assert create_only[0].error.kind == ErrorKind.CONFLICT and emulator.record("accounts", existing)["name"] == "Existing"
        upserted = connector.upsert(
            "accounts", [WriteInput({"name": "New"}, id=missing, ref="n"), WriteInput({"name": "Changed"}, id=existing, ref="x")]
        )
        assert all(r.ok for r in upserted)
        assert emulator.record("accounts", missing)["name"] == "New"
        assert emulator.record("accounts", existing)["name"] == "Changed"
    finally:
        connector.close()


def test_connector_writes_lookups_with_odata_bind_and_reads_them_back_as_references(emulator):
    connector = connector_for(emulator)
    account = emulator.create_record("accounts", {"name": "Parent"})
    user = next(iter(emulator.app_user_ids.values()))
    try:
        created = connector.create("contacts", [WriteInput({"lastname": "Kid", "parentcustomerid": account, "ownerid": user})])
        assert created[0].ok, created[0].error
        contact = created[0].id
        assert emulator.record("contacts", contact)["parentcustomerid"] == ("account", account)
        [record] = connector.read_by_ids("contacts", [contact])
        assert record.properties["parentcustomerid"] == account and record.properties["ownerid"] == user
        opportunity = connector.create(
            "opportunities", [WriteInput({"name": "Deal", "parentaccountid": account, "parentcontactid": contact})]
        )[0]
        assert emulator.record("opportunities", opportunity.id)["parentcontactid"] == ("contact", contact)
        cleared = connector.update("contacts", [WriteInput({"parentcustomerid": None}, id=contact)])
        assert cleared[0].ok and emulator.record("contacts", contact)["parentcustomerid"] is None
    finally:
        connector.close()


def test_binding_a_missing_parent_is_a_per_record_not_found(emulator):
    connector = connector_for(emulator)
    try:
        [result] = connector.create(
            "contacts", [WriteInput({"lastname": "Orphan", "parentcustomerid": "99999999-9999-9999-9999-999999999999"})]
        )
        assert result.error.kind == ErrorKind.NOT_FOUND and "Does Not Exist" in result.error.message
        assert emulator.count("contacts") == 0
    finally:
        connector.close()


def test_status_reason_must_belong_to_the_state(emulator):
    connector = connector_for(emulator)
    lead = emulator.create_record("leads", {"lastname": "L", "subject": "S"})
    try:
        ok = connector.update("leads", [WriteInput({"statuscode": "3"}, id=lead)])  # Qualified -> statecode 1
        assert ok[0].ok and emulator.record("leads", lead)["statecode"] == 1
        bad = connector.update("leads", [WriteInput({"statecode": "0", "statuscode": "4"}, id=lead)])  # Lost is state 2
        assert bad[0].error.kind == ErrorKind.VALIDATION
    finally:
        connector.close()


def test_system_users_are_read_only(emulator):
    connector = connector_for(emulator)
    try:
        with pytest.raises(Exception) as caught:
            connector.create("systemusers", [WriteInput({"lastname": "X"})])
        assert caught.value.kind == ErrorKind.CONFIG
    finally:
        connector.close()


@pytest.mark.parametrize("write_mode", ["bulk", "batch"])
def test_creates_lost_in_transit_are_retried_without_duplicates(emulator, write_mode):
    connector = connector_for(emulator, write_mode=write_mode)
    try:
        connector.discover_fields("contacts")
        emulator.set_knobs(faults={"drop": 0.5}, seed=11)
        results = []
        for batch_number in range(6):
            results += connector.create(
                "contacts",
                [
                    WriteInput(
                        {"lastname": f"P{batch_number}-{n}", "emailaddress1": f"p{batch_number}-{n}@x.com"},
                        ref=f"{batch_number}-{n}",
                    )
                    for n in range(5)
                ],
            )
        emulator.set_knobs(faults={})
        assert emulator.counters()["faults"].get("drop after", 0) > 0, "no answer was lost after its effect; nothing was proved"
        assert all(r.ok for r in results), [r.error for r in results if not r.ok]
        emails = sorted(row["emailaddress1"] for row in emulator.rows["contact"].values())
        assert len(emails) == 30 and len(set(emails)) == 30
        assert {r.id for r in results} == set(emulator.rows["contact"])
    finally:
        connector.close()


@pytest.mark.parametrize("write_mode", ["bulk", "batch"])
def test_a_chosen_id_that_already_exists_is_a_conflict_not_a_success(emulator, write_mode):
    existing = emulator.create_record("accounts", {"name": "Existing"})
    connector = connector_for(emulator, write_mode=write_mode)
    try:
        [result] = connector.create("accounts", [WriteInput({"accountid": existing, "name": "Clash"})])
        assert result.error.kind == ErrorKind.CONFLICT
        assert emulator.record("accounts", existing)["name"] == "Existing"
    finally:
        connector.close()


# --- bulk messages (the default write mode) ----------------------------------------------------------
def test_connector_writes_a_page_of_creates_with_one_create_multiple_call(emulator):
    connector = connector_for(emulator)
    try:
        connector.discover_fields("contacts")
        emulator.reset_counters()
        results = connector.create(
            "contacts", [WriteInput({"lastname": f"P{n}", "emailaddress1": f"p{n}@x.com"}, ref=str(n)) for n in range(250)]
        )
        assert emulator.counters()["calls"] == {"POST bulk": 1}
        assert [r.ref for r in results] == [str(n) for n in range(250)] and all(r.ok for r in results)
        assert emulator.record("contacts", results[7].id)["emailaddress1"] == "p7@x.com"
        assert emulator.count("contacts") == 250
    finally:
        connector.close()


def test_updates_go_as_update_multiple(emulator):
    ids = [emulator.create_record("accounts", {"name": f"A{n}"}) for n in range(3)]
    connector = connector_for(emulator)
    try:
        connector.discover_fields("accounts")
        emulator.reset_counters()
        results = connector.update("accounts", [WriteInput({"name": f"B{n}"}, id=i, ref=str(n)) for n, i in enumerate(ids)])
        assert all(r.ok for r in results) and [r.id for r in results] == ids
        assert emulator.counters()["calls"] == {"POST bulk": 1}
        assert [emulator.record("accounts", i)["name"] for i in ids] == ["B0", "B1", "B2"]
    finally:
        connector.close()


def test_a_bulk_message_refused_for_one_record_falls_back_to_batch_for_per_record_errors(emulator):
    connector = connector_for(emulator)
    try:
        connector.discover_fields("accounts")
        emulator.reset_counters()
        inputs = [WriteInput({"name": "One"}, ref="1"), WriteInput({"name": "Two", "industrycode": "999"}, ref="2")]
        inputs.append(WriteInput({"name": "Three"}, ref="3"))
        results = connector.create("accounts", inputs)
        assert [r.ok for r in results] == [True, False, True]
        assert results[1].error.kind == ErrorKind.VALIDATION and results[1].error.vendor_code == "0x8004431a"
        assert sorted(row["name"] for row in emulator.rows["account"].values()) == ["One", "Three"]
        assert emulator.counters()["calls"] == {"POST bulk": 1, "POST $batch": 1}
    finally:
        connector.close()


def test_a_table_without_bulk_messages_is_written_with_batch_and_remembered(emulator):
    emulator.bulk_tables = frozenset()
    connector = connector_for(emulator)
    try:
        connector.discover_fields("accounts")
        emulator.reset_counters()
        for round_ in range(2):
            results = connector.create("accounts", [WriteInput({"name": f"R{round_}-{n}"}) for n in range(3)])
            assert all(r.ok for r in results)
        assert emulator.counters()["calls"] == {"POST bulk": 1, "POST $batch": 2}
        assert emulator.count("accounts") == 6
    finally:
        connector.close()


def test_an_unknown_write_mode_is_a_configuration_error(emulator):
    with pytest.raises(ConnectorError) as caught:
        connector_for(emulator, write_mode="fast")
    assert caught.value.kind == ErrorKind.CONFIG


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.lists(st.dictionaries(st.text(min_size=1, max_size=10), json_values, max_size=4), min_size=1, max_size=3),
        min_size=1,
        max_size=4,
    )
)
def test_any_json_bodies_survive_the_multipart_round_trip(changesets):
    parts = [
        ChangeSet([BatchRequest("POST", f"{API}/accounts", {}, body, f"{i}-{j}") for j, body in enumerate(bodies)])
        for i, bodies in enumerate(changesets)
    ]
    decoded = batchfmt.decode_batch(*batchfmt.encode_batch(parts))
    assert [[(r.body, r.content_id) for r in cs.requests] for cs in decoded] == [
        [(r.body, r.content_id) for r in cs.requests] for cs in parts
    ]
