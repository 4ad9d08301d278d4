"""The client-side rate limiter is shared by every worker calling one vendor account: buckets
live in Redis or in a SQLite database, so separate limiter objects, processes and machines
draw from the same budget."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from connectors.base import ConnectorError, ErrorKind
from connectors.hubspot import limits
from connectors.hubspot.limits import hubspot_policy
from connectors.ratelimit import ConcurrencyPolicy, InFlightLimiter, Policy, RedisStore, SharedLimiter, SQLiteStore, default_store

ROOT = Path(__file__).resolve().parents[2]
MINUTE = 60_000


def call(path: str = "/crm/v3/objects/contacts/batch/read") -> httpx.Request:
    return httpx.Request("POST", "https://api.hubapi.com" + path)


def policy(calls: int = 3, daily: int | None = None) -> Policy:
    hub = hubspot_policy()
    return Policy(
        "test", ((calls, MINUTE),), daily=daily, search_windows=((1, MINUTE),), is_search=hub.is_search, is_free=hub.is_free
    )


def refused(limiter: SharedLimiter) -> ConnectorError:
    with pytest.raises(ConnectorError) as caught:
        limiter.acquire(call())
    assert caught.value.kind == ErrorKind.RATE_LIMITED and caught.value.retryable
    return caught.value


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "ratelimits.sqlite3"


def test_two_workers_on_one_sqlite_database_share_the_window(db_path):
    key = f"hubspot:{uuid.uuid4().hex}"
    worker_a = SharedLimiter(key, policy(3), store=SQLiteStore(db_path), max_wait=0.2)
    worker_b = SharedLimiter(key, policy(3), store=SQLiteStore(db_path), max_wait=0.2)  # its own connection
    for _ in range(2):
        worker_a.acquire(call())
    worker_b.acquire(call())
    refused(worker_a)
    refused(worker_b)
    other_account = SharedLimiter(f"hubspot:{uuid.uuid4().hex}", policy(3), store=SQLiteStore(db_path), max_wait=0.2)
    other_account.acquire(call())  # another portal has its own bucket


@pytest.mark.slow
def test_another_process_draws_from_the_same_sqlite_bucket(db_path):
    key = f"hubspot:{uuid.uuid4().hex}"
    script = (
        "import httpx\n"
        "from connectors.ratelimit import Policy, SharedLimiter, SQLiteStore\n"
        f"limiter = SharedLimiter({key!r}, Policy('test', ((3, {MINUTE}),)), store=SQLiteStore({str(db_path)!r}), max_wait=0.2)\n"
        "for _ in range(3):\n"
        "    limiter.acquire(httpx.Request('GET', 'https://api.hubapi.com/crm/v3/owners'))\n"
        "print('took 3')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "syncsmart.settings"},
    )
    assert done.stdout.strip() == "took 3", done.stderr
    here = SharedLimiter(key, Policy("test", ((3, MINUTE),)), store=SQLiteStore(db_path), max_wait=0.2)
    refused(here)


def test_daily_budget_refuses_at_once_saying_when_it_returns(db_path):
    limiter = SharedLimiter(f"hubspot:{uuid.uuid4().hex}", policy(100, daily=2), store=SQLiteStore(db_path), max_wait=0.2)
    limiter.acquire(call())
    limiter.acquire(call())
    error = refused(limiter)
    assert "daily API budget" in error.message and 0 < error.retry_after <= 86_400
    assert limiter.used_today() == 2  # a refused call does not spend budget


def test_search_has_its_own_window_and_token_calls_are_free(db_path):
    limiter = SharedLimiter(f"hubspot:{uuid.uuid4().hex}", policy(1), store=SQLiteStore(db_path), max_wait=0.2)
    limiter.acquire(call())
    limiter.acquire(call("/crm/v3/objects/contacts/search"))  # the general window is spent, search's is not
    with pytest.raises(ConnectorError):
        limiter.acquire(call("/crm/v3/objects/contacts/search"))
    for _ in range(5):
        limiter.acquire(call("/oauth/v1/token"))


def test_a_full_window_makes_the_caller_wait_for_a_slot_then_proceed(db_path):
    quick = Policy("quick", ((2, 300),))
    limiter = SharedLimiter(f"hubspot:{uuid.uuid4().hex}", quick, store=SQLiteStore(db_path), max_wait=5)
    for _ in range(5):  # more than the window holds: the limiter blocks instead of failing
        limiter.acquire(call())


def test_hubspot_policy_follows_the_published_limits_with_a_safety_margin():
    starter, pro = hubspot_policy("starter"), hubspot_policy("professional")
    assert starter.windows == ((95, limits.TEN_SECOND_WINDOW_MS),) and starter.daily == 250_000
    assert pro.windows == ((180, 10_000),) and pro.daily == 625_000
    assert hubspot_policy("enterprise").daily == 1_000_000
    assert hubspot_policy(oauth_app=True).windows[0][0] == 104
    assert starter.search_windows == ((5, 1_000),)
    assert starter.is_search(call("/crm/v3/objects/deals/search")) and not starter.is_search(call())


def test_default_store_is_redis_when_configured_and_sqlite_otherwise(settings, tmp_path):
    settings.REDIS_URL = ""
    settings.LOCAL_DIR = tmp_path
    store = default_store()
    assert isinstance(store, SQLiteStore) and store.path == str(tmp_path / "ratelimits.sqlite3")
    settings.REDIS_URL = "redis://127.0.0.1:6379/15"
    assert isinstance(default_store(), RedisStore)


def redis_url() -> str:
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except Exception:  # noqa: BLE001 - any failure means: no Redis here
        pytest.skip("no Redis reachable")
    return url


def test_two_workers_on_redis_share_the_window_and_the_daily_budget():
    url = redis_url()
    key = f"hubspot:{uuid.uuid4().hex}"
    worker_a = SharedLimiter(key, policy(3, daily=4), store=RedisStore(url), max_wait=0.2)
    worker_b = SharedLimiter(key, policy(3, daily=4), store=RedisStore(url), max_wait=0.2)
    worker_a.acquire(call())
    worker_b.acquire(call())
    worker_a.acquire(call())
    refused(worker_b)  # window of 3 spent across both workers
    assert worker_a.used_today() == 3  # the refused call spent no budget
    worker_c = SharedLimiter(key, Policy("other", ((100, MINUTE),), daily=4), store=RedisStore(url), max_wait=0.2)
    worker_c.acquire(call())  # the fourth call of the day
    with pytest.raises(ConnectorError) as caught:
        worker_c.acquire(call())
    assert "daily" in caught.value.message and worker_b.used_today() == 4


class BusyAtFirst:
    """A connection that answers SQLITE_BUSY_RECOVERY to its first BEGINs, as SQLite does (without
    its busy handler) while another process recovers the WAL after a crash."""

    def __init__(self, conn, refusals: int, on: str = "BEGIN"):
        self.conn, self.refusals, self.on = conn, refusals, on

    def execute(self, sql, *args):
        if sql.startswith(self.on) and self.refusals:
            self.refusals -= 1
            busy = sqlite3.OperationalError("database is locked")
            busy.sqlite_errorcode = 261  # SQLITE_BUSY_RECOVERY
            raise busy
        return self.conn.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self.conn, name)


def test_a_lock_sqlite_refuses_at_once_is_waited_out_instead_of_failing_the_call(db_path):
    store = SQLiteStore(db_path)
    store._conn = BusyAtFirst(store._conn, refusals=3)
    assert store.count_today("portal") == 1
    assert store._conn.refusals == 0


def test_a_bucket_table_created_while_sqlite_refuses_at_once_is_waited_out(db_path, monkeypatch):
    """A new process makes its bucket table while another recovers the WAL: CI saw a bench's child
    sync fail with "database is locked" on that CREATE TABLE."""
    store = SQLiteStore(db_path)
    connect, opened = store._connect, []

    def busy_at_first():
        opened.append(BusyAtFirst(connect(), refusals=3, on="CREATE"))
        return opened[-1]

    monkeypatch.setattr(store, "_connect", busy_at_first)
    store.limiter("hubspot_portal_calls", ((10, 1000),))
    assert opened[0].refusals == 0


def test_other_sqlite_errors_are_not_retried(db_path):
    store = SQLiteStore(db_path)
    store._conn = BusyAtFirst(store._conn, refusals=1)
    store._conn.execute = lambda sql, *args: (_ for _ in ()).throw(sqlite3.OperationalError("disk I/O error"))
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        store.count_today("portal")


def test_a_budget_without_a_window_counts_the_day_and_the_minute(db_path):
    """ConnectWise publishes no window: its limiter only counts the company's daily budget."""
    limiter = SharedLimiter("connectwise:site:acme", Policy("budget", (), daily=2), store=SQLiteStore(db_path), max_wait=0.2)
    limiter.acquire(call())
    limiter.acquire(call())
    assert "daily API budget" in refused(limiter).message
    now = dt.datetime.now(dt.UTC)
    assert limiter.used_today() == 2 and limiter.store.calls_between(limiter.daily.key, now, now) == 2


