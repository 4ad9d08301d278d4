"""Prometheus metrics (syncsmart.core.metrics) counted at the seams and served at /metrics."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

from connectors.http import VendorHttp
from mappings.models import Integration
from syncsmart.core.metrics import endpoint_template
from syncsmart.models import RecordEvent
from tests.connectors.hubspot_harness import fast_retry

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parents[2]
TOKEN = "metrics-test-token"


def scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.status_code
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_IPS = []


@pytest.fixture
def unused_integration_ids():
    """Integration ids no earlier test of this process used. The counters are process-wide and
    labelled by integration id, and SQLite hands an id out again once the test that took it rolled
    back: a run an earlier test left going (a browser test's live server, say) would count under
    this test's integration. PostgreSQL's sequences never repeat an id."""
    if connection.vendor == "sqlite":
        table = Integration._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute("UPDATE sqlite_sequence SET seq = seq + 1000000 WHERE name = %s", [table])
            if cursor.rowcount == 0:
                cursor.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (%s, 1000000)", [table])


def test_a_sync_on_the_emulators_is_counted_in_metrics(unused_integration_ids, cw_pair, client, metrics_on):
    company = cw_pair.other.add_company("Globex Corp", website="globex.example.com")
    cw_pair.other.add_contact("Ann", "Lee", company_id=company["id"], email="ann@globex.example.com")
    before = scrape(client)
    run = cw_pair.sync()
    after = scrape(client)
    assert run.status == "succeeded", (run.error, run.counts)

    # Compared by integration: the counters are process-wide, and a run an earlier test left going
    # in this process may count its own records meanwhile, under its own integration id (never
    # this one: unused_integration_ids). test_metrics_processes.py checks the by-object and
    # by-trigger counters exactly, in processes of its own.
    integration = str(cw_pair.integration.pk)
    runs = "syncsmart_integration_runs_finished_total"
    finished = {
        dict(k[1])["status"]: v - before.get(k, 0)
        for k, v in after.items()
        if k[0] == runs and ("integration", integration) in k[1] and v != before.get(k, 0)
    }
    assert finished == {"succeeded": 1}
    events = RecordEvent.objects.filter(run=run)
    assert events.filter(outcome="created").count() == 2  # the company and the contact
    records = "syncsmart_integration_records_total"
    counted = {
        dict(k[1])["outcome"]: v - before.get(k, 0)
        for k, v in after.items()
        if k[0] == records and ("integration", integration) in k[1] and v != before.get(k, 0)
    }
    assert counted == {
        outcome: events.filter(outcome=outcome).count() for outcome in set(events.values_list("outcome", flat=True))
    }
    calls = {
        system: sum(
            v - before.get(k, 0)
            for k, v in after.items()
            if k[0] == "syncsmart_vendor_calls_total" and ("system", system) in k[1]
        )
        for system in ("hubspot", "connectwise")
    }
    assert calls["hubspot"] > 0 and calls["connectwise"] > 0
    # the endpoint label is a template: no record id in any label
    contact_endpoints = {dict(k[1])["endpoint"] for k in after if k[0] == "syncsmart_vendor_calls_total"}
    assert not any(str(company["id"]) in e.split("/") for e in contact_endpoints)


def test_a_429_is_counted_apart_even_when_the_retry_succeeds(client, metrics_on):
    answers = iter([httpx.Response(429, headers={"Retry-After": "0"}), httpx.Response(200, json={})])
    transport = httpx.MockTransport(lambda request: next(answers))
    http = VendorHttp("https://metrics-test.example", system="metricstest", transport=transport, retry=fast_retry(3))
    before = scrape(client)
    http.request("GET", "/crm/v3/objects/contacts/12345")
    after = scrape(client)
    labels = dict(system="metricstest", endpoint="/crm/v3/objects/contacts/{id}")
    limited = "syncsmart_vendor_rate_limited_total"
    assert value(after, limited, **labels) - value(before, limited, **labels) == 1
    calls = "syncsmart_vendor_calls_total"
    assert value(after, calls, status="429", **labels) - value(before, calls, status="429", **labels) == 1
    assert value(after, calls, status="200", **labels) - value(before, calls, status="200", **labels) == 1


@pytest.mark.slow
def test_a_worker_process_count_is_visible_from_the_web_process(client, metrics_on):
    trigger = f"worker-{uuid.uuid4().hex[:8]}"
    script = (
        "import django; django.setup()\n"
        "from syncsmart.core import metrics\n"
        f"metrics.RUNS.labels({trigger!r}, 'succeeded').inc(3)\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "syncsmart.settings",
        "PROMETHEUS_MULTIPROC_DIR": settings.PROMETHEUS_MULTIPROC_DIR,
    }
    subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, check=True, timeout=120)
    assert value(scrape(client), "syncsmart_runs_finished_total", trigger=trigger, status="succeeded") == 3


def test_metrics_are_off_without_a_token_or_allow_list(client, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS = "", []
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404


def test_metrics_refuse_a_wrong_token_and_accept_an_allowed_address(client, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS = TOKEN, ["10.1.2.3"]
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405


def test_endpoint_templates_hide_record_ids():
    assert endpoint_template("/crm/v3/objects/contacts/123") == "/crm/v3/objects/contacts/{id}"
    assert endpoint_template("/api/data/v9.2/contacts(5f0c1e2a-0000-4000-8000-000000000001)") == "/api/data/v9.2/contacts({id})"
    assert (
        endpoint_template("/services/data/v60.0/sobjects/Contact/003AB00000123456AB")
        == "/services/data/v60.0/sobjects/Contact/{id}"
    )
    assert (
        endpoint_template("/v4_6_release/apis/3.0/company/contacts?conditions=id=5") == "/v4_6_release/apis/3.0/company/contacts"
    )
