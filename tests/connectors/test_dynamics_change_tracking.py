"""Change tracking as the incremental read: every change is read once, deletions as $deletedEntity.

Properties are checked through the whole stack (connector -> HTTP -> emulator), with page sizes
small enough that initial and delta reads span several nextLink pages.
"""

from __future__ import annotations

import json

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.dynamics.connector import DynamicsConnector
from connectors.dynamics.emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT, DynamicsEmulator

BASE = "http://dynamics.invalid"


def connector_for(emulator: DynamicsEmulator) -> DynamicsConnector:
    return DynamicsConnector(
        BASE, DEFAULT_TENANT, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, token_url_base=BASE, transport=emulator.transport()
    )


def read_sequence(connector: DynamicsConnector, cursor, page_size: int):
    """One delta page sequence: pages until has_more is False (cursors JSON round-tripped, as stored)."""
    records = []
    for _ in range(500):
        page = connector.read_changes("accounts", cursor, page_size)
        records.extend(page.records)
        cursor = json.loads(json.dumps(page.cursor))
        if not page.has_more:
            return records, cursor
    raise AssertionError("delta pages never ended")


operations = st.lists(
    st.one_of(
        st.tuples(st.just("create"), st.integers(0, 10**6)),
        st.tuples(st.just("edit"), st.integers(0, 50)),
        st.tuples(st.just("delete"), st.integers(0, 50)),
        st.tuples(st.just("read"), st.integers(1, 4)),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 6), operations)
def test_every_change_appears_in_exactly_one_delta_sequence_and_deletes_as_deleted_entities(initial, ops):
    emulator = DynamicsEmulator(limits=False)
    connector = connector_for(emulator)
    try:
        live: dict[str, str] = {}  # id -> last name written
        for n in range(initial):
            record_id = emulator.create_record("accounts", {"name": f"Initial {n}"})
            live[record_id] = f"Initial {n}"
        records, cursor = read_sequence(connector, None, page_size=2)
        assert sorted(r.id for r in records) == sorted(live)
        assert not any(r.deleted for r in records)

        changed: set[str] = set()
        ever: set[str] = set(live)
        for kind, arg in ops + [("read", 3)]:
            if kind == "create":
                record_id = emulator.create_record("accounts", {"name": f"Created {arg}"})
                live[record_id] = f"Created {arg}"
                ever.add(record_id)
                changed.add(record_id)
            elif kind == "edit" and live:
                record_id = sorted(live)[arg % len(live)]
                live[record_id] = f"Edited {arg}"
                emulator.edit_record("accounts", record_id, {"name": live[record_id]})
                changed.add(record_id)
            elif kind == "delete" and live:
                record_id = sorted(live)[arg % len(live)]
                del live[record_id]
                emulator.delete_record("accounts", record_id)
                changed.add(record_id)
            elif kind == "read":
                records, cursor = read_sequence(connector, cursor, page_size=arg)
                ids = [r.id for r in records]
                assert len(ids) == len(set(ids)), "a change appeared twice in one delta sequence"
                assert set(ids) == changed, "the delta sequence must hold exactly the changes since the last one"
                for record in records:
                    if record.id in live:
                        assert not record.deleted and record.properties["name"] == live[record.id]
                    else:
                        assert record.deleted and record.id in ever
                changed = set()
    finally:
        connector.close()


def test_initial_read_pages_hand_over_a_delta_link_only_on_the_last_page():
    emulator = DynamicsEmulator(limits=False)
    for n in range(5):
        emulator.create_record("accounts", {"name": f"Account {n}"})
    connector = connector_for(emulator)
    try:
        first = connector.read_changes("accounts", None, 2)
        assert first.has_more and "next_link" in first.cursor and "$skiptoken" in first.cursor["next_link"]
        second = connector.read_changes("accounts", first.cursor, 2)
        third = connector.read_changes("accounts", second.cursor, 2)
        assert not third.has_more and "$deltatoken" in third.cursor["delta_link"]
        assert not third.cursor["delta_link"].startswith("http"), "links are stored relative to the Web API root"
        assert len(first.records + second.records + third.records) == 5
    finally:
        connector.close()


