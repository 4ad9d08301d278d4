"""The connector CONTRACT SUITE: the behaviour every connector promises the sync engine.

A connector plugs in by writing a small harness (how to build its emulator, a connector
against it, how to make / edit / look up a record directly in the emulator, and which object
type + fields to exercise) and one test class:

    from tests.connectors.contract import ConnectorContract, Harness

    class ConnectWiseHarness(Harness):
        system = "connectwise"
        object_type = "contacts"
        match_field = "email"
        update_field = "firstName"
        ...

    class TestConnectWiseContract(ConnectorContract):
        harness_class = ConnectWiseHarness

Every test then runs twice: against the emulator in-process (httpx.WSGITransport) and on a
real port (a threaded server on an ephemeral port, reached through real sockets). Tests need
no database unless the harness's own methods do.

What the suite proves, in the engine's words: object types and fields (with dropdown options
as value + label) are discoverable; changes are read oldest first through a small JSON cursor
and nothing is skipped, whether the record was made before the first read or edited between
reads; reads by ids leave missing ids out; look-ups by match value are batched and
case-insensitive; creates and updates are batches whose results come back in input order with
per-record errors for a partial batch; a counterpart id can be written back; vendor refusals
(429, 5xx) are retried and permanent errors are not; bad credentials give a clear, human
message rather than an exception.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from connectors.base import (
    ConnectionTest,
    Connector,
    ConnectorError,
    ErrorKind,
    FieldInfo,
    FieldType,
    ObjectType,
    Page,
    Record,
    WriteInput,
)
from connectors.emulation import Emulator, RunningEmulator

IN_PROCESS = "in_process"
REAL_PORT = "real_port"


class Harness:
    """What a connector tells the contract suite. Override the class attributes and methods."""

    system: ClassVar[str] = ""
    object_type: ClassVar[str] = ""  # a writable object type, e.g. "contacts"
    match_field: ClassVar[str] = ""  # a field find_by accepts, e.g. "email"
    update_field: ClassVar[str] = ""  # a writable text field the suite changes, e.g. "firstname"
    enum_field: ClassVar[str | None] = None  # a dropdown field of object_type with options, if any
    # Base URL the connector uses in-process (the emulator's transport is passed alongside).
    in_process_base_url: ClassVar[str] = "http://emulator.invalid"
    # Max vendor calls find_by may make for 100 values (one batched look-up, maybe paged).
    max_calls_for_100_lookups: ClassVar[int] = 2

    # --- building ----------------------------------------------------------------------------
    def make_emulator(self) -> Emulator:
        """A fresh, empty-ish emulator with limits off and no faults (tests turn faults on)."""
        raise NotImplementedError

    def make_connector(self, emulator: Emulator, base_url: str, transport: Any | None) -> Connector:
        """A connector with good credentials. `transport` is None on a real port."""
        raise NotImplementedError

    def make_bad_credentials_connector(self, emulator: Emulator, base_url: str, transport: Any | None) -> Connector:
        """A connector whose credentials the emulator rejects."""
        raise NotImplementedError

    # --- data ----------------------------------------------------------------------------------
    def new_properties(self, n: int) -> dict[str, Any]:
        """Valid create input number `n`, unique match value derived from n (flat, connector field names)."""
        raise NotImplementedError

    def invalid_properties(self) -> dict[str, Any]:
        """A create input the vendor rejects with a validation error (e.g. an unknown dropdown value)."""
        raise NotImplementedError

    def match_value(self, properties: dict[str, Any]) -> str:
        return str(properties[self.match_field])

    # --- the emulator, directly (as if a user edited in the vendor's UI) --------------------------------
    def make_record(self, emulator: Emulator, properties: dict[str, Any]) -> str:
        """Create a record directly in the emulator; return its id as the connector reports ids."""
        raise NotImplementedError

    def edit_record(self, emulator: Emulator, record_id: str, properties: dict[str, Any]) -> None:
        """Change a record directly in the emulator, bumping its modified time."""
        raise NotImplementedError

    def stored_value(self, emulator: Emulator, record_id: str, field_name: str) -> Any:
        """The value the emulator holds for this record's field (connector field name), None if absent."""
        raise NotImplementedError

    def count_records(self, emulator: Emulator) -> int:
        """How many records of object_type the emulator stores."""
        raise NotImplementedError

    def allow_changes_visible(self, emulator: Emulator) -> None:
        """Called before reads that must see fresh changes (e.g. to skip a search-index lag). Optional."""

    def capture_webhook(self, emulator: Emulator, connector: Connector, record_id: str) -> tuple[str, str, dict, bytes] | None:
        """Optional: make the emulator send a webhook about a change to `record_id` and return the
        request the receiver got as (method, url, headers, body). None: the vendor has no webhooks here."""
        return None


