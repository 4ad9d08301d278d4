"""`manage.py sync INTEGRATION [--historical] [--object NAME]`: one pass in the foreground,
counts printed as JSON. The run is a normal SyncRun row (same lease, same events), so a
foreground pass never overlaps a worker's run of the same integration. The JSON also gives the
process's own peak memory (`peak_rss_mb`), which is how the bench sizes a worker."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from mappings.models import Integration
from syncsmart.engine.slices import run_slice
from syncsmart.models import SyncCursor, SyncRun


class Command(BaseCommand):
    help = "Run one sync pass of an integration in the foreground and print its counts as JSON."

    def add_arguments(self, parser) -> None:
        parser.add_argument("integration", help="integration id")
        parser.add_argument("--historical", action="store_true", help="re-read every record, not just changes")
        parser.add_argument(
            "--object",
            dest="object_name",
            default="",
            help="only this object mapping (HubSpot or other object name, e.g. contacts, leads, deals)",
        )
        parser.add_argument("--max-slices", type=int, default=10_000, help="give up after this many slices")

    def handle(self, *args, **options) -> None:
        integration = (
            Integration.objects.filter(pk=options["integration"]).first() if str(options["integration"]).isdigit() else None
        )
        if integration is None:
            raise CommandError(f"No integration {options['integration']!r}.")
        mapping = None
        if options["object_name"]:
            name = options["object_name"]
            matches = list(integration.object_mappings.filter(Q(hubspot_object=name) | Q(other_object=name) | Q(name=name)))
            if not matches:
                raise CommandError(f"Integration {integration.pk} has no object mapping for {name!r}.")
            if len(matches) > 1:
                choices = ", ".join(f"{m.hubspot_object}↔{m.other_object}" for m in matches)
                raise CommandError(f"{name!r} names several mappings ({choices}); use the other side's name.")
            mapping = matches[0]
        trigger = SyncRun.Trigger.HISTORICAL if options["historical"] else SyncRun.Trigger.MANUAL
        if options["historical"]:
            cursors = SyncCursor.objects.filter(integration=integration, kind=SyncCursor.Kind.HISTORICAL)
            (cursors.filter(object_mapping=mapping) if mapping else cursors).delete()
        run = SyncRun.objects.create(integration=integration, trigger=trigger, object_mapping=mapping)
        for _ in range(options["max_slices"]):
            result = run_slice(str(run.pk), max_seconds=3600)
            run.refresh_from_db()
            if run.status in SyncRun.FINISHED:
                break
            if result.get("skipped") == "another run of this integration is active":
                raise CommandError("Another run of this integration is active; try again when it has finished.")
        output = {
            "run": str(run.pk),
            "status": run.status,
            "counts": run.counts,
            "pages": run.pages,
            "peak_rss_mb": own_peak_rss_mb(),
        }
        if run.error:
            output["error"] = run.error
        self.stdout.write(json.dumps(output, sort_keys=True))
        if run.status == SyncRun.Status.FAILED:
            raise CommandError(run.error or "The run failed.")


def own_peak_rss_mb() -> float | None:
    """This process's peak resident memory (MB) since its program started: the kernel's VmHWM.

    Not getrusage's ru_maxrss: Linux carries the parent's resident set into a child's ru_maxrss
    (fork copies the parent's page tables and exec keeps their high-water mark), so a pass started
    by a large process - the bench, whose emulators hold every seeded record - would report the
    parent's size. None where /proc/self/status is not available (not Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None
