"""/metrics adds up what every process of a machine counted: a real `qcluster` worker runs the first
sync, a real web process (runserver) takes a HubSpot webhook and syncs it inline, and the web
process's /metrics shows both, each counter equal to what the database and the emulators recorded.

Everything runs for real, as in test_kill_worker.py: the emulators on real ports, a SQLite file
database and a metrics directory of this test's own (so nothing another test counted is in it,
and every value can be compared exactly)."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from connectors.connectwise.emulator import DEMO_CLIENT_ID, DEMO_COMPANY, DEMO_PRIVATE_KEY, DEMO_PUBLIC_KEY, ConnectWiseEmulator
from connectors.hubspot.emulator import DEFAULT_TOKEN, HubSpotEmulator
from tests.engine.test_kill_worker import kill_group, manage, start_cluster, wait_for

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "processes-metrics-token"

SETUP = """
from mappings.services import actions
from tenants.models import Tenant
from connectors.models import Connection
tenant = Tenant.objects.create(name="Metrics Test", slug="metrics-test")
hub = Connection.objects.create(tenant=tenant, system="hubspot", config={{"base_url": "{hub_url}"}},
                                credentials={{"token": "{token}", "client_secret": "{secret}"}})
cw = Connection.objects.create(tenant=tenant, system="connectwise",
                               config={{"base_url": "{cw_url}", "company_id": "{company}", "public_key": "{public}",
                                        "client_id": "{client}"}}, credentials={{"private_key": "{private}"}})
integration = actions.create_integration(tenant, None, hub, cw, enabled=True)
from django.db import transaction
from syncsmart.engine import run_requests
with transaction.atomic():
    run_requests.request_run(integration, None, trigger="manual")
print("SETUP-OK", integration.pk)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def by_name(scraped: dict, name: str, key: str) -> dict[str, float]:
    """{label value: sample value} of one metric, by one of its labels."""
    return {dict(labels)[key]: v for (n, labels), v in scraped.items() if n == name}


def query(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db, timeout=30) as conn:
        return conn.execute(sql).fetchall()


@pytest.mark.slow
def test_metrics_of_a_worker_and_a_web_process_add_up_to_what_the_sync_did(tmp_path):
    hubspot = HubSpotEmulator(limits=False)
    connectwise = ConnectWiseEmulator(limits=False)
    company = connectwise.add_company("Globex Corp", website="globex.example.com")
    connectwise.add_contact("Ann", "Lee", company_id=company["id"], email="ann@globex.example.com")
    hub_running, cw_running = hubspot.serve("127.0.0.1", 0), connectwise.serve("127.0.0.1", 0)
    db, port = tmp_path / "db.sqlite3", free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "PYTEST_XDIST_WORKER")}
    env.update(
        SYNCSMART_LOCAL_DIR=str(tmp_path),
        SQLITE_PATH=str(db),
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"),  # this machine's processes, and only them
        METRICS_TOKEN=TOKEN,
        Q_CLUSTER_NAME=f"metrics{os.getpid()}{time.time_ns()}",
        Q_WORKERS="1",
        SYNC_WEBHOOK_LINGER_SECONDS="0",
        PYTHONUNBUFFERED="1",
    )
    cluster = web = None
    try:
        manage(env, "migrate", "--noinput")
        setup = SETUP.format(
            hub_url=hub_running.base_url,
            token=DEFAULT_TOKEN,
            secret=hubspot.client_secret,
            cw_url=cw_running.base_url,
            company=DEMO_COMPANY,
            public=DEMO_PUBLIC_KEY,
            client=DEMO_CLIENT_ID,
            private=DEMO_PRIVATE_KEY,
        )
        integration_id = manage(env, "shell", script=setup).stdout.split("SETUP-OK", 1)[1].split()[0]
        # The worker: the queued manual run, then stopped so that nothing else runs in it.
        cluster = start_cluster(env)
        finished = "select status from syncsmart_syncrun where trigger='manual' and finished_at is not null"
        wait_for(lambda: query(db, finished), 180, "the worker to finish the manual run")
        wait_for(lambda: query(db, "select 1 from syncsmart_workerheartbeat"), 60, "a worker heartbeat")
        kill_group(cluster)
        cluster = None
        assert query(db, finished) == [("succeeded",)]
        # The web process: a HubSpot edit arrives as a webhook and is synced there (inline).
        web = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=ROOT,
            env={**env, "SYNC_RUN_INLINE": "1"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(f"{base}/metrics"), 60, "the web process")
        hubspot.subscribe(f"{base}/webhooks/{integration_id}/hubspot", hubspot.client_secret)
        (hub_company,) = hubspot.find_records("companies", "name", "Globex Corp")
        hubspot.advance_clock(5_000)
        hubspot.edit_record("companies", hub_company, {"name": "Globex Renamed"})
        webhook_done = "select status from syncsmart_syncrun where trigger='webhook' and finished_at is not null"
        wait_for(lambda: query(db, webhook_done), 120, "the webhook run in the web process")
        assert connectwise.records("companies")[0]["name"] == "Globex Renamed"
        scraped = samples(httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text)
    finally:
        for process in (cluster, web):
            if process is not None:
                kill_group(process)
        hub_running.stop()
        cw_running.stop()

    # Runs: one manual in the worker, one webhook in the web process, as the database has them.
    runs = query(db, "select trigger, status from syncsmart_syncrun where finished_at is not null")
    assert sorted(runs) == [("manual", "succeeded"), ("webhook", "succeeded")]
    for trigger, status in runs:
        key = ("syncsmart_runs_finished_total", (("status", status), ("trigger", trigger)))
        assert scraped[key] == 1, (trigger, status)
    assert by_name(scraped, "syncsmart_integration_runs_finished_total", "status") == {"succeeded": 2}
    assert by_name(scraped, "syncsmart_run_duration_seconds_count", "trigger") == {"manual": 1, "webhook": 1}
    # Records: every stored event, by source object and outcome, exactly.
    events = Counter(query(db, "select source_object, outcome from syncsmart_recordevent"))
    counted = {
        (dict(labels)["object"], dict(labels)["outcome"]): v
        for (name, labels), v in scraped.items()
        if name == "syncsmart_records_total"
    }
    assert counted == dict(events)
    assert events[("companies", "updated")] == 1  # the webhook's edit, among the first run's creates
    # The webhook: stored by the web process, written to ConnectWise once.
    assert by_name(scraped, "syncsmart_webhook_notifications_total", "system") == {"hubspot": 1}
    assert by_name(scraped, "syncsmart_webhook_to_write_seconds_count", "system") == {"hubspot": 1}
    # Vendor calls: what each emulator answered, from both processes together.
    calls = by_name_sum(scraped, "syncsmart_vendor_calls_total")
    assert calls == {"hubspot": hubspot.counters()["total"], "connectwise": connectwise.counters()["total"]}
    # The worker's heartbeats, and the database's view of the backlog at scrape time.
    assert scraped[("syncsmart_worker_heartbeats_total", ())] >= 1
    workers = {name for (name,) in query(db, "select name from syncsmart_workerheartbeat")}
    assert set(by_name(scraped, "syncsmart_worker_heartbeat_age_seconds", "worker")) == workers
    assert scraped[("syncsmart_inbox_backlog", ())] == 0
    assert scraped[("syncsmart_deferred_records", ())] == 0


def by_name_sum(scraped: dict, name: str) -> dict[str, float]:
    totals: dict[str, float] = {}
    for (n, labels), v in scraped.items():
        if n == name:
            system = dict(labels)["system"]
            totals[system] = totals.get(system, 0) + v
    return totals


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
