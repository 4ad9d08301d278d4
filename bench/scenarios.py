"""The bench scenarios. Each takes the BenchOptions and returns a JSON-able dict of figures,
with every figure that has a target reported against it under "targets"."""

from __future__ import annotations

import cProfile
import datetime as dt
import math
import pstats
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from bench import activities as activity_bench
from bench import first_day, observability
from bench import lab as labs
from bench import tenants as tenant_bench
from bench.ceiling import backfill_ceiling
from bench.database import child_environment
from bench.measure import ApiCalls, count_queries, sync_cpu_seconds, thread_cpu_seconds
from bench.runs import sync_here, sync_in_child
from bench.services import Worker, serve_site, wait_until
from connectors.emulation import utcnow
from mappings.demo import demo_connection
from mappings.services import actions
from syncsmart.engine import webhook_registration
from syncsmart.models import RecordLink, SyncRun
from tenants.models import Tenant

# The targets; a miss is a finding the report shows, never hidden.
TARGETS = {
    "ratio_to_ceiling": (">=", 0.90),
    "api_calls_per_record": ("<=", 0.03),
    "peak_rss_mb": ("<=", 250.0),  # stated for a 100,000-record backfill
    "cpu_ms_per_record": ("<=", 0.3),
    "p95_s": ("<=", 2.0),
    "cpu_ms_per_run": ("<=", 20.0),
    "queries_per_run": ("<=", 20),
    "writes": ("<=", 0),
    "observability_overhead_percent": ("<=", 5.0),
    "lateness_p95_s": ("<=", 30.0),  # tenants: stated for 1,000 integrations on a 5-minute schedule
    "worker_cpu_share_of_machine": ("<=", 0.5),
}

READ_ROUTES = ("search", "batch/read", "oauth", "token", "$batch-read", "suiteql")  # POSTs that read


@dataclass
class BenchOptions:
    records: int
    latency_ms: tuple[float, float]
    database: dict
    workdir: Path
    systems: tuple[str, ...] = ("connectwise", "dynamics")
    integrations: int = 20  # idle
    updates: int = 40  # latency: single-record updates, half on each side
    update_interval_s: float = 0.5
    workers: int = 2  # tenants: qcluster processes
    minutes: int = 2  # tenants: minutes of schedules measured
    campaign_webhooks: bool = True  # activities: the campaign's own notifications reach the inbox
    profile_top: int = 12
    notes: list[str] = field(default_factory=list)


def cancel_leftover_runs() -> int:
    """Before a scenario: cancel runs an earlier scenario left queued (e.g. webhook runs queued
    after its worker stopped). Left alone they would make every run of the next scenario yield
    after each flow, as the engine does when another tenant's run waits."""
    return SyncRun.objects.filter(status__in=SyncRun.ACTIVE).update(status=SyncRun.Status.CANCELLED)


def judge(figures: dict[str, Any]) -> dict[str, Any]:
    """{metric: {value, target, met}} for every figure that has a target."""
    out = {}
    for name, value in figures.items():
        if name in TARGETS and isinstance(value, (int, float)):
            op, target = TARGETS[name]
            out[name] = {"value": value, "target": f"{op} {target:g}", "met": value >= target if op == ">=" else value <= target}
    return out


def write_calls(emulator) -> int:
    """Write calls an emulator answered (HubSpot's search and batch read are POSTs that read)."""
    calls = emulator.counters()["calls"]
    return sum(
        n
        for key, n in calls.items()
        if key.split(" ", 1)[0] in ("POST", "PATCH", "PUT", "DELETE") and not any(r in key for r in READ_ROUTES)
    )


def _created(run: SyncRun | dict) -> int:
    counts = run.counts if isinstance(run, SyncRun) else run.get("counts", {})
    return int(counts.get("created", 0))