def test_a_change_made_while_the_initial_read_pages_is_read_in_the_next_delta():
    emulator = DynamicsEmulator(limits=False)
    ids = [emulator.create_record("accounts", {"name": f"Account {n}"}) for n in range(4)]
    connector = connector_for(emulator)
    try:
        first = connector.read_changes("accounts", None, 2)
        already_read = first.records[0].id
        emulator.edit_record("accounts", already_read, {"name": "Changed mid-read"})
        rest, cursor = read_sequence(connector, first.cursor, 2)
        assert already_read not in {r.id for r in rest}  # its newer version is after the snapshot
        delta, _ = read_sequence(connector, cursor, 2)
        assert [(r.id, r.properties["name"]) for r in delta] == [(already_read, "Changed mid-read")]
        assert set(ids) == {r.id for r in first.records + rest}
    finally:
        connector.close()


def test_delta_records_come_back_oldest_change_first():
    emulator = DynamicsEmulator(limits=False)
    ids = [emulator.create_record("accounts", {"name": f"Account {n}"}) for n in range(3)]
    connector = connector_for(emulator)
    try:
        _, cursor = read_sequence(connector, None, 10)
        for record_id in reversed(ids):
            emulator.edit_record("accounts", record_id, {"name": "again"})
        records, _ = read_sequence(connector, cursor, 10)
        assert [r.id for r in records] == list(reversed(ids))
        assert [r.updated_at for r in records] == sorted(r.updated_at for r in records)
    finally:
        connector.close()


def test_tracked_query_refuses_filter_as_dataverse_does():
    emulator = DynamicsEmulator(limits=False)
    connector = connector_for(emulator)
    try:
        response = connector.http._client.get(
            "/accounts", params={"$filter": "name eq 'x'"}, headers={"Prefer": "odata.track-changes"}
        )
        assert response.status_code == 400
        assert "change tracking" in response.json()["error"]["message"]
    finally:
        connector.close()


def test_expired_change_token_falls_back_to_a_full_read():
    import datetime as dt

    emulator = DynamicsEmulator(limits=False)
    ids = {emulator.create_record("accounts", {"name": f"Account {n}"}) for n in range(3)}
    connector = connector_for(emulator)
    try:
        _, cursor = read_sequence(connector, None, 10)
        emulator.change_retention = dt.timedelta(seconds=-1)  # every delta token is now too old
        records, fresh = read_sequence(connector, cursor, 10)
        assert {r.id for r in records} == ids  # read again in full: repeats are allowed, losses are not
        emulator.change_retention = dt.timedelta(days=7)
        new_id = emulator.create_record("accounts", {"name": "After"})
        after, _ = read_sequence(connector, fresh, 10)
        assert [r.id for r in after] == [new_id]
    finally:
        connector.close()


def test_a_delta_link_followed_with_another_select_answers_the_new_columns():
    """The connector follows its stored delta link with today's $select (a column made since would
    otherwise never be read from the feed). Microsoft documents neither that a changed $select works
    on a delta link nor that it is refused; the emulator answers it with the new columns (its
    docstring names this as undocumented)."""
    emulator = DynamicsEmulator(limits=False)
    with emulator.transport() as transport, httpx.Client(transport=transport, base_url=BASE) as client:
        token = client.post(
            f"/{DEFAULT_TENANT}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": DEFAULT_CLIENT_ID,
                "client_secret": DEFAULT_CLIENT_SECRET,
                "scope": f"{BASE}/.default",
            },
        ).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        record_id = emulator.create_record("accounts", {"name": "Before", "telephone1": "555-0100"})
        first = client.get("/api/data/v9.2/accounts", params={"$select": "name"}, headers={"Prefer": "odata.track-changes"})
        link = first.json()["@odata.deltaLink"]
        assert "$select=name" in link
        emulator.edit_record("accounts", record_id, {"name": "After"})
        token_only = [(k, v) for k, v in httpx.URL(link).params.multi_items() if k != "$select"]
        delta = client.get("/api/data/v9.2/accounts", params=[("$select", "name,telephone1"), *token_only])
    assert delta.status_code == 200
    (row,) = delta.json()["value"]
    assert row["name"] == "After" and row["telephone1"] == "555-0100"
