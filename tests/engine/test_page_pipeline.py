"""The pipeline across pages (syncsmart/engine/flow/lookahead.py): the next page's match look-ups
go out while this page is checkpointed, never racing a value this page (or anything else of the
run) writes, and a crash between two pages creates nothing twice."""

import itertools
import threading

import pytest

from connectors.base import WriteInput
from syncsmart.engine.context import RunContext
from syncsmart.engine.flow import lookahead
from syncsmart.engine.run import Engine
from syncsmart.engine.slices import run_slice
from syncsmart.models import RecordEvent, RecordLink, SyncRun

pytestmark = pytest.mark.django_db

PAGE = 2  # ConnectWise companies per page


def companies_only(pair) -> None:
    """Only the companies mapping, ConnectWise → HubSpot, creating what matches nothing by domain."""
    for mapping in pair.integration.object_mappings.all():
        if mapping.hubspot_object == "companies":
            mapping.direction, mapping.create_policy = "to_hubspot", "create"
        else:
            mapping.enabled = False
        mapping.save()


def seed(pair, domains: list[str]) -> list[dict]:
    return [pair.other.add_company(f"Co {n}", website=domain) for n, domain in enumerate(domains)]


def hubspot_companies(pair, domain: str) -> list[str]:
    return pair.hubspot.find_records("companies", "domain", domain)


def backfill(pair, connectors=None) -> SyncRun:
    run = SyncRun.objects.create(integration=pair.integration, trigger="historical")
    connectors = connectors or small_pages(pair)
    run_slice(str(run.pk), connectors=connectors, max_seconds=600)
    run.refresh_from_db()
    return run


def small_pages(pair) -> dict:
    connectors = pair.connectors()
    connectors["other"].max_page_size = PAGE
    return connectors


class Journal:
    """What the HubSpot connector was asked, in order: creates sent and answered, look-ups sent
    (by the look-ahead or by the page itself) and look-aheads whose answers a page used."""

    def __init__(self, connector, monkeypatch):
        self.entries: list[tuple] = []
        self._seq = itertools.count()
        self._lock = threading.Lock()
        create, find_by = connector.create, connector.find_by

        def logged_create(object_type, inputs):
            values = {str(i.properties.get("domain") or "") for i in inputs}
            self.add("create sent", values)
            try:
                return create(object_type, inputs)
            finally:
                self.add("create answered", values)

        def logged_find(object_type, field_name, values):
            ahead = threading.current_thread().name.startswith("look-ahead")
            self.add("look-ahead sent" if ahead else "look-up sent", set(values))
            return find_by(object_type, field_name, values)

        connector.create, connector.find_by = logged_create, logged_find
        take = lookahead.LookAhead.take

        def logged_take(look_ahead):
            answers = take(look_ahead)
            if answers:
                self.add("look-ahead used", {v for values, _ in answers.values() for v in values})
            return answers

        monkeypatch.setattr(lookahead.LookAhead, "take", logged_take)

    def add(self, what: str, values: set[str]) -> None:
        with self._lock:
            self.entries.append((next(self._seq), what, values))


def used_look_aheads_never_raced_a_create(journal: Journal) -> int:
    """Every look-ahead a page used was sent with no create in flight, and no create was sent
    between it and its use. Returns how many were used."""
    used = 0
    in_flight, sent_since_look_ahead = 0, False
    for _, what, _values in journal.entries:
        if what == "create sent":
            in_flight += 1
            sent_since_look_ahead = True
        elif what == "create answered":
            in_flight -= 1
        elif what == "look-ahead sent":
            assert in_flight == 0, "a look-ahead went out while a create was unanswered"
            sent_since_look_ahead = False
        elif what == "look-ahead used":
            assert not sent_since_look_ahead, "a look-ahead was used after a create it could not have seen"
            used += 1
    return used


