"""The `observability` scenario: what the Prometheus metrics and the JSON logs cost the engine, in
CPU per record (issue 22's budget: at most 5 %).

The engine scenario's pass (latency 0, limits off, the sync in this process) runs in pairs: once
as deployed with `LOG_FORMAT=json` (metrics counted into the multiprocess directory, the console
handler writing JSON lines with the run's ids) and once with the metric calls replaced by no-ops
and the plain format. Both write their log lines to /dev/null, so the terminal costs neither. The
passes alternate in ABBA order (off, on, on, off, ...) so that a neighbour's load on the shared
machine and the bench database's growth hit both alike; the medians are compared. Because that
comparison is at the mercy of the machine's noise, the headline figure is measured directly: the
CPU time spent inside the metric calls and the log handler during the "on" passes, per record.
Log redaction runs in both: it is a security control, not an observability one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

from pythonjsonlogger.json import JsonFormatter

from syncsmart.core import metrics

ROUNDS = 4
METRIC_CALLS = ("record_events", "run_finished", "record_vendor_call")


@contextlib.contextmanager
def observability(on: bool, spent: list[float]) -> Iterator[None]:
    """Metrics and JSON logs as deployed (on), or no metric calls and plain lines (off). On, the
    CPU time spent inside the metric calls and the log handler is added to `spent` (seconds, each
    measured on the thread that spent it: vendor calls are counted on the connectors' threads)."""
    handler = _console_handler()
    formatter, stream = handler.formatter, handler.stream
    with open(os.devnull, "w") as devnull, contextlib.ExitStack() as stack:
        handler.setStream(devnull)
        handler.setFormatter(_json_formatter() if on else logging.Formatter("%(message)s"))
        for name in METRIC_CALLS:
            original = getattr(metrics, name)
            stand_in = _timed(original, spent) if on else (lambda *args, **kwargs: None)
            stack.enter_context(mock.patch.object(metrics, name, stand_in))
        if on:
            stack.enter_context(mock.patch.object(handler, "emit", _timed(handler.emit, spent)))
        try:
            yield
        finally:
            handler.setStream(stream)
            handler.setFormatter(formatter)


def _timed(function: Callable[..., Any], spent: list[float]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent.append(time.thread_time() - started)  # list.append is atomic: threads may share it

    return timed


def _console_handler() -> logging.StreamHandler:
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            return handler
    handler = logging.StreamHandler()
    logging.getLogger().addHandler(handler)
    return handler


def _json_formatter() -> logging.Formatter:
    # The formatter settings.LOGGING names "json" (python-json-logger).
    return JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")


def overhead(opts: Any, *, engine_pass: Callable[..., dict[str, Any]], judge: Callable[[dict], dict]) -> dict[str, Any]:
    """`engine_pass` and `judge`: the engine scenario's pass and the targets' judge (bench.scenarios)."""
    system = opts.systems[0]
    passes: dict[str, list[float]] = {"off": [], "on": []}
    inside: list[float] = []  # ms per record spent in metric calls and log lines, per "on" pass
    for round_number in range(ROUNDS):
        # ABBA order: each pass runs on a database (and a process) a little older than the one
        # before, so a fixed order would charge that drift to whichever mode always runs second.
        for mode in ("off", "on") if round_number % 2 == 0 else ("on", "off"):
            spent: list[float] = []
            with observability(mode == "on", spent):
                result = engine_pass(opts, system, profile=False)
            passes[mode].append(result["cpu_ms_per_record"])
            if mode == "on":
                inside.append(sum(spent) * 1000 / max(result["records"], 1))
    off, on, attributed = statistics.median(passes["off"]), statistics.median(passes["on"]), statistics.median(inside)
    figures = {"observability_overhead_percent": round(attributed * 100 / max(on - attributed, 1e-9), 2)}
    return {
        **figures,
        "ab_difference_percent": round((on - off) * 100 / off, 1),
        "cpu_ms_per_record_on": on,
        "cpu_ms_per_record_off": off,
        "ms_per_record_inside_metrics_and_logs": round(attributed, 4),
        "passes": passes,
        "records": opts.records,
        "system": system,
        "note": "observability_overhead_percent: CPU measured inside the metric calls and the log handler, "
        "as a share of the rest of the engine's CPU per record (medians of the 'on' passes). "
        "ab_difference_percent: the medians of alternating passes with (on) and without (off) them, "
        f"{ROUNDS} each; on a loaded shared machine their noise exceeds the difference.",
        "targets": judge(figures),
    }
