"""A page's vendor calls go out side by side, up to the target connection's bound, and that
changes nothing about crash safety: chunks that answered keep their links whatever happens to a
chunk beside them, and nothing is created twice when the run is stopped in the middle of a page.

Concurrency is proven at the emulator, by counting requests being handled at the same time
(the emulator is made a little slow so calls can overlap), never by timing."""

from __future__ import annotations

import threading

import pytest
from django.utils import timezone

from connectors.base import ConnectorError, ErrorKind
from connectors.connectwise.connector import ConnectWiseConnector
from connectors.hubspot.connector import HubSpotConnector
from syncsmart.engine import context
from syncsmart.engine.run import LeaseLost
from syncsmart.engine.slices import run_slice
from syncsmart.models import RecordLink, RunLease, SyncRun

pytestmark = pytest.mark.django_db

CONTACTS = 450  # one ConnectWise page, five HubSpot batch creates of at most 100


class InFlight:
    """Counts an emulator's requests in progress, per route, and the most seen at once."""

    def __init__(self, emulator, latency_ms: float = 40):
        self.lock = threading.Lock()
        self.now: dict[str, int] = {}
        self.most: dict[str, int] = {}
        handle = emulator.handle
        emulator.set_knobs(latency_ms=(latency_ms, latency_ms))

        def counting(request):
            key = f"{request.method} {request.path}"
            with self.lock:
                self.now[key] = self.now.get(key, 0) + 1
                self.most[key] = max(self.most.get(key, 0), self.now[key])
            try:
                return handle(request)
            finally:
                with self.lock:
                    self.now[key] -= 1

        emulator.handle = counting

    def peak(self, route: str, method: str = "POST") -> int:
        return max((n for key, n in self.most.items() if key.startswith(method + " ") and key.endswith(route)), default=0)


def seed_connectwise_contacts(pair, n: int = CONTACTS) -> None:
    companies = [pair.other.add_company(f"Par Company {c}", website=f"par{c}.example.com") for c in range((n + 4) // 5)]
    for i in range(n):
        pair.other.add_contact(f"Par{i}", "Person", company_id=companies[i // 5]["id"], email=f"par{i}@par{i // 5}.example.com")


def hubspot_contact_links() -> int:
    return RecordLink.objects.filter(hubspot_object="contacts").count()


def test_a_pages_batch_creates_overlap_up_to_the_connections_bound(cw_pair):
    seed_connectwise_contacts(cw_pair)
    hubspot = InFlight(cw_pair.hubspot)
    run = cw_pair.sync()
    assert run.status == "succeeded", run.error
    assert cw_pair.hubspot.count("contacts") == CONTACTS
    assert 2 <= hubspot.peak("contacts/batch/create") <= HubSpotConnector.max_concurrency
    assert 2 <= hubspot.peak("contacts/batch/read") <= HubSpotConnector.max_concurrency  # the match look-ups


def test_the_concurrency_setting_bounds_a_connection(cw_pair, settings):
    settings.SYNC_VENDOR_CONCURRENCY = {"hubspot": 1}
    seed_connectwise_contacts(cw_pair)
    hubspot = InFlight(cw_pair.hubspot)
    run = cw_pair.sync()
    assert run.status == "succeeded", run.error
    assert cw_pair.hubspot.count("contacts") == CONTACTS
    assert hubspot.peak("contacts/batch/create") == 1


def test_connectwise_writes_one_record_per_call_several_at_a_time(cw_pair):
    for i in range(30):
        company = cw_pair.hubspot.create_record("companies", {"name": f"Hub Company {i}", "domain": f"hubpar{i}.example.com"})
        cw_pair.hubspot.create_record(
            "contacts", {"email": f"hub{i}@hubpar{i}.example.com", "firstname": f"Hub{i}"}, associations={"companies": [company]}
        )
    connectwise = InFlight(cw_pair.other)
    run = cw_pair.sync()
    assert run.status == "succeeded", run.error
    assert cw_pair.other.count("contacts") == 30 and cw_pair.other.count("companies") == 30
    assert 2 <= connectwise.peak("company/contacts") <= ConnectWiseConnector.max_concurrency


def test_a_chunk_that_fails_does_not_lose_the_links_of_the_chunks_beside_it(cw_pair, monkeypatch):
    seed_connectwise_contacts(cw_pair)
    original = HubSpotConnector.create
    doomed = {"first": True}

    def create(self, object_type, inputs):
        if object_type == "contacts" and doomed.pop("first", False):
            raise ConnectorError("HubSpot refused the whole batch", ErrorKind.VALIDATION)
        return original(self, object_type, inputs)

    monkeypatch.setattr(HubSpotConnector, "create", create)
    failed = cw_pair.sync()
    assert failed.status == "failed"
    created = cw_pair.hubspot.count("contacts")
    assert created >= 100  # the chunks already in flight when the first one failed got through...
    assert hubspot_contact_links() == created  # ...and every record they made is linked
    monkeypatch.setattr(HubSpotConnector, "create", original)
    again = cw_pair.sync()
    assert again.status == "succeeded", again.error
    assert cw_pair.hubspot.count("contacts") == CONTACTS  # none twice
    assert hubspot_contact_links() == CONTACTS


def test_a_run_stopped_mid_page_creates_nothing_twice(cw_pair, monkeypatch):
    seed_connectwise_contacts(cw_pair)
    original = context.RunContext.keep_alive

    def keep_alive(self, every: float = 5.0):
        if cw_pair.hubspot.count("contacts"):  # a chunk has answered: the lease is gone before the next goes out
            raise LeaseLost("taken over")
        return original(self, every)

    monkeypatch.setattr(context.RunContext, "keep_alive", keep_alive)
    with pytest.raises(AssertionError, match="did not finish"):
        cw_pair.sync(max_slices=1)
    created = cw_pair.hubspot.count("contacts")
    assert 0 < created < CONTACTS  # stopped mid-page, with chunks still unsent
    assert hubspot_contact_links() == created
    monkeypatch.setattr(context.RunContext, "keep_alive", original)
    RunLease.objects.update(holder="", expires_at=timezone.now())  # the lease runs out; another worker takes the run over
    stopped = SyncRun.objects.get(status=SyncRun.Status.RUNNING)
    connectors = cw_pair.connectors()
    for _ in range(20):
        run_slice(str(stopped.pk), connectors=connectors)
        stopped.refresh_from_db()
        if stopped.status in SyncRun.FINISHED:
            break
    assert stopped.status == "succeeded", stopped.error
    assert cw_pair.hubspot.count("contacts") == CONTACTS
    assert hubspot_contact_links() == CONTACTS
