"""An idle run is cheap (a handful of queries, no schema discovery, no writes, no events), and
the change feed's read-ahead loses no page when a run yields, is cancelled or dies mid-page."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from connectors.emulation import utcnow
from connectors.models import Connection
from mappings.models import FieldMapping, ObjectMapping
from syncsmart.engine import historical, run_requests
from syncsmart.engine.context import RunContext
from syncsmart.engine.slices import run_slice
from syncsmart.models import RecordEvent, SyncCursor, SyncRun
from tests.engine.test_jobs import big_backfill

pytestmark = pytest.mark.django_db

WRITES = ("INSERT", "UPDATE", "DELETE")


def settled(pair) -> list[str]:
    """Records on both sides, synced, and synced again until a run changes nothing; the
    ConnectWise contacts' ids."""
    company = pair.other.add_company("Globex Corp", website="globex.example.com")
    contacts = [
        pair.other.add_contact(f"Ann{n}", "Lee", company_id=company["id"], email=f"ann{n}@globex.example.com")["id"]
        for n in range(3)
    ]
    initech = pair.hubspot.create_record("companies", {"name": "Initech", "domain": "initech.example.com"})
    pair.hubspot.create_record(
        "contacts", {"email": "bob@initech.example.com", "firstname": "Bob"}, associations={"companies": [initech]}
    )
    for _ in range(3):
        run = pair.sync(trigger=SyncRun.Trigger.SCHEDULE)
        assert run.status == "succeeded", run.error
        if not RecordEvent.objects.filter(run=run).exists():
            return contacts
    raise AssertionError("the pair never settled")


def past_the_overlap_windows(pair) -> None:
    """Move both vendors' clocks an hour on and sync once: a cursor whose records are still inside
    its overlap window moves with the clock (HubSpot's by whole seconds of its Date header), so a
    test that wants a quiet account must first leave every window behind, as the bench does."""
    pair.hubspot.advance_clock(3_600_000)
    pair.other.clock = lambda: utcnow() + dt.timedelta(hours=1)
    run = pair.sync(trigger=SyncRun.Trigger.SCHEDULE)
    assert run.status == "succeeded", run.error


def idle_run(pair) -> tuple[SyncRun, list[dict]]:
    run = SyncRun.objects.create(integration=pair.integration, trigger=SyncRun.Trigger.SCHEDULE)
    connectors = pair.connectors()
    try:
        with CaptureQueriesContext(connection) as queries:
            run_slice(str(run.pk), connectors=connectors)
    finally:
        for connector in connectors.values():
            connector.close()
    run.refresh_from_db()
    return run, queries.captured_queries


def writes_to(queries: list[dict], *tables: str) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(WRITES) and any(t in q["sql"] for t in tables)]


def test_an_idle_run_reads_its_state_in_a_handful_of_queries(cw_pair):
    settled(cw_pair)
    past_the_overlap_windows(cw_pair)  # else a cursor moving with the vendor's clock is stored
    run, queries = idle_run(cw_pair)
    assert run.status == "succeeded", run.error
    # The state read (run, integration, connections, and whether notifications, due deferred
    # records, queued deletions or a webhook check wait), the lease, running, the mappings and
    # their fields, the cursors, finished, the lease released: per run, not per flow or page.
    assert len(queries) <= 8, "\n".join(q["sql"][:120] for q in queries)


def test_an_idle_run_costs_the_same_queries_with_one_object_mapping_as_with_all(cw_pair):
    settled(cw_pair)
    past_the_overlap_windows(cw_pair)
    mappings = list(cw_pair.integration.object_mappings.filter(enabled=True).order_by("order", "id"))
    assert len(mappings) >= 2
    ObjectMapping.objects.filter(pk__in=[m.pk for m in mappings[1:]]).update(enabled=False)
    idle_run(cw_pair)  # the first run after a mapping change reads the property lists again
    _, one = idle_run(cw_pair)
    ObjectMapping.objects.filter(pk__in=[m.pk for m in mappings]).update(enabled=True)
    idle_run(cw_pair)
    run, every = idle_run(cw_pair)
    assert run.status == "succeeded", run.error
    assert len(every) == len(one) <= 8, "\n".join(q["sql"][:120] for q in every)


