"""Client-side rate limits shared by every worker calling the same vendor account.

A vendor's limit belongs to the account (a HubSpot portal, a Dynamics user), not to a worker
process, so the buckets live where every worker sees them:

- Redis (`settings.REDIS_URL` set: the scale-out deployment, any number of machines):
  pyrate-limiter's RedisBucket for the sliding windows and an INCR counter for the daily budget;
- otherwise a SQLite database file in `settings.LOCAL_DIR` (the embedded single-machine default):
  pyrate-limiter's SQLiteBucket with writes serialised by `BEGIN IMMEDIATE`, so several worker
  processes on the machine count against one bucket, and a counter table for the daily budget.

Sliding windows (e.g. HubSpot's 100 calls per rolling 10 s, search 5 per second) block the
caller until a slot frees. The daily budget is a fixed window per UTC day (HubSpot resets its
daily limit at midnight); when it is spent the call fails at once with a retryable
RATE_LIMITED error that says when the budget returns, instead of blocking for hours. Each counted
call is also tallied by minute (kept two days), from which connectors/quota.py reads the current
rate for its forecast. The daily counter may be keyed wider than the windows (`daily_key`: a
Dataverse org's day is shared by all its application users) and also counts in-flight calls
(NetSuite) or calls with no window at all (ConnectWise).
"""

from __future__ import annotations

import datetime as dt
import random
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import redis
from django.conf import settings
from pyrate_limiter import Limiter, Rate, RedisBucket, SQLiteBucket
from tenacity import retry, retry_if_exception, stop_after_delay, wait_random

from connectors.base import ConnectorError, ErrorKind

# Never let a call wait longer than this for a sliding-window slot (a window is at most seconds long).
MAX_WAIT_SECONDS = 60.0
# Stay a little under the published numbers: our clock and the vendor's never agree exactly.
SAFETY = 0.95
# We count a call when it leaves, the vendor when it arrives: the two differ by the network's
# latency, which varies (100-250 ms in the bench), so concurrent calls can arrive bunched. A
# window whose 5 % margin is less than one call (HubSpot search: 5 per second) has no room for
# that: the limiter lengthens it by this much instead.
LATENCY_SPREAD_MS = 250


@dataclass(frozen=True)
class Policy:
    """One vendor account's limits: sliding windows per call class, and a daily budget."""

    name: str
    windows: tuple[tuple[int, int], ...]  # (calls, milliseconds) for ordinary calls
    daily: int | None = None
    search_windows: tuple[tuple[int, int], ...] = ()  # separate limit for search endpoints, if any
    is_search: Callable[[httpx.Request], bool] = lambda request: False
    is_free: Callable[[httpx.Request], bool] = lambda request: False  # e.g. OAuth token calls
    # The vendor's answer headers that report the account's daily limit and what is left of it
    # today (every app's calls together), e.g. HubSpot's X-HubSpot-RateLimit-Daily(-Remaining).
    daily_headers: tuple[str, str] | None = None
    # Or a reader of the same report in another form (Salesforce's `Sforce-Limit-Info: api-usage=N/M`):
    # (limit, remaining) from an answer, None when it carries none.
    daily_report: Callable[[httpx.Response], tuple[int, int] | None] | None = None

    def report_in(self, response: httpx.Response) -> tuple[int, int] | None:
        """The account's daily limit and what is left today, as this answer reports them, if it does."""
        if self.daily_report is not None:
            return self.daily_report(response)
        if self.daily_headers is None:
            return None
        limit, remaining = (_int_header(response, name) for name in self.daily_headers)
        return (limit, remaining) if limit is not None and remaining is not None else None


def scaled(calls: int) -> int:
    """A published number of calls with the safety margin taken off."""
    return max(1, int(calls * SAFETY))


