"""A first run (or a preview) of many slices reads each target object's match index once, not
once per slice, and keeps it correct between slices: what an earlier slice of the run created is
still never duplicated, and what someone else created on the target between two slices is
found (the kept index reads the records changed since it was built)."""

import time

import pytest

from bench import twins
from connectors.base import Record
from mappings.match_rules import KeyField, MatchKey
from syncsmart.engine.matching import MATCH_INDEXES, TargetIndex
from syncsmart.engine.slices import run_slice
from syncsmart.models import RecordEvent, RecordLink, SyncRun
from tests.engine.conftest import build_pair

PAGE = 10  # records per change-feed page: many pages, and each slice works one


def _connectors(pair):
    connectors = pair.connectors()
    for connector in connectors.values():
        connector.max_page_size = PAGE
    return connectors


def _slices(pair, connectors, run, *, between=None, limit=400) -> int:
    """Run slices of `run` (each ends after its first page) until it finishes; how many."""
    for done in range(1, limit + 1):
        run_slice(str(run.pk), connectors=connectors, max_seconds=0)
        run.refresh_from_db()
        if run.status in SyncRun.FINISHED:
            return done
        if between is not None:
            between(done)
    raise AssertionError(f"run did not finish in {limit} slices: {run.status} {run.error}")


@pytest.fixture(params=["connectwise", "dynamics"])
def twin_pair(request, db):
    pair = build_pair(request.param)
    pair.integration.object_mappings.filter(other_object="leads").delete()
    data = twins.dataset(companies=12, contacts=60, deals=10, one_sided=0.10, seed=11)
    twins.seed_pair(pair.hubspot, pair.other, request.param, data)
    yield pair, data, request.param
    pair.close()


def test_a_run_of_many_slices_reads_each_match_index_once_and_duplicates_nothing(twin_pair):
    pair, data, system = twin_pair
    expected = data.expected()
    records_on_both_sides = sum(e["both"] * 2 + e["hubspot_only"] + e["other_only"] for e in expected.values())
    connectors = _connectors(pair)
    run = SyncRun.objects.create(integration=pair.integration, trigger=SyncRun.Trigger.MANUAL)
    try:
        slices = _slices(pair, connectors, run)
    finally:
        for connector in connectors.values():
            connector.close()

    assert run.status == "succeeded", run.error
    assert slices > 12, slices  # the point: many slices, each of one page
    # Every record of both sides read into an index once for the whole run. The old per-slice
    # index read them again in every slice (here > 12 times as many).
    assert run.counts["match_index_records"] == records_on_both_sides, (run.counts, slices)
    # Later slices read only what changed since: at most what the run itself created, plus the
    # records its links wrote ids to.
    created = run.counts.get("created", 0)
    assert run.counts.get("match_index_refreshed", 0) <= 2 * records_on_both_sides, run.counts
    assert created == sum(e["hubspot_only"] + e["other_only"] for e in expected.values())
    hub, other = twins.census_hubspot(pair.hubspot), twins.CENSUS[system](pair.other)
    for obj in ("companies", "contacts", "deals"):
        assert hub.count(obj) == other.count(obj) == expected[obj]["total"], (obj, hub.summary(), other.summary())
        assert hub.duplicates(obj) == other.duplicates(obj) == 0, (obj, hub.summary(), other.summary())
    assert RecordLink.objects.filter(object_mapping__integration=pair.integration).count() == sum(
        e["total"] for e in expected.values()
    )
    assert not [k for k in list(MATCH_INDEXES._indexes) if k[0] == str(run.pk)], "a finished run's indexes are dropped"


def test_a_record_someone_else_creates_on_the_target_between_two_slices_is_linked_not_duplicated(db):
    pair = build_pair("dynamics")
    try:
        pair.integration.object_mappings.exclude(other_object="contacts").delete()
        emails = [f"person{n:02d}@northwind.example.com" for n in range(40)]
        hubspot_ids = [
            pair.hubspot.create_record("contacts", {"email": email, "firstname": "P", "lastname": f"N{n}"}, notify=False)
            for n, email in enumerate(emails)
        ]
        for n, email in enumerate(emails[:5]):  # twins already on ConnectWise: the target holds records
            pair.other.create_record("contacts", {"firstname": "P", "lastname": f"N{n}", "emailaddress1": email.upper()})
        late = emails[-1]  # the last contact of HubSpot's feed: its page comes slices later
        injected: dict[str, str] = {}

        def someone_else_creates_it(done: int) -> None:
            if done != 1:
                return
            assert RecordEvent.objects.filter(run=run).exists(), "the first slice worked a page"
            assert not RecordLink.objects.filter(hubspot_id=hubspot_ids[-1]).exists(), "its page comes later"
            time.sleep(1.1)  # after the index's cursor, whatever the vendor's stamp resolution
            record = {"firstname": "P", "lastname": "N39", "emailaddress1": f"  {late.title()} "}
            injected["id"] = str(pair.other.create_record("contacts", record))

        connectors = _connectors(pair)
        run = SyncRun.objects.create(integration=pair.integration, trigger=SyncRun.Trigger.MANUAL)
        try:
            slices = _slices(pair, connectors, run, between=someone_else_creates_it)
        finally:
            for connector in connectors.values():
                connector.close()

        assert run.status == "succeeded", run.error
        assert slices > 3 and injected, slices
        census = twins.census_dynamics(pair.other)
        assert census.duplicates("contacts") == 0, census.summary()
        assert census.count("contacts") == 40
        mapping = pair.integration.object_mappings.get()
        link = RecordLink.objects.get(object_mapping=mapping, other_id=injected["id"])
        assert str(link.hubspot_id) == str(hubspot_ids[-1])
        assert run.counts["linked"] == 6 and run.counts["created"] == 34, run.counts
        assert run.counts["match_index_records"] < 40 + 5 + 40, run.counts  # each side read once, not per slice
    finally:
        pair.close()


def test_a_kept_index_re_keys_a_record_that_changed_and_drops_one_deleted():
    key = MatchKey((KeyField("email", "emailaddress1", "email"),))
    index = TargetIndex([key], "other")
    index.add([Record("a", {"emailaddress1": "Old@Example.com"}), Record("b", {"emailaddress1": "b@example.com"})])
    index.add([Record("a", {"emailaddress1": " New@Example.com"}), Record("b", {}, deleted=True)])
    assert index.by_key[0] == {("new@example.com",): ["a"]}
    assert set(index.labels) == {"a"}
