"""The safe first day of an integration: at install and at the sandbox → production switch,
discover both schemas (and refuse to go on while one is missing), and make the first run link
only wherever both sides already hold records.

Used by the switch's steps (discover_schemas, link_only) and by the installer's Finish.
"""

from __future__ import annotations

from typing import Any

from connectors.base import ConnectorError
from mappings import schema_checks
from mappings.models import Integration, ObjectMapping
from syncsmart.core.choices import Side


class SchemasMissing(Exception):
    """A mapped object's fields could not be discovered; the message names them."""


def discover_schemas(integration: Integration, actor: Any) -> dict[str, Any]:
    """Refresh both connections' fields and check the mappings; raise while any is missing."""
    report = schema_checks.refresh_fields(integration, actor)
    if not report.complete:
        raise SchemasMissing(
            "The fields of " + ", ".join(report.missing) + " could not be discovered. Check the connection "
            "(it must be able to read them), then continue: nothing syncs until both schemas are known."
        )
    return report.as_dict()


def holds_records(connection, object_type: str) -> bool:
    """True when the system holds at least one record of the type. A system we cannot ask is
    taken to hold records: the caller then links only, which creates nothing."""
    try:
        connector = connection.connector()
    except ConnectorError:
        return True
    try:
        page = connector.read_changes(object_type, None, 1)
        return any(not r.deleted for r in page.records) or page.has_more
    except ConnectorError:
        return True
    finally:
        connector.close()


def link_only_where_both_hold_records(integration: Integration) -> dict[str, str]:
    """Set "link only" on every enabled, creating object mapping whose objects hold records on
    both sides. Returns {mapping id: the policy it had}, for an undo."""
    before: dict[str, str] = {}
    for mapping in ObjectMapping.objects.filter(integration=integration, enabled=True):
        if mapping.create_policy != ObjectMapping.CreatePolicy.CREATE:
            continue
        if holds_records(integration.hubspot_connection, mapping.object_for(Side.HUBSPOT)) and holds_records(
            integration.other_connection, mapping.object_for(Side.OTHER)
        ):
            before[str(mapping.pk)] = mapping.create_policy
            ObjectMapping.objects.filter(pk=mapping.pk).update(create_policy=ObjectMapping.CreatePolicy.LINK_ONLY)
    return before


def restore_create_policies(before: dict[str, str]) -> None:
    for mapping_id, policy in before.items():
        ObjectMapping.objects.filter(pk=int(mapping_id)).update(create_policy=policy)
