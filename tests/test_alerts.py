"""Alert rules (syncsmart.alerts): each fires once per incident, e-mails the tenant's owners and
admins who want it (and the staff addresses), resolves with one more e-mail when its cause clears,
and a member who switched alert e-mails off gets nothing. Mail: pytest-django's locmem backend."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from connectors.hubspot import limits
from connectors.models import Connection
from mappings.models import Integration
from syncsmart.alerts import evaluate_alerts
from syncsmart.models import Alert, RecordEvent, SyncRun, WebhookRegistration
from tenants import actions
from tenants.models import AuditLog, Membership
from tests.factories import IntegrationFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def integration(settings) -> Integration:
    settings.ALERT_FAILED_RUNS, settings.ALERT_STUCK_MINUTES, settings.ALERT_FAILURES_PER_HOUR = 3, 30, 4
    settings.ALERT_STAFF_EMAILS = ["oncall@syncsmart.example"]
    settings.ALERT_QUOTA_PERCENT = 80
    integration = IntegrationFactory()
    for email, role in [
        ("owner@acme.example", Membership.Role.OWNER),
        ("admin@acme.example", Membership.Role.ADMIN),
        ("quiet@acme.example", Membership.Role.ADMIN),
        ("viewer@acme.example", Membership.Role.VIEWER),
    ]:
        MembershipFactory(tenant=integration.tenant, role=role, user=UserFactory(email=email))
    quiet = Membership.objects.get(user__email="quiet@acme.example")
    actions.set_alert_emails(quiet, quiet.user, False)
    return integration


def finished_run(integration: Integration, status: str, minutes_ago: float) -> SyncRun:
    at = timezone.now() - timedelta(minutes=minutes_ago)
    return SyncRun.objects.create(
        integration=integration, status=status, queued_at=at, started_at=at, finished_at=at, error=f"{status} run"
    )


def break_connection(i: Integration) -> None:
    Connection.objects.filter(pk=i.other_connection_id).update(
        status=Connection.Status.RECONNECT_NEEDED, last_error="invalid_grant"
    )


def fix_connection(i: Integration) -> None:
    Connection.objects.filter(pk=i.other_connection_id).update(status=Connection.Status.OK, last_error="")


def fail_runs(i: Integration) -> None:
    finished_run(i, SyncRun.Status.SUCCEEDED, 40)
    for minutes in (30, 20, 10):
        finished_run(i, SyncRun.Status.FAILED, minutes)


def succeed_a_run(i: Integration) -> None:
    finished_run(i, SyncRun.Status.SUCCEEDED, 1)


def stick_a_run(i: Integration) -> None:
    long_ago = timezone.now() - timedelta(hours=2)
    SyncRun.objects.create(
        integration=i, status=SyncRun.Status.RUNNING, queued_at=long_ago, started_at=long_ago, heartbeat_at=long_ago
    )


def unstick_the_run(i: Integration) -> None:
    SyncRun.objects.filter(integration=i, status=SyncRun.Status.RUNNING).update(
        status=SyncRun.Status.FAILED, finished_at=timezone.now()
    )


def fail_records(i: Integration) -> None:
    RecordEvent.objects.bulk_create(
        RecordEvent(integration=i, source_side="hubspot", source_object="contacts", source_id=str(n), outcome="failed")
        for n in range(4)
    )


def age_the_failures(i: Integration) -> None:
    RecordEvent.objects.filter(integration=i).update(created_at=timezone.now() - timedelta(hours=2))


def lose_webhooks(i: Integration) -> None:
    WebhookRegistration.objects.update_or_create(
        integration=i, side="other", defaults={"state": WebhookRegistration.State.FAILED, "message": "404 from the vendor"}
    )


def restore_webhooks(i: Integration) -> None:
    WebhookRegistration.objects.filter(integration=i).update(state=WebhookRegistration.State.ACTIVE)


def spend_the_budget(i: Integration) -> None:
    """80 % (ALERT_QUOTA_PERCENT) of a 10-call daily budget spent on the portal today."""
    set_budget(i, 10)
    portal = limits.hubspot_limiter(f"connection-{i.hubspot_connection_id}", daily=10)
    for _ in range(8):
        portal.store.count_today(portal.key)


def raise_the_budget(i: Integration) -> None:
    set_budget(i, 1000)


def set_budget(i: Integration, calls: int) -> None:
    Connection.objects.filter(pk=i.hubspot_connection_id).update(config={"daily_budget": calls})


RULES: dict[str, tuple[Callable, Callable]] = {
    Alert.Rule.RECONNECT: (break_connection, fix_connection),
    Alert.Rule.FAILING_RUNS: (fail_runs, succeed_a_run),
    Alert.Rule.STUCK_RUN: (stick_a_run, unstick_the_run),
    Alert.Rule.RECORD_FAILURES: (fail_records, age_the_failures),
    Alert.Rule.WEBHOOKS_LOST: (lose_webhooks, restore_webhooks),
    Alert.Rule.QUOTA: (spend_the_budget, raise_the_budget),
}
RECIPIENTS = ["admin@acme.example", "oncall@syncsmart.example", "owner@acme.example"]


def sent_to() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


@pytest.mark.parametrize("rule", list(RULES))
def test_an_alert_fires_once_and_resolves_and_opted_out_members_get_nothing(
    rule, integration, django_capture_on_commit_callbacks
):
    cause, cure = RULES[rule]
    with django_capture_on_commit_callbacks(execute=True):
        assert evaluate_alerts() == {"opened": 0, "resolved": 0, "open": 0}
    cause(integration)
    with django_capture_on_commit_callbacks(execute=True):
        assert evaluate_alerts()["opened"] == 1
    alert = Alert.objects.get()
    assert (alert.rule, alert.integration, alert.is_open) == (rule, integration, True)
    assert sent_to() == RECIPIENTS  # owners and admins who want it, and staff: not the viewer, not "quiet"
    assert all(m.subject == f"[SyncSmart] Alert: {alert.title}" for m in mail.outbox)
    assert sorted(alert.__class__.objects.get().notified) == RECIPIENTS

    with django_capture_on_commit_callbacks(execute=True):  # still broken: the same incident, no new e-mail
        assert evaluate_alerts() == {"opened": 0, "resolved": 0, "open": 1}
    assert len(mail.outbox) == len(RECIPIENTS)

    mail.outbox.clear()
    cure(integration)
    with django_capture_on_commit_callbacks(execute=True):
        assert evaluate_alerts() == {"opened": 0, "resolved": 1, "open": 0}
    alert.refresh_from_db()
    assert not alert.is_open
    assert sent_to() == RECIPIENTS
    assert all(m.subject == f"[SyncSmart] Resolved: {alert.title}" for m in mail.outbox)
    assert list(AuditLog.objects.filter(action__startswith="alert.").order_by("pk").values_list("action", flat=True)) == [
        "alert.opened",
        "alert.resolved",
    ]


def test_an_incident_that_comes_back_is_a_new_alert(integration, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            break_connection(integration)
            evaluate_alerts()
            fix_connection(integration)
            evaluate_alerts()
    assert Alert.objects.filter(rule=Alert.Rule.RECONNECT, resolved_at__isnull=False).count() == 2
    assert len(mail.outbox) == 4 * len(RECIPIENTS)  # opened, resolved, opened, resolved


def test_a_disabled_integration_raises_no_alert(integration, django_capture_on_commit_callbacks):
    Integration.objects.filter(pk=integration.pk).update(enabled=False)
    break_connection(integration)
    lose_webhooks(integration)
    with django_capture_on_commit_callbacks(execute=True):
        assert evaluate_alerts()["opened"] == 0
    assert mail.outbox == []


def test_a_member_switches_alert_emails_off_on_the_team_page(team):
    assert team.admin.post("/team/alert-emails/", {"alert_emails": "0"}).status_code == 302
    admin = Membership.objects.get(tenant=team.tenant, user=team.users["admin"])
    assert admin.alert_emails is False
    assert AuditLog.objects.filter(tenant=team.tenant, action="membership.alert_emails").count() == 1
    assert team.admin.post("/team/alert-emails/", {"alert_emails": "1"}).status_code == 302
    admin.refresh_from_db()
    assert admin.alert_emails is True


def test_open_alerts_are_listed_in_the_staff_console_and_on_the_integration_page(
    team, admin_client, django_capture_on_commit_callbacks
):
    integration = IntegrationFactory(tenant=team.tenant)
    lose_webhooks(integration)
    with django_capture_on_commit_callbacks(execute=True):
        evaluate_alerts()
    title = Alert.objects.get().title
    assert title in admin_client.get("/staff/").content.decode()
    assert title in admin_client.get(f"/staff/tenants/{team.tenant.pk}/").content.decode()
    assert title in team.viewer.get(f"/integrations/{integration.pk}/").content.decode()
    assert title not in team.outsider.get("/staff/").content.decode()