def _with_spread(windows: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    """The windows the buckets enforce: those too small for a 5 % margin of calls get a margin of time."""
    return tuple((calls, ms if calls * (1 - SAFETY) >= 1 else ms + LATENCY_SPREAD_MS) for calls, ms in windows)


class DailyCounter:
    """One vendor account's daily budget in the shared store: refuses a call once today's count
    reaches `daily`, counts each call that goes out (by minute too, for the forecast's recent
    rate: connectors/quota.py), and notes what the vendor reports of the account's day."""

    def __init__(self, store: Store, key: str, daily: int, policy: Policy | None = None):
        self.store, self.key, self.daily, self.policy = store, _safe(key), daily, policy
        self._reported_at = -REPORT_EVERY_SECONDS

    def check(self) -> None:
        if self.store.peek_today(self.key) >= self.daily:
            raise self.spent()

    def count(self) -> None:
        """Count one call against today, once it is really about to go out."""
        if self.store.count_today(self.key) > self.daily:
            raise self.spent()

    def spent(self) -> ConnectorError:
        return ConnectorError(
            f"The daily API budget of this account ({self.daily:,} calls) is used up; it returns at midnight UTC.",
            ErrorKind.RATE_LIMITED,
            retry_after=_seconds_to_midnight(),
        )

    def observe(self, response: httpx.Response) -> None:
        """Note what the vendor reports of the account's day (connectors/quota.py reads it): at most
        once a minute per process, so the store is not written on every call."""
        if self.policy is None or time.monotonic() - self._reported_at < REPORT_EVERY_SECONDS:
            return
        report = self.policy.report_in(response)
        if report is not None:
            self._reported_at = time.monotonic()
            self.store.note_reported(self.key, *report)


class SharedLimiter:
    """connectors.http.Limiter backed by shared buckets. One per (vendor, account) per process.
    The daily budget may belong to a wider account than the windows (`daily_key`): Dataverse
    limits each application user per 5 minutes, while the org's day is shared by all of them."""

    def __init__(
        self,
        key: str,
        policy: Policy,
        store: Store | None = None,
        max_wait: float = MAX_WAIT_SECONDS,
        daily_key: str | None = None,
    ):
        self.key = _safe(key)
        self.policy = policy
        self.store = store or default_store()
        self.max_wait = max_wait
        self.general = self.store.limiter(f"{self.key}_calls", _with_spread(policy.windows)) if policy.windows else None
        self.search = (
            self.store.limiter(f"{self.key}_search", _with_spread(policy.search_windows)) if policy.search_windows else None
        )
        self.daily = DailyCounter(self.store, daily_key or key, policy.daily, policy) if policy.daily is not None else None

    def acquire(self, request: httpx.Request) -> None:
        if self.policy.is_free(request):
            return
        if self.daily is not None:
            self.daily.check()
        limiter = self.search if self.search is not None and self.policy.is_search(request) else self.general
        if limiter is not None and not limiter.try_acquire(self.key, blocking=True, timeout=self.max_wait):
            raise ConnectorError(
                f"Waited {self.max_wait:.0f}s for a rate-limit slot of {self.key}", ErrorKind.RATE_LIMITED, retry_after=1.0
            )
        if self.daily is not None:
            self.daily.count()

    def used_today(self) -> int:
        return self.store.peek_today(self.daily.key if self.daily is not None else self.key)

    def observe(self, response: httpx.Response) -> None:
        if self.daily is not None:
            self.daily.observe(response)


REPORT_EVERY_SECONDS = 60.0


def _int_header(response: httpx.Response, name: str) -> int | None:
    value = response.headers.get(name, "")
    return int(value) if value.isdigit() else None


class Store:
    """Where buckets live. Subclasses: RedisStore, SQLiteStore."""

    def note_reported(self, key: str, limit: int, remaining: int) -> None:
        """Keep the vendor's latest report of the account's daily limit and what is left today."""
        raise NotImplementedError

    def reported_today(self, key: str) -> tuple[int, int] | None:
        """(limit, remaining) as the vendor last reported them today, or None."""
        raise NotImplementedError

    def limiter(self, name: str, windows: tuple[tuple[int, int], ...]) -> Limiter:
        raise NotImplementedError

    def count_today(self, key: str, calls: int = 1, at: dt.datetime | None = None) -> int:
        """Count a call (or `calls`) against the day's budget, and in the minute's tally the
        forecast's recent rate is read from; return the calls made that day including them.
        `at` (tests, backfills): when they were made; now by default."""
        raise NotImplementedError

    def peek_today(self, key: str, at: dt.datetime | None = None) -> int:
        raise NotImplementedError

    def calls_between(self, key: str, start: dt.datetime, end: dt.datetime) -> int:
        """Calls counted in the whole minutes from the one holding `start` to the one holding `end`."""
        raise NotImplementedError

    # In-flight slots (concurrency mode): take one if fewer than `limit` are held, give it back.
    def take_slot(self, key: str, token: str, limit: int, lease: float) -> bool:
        raise NotImplementedError

    def give_slot(self, key: str, token: str) -> None:
        raise NotImplementedError

    def slots_taken(self, key: str) -> int:
        raise NotImplementedError


class RedisStore(Store):
    def __init__(self, url: str):
        self.redis = redis.Redis.from_url(url)

    def limiter(self, name: str, windows: tuple[tuple[int, int], ...]) -> Limiter:
        bucket = RedisBucket.init([Rate(calls, ms) for calls, ms in windows], self.redis, f"syncsmart:ratelimit:{name}")
        return Limiter(bucket)

    def _daily_key(self, key: str, at: dt.datetime | None = None) -> str:
        return f"syncsmart:ratelimit:{key}:daily:{_today(at)}"

    def _minute_key(self, key: str, minute: int) -> str:
        return f"syncsmart:ratelimit:{key}:minute:{minute}"

    def note_reported(self, key: str, limit: int, remaining: int) -> None:
        name = f"syncsmart:ratelimit:{key}:reported:{_today()}"
        self.redis.set(name, f"{limit}:{remaining}", ex=2 * 86400)

    def reported_today(self, key: str) -> tuple[int, int] | None:
        value = self.redis.get(f"syncsmart:ratelimit:{key}:reported:{_today()}")
        if not value:
            return None
        limit, _, remaining = value.decode().partition(":")
        return int(limit), int(remaining)

    def count_today(self, key: str, calls: int = 1, at: dt.datetime | None = None) -> int:
        pipe = self.redis.pipeline()
        pipe.incrby(self._daily_key(key, at), calls)
        pipe.expire(self._daily_key(key, at), 2 * 86400)
        pipe.incrby(self._minute_key(key, _minute(at)), calls)
        pipe.expire(self._minute_key(key, _minute(at)), MINUTES_KEPT * 60)
        return int(pipe.execute()[0])

    def peek_today(self, key: str, at: dt.datetime | None = None) -> int:
        return int(self.redis.get(self._daily_key(key, at)) or 0)

    def calls_between(self, key: str, start: dt.datetime, end: dt.datetime) -> int:
        names = [self._minute_key(key, m) for m in range(_minute(start), _minute(end) + 1)]
        return sum(int(v) for v in self.redis.mget(names) if v) if names else 0

    def _slots_key(self, key: str) -> str:
        return f"syncsmart:inflight:{key}"

    def take_slot(self, key: str, token: str, limit: int, lease: float) -> bool:
        now = time.time()
        name = self._slots_key(key)
        pipe = self.redis.pipeline(transaction=True)  # MULTI/EXEC: the steps are one
        pipe.zremrangebyscore(name, "-inf", now)
        pipe.zadd(name, {token: now + lease})
        pipe.zcard(name)
        pipe.expire(name, int(lease) + 60)
        taken = pipe.execute()[2]
        if taken > limit:
            # Over the limit: give the slot back. Two racing callers may both give theirs back;
            # the limit is never exceeded, and each tries again after a short random pause.
            self.redis.zrem(name, token)
            return False
        return True

    def give_slot(self, key: str, token: str) -> None:
        self.redis.zrem(self._slots_key(key), token)

    def slots_taken(self, key: str) -> int:
        return int(self.redis.zcount(self._slots_key(key), time.time(), "+inf"))


SQLITE_BUSY = 5
# How long to wait out a lock SQLite refuses without its busy handler (see _begin_immediate).
BUSY_WAIT_SECONDS = 30.0


def _is_busy(error: BaseException) -> bool:
    """SQLITE_BUSY and its extended codes (BUSY_RECOVERY, BUSY_SNAPSHOT...)."""
    return isinstance(error, sqlite3.OperationalError) and (getattr(error, "sqlite_errorcode", 0) & 0xFF) == SQLITE_BUSY


# In WAL mode SQLite answers SQLITE_BUSY at once, bypassing the connection's timeout, while another
# process recovers the WAL after a crash (a killed worker) or cleans it up as the last connection
# closes (a finished `manage.py sync`). Both last milliseconds: wait them out instead of failing a run.
_wait_out_busy = retry(
    retry=retry_if_exception(_is_busy),
    wait=wait_random(0.005, 0.05),
    stop=stop_after_delay(BUSY_WAIT_SECONDS),
    reraise=True,
)


@_wait_out_busy
def _begin_immediate(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")


@_wait_out_busy
def _create_schema(conn: sqlite3.Connection, statements: tuple[str, ...]) -> None:
    """Schema statements take the write lock too: a new process creating its bucket table while
    another recovers the WAL failed a bench's child sync with "database is locked" (CI)."""
    for statement in statements:
        conn.execute(statement)
    conn.commit()


class _ImmediateSQLiteBucket(SQLiteBucket):
    """SQLiteBucket whose count-then-insert is one write transaction, so that processes sharing
    the file cannot both take the last slot."""

    def put(self, item):  # noqa: ANN001 - pyrate-limiter's signature
        with self.lock:
            _begin_immediate(self.conn)
            try:
                return super().put(item)
            finally:
                if self.conn.in_transaction:
                    self.conn.commit()


class SQLiteStore(Store):
    def __init__(self, path: str | Path):
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = self._connect()
        _create_schema(
            self._conn,
            (
                "CREATE TABLE IF NOT EXISTS daily_budget (key TEXT, day TEXT, calls INTEGER, PRIMARY KEY (key, day))",
                "CREATE TABLE IF NOT EXISTS minute_calls (key TEXT, minute INTEGER, calls INTEGER, PRIMARY KEY (key, minute))",
                "CREATE TABLE IF NOT EXISTS daily_reported (key TEXT, day TEXT, daily_limit INTEGER, remaining INTEGER, "
                "PRIMARY KEY (key, day))",
            ),
        )
        self._slots_conn: sqlite3.Connection | None = None

    @_wait_out_busy
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level="DEFERRED", check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        # Counters, not records: in WAL mode NORMAL commits without waiting for the disk (a power
        # cut may lose the last calls counted; a crashed process loses nothing).
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def limiter(self, name: str, windows: tuple[tuple[int, int], ...]) -> Limiter:
        conn = self._connect()
        table = f"bucket_{name}"
        _create_schema(
            conn,
            (
                f"CREATE TABLE IF NOT EXISTS '{table}' (name VARCHAR, item_timestamp INTEGER)",
                f"CREATE INDEX IF NOT EXISTS 'idx_{table}' ON '{table}' (item_timestamp)",
            ),
        )
        return Limiter(_ImmediateSQLiteBucket([Rate(calls, ms) for calls, ms in windows], conn, table))

    def count_today(self, key: str, calls: int = 1, at: dt.datetime | None = None) -> int:
        day, minute = _today(at), _minute(at)
        with self._lock:
            _begin_immediate(self._conn)
            try:
                self._conn.execute(
                    "INSERT INTO daily_budget (key, day, calls) VALUES (?, ?, ?) "
                    "ON CONFLICT (key, day) DO UPDATE SET calls = calls + excluded.calls",
                    (key, day, calls),
                )
                self._conn.execute(
                    "INSERT INTO minute_calls (key, minute, calls) VALUES (?, ?, ?) "
                    "ON CONFLICT (key, minute) DO UPDATE SET calls = calls + excluded.calls",
                    (key, minute, calls),
                )
                if minute % 60 == 0:  # once an hour (at most a minute's calls): forget tallies no forecast reads
                    self._conn.execute("DELETE FROM minute_calls WHERE minute < ?", (minute - MINUTES_KEPT,))
                row = self._conn.execute("SELECT calls FROM daily_budget WHERE key = ? AND day = ?", (key, day)).fetchone()
            finally:
                self._conn.commit()
        return int(row[0])

    def peek_today(self, key: str, at: dt.datetime | None = None) -> int:
        with self._lock:
            row = self._conn.execute("SELECT calls FROM daily_budget WHERE key = ? AND day = ?", (key, _today(at))).fetchone()
        return int(row[0]) if row else 0

    def calls_between(self, key: str, start: dt.datetime, end: dt.datetime) -> int:
        with self._lock:
            row = self._conn.execute(
                "SELECT COALESCE(SUM(calls), 0) FROM minute_calls WHERE key = ? AND minute BETWEEN ? AND ?",
                (key, _minute(start), _minute(end)),
            ).fetchone()
        return int(row[0])

    def note_reported(self, key: str, limit: int, remaining: int) -> None:
        with self._lock:
            _begin_immediate(self._conn)
            try:
                self._conn.execute(
                    "INSERT INTO daily_reported (key, day, daily_limit, remaining) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (key, day) DO UPDATE SET daily_limit = excluded.daily_limit, remaining = excluded.remaining",
                    (key, _today(), limit, remaining),
                )
            finally:
                self._conn.commit()

    def reported_today(self, key: str) -> tuple[int, int] | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT daily_limit, remaining FROM daily_reported WHERE key = ? AND day = ?", (key, _today())
            ).fetchone()
        return (int(row[0]), int(row[1])) if row else None

    def _slots(self) -> sqlite3.Connection:
        if self._slots_conn is None:
            conn = self._connect()
            conn.execute("CREATE TABLE IF NOT EXISTS inflight_slots (key TEXT, token TEXT PRIMARY KEY, expires REAL)")
            conn.execute("CREATE INDEX IF NOT EXISTS idx_inflight_key ON inflight_slots (key)")
            conn.commit()
            self._slots_conn = conn
        return self._slots_conn

    def take_slot(self, key: str, token: str, limit: int, lease: float) -> bool:
        now = time.time()
        with self._lock:
            conn = self._slots()
            _begin_immediate(conn)  # count-then-insert is one write transaction across processes
            try:
                conn.execute("DELETE FROM inflight_slots WHERE key = ? AND expires < ?", (key, now))
                taken = conn.execute("SELECT COUNT(*) FROM inflight_slots WHERE key = ?", (key,)).fetchone()[0]
                if taken >= limit:
                    return False
                conn.execute("INSERT INTO inflight_slots (key, token, expires) VALUES (?, ?, ?)", (key, token, now + lease))
                return True
            finally:
                conn.commit()

    def give_slot(self, key: str, token: str) -> None:
        with self._lock:
            conn = self._slots()
            conn.execute("DELETE FROM inflight_slots WHERE token = ?", (token,))
            conn.commit()

    def slots_taken(self, key: str) -> int:
        with self._lock:
            row = (
                self._slots()
                .execute("SELECT COUNT(*) FROM inflight_slots WHERE key = ? AND expires >= ?", (key, time.time()))
                .fetchone()
            )
        return int(row[0])


_stores: dict[str, Store] = {}
_limiters: dict[tuple[str, str], SharedLimiter] = {}
_registry_lock = threading.Lock()


def default_store() -> Store:
    """Redis when settings.REDIS_URL is set, else the SQLite file in LOCAL_DIR."""
    redis_url = getattr(settings, "REDIS_URL", "") or ""
    location = redis_url or str(Path(getattr(settings, "LOCAL_DIR", ".local")) / "ratelimits.sqlite3")
    with _registry_lock:
        if location not in _stores:
            _stores[location] = RedisStore(redis_url) if redis_url else SQLiteStore(location)
        return _stores[location]


def shared_limiter(key: str, policy: Policy, daily_key: str | None = None) -> SharedLimiter:
    """The process's limiter for one vendor account (its buckets are shared with other processes);
    `daily_key`: the account whose daily budget it counts, when wider than the windows' `key`."""
    with _registry_lock:
        found = _limiters.get((key, policy.name))
    if found is None:
        found = SharedLimiter(key, policy, daily_key=daily_key)
        with _registry_lock:
            found = _limiters.setdefault((key, policy.name), found)
    return found


def used_today(key: str, at: dt.datetime | None = None) -> int:
    """Calls counted today (or on `at`'s day) against an account's daily budget (its limiter's daily key)."""
    return default_store().peek_today(_safe(key), at)


def record_calls(key: str, calls: int = 1, at: dt.datetime | None = None) -> int:
    """Count calls against an account's daily budget as its limiter does (a test standing in for
    other integrations on the account); the day's total including them."""
    return default_store().count_today(_safe(key), calls, at)


def calls_between(key: str, start: dt.datetime, end: dt.datetime) -> int:
    """Calls counted against an account in the whole minutes from `start`'s to `end`'s."""
    return default_store().calls_between(_safe(key), start, end)


def reported_today(key: str) -> tuple[int, int] | None:
    """The vendor's own latest report today of the account's daily limit and what is left, or None."""
    return default_store().reported_today(_safe(key))


def _safe(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]+", "_", key)


def _today(at: dt.datetime | None = None) -> str:
    return (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).strftime("%Y%m%d")


# Per-minute tallies are kept this long (the forecast reads the last hour's).
MINUTES_KEPT = 2 * 24 * 60


def _minute(at: dt.datetime | None = None) -> int:
    """The minute (since the epoch) holding `at`, now by default."""
    return int((at.timestamp() if at is not None else time.time()) // 60)


def _seconds_to_midnight() -> float:
    now = dt.datetime.now(dt.UTC)
    tomorrow = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (tomorrow - now).total_seconds()


# --- in-flight (concurrency) mode ---------------------------------------------------------------------
# NetSuite governs how many requests of an account are in flight at once, not how many start per
# second. The limiter then holds a slot for each call from the moment it leaves until its answer
# arrives, and the slots are counted where every worker process sees them (the same store as the
# buckets). A slot is a lease: a worker killed mid-call frees its slots when the lease runs out.
# No maintained library offers a cross-process counting semaphore over both Redis and SQLite, so
# this is the one counter kept here; it never spaces or retries calls (httpx-retries does that).
SLOT_LEASE_SECONDS = 120.0
SLOT_POLL_SECONDS = (0.005, 0.03)
SLOT_EXTENSION = "syncsmart_inflight_slot"


@dataclass(frozen=True)
class ConcurrencyPolicy:
    name: str
    limit: int
    lease_seconds: float = SLOT_LEASE_SECONDS


class InFlightLimiter:
    """connectors.http.Limiter in concurrency mode: at most `policy.limit` calls of the account in
    flight across every process. `acquire` blocks until a slot is free; `release` frees it."""

    def __init__(
        self,
        key: str,
        policy: ConcurrencyPolicy,
        store: Store | None = None,
        max_wait: float = MAX_WAIT_SECONDS,
        daily: int | None = None,
        daily_key: str | None = None,
    ):
        self.key = _safe(key)
        self.policy = policy
        self.store = store or default_store()
        self.max_wait = max_wait
        self.daily = DailyCounter(self.store, daily_key or key, daily) if daily is not None else None

    def acquire(self, request: httpx.Request) -> None:
        if self.daily is not None:
            self.daily.check()
        self._take_slot(request)
        if self.daily is not None:
            try:
                self.daily.count()
            except ConnectorError:
                self.release(request)
                raise

    def _take_slot(self, request: httpx.Request) -> None:
        deadline = time.monotonic() + self.max_wait
        token = uuid.uuid4().hex
        while not self.store.take_slot(self.key, token, self.policy.limit, self.policy.lease_seconds):
            if time.monotonic() >= deadline:
                raise ConnectorError(
                    f"Waited {self.max_wait:.0f}s for one of the {self.policy.limit} concurrent-request slots of {self.key}",
                    ErrorKind.RATE_LIMITED,
                    retry_after=1.0,
                )
            time.sleep(random.uniform(*SLOT_POLL_SECONDS))
        request.extensions = {**request.extensions, SLOT_EXTENSION: token}

    def release(self, request: httpx.Request) -> None:
        token = request.extensions.get(SLOT_EXTENSION)
        if token:
            self.store.give_slot(self.key, token)

    def in_flight(self) -> int:
        return self.store.slots_taken(self.key)


_inflight_limiters: dict[tuple[str, int, int | None], InFlightLimiter] = {}


def netsuite_limiter(account: str, limit: int, daily: int | None = None, daily_key: str | None = None) -> InFlightLimiter:
    """The process's in-flight limiter for one NetSuite account (slots shared with other processes),
    counting every call against the account's daily budget (`daily` calls under `daily_key`) when given."""
    with _registry_lock:
        found = _inflight_limiters.get((account, limit, daily))
    if found is None:
        # Built outside the registry lock: the store it opens takes that lock too.
        policy = ConcurrencyPolicy(f"netsuite-{limit}", limit)
        found = InFlightLimiter(f"netsuite:{account}", policy, daily=daily, daily_key=daily_key)
        with _registry_lock:
            found = _inflight_limiters.setdefault((account, limit, daily), found)
    return found
