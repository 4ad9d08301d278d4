import datetime as dt
from unittest import mock

import pytest
from django.utils import timezone

from syncsmart.heartbeat import beat, start_heartbeat
from syncsmart.models import WorkerHeartbeat
from tests.ui.factories import SyncRunFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def worker():
    beat("host:1:Process-1")


def test_healthz_is_200_with_json_when_database_broker_and_a_worker_answer(client, worker):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["checks"] == {"database": "ok", "broker": "ok", "workers": "ok", "queue": "ok"}
    assert body["workers"]["alive"] == 1


def test_healthz_is_503_naming_the_broker_when_it_is_down(client, worker):
    with mock.patch("syncsmart.health._broker_ok", return_value=False):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["down"] == ["broker"]


def test_healthz_is_503_naming_the_database_when_it_is_down(client, worker):
    with mock.patch("syncsmart.health._database_ok", return_value=False):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["down"] == ["database"]


def test_healthz_is_503_naming_the_workers_when_none_beat_for_a_minute(client, worker):
    WorkerHeartbeat.objects.update(beaten_at=timezone.now() - dt.timedelta(seconds=61))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["down"] == ["workers"]
    assert response.json()["workers"]["stale"] == ["host:1:Process-1"]


def test_healthz_is_503_without_any_worker(client):
    assert client.get("/healthz").json()["down"] == ["workers"]


def test_healthz_is_503_naming_the_queue_when_a_run_waits_over_five_minutes(client, worker):
    SyncRunFactory(status="queued", queued_at=timezone.now() - dt.timedelta(minutes=5, seconds=5))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["down"] == ["queue"]
    assert response.json()["queue"]["oldest_wait_seconds"] >= 305


def test_a_spawned_worker_beats_from_its_own_thread(transactional_db):
    thread = start_heartbeat(sender="django_q", proc_name="Process-9")
    try:
        deadline = timezone.now() + dt.timedelta(seconds=5)
        while not WorkerHeartbeat.objects.filter(name__endswith=":Process-9").exists() and timezone.now() < deadline:
            thread.join(0.05)
        assert WorkerHeartbeat.objects.filter(name__endswith=":Process-9").exists()
    finally:
        thread.stop.set()
        thread.join(2)
