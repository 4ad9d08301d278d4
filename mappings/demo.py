"""The full demo's wiring: point the demo tenant at the running emulators and switch it on.

Called by syncsmart.demo_data.connect_demo_tenant from `python3 -m syncsmart run` after the
emulators are serving on local ports. For each emulator it creates (or re-points, on a
restart) the tenant's connection with the emulator's credentials, tests it and discovers its
fields; then it creates one integration per other system (HubSpot ↔ ConnectWise, HubSpot ↔
Dynamics, HubSpot ↔ Salesforce) with the default mappings, a one-minute schedule and the main switch on, so the
first sync starts as soon as the worker cluster is up.

Test mode is OFF for the demo integrations: the emulators hold only demo data, and a
newcomer should see every record sync, not just the few that carry a test marker.

The product registers its webhooks with the emulators as it does with the vendors (HubSpot app
subscriptions, ConnectWise callbacks, a Dataverse service endpoint with its steps), so a change
made in any of the three (e.g. through the demo sandbox page) arrives within seconds.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction

from connectors.hubspot.emulator import DEFAULT_TOKEN
from connectors.models import Connection
from mappings.models import Integration
from mappings.services import actions
from syncsmart.engine import webhook_registration
from tenants import connections as connector_actions
from tenants.models import Tenant

DEMO_SCHEDULE_MINUTES = 1


def _hubspot(emulator, base_url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    config = {"base_url": base_url, "portal_id": str(getattr(emulator, "portal_id", "") or "")}
    config["app_id"] = emulator.app_webhooks.app_id  # the emulator's "app": its webhooks v3 API
    return config, {
        "token": getattr(emulator, "token", DEFAULT_TOKEN) or DEFAULT_TOKEN,
        "client_secret": emulator.client_secret,
        "developer_api_key": emulator.app_webhooks.developer_key,
    }


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
    credentials = {**credentials, "webhook_key": secrets.token_urlsafe(24)}  # the service endpoint's key
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


def _register_webhooks(integration: Integration) -> str:
    """The product registers its own webhooks with the emulators, as with the vendors."""
    states = webhook_registration.register(integration, "demo start")
    label = {"hubspot": "HubSpot", "other": integration.other_system_label}
    return ", ".join(f"{label[r.side]} {r.get_state_display().lower()}" for r in states)


def connect(tenant: Tenant, running_emulators: Iterable, site_url: str) -> list[str]:
    """Wire the demo tenant to the running emulators; returns lines for the console."""
    lines: list[str] = []
    # Webhook targets are built from SITE_URL: the demo's web server (its workers get it too).
    settings.SITE_URL = site_url.rstrip("/")
    connections: dict[str, Connection] = {}
    for running in running_emulators:
        system = running.emulator.system
        if system not in CONFIG_BUILDERS:
            continue
        connections[system] = demo_connection(tenant, system, running.emulator, running.base_url)
        lines.append(_ready(connections[system]))
    hubspot = connections.get("hubspot")
    if hubspot is None:
        return lines + ["No HubSpot emulator is running, so no integration was set up."]
    for system in ("connectwise", "dynamics", "salesforce", "netsuite"):
        if system not in connections:
            continue
        integration = demo_integration(tenant, hubspot, connections[system])
        lines.append(
            f"{integration}: on, syncing every {integration.schedule_minutes} min; webhooks: {_register_webhooks(integration)}"
        )
    lines.append(f"Edit records in the emulators at {site_url.rstrip('/')}/sandbox/ and watch them arrive.")
    return lines