# --- backfill ------------------------------------------------------------------------------------------
def backfill(opts: BenchOptions) -> dict[str, Any]:
    pairs = {system: _backfill_pair(opts, system) for system in opts.systems}
    worst = {
        "ratio_to_ceiling": min(p["ratio_to_ceiling"] for p in pairs.values()),
        "api_calls_per_record": max(p["api_calls_per_record"] for p in pairs.values()),
        "peak_rss_mb": max(p["peak_rss_mb"] for p in pairs.values()),
    }
    return {**worst, "records": opts.records, "pairs": pairs, "targets": judge(worst)}


def _backfill_pair(opts: BenchOptions, system: str) -> dict[str, Any]:
    lab = labs.build_lab(system, latency_ms=opts.latency_ms, limits=True, objects=labs.BACKFILL_OBJECTS[system])
    try:
        labs.seed_other(lab, opts.records)
        lab.reset_counters()
        child = sync_in_child(lab.integration, child_environment(opts.database))
        run = SyncRun.objects.get(pk=child.output["run"])
        calls = ApiCalls.read(lab.emulators)
        records = _created(run)
        run_seconds = (run.finished_at - run.started_at).total_seconds()
        ceiling, formula = backfill_ceiling(system, lab.hubspot.emulator.per_10s, statistics.mean(opts.latency_ms) / 1000)
        rate = records / run_seconds if run_seconds else 0.0
        return {
            "records": records,
            "contacts": opts.records,
            "run_status": run.status,
            "wall_s": round(child.wall_s, 2),
            "run_s": round(run_seconds, 2),
            "records_per_s": round(rate, 1),
            "ceiling_records_per_s": round(ceiling, 1),
            "ceiling_formula": formula,
            "ratio_to_ceiling": round(rate / ceiling, 3),
            "api_calls": calls.total(),
            "api_calls_per_record": round(calls.total() / max(records, 1), 4),
            "api_calls_per_record_by_endpoint": calls.per_record(records),
            "peak_rss_mb": round(child.peak_rss_mb, 1),
            "worker_cpu_s": round(child.cpu_s, 2),
            "latency_ms": list(opts.latency_ms),
        }
    finally:
        lab.stop()


def dynamics_writes(opts: BenchOptions) -> dict[str, Any]:
    """A HubSpot -> Dynamics backfill (companies and contacts seeded in HubSpot, created in
    Dynamics) twice: the connector writing with bulk messages (CreateMultiple...) and with $batch.
    The connector's default write mode is whichever was faster (docs/benchmarks.md)."""
    modes = {mode: _dynamics_write_pass(opts, mode) for mode in ("bulk", "batch")}
    figures = {
        f"{mode}_{name}": result[name]
        for mode, result in modes.items()
        for name in ("records_per_s", "api_calls_per_record", "dynamics_calls_per_record")
    }
    faster = max(modes, key=lambda mode: modes[mode]["records_per_s"])
    return {**figures, "faster": faster, "modes": modes}


def _dynamics_write_pass(opts: BenchOptions, write_mode: str) -> dict[str, Any]:
    lab = labs.build_lab("dynamics", latency_ms=opts.latency_ms, limits=True, objects=labs.BACKFILL_OBJECTS["dynamics"])
    try:
        connection = lab.integration.other_connection  # the connector reads its write mode from here
        connection.config = {**connection.config, "write_mode": write_mode}
        connection.save(update_fields=["config"])
        labs.seed_hubspot(lab, opts.records)
        lab.reset_counters()
        child = sync_in_child(lab.integration, child_environment(opts.database))
        run = SyncRun.objects.get(pk=child.output["run"])
        calls = ApiCalls.read(lab.emulators)
        records = _created(run)
        run_seconds = (run.finished_at - run.started_at).total_seconds()
        dynamics_calls = lab.other.emulator.counters()["total"]
        return {
            "write_mode": write_mode,
            "records": records,
            "in_dynamics": lab.other.emulator.count("contacts") + lab.other.emulator.count("accounts"),
            "run_status": run.status,
            "run_s": round(run_seconds, 2),
            "records_per_s": round(records / run_seconds if run_seconds else 0.0, 1),
            "api_calls": calls.total(),
            "api_calls_per_record": round(calls.total() / max(records, 1), 4),
            "dynamics_calls_per_record": round(dynamics_calls / max(records, 1), 4),
            "api_calls_per_record_by_endpoint": calls.per_record(records),
            "peak_rss_mb": round(child.peak_rss_mb, 1),
            "worker_cpu_s": round(child.cpu_s, 2),
            "latency_ms": list(opts.latency_ms),
        }
    finally:
        lab.stop()


