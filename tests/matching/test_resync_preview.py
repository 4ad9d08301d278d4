"""The preview of a historical resync reads exactly what the resync will: the same objects and
the same "changed since" start (the resync's own cursors, placed by the same code), so its counts
equal the resync's that follows, object mapping by object mapping, direction by direction."""

import time
from datetime import date, timedelta

import pytest
from django.utils import timezone

from bench import twins
from mappings.services import previewed
from syncsmart.engine import historical, previews
from syncsmart.engine.slices import run_slice
from syncsmart.models import SyncRun
from tests.engine.conftest import build_pair

SINCE = date(2026, 11, 1)


@pytest.fixture(params=["connectwise", "dynamics"])
def settled(request, db):
    pair = build_pair(request.param)
    pair.integration.object_mappings.filter(other_object="leads").delete()
    twins.seed_pair(pair.hubspot, pair.other, request.param, twins.dataset(companies=10, contacts=30, deals=6, seed=4))
    assert pair.sync().status == "succeeded"
    yield pair, request.param
    pair.close()


def _add_company(pair, system: str, name: str, domain: str) -> None:
    if system == "connectwise":
        pair.other.add_company(name, website=f"https://{domain}/")
    else:
        pair.other.create_record("accounts", {"name": name, "websiteurl": f"https://{domain}/"})


def _split_by_a_moment(pair, system: str, monkeypatch) -> None:
    """Records on both sides made before and after one moment, never synced; "since SINCE" starts
    at that moment (the emulators stamp changes by the wall clock, so a date cannot part them)."""
    pair.hubspot.create_record("companies", {"name": "Before Split", "domain": "before-split.example.com"}, notify=False)
    if system == "connectwise":
        # Its feed re-reads the minute before a cursor (OVERLAP): "before" is longer ago than that.
        clock = pair.other.clock
        pair.other.clock = lambda: clock() - timedelta(minutes=5)
        _add_company(pair, system, "Other Before", "other-before.example.com")
        pair.other.clock = clock
    else:
        _add_company(pair, system, "Other Before", "other-before.example.com")
    time.sleep(1.1)  # ConnectWise stamps lastUpdated to the second
    moment = timezone.now()
    time.sleep(1.1)
    pair.hubspot.create_record("companies", {"name": "After Split", "domain": "after-split.example.com"}, notify=False)
    _add_company(pair, system, "Other After", "other-after.example.com")
    monkeypatch.setattr(historical, "since_start", lambda since: moment if since else None)


def _run_to_the_end(pair, run: SyncRun) -> SyncRun:
    connectors = pair.connectors()
    for _ in range(200):
        run_slice(str(run.pk), connectors=connectors)
        run.refresh_from_db()
        if run.status in SyncRun.FINISHED:
            return run
    raise AssertionError(f"run did not finish: {run.status} {run.error}")


def test_a_resync_preview_since_a_date_counts_what_that_resync_then_does(settled, monkeypatch):
    pair, system = settled
    _split_by_a_moment(pair, system, monkeypatch)
    question = previewed.resync(None, SINCE)
    pair.reset_counters()
    preview = previews.request_preview(
        pair.integration,
        None,
        kind=question.kind,
        purpose=question.purpose,
        with_creates=question.with_creates,
        since=question.since,
        enqueue=False,
    )
    preview = previews.run_preview(str(preview.pk), connectors=pair.connectors())
    assert preview.status == "done", preview.error
    assert pair.writes() == (0, 0)

    run = _run_to_the_end(pair, historical.start_historical_sync(pair.integration, None, since=SINCE))

    assert run.status == "succeeded", run.error
    assert previews.counts_of_preview(preview) == previews.counts_of_run(run)
    # Only what changed since the moment: the two companies made after it, not the two before.
    assert preview.result["totals"]["create"] == 2, preview.result["totals"]
    assert pair.hubspot.find_records("companies", "name", "Other After")
    assert not pair.hubspot.find_records("companies", "name", "Other Before")
