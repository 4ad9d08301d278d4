"""NetSuite's concurrency governance from the connector's side: two worker processes sharing the
account's in-flight limiter never have more requests in flight than the account allows (the
emulator counts), and the 429s of an account busier than we think are retried without
creating anything twice (nor are the writes whose answers were lost: creates are upserts by
external id)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from connectors.base import ConnectorError, ErrorKind
from connectors.netsuite.emulator import NetSuiteEmulator
from connectors.ratelimit import ConcurrencyPolicy, InFlightLimiter, SQLiteStore

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def run_workers(base_url: str, store: Path, limit: int, count: int) -> list[dict]:
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.connectors.netsuite_worker", base_url, str(store), str(limit), prefix, str(count)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for prefix in ("Alpha", "Beta")
    ]
    outputs = []
    for worker in workers:
        out, err = worker.communicate(timeout=240)
        assert worker.returncode == 0, err[-2000:]
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    return outputs


@pytest.fixture
def served():
    emulator = NetSuiteEmulator(limits=True, latency_ms=(20, 40), concurrency_limit=5)
    running = emulator.serve("127.0.0.1", 0)
    yield emulator, running.base_url
    running.stop()


def test_two_worker_processes_never_exceed_the_account_limit_of_5(served, tmp_path):
    emulator, base_url = served
    outputs = run_workers(base_url, tmp_path / "slots.sqlite3", limit=5, count=40)
    counters = emulator.counters()
    assert all(not o["errors"] for o in outputs), outputs
    assert sum(len(o["created"]) for o in outputs) == 80 and sum(o["reads"] for o in outputs) == 80
    assert counters["max_in_flight"] == 5, counters  # the limit was reached, never passed
    assert counters["concurrency_refused"] == 0, counters


def test_429s_from_a_busier_account_are_retried_without_duplicates(served, tmp_path):
    emulator, base_url = served
    emulator.set_knobs(concurrency_limit=3, faults={"drop": 0.05}, seed=3)  # others use part of the limit; answers get lost
    outputs = run_workers(base_url, tmp_path / "slots.sqlite3", limit=5, count=30)
    counters = emulator.counters()
    assert counters["concurrency_refused"] > 0, "no 429 happened: the test proved nothing"
    assert counters["faults"].get("drop after", 0) > 0, "no answer was lost after a write: the test proved nothing"
    assert all(not o["errors"] for o in outputs), outputs
    names = [r["companyName"] for r in emulator.all("customer")]
    assert len(names) == len(set(names)) == 60


def test_slots_of_a_killed_worker_come_back_when_their_lease_runs_out(tmp_path):
    store = SQLiteStore(tmp_path / "slots.sqlite3")
    limiter = InFlightLimiter("netsuite:lease", ConcurrencyPolicy("lease", 2, lease_seconds=0.3), store=store, max_wait=0.1)
    held = [httpx.Request("GET", "https://x"), httpx.Request("GET", "https://x")]
    for request in held:
        limiter.acquire(request)  # a worker that dies here never releases
    with pytest.raises(ConnectorError) as caught:
        limiter.acquire(httpx.Request("GET", "https://x"))
    assert caught.value.kind == ErrorKind.RATE_LIMITED and limiter.in_flight() == 2
    time.sleep(0.35)
    fresh = httpx.Request("GET", "https://x")
    limiter.acquire(fresh)
    limiter.release(fresh)
    assert limiter.in_flight() == 0