# --- engine ----------------------------------------------------------------------------------------------
def engine(opts: BenchOptions) -> dict[str, Any]:
    """The same backfill with latency 0 and limits off, in this thread: CPU per record, and a
    cProfile of a second identical pass to say where the time goes."""
    system = opts.systems[0]
    measured = _engine_pass(opts, system, profile=False)
    profiled = _engine_pass(opts, system, profile=True)
    figures = {"cpu_ms_per_record": measured["cpu_ms_per_record"]}
    return {
        **figures,
        "records": measured["records"],
        "system": system,
        "wall_s": measured["wall_s"],
        "where_the_time_goes": profiled["areas"],
        "top_functions": profiled["top"],
        "note": "CPU of the sync on every thread it uses (engine, connectors, HTTP client, ORM and database driver): "
        "this process's CPU minus what the emulators' request handlers spent. The profile covers the "
        "run's own thread only.",
        "targets": judge(figures),
    }


def _engine_pass(opts: BenchOptions, system: str, profile: bool) -> dict[str, Any]:
    lab = labs.build_lab(system, latency_ms=(0, 0), limits=False, objects=labs.BACKFILL_OBJECTS[system])
    try:
        labs.seed_other(lab, opts.records)
        profiler = cProfile.Profile(thread_cpu_seconds) if profile else None  # CPU, not waiting
        started, cpu = time.monotonic(), sync_cpu_seconds(lab)
        if profiler:
            profiler.enable()
        run = sync_here(lab.integration)
        if profiler:
            profiler.disable()
        cpu = sync_cpu_seconds(lab) - cpu
        records = _created(run)
        result = {
            "records": records,
            "cpu_ms_per_record": round(cpu * 1000 / max(records, 1), 4),
            "wall_s": round(time.monotonic() - started, 2),
        }
        if profiler:
            result.update(profile_summary(profiler, opts.profile_top))
        return result
    finally:
        lab.stop()


AREAS = (
    ("syncsmart/engine", "engine"),
    ("connectors/", "connectors"),
    ("mappings/", "mappings"),
    ("django/db", "ORM + database"),
    ("sqlite3", "ORM + database"),
    ("psycopg", "ORM + database"),
    ("httpx", "HTTP client"),
    ("httpcore", "HTTP client"),
    ("h11", "HTTP client"),
    ("socket", "network I/O"),
    ("ssl", "network I/O"),
    ("json", "JSON"),
    ("cryptography", "crypto"),
    ("django/", "Django (other)"),
)


def _area(filename: str) -> str:
    for needle, name in AREAS:
        if needle in filename:
            return name
    return "other (stdlib, builtins)"


def profile_summary(profiler: cProfile.Profile, top: int) -> dict[str, Any]:
    stats = pstats.Stats(profiler)
    total = sum(row[2] for row in stats.stats.values()) or 1.0  # tottime
    areas: dict[str, float] = {}
    rows = []
    for (filename, line, func), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():
        areas[_area(filename)] = areas.get(_area(filename), 0.0) + tottime
        rows.append((tottime, f"{Path(filename).name}:{line}({func})", calls, cumtime))
    rows.sort(reverse=True)
    return {
        "areas": {k: round(100 * v / total, 1) for k, v in sorted(areas.items(), key=lambda kv: -kv[1])},
        "top": [
            {"function": name, "tottime_s": round(t, 3), "calls": n, "cumtime_s": round(c, 3)} for t, name, n, c in rows[:top]
        ],
    }


