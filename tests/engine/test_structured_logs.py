"""Structured logs: LOG_FORMAT=json writes JSON lines carrying the run's ids, secrets redacted."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from connectors.base import ConnectorError
from connectors.http import VendorHttp
from syncsmart.engine.concurrency import in_flight
from syncsmart.logging import log_ids
from syncsmart.models import SyncRun

REPO = Path(__file__).resolve().parents[2]

SCRIPT = """
import logging, django
django.setup()
from syncsmart.logging import log_ids
with log_ids(tenant=7, integration=11, run="run-abc"):
    with log_ids(record="contacts/42"):
        logging.getLogger("syncsmart.engine").warning("refresh failed access_token=abc123secret")
logging.getLogger("syncsmart.engine").warning("outside a run")
"""


@pytest.mark.slow
def test_json_format_writes_one_object_a_line_with_ids_and_no_secret():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "syncsmart.settings", "LOG_FORMAT": "json"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    inside, outside = lines
    assert inside["tenant"] == "7" and inside["integration"] == "11" and inside["run"] == "run-abc"
    assert inside["record"] == "contacts/42" and inside["levelname"] == "WARNING" and inside["name"] == "syncsmart.engine"
    assert "abc123secret" not in done.stderr and "[redacted]" in inside["message"]
    assert "run" not in outside and outside["message"] == "outside a run"


@pytest.mark.slow
def test_plain_format_stays_the_default():
    env = {k: v for k, v in os.environ.items() if k != "LOG_FORMAT"}
    env["DJANGO_SETTINGS_MODULE"] = "syncsmart.settings"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    assert "refresh failed access_token=[redacted]" in done.stderr.splitlines() and "{" not in done.stderr


@pytest.mark.django_db
def test_engine_lines_of_a_run_carry_its_ids(cw_pair, caplog):
    caplog.set_level(logging.INFO)
    run = cw_pair.sync()
    assert run.status == SyncRun.Status.SUCCEEDED
    integration = cw_pair.integration
    [finished] = [r for r in caplog.records if r.name == "syncsmart.engine" and r.getMessage().startswith("run finished")]
    assert (finished.tenant, finished.integration, finished.run) == (str(integration.tenant_id), str(integration.pk), str(run.pk))


def test_connector_lines_from_vendor_worker_threads_carry_the_ids(caplog):
    http = VendorHttp(
        "https://logs-test.example", system="LogsTest", transport=httpx.MockTransport(lambda r: httpx.Response(404))
    )

    def call():
        with pytest.raises(ConnectorError):
            http.request("GET", "/things/1")

    caplog.set_level(logging.INFO)
    with log_ids(tenant=1, integration=2, run="r-3"):
        list(in_flight([("a", call), ("b", call)], limit=2))  # two calls: they go to worker threads
    lines = [r for r in caplog.records if r.name == "syncsmart.http"]
    assert len(lines) == 2 and {r.threadName.startswith("syncsmart-vendor") for r in lines} == {True}
    assert all((r.tenant, r.integration, r.run) == ("1", "2", "r-3") for r in lines)