def property_list_reads(pair) -> int:
    return sum(n for key, n in pair.hubspot.counters()["calls"].items() if key.startswith("GET") and "properties" in key)


def test_an_idle_run_reads_no_hubspot_property_list_until_a_mapping_or_the_schema_changes(cw_pair):
    settled(cw_pair)
    past_the_overlap_windows(cw_pair)
    idle_run(cw_pair)
    cw_pair.reset_counters()
    idle_run(cw_pair)
    assert property_list_reads(cw_pair) == 0  # the lists the searches ask for are the connection's, kept across runs

    field = FieldMapping.objects.filter(object_mapping__integration=cw_pair.integration, enabled=True).first()
    field.only_if_target_empty = not field.only_if_target_empty
    field.save()
    cw_pair.reset_counters()
    idle_run(cw_pair)
    assert property_list_reads(cw_pair) >= 1  # a mapping change: a newly mapped property must be asked for

    cw_pair.reset_counters()
    idle_run(cw_pair)
    assert property_list_reads(cw_pair) == 0
    Connection.objects.filter(pk=cw_pair.integration.hubspot_connection_id).update(schema_refreshed_at=timezone.now())
    cw_pair.integration.refresh_from_db()
    idle_run(cw_pair)
    assert property_list_reads(cw_pair) >= 1  # Refresh fields: the vendor's lists are read again


def test_an_idle_run_writes_no_events_and_stores_no_cursor(cw_pair):
    settled(cw_pair)
    past_the_overlap_windows(cw_pair)
    cursors_before = dict(SyncCursor.objects.values_list("pk", "updated_at"))
    run, queries = idle_run(cw_pair)
    assert not RecordEvent.objects.filter(run=run).exists()  # the records at the cursors' boundary are not read again
    assert run.counts == {}
    assert dict(SyncCursor.objects.values_list("pk", "updated_at")) == cursors_before
    assert writes_to(queries, "recordevent", "recordlink", "deferredrecord", "synccursor", "inboxitem") == []


def test_an_idle_run_calls_only_the_change_feeds(cw_pair):
    settled(cw_pair)
    cw_pair.reset_counters()
    idle_run(cw_pair)
    other_calls = cw_pair.other.counters()["calls"]
    # One list read per ConnectWise object; no statuses, types or custom-field discovery. Notes are
    # listed only record by record, so they are walked at most every 15 minutes: not in this run.
    mappings = cw_pair.integration.object_mappings.filter(enabled=True).exclude(other_object__endswith="_notes")
    assert sum(other_calls.values()) == len(mappings)
    assert not [key for key in cw_pair.hubspot.counters()["calls"] if "pipelines" in key or "owners" in key]


def test_a_change_at_the_cursors_boundary_is_synced_once(cw_pair):
    contact_id = settled(cw_pair)[0]
    cw_pair.other.edit("contacts", contact_id, {"firstName": "Anne"})
    first = cw_pair.sync(trigger=SyncRun.Trigger.SCHEDULE)
    assert list(RecordEvent.objects.filter(run=first, source_side="other").values_list("outcome", flat=True)) == ["updated"]
    again = cw_pair.sync(trigger=SyncRun.Trigger.SCHEDULE)  # HubSpot reads our write back once (an echo)
    assert not RecordEvent.objects.filter(run=again, source_side="other").exists()
    cw_pair.other.edit("contacts", contact_id, {"firstName": "Annie"})  # same second as the last edit, new content
    third = cw_pair.sync(trigger=SyncRun.Trigger.SCHEDULE)
    assert list(RecordEvent.objects.filter(run=third, source_side="other").values_list("outcome", flat=True)) == ["updated"]


# --- the read-ahead --------------------------------------------------------------------------------
def page_ahead_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("page-ahead")]


