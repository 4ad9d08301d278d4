"""`manage.py bench [--scenario NAME ...] [--records N] [--json FILE]`: the speed benchmarks
against the emulators on real ports (see docs/benchmarks.md). Runs in a throw-away database."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from bench.database import throwaway_database
from bench.lab import DEFAULT_LATENCY_MS
from bench.report import details, machine, table, write_json
from bench.scenarios import ON_REQUEST, SCENARIOS, BenchOptions, cancel_leftover_runs
from connectors.emulation import parse_latency


class Command(BaseCommand):
    help = "Benchmark the sync against the vendor emulators: backfill, engine, latency, idle, echo."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--scenario",
            action="append",
            choices=sorted(SCENARIOS),
            dest="scenarios",
            help="run only this scenario (repeatable); default: all but tenants",
        )
        parser.add_argument("--records", type=int, default=10_000, help="contacts per backfill / engine / echo run")
        parser.add_argument("--json", dest="json_file", default="", help="also write the results here")
        parser.add_argument(
            "--latency-ms", default="{:g}-{:g}".format(*DEFAULT_LATENCY_MS), help="per-call vendor latency, e.g. 150 or 100-250"
        )
        parser.add_argument(
            "--systems",
            default="connectwise,dynamics",
            help="backfill / echo pairs (HubSpot ↔ these: connectwise, dynamics, netsuite, salesforce)",
        )
        parser.add_argument("--integrations", type=int, default=20, help="idle: how many integrations")
        parser.add_argument("--updates", type=int, default=40, help="latency: single-record updates (half on each side)")
        parser.add_argument("--update-interval", type=float, default=0.5, help="latency: seconds between updates")
        parser.add_argument("--workers", type=int, default=2, help="tenants: qcluster processes")
        parser.add_argument("--minutes", type=int, default=2, help="tenants: minutes of one-minute schedules measured")
        parser.add_argument(
            "--campaign-webhooks",
            action=argparse.BooleanOptionalAction,
            default=True,
            help="activities: the campaign's e-mails notify the product as they are logged (off: webhooks are "
            "registered after them, and the run finds them in the change feed)",
        )

    def handle(self, *args, **options) -> None:
        names = options["scenarios"] or [name for name in SCENARIOS if name not in ON_REQUEST]
        systems = tuple(s.strip() for s in options["systems"].split(",") if s.strip())
        if not systems or set(systems) - {"connectwise", "dynamics", "netsuite", "salesforce"}:
            raise CommandError("--systems takes connectwise, dynamics, netsuite and/or salesforce")
        workdir = Path(tempfile.mkdtemp(prefix="syncsmart-bench-"))
        results: dict = {
            "_meta": {
                "machine": machine(),
                "records": options["records"],
                "latency_ms": options["latency_ms"],
                "scenarios": names,
                "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
        }
        with throwaway_database(workdir) as database:
            opts = BenchOptions(
                records=options["records"],
                latency_ms=parse_latency(options["latency_ms"]),
                database=database,
                workdir=workdir,
                systems=systems,
                integrations=options["integrations"],
                updates=options["updates"],
                update_interval_s=options["update_interval"],
                workers=options["workers"],
                minutes=options["minutes"],
                campaign_webhooks=options["campaign_webhooks"],
            )
            for name in names:
                started = time.monotonic()
                self.stderr.write(f"bench: {name}...")
                cancel_leftover_runs()
                results[name] = SCENARIOS[name](opts)
                results[name]["scenario_wall_s"] = round(time.monotonic() - started, 1)
        if options["json_file"]:  # first: a closed stdout (| head) must not lose the figures
            write_json(options["json_file"], results)
        self.stdout.write(table(results))
        self.stdout.write("")
        self.stdout.write(details(results))
        if options["json_file"]:
            self.stdout.write(f"\nJSON written to {options['json_file']}")