# --- latency ---------------------------------------------------------------------------------------------
def latency(opts: BenchOptions) -> dict[str, Any]:
    """Webhooks on, registered by the product itself (HubSpot app subscriptions, ConnectWise
    callbacks, a Dataverse service endpoint and its steps): the Django app serves the webhook
    endpoints on a real port, a q2 cluster in a child process executes the webhook-triggered runs;
    single-record updates alternate sides at a steady rate; each is timed from the edit to the
    moment the other emulator holds the value. ConnectWise's figures are the top level; each
    other pair's are under its name."""
    results: dict[str, Any] = {}
    for system in opts.systems:
        if system in LATENCY_EDITS:
            results[system] = _latency_for(opts, system)
    first = results.pop("connectwise", None) or results.pop(next(iter(results)))
    return {**first, **results}


# How a user edits a contact's first name in the other system, and how the bench reads it back.
LATENCY_EDITS: dict[str, tuple[Callable[[Any, Any, str], Any], Callable[[Any, Any], Any]]] = {
    "connectwise": (
        lambda emulator, record_id, value: emulator.edit("contacts", record_id, {"firstName": value}),
        lambda emulator, record_id: (emulator.get("contacts", record_id) or {}).get("firstName"),
    ),
    "dynamics": (
        lambda emulator, record_id, value: emulator.edit_record("contacts", record_id, {"firstname": value}),
        lambda emulator, record_id: (emulator.record("contacts", record_id) or {}).get("firstname"),
    ),
}


def _latency_for(opts: BenchOptions, system: str) -> dict[str, Any]:
    edit_other, read_other = LATENCY_EDITS[system]
    objects = ("contacts", "companies") if system == "connectwise" else ("contacts", "accounts")
    lab = labs.build_lab(system, latency_ms=opts.latency_ms, limits=True, objects=objects)
    site = serve_site()
    worker = Worker(
        child_environment(opts.database) | {"SITE_URL": site.base_url},
        log_path=str(opts.workdir / f"latency-{system}-qcluster.log"),
    )
    try:
        count = max(4, opts.updates)
        other_ids = labs.seed_other(lab, count + 1)
        sync_here(lab.integration)  # link everything first: the scenario measures changes, not creates
        registered = _register(lab, site.base_url)
        worker.start()
        links = _linked_contacts(lab, other_ids)
        # Warm-up: the first round trip waits for the cluster to start; it is not a sample.
        warm_other, _ = links.pop()
        edit_other(lab.other.emulator, warm_other, "WarmUp")
        wait_until(lambda: lab.hubspot.emulator.find_records("contacts", "firstname", "WarmUp"), timeout=60)
        samples: dict[str, list[float]] = {"hubspot_to_other": [], "other_to_hubspot": []}
        pending: list[tuple[str, float, Callable[[], bool]]] = []
        lab.reset_counters()
        window_start = timezone.now()
        for n in range(count):
            other_id, hub_id = links[n]  # one record per update: a later edit never hides an earlier one
            value = f"Bench{n}"
            if n % 2 == 0:
                lab.hubspot.emulator.edit_record("contacts", hub_id, {"firstname": value})

                def seen(other_id: str = other_id, value: str = value) -> bool:
                    return read_other(lab.other.emulator, other_id) == value

                pending.append(("hubspot_to_other", time.monotonic(), seen))
            else:
                edit_other(lab.other.emulator, other_id, value)

                def seen(hub_id: str = hub_id, value: str = value) -> bool:
                    return (lab.hubspot.emulator.get_record("contacts", hub_id) or {}).get("firstname") == value

                pending.append(("other_to_hubspot", time.monotonic(), seen))
            pending = _collect(pending, samples, until=time.monotonic() + opts.update_interval_s)
        pending = _collect(pending, samples, until=time.monotonic() + 30, stop_when_done=True)
        all_samples = sorted(samples["hubspot_to_other"] + samples["other_to_hubspot"])
        figures = {"p50_s": _pct(all_samples, 50), "p95_s": _pct(all_samples, 95), "p99_s": _pct(all_samples, 99)}
        by_direction = {k: {"p50_s": _pct(sorted(v), 50), "p95_s": _pct(sorted(v), 95), "n": len(v)} for k, v in samples.items()}
        calls = ApiCalls.read(lab.emulators)
        runs = _runs_that_worked(lab.integration, since=window_start)
        return {
            **figures,
            "system": system,
            "webhooks": registered,
            "updates": count,
            "seen": len(all_samples),
            "never_seen": len(pending),
            "runs": runs,
            "api_calls_per_run": round(calls.total() / max(runs, 1), 1),
            "api_calls_per_update": round(calls.total() / count, 2),
            "api_calls_by_endpoint": calls.by_endpoint,
            "interval_s": opts.update_interval_s,
            "by_direction": by_direction,
            "latency_ms": list(opts.latency_ms),
            "path": (
                "emulator edit → signed webhook/callback → Django view → inbox row → q2 (ORM broker, poll 0.2 s) → run → write"
            ),
            "targets": judge(figures),
        }
    finally:
        worker.stop()
        site.stop()
        lab.stop()


