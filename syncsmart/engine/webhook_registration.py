"""Webhooks the product registers itself: on connect, on go-live, on disconnect, on a staff
"repair", and checked by runs so a subscription removed on the vendor side comes back.

Targets: the other system delivers to `/webhooks/<integration id>/other`; HubSpot to the app's one
target URL `/webhooks/hubspot`, where events are routed to integrations by their portal (HubSpot
webhooks belong to the app, not to a portal). What is wanted follows the enabled object mappings:
their object types on each side, and on HubSpot the mapped properties (propertyChange
subscriptions are per property).

Each side's state is a `WebhookRegistration` row the integration page shows: active (with the
vendor's subscriptions), failed (with the vendor's message), unsupported (the system or the
credentials cannot register: e.g. a HubSpot private-app token without the app's developer key),
or removed. A failure never stops a sync: runs fall back to their schedule and polling.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task

from connectors.base import ConnectorError, ErrorKind
from connectors.registrars import registrar_for
from connectors.subscriptions import Subscription, Wanted
from mappings.models import Integration
from syncsmart.core.choices import Side
from syncsmart.engine.config import engine_settings
from syncsmart.models import WebhookRegistration

log = logging.getLogger("syncsmart.webhooks.registration")


def target_url(integration: Integration, side: str) -> str:
    base = settings.SITE_URL.rstrip("/")
    if side == Side.HUBSPOT:
        return base + reverse("hubspot-app-webhook")
    return base + reverse("webhook", args=[integration.pk, Side.OTHER])


def wanted(integration: Integration, side: str) -> Wanted:
    mappings = [m for m in integration.object_mappings.all() if m.enabled]
    object_types = sorted({m.object_for(side) for m in mappings})
    properties: dict[str, list[str]] = {}
    for mapping in mappings:
        names = {f.field_on(side) for f in mapping.field_mappings.all() if f.enabled}
        properties.setdefault(mapping.object_for(side), []).extend(sorted(names))
    return Wanted(object_types, {k: sorted(set(v)) for k, v in properties.items()})


REGISTER_TASK = "syncsmart.engine.webhook_registration.register_by_id"


def register_after_commit(integration: Integration, reason: str) -> None:
    """Switching sync on registers the webhooks on a worker (vendor calls never hold up a page),
    or right away when runs execute inline (tests, demos)."""
    integration_id = integration.pk

    def enqueue() -> None:
        if engine_settings().run_inline:
            register_by_id(integration_id, reason)
        else:
            async_task(REGISTER_TASK, integration_id, reason, task_name=f"webhooks-{integration_id}")

    transaction.on_commit(enqueue)


def register_by_id(integration_id: int, reason: str = "") -> None:
    integration = Integration.objects.filter(pk=integration_id, enabled=True).first()
    if integration is not None:
        register(integration, reason)


def unregister_if_registered(integration: Integration) -> None:
    """Before an integration is deleted: take down what it registered (nothing to do, no call, when
    it never registered anything)."""
    if WebhookRegistration.objects.filter(integration=integration, state=WebhookRegistration.State.ACTIVE).exists():
        unregister(integration)


def register(integration: Integration, reason: str = "") -> list[WebhookRegistration]:
    """Make both sides deliver to us (idempotent); returns each side's state."""
    return [_ensure(integration, side, reason) for side in (Side.HUBSPOT, Side.OTHER)]


def unregister(integration: Integration) -> list[WebhookRegistration]:
    """Stop deliveries: the other side's subscriptions go; HubSpot's app subscriptions go only when
    no other integration of the product still relies on them."""
    rows = []
    for side in (Side.HUBSPOT, Side.OTHER):
        if side == Side.HUBSPOT and _hubspot_shared(integration):
            rows.append(_save(integration, side, WebhookRegistration.State.REMOVED, [], "Kept for other integrations."))
            continue
        rows.append(_remove(integration, side))
    return rows


KEPT_STATES_SKIPPED = (WebhookRegistration.State.REMOVED, WebhookRegistration.State.UNSUPPORTED)


def check_due_rows() -> QuerySet[WebhookRegistration]:
    """Registrations a run should check now (the run's state read asks whether any exists)."""
    due = timezone.now() - timedelta(minutes=engine_settings().webhook_check_minutes)
    return WebhookRegistration.objects.exclude(state__in=KEPT_STATES_SKIPPED).filter(
        Q(checked_at__isnull=True) | Q(checked_at__lt=due)
    )


def keep_registered(integration: Integration, force: bool = False) -> None:
    """Called by runs: re-create what the vendor lost, when a check is due."""
    # A list call or two per side; SYNC_WEBHOOK_CHECK_MINUTES apart at most once per integration.
    due = timezone.now() - timedelta(minutes=engine_settings().webhook_check_minutes)
    rows = {r.side: r for r in WebhookRegistration.objects.filter(integration=integration)}
    for side in (Side.HUBSPOT, Side.OTHER):
        row = rows.get(side)
        if row is None or row.state in KEPT_STATES_SKIPPED:
            continue  # never registered (or taken down on purpose): a run does not start it
        if force or row.checked_at is None or row.checked_at < due:
            _ensure(integration, side, "checked by a run")


def _ensure(integration: Integration, side: str, reason: str) -> WebhookRegistration:
    connection = integration.connection_on(side)
    try:
        connector = connection.connector()
    except ConnectorError as exc:
        return _save(integration, side, WebhookRegistration.State.FAILED, [], exc.message)
    try:
        registrar = registrar_for(connector, connection.config or {}, connection.credentials or {})
        subs = registrar.ensure(target_url(integration, side), wanted(integration, side))
    except ConnectorError as exc:
        state = WebhookRegistration.State.UNSUPPORTED if exc.kind == ErrorKind.CONFIG else WebhookRegistration.State.FAILED
        log.info("webhook registration of integration %s (%s) %s: %s", integration.pk, side, state, exc.message)
        return _save(integration, side, state, [], exc.message)
    finally:
        connector.close()
    return _save(integration, side, WebhookRegistration.State.ACTIVE, subs, reason)


def _remove(integration: Integration, side: str) -> WebhookRegistration:
    connection = integration.connection_on(side)
    try:
        connector = connection.connector()
    except ConnectorError as exc:
        return _save(integration, side, WebhookRegistration.State.FAILED, [], exc.message)
    try:
        registrar_for(connector, connection.config or {}, connection.credentials or {}).remove(target_url(integration, side))
    except ConnectorError as exc:
        if exc.kind != ErrorKind.CONFIG:
            return _save(integration, side, WebhookRegistration.State.FAILED, [], exc.message)
    finally:
        connector.close()
    return _save(integration, side, WebhookRegistration.State.REMOVED, [], "Removed.")


def _hubspot_shared(integration: Integration) -> bool:
    return (
        WebhookRegistration.objects.filter(side=Side.HUBSPOT, state=WebhookRegistration.State.ACTIVE)
        .exclude(integration=integration)
        .exists()
    )


def _save(integration: Integration, side: str, state: str, subs: list[Subscription], message: str) -> WebhookRegistration:
    row, _ = WebhookRegistration.objects.update_or_create(
        integration=integration,
        side=side,
        defaults={
            "state": state,
            "target": target_url(integration, side),
            "subscriptions": [{"id": s.id, "event": s.event, "active": s.active} for s in subs],
            "message": message[:500],
            "checked_at": timezone.now(),
        },
    )
    return row
