"""Support actions staff take on a customer's integration. Each one writes a `staff.*` audit row in
the tenant's log (the engine's own actions add theirs), so customers see what support did."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q

from connectors.models import Connection
from mappings import schema_checks
from mappings.models import Integration
from mappings.services import actions as mapping_actions
from syncsmart.engine import historical, run_requests, webhook_registration
from tenants.access import SESSION_KEY, VIEW_AS_SESSION_KEY
from tenants.actions import audit
from tenants.connections import refresh_schema as refresh
from tenants.models import Tenant


@transaction.atomic
def sync_now(integration: Integration, staff) -> Any:
    run = run_requests.request_run(integration, staff, trigger="manual")
    audit(
        integration.tenant, staff, "staff.sync_now", integration, summary=f"Staff queued a sync of {integration}", run=str(run.pk)
    )
    return run


@transaction.atomic
def historical_resync(integration: Integration, staff) -> Any:
    run = historical.start_historical_sync(integration, staff)
    audit(
        integration.tenant,
        staff,
        "staff.historical_resync",
        integration,
        summary=f"Staff started a historical resync of {integration}",
        run=str(run.pk),
    )
    return run


def repair_webhooks(integration: Integration, staff) -> list:
    """Register both sides' webhooks again now (creates what the vendors lost; idempotent)."""
    states = webhook_registration.register(integration, "repaired by staff")
    audit(
        integration.tenant,
        staff,
        "staff.webhooks_repaired",
        integration,
        summary=f"Staff re-registered the webhooks of {integration}",
        states={r.side: r.state for r in states},
    )
    return states


@transaction.atomic
def main_switch(integration: Integration, staff, on: bool) -> Integration:
    integration = mapping_actions.set_main_switch(integration, staff, on=on)
    audit(
        integration.tenant,
        staff,
        "staff.main_switch",
        integration,
        summary=f"Staff switched {integration} {'on' if on else 'off'}",
        enabled=on,
    )
    return integration


def refresh_schema(connection: Connection, staff) -> str:
    """Re-discover the connection's fields; a vendor error is reported (and recorded on the connection), not raised."""
    counts = refresh(connection)
    connection.refresh_from_db()
    if counts:
        message = f"Schema of {connection} refreshed: {sum(counts.values())} fields in {len(counts)} object types."
        broken = _check_mappings_using(connection)
        if broken:
            message += f" {len(broken)} field mapping(s) no longer fit: " + "; ".join(broken[:5])
    else:
        message = f"Schema refresh of {connection} failed: {connection.last_error or 'the vendor could not be reached'}"
    audit(
        connection.tenant,
        staff,
        "staff.schema_refreshed",
        connection,
        summary=message,
        ok=bool(counts),
        object_types=sorted(counts or {}),
    )
    return message


def _check_mappings_using(connection: Connection) -> list[str]:
    """Every integration on this connection: its field mappings checked against the fresh fields."""
    broken: list[str] = []
    for integration in Integration.objects.filter(Q(hubspot_connection=connection) | Q(other_connection=connection)):
        broken += schema_checks.check_mappings(integration).broken
    return broken


def begin_view_as(session, tenant: Tenant, staff) -> None:
    session[VIEW_AS_SESSION_KEY] = tenant.pk
    session["view_as_tenant_name"] = tenant.name
    session.pop(SESSION_KEY, None)
    audit(
        tenant, staff, "staff.view_as_started", tenant, summary=f"Staff started viewing {tenant.name} as a customer (read-only)"
    )


def end_view_as(session, staff) -> Tenant | None:
    tenant = Tenant.objects.filter(pk=session.pop(VIEW_AS_SESSION_KEY, None)).first()
    session.pop("view_as_tenant_name", None)
    if tenant is not None:
        audit(tenant, staff, "staff.view_as_ended", tenant, summary=f"Staff stopped viewing {tenant.name}")
    return tenant
