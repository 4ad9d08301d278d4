"""The full demo's wiring: point the demo tenant at the running emulators and switch it on.

Called by syncsmart.demo_data.connect_demo_tenant from `python3 -m syncsmart run` after the
emulators are serving on local ports. For each emulator it creates (or re-points, on a
restart) the tenant's connection with the emulator's credentials, tests it and discovers its
fields; then it creates one integration per other system (HubSpot ↔ ConnectWise, HubSpot ↔
Dynamics, HubSpot ↔ Salesforce) with the default mappings, a one-minute schedule and the main switch on, so the
first sync starts as soon as the worker cluster is up.

Test mode is OFF for the demo integrations: the emulators hold only demo data, and a
newcomer should see every record sync, not just the few that carry a test marker.

HubSpot's emulator is subscribed to the integration's webhook endpoint, so a change made in
the HubSpot emulator (e.g. through the demo sandbox page) arrives within seconds; the other
systems' changes arrive with the next scheduled run (at most a minute).
"""

from __future__ import annotations

from typing import Any, Iterable

from django.db import transaction

from tenants import connections as connector_actions
from connectors.models import Connection
from mappings.services import actions
from mappings.models import Integration
from tenants.models import Tenant
from connectors.hubspot.emulator import DEFAULT_TOKEN
from django.urls import reverse

DEMO_SCHEDULE_MINUTES = 1


def _hubspot(emulator, base_url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    config = {"base_url": base_url, "portal_id": str(getattr(emulator, "portal_id", "") or "")}
    return config, {"token": getattr(emulator, "token", DEFAULT_TOKEN) or DEFAULT_TOKEN, "client_secret": emulator.client_secret}


def _connectwise(emulator, base_url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    config = {
        "base_url": base_url,
        "company_id": emulator.company,
        "public_key": emulator.public_key,
        "client_id": emulator.client_id,
    }
    return config, {"private_key": emulator.private_key}


def _dynamics(emulator, base_url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    config, credentials = emulator.connection_settings(base_url)
    return dict(config), dict(credentials)


def _salesforce(emulator, base_url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    config, credentials = emulator.connection_settings(base_url)  # the JWT bearer flow: no browser needed
    return dict(config), dict(credentials)


def _netsuite(emulator, base_url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    config, credentials = emulator.connection_settings(base_url)
    return dict(config), dict(credentials)


CONFIG_BUILDERS = {
    "hubspot": _hubspot,
    "connectwise": _connectwise,
    "dynamics": _dynamics,
    "salesforce": _salesforce,
    "netsuite": _netsuite,
}


def demo_connection(tenant: Tenant, system: str, emulator, base_url: str) -> Connection:
    """The tenant's connection to one running emulator (re-pointed to its new port on a restart)."""
    config, credentials = CONFIG_BUILDERS[system](emulator, base_url)
    config["emulator"] = True  # lets the demo sandbox page browse and edit its records
    connection = Connection.objects.filter(tenant=tenant, system=system, config__emulator=True).first()
    if connection is None:
        connection = Connection(tenant=tenant, system=system)
    connection.name = f"{connection.get_system_display()} (built-in emulator)"
    connection.config = config
    connection.credentials = credentials
    connection.save()
    return connection


def _ready(connection: Connection) -> str:
    test = connector_actions.test_connection(connection)
    counts = connector_actions.refresh_schema(connection) if test.ok else None
    if not test.ok:
        return f"{connection}: connection test failed — {test.message}"
    return f"{connection}: connected, {sum((counts or {}).values())} fields discovered"


@transaction.atomic
def demo_integration(tenant: Tenant, hubspot: Connection, other: Connection) -> Integration:
    integration = Integration.objects.filter(tenant=tenant, hubspot_connection=hubspot, other_connection=other).first()
    if integration is None:
        integration = actions.create_integration(
            tenant,
            None,
            hubspot,
            other,
            name=f"HubSpot ↔ {other.get_system_display()}",
            schedule_minutes=DEMO_SCHEDULE_MINUTES,
            test_mode=False,
        )
    else:
        actions.install_defaults(integration, None)
    actions.set_main_switch(integration, None, True)
    return integration


def _subscribe_webhooks(running, integration: Integration, site_url: str) -> str | None:
    emulator = running.emulator
    if integration is None or not hasattr(emulator, "subscribe"):
        return None

    target = site_url.rstrip("/") + reverse("webhook", args=[integration.pk, "hubspot"])
    emulator.subscribe(target, emulator.client_secret)
    return target


def connect(tenant: Tenant, running_emulators: Iterable, site_url: str) -> list[str]:
    """Wire the demo tenant to the running emulators; returns lines for the console."""
    lines: list[str] = []
    connections: dict[str, Connection] = {}
    by_system = {}
    for running in running_emulators:
        system = running.emulator.system
        if system not in CONFIG_BUILDERS:
            continue
        by_system[system] = running
        connections[system] = demo_connection(tenant, system, running.emulator, running.base_url)
        lines.append(_ready(connections[system]))
    hubspot = connections.get("hubspot")
    if hubspot is None:
        return lines + ["No HubSpot emulator is running, so no integration was set up."]
    for system in ("connectwise", "dynamics", "salesforce", "netsuite"):
        if system not in connections:
            continue
        integration = demo_integration(tenant, hubspot, connections[system])
        target = _subscribe_webhooks(by_system["hubspot"], integration, site_url)
        lines.append(
            f"{integration}: on, syncing every {integration.schedule_minutes} min"
            + (f"; HubSpot webhooks → {target}" if target else "")
        )
    lines.append(f"Edit records in the emulators at {site_url.rstrip('/')}/sandbox/ and watch them arrive.")
    return lines