def test_an_in_flight_call_refused_by_the_daily_budget_gives_its_slot_back(db_path):
    """NetSuite: the account's concurrency slots and its daily budget, counted under the account's
    budget key. A call that passed the check while another worker spent the last of the day is
    refused after taking its slot, and gives the slot back."""
    store = SQLiteStore(db_path)
    limiter = InFlightLimiter("netsuite:123", ConcurrencyPolicy("ns", 2), store=store, max_wait=0.2, daily=1, daily_key="ns:123")
    first = call()
    limiter.acquire(first)
    limiter.release(first)
    assert store.peek_today("ns_123") == 1
    with pytest.raises(ConnectorError):
        limiter.acquire(call())  # refused before a slot: the day is spent
    store.peek_today = lambda key, at=None: 0  # the race: the check saw the day before another worker's call
    with pytest.raises(ConnectorError) as caught:
        limiter.acquire(call())
    assert caught.value.kind == ErrorKind.RATE_LIMITED and "daily API budget" in caught.value.message
    assert limiter.in_flight() == 0


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_the_day_and_its_minutes_are_tallied_for_the_forecast(kind, db_path):
    store = SQLiteStore(db_path) if kind == "sqlite" else RedisStore(redis_url())
    key = f"tally_{uuid.uuid4().hex}"
    day = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    store.count_today(key, 5, at=day + dt.timedelta(hours=10, minutes=59, seconds=59))
    store.count_today(key, 7, at=day + dt.timedelta(hours=11, seconds=1))
    store.count_today(key, 1, at=day + dt.timedelta(hours=11, minutes=30))
    store.count_today(key, 100, at=day + dt.timedelta(days=1))  # the next day's
    assert store.peek_today(key, at=day) == 13
    assert store.calls_between(key, day + dt.timedelta(hours=11), day + dt.timedelta(hours=11, minutes=30, seconds=5)) == 8
    assert store.calls_between(key, day + dt.timedelta(hours=10, minutes=59, seconds=30), day + dt.timedelta(hours=11)) == 12
