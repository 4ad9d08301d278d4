"""First-day scenarios: both systems already hold the same records (bench/twins.py).

- `first_day`: the first real run on the full twin data set (default 2,000 companies, 10,000
  contacts, 1,500 deals plus 10% one-sided records): links, creates, and duplicates counted by
  normalised key on both emulators afterwards (the target is 0).
- `preview`: a dry run of the same first run (syncsmart/engine/previews.py): records per second,
  vendor calls per record, and the write calls it made (the target is 0).

`--records N` sets the contacts (companies = N / 5, deals = 15% of N); the default is the issue's
10,000 contacts. Both run in this process, the vendors on real ports with their published limits.
"""

from __future__ import annotations

import time
from typing import Any

from bench import lab as labs
from bench import twins
from bench.runs import sync_here
from syncsmart.engine import previews

DEFAULT_CONTACTS = 10_000


def _sizes(records: int | None) -> dict[str, int]:
    contacts = records or DEFAULT_CONTACTS
    return {"companies": max(1, contacts // 5), "contacts": contacts, "deals": max(1, contacts * 15 // 100)}


def _seeded_lab(opts, system: str) -> tuple[labs.Lab, twins.Twins]:
    lab = labs.build_lab(system, latency_ms=opts.latency_ms, limits=True)
    lab.integration.object_mappings.filter(other_object="leads").delete()
    data = twins.dataset(**_sizes(opts.records))
    twins.seed_pair(lab.hubspot.emulator, lab.other.emulator, system, data)
    lab.reset_counters()
    return lab, data


def first_day(opts) -> dict[str, Any]:
    pairs = {system: _first_day_pair(opts, system) for system in opts.systems}
    worst = {"duplicates": max(p["duplicates"] for p in pairs.values()), "missing": max(p["missing"] for p in pairs.values())}
    return {**worst, "pairs": pairs, "targets": {k: {"value": v, "target": "<= 0", "met": v <= 0} for k, v in worst.items()}}


def _first_day_pair(opts, system: str) -> dict[str, Any]:
    lab, data = _seeded_lab(opts, system)
    try:
        started = time.monotonic()
        run = sync_here(lab.integration)
        wall = time.monotonic() - started
        expected = data.expected()
        hub, other = twins.census_hubspot(lab.hubspot.emulator), twins.CENSUS[system](lab.other.emulator)
        outcomes = run.counts
        per_object = {
            obj: {
                "expected": expected[obj]["total"],
                "hubspot": hub.count(obj),
                "other": other.count(obj),
                "duplicates_hubspot": hub.duplicates(obj),
                "duplicates_other": other.duplicates(obj),
            }
            for obj in ("companies", "contacts", "deals")
        }
        return {
            "run_status": run.status,
            "wall_s": round(wall, 1),
            "records": sum(e["total"] for e in expected.values()),
            "linked": outcomes.get("linked", 0),
            "created": outcomes.get("created", 0),
            "ambiguous": outcomes.get("ambiguous", 0),
            "failed": outcomes.get("failed", 0),
            "duplicates": sum(o["duplicates_hubspot"] + o["duplicates_other"] for o in per_object.values()),
            "missing": sum(
                max(0, o["expected"] - o["hubspot"]) + max(0, o["expected"] - o["other"]) for o in per_object.values()
            ),
            "objects": per_object,
            "api_calls": lab.hubspot.emulator.counters()["total"] + lab.other.emulator.counters()["total"],
        }
    finally:
        lab.stop()


def preview(opts) -> dict[str, Any]:
    pairs = {system: _preview_pair(opts, system) for system in opts.systems}
    worst = {
        "writes": max(p["write_calls"] for p in pairs.values()),
        "api_calls_per_record": max(p["api_calls_per_record"] for p in pairs.values()),
    }
    met = {"writes": {"value": worst["writes"], "target": "<= 0", "met": worst["writes"] <= 0}}
    return {**worst, "pairs": pairs, "targets": met}


def _preview_pair(opts, system: str) -> dict[str, Any]:
    lab, data = _seeded_lab(opts, system)
    try:
        request = previews.request_preview(lab.integration, None, enqueue=False)
        started = time.monotonic()
        done = previews.run_preview(str(request.pk))
        wall = time.monotonic() - started
        records = sum(e["both"] * 2 + e["hubspot_only"] + e["other_only"] for e in data.expected().values())
        calls = lab.hubspot.emulator.counters()["total"] + lab.other.emulator.counters()["total"]
        return {
            "status": done.status,
            "error": done.error,
            "records": records,
            "wall_s": round(wall, 1),
            "records_per_s": round(records / wall, 1) if wall else 0.0,
            "api_calls": calls,
            "api_calls_counted_by_preview": done.api_calls,
            "api_calls_per_record": round(calls / max(records, 1), 4),
            "write_calls": lab.hubspot.emulator.writes + lab.other.emulator.writes,
            "totals": (done.result or {}).get("totals", {}),
        }
    finally:
        lab.stop()
