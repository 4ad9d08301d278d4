"""Memory: a run holds one page (or a page read ahead) at a time, whatever the backfill's size,
and `manage.py sync` reports its own peak memory, not the peak of the process that started it."""

import gc
import json
import os
import subprocess
import sys
import threading
import weakref

import pytest
from django.db.models.signals import post_init

from connectors.connectwise.connector import ConnectWiseConnector
from syncsmart.models import RecordEvent, RecordLink

pytestmark = pytest.mark.django_db

PAGE = 20
PAGES_OF_CONTACTS = 12
# Pages that may still be in hand when the next one is read: the page being written, the page
# read ahead while it is written, and one whose checkpoint is just finishing.
PAGES_IN_HAND = 3


class PageTracker:
    """Remembers, by page read, weak references to every record the source returned and every
    link and event row the engine built; at each later read, reports those of old pages that are
    still alive (kept by someone after their page was checkpointed)."""

    def __init__(self):
        self.reads = 0
        self.refs: list[tuple[int, str, weakref.ref]] = []
        self.kept: list[str] = []
        self._lock = threading.Lock()

    def track(self, kind: str, obj) -> None:
        with self._lock:
            self.refs.append((self.reads, kind, weakref.ref(obj)))

    def on_read(self) -> None:
        gc.collect()
        with self._lock:
            self.reads += 1
            for page, kind, ref in self.refs:
                if page <= self.reads - PAGES_IN_HAND and ref() is not None:
                    self.kept.append(f"{kind} of read {page}, still alive at read {self.reads}")
            self.refs = [(page, kind, ref) for page, kind, ref in self.refs if ref() is not None]

    def on_model_init(self, sender, instance, **kwargs) -> None:
        self.track(sender.__name__, instance)


@pytest.fixture
def tracker(monkeypatch):
    tracker = PageTracker()
    original = ConnectWiseConnector.read_changes

    def read_changes(self, object_type, cursor, page_size=None):
        tracker.on_read()
        page = original(self, object_type, cursor, PAGE)
        for record in page.records:
            tracker.track("Record", record)
        return page

    monkeypatch.setattr(ConnectWiseConnector, "read_changes", read_changes)
    for model in (RecordEvent, RecordLink):
        post_init.connect(tracker.on_model_init, sender=model, weak=False)
    yield tracker
    for model in (RecordEvent, RecordLink):
        post_init.disconnect(tracker.on_model_init, sender=model)


def test_a_backfill_keeps_no_records_links_or_events_of_checkpointed_pages(cw_pair, tracker):
    for n in range(PAGE * PAGES_OF_CONTACTS // 5):
        company = cw_pair.other.add_company(f"Memory {n}", website=f"memory{n}.example.com")
        for m in range(5):
            cw_pair.other.add_contact(f"First{m}", f"Last{n}", company_id=company["id"], email=f"p{m}@memory{n}.example.com")
    run = cw_pair.sync()
    assert run.status == "succeeded", run.error
    assert run.counts["created"] == PAGE * PAGES_OF_CONTACTS * 6 // 5
    assert tracker.reads >= PAGES_OF_CONTACTS  # the check looked at every page
    assert tracker.kept == []


def test_the_tracker_notices_a_run_that_keeps_its_pages(cw_pair, tracker, monkeypatch):
    """The check above can fail: a connector that hoards what it read is caught."""
    hoard = []
    spied = ConnectWiseConnector.read_changes

    def hoarding(self, object_type, cursor, page_size=None):
        page = spied(self, object_type, cursor, page_size)
        hoard.extend(page.records)
        return page

    monkeypatch.setattr(ConnectWiseConnector, "read_changes", hoarding)
    for n in range(PAGE * 6 // 5):
        company = cw_pair.other.add_company(f"Hoard {n}", website=f"hoard{n}.example.com")
        for m in range(5):
            cw_pair.other.add_contact(f"First{m}", f"Last{n}", company_id=company["id"], email=f"p{m}@hoard{n}.example.com")
    assert cw_pair.sync().status == "succeeded"
    assert any(entry.startswith("Record of read") for entry in tracker.kept)


BALLAST_MB = 512


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM is Linux's")
def test_a_child_reports_its_own_peak_memory_not_its_parents():
    """The bench starts `manage.py sync` from a process holding every seeded record. Linux hands a
    parent's resident set down into a child's ru_maxrss, so only the child's own high-water mark
    says what the sync used."""
    ballast = bytearray(BALLAST_MB * 1024 * 1024)
    ballast[::4096] = b"\1" * len(range(0, len(ballast), 4096))  # touched, so resident here
    code = (
        "import django, json; django.setup(); "
        "from syncsmart.management.commands.sync import own_peak_rss_mb; print(json.dumps(own_peak_rss_mb()))"
    )
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="syncsmart.settings")
    child = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, timeout=120)
    peak = json.loads(child.stdout.strip().splitlines()[-1])
    assert 0 < peak < BALLAST_MB
    del ballast
