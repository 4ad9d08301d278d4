"""Runs as jobs: schedules, slices and fairness between tenants, the lease, the sweep."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mappings.services import actions
from syncsmart.engine import queue, tasks
from syncsmart.engine.lease import acquire_lease, release_lease
from syncsmart.engine.slices import run_slice
from syncsmart.engine.sweep import sweep_once
from syncsmart.models import InboxItem, RunLease, SyncRun
from tests.engine.conftest import build_pair

pytestmark = pytest.mark.django_db


def big_backfill(pair, n=450):
    companies = pair.integration.object_mappings.get(hubspot_object="companies")
    companies.direction, companies.create_policy = "to_other", "match_only"
    companies.save()
    for i in range(n):
        pair.hubspot.create_record("companies", {"name": f"Big {i}"}, notify=False)


def test_scheduled_run_executes_through_the_task_queue(cw_pair, settings, django_capture_on_commit_callbacks, monkeypatch):
    settings.SYNC_RUN_INLINE = True
    cw_pair.other.add_company("Globex Corp", website="globex.example.com")
    monkeypatch.setattr("connectors.hubspot.limits.hubspot_limiter", lambda *a, **k: None)  # the shared limiter has its own tests
    with django_capture_on_commit_callbacks(execute=True):
        tasks.scheduled_run(cw_pair.integration.pk)
    run = SyncRun.objects.get(trigger="schedule")
    assert run.status == "succeeded", run.error
    assert cw_pair.hubspot.find_records("companies", "name", "Globex Corp")


def test_a_big_backfill_yields_after_one_page_when_another_tenant_waits(db):
    big = build_pair()
    small = build_pair()
    try:
        big_backfill(big)
        small.other.add_company("Small Co", website="small.example.com")
        big_run = SyncRun.objects.create(integration=big.integration, trigger="historical")
        small_run = SyncRun.objects.create(integration=small.integration, trigger="manual")
        big_connectors, small_connectors = big.connectors(), small.connectors()
        run_slice(str(big_run.pk), connectors=big_connectors)
        big_run.refresh_from_db()
        assert big_run.status == "queued" and big_run.pages == 1  # one page, then back of the queue
        # The workers alternate; every time the small run waits, the backfill does one page at most.
        for _ in range(30):
            run_slice(str(small_run.pk), connectors=small_connectors)
            small_run.refresh_from_db()
            if small_run.status != "queued":
                break
            before = big_run.pages
            run_slice(str(big_run.pk), connectors=big_connectors)
            big_run.refresh_from_db()
            assert big_run.pages - before <= 1
        assert small_run.status == "succeeded"
        assert big_run.status == "queued"  # the backfill is still going: it did not hold the small run back
        for _ in range(20):
            run_slice(str(big_run.pk), connectors=big_connectors)
            big_run.refresh_from_db()
            if big_run.status != "queued":
                break
        assert big_run.status == "succeeded"
        assert big_run.counts["filtered"] == 450  # every record judged once: the slices lost nothing
    finally:
        big.close()
        small.close()


def test_a_run_of_a_busy_integration_waits_for_the_lease(cw_pair):
    first = SyncRun.objects.create(integration=cw_pair.integration, trigger="manual")
    assert acquire_lease(cw_pair.integration.pk, f"{first.pk}:worker-a")
    second = SyncRun.objects.create(integration=cw_pair.integration, trigger="schedule")
    result = run_slice(str(second.pk), connectors=cw_pair.connectors())
    second.refresh_from_db()
    assert result == {"skipped": "another run of this integration is active"}
    assert second.status == "queued"
    release_lease(cw_pair.integration.pk, f"{first.pk}:worker-a")
    run_slice(str(second.pk), connectors=cw_pair.connectors())
    second.refresh_from_db()
    assert second.status == "succeeded"


def test_a_run_that_found_the_lease_held_is_handed_on_when_the_holder_finishes(
    cw_pair, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr("syncsmart.engine.queue.enqueue_run", queued.append)
    first = SyncRun.objects.create(integration=cw_pair.integration, trigger="manual")
    assert acquire_lease(cw_pair.integration.pk, f"{first.pk}:worker-a")
    second = SyncRun.objects.create(integration=cw_pair.integration, trigger="webhook")
    assert run_slice(str(second.pk), connectors=cw_pair.connectors()) == {"skipped": "another run of this integration is active"}
    assert RunLease.objects.get(integration=cw_pair.integration).waiting
    assert release_lease(cw_pair.integration.pk, f"{first.pk}:worker-a")  # someone waited: the caller hands it on
    assert not RunLease.objects.get(integration=cw_pair.integration).waiting
    SyncRun.objects.filter(pk=first.pk).update(status="succeeded")
    RunLease.objects.filter(integration=cw_pair.integration).update(waiting=True)  # as if it had waited for this run
    third = SyncRun.objects.create(integration=cw_pair.integration, trigger="manual")
    with django_capture_on_commit_callbacks(execute=True):
        run_slice(str(third.pk), connectors=cw_pair.connectors())
    assert [str(pk) for pk in queued] == [str(second.pk)]  # the finished run's release started the waiting one


def test_releasing_a_lease_nobody_waited_for_is_one_update(cw_pair, monkeypatch):
    queued = []
    monkeypatch.setattr("syncsmart.engine.queue.enqueue_run", queued.append)
    assert acquire_lease(cw_pair.integration.pk, "worker-a")
    SyncRun.objects.create(integration=cw_pair.integration, trigger="schedule")  # queued, but never tried the lease
    with CaptureQueriesContext(connection) as queries:
        assert not release_lease(cw_pair.integration.pk, "worker-a")
    assert len(queries) == 1
    assert acquire_lease(cw_pair.integration.pk, "worker-b")  # free again


def test_a_lease_released_while_a_slice_asks_is_taken_not_waited_for(cw_pair):
    assert acquire_lease(cw_pair.integration.pk, "worker-a")
    RunLease.objects.filter(integration=cw_pair.integration).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert acquire_lease(cw_pair.integration.pk, "worker-b")  # expired: taken over, not marked waiting
    assert not RunLease.objects.get(integration=cw_pair.integration).waiting


def test_an_expired_lease_can_be_taken_over(cw_pair, settings):
    assert acquire_lease(cw_pair.integration.pk, "dead-worker")
    assert not acquire_lease(cw_pair.integration.pk, "live-worker")
    RunLease.objects.filter(integration=cw_pair.integration).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert acquire_lease(cw_pair.integration.pk, "live-worker")


def test_sweep_requeues_runs_a_dead_worker_left_and_inbox_items_nobody_took(cw_pair, monkeypatch):
    queued = []
    monkeypatch.setattr("syncsmart.engine.queue.enqueue_run", queued.append)
    long_ago = timezone.now() - timedelta(hours=1)
    dead = SyncRun.objects.create(
        integration=cw_pair.integration, trigger="manual", status="running", started_at=long_ago, heartbeat_at=long_ago
    )
    forgotten = SyncRun.objects.create(integration=cw_pair.integration, trigger="schedule", queued_at=long_ago)
    fresh = SyncRun.objects.create(integration=cw_pair.integration, trigger="manual")
    result = sweep_once()
    dead.refresh_from_db()
    assert dead.status == "queued"
    assert set(queued) == {dead.pk, forgotten.pk}
    assert fresh.pk not in queued
    assert result["dead_runs"] == 1
    # An inbox item with no run to drain it gets one.
    SyncRun.objects.update(status="succeeded")
    InboxItem.objects.create(
        integration=cw_pair.integration,
        side="hubspot",
        event_id="e1",
        object_type="contacts",
        record_id="1",
        received_at=long_ago,
    )
    with_inbox = sweep_once()
    assert with_inbox["inbox_runs"] == 1
    assert SyncRun.objects.filter(trigger="webhook", status="queued").exists()


def test_switching_off_cancels_waiting_runs_and_stops_scheduled_ones(cw_pair, monkeypatch):
    monkeypatch.setattr("syncsmart.engine.queue.enqueue_run", lambda run_id: None)
    waiting = SyncRun.objects.create(integration=cw_pair.integration, trigger="schedule")
    actions.set_main_switch(cw_pair.integration, None, False)
    waiting.refresh_from_db()
    assert waiting.status == "cancelled"
    late = SyncRun.objects.create(integration=cw_pair.integration, trigger="schedule")
    assert run_slice(str(late.pk)) == {"skipped": "switched off"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("workers", [8])
def test_lease_is_exclusive_under_contention(workers):
    if connection.vendor != "postgresql":
        pytest.skip("contention across connections is proven on PostgreSQL (set DATABASE_URL)")
    pair = build_pair()
    try:
        winners_per_round = []
        for round_number in range(30):
            barrier = threading.Barrier(workers)
            wins = []

            def contend(n, barrier=barrier, round_number=round_number, wins=wins):
                from django.db import connection as conn

                barrier.wait()
                if acquire_lease(pair.integration.pk, f"round{round_number}-worker{n}"):
                    wins.append(n)
                conn.close()

            threads = [threading.Thread(target=contend, args=(n,)) for n in range(workers)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            winners_per_round.append(len(wins))
            RunLease.objects.update(holder="", expires_at=timezone.now())
        assert winners_per_round == [1] * 30
    finally:
        pair.close()


def test_the_sweep_is_scheduled_every_minute_on_every_installation():
    from django_q.models import Schedule

    sweep = Schedule.objects.get(name=queue.SWEEP_SCHEDULE_NAME)
    assert sweep.func == "syncsmart.engine.tasks.sweep" and sweep.minutes == 1 and sweep.schedule_type == Schedule.MINUTES


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_on_one_integration_never_run_it_at_once():
    """Two threads with their own database connections execute two runs of one integration at
    the same time; a connector wrapper records how many runs were inside the vendor at once (one
    run may have several calls in flight: the next page is read while the current one works)."""
    if connection.vendor != "postgresql":
        pytest.skip("parallel workers are proven on PostgreSQL (set DATABASE_URL)")
    pair = build_pair()
    try:
        big_backfill(pair, n=300)
        inside, peak, lock = {}, [0], threading.Lock()

        class Watched:
            def __init__(self, inner, worker):
                self.inner = inner
                self.worker = worker

            def __getattr__(self, name):
                attr = getattr(self.inner, name)
                if name not in ("read_changes", "read_by_ids", "find_by", "create", "update"):
                    return attr

                def watched(*args, **kwargs):
                    with lock:
                        inside[self.worker] = inside.get(self.worker, 0) + 1
                        peak[0] = max(peak[0], sum(1 for calls in inside.values() if calls))
                    try:
                        return attr(*args, **kwargs)
                    finally:
                        with lock:
                            inside[self.worker] -= 1

                return watched

        runs = [SyncRun.objects.create(integration=pair.integration, trigger="manual") for _ in range(2)]
        barrier = threading.Barrier(2)

        def worker(run):
            from django.db import connection as conn

            connectors = {side: Watched(c, run.pk) for side, c in pair.connectors().items()}
            barrier.wait()
            for _ in range(50):
                run_slice(str(run.pk), connectors=connectors)
                run.refresh_from_db()
                if run.status != "queued":
                    break
                time.sleep(0.05)
            conn.close()

        threads = [threading.Thread(target=worker, args=(r,)) for r in runs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert peak[0] == 1
        assert sorted(SyncRun.objects.values_list("status", flat=True)) == ["succeeded", "succeeded"]
    finally:
        pair.close()


def test_bad_credentials_fail_the_run_and_mark_that_connection_reconnect_needed(cw_pair):
    connection = cw_pair.integration.other_connection
    connection.credentials = {"private_key": "not-the-key"}
    connection.save()
    run = cw_pair.sync()
    assert run.status == "failed" and "credentials" in run.error
    connection.refresh_from_db()
    cw_pair.integration.hubspot_connection.refresh_from_db()
    assert connection.status == "reconnect_needed"
    assert cw_pair.integration.hubspot_connection.status != "reconnect_needed"
    from connectors.connectwise.emulator import DEMO_PRIVATE_KEY

    connection.credentials = {"private_key": DEMO_PRIVATE_KEY}
    connection.save()
    assert cw_pair.sync().status == "succeeded"
    connection.refresh_from_db()
    assert connection.status == "ok"  # recovered by itself on the next good run


def test_a_record_deferred_too_often_fails_visibly(cw_pair):
    from syncsmart.models import DeferredRecord, RecordEvent

    companies = cw_pair.integration.object_mappings.get(hubspot_object="companies")
    companies.filter_to_other = {"match": "all", "conditions": [{"field": "name", "operator": "neq", "value": "Nowhere"}]}
    companies.save()  # its company never syncs
    company = cw_pair.hubspot.create_record("companies", {"name": "Nowhere", "domain": "nowhere.example.com"})
    hub_contact = cw_pair.hubspot.create_record(
        "contacts", {"email": "alone@nowhere.example.com", "firstname": "Alone"}, associations={"companies": [company]}
    )
    cw_pair.sync()  # a ConnectWise contact needs a company: it waits for its company
    row = DeferredRecord.objects.get(record_id=hub_contact)
    DeferredRecord.objects.filter(pk=row.pk).update(attempts=DeferredRecord.MAX_ATTEMPTS - 1, next_attempt_at=row.created_at)
    run = cw_pair.sync()
    event = RecordEvent.objects.get(run=run, source_side="hubspot", source_object="contacts", source_id=hub_contact)
    assert event.outcome == "failed" and event.message.startswith("Gave up after")
    assert cw_pair.other.count("contacts") == 0


def test_a_waiting_record_notified_again_before_its_next_try_does_not_use_up_its_tries(cw_pair):
    """Webhook runs that bring the waiting record again before it is due are not tries: the soak
    saw a logged call give up within two minutes while its contact was still on its way."""
    from syncsmart.models import DeferredRecord, InboxItem, RecordEvent

    companies = cw_pair.integration.object_mappings.get(hubspot_object="companies")
    companies.filter_to_other = {"match": "all", "conditions": [{"field": "name", "operator": "neq", "value": "Later"}]}
    companies.save()  # its company does not sync yet
    company = cw_pair.hubspot.create_record("companies", {"name": "Later", "domain": "later.example.com"})
    hub_contact = cw_pair.hubspot.create_record(
        "contacts", {"email": "waits@later.example.com", "firstname": "Waits"}, associations={"companies": [company]}
    )
    for n in range(DeferredRecord.MAX_ATTEMPTS + 2):
        InboxItem.objects.create(
            integration=cw_pair.integration, side="hubspot", event_id=f"e{n}", object_type="contacts", record_id=hub_contact
        )
        cw_pair.sync(trigger="webhook")
    row = DeferredRecord.objects.get(record_id=hub_contact)
    assert row.attempts <= DeferredRecord.IMMEDIATE_ATTEMPTS + 1 and not row.gave_up
    assert not RecordEvent.objects.filter(source_id=hub_contact, message__startswith="Gave up").exists()

    companies.filter_to_other = {}
    companies.save()
    DeferredRecord.objects.update(next_attempt_at=row.created_at)
    cw_pair.sync()
    assert cw_pair.other.count("contacts") == 1 and not DeferredRecord.objects.exists()


def test_a_long_page_keeps_its_lease_alive_between_write_batches(cw_pair, settings):
    """ConnectWise takes writes one by one, so a page of 1,000 can outlast a lease: the run renews
    it as it writes, and a run whose lease was taken over stops before committing anything."""
    from syncsmart.engine.context import RunContext

    settings.SYNC_LEASE_SECONDS = 60
    run = SyncRun.objects.create(integration=cw_pair.integration, trigger="manual")
    ctx = RunContext(cw_pair.integration, run, connectors=cw_pair.connectors())
    renewals = []
    ctx.renew = lambda: renewals.append(1) or len(renewals) < 2
    ctx._renewed_at -= 10
    ctx.keep_alive()
    assert renewals == [1]
    ctx.keep_alive()  # renewed a moment ago: no call
    assert renewals == [1]
    ctx._renewed_at -= 10
    from syncsmart.engine.run import LeaseLost

    with pytest.raises(LeaseLost):
        ctx.keep_alive()
    ctx.close()


def test_a_lease_renewed_moments_ago_is_not_renewed_again(cw_pair, settings, django_assert_num_queries):
    """Nobody can take a lease before it expires, so a renewal within a third of the lease is ours
    without a query; after that the run asks, and learns when another worker took it over."""
    from syncsmart.engine.lease import Lease

    settings.SYNC_LEASE_SECONDS = 60
    lease = Lease(cw_pair.integration.pk, "run-a")
    assert lease.acquire()
    with django_assert_num_queries(0):
        assert lease.renew()
    lease._renewed_at -= 21
    with django_assert_num_queries(1):
        assert lease.renew()
    RunLease.objects.filter(integration=cw_pair.integration).update(holder="run-b")  # it expired and was taken
    lease._renewed_at -= 21
    assert not lease.renew()
