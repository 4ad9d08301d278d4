"""Incremental reads never lose a change: not to the search API's 10,000-result cap (every page
is its own window on the modified time, narrowed to one millisecond and paged by id when a
millisecond holds more than a page), and not to search-index lag (each pass re-reads an overlap
before the time it began, de-duplicated by id + modified time)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.emulator import DEFAULT_TOKEN, HubSpotEmulator, to_ms
from tests.connectors.hubspot_harness import fast_retry

MODIFIED = "hs_lastmodifieddate"
START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def portal(lag_ms: int = 0, jitter_ms: int = 0, seed: int = 0) -> HubSpotEmulator:
    emulator = HubSpotEmulator(limits=False, search_lag_ms=lag_ms, search_lag_jitter_ms=jitter_ms, seed=seed)
    emulator.freeze_clock(START_MS)
    return emulator


def connect(emulator: HubSpotEmulator, overlap_ms: int = 5_000) -> HubSpotConnector:
    return HubSpotConnector(
        "https://api.hubapi.test", token=DEFAULT_TOKEN, transport=emulator.transport(), retry=fast_retry(), overlap_ms=overlap_ms
    )


class Reader:
    """The engine's side: store the cursor after each page, remember every version delivered."""

    def __init__(self, connector: HubSpotConnector, page_size: int):
        self.connector, self.page_size = connector, page_size
        self.cursor: dict | None = None
        self.delivered: set[tuple[str, int]] = set()
        self.pages = 0
        self.largest_cursor = 0
        self.mid_pass = False

    def page(self) -> bool:
        page = self.connector.read_changes("companies", self.cursor, self.page_size)
        text = json.dumps(page.cursor)
        self.largest_cursor = max(self.largest_cursor, len(text))
        self.cursor = json.loads(text)
        self.pages += 1
        for record in page.records:
            self.delivered.add((record.id, to_ms(record.properties[MODIFIED])))
        self.mid_pass = page.has_more
        return page.has_more

    def full_pass(self, max_pages: int = 1_000) -> None:
        for _ in range(max_pages):
            if not self.page():
                return
        raise AssertionError("a pass never ended")


def current_versions(emulator: HubSpotEmulator) -> set[tuple[str, int]]:
    with emulator.lock:
        return {(str(r.id), r.updated_ms) for r in emulator.records["companies"].values() if not r.archived}


def settle(emulator: HubSpotEmulator, reader: Reader, lag_ms: int) -> None:
    """Changes stop and the index catches up; the reader finishes the pass it is in (which may
    have begun before the last changes), then the next pass must see every current version."""
    emulator.advance_clock(lag_ms + 1)
    if reader.mid_pass:
        reader.full_pass()
    reader.full_pass()


operations = st.lists(
    st.one_of(
        st.tuples(st.just("create"), st.integers(1, 30)),
        st.tuples(st.just("edit"), st.integers(0, 10_000), st.integers(1, 20)),
        st.tuples(st.just("advance"), st.integers(0, 2_500)),
        st.tuples(st.just("read"), st.integers(1, 4)),
    ),
    min_size=5,
    max_size=40,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ops=operations,
    page_size=st.integers(1, 25),
    lag=st.integers(0, 1_500),
    jitter=st.integers(0, 2_000),
    seed=st.integers(0, 1_000),
)
def test_changes_made_while_reading_are_all_seen_despite_index_lag(ops, page_size, lag, jitter, seed):
    emulator = portal(lag, jitter, seed)
    reader = Reader(connect(emulator, overlap_ms=5_000), page_size)
    ids: list[str] = []
    for op in ops:
        if op[0] == "create":
            ids += [emulator.create_record("companies", {"name": f"Co {len(ids) + n}"}) for n in range(op[1])]
        elif op[0] == "edit" and ids:
            for n in range(op[2]):  # several edits, some in the same millisecond
                emulator.edit_record("companies", ids[(op[1] + n * 7) % len(ids)], {"description": f"v{op[1]}-{n}"})
        elif op[0] == "advance":
            emulator.advance_clock(op[1])
        else:
            for _ in range(op[1]):
                reader.page()
    settle(emulator, reader, lag + jitter)
    missing = current_versions(emulator) - reader.delivered
    assert not missing, f"never delivered: {sorted(missing)[:5]}"


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    in_one_ms=st.integers(10_001, 10_100),
    spread=st.integers(100, 400),
    edits_between_pages=st.integers(1, 40),
    seed=st.integers(0, 100),
)
def test_more_than_10000_changes_in_one_window_are_all_seen_while_records_keep_changing(
    in_one_ms, spread, edits_between_pages, seed
):
    emulator = portal(lag_ms=300, jitter_ms=700, seed=seed)
    ids = [emulator.create_record("companies", {"name": f"Bulk {n}"}, notify=False) for n in range(in_one_ms)]  # one millisecond
    for n in range(spread):  # and more in the same window, a few per millisecond
        if n % 3 == 0:
            emulator.advance_clock(1)
        ids.append(emulator.create_record("companies", {"name": f"Spread {n}"}, notify=False))
    emulator.advance_clock(1_000)
    reader = Reader(connect(emulator, overlap_ms=5_000), page_size=200)
    edit = 0
    while reader.page():
        for _ in range(edits_between_pages):  # users keep editing while the backfill runs
            edit += 1
            emulator.edit_record("companies", ids[(edit * 7919 + seed) % len(ids)], {"description": f"edit {edit}"})
        emulator.advance_clock(37)
    settle(emulator, reader, 1_000)
    assert not current_versions(emulator) - reader.delivered
    # Never past the 10,000-result cap (that would be a 400 and an error here); at most two searches a page
    # (the page that narrows a crowded millisecond asks again by id).
    assert reader.pages <= emulator.counters()["calls"]["POST search"] <= 2 * reader.pages
    assert reader.largest_cursor < 200_000  # the cursor stays small JSON


