"""Runs (list, detail, progress, cancel) and record events (search, filter, retry) over the API."""

from datetime import timedelta

import pytest
from django.utils import timezone

from syncsmart.models import RecordEvent, SyncRun
from tenants.models import AuditLog
from tests.api.conftest import error_of, run_is_queued
from tests.api.factories import IntegrationFactory, RecordEventFactory, SyncRunFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def integration(api):
    return IntegrationFactory(tenant=api.tenant)


# --- Runs --------------------------------------------------------------------------------


def test_runs_are_listed_newest_first_and_filtered(api, integration):
    older = SyncRunFactory(integration=integration, status=SyncRun.Status.FAILED, error="HubSpot said no")
    SyncRun.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(hours=1))
    newer = SyncRunFactory(integration=integration, trigger=SyncRun.Trigger.MANUAL)
    SyncRunFactory(integration=IntegrationFactory(tenant=api.other_tenant))

    rows = api.viewer.get("/api/runs/").json()["results"]
    assert [r["id"] for r in rows] == [str(newer.pk), str(older.pk)]
    assert rows[0]["counts"] == {"created": 2, "updated": 1}
    assert [r["id"] for r in api.viewer.get("/api/runs/?status=failed").json()["results"]] == [str(older.pk)]
    assert [r["id"] for r in api.viewer.get("/api/runs/?trigger=manual").json()["results"]] == [str(newer.pk)]
    assert len(api.viewer.get(f"/api/runs/?integration={integration.pk}").json()["results"]) == 2
    assert api.viewer.get("/api/runs/?status=sleeping").status_code == 400


def test_cursor_pagination_walks_every_run_once(api, integration):
    runs = [SyncRunFactory(integration=integration) for _ in range(5)]
    seen, url = [], "/api/runs/?page_size=2"
    while url:
        page = api.viewer.get(url).json()
        assert len(page["results"]) <= 2
        seen += [r["id"] for r in page["results"]]
        url = page["next"]
    assert sorted(seen) == sorted(str(r.pk) for r in runs)
    assert api.viewer.get("/api/runs/?cursor=garbage").status_code == 404


def test_run_detail_has_the_log_and_outsiders_get_404(api, integration):
    run = SyncRunFactory(integration=integration, log=[["2025-01-01T00:00:00+00:00", "info", "Page 1 done"]])
    body = api.viewer.get(f"/api/runs/{run.pk}/").json()
    assert body["log"] == [["2025-01-01T00:00:00+00:00", "info", "Page 1 done"]]
    assert api.outsider.get(f"/api/runs/{run.pk}/").status_code == 404
    assert api.outsider.get(f"/api/runs/{run.pk}/progress/").status_code == 404
    assert api.viewer.get("/api/runs/not-a-uuid/").status_code == 404


def test_progress_of_a_historical_run(api, integration):
    run = SyncRunFactory(
        integration=integration,
        trigger=SyncRun.Trigger.HISTORICAL,
        status=SyncRun.Status.RUNNING,
        progress_done=250,
        progress_total=1000,
        finished_at=None,
        started_at=timezone.now() - timedelta(seconds=100),
    )

    body = api.viewer.get(f"/api/runs/{run.pk}/progress/").json()

    assert body["done"] == 250 and body["total"] == 1000 and body["percent"] == 25
    assert body["finished"] is False and body["status"] == "running"
    assert body["records_per_second"] > 0 and body["seconds_left"] > 0


def test_progress_before_a_run_starts(api, integration):
    run = SyncRunFactory(integration=integration, status=SyncRun.Status.QUEUED, started_at=None, finished_at=None)
    body = api.viewer.get(f"/api/runs/{run.pk}/progress/").json()
    assert body == {
        "id": str(run.pk),
        "status": "queued",
        "done": 0,
        "total": None,
        "percent": None,
        "records_per_second": None,
        "seconds_left": None,
        "finished": False,
    }


def test_cancel_a_queued_run(api, integration):
    run = SyncRunFactory(integration=integration, status=SyncRun.Status.QUEUED, finished_at=None)
    url = f"/api/runs/{run.pk}/cancel/"
    assert api.viewer.post(url).status_code == 403
    assert api.outsider.post(url).status_code == 404

    response = api.admin.post(url)

    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    run.refresh_from_db()
    assert run.status == SyncRun.Status.CANCELLED and run.cancel_requested
    assert AuditLog.objects.filter(tenant=api.tenant, action="run.cancelled").exists()


