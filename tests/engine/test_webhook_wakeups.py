"""A webhook run releases its worker as soon as its inbox is empty and no notification is in
flight (the echoes of its own writes), and is woken by the intake's announcement while it waits."""

import pytest
from django.conf import settings
from django.test import Client

from syncsmart.engine import wakeups
from syncsmart.models import InboxItem, RecordEvent
from tests.engine.test_webhooks import hooked  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


class Waits(list):
    """Every wait of a webhook run for more notifications (their timeouts); `then` holds what
    happens during the next waits, in order."""

    def __init__(self):
        super().__init__()
        self.then: list = []


@pytest.fixture
def waits(monkeypatch):
    calls = Waits()

    def wait(bell, timeout):
        calls.append(timeout)
        if calls.then:
            calls.then.pop(0)()
        return True

    monkeypatch.setattr(wakeups.InboxBell, "wait", wait)
    return calls


def test_a_webhook_run_with_nothing_in_flight_releases_its_worker_at_once(hooked, waits):  # noqa: F811
    run = hooked.sync(trigger="webhook")
    assert run.status == "succeeded", run.error
    assert waits == []  # nothing written, nothing to wait for: no linger


def test_a_webhook_run_waits_for_the_echo_of_its_write_and_leaves_once_it_is_worked(
    hooked,  # noqa: F811
    waits,
    django_capture_on_commit_callbacks,
):
    company = hooked.hubspot.create_record("companies", {"name": "Initech", "domain": "initech.example.com"})
    hooked.hubspot.create_record(
        "contacts", {"email": "peter@initech.example.com", "firstname": "Peter"}, associations={"companies": [company]}
    )
    with django_capture_on_commit_callbacks(execute=False):
        hooked.hubspot.webhooks.deliver(Client())
    assert InboxItem.objects.filter(status="pending").count() == 2

    def echoes_arrive():  # the vendors notify the run's own writes while it waits
        for emulator in (hooked.other, hooked.hubspot):
            emulator.webhooks.deliver(Client())

    waits.then.append(echoes_arrive)
    run = hooked.sync(trigger="webhook")
    assert run.status == "succeeded", run.error
    assert run.counts.get("writes_other") == 2  # the company and the contact created in ConnectWise
    assert len(waits) == 1  # woken once, by the echo; then it left without waiting out the linger
    assert not InboxItem.objects.filter(status="pending").exists()  # the echo was worked by this run
    assert RecordEvent.objects.filter(run=run, outcome="echo", source_side="other").exists()


@pytest.mark.skipif(not settings.REDIS_URL, reason="Redis pub/sub needs REDIS_URL (the PostgreSQL + Redis half)")
def test_an_announced_notification_wakes_a_waiting_run():
    with wakeups.InboxBell(424242) as bell:
        assert bell.pushed
        assert bell.wait(0.2) is False  # nothing announced: the wait times out
        wakeups.announce(424242)
        assert bell.wait(5) is True


def test_without_redis_a_waiting_run_polls_the_inbox(settings):
    settings.REDIS_URL = ""
    with wakeups.InboxBell(424242) as bell:
        assert not bell.pushed
        assert bell.wait(5) is True  # a short poll: the run asks the inbox again
