"""Webhook subscriptions a connector registers with its vendor, so the product never asks an
admin to register them by hand.

One small interface per system (`connectors.registrars.registrar_for(connector, ...)`):

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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol


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