def test_a_change_indexed_late_is_found_by_the_overlap_and_lost_without_it():
    """The scenario the overlap exists for: B is searchable before A although A changed first."""
    outcomes = {}
    for overlap in (0, 5_000):
        emulator = portal()
        late = emulator.create_record("companies", {"name": "Late"}, notify=False)
        emulator.advance_clock(10_000)
        reader = Reader(connect(emulator, overlap_ms=overlap), page_size=50)
        reader.full_pass()
        emulator.set_knobs(search_lag_ms=3_000)
        emulator.edit_record("companies", late, {"description": "slow to index"})  # A: searchable in 3 s
        emulator.advance_clock(500)
        emulator.set_knobs(search_lag_ms=0)
        emulator.create_record("companies", {"name": "Quick"}, notify=False)  # B: searchable at once, newer
        emulator.advance_clock(1_000)  # the next pass begins after both changes
        reader.full_pass()  # sees B, not A
        emulator.advance_clock(5_000)
        reader.full_pass()
        outcomes[overlap] = (late, to_ms(emulator.get_record("companies", late)[MODIFIED])) in reader.delivered
    assert outcomes == {0: False, 5_000: True}


def test_overlap_does_not_deliver_an_unchanged_version_twice():
    emulator = portal()
    for n in range(30):
        emulator.create_record("companies", {"name": f"Co {n}"}, notify=False)
    connector = connect(emulator, overlap_ms=60_000)
    first = connector.read_changes("companies", None, 200)
    assert len(first.records) == 30 and not first.has_more
    emulator.advance_clock(1_000)
    again = connector.read_changes("companies", first.cursor, 200)
    assert again.records == []  # re-read inside the overlap, but every version was already delivered


def test_first_read_returns_history_oldest_first_in_pages():
    emulator = portal()
    for n in range(7):
        emulator.create_record("companies", {"name": f"Co {n}"}, notify=False)
        emulator.advance_clock(10)
    connector = connect(emulator)
    page = connector.read_changes("companies", None, 3)
    stamps = [r.updated_at for r in page.records]
    assert len(page.records) == 3 and page.has_more and stamps == sorted(stamps)


@pytest.mark.parametrize("object_type, modified", [("contacts", "lastmodifieddate"), ("deals", "hs_lastmodifieddate")])
def test_each_object_type_reads_by_its_own_modified_property(object_type, modified):
    emulator = portal()
    props = {"contacts": {"email": "m@example.com"}, "deals": {"dealname": "D"}}[object_type]
    record_id = emulator.create_record(object_type, props, notify=False)
    page = connect(emulator).read_changes(object_type, None, 10)
    assert [r.id for r in page.records] == [record_id]
    assert page.records[0].properties[modified]
