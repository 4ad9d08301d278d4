"""`manage.py soak [--records N] [--faults ...] [--kills K] [--system S] [--json FILE]`: the fault
soak (bench/soak.py, docs/benchmarks.md). Exits non-zero when anything was lost, duplicated,
mismatched or orphaned, a deletion did not travel per policy, a merge did not leave one link to its
survivor, or when the re-run wrote anything."""

from __future__ import annotations

import json
import signal
import sys
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from bench.database import throwaway_database
from bench.soak import DEFAULT_FAULTS, LEASE_SECONDS, SYSTEMS, SoakOptions, soak
from connectors.emulation import parse_faults, parse_latency

CHECKS = ("lost", "duplicates", "mismatched", "orphans", "deletes_not_propagated", "merge_errors", "rerun_writes")


class Command(BaseCommand):
    help = "Bidirectional sync under injected faults and SIGKILLed workers; checks nothing was lost or duplicated."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--records", type=int, default=50_000, help="contacts in all, half on each side (plus companies)")
        parser.add_argument(
            "--faults",
            default=",".join(f"{k}={v:g}" for k, v in DEFAULT_FAULTS.items()),
            help="fault rates per call, e.g. '429=0.1,500=0.025,503=0.025,timeout=0.02'",
        )
        parser.add_argument("--kills", type=int, default=3, help="SIGKILL the q2 worker this many times")
        parser.add_argument("--edits-per-second", type=float, default=5.0)
        parser.add_argument("--latency-ms", default="0")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--max-minutes", type=float, default=60.0)
        parser.add_argument(
            "--lease-seconds",
            type=int,
            default=LEASE_SECONDS,
            help="the worker's run lease: how soon a killed worker's run is taken over",
        )
        parser.add_argument("--system", choices=SYSTEMS, default="connectwise", help="HubSpot ↔ this")
        parser.add_argument("--json", dest="json_file", default="")

    def handle(self, *args, **options) -> None:
        try:
            faults = parse_faults(options["faults"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        opts = SoakOptions(
            records=options["records"],
            faults=faults,
            kills=options["kills"],
            edits_per_second=options["edits_per_second"],
            seed=options["seed"],
            latency_ms=parse_latency(options["latency_ms"]),
            max_minutes=options["max_minutes"],
            lease_seconds=options["lease_seconds"],
            system=options["system"],
        )
        # SIGTERM unwinds like Ctrl-C, so the q2 cluster child (its own session) is stopped too.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        workdir = Path(tempfile.mkdtemp(prefix="syncsmart-soak-"))
        with throwaway_database(workdir) as database:
            result = soak(opts, database, workdir, say=lambda line: self.stderr.write(line))
        for name in ("records", *CHECKS, "kills", "edits", "creates", "elapsed_s"):
            self.stdout.write(f"{name:>14}: {result[name]}")
        self.stdout.write(json.dumps({k: result[k] for k in ("records", *CHECKS)}, sort_keys=True))
        if options["json_file"]:
            Path(options["json_file"]).write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
        failed = [name for name in CHECKS if result[name]]
        if failed:
            raise CommandError("Soak found: " + ", ".join(f"{result[n]} {n}" for n in failed))
