"""A real `qcluster` worker is SIGKILLed in the middle of a run; after the sweep hands the run
to a new worker it finishes with no duplicate and no lost change.

Everything runs for real: the emulators on real ports, a SQLite file database, and the q2 ORM
broker or Redis (which keeps no delivery receipts, so the killed worker's task is simply gone)
shared by the worker processes. The test process only drives them through `manage.py` and
reads the database file.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from connectors.connectwise.emulator import DEMO_CLIENT_ID, DEMO_COMPANY, DEMO_PRIVATE_KEY, DEMO_PUBLIC_KEY, ConnectWiseEmulator
from connectors.hubspot.emulator import DEFAULT_TOKEN, HubSpotEmulator

ROOT = Path(__file__).resolve().parents[2]
COMPANIES = 600  # three HubSpot pages of 200; ConnectWise takes them one POST at a time

SETUP = """
from mappings.services import actions
from tenants.models import Tenant
from connectors.models import Connection
tenant = Tenant.objects.create(name="Kill Test", slug="kill-test")
hub = Connection.objects.create(tenant=tenant, system="hubspot", config={{"base_url": "{hub_url}"}},
                                credentials={{"token": "{token}"}})
cw = Connection.objects.create(tenant=tenant, system="connectwise",
                               config={{"base_url": "{cw_url}", "company_id": "{company}", "public_key": "{public}",
                                        "client_id": "{client}"}}, credentials={{"private_key": "{private}"}})
integration = actions.create_integration(tenant, None, hub, cw, enabled=False)
companies = integration.object_mappings.get(hubspot_object="companies")
companies.direction = "to_other"
companies.save()
integration.object_mappings.exclude(pk=companies.pk).update(enabled=False)
from django.db import transaction
from syncsmart.engine import run_requests
with transaction.atomic():
    run_requests.request_run(integration, None, trigger="manual")
print("SETUP-OK", integration.pk)
"""


def manage(env, *args, script: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    command = [sys.executable, str(ROOT / "manage.py"), *args]
    if script is not None:
        command += ["-c", script]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def start_cluster(env) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def kill_group(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def run_row(db: Path) -> dict:
    with sqlite3.connect(db, timeout=30) as conn:
        conn.row_factory = sqlite3.Row
        row = conn.execute("select status, pages, counts from syncsmart_syncrun where trigger='manual'").fetchone()
        return dict(row) if row else {}


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def redis_url() -> str | None:
    """The Redis broker to use, when one answers (REDIS_URL, else the local default)."""
    import redis

    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except Exception:  # noqa: BLE001 - any failure means: no Redis here
        return None
    return url


@pytest.mark.slow
@pytest.mark.parametrize("broker", ["orm", "redis"])
def test_sigkilled_worker_run_resumes_with_no_duplicate_and_no_lost_change(tmp_path, broker):
    hubspot = HubSpotEmulator(limits=False)
    connectwise = ConnectWiseEmulator(limits=False, latency_ms=(2, 4))  # slow enough to be killed mid-page
    hub_ids = [
        hubspot.create_record("companies", {"name": f"Kill Co {n}", "domain": f"kill{n}.example.com"}, notify=False)
        for n in range(COMPANIES)
    ]
    hub_running, cw_running = hubspot.serve("127.0.0.1", 0), connectwise.serve("127.0.0.1", 0)
    db = tmp_path / "db.sqlite3"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "PYTEST_XDIST_WORKER")}
    if broker == "redis":
        url = redis_url()
        if url is None:
            pytest.skip("no Redis server answers")
        env["REDIS_URL"] = url  # a broker with no delivery receipts: the task in flight dies with the worker
    env.update(
        SYNCSMART_LOCAL_DIR=str(tmp_path),
        SQLITE_PATH=str(db),
        Q_CLUSTER_NAME=f"kill{os.getpid()}{broker}{time.time_ns()}",
        Q_WORKERS="1",
        SYNC_LEASE_SECONDS="3",
        SYNC_SLICE_SECONDS="600",
        PYTHONUNBUFFERED="1",
    )
    cluster = None
    try:
        manage(env, "migrate", "--noinput")
        setup = SETUP.format(
            hub_url=hub_running.base_url,
            token=DEFAULT_TOKEN,
            cw_url=cw_running.base_url,
            company=DEMO_COMPANY,
            public=DEMO_PUBLIC_KEY,
            client=DEMO_CLIENT_ID,
            private=DEMO_PRIVATE_KEY,
        )
        assert "SETUP-OK" in manage(env, "shell", script=setup).stdout
        cluster = start_cluster(env)
        wait_for(lambda: run_row(db).get("pages", 0) >= 1, 180, "a page done")
        wait_for(lambda: connectwise.count("companies") > 200 + 50, 60, "the second page under way")
        kill_group(cluster)  # SIGKILL: no cleanup, the run row says "running", a write may be in flight
        cluster = None
        killed_at = connectwise.count("companies")
        assert run_row(db)["status"] == "running"
        assert killed_at < COMPANIES
        # Changes keep happening while no worker runs: an edit of an already synced company.
        hubspot.advance_clock(10_000)
        hubspot.edit_record("companies", hub_ids[3], {"name": "Kill Co 3 renamed"})
        time.sleep(3.5)  # the dead worker's lease expires (SYNC_LEASE_SECONDS=3)
        sweep = manage(env, "shell", script="from syncsmart.engine.tasks import sweep; print(sweep())").stdout
        assert "'dead_runs': 1" in sweep
        cluster = start_cluster(env)
        wait_for(lambda: run_row(db).get("status") in ("succeeded", "partial", "failed"), 240, "the resumed run to finish")
        assert run_row(db)["status"] == "succeeded", run_row(db)
        # Then one more pass picks up the edit made while the worker was dead (it may already have).
        result = json.loads(manage(env, "sync", "1").stdout.strip().splitlines()[-1])
        assert result["status"] == "succeeded"
    finally:
        if cluster is not None:
            kill_group(cluster)
        hub_running.stop()
        cw_running.stop()
    names = sorted(c["name"] for c in connectwise.records("companies"))
    assert len(names) == COMPANIES  # nothing duplicated, nothing missing
    assert len(set(names)) == COMPANIES
    assert "Kill Co 3 renamed" in names  # the change made while the worker was dead arrived
    with sqlite3.connect(db) as conn:
        links = conn.execute("select count(*), count(distinct other_id) from syncsmart_recordlink").fetchone()
    assert links == (COMPANIES, COMPANIES)
