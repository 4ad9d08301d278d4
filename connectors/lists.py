"""Lists as inclusion filters: which system offers them (HubSpot, lists v3), see connectors/hubspot/lists.py."""

from __future__ import annotations

from connectors.base import Connector, ConnectorError, ErrorKind
from connectors.hubspot.lists import HubSpotList, HubSpotLists

__all__ = ["HubSpotList", "lists_for", "has_lists"]


def has_lists(system: str) -> bool:
    return system == "hubspot"


def lists_for(connector: Connector) -> HubSpotLists:
    if not has_lists(connector.system):
        raise ConnectorError(f"{connector.system} has no lists to filter by", ErrorKind.CONFIG)
    return HubSpotLists(connector)
