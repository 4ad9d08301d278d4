"""A suspended workspace syncs nothing: runs it queued before the suspension (or left between two
slices) end cancelled with the reason before any vendor call, a run working when it is suspended
stops before its next page, and no trigger queues new ones."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from syncsmart.engine import tasks
from syncsmart.engine.context import RunContext
from syncsmart.engine.run_requests import request_run
from syncsmart.engine.slices import run_slice
from syncsmart.engine.sweep import sweep_once
from syncsmart.models import InboxItem, RunLease, SyncRun
from tenants.models import Tenant
from tests.engine.conftest import write_calls

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued_only(monkeypatch):
    """Requests stay rows: no broker, no inline run, until the test calls the worker task."""
    monkeypatch.setattr("syncsmart.engine.queue.enqueue_run", lambda run_id: None)


def suspend(tenant: Tenant) -> None:
    tenant.status = Tenant.Status.SUSPENDED
    tenant.save(update_fields=["status"])


def vendor_calls(pair) -> int:
    return pair.hubspot.counters()["total"] + pair.other.counters()["total"]


@pytest.mark.parametrize("trigger", ["manual", "schedule", "historical"])
def test_a_run_queued_before_the_suspension_is_cancelled_by_the_worker_without_calling_a_vendor(cw_pair, queued_only, trigger):
    cw_pair.other.add_company("Globex Corp", website="globex.example.com")
    run = request_run(cw_pair.integration, None, trigger=trigger)
    suspend(cw_pair.integration.tenant)
    cw_pair.reset_counters()

    tasks.execute_run(str(run.pk))

    run.refresh_from_db()
    assert run.status == SyncRun.Status.CANCELLED
    assert run.error.startswith("Not run: This workspace is suspended")
    assert run.started_at is None and run.finished_at is not None
    assert any("suspended" in message for _at, _level, message in run.log)
    assert vendor_calls(cw_pair) == 0
    assert not cw_pair.hubspot.find_records("companies", "name", "Globex Corp")


def test_a_run_between_two_slices_stops_at_its_next_slice(cw_pair, queued_only):
    run = SyncRun.objects.create(integration=cw_pair.integration, trigger="historical")
    # A run that a slice ended and put back in the queue, part-way through its work.
    run.status, run.started_at, run.pages, run.state = SyncRun.Status.QUEUED, timezone.now(), 3, {"phase": "companies"}
    run.save()
    suspend(cw_pair.integration.tenant)
    cw_pair.reset_counters()

    tasks.execute_run(str(run.pk))

    run.refresh_from_db()
    assert (run.status, run.pages) == (SyncRun.Status.CANCELLED, 3)
    assert "suspended" in run.error
    assert vendor_calls(cw_pair) == 0


def test_a_run_working_when_the_workspace_is_suspended_writes_nothing_after_its_current_page(cw_pair, queued_only, monkeypatch):
    companies = cw_pair.integration.object_mappings.get(hubspot_object="companies")
    companies.direction = "to_other"
    companies.save()
    for i in range(450):  # HubSpot pages of 100 companies, each created in ConnectWise
        cw_pair.hubspot.create_record("companies", {"name": f"Co {i}", "domain": f"co{i}.example.com"}, notify=False)
    run = request_run(cw_pair.integration, None, trigger="manual")
    cw_pair.reset_counters()
    writes_when_suspended = []
    original = RunContext.heartbeat

    # Staff suspend the workspace while the run commits its first page (from the run's own thread:
    # the next page is read in a background thread, which never touches the database).
    def heartbeat_then_suspend(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if self.run.pages == 1 and not writes_when_suspended:
            suspend(self.integration.tenant)
            writes_when_suspended.append(write_calls(cw_pair.other))

    monkeypatch.setattr(RunContext, "heartbeat", heartbeat_then_suspend)
    run_slice(str(run.pk), connectors=cw_pair.connectors(), max_seconds=600)

    run.refresh_from_db()
    assert writes_when_suspended and writes_when_suspended[0] > 0  # the first page was written
    assert write_calls(cw_pair.other) == writes_when_suspended[0]  # and nothing after it
    assert write_calls(cw_pair.hubspot) == 0
    assert run.status == SyncRun.Status.CANCELLED and run.pages == 1
    assert run.error.startswith("Stopped: the workspace was suspended")
    assert run.log[-1][2] == run.error
    assert len(cw_pair.other.store["companies"]) < 450


def test_the_refused_run_leaves_the_lease_free(cw_pair, queued_only):
    run = request_run(cw_pair.integration, None, trigger="manual")
    suspend(cw_pair.integration.tenant)
    tasks.execute_run(str(run.pk))
    assert RunLease.objects.get(integration=cw_pair.integration).holder == ""


def test_a_reactivated_workspace_runs_again(cw_pair, queued_only):
    suspend(cw_pair.integration.tenant)
    tenant = cw_pair.integration.tenant
    tenant.status = Tenant.Status.ACTIVE
    tenant.save(update_fields=["status"])
    run = request_run(cw_pair.integration, None, trigger="manual")
    tasks.execute_run(str(run.pk))  # the vendors are reached through the mounted emulators
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error


@pytest.mark.parametrize("trigger", ["schedule", "webhook"])
def test_automatic_triggers_queue_nothing_for_a_suspended_workspace(cw_pair, queued_only, trigger):
    suspend(cw_pair.integration.tenant)
    with pytest.raises(ValidationError, match="suspended"):
        request_run(cw_pair.integration, None, trigger=trigger)
    tasks.scheduled_run(cw_pair.integration.pk)
    assert not SyncRun.objects.filter(integration=cw_pair.integration).exists()


def test_the_sweep_starts_no_run_for_a_suspended_workspaces_waiting_notifications(cw_pair, queued_only):
    InboxItem.objects.create(
        integration=cw_pair.integration,
        side="hubspot",
        event_id="e1",
        object_type="contacts",
        record_id="1",
        received_at=timezone.now() - timedelta(minutes=5),
    )
    suspend(cw_pair.integration.tenant)
    assert sweep_once()["inbox_runs"] == 0
    assert not SyncRun.objects.filter(integration=cw_pair.integration).exists()
