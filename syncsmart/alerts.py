"""Alerts: rules that look at the database for something a person must know about, evaluated by a
q2 schedule (`evaluate_alerts`, every few minutes; migration 0009 adds it).

Each rule returns what it finds now, as findings keyed by (rule, key): one incident is one key
(e.g. "failing_runs" on "integration:12"). A finding with no open alert opens one and e-mails it
once; an open alert its rule no longer finds is resolved and a resolution e-mail goes out. So an
incident that lasts a week is one e-mail, and one that clears and comes back is a new incident.

Recipients: the tenant's owners and admins who have not switched alert e-mails off
(Membership.alert_emails, on the team page), plus ALERT_STAFF_EMAILS. Alerts are listed in the
staff console and on the integration's page. The rules and what to do: docs/operations.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import mail
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from connectors import quota
from connectors.models import Connection
from mappings.models import Integration
from mappings.services import health
from syncsmart.models import Alert, SyncRun, WebhookRegistration
from tenants.actions import audit
from tenants.models import Membership

log = logging.getLogger("syncsmart.alerts")
Rule = Alert.Rule


@dataclass(frozen=True)
class Finding:
    rule: str
    key: str
    integration: Integration
    title: str
    message: str


# --- the rules ---------------------------------------------------------------------------------
def _live_integrations() -> Iterator[Integration]:
    yield from (
        Integration.objects.filter(enabled=True, preview_of__isnull=True)
        .select_related("tenant", "hubspot_connection", "other_connection")
        .order_by("pk")
    )


def reconnect_needed(now: datetime) -> Iterator[Finding]:
    """A connection answered 401 / invalid_grant: nothing syncs until someone signs in again."""
    for integration in _live_integrations():
        for connection in (integration.hubspot_connection, integration.other_connection):
            if connection.status == Connection.Status.RECONNECT_NEEDED:
                yield Finding(
                    Rule.RECONNECT,
                    f"reconnect:{integration.pk}:{connection.pk}",
                    integration,
                    f"{integration}: reconnect {connection.get_system_display()}",
                    f"{connection.get_system_display()} refused our credentials ({connection.last_error or 'unauthorised'}). "
                    "Nothing syncs until an admin reconnects it on the Connections page.",
                )


def failing_runs(now: datetime) -> Iterator[Finding]:
    """The last ALERT_FAILED_RUNS finished runs (cancelled ones aside) all failed."""
    wanted = settings.ALERT_FAILED_RUNS
    done = (SyncRun.Status.SUCCEEDED, SyncRun.Status.PARTIAL, SyncRun.Status.FAILED)
    for integration in _live_integrations():
        last = list(
            SyncRun.objects.filter(integration=integration, status__in=done)
            .order_by("-finished_at", "-queued_at")
            .values_list("status", "error")[:wanted]
        )
        if len(last) == wanted and all(status == SyncRun.Status.FAILED for status, _ in last):
            yield Finding(
                Rule.FAILING_RUNS,
                f"failing_runs:{integration.pk}",
                integration,
                f"{integration}: the last {wanted} runs failed",
                f"The latest error: {last[0][1] or 'see the run log'}",
            )


def stuck_runs(now: datetime) -> Iterator[Finding]:
    """A run running without a heartbeat, or due and not started, for ALERT_STUCK_MINUTES."""
    stale = now - timedelta(minutes=settings.ALERT_STUCK_MINUTES)
    stuck = SyncRun.objects.filter(
        Q(status=SyncRun.Status.RUNNING, heartbeat_at__lt=stale) | Q(status=SyncRun.Status.QUEUED, queued_at__lt=stale),
        integration__preview_of__isnull=True,
    ).select_related("integration__tenant", "integration__other_connection")
    seen: set[int] = set()
    for run in stuck.order_by("queued_at"):
        if run.integration_id in seen:
            continue
        seen.add(run.integration_id)
        what = "has not moved" if run.status == SyncRun.Status.RUNNING else "has waited to start"
        yield Finding(
            Rule.STUCK_RUN,
            f"stuck_run:{run.integration_id}",
            run.integration,
            f"{run.integration}: a {run.get_trigger_display().lower()} run is stuck",
            f"Run {run.pk} {what} for over {settings.ALERT_STUCK_MINUTES:g} minutes (workers down or saturated?).",
        )


def record_failures(now: datetime) -> Iterator[Finding]:
    """At least ALERT_FAILURES_PER_HOUR records of one integration failed in the last hour and still
    fail. Counted as the integration page and the staff console count failing records
    (mappings/services/health.open_failure_counts): records, not attempts, whose newest outcome
    is a failure; the alert names the same total the page shows."""
    recent = health.open_failure_counts(None, since=now - timedelta(hours=1))
    over = [pk for pk, n in recent.items() if n >= settings.ALERT_FAILURES_PER_HOUR]
    if not over:
        return
    failing = health.open_failure_counts(over)
    for integration in Integration.objects.filter(pk__in=over).select_related("tenant", "other_connection").order_by("pk"):
        yield Finding(
            Rule.RECORD_FAILURES,
            f"record_failures:{integration.pk}",
            integration,
            f"{integration}: {failing.get(integration.pk, 0)} records failing ({recent[integration.pk]} failed in the last hour)",
            "The sync health page groups them by cause (a mapping, a vendor validation rule, a missing parent).",
        )


def webhooks_lost(now: datetime) -> Iterator[Finding]:
    """A side's webhook subscriptions are gone and could not be re-created: changes arrive only
    with the scheduled runs, minutes instead of seconds."""
    rows = WebhookRegistration.objects.filter(
        state=WebhookRegistration.State.FAILED, integration__enabled=True, integration__preview_of__isnull=True
    ).select_related("integration__tenant", "integration__other_connection")
    for row in rows.order_by("integration_id", "side"):
        side = "HubSpot" if row.side == "hubspot" else row.integration.other_system_label
        yield Finding(
            Rule.WEBHOOKS_LOST,
            f"webhooks_lost:{row.integration_id}:{row.side}",
            row.integration,
            f"{row.integration}: {side} webhooks are gone",
            f"{row.message or 'Re-creating them failed.'} Scheduled runs still sync, minutes late instead of seconds.",
        )


def quota_running_out(now: datetime) -> Iterator[Finding]:
    """A vendor account's daily budget (connectors/quota.py: the HubSpot portal's, and the other
    side's org, company or account) is used up, or will be before midnight UTC at the current rate
    (a forecast trusted after the day's first hour), or its use passed ALERT_QUOTA_PERCENT of it.
    Clears with the next day's fresh budget, or a larger one."""
    at = quota.now()
    for integration in _live_integrations():
        for side, connection in (("hubspot", integration.hubspot_connection), ("other", integration.other_connection)):
            budget = quota.budget_of(connection, at)
            if budget is None or not _budget_alarming(budget, at):
                continue
            yield Finding(
                Rule.QUOTA,
                f"quota:{integration.pk}" if side == "hubspot" else f"quota:{integration.pk}:{side}",
                integration,
                f"{integration}: the daily {budget.vendor} API budget is running out",
                f"{budget.used:,} of {budget.budget:,} calls used today. {quota.forecast(budget).words(budget)} "
                "Historical resyncs pause first; webhook and scheduled syncs stop when it is spent.",
            )


def _budget_alarming(budget: quota.Budget, at: datetime) -> bool:
    if budget.spent or budget.used >= budget.budget * settings.ALERT_QUOTA_PERCENT / 100:
        return True
    first_hour_over = at.hour >= 1
    return first_hour_over and quota.forecast(budget).runs_out_at is not None


RULES: list[Callable[[datetime], Iterator[Finding]]] = [
    reconnect_needed,
    failing_runs,
    stuck_runs,
    record_failures,
    webhooks_lost,
    quota_running_out,
]


def listed(alerts: QuerySet[Alert], limit: int = 50) -> list[Alert]:
    """For a page: the open alerts, then those resolved in the last 7 days, newest first."""
    recent = Q(resolved_at=None) | Q(resolved_at__gte=timezone.now() - timedelta(days=7))
    found = alerts.filter(recent).select_related("tenant", "integration").order_by("-opened_at", "-pk")[:limit]
    return sorted(found, key=lambda a: not a.is_open)


# --- opening, resolving, e-mailing ---------------------------------------------------------------
def evaluate_alerts(now: datetime | None = None) -> dict[str, int]:
    """The q2 task: open an alert for each new finding, resolve those no rule finds any more."""
    now = now or timezone.now()
    findings: dict[tuple[str, str], Finding] = {}
    for rule in RULES:
        for finding in rule(now):
            findings.setdefault((finding.rule, finding.key), finding)
    open_alerts = {(a.rule, a.key): a for a in Alert.objects.filter(resolved_at=None).select_related("tenant", "integration")}
    opened = sum(do_open_alert(f, now) for key, f in findings.items() if key not in open_alerts)
    resolved = sum(do_resolve_alert(a, now) for key, a in open_alerts.items() if key not in findings)
    return {"opened": opened, "resolved": resolved, "open": len(findings)}


def do_open_alert(finding: Finding, now: datetime) -> bool:
    """Open the incident (once: a concurrent evaluation that opened it first wins) and mail it."""
    integration = finding.integration
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                rule=finding.rule,
                key=finding.key,
                tenant=integration.tenant,
                integration=integration,
                title=finding.title[:300],
                message=finding.message,
                opened_at=now,
            )
            audit(integration.tenant, None, "alert.opened", integration, summary=alert.title, rule=alert.rule)
            transaction.on_commit(lambda: _send(alert, resolved=False))
    except IntegrityError:
        return False
    return True


