"""Removing records and noticing removals: what each system offers for the record lifecycle
beyond create and update.

`lifecycle_for(connector)` answers one small interface per system:

- `archive(object_type, ids)` — the system's reversible removal: HubSpot archive (its "delete",
  restorable for 90 days), ConnectWise inactive (contacts' inactiveFlag, a company's "Inactive"
  status), Dynamics deactivation (statecode 1 / statuscode 2), NetSuite `isInactive`;
- `delete(object_type, ids)` — the real delete (HubSpot has none beyond archive: same call);
- `gone(object_type, ids)` — which of these ids are deleted on the vendor side, confirmed by a
  complete answer (any failed call raises, so a partial read never reports a deletion): HubSpot
  ids that are in the archived list (a merged-away id is not), ConnectWise and Dynamics ids the
  vendor no longer returns, NetSuite ids in SuiteQL's DeletedRecord table and no longer returned.

Every method returns one WriteResult per id, in order; an id already gone counts as done.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from connectors.base import Connector, ConnectorError, ErrorKind, WriteResult
from connectors.connectwise.lifecycle import ConnectWiseLifecycle
from connectors.dynamics.lifecycle import DynamicsLifecycle
from connectors.hubspot.lifecycle import HubSpotLifecycle
from connectors.netsuite.lifecycle import NetSuiteLifecycle


class RecordLifecycle(Protocol):
    def can_archive(self, object_type: str) -> bool: ...

    def archive(self, object_type: str, ids: Sequence[str]) -> list[WriteResult]: ...

    def delete(self, object_type: str, ids: Sequence[str]) -> list[WriteResult]: ...

    def gone(self, object_type: str, ids: Sequence[str]) -> set[str]: ...


def lifecycle_for(connector: Connector) -> RecordLifecycle:
    by_system = {
        "hubspot": HubSpotLifecycle,
        "connectwise": ConnectWiseLifecycle,
        "dynamics": DynamicsLifecycle,
        "netsuite": NetSuiteLifecycle,
    }
    if connector.system not in by_system:
        raise ConnectorError(f"{connector.system} records cannot be removed by the product yet", ErrorKind.CONFIG)
    return by_system[connector.system](connector)
