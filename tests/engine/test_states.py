"""A run's status changes only along the state machine's transitions (syncsmart.engine.states),
and the engine reads its settings once into one typed object."""

import pytest

from syncsmart.engine import run_requests, states
from syncsmart.engine.config import EngineSettings, engine_settings
from syncsmart.models import SyncRun
from tests.factories import IntegrationFactory

pytestmark = pytest.mark.django_db
S = SyncRun.Status


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (S.QUEUED, S.RUNNING),
        (S.QUEUED, S.CANCELLED),
        (S.RUNNING, S.QUEUED),
        (S.RUNNING, S.RUNNING),
        (S.RUNNING, S.SUCCEEDED),
        (S.RUNNING, S.PARTIAL),
        (S.RUNNING, S.FAILED),
        (S.RUNNING, S.CANCELLED),
    ],
)
def test_the_lifecycle_transitions_are_allowed(current, new):
    run = SyncRun(status=current)
    states.move(run, new)
    assert run.status == new


@pytest.mark.parametrize("finished", [S.SUCCEEDED, S.PARTIAL, S.FAILED, S.CANCELLED])
@pytest.mark.parametrize("new", [S.QUEUED, S.RUNNING, S.SUCCEEDED, S.FAILED, S.CANCELLED])
def test_a_finished_run_never_changes_again(finished, new):
    run = SyncRun(status=finished)
    with pytest.raises(states.IllegalTransition):
        states.move(run, new)
    assert run.status == finished


@pytest.mark.parametrize("new", [S.SUCCEEDED, S.PARTIAL, S.QUEUED])
def test_a_queued_run_cannot_finish_without_running(new):
    with pytest.raises(states.IllegalTransition):
        states.move(SyncRun(status=S.QUEUED), new)


def test_every_status_has_a_row_in_the_table():
    assert set(states.ALLOWED) == set(S.values)


def test_a_bulk_move_changes_only_runs_in_the_from_status(settings):
    settings.SYNC_RUN_INLINE = False
    integration = IntegrationFactory()
    queued = SyncRun.objects.create(integration=integration)
    running = SyncRun.objects.create(integration=integration, status=S.RUNNING)
    assert run_requests.cancel_queued_runs(integration, "switched off") == 1
    queued.refresh_from_db()
    running.refresh_from_db()
    assert (queued.status, queued.error, running.status) == (S.CANCELLED, "switched off", S.RUNNING)
    with pytest.raises(states.IllegalTransition):
        states.move_all(SyncRun.objects.all(), S.CANCELLED, S.QUEUED)


def test_finish_and_requeue_save_the_status_with_a_log_line():
    run = SyncRun.objects.create(integration=IntegrationFactory(), status=S.RUNNING)
    states.requeue(run, "Slice ended")
    states.mark_running(run, "host:1")
    states.finish(run, S.SUCCEEDED, "")
    run.refresh_from_db()
    assert run.status == S.SUCCEEDED and run.finished_at is not None and run.worker == "host:1"
    assert [line[2] for line in run.log] == ["Slice ended", "Slice started on host:1", "Finished: succeeded"]


def test_engine_settings_come_from_django_settings_and_follow_changes(settings):
    settings.SYNC_LEASE_SECONDS, settings.SYNC_SLICE_SECONDS = 33, 4
    settings.SYNC_PENDING_GRACE_SECONDS, settings.SYNC_WEBHOOK_LINGER_SECONDS, settings.SYNC_RUN_INLINE = 5, 0.5, True
    assert engine_settings() == EngineSettings(
        lease_seconds=33, slice_seconds=4.0, pending_grace_seconds=5.0, webhook_linger_seconds=0.5, run_inline=True
    )
    settings.SYNC_LEASE_SECONDS = 60
    assert engine_settings().lease_seconds == 60