def _runs_that_worked(integration, since) -> int:
    """Runs that worked during the measured stream: started, and not finished before it began (a
    run still working the warm-up when the stream starts counts; a queued one never started not)."""
    return (
        SyncRun.objects.filter(integration=integration, started_at__isnull=False)
        .filter(Q(finished_at__isnull=True) | Q(finished_at__gte=since))
        .count()
    )


def _register(lab: labs.Lab, site_url: str) -> dict[str, str]:
    """The product registers its webhooks with both emulators, pointed at the bench's web server."""
    settings.SITE_URL = site_url
    return {r.side: r.state for r in webhook_registration.register(lab.integration, "bench")}


def _linked_contacts(lab: labs.Lab, other_ids: list[str]) -> list[tuple[str, str]]:
    links = dict(
        RecordLink.objects.filter(integration=lab.integration, other_object="contacts").values_list("other_id", "hubspot_id")
    )
    return [(int(i) if i.isdigit() else i, links[i]) for i in other_ids if i in links]


def _collect(pending, samples, until: float, stop_when_done: bool = False):
    while pending and time.monotonic() < until:
        still = []
        for direction, started, seen in pending:
            if seen():
                samples[direction].append(time.monotonic() - started)
            else:
                still.append((direction, started, seen))
        pending = still
        time.sleep(0.01)
    if not stop_when_done and time.monotonic() < until:
        time.sleep(until - time.monotonic())  # keep the stream steady: the next update waits its turn
    return pending