class ConnectorContract:
    """Subclass with `harness_class = YourHarness`; every test runs in-process and on a real port."""

    harness_class: ClassVar[type[Harness]]

    # --- fixtures ------------------------------------------------------------------------------
    @pytest.fixture
    def harness(self) -> Harness:
        return self.harness_class()

    @pytest.fixture
    def emulator(self, harness: Harness) -> Emulator:
        return harness.make_emulator()

    @pytest.fixture(params=[IN_PROCESS, REAL_PORT])
    def endpoint(self, request, emulator: Emulator, harness: Harness) -> Iterator[tuple[str, Any]]:
        """(base_url, transport) for the connector: in-process transport, or a real port."""
        if request.param == IN_PROCESS:
            yield harness.in_process_base_url, emulator.transport()
            return
        running: RunningEmulator = emulator.serve("127.0.0.1", 0)
        try:
            yield running.base_url, None
        finally:
            running.stop()

    @pytest.fixture
    def connector(self, harness: Harness, emulator: Emulator, endpoint) -> Iterator[Connector]:
        base_url, transport = endpoint
        connector = harness.make_connector(emulator, base_url, transport)
        yield connector
        connector.close()

    # --- helpers ---------------------------------------------------------------------------------
    @staticmethod
    def read_all(
        connector: Connector, object_type: str, cursor: dict | None, page_size: int | None = None, max_pages: int = 200
    ) -> tuple[list[Record], dict]:
        """Read pages until has_more is False; every cursor must survive a JSON round trip."""
        records: list[Record] = []
        for _ in range(max_pages):
            page = connector.read_changes(object_type, cursor, page_size)
            assert isinstance(page, Page)
            records.extend(page.records)
            cursor = json.loads(json.dumps(page.cursor))  # what the engine stores
            if not page.has_more:
                return records, cursor
        raise AssertionError(f"read_changes still had more after {max_pages} pages")

    def create_ok(self, connector: Connector, harness: Harness, numbers: list[int]) -> list[str]:
        results = connector.create(harness.object_type, [WriteInput(harness.new_properties(n), ref=f"ref-{n}") for n in numbers])
        assert [r.ref for r in results] == [f"ref-{n}" for n in numbers]
        assert all(r.ok for r in results), [r.error for r in results if not r.ok]
        return [r.id for r in results]

    # --- object types and fields -------------------------------------------------------------------
    def test_object_types_include_the_harness_type_with_its_match_field(self, connector, harness):
        types = connector.object_types()
        assert all(isinstance(t, ObjectType) for t in types)
        obj = connector.object_type(harness.object_type)
        assert harness.match_field in obj.match_fields
        assert not obj.read_only

    def test_unknown_object_type_is_a_config_error(self, connector):
        with pytest.raises(ConnectorError) as caught:
            connector.object_type("no-such-object-type")
        assert caught.value.kind == ErrorKind.CONFIG

    def test_discovered_fields_include_match_and_update_fields(self, connector, harness):
        fields = connector.discover_fields(harness.object_type)
        assert all(isinstance(f, FieldInfo) for f in fields)
        by_name = {f.name: f for f in fields}
        assert harness.match_field in by_name
        assert harness.update_field in by_name
        assert not by_name[harness.update_field].read_only

    def test_field_names_are_unique_per_object_type(self, connector):
        for obj in connector.object_types():
            names = [f.name for f in connector.discover_fields(obj.name)]
            assert len(names) == len(set(names)), f"{obj.name} has duplicate field names"

    def test_dropdown_fields_carry_options_with_value_and_label(self, connector, harness):
        if not harness.enum_field:
            pytest.skip(f"{harness.system} harness names no dropdown field")
        field = {f.name: f for f in connector.discover_fields(harness.object_type)}[harness.enum_field]
        assert field.type == FieldType.ENUM
        assert field.options, "a dropdown must list its options"
        assert all(o.value and o.label for o in field.options)

    def test_reference_fields_name_an_existing_object_type(self, connector, harness):
        names = {t.name for t in connector.object_types()}
        for obj in connector.object_types():
            for f in connector.discover_fields(obj.name):
                if f.type in (FieldType.REFERENCE, FieldType.OWNER):
                    assert f.reference_to in names, f"{obj.name}.{f.name} refers to unknown {f.reference_to!r}"

    # --- reading -------------------------------------------------------------------------------------
    def test_first_read_without_cursor_sees_records_made_in_the_vendor(self, connector, harness, emulator):
        ids = {harness.make_record(emulator, harness.new_properties(n)) for n in range(5)}
        harness.allow_changes_visible(emulator)
        records, cursor = self.read_all(connector, harness.object_type, None)
        assert ids <= {r.id for r in records}
        assert isinstance(cursor, dict)

    def test_paged_reads_return_every_record_and_a_json_cursor(self, connector, harness, emulator):
        ids = {harness.make_record(emulator, harness.new_properties(n)) for n in range(12)}
        harness.allow_changes_visible(emulator)
        records, _ = self.read_all(connector, harness.object_type, None, page_size=5)
        assert ids <= {r.id for r in records}

    def test_records_are_read_oldest_change_first(self, connector, harness, emulator):
        for n in range(6):
            harness.make_record(emulator, harness.new_properties(n))
        harness.allow_changes_visible(emulator)
        records, _ = self.read_all(connector, harness.object_type, None)
        stamps = [r.updated_at for r in records if r.updated_at is not None]
        assert stamps == sorted(stamps)

    def test_edit_after_cursor_is_read_next_time(self, connector, harness, emulator):
        first = harness.make_record(emulator, harness.new_properties(1))
        second = harness.make_record(emulator, harness.new_properties(2))
        harness.allow_changes_visible(emulator)
        _, cursor = self.read_all(connector, harness.object_type, None)
        harness.edit_record(emulator, second, {harness.update_field: "Edited Later"})
        harness.allow_changes_visible(emulator)
        records, _ = self.read_all(connector, harness.object_type, cursor)
        changed = {r.id: r for r in records}
        assert second in changed
        assert changed[second].properties[harness.update_field] == "Edited Later"
        assert first in {r.id for r in self.read_all(connector, harness.object_type, None)[0]}

    def test_record_created_after_cursor_is_read_next_time(self, connector, harness, emulator):
        harness.make_record(emulator, harness.new_properties(1))
        harness.allow_changes_visible(emulator)
        _, cursor = self.read_all(connector, harness.object_type, None)
        new_id = harness.make_record(emulator, harness.new_properties(2))
        harness.allow_changes_visible(emulator)
        records, _ = self.read_all(connector, harness.object_type, cursor)
        assert new_id in {r.id for r in records}

    def test_read_by_ids_returns_found_records_and_leaves_missing_out(self, connector, harness, emulator):
        ids = [harness.make_record(emulator, harness.new_properties(n)) for n in range(3)]
        missing = "999999999"
        records = connector.read_by_ids(harness.object_type, ids + [missing])
        assert sorted(r.id for r in records) == sorted(ids)
        by_id = {r.id: r for r in records}
        assert by_id[ids[0]].properties[harness.match_field].lower() == harness.match_value(harness.new_properties(0)).lower()

    def test_find_by_is_case_insensitive_and_keyed_by_lower_case_value(self, connector, harness, emulator):
        props = harness.new_properties(7)
        record_id = harness.make_record(emulator, props)
        harness.allow_changes_visible(emulator)
        value = harness.match_value(props)
        found = connector.find_by(harness.object_type, harness.match_field, [value.upper(), "nobody-here@nowhere.invalid"])
        assert [r.id for r in found.get(value.lower(), [])] == [record_id]
        assert not found.get("nobody-here@nowhere.invalid")

    def test_find_by_looks_up_100_values_in_a_batched_call(self, connector, harness, emulator):
        values = []
        for n in range(100):
            props = harness.new_properties(n)
            harness.make_record(emulator, props)
            values.append(harness.match_value(props))
        harness.allow_changes_visible(emulator)
        connector.find_by(harness.object_type, harness.match_field, values[:1])  # metadata a connector caches is not the point
        before = emulator.counters()["total"]
        found = connector.find_by(harness.object_type, harness.match_field, values)
        calls = emulator.counters()["total"] - before
        assert {v.lower() for v in values} == {k for k, v in found.items() if v}
        assert calls <= harness.max_calls_for_100_lookups

    # --- writing --------------------------------------------------------------------------------------
    def test_create_returns_ids_in_input_order_and_stores_records(self, connector, harness, emulator):
        before = harness.count_records(emulator)
        ids = self.create_ok(connector, harness, [1, 2, 3])
        assert len(set(ids)) == 3
        assert harness.count_records(emulator) == before + 3
        for n, record_id in zip([1, 2, 3], ids, strict=True):
            stored = harness.stored_value(emulator, record_id, harness.match_field)
            assert str(stored).lower() == harness.match_value(harness.new_properties(n)).lower()

    def test_partial_batch_reports_per_record_errors_and_keeps_good_records(self, connector, harness, emulator):
        inputs = [
            WriteInput(harness.new_properties(1), ref="good-1"),
            WriteInput(harness.invalid_properties(), ref="bad"),
            WriteInput(harness.new_properties(2), ref="good-2"),
        ]
        results = connector.create(harness.object_type, inputs)
        assert [r.ref for r in results] == ["good-1", "bad", "good-2"]
        good = [r for r in results if r.ref != "bad"]
        bad = results[1]
        assert all(r.ok and r.id for r in good)
        assert not bad.ok and bad.id is None
        assert isinstance(bad.error, ConnectorError)
        assert not bad.error.retryable
        assert bad.error.message  # the vendor's own words, for the customer
        for r in good:
            assert harness.stored_value(emulator, r.id, harness.match_field) is not None

    def test_update_changes_only_the_given_field(self, connector, harness, emulator):
        props = harness.new_properties(4)
        record_id = harness.make_record(emulator, props)
        results = connector.update(
            harness.object_type, [WriteInput({harness.update_field: "Updated Name"}, id=record_id, ref="r")]
        )
        assert [r.ref for r in results] == ["r"] and results[0].ok
        assert harness.stored_value(emulator, record_id, harness.update_field) == "Updated Name"
        assert str(harness.stored_value(emulator, record_id, harness.match_field)).lower() == harness.match_value(props).lower()

    def test_update_of_missing_record_is_a_permanent_per_record_error(self, connector, harness, emulator):
        record_id = harness.make_record(emulator, harness.new_properties(5))
        results = connector.update(
            harness.object_type,
            [
                WriteInput({harness.update_field: "Fine"}, id=record_id, ref="ok"),
                WriteInput({harness.update_field: "Nope"}, id="999999999", ref="missing"),
            ],
        )
        assert [r.ref for r in results] == ["ok", "missing"]
        assert results[0].ok
        assert not results[1].ok and not results[1].error.retryable
        assert harness.stored_value(emulator, record_id, harness.update_field) == "Fine"

    def test_write_back_id_stores_the_counterpart_id(self, connector, harness, emulator):
        record_id = harness.make_record(emulator, harness.new_properties(6))
        results = connector.write_back_id(harness.object_type, {record_id: "Written Back"}, harness.update_field)
        assert all(r.ok for r in results)
        assert harness.stored_value(emulator, record_id, harness.update_field) == "Written Back"

    # --- webhooks ---------------------------------------------------------------------------------------------
    def test_webhooks_from_the_vendor_verify_and_parse_and_tampering_is_caught(self, connector, harness, emulator):
        record_id = harness.make_record(emulator, harness.new_properties(9))
        captured = harness.capture_webhook(emulator, connector, record_id)
        if captured is None:
            pytest.skip(f"{harness.system} harness sends no webhooks")
        method, url, headers, body = captured
        assert connector.verify_webhook(method, url, headers, body)
        events = connector.parse_webhook(body, headers)
        assert record_id in {e.record_id for e in events}
        assert all(e.object_type in {t.name for t in connector.object_types()} for e in events)
        tampered = body.replace(record_id.encode(), (record_id + "0").encode()) if record_id.encode() in body else body + b" "
        assert not connector.verify_webhook(method, url, headers, tampered)

    # --- errors and resilience ----------------------------------------------------------------------------
    def test_vendor_refusals_are_retried_until_the_call_succeeds(self, connector, harness, emulator):
        ids = [harness.make_record(emulator, harness.new_properties(n)) for n in range(3)]
        emulator.set_knobs(faults={"503": 0.3, "502": 0.1}, seed=7)
        try:
            for _ in range(5):
                records = connector.read_by_ids(harness.object_type, ids)
                assert sorted(r.id for r in records) == sorted(ids)
        finally:
            emulator.set_knobs(faults={})
        assert sum(emulator.counters()["faults"].values()) > 0, "the fault knob injected nothing; the test proved nothing"

    def test_connection_test_succeeds_with_good_credentials(self, connector):
        result = connector.test_connection()
        assert isinstance(result, ConnectionTest)
        assert result.ok, result.message
        assert result.message

    def test_connection_test_explains_bad_credentials_in_plain_words(self, harness, emulator, endpoint):
        base_url, transport = endpoint
        bad = harness.make_bad_credentials_connector(emulator, base_url, transport)
        try:
            result = bad.test_connection()
        finally:
            bad.close()
        assert not result.ok
        assert result.message and "Traceback" not in result.message
        assert any(word in result.message.lower() for word in ("credential", "token", "key", "password", "auth", "permission"))

    def test_bad_credentials_are_a_permanent_auth_error_on_operations(self, harness, emulator, endpoint):
        base_url, transport = endpoint
        bad = harness.make_bad_credentials_connector(emulator, base_url, transport)
        try:
            with pytest.raises(ConnectorError) as caught:
                bad.read_by_ids(harness.object_type, ["1"])
        finally:
            bad.close()
        assert caught.value.kind == ErrorKind.AUTH
        assert not caught.value.retryable
