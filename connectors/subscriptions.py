"""Webhook subscriptions a connector registers with its vendor, so the product never asks an
admin to register them by hand.

One small interface per system (`registrar_for(connector, ...)`):

- `list(target)` — the subscriptions that deliver to `target` now (vendor ids and what they hear);
- `ensure(target, wanted)` — create what is missing (idempotent: an existing one is kept, an
  inactive one re-activated) and return them all;
- `remove(target)` — delete every subscription delivering to `target`; returns how many.

`Wanted` says what to hear: the vendor's object types, and per HubSpot object the properties whose
changes matter (HubSpot's propertyChange subscriptions are per property). What the vendor calls a
subscription differs: HubSpot app event subscriptions (webhooks v3) under the app's one target
URL, ConnectWise `system/callbacks` (one per record type), Dataverse a service endpoint with one
SDK message processing step per message and table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol, Sequence

from connectors.base import Connector, ConnectorError, ErrorKind


@dataclass(frozen=True)
class Subscription:
    id: str
    event: str  # what it hears, in the vendor's words: "contact.creation", "company callback", "Delete of contact"
    target: str
    active: bool = True


@dataclass
class Wanted:
    object_types: Sequence[str]
    properties: Mapping[str, Sequence[str]] = field(default_factory=dict)  # object type -> property names


class Registrar(Protocol):
    def list(self, target: str) -> list[Subscription]: ...

    def ensure(self, target: str, wanted: Wanted) -> list[Subscription]: ...

    def remove(self, target: str) -> int: ...


def registrar_for(connector: Connector, config: Mapping[str, Any], credentials: Mapping[str, Any]) -> Registrar:
    """The registrar of a connector's system; a ConnectorError (CONFIG) when the system has none."""
    from connectors.connectwise.subscriptions import CallbackRegistrar  # each imports this module
    from connectors.dynamics.subscriptions import StepRegistrar
    from connectors.hubspot.subscriptions import AppRegistrar

    if connector.system == "hubspot":
        return AppRegistrar(connector, config, credentials)
    if connector.system == "connectwise":
        return CallbackRegistrar(connector)
    if connector.system == "dynamics":
        return StepRegistrar(connector, credentials)
    raise ConnectorError(f"{connector.system} webhooks cannot be registered by the product", ErrorKind.CONFIG)