def _pct(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    index = min(len(values) - 1, max(0, math.ceil(pct / 100 * len(values)) - 1))  # nearest rank
    return round(values[index], 3)


# --- idle ------------------------------------------------------------------------------------------------
def idle(opts: BenchOptions) -> dict[str, Any]:
    """Many integrations (each its own tenant, all on one pair of emulators), everything synced,
    nothing changing: one scheduled run each, its CPU (this thread) and database queries."""
    lab = labs.build_lab("connectwise", latency_ms=(0, 0), limits=False)
    integrations = [lab.integration]
    try:
        labs.seed_other(lab, 10)
        labs.seed_hubspot(lab, 10)
        for n in range(1, opts.integrations):
            integrations.append(_another_tenant(lab, n))
        for integration in integrations:
            sync_here(integration)
        _age_emulator_clocks(lab)
        for integration in integrations:  # settle: the overlap windows re-read the records written above once
            sync_here(integration, trigger=SyncRun.Trigger.SCHEDULE)
        cpu_ms, queries, writes = [], [], 0
        lab.reset_counters()
        for integration in integrations:
            with count_queries() as counter:
                started = sync_cpu_seconds(lab)
                sync_here(integration, trigger=SyncRun.Trigger.SCHEDULE)
                cpu_ms.append((sync_cpu_seconds(lab) - started) * 1000)
            queries.append(counter.count)
            by_kind = counter.by_kind
        writes = write_calls(lab.hubspot.emulator) + write_calls(lab.other.emulator)
        calls = ApiCalls.read(lab.emulators)
        figures = {"cpu_ms_per_run": round(statistics.mean(cpu_ms), 2), "queries_per_run": round(statistics.mean(queries), 1)}
        return {
            **figures,
            "integrations": len(integrations),
            "cpu_ms_per_run_max": round(max(cpu_ms), 2),
            "queries_per_run_max": max(queries),
            "api_calls_per_run": round(calls.total() / len(integrations), 1),
            "writes": writes,
            "object_mappings_per_integration": lab.integration.object_mappings.count(),
            "queries_of_last_run": dict(by_kind.most_common()),
            "targets": judge(figures),
        }
    finally:
        lab.stop()


def _another_tenant(lab: labs.Lab, n: int):

    slug = f"bench-idle-{n}-{uuid.uuid4().hex[:6]}"
    tenant = Tenant.objects.create(name=slug, slug=slug)
    hub = demo_connection(tenant, "hubspot", lab.hubspot.emulator, lab.hubspot.base_url)
    other = demo_connection(tenant, lab.system, lab.other.emulator, lab.other.base_url)
    return actions.create_integration(tenant, None, hub, other, enabled=True, test_mode=False, name=f"Idle {n}")


def _age_emulator_clocks(lab: labs.Lab) -> None:
    """Move the vendors' clocks an hour on, so the records written so far fall out of every
    overlap window: an idle run then sees what a quiet account looks like."""

    lab.hubspot.emulator.advance_clock(3_600_000)
    if lab.system == "connectwise":
        lab.other.emulator.clock = lambda: utcnow() + dt.timedelta(hours=1)


# --- echo ------------------------------------------------------------------------------------------------
def echo(opts: BenchOptions) -> dict[str, Any]:
    """A bidirectional backfill (half the records on each side) run to convergence, then one
    more run: the writes it makes (must be 0)."""
    results = {}
    for system in opts.systems:
        lab = labs.build_lab(system, latency_ms=(0, 0), limits=False, objects=labs.BACKFILL_OBJECTS[system])
        try:
            labs.seed_other(lab, max(1, opts.records // 2))
            labs.seed_hubspot(lab, max(1, opts.records // 2))
            passes = _passes_to_converge(lab)
            lab.reset_counters()
            final = sync_here(lab.integration)
            writes = write_calls(lab.hubspot.emulator) + write_calls(lab.other.emulator)
            results[system] = {
                "writes": writes,
                "passes_to_converge": passes,
                "final_counts": final.counts,
                "contacts_each_side": lab.hubspot.emulator.count("contacts"),
            }
        finally:
            lab.stop()
    figures = {"writes": sum(r["writes"] for r in results.values())}
    return {**figures, "pairs": results, "targets": judge(figures)}


def _passes_to_converge(lab: labs.Lab, most: int = 5) -> int:
    """Sync until a pass writes nothing; how many passes that took (`most` if it never settles)."""
    for passes in range(1, most + 1):
        lab.reset_counters()
        sync_here(lab.integration)
        if write_calls(lab.hubspot.emulator) + write_calls(lab.other.emulator) == 0:
            return passes
    return most


def tenants(opts: BenchOptions) -> dict[str, Any]:
    """N integrations on a one-minute schedule served by K qcluster processes (bench/tenants.py)."""
    result = tenant_bench.tenants(opts, _another_tenant, _age_emulator_clocks)
    return {**result, "targets": judge({k: result[k] for k in ("lateness_p95_s", "worker_cpu_share_of_machine")})}


# Scenarios that take minutes run only when named (`--scenario tenants`), never in the default "all".
ON_REQUEST = ("tenants",)

SCENARIOS: dict[str, Callable[[BenchOptions], dict[str, Any]]] = {
    "backfill": backfill,
    "engine": engine,
    "latency": latency,
    "idle": idle,
    "echo": echo,
    "dynamics_writes": dynamics_writes,
    "first_day": first_day.first_day,
    "preview": first_day.preview,
    "activities": lambda opts: activity_bench.activities(opts, judge=judge, percentile=_pct),
    "observability": lambda opts: observability.overhead(opts, engine_pass=_engine_pass, judge=judge),
    "tenants": tenants,
}
