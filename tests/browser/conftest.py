"""Chromium through Playwright against pytest-django's live_server.

Choices made explicit:
- The q2 worker does not run in these tests. `SYNCSMART_UI_RUN_INLINE` makes "Sync now" and
  "Start historical sync" execute the engine's run in the web request (see mappings/ui_actions.py),
  so a click is followed by a real sync against the emulators.
- Emulators run in-process: connectors.http.mount routes each connection's base URL to the
  emulator's WSGI transport, in the same process as the live server thread.
- Screenshots of the main pages land in artifacts/screenshots/ (git-ignored).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Playwright's sync API keeps an event loop in this thread; the ORM calls the tests make between
# browser steps are ordinary synchronous calls, which Django would otherwise refuse here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    pg = context.new_page()
    yield pg
    context.close()


@pytest.fixture
def screenshot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def log_in(page, live_server, email: str, password: str) -> None:
    page.goto(live_server.url + "/login/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live_server.url + "/")


# --- the world the browser tests run in ----------------------------------------------------

import itertools  # noqa: E402
import threading  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

from connectors import http  # noqa: E402
from tests.factories import NoLimit  # noqa: E402

_hosts = itertools.count(1)
HUB_COMPANIES = [
    ("Initech SyncSmart", "initech.example.com"),
    ("Globex SyncSmart", "globex.example.com"),
    ("Umbrella SyncSmart", "umbrella.example.com"),
]
HUB_CONTACTS = [
    ("Peter", "Gibbons", "customer"),
    ("Ann", "Lee", "customer"),
    ("Bill", "Lumbergh", "lead"),
    ("Milton", "Waddams", "lead"),
    ("Joanna", "Smith", "customer"),
    ("Tom", "Smykowski", "evangelist"),
]


@dataclass
class Worker:
    """Plays django-q2's worker, explicitly: runs the test queues are executed here, in the test
    thread, when the test says so ("Sync now" queues; `drain()` runs). With SQLite's shared
    in-memory test database the live server and this thread share one connection, so both take
    `lock` (the live server around every request) and never use it at the same time."""

    integration: Any = None
    queued: list[str] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def connectors(self) -> dict[str, Any]:
        retry = http.default_retry(total=4, backoff_factor=0.01, max_backoff_wait=0.05)
        return {
            "hubspot": self.integration.hubspot_connection.connector(retry=retry, limiter=NoLimit()),
            "other": self.integration.other_connection.connector(retry=retry, limiter=NoLimit()),
        }

    def slice(self, run_id: str, max_seconds: float | None = None) -> None:
        from syncsmart.engine.slices import run_slice

        connectors = self.connectors()
        try:
            with self.lock:
                run_slice(run_id, connectors=connectors, max_seconds=max_seconds)
        finally:
            for connector in connectors.values():
                connector.close()

    def drain(self, max_slices: int = 100) -> None:
        """Run every queued run (and the slices they re-queue) to the end."""
        for _ in range(max_slices):
            if not self.queued:
                return
            self.slice(self.queued.pop(0))
        raise AssertionError("runs kept re-queueing")


@pytest.fixture
def worker(monkeypatch):
    from django.core.handlers.base import BaseHandler

    the_worker = Worker()
    monkeypatch.setattr("syncsmart.engine.queue.enqueue_run", lambda run_id: the_worker.queued.append(str(run_id)))
    original = BaseHandler.get_response

    def serialised(self, request):
        with the_worker.lock:
            return original(self, request)

    monkeypatch.setattr(BaseHandler, "get_response", serialised)
    return the_worker


@pytest.fixture(autouse=True)
def previews_run_at_once(monkeypatch):
    """A preview a page asks for (before a resync, a switch, turning a mapping on) runs inside
    that request, reading the emulators: no q2 worker runs in these tests."""
    from syncsmart.engine import previews

    monkeypatch.setattr(previews, "_enqueue", lambda preview_id: previews.run_preview(str(preview_id)))


@dataclass
class World:
    integration: Any
    hubspot: Any
    connectwise: Any
    email: str
    password: str
    hub_companies: dict = field(default_factory=dict)
    hub_contacts: dict = field(default_factory=dict)

    def hubspot_records(self, object_type: str) -> list[dict]:
        """Every live record of a type in the HubSpot emulator, as its properties."""
        with self.hubspot.lock:
            return [dict(r.properties) for r in self.hubspot.records[object_type].values() if not r.archived]


@pytest.fixture
def world(transactional_db, worker, settings):
    """A tenant whose HubSpot ↔ ConnectWise integration runs against in-process emulators, after
    its first sync; the owner logs in with e-mail and password."""
    from connectors.connectwise.emulator import (
        DEMO_CLIENT_ID,
        DEMO_COMPANY,
        DEMO_PRIVATE_KEY,
        DEMO_PUBLIC_KEY,
        ConnectWiseEmulator,
    )
    from connectors.hubspot.emulator import DEFAULT_TOKEN, HubSpotEmulator
    from mappings.services import actions
    from tenants.connections import refresh_schema
    from tests.factories import PASSWORD, ConnectionFactory, MembershipFactory, TenantFactory, UserFactory

    hubspot, connectwise = HubSpotEmulator(limits=False), ConnectWiseEmulator(limits=False)
    n = next(_hosts)
    hub_url, cw_url = f"https://hubspot-browser-{n}.test", f"https://connectwise-browser-{n}.test"
    http.mount(hub_url, hubspot.transport())
    http.mount(cw_url, connectwise.transport())
    tenant = TenantFactory(name="Initrode")
    user = MembershipFactory(tenant=tenant, user=UserFactory(email="owner@initrode.example")).user
    hub = ConnectionFactory(
        tenant=tenant,
        system="hubspot",
        name="HubSpot",
        credentials={"token": DEFAULT_TOKEN},
        config={"base_url": hub_url, "emulator": True},
    )
    cw = ConnectionFactory(
        tenant=tenant,
        system="connectwise",
        name="ConnectWise",
        credentials={"private_key": DEMO_PRIVATE_KEY},
        config={
            "base_url": cw_url,
            "company_id": DEMO_COMPANY,
            "public_key": DEMO_PUBLIC_KEY,
            "client_id": DEMO_CLIENT_ID,
            "emulator": True,
        },
    )
    for connection in (hub, cw):
        assert refresh_schema(connection, retry=http.default_retry(total=2, backoff_factor=0.01)) is not None
    w = World(None, hubspot, connectwise, user.email, PASSWORD)
    for name, domain in HUB_COMPANIES:
        w.hub_companies[name] = hubspot.create_record("companies", {"name": name, "domain": domain})
    companies = list(w.hub_companies.values())
    for k, (first, last, stage) in enumerate(HUB_CONTACTS):
        email = f"{first}.{last}@{HUB_COMPANIES[k % 3][1]}".lower()
        w.hub_contacts[email] = hubspot.create_record(
            "contacts",
            {"email": email, "firstname": first, "lastname": last, "lifecyclestage": stage},
            associations={"companies": [companies[k % 3]]},
        )
    company = connectwise.add_company("Vandelay SyncSmart", website="vandelay.example.com")
    connectwise.add_contact("Art", "Vandelay", company_id=company["id"], email="art@vandelay.example.com")
    w.integration = actions.create_integration(tenant, user, hub, cw, enabled=True, name="HubSpot ↔ ConnectWise")
    worker.integration = w.integration
    from syncsmart.engine.run_requests import request_run

    request_run(w.integration, user, trigger="manual")
    worker.drain()
    yield w
    http.unmount(hub_url)
    http.unmount(cw_url)


@pytest.fixture
def signed_in(page, live_server, world):
    log_in(page, live_server, world.email, world.password)
    return page
