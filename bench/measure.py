"""What a scenario measures: wall time, this process's CPU time and peak RSS (psutil), database
queries (a connection execute wrapper) and API calls per endpoint (the emulators' counters)."""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psutil
from django.db import connection


class PeakRss:
    """Samples this process's resident set size in a background thread; keeps the peak (MB)."""

    def __init__(self, interval: float = 0.05):
        self.process = psutil.Process()
        self.interval = interval
        self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True, name="bench-rss")

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)

    @property
    def peak_mb(self) -> float:
        return self.peak / (1024 * 1024)


def cpu_seconds() -> float:
    """User + system CPU time of this process so far (every thread, emulators included)."""
    times = psutil.Process().cpu_times()
    return times.user + times.system


def sync_cpu_seconds(lab: Any) -> float:
    """CPU of this process minus what the lab's emulators spent answering: the sync's own CPU
    on every thread it uses (the run's, the page read-ahead, the in-flight vendor calls)."""
    return time.process_time() - lab.emulator_cpu_seconds()


def thread_cpu_seconds() -> float:
    """CPU time of the calling thread only: the engine's share, without the emulator threads."""
    return time.thread_time()


_TABLE = re.compile(r'\b(?:FROM|INTO|UPDATE)\s+"?([A-Za-z0-9_]+)"?', re.IGNORECASE)


@dataclass
class QueryCounter:
    count: int = 0
    by_kind: Counter = field(default_factory=Counter)

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        match = _TABLE.search(sql)
        self.by_kind[f"{sql.split(None, 1)[0].upper()} {match.group(1) if match else ''}".strip()] += 1
        return execute(sql, params, many, context)


@contextlib.contextmanager
def count_queries() -> Iterator[QueryCounter]:
    """Queries made on this thread's default connection inside the block."""
    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        yield counter


@dataclass
class ApiCalls:
    """Calls the emulators answered, per system and endpoint ("POST crm/v3/objects/contacts/batch/create")."""

    by_endpoint: dict[str, dict[str, int]] = field(default_factory=dict)

    @classmethod
    def read(cls, emulators: dict[str, Any]) -> ApiCalls:
        return cls({system: dict(emulator.counters()["calls"]) for system, emulator in emulators.items()})

    def total(self, system: str | None = None) -> int:
        return sum(sum(calls.values()) for name, calls in self.by_endpoint.items() if system in (None, name))

    def per_record(self, records: int) -> dict[str, float]:
        out: dict[str, float] = {}
        for system, calls in self.by_endpoint.items():
            for endpoint, n in sorted(calls.items()):
                out[f"{system} {endpoint}"] = round(n / max(records, 1), 5)
        return out
