"""Refresh fields: discover both systems' schemas again and say, mapping by mapping, what no
longer fits. Part of connecting, of the sandbox → production switch, and the "Refresh fields"
button of the mapping editor and the staff console.

A field that disappeared, or whose type changed into one the other side cannot take, marks its
field mapping broken with a message (runs leave it out instead of failing every record). A type
that changed but still fits is taken over; a mapping that fits again is mended.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mappings.compat import FRIENDLY, flow_problem, known_type
from mappings.models import FieldMapping, Integration
from syncsmart.core.choices import Side
from tenants import connections as connector_actions
from tenants.actions import audit


@dataclass
class SchemaReport:
    discovered: dict[str, dict[str, int] | None] = field(default_factory=dict)  # side -> {object: fields} or None
    missing: list[str] = field(default_factory=list)  # "HubSpot contacts", ... mapped objects with no schema
    broken: list[str] = field(default_factory=list)  # "Contacts: email ↔ email — reason"
    mended: int = 0
    types_updated: int = 0

    @property
    def complete(self) -> bool:
        return not self.missing

    def as_dict(self) -> dict[str, Any]:
        return {
            "discovered": self.discovered,
            "missing": self.missing,
            "broken": self.broken,
            "mended": self.mended,
            "types_updated": self.types_updated,
        }


def _types(connection, object_type: str) -> dict[str, str] | None:
    fields = (connection.schema_cache or {}).get(object_type)
    if not fields:
        return None
    return {f["name"]: f.get("type", "") for f in fields if isinstance(f, dict) and "name" in f}


def _friendly(kind: str) -> str:
    known = known_type(kind)
    return FRIENDLY.get(known, kind) if known else (kind or "unknown")


def problem_of(mapping: FieldMapping, hub_types: dict[str, str] | None, other_types: dict[str, str] | None, other_label: str):
    """(reason or "", new hubspot type, new other type) of one field mapping against fresh schemas."""
    new_hub, new_other = mapping.hubspot_type, mapping.other_type
    for system, types, name, attr in (
        ("HubSpot", hub_types, mapping.hubspot_field, "hub"),
        (other_label, other_types, mapping.other_field, "other"),
    ):
        if types is None:
            continue
        if name not in types:
            obj = mapping.object_mapping.object_for(Side.HUBSPOT if attr == "hub" else Side.OTHER)
            return f"{system} {obj} no longer has the field “{name}”.", new_hub, new_other
        if attr == "hub":
            new_hub = types[name]
        else:
            new_other = types[name]
    changed = [
        f"{system} “{name}” changed from {_friendly(old)} to {_friendly(new)}"
        for system, name, old, new in (
            ("HubSpot", mapping.hubspot_field, mapping.hubspot_type, new_hub),
            (other_label, mapping.other_field, mapping.other_type, new_other),
        )
        if old and new and old != new
    ]
    hub, other = known_type(new_hub), known_type(new_other)
    if hub is not None and other is not None:
        for target, source, target_kind, source_name, target_name in (
            (Side.OTHER, hub, other, mapping.hubspot_field, mapping.other_field),
            (Side.HUBSPOT, other, hub, mapping.other_field, mapping.hubspot_field),
        ):
            if not mapping.flows_to(target):
                continue
            problem = flow_problem(
                source,
                target_kind,
                source_name=source_name,
                target_name=target_name,
                transform=mapping.transform,
                value_map=mapping.value_map,
            )
            if problem:
                prefix = ("; ".join(changed) + ": ") if changed else ""
                return prefix + problem, new_hub, new_other
    return "", new_hub, new_other


def check_mappings(integration: Integration) -> SchemaReport:
    """Compare every field mapping with the connections' cached schemas; store what changed."""
    report = SchemaReport()
    hub_conn, other_conn = integration.hubspot_connection, integration.other_connection
    label = integration.other_system_label
    for obj in integration.object_mappings.all():
        hub_types, other_types = _types(hub_conn, obj.hubspot_object), _types(other_conn, obj.other_object)
        if obj.enabled and hub_types is None:
            report.missing.append(f"HubSpot {obj.hubspot_object}")
        if obj.enabled and other_types is None:
            report.missing.append(f"{label} {obj.other_object}")
        for mapping in obj.field_mappings.all():
            reason, new_hub, new_other = problem_of(mapping, hub_types, other_types, label)
            changes: dict[str, Any] = {}
            if reason != mapping.broken_reason:
                changes["broken_reason"] = reason
                report.mended += bool(mapping.broken_reason and not reason)
            if not reason and (new_hub, new_other) != (mapping.hubspot_type, mapping.other_type):
                changes.update(hubspot_type=new_hub, other_type=new_other)
                report.types_updated += 1
            if reason:
                report.broken.append(f"{obj}: {mapping} — {reason}")
            if changes:
                FieldMapping.objects.filter(pk=mapping.pk).update(**changes)
    return report


def refresh_fields(integration: Integration, actor, **connector_kwargs: Any) -> SchemaReport:
    """Discover both connections' fields now, then check every field mapping against them."""
    discovered = {
        Side.HUBSPOT: connector_actions.refresh_schema(integration.hubspot_connection, None, **connector_kwargs),
        Side.OTHER: connector_actions.refresh_schema(integration.other_connection, None, **connector_kwargs),
    }
    integration.hubspot_connection.refresh_from_db()
    integration.other_connection.refresh_from_db()
    report = check_mappings(integration)
    report.discovered = {side: counts for side, counts in discovered.items()}
    audit(
        integration.tenant,
        actor,
        "integration.fields_refreshed",
        integration,
        summary=(
            f"Fields of {integration} refreshed: {len(report.broken)} broken mapping(s), {len(report.missing)} object(s) missing"
        ),
        broken=report.broken[:50],
        missing=report.missing,
    )
    return report
