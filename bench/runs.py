"""Ways the bench executes a sync pass: in this process (for CPU profiles and query counts) or
as `manage.py sync` in a child process, the way a worker runs it (for its peak RSS)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

import syncsmart.engine.context  # noqa: F401 - loaded up front: a long soak keeps the code it started with,
import syncsmart.engine.run  # noqa: F401 - even when the shared working tree changes meanwhile
from mappings.models import Integration
from syncsmart.engine.slices import run_slice
from syncsmart.models import SyncRun

MANAGE = str(Path(settings.BASE_DIR) / "manage.py")


def sync_here(integration: Integration, trigger: str = SyncRun.Trigger.MANUAL, max_slices: int = 10_000) -> SyncRun:
    """One pass to the end in this thread (slices included); the run as it finished."""
    run = SyncRun.objects.create(integration=integration, trigger=trigger)
    for _ in range(max_slices):
        run_slice(str(run.pk), max_seconds=3600)
        run.refresh_from_db()
        if run.status in SyncRun.FINISHED:
            return run
    raise RuntimeError(f"run {run.pk} did not finish in {max_slices} slices ({run.status}: {run.error})")


@dataclass
class ChildRun:
    output: dict[str, Any]
    wall_s: float
    peak_rss_mb: float
    cpu_s: float


def sync_in_child(integration: Integration, env: dict[str, str]) -> ChildRun:
    """`manage.py sync INTEGRATION` in a child process, as a worker runs it. CPU comes from the
    kernel's accounting of the child (wait4: ru_utime + ru_stime). Peak RSS is the child's own
    high-water mark, which the command reports: wait4's ru_maxrss would be this process's size,
    since Linux carries a parent's resident set into its child's ru_maxrss, and here the parent
    holds the emulators with every seeded record (that figure grew ~2 KB per record)."""
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen([sys.executable, MANAGE, "sync", str(integration.pk)], env=env, stdout=out, stderr=err)
        _pid, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if child.returncode != 0:
        raise RuntimeError(f"manage.py sync failed ({child.returncode}): {stderr[-2000:]}")
    output = json.loads(stdout.strip().splitlines()[-1])
    peak = output.get("peak_rss_mb")
    if peak is None:  # no /proc (not Linux): the kernel's figure, which may include this process's share
        peak = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
    return ChildRun(output, wall, float(peak), usage.ru_utime + usage.ru_stime)