def do_resolve_alert(alert: Alert, now: datetime) -> bool:
    with transaction.atomic():
        if not Alert.objects.filter(pk=alert.pk, resolved_at=None).update(resolved_at=now):
            return False  # another evaluation resolved it
        alert.resolved_at = now
        audit(alert.tenant, None, "alert.resolved", alert.integration, summary=alert.title, rule=alert.rule)
        transaction.on_commit(lambda: _send(alert, resolved=True))
    return True


def recipients(alert: Alert) -> list[str]:
    """The tenant's owners and admins who want alert e-mails, then the staff addresses."""
    members = Membership.objects.filter(
        tenant_id=alert.tenant_id,
        role__in=(Membership.Role.OWNER, Membership.Role.ADMIN),
        alert_emails=True,
        user__is_active=True,
    ).order_by("user__email")
    addresses = [m.user.email for m in members.select_related("user") if m.user.email]
    return list(dict.fromkeys(addresses + list(settings.ALERT_STAFF_EMAILS)))


def _send(alert: Alert, resolved: bool) -> None:
    to = recipients(alert)
    if not resolved:
        Alert.objects.filter(pk=alert.pk).update(notified=to)
    if not to:
        return
    subject = f"[SyncSmart] {'Resolved' if resolved else 'Alert'}: {alert.title}"
    link = settings.SITE_URL.rstrip("/") + (reverse("integration", args=[alert.integration_id]) if alert.integration_id else "/")
    if resolved:
        body = f"Resolved at {alert.resolved_at:%Y-%m-%d %H:%M} UTC (opened {alert.opened_at:%Y-%m-%d %H:%M} UTC).\n\n"
    else:
        opened = f"Opened at {alert.opened_at:%Y-%m-%d %H:%M} UTC."
        body = f"{alert.message}\n\n{opened} You get one e-mail now and one when it clears.\n\n"
    body += f"{link}\n\nAlert e-mails can be switched off for yourself on the Team page."
    messages = [mail.EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [address]) for address in to]
    try:
        mail.get_connection().send_messages(messages)
    except OSError:  # the mail server is down: the alert stays listed in the console and on the page
        log.exception("alert e-mail not sent: %s", alert.title)