# --- Record events -----------------------------------------------------------------------


def test_events_filter_by_outcome_and_search_by_id_or_text(api, integration):
    run = SyncRunFactory(integration=integration)
    failed = RecordEventFactory(
        run=run,
        outcome=RecordEvent.Outcome.FAILED,
        source_id="501",
        message="Property 'email' is invalid",
        details={"email": "ann@example.com"},
    )
    created = RecordEventFactory(run=run, outcome=RecordEvent.Outcome.CREATED, source_id="502", target_id="CW-77")
    RecordEventFactory(run=SyncRunFactory(integration=IntegrationFactory(tenant=api.other_tenant)), source_id="501")

    def ids(query: str) -> list[int]:
        response = api.viewer.get("/api/events/" + query)
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert sorted(ids("")) == sorted([failed.pk, created.pk])
    assert ids("?outcome=failed") == [failed.pk]
    assert ids("?q=501") == [failed.pk]
    assert ids("?q=CW-77") == [created.pk]
    assert ids("?q=ann@example.com") == [failed.pk]
    assert ids("?q=INVALID") == [failed.pk]
    assert ids(f"?run={run.pk}&outcome=created") == [created.pk]
    assert ids("?source_side=other") == []
    bad = api.viewer.get("/api/events/?outcome=exploded")
    assert bad.status_code == 400 and "outcome" in error_of(bad)["fields"]


def test_event_detail_shows_the_vendors_message_and_fields(api, integration):
    event = RecordEventFactory(
        run=SyncRunFactory(integration=integration),
        outcome=RecordEvent.Outcome.FAILED,
        message="Company 12 does not exist",
        fields=["company"],
        details={"code": 400},
    )
    body = api.viewer.get(f"/api/events/{event.pk}/").json()
    assert (body["message"], body["fields"], body["details"]) == ("Company 12 does not exist", ["company"], {"code": 400})
    assert api.outsider.get(f"/api/events/{event.pk}/").status_code == 404


def test_retrying_a_failed_record_queues_a_run_for_just_that_record(api, integration, django_capture_on_commit_callbacks):
    event = RecordEventFactory(
        run=SyncRunFactory(integration=integration), outcome=RecordEvent.Outcome.FAILED, source_side="other", source_id="CW-9"
    )
    url = f"/api/events/{event.pk}/retry/"
    assert api.viewer.post(url).status_code == 403
    assert api.outsider.post(url).status_code == 404

    with django_capture_on_commit_callbacks(execute=True):
        response = api.admin.post(url)

    assert response.status_code == 202
    run = SyncRun.objects.get(pk=response.json()["id"])
    assert run.trigger == SyncRun.Trigger.RETRY and run.status == SyncRun.Status.QUEUED
    assert run.state["records"] == [{"mapping": event.object_mapping_id, "side": "other", "id": "CW-9"}]
    assert run_is_queued(run.pk)
    assert AuditLog.objects.filter(tenant=api.tenant, action="run.retry_requested").exists()


def test_an_event_about_no_record_cannot_be_retried(api, integration):
    event = RecordEventFactory(
        run=SyncRunFactory(integration=integration), object_mapping=None, source_id="", outcome=RecordEvent.Outcome.FAILED
    )
    response = api.admin.post(f"/api/events/{event.pk}/retry/")
    assert response.status_code == 400
    assert error_of(response)["message"] == "This event is not about one record, so there is nothing to retry."


def test_a_run_between_slices_is_labelled_working_not_queued(api, integration):
    started = SyncRunFactory(integration=integration, status=SyncRun.Status.QUEUED, started_at=timezone.now())
    waiting = SyncRunFactory(integration=integration, status=SyncRun.Status.QUEUED, started_at=None)
    assert api.viewer.get(f"/api/runs/{started.pk}/").json()["status_label"].startswith("Working")
    assert api.viewer.get(f"/api/runs/{waiting.pk}/").json()["status_label"] == "Queued"
