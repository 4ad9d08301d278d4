"""The count of failing records is one number (mappings/services/health.open_failure_counts): the
customer's integration page, the staff console and the failed-records alert show the same, and it
counts records whose newest outcome is a failure — not attempts, nor failures a later success
cleared (QA found the three disagreeing: the console counted 24 hours of failed attempts, the alert
an hour's, the page records)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from mappings.services import actions as mapping_actions
from mappings.services.health import open_failure_counts
from syncsmart.alerts import evaluate_alerts
from syncsmart.models import Alert, RecordEvent
from tests.factories import ConnectionFactory, RecordEventFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def integration(team):
    hub = ConnectionFactory(tenant=team.tenant, system="hubspot")
    other = ConnectionFactory(tenant=team.tenant, system="connectwise")
    return mapping_actions.create_integration(team.tenant, None, hub, other, name="Acme CW", enabled=True)


def fail(integration, record: str, *, hours_ago: float = 0, outcome=RecordEvent.Outcome.FAILED):
    event = RecordEventFactory(
        integration=integration,
        object_mapping=integration.object_mappings.get(hubspot_object="contacts"),
        source_id=record,
        outcome=outcome,
        message="HTTP 400: bad value",
    )
    RecordEvent.objects.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(hours=hours_ago))


def test_the_page_the_staff_console_and_the_alert_show_one_count_of_failing_records(
    team, integration, admin_client, settings, django_capture_on_commit_callbacks
):
    settings.ALERT_FAILURES_PER_HOUR = 2
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    for _ in range(3):  # three attempts at one record: one failing record
        fail(integration, "a")
    fail(integration, "b")
    fail(integration, "c", hours_ago=5)  # still failing, since the morning
    fail(integration, "d", hours_ago=3)  # failed, then synced: not failing
    fail(integration, "d", hours_ago=1, outcome=RecordEvent.Outcome.UPDATED)
    failing = open_failure_counts([integration.pk])[integration.pk]
    assert failing == 3

    page = team.owner.get(reverse("integration", args=[integration.pk])).content.decode()
    shown_to_customer = re.search(r'data-testid="failing-now">(?:<a [^>]*>)?([\d,]+)', page).group(1)

    console = admin_client.get(reverse("staff_index")).content.decode()
    shown_to_staff = re.search(r'data-testid="failing-records"[^>]*>(\d+) failing record', console).group(1)
    tenant_page = admin_client.get(reverse("staff_tenant", args=[team.tenant.pk])).content.decode()
    listed = re.findall(r"<td>HubSpot (\w+)</td>", tenant_page)

    with django_capture_on_commit_callbacks(execute=True):
        evaluate_alerts()
    alert = Alert.objects.get(integration=integration, rule=Alert.Rule.RECORD_FAILURES)
    shown_in_alert = re.match(r"Acme CW: (\d+) records failing", alert.title).group(1)

    assert int(shown_to_customer) == int(shown_to_staff) == int(shown_in_alert) == failing
    assert sorted(listed) == ["a", "b", "c"]  # the console lists the failing records, once each
    assert "2 failed in the last hour" in alert.title  # a and b; c failed before the hour
    assert any(alert.title in message.subject or alert.title in message.body for message in mail.outbox)


def test_the_alert_counts_records_not_attempts(team, integration, settings):
    settings.ALERT_FAILURES_PER_HOUR = 2
    for _ in range(5):  # five failed tries of one record in the hour
        fail(integration, "a")
    evaluate_alerts()
    assert not Alert.objects.filter(rule=Alert.Rule.RECORD_FAILURES).exists()


def test_a_failure_without_an_object_mapping_is_cleared_by_a_later_success(integration):
    """A failure whose object mapping was removed since (the event keeps a NULL mapping) stopped
    counting only when its window ran out: SQL's NULL = NULL is never true."""
    for outcome, hours_ago in ((RecordEvent.Outcome.FAILED, 2), (RecordEvent.Outcome.UPDATED, 1)):
        event = RecordEventFactory(integration=integration, object_mapping=None, source_id="gone", outcome=outcome, message="x")
        RecordEvent.objects.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(hours=hours_ago))
    fail(integration, "still-failing")

    assert open_failure_counts([integration.pk]) == {integration.pk: 1}
