"""Named actions on a tenant's connections that call the vendor: test the credentials, refresh the schema.

Both are tolerant of vendor errors: the outcome is recorded on the Connection (status,
last_error) for the customer and staff to see, never raised at the caller. Pass `actor` to
write an audit row (callers that write their own, e.g. the wizard and the staff console, don't).
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from connectors.base import ConnectionTest, ConnectorError, FieldInfo
from connectors.models import Connection
from tenants.actions import audit


def field_as_dict(field: FieldInfo) -> dict[str, Any]:
    """The JSON shape of Connection.schema_cache entries (read by mappings and the UI)."""
    return {
        "name": field.name,
        "label": field.label,
        "type": field.type.value,
        "required": field.required,
        "read_only": field.read_only,
        "options": [{"value": o.value, "label": o.label} for o in field.options],
        "reference_to": field.reference_to or "",
        "description": field.description,
    }


def _audit(connection: Connection, actor: Any, action: str, summary: str, **changes: Any) -> None:
    if actor is None:
        return
    audit(connection.tenant, actor, action, connection, summary=summary, **changes)


def _record_failure(connection: Connection, message: str) -> None:
    # A connector that hit invalid_grant already marked the connection "reconnect needed": keep that.
    connection.record_failure(message, reconnect=connection.status == Connection.Status.RECONNECT_NEEDED)


def test_connection(connection: Connection, actor: Any = None, **connector_kwargs: Any) -> ConnectionTest:
    """Call the vendor with the stored credentials; record success or failure on the connection."""
    try:
        connector = connection.connector(**connector_kwargs)
    except ConnectorError as exc:
        result = ConnectionTest(False, exc.message)
    else:
        try:
            result = connector.test_connection()
        except ConnectorError as exc:
            result = ConnectionTest(False, exc.message)
        finally:
            connector.close()
    if result.ok:
        connection.record_success()
    else:
        _record_failure(connection, result.message)
    _audit(
        connection,
        actor,
        "connection.tested",
        f"{connection} test: {'OK' if result.ok else 'failed — ' + result.message}",
        ok=result.ok,
    )
    return result


def refresh_schema(connection: Connection, actor: Any = None, **connector_kwargs: Any) -> dict[str, int] | None:
    """Fill Connection.schema_cache with discover_fields of every object type.

    Returns {object type: number of fields} for the types refreshed (None when none was). Types
    that fail keep their previously cached fields, and the connection records the failure."""
    try:
        connector = connection.connector(**connector_kwargs)
    except ConnectorError as exc:
        _record_failure(connection, exc.message)
        return None
    cache = dict(connection.schema_cache or {})
    counts: dict[str, int] = {}
    failures: list[str] = []
    try:
        for object_type in connector.object_types():
            try:
                fields = connector.discover_fields(object_type.name)
            except ConnectorError as exc:
                failures.append(f"{object_type.label}: {exc.message}")
                continue
            cache[object_type.name] = [field_as_dict(f) for f in fields]
            counts[object_type.name] = len(fields)
    except ConnectorError as exc:
        failures.append(exc.message)
    finally:
        connector.close()
    if counts:
        connection.schema_cache = cache
        connection.schema_refreshed_at = timezone.now()
        connection.save(update_fields=["schema_cache", "schema_refreshed_at", "updated_at"])
    if failures:
        _record_failure(connection, "Could not read the fields of " + "; ".join(failures))
    else:
        connection.record_success()
    _audit(
        connection,
        actor,
        "connection.schema_refreshed",
        f"Schema of {connection} refreshed: {sum(counts.values())} fields in {len(counts)} object types"
        + (f"; failed: {'; '.join(failures)}" if failures else ""),
        object_types=sorted(counts),
    )
    return counts if counts else None
