"""How many records a historical sync will read, for its progress bar, and where it starts.

The Connector interface has no "count" (the engine never needs one), so this module asks each
vendor the one cheap question its API answers — HubSpot's search ``total`` (limit 1),
ConnectWise's ``…/count``, Dataverse's ``$count=true`` — through the connector's own HTTP seam
(same auth, limiter and retries). One call per object and side: a handful per historical
sync, nothing per record. Anything it cannot count yields None and the bar shows the records
done without a total, never a made-up number.

"Since a date" is a starting cursor for every side (HubSpot: the modified-date floor;
ConnectWise: ``lastUpdated``; Dynamics: a ``modifiedon ge`` query, as change tracking has no
start date).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from connectors.base import ConnectorError
from connectors.hubspot.connector import MODIFIED_PROPERTY
from connectors.connectwise.conditions import datetime_literal
from connectors.dynamics import odata

log = logging.getLogger(__name__)

SINCE_SUPPORTED = {"hubspot", "connectwise", "dynamics"}


def since_cursor(system: str, since: datetime) -> dict[str, Any] | None:
    """The connector's change cursor positioned at `since`, or None when it cannot start at a time."""
    if system == "hubspot":
        return {"floor": int(since.timestamp() * 1000)}
    if system in ("connectwise", "dynamics"):
        return {"since": since.isoformat().replace("+00:00", "Z")}
    return None


def _hubspot_total(connector, object_type: str, since: datetime | None) -> int | None:
    if object_type not in MODIFIED_PROPERTY:
        return None
    floor = int(since.timestamp() * 1000) if since else 0
    body = {
        "filterGroups": [{"filters": [{"propertyName": MODIFIED_PROPERTY[object_type], "operator": "GTE", "value": str(floor)}]}],
        "limit": 1,
        "properties": ["hs_object_id"],
    }
    answer, _ = connector._search(object_type, body)
    return int(answer.get("total", 0))


def _connectwise_total(connector, object_type: str, since: datetime | None) -> int | None:
    spec = connector._spec(object_type)
    params = {"conditions": f"lastUpdated >= {datetime_literal(since)}"} if since else {}
    return int(connector.http.request("GET", spec.path + "/count", params=params).json().get("count", 0))


def _dynamics_total(connector, object_type: str, since: datetime | None) -> int | None:
    table = connector._table(object_type)
    params = {"$count": "true", "$top": "1", "$select": table.object_type.primary_key}
    if since:
        params["$filter"] = f"modifiedon ge {odata.quote(since)}"
    body = connector.http.request("GET", f"/{table.object_type.name}", params=params).json()
    return int(body["@odata.count"]) if "@odata.count" in body else None


COUNTERS = {"hubspot": _hubspot_total, "connectwise": _connectwise_total, "dynamics": _dynamics_total}


def count_records(connection, object_type: str, since: datetime | None = None) -> int | None:
    counter = COUNTERS.get(connection.system)
    if counter is None:
        return None
    try:
        connector = connection.connector()
    except ConnectorError:
        return None
    try:
        return counter(connector, object_type, since)
    except (ConnectorError, AttributeError, KeyError, ValueError, TypeError, ImportError) as exc:
        log.info("could not count %s %s: %s", connection.system, object_type, exc)
        return None
    finally:
        connector.close()
