"""A run that gave other workspaces their turn between slices is working, not "Queued"."""

from django.urls import reverse
from django.utils import timezone

from syncsmart.engine import states
from syncsmart.models import SyncRun
from tests.ui.factories import SyncRunFactory

WORKING = "Working — continuing after other workspaces&#x27; turn"


def _between_slices(contacts):
    run = SyncRunFactory(integration=contacts.integration, status=SyncRun.Status.RUNNING, started_at=timezone.now())
    states.requeue(run, "Slice ended; continuing after other work.")
    return run


def test_a_run_between_slices_reads_as_working_on_the_runs_page(team, contacts):
    _between_slices(contacts)
    body = team.owner.get(reverse("runs", args=[contacts.integration_id])).content.decode()
    assert WORKING in body
    assert ">Queued<" not in body


def test_a_run_between_slices_reads_as_working_on_the_integration_page(team, contacts):
    _between_slices(contacts)
    body = team.owner.get(reverse("integration", args=[contacts.integration_id])).content.decode()
    assert WORKING in body
    assert "Queued now" not in body


def test_a_run_that_never_started_still_reads_as_queued(team, contacts):
    SyncRunFactory(integration=contacts.integration, status=SyncRun.Status.QUEUED, started_at=None)
    body = team.owner.get(reverse("runs", args=[contacts.integration_id])).content.decode()
    assert ">Queued<" in body
    assert "Working" not in body
