"""HubSpot lists as inclusion filters, for the filter builder, the REST API and their one
validation (mappings/services/validation.py): the lists a customer can pick, a list found by the
name the customer gave, and a list's members for the builder's live count (cached briefly, so
typing in the builder does not call HubSpot again)."""

from __future__ import annotations

import json

from django.core.cache import cache

from connectors.base import ConnectorError
from connectors.lists import HubSpotList, has_lists, lists_for
from mappings import filters

CACHE_SECONDS = 60


def _connector(connection):
    if not has_lists(connection.system):
        raise ConnectorError(f"{connection.get_system_display()} has no lists")
    return connection.connector()


def lists_of(connection, object_type: str, refresh: bool = False) -> list[HubSpotList]:
    """The portal's lists of this object type, by name (cached; raises ConnectorError)."""
    key = f"hubspot-lists:{connection.pk}:{object_type}"
    found = None if refresh else cache.get(key)
    if found is None:
        connector = _connector(connection)
        try:
            found = lists_for(connector).all(object_type)
        finally:
            connector.close()
        cache.set(key, found, CACHE_SECONDS)
    return found


def list_named(connection, object_type: str, name: str) -> HubSpotList | None:
    """The list of that name, asked of HubSpot now (never a stale cache: a save depends on it)."""
    connector = _connector(connection)
    try:
        return lists_for(connector).by_name(object_type, name)
    finally:
        connector.close()


def members(connection, list_id: str) -> set[str]:
    key = f"hubspot-list-members:{connection.pk}:{list_id}"
    found = cache.get(key)
    if found is None:
        connector = _connector(connection)
        try:
            found = lists_for(connector).member_ids(list_id)
        finally:
            connector.close()
        cache.set(key, found, CACHE_SECONDS)
    return found


def resolved_by_name(connection, object_type: str, filter_data: dict) -> dict:
    """A copy of a filter as typed in the builder, its list conditions given the ids of the lists
    of those names (from the cached lists; a name not found stays without one and passes nothing)."""
    copy = json.loads(json.dumps(filter_data))
    conditions = filters.list_conditions(copy)
    if conditions:
        by_name = {x.name.lower(): x.id for x in lists_of(connection, object_type)}
        for condition in conditions:
            found = by_name.get(str(condition.get("value", "")).strip().lower())
            condition.pop("list_id", None)
            if found:
                condition["list_id"] = found
    return copy


def with_memberships(connection, filter_data: dict, records: list[dict]) -> list[dict]:
    """Sample records with the ids of the filter's lists they are in (under filters.LIST_FIELD),
    so the builder's live count tests list conditions as a run does."""
    used = filters.lists_used(filter_data)
    if not used:
        return records
    sets = {list_id: members(connection, list_id) for list_id in used}
    return [{**r, filters.LIST_FIELD: {i for i, m in sets.items() if str(r.get("id")) in m}} for r in records]


def unknown_list_message(object_type: str, name: str, known: list[HubSpotList]) -> str:
    """The one sentence the UI and the API give for a list HubSpot does not have."""
    names = ", ".join(f"“{x.name}”" for x in known[:20]) + (f" and {len(known) - 20} more" if len(known) > 20 else "")
    where = f" Its {object_type} lists: {names}." if known else f" It has no {object_type} lists."
    return f"HubSpot has no {object_type} list named “{name.strip()[:200]}”.{where}"
