"""Which registrar serves a connector's system (see connectors.subscriptions for the interface)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.base import Connector, ConnectorError, ErrorKind
from connectors.connectwise.subscriptions import CallbackRegistrar
from connectors.dynamics.subscriptions import StepRegistrar
from connectors.hubspot.subscriptions import AppRegistrar
from connectors.subscriptions import Registrar


def registrar_for(connector: Connector, config: Mapping[str, Any], credentials: Mapping[str, Any]) -> Registrar:
    """The registrar of a connector's system; a ConnectorError (CONFIG) when the system has none."""
    if connector.system == "hubspot":
        return AppRegistrar(connector, config, credentials)
    if connector.system == "connectwise":
        return CallbackRegistrar(connector)
    if connector.system == "dynamics":
        return StepRegistrar(connector, credentials)
    raise ConnectorError(f"{connector.system} webhooks cannot be registered by the product", ErrorKind.CONFIG)