def test_the_pipeline_never_creates_a_record_twice_when_two_records_in_consecutive_pages_share_a_match_key(cw_pair, monkeypatch):
    companies_only(cw_pair)
    # Pages of two: the shared domains sit on both sides of every page boundary.
    domains = ["a.example.com", "b.example.com", "b.example.com", "c.example.com", "c.example.com", "d.example.com"]
    domains += [f"u{n}.example.com" for n in range(6)]
    seed(cw_pair, domains)
    connectors = small_pages(cw_pair)
    journal = Journal(connectors["hubspot"], monkeypatch)

    run = backfill(cw_pair, connectors)

    assert run.status == "succeeded", run.error
    assert run.pages >= len(domains) // PAGE
    assert used_look_aheads_never_raced_a_create(journal) >= 2  # the pipeline ran, and safely
    # The same as one page after another: the company created for b (or c) on one page is taken
    # (linked) when the next page looks b up, so the second b record gets its own company, as
    # without the pipeline; a look-up that had missed the first would be just as safe here, but the
    # journal shows none was used before the create it could not see was answered.
    for domain in domains:
        assert len(hubspot_companies(cw_pair, domain)) == domains.count(domain), domain
    links = RecordLink.objects.filter(integration=cw_pair.integration, hubspot_object="companies")
    assert links.count() == len(domains)
    assert len(set(links.values_list("hubspot_id", flat=True))) == len(domains)  # none linked twice
    assert RecordEvent.objects.filter(run=run, outcome="created").count() == len(domains)


def test_a_look_ahead_is_dropped_when_the_run_writes_to_the_target_before_the_next_page(cw_pair, monkeypatch):
    """A write of ours between the look-ahead and its use (a webhook page drained between two
    pages, a parent created) may have made what the next page looks up: look it up again."""
    companies_only(cw_pair)
    seed(cw_pair, ["a.example.com", "b.example.com", "c.example.com", "d.example.com"])
    original = Engine._check
    written = []

    def write_between_pages(engine, *, worked):
        if worked and not written:  # after page 1, its look-ahead for page 2 already answered
            connector = engine.ctx.connector("hubspot")
            results = connector.create("companies", [WriteInput({"name": "C made meanwhile", "domain": "c.example.com"})])
            written.append(str(results[0].id))
        return original(engine, worked=worked)

    monkeypatch.setattr(Engine, "_check", write_between_pages)
    connectors = small_pages(cw_pair)
    journal = Journal(connectors["hubspot"], monkeypatch)

    run = backfill(cw_pair, connectors)

    assert run.status == "succeeded", run.error
    assert written
    # Page 2's c record found the company written meanwhile and linked it: nothing created twice.
    assert hubspot_companies(cw_pair, "c.example.com") == written
    c_event = RecordEvent.objects.get(run=run, outcome="linked")
    assert c_event.target_id == written[0]
    kinds = [what for _, what, _ in journal.entries]
    assert "look-ahead sent" in kinds
    assert kinds.count("look-ahead used") < kinds.count("look-ahead sent")  # the stale one was not used


def test_a_crash_between_two_pages_sharing_a_match_key_creates_nothing_twice(cw_pair, monkeypatch):
    companies_only(cw_pair)
    domains = ["a.example.com", "b.example.com", "b.example.com", "c.example.com", "d.example.com", "e.example.com"]
    seed(cw_pair, domains)
    pages = {"n": 0}
    original = RunContext.heartbeat

    def die_on_the_second_page(self, *args, **kwargs):
        pages["n"] += 1
        if pages["n"] == 2:
            # Inside page 2's transaction, after its creates and with page 3's look-ahead out.
            raise RuntimeError("worker killed")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(RunContext, "heartbeat", die_on_the_second_page)
    dead = backfill(cw_pair)
    assert dead.status == "failed" and dead.pages == 1
    assert [t for t in threading.enumerate() if t.name.startswith("look-ahead")] == []  # waited for, dropped
    monkeypatch.setattr(RunContext, "heartbeat", original)

    resumed = backfill(cw_pair)

    assert resumed.status == "succeeded", resumed.error
    for domain in domains:
        assert len(hubspot_companies(cw_pair, domain)) == domains.count(domain), domain
    links = RecordLink.objects.filter(integration=cw_pair.integration, hubspot_object="companies")
    assert links.count() == len(domains)
    assert len(set(links.values_list("hubspot_id", flat=True))) == len(domains)