def every_company_judged_once(pair, n=450):
    outcomes = list(
        RecordEvent.objects.filter(integration=pair.integration, source_object="companies").values_list("source_id", flat=True)
    )
    assert len(outcomes) == n and len(set(outcomes)) == n  # nothing lost, nothing judged twice


def test_a_run_that_yields_after_every_page_loses_no_page_read_ahead(cw_pair):
    big_backfill(cw_pair)
    run = SyncRun.objects.create(integration=cw_pair.integration, trigger="historical")
    connectors = cw_pair.connectors()
    for _ in range(30):
        run_slice(str(run.pk), connectors=connectors, max_seconds=0)  # yield after every page
        assert page_ahead_threads() == []  # the read ahead was waited for and dropped, not left running
        run.refresh_from_db()
        if run.status != "queued":
            break
    assert run.status == "succeeded", run.error
    assert run.pages >= 3  # 450 companies, a HubSpot search page at a time
    every_company_judged_once(cw_pair)


def test_a_run_that_dies_mid_page_resumes_from_the_last_committed_page(cw_pair, monkeypatch):
    big_backfill(cw_pair)
    pages = {"n": 0}
    original = RunContext.heartbeat

    def die_on_the_third_page(self, *args, **kwargs):
        pages["n"] += 1
        if pages["n"] == 3:
            raise RuntimeError("worker killed")  # inside the page's transaction: the page is rolled back
        return original(self, *args, **kwargs)

    monkeypatch.setattr(RunContext, "heartbeat", die_on_the_third_page)
    dead = cw_pair.sync(trigger="historical")
    assert dead.status == "failed" and dead.pages == 2
    assert page_ahead_threads() == []
    monkeypatch.setattr(RunContext, "heartbeat", original)
    resumed = cw_pair.sync(trigger="historical")
    assert resumed.status == "succeeded", resumed.error
    every_company_judged_once(cw_pair)


def test_cancelling_a_run_stops_it_after_the_page_and_drops_the_page_read_ahead(cw_pair, monkeypatch):
    monkeypatch.setattr("syncsmart.engine.queue.enqueue_run", lambda run_id: None)
    big_backfill(cw_pair)
    run = historical.start_historical_sync(cw_pair.integration, None)
    original = RunContext.heartbeat

    def cancel_during_the_first_page(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if self.run.pages == 1:
            run_requests.cancel_run(run, None)  # a user presses "cancel" while the run works

    monkeypatch.setattr(RunContext, "heartbeat", cancel_during_the_first_page)
    run_slice(str(run.pk), connectors=cw_pair.connectors(), max_seconds=600)
    run.refresh_from_db()
    assert run.status == "cancelled" and run.pages == 1
    assert page_ahead_threads() == []


def test_the_next_page_is_read_while_the_current_page_is_checkpointed(cw_pair, monkeypatch):
    big_backfill(cw_pair)
    connectors = cw_pair.connectors()
    reads, second_read_started = [], threading.Event()
    original_read = connectors["hubspot"].read_changes

    def read_changes(*args, **kwargs):
        reads.append(threading.current_thread().name)
        if len(reads) == 2:
            second_read_started.set()  # no database here: this runs on the read-ahead thread
        return original_read(*args, **kwargs)

    connectors["hubspot"].read_changes = read_changes
    seen_at_first_commit = []
    original_heartbeat = RunContext.heartbeat

    def heartbeat(self, *args, **kwargs):
        if not seen_at_first_commit:
            seen_at_first_commit.append(second_read_started.wait(timeout=30))
        return original_heartbeat(self, *args, **kwargs)

    monkeypatch.setattr(RunContext, "heartbeat", heartbeat)
    run = SyncRun.objects.create(integration=cw_pair.integration, trigger="historical")
    run_slice(str(run.pk), connectors=connectors, max_seconds=600)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    assert seen_at_first_commit == [True]  # page 2 was being read before page 1 was committed
    assert reads[1].startswith("page-ahead")
    every_company_judged_once(cw_pair)
