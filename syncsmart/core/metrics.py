"""The Prometheus metrics (prometheus-client), counted at the few seams everything passes:
the HTTP seam (connectors/http.py: vendor calls, 429s, limiter waits), a run's finish
(syncsmart/engine/states.py), the writing of record events and the end of webhook notifications
(syncsmart/engine/context.py) and the q2 workers' heartbeats (syncsmart/heartbeat.py). Database
state (inbox backlog, deferred queue, heartbeat ages) is read when scraped (syncsmart/metrics_view.py).

Multiprocess mode: settings set PROMETHEUS_MULTIPROC_DIR before this module is imported, so
every process (gunicorn workers, q2 workers) writes its values to files there and the /metrics
view of any web process adds them all up (`scrape()`). Only counters and histograms are used:
they need no clean-up when a process dies (gauges would, see docs/operations.md)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

RUNS = Counter("syncsmart_runs_finished_total", "Runs finished, by trigger and final status.", ["trigger", "status"])
RUN_DURATION = Histogram(
    "syncsmart_run_duration_seconds",
    "From a run's start to its finish, by trigger.",
    ["trigger"],
    buckets=(1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600),
)
RECORDS = Counter("syncsmart_records_total", "Record events written, by source object and outcome.", ["object", "outcome"])
# The same events by integration (a few outcomes each, so the series stay a small multiple of the
# integrations): which customer's integration fails, and what one run added (tests compare it).
INTEGRATION_RECORDS = Counter(
    "syncsmart_integration_records_total", "Record events written, by integration id and outcome.", ["integration", "outcome"]
)
INTEGRATION_RUNS = Counter(
    "syncsmart_integration_runs_finished_total", "Runs finished, by integration id and final status.", ["integration", "status"]
)
WEBHOOK_LATENCY = Histogram(
    "syncsmart_webhook_to_write_seconds",
    "From a webhook notification's arrival to its change written on the other side, by source system.",
    ["system"],
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600),
)
WEBHOOKS = Counter(
    "syncsmart_webhook_notifications_total",
    "Verified webhook notifications stored new in the inbox, by source system.",
    ["system"],
)
WORKER_HEARTBEATS = Counter(
    "syncsmart_worker_heartbeats_total", "Heartbeats written by the q2 worker processes (rate() > 0: workers alive).", []
)
VENDOR_CALLS = Counter(
    "syncsmart_vendor_calls_total",
    "Vendor HTTP attempts (retries included), by system, endpoint template and status code.",
    ["system", "endpoint", "status"],
)
VENDOR_RATE_LIMITED = Counter(
    "syncsmart_vendor_rate_limited_total",
    "Vendor answers 429 Too Many Requests, by system and endpoint template.",
    ["system", "endpoint"],
)
LIMITER_WAIT = Histogram(
    "syncsmart_ratelimit_wait_seconds",
    "Time a vendor call waited for our own client-side rate limiter, by system.",
    ["system"],
    buckets=(0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 30),
)

# Path segments that are record ids, so the endpoint label stays a small set of templates:
# numbers, GUIDs, Salesforce ids (15/18 characters with digits), e-mail-like keys.
_ID_SEGMENT = re.compile(r"^(?:\d+|[0-9a-fA-F-]{32,36}|(?=[A-Za-z0-9]*\d)[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?|.+@.+)$")
_KEY_IN_PARENS = re.compile(r"\([^)]*\)")


def endpoint_template(path: str) -> str:
    """`/crm/v3/objects/contacts/123` -> `/crm/v3/objects/contacts/{id}`; `contacts(guid)` -> `contacts({id})`."""
    segments = []
    for segment in path.split("?", 1)[0].split("/"):
        segment = _KEY_IN_PARENS.sub("({id})", segment)
        segments.append("{id}" if _ID_SEGMENT.match(segment) else segment)
    return "/".join(segments)[:120]


def record_vendor_call(system: str, path: str, status: int) -> None:
    endpoint = endpoint_template(path)
    VENDOR_CALLS.labels(system, endpoint, str(status)).inc()
    if status == 429:
        VENDOR_RATE_LIMITED.labels(system, endpoint).inc()


def record_events(integration_id: object, outcomes: Iterable[tuple[str, str]]) -> None:
    """Count stored record events: (source object, outcome) pairs of one integration."""
    for source_object, outcome in outcomes:
        RECORDS.labels(source_object, outcome).inc()
        INTEGRATION_RECORDS.labels(str(integration_id), outcome).inc()


def run_finished(integration_id: object, trigger: str, status: str, duration: float | None) -> None:
    RUNS.labels(trigger, status).inc()
    INTEGRATION_RUNS.labels(str(integration_id), status).inc()
    if duration is not None:
        RUN_DURATION.labels(trigger).observe(duration)


def scrape(collectors: Iterable[Collector] = ()) -> tuple[bytes, str]:
    """The exposition text of every process's values (or this process's alone without a
    multiprocess dir), plus `collectors` (values read at scrape time, e.g. from the database)."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ProcessValues())
    for collector in collectors:
        registry.register(collector)
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _ProcessValues(Collector):
    """This process's own metrics (no multiprocess dir), inside a registry of their own."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()
