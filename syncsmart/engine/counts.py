"""How many records a historical sync will read, for its progress bar, and where it starts —
both answered by the connector (`Connector.count_records`, `Connector.cursor_at`).

One count call per object and side: a handful per historical sync, nothing per record. Anything
that cannot be counted yields None and the bar shows the records done without a total, never a
made-up number.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from connectors.base import ConnectorError
from connectors.registry import system

log = logging.getLogger(__name__)


def since_cursor(system_key: str, since: datetime) -> dict[str, Any] | None:
    """The system's change cursor positioned at `since`, or None when its feed cannot start at a time."""
    return system(system_key).connector_class.cursor_at(since)


def count_records(connection, object_type: str, since: datetime | None = None) -> int | None:
    """The vendor's count of the records a read brings; None when it cannot say (or fails)."""
    try:
        connector = connection.connector()
    except ConnectorError:
        return None
    try:
        return connector.count_records(object_type, since)
    except ConnectorError as exc:
        log.info("could not count %s %s: %s", connection.system, object_type, exc)
        return None
    finally:
        connector.close()
