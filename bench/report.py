"""The bench's outputs: a table for the terminal and the JSON file, keyed by scenario."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

import psutil

HEADLINES = {
    "backfill": ("ratio_to_ceiling", "api_calls_per_record", "peak_rss_mb"),
    "engine": ("cpu_ms_per_record",),
    "latency": ("p50_s", "p95_s", "p99_s"),
    "idle": ("cpu_ms_per_run", "queries_per_run"),
    "echo": ("writes",),
    "observability": ("observability_overhead_percent", "ab_difference_percent", "cpu_ms_per_record_on", "cpu_ms_per_record_off"),
    "tenants": ("lateness_p50_s", "lateness_p95_s", "lateness_max_s", "worker_cpu_share_of_machine"),
    "dynamics_writes": (
        "bulk_records_per_s",
        "batch_records_per_s",
        "bulk_dynamics_calls_per_record",
        "batch_dynamics_calls_per_record",
    ),
}


def machine() -> dict[str, Any]:
    return {
        "cpus": psutil.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def table(results: dict[str, Any]) -> str:
    rows = [("scenario", "figure", "value", "target", "met")]
    for scenario, result in results.items():
        if not isinstance(result, dict) or scenario.startswith("_"):
            continue
        targets = result.get("targets", {})
        for name in HEADLINES.get(scenario, ()):
            judged = targets.get(name)
            value = result.get(name)
            rows.append(
                (
                    scenario,
                    name,
                    "n/a" if value is None else f"{value:g}" if isinstance(value, (int, float)) else str(value),
                    judged["target"] if judged else "-",
                    ("yes" if judged["met"] else "NO") if judged else "-",
                )
            )
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def details(results: dict[str, Any]) -> str:
    """The lines a reader needs besides the table: ceilings with their formulas, the profile."""
    out: list[str] = []
    for system, pair in (results.get("backfill") or {}).get("pairs", {}).items():
        out.append(
            f"backfill {system}: {pair['records']} records in {pair['run_s']} s = {pair['records_per_s']} records/s; "
            f"{pair['ceiling_formula']}; ratio {pair['ratio_to_ceiling']}; {pair['api_calls']} API calls "
            f"({pair['api_calls_per_record']}/record); worker peak RSS {pair['peak_rss_mb']} MB"
        )
        for endpoint, per_record in pair["api_calls_per_record_by_endpoint"].items():
            out.append(f"    {per_record:>9.5f} calls/record  {endpoint}")
    engine = results.get("engine")
    if engine:
        areas = ", ".join(f"{k} {v}%" for k, v in engine["where_the_time_goes"].items())
        out.append(
            f"engine: {engine['cpu_ms_per_record']} ms CPU/record over {engine['records']} records; where the time goes: {areas}"
        )
        for row in engine["top_functions"]:
            out.append(f"    {row['tottime_s']:>8.3f} s  {row['calls']:>9} calls  {row['function']}")
    return "\n".join(out)


def write_json(path: str | Path, results: dict[str, Any]) -> None:
    Path(path).write_text(json.dumps(results, indent=2, sort_keys=True, default=str) + "\n")
