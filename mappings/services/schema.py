"""The live schema as the editor shows it: discovered fields with their types and dropdown
options, read from Connection.schema_cache (filled by tenants.connections.refresh_schema), and
the preview of how each dropdown option will cross over.

The preview follows the documented label algorithm (docs/design.md §4, "Dropdowns") that the engine
applies at run time, so what the customer sees here is what the run will do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mappings.compat import FRIENDLY, _as_type
from syncsmart.core.choices import Direction, Side

MAX_RESULTS = 60


@dataclass(frozen=True)
class SchemaField:
    name: str
    label: str
    type: str
    options: tuple[tuple[str, str], ...] = ()  # (value, label)
    read_only: bool = False
    reference_to: str = ""

    @property
    def type_label(self) -> str:
        kind = _as_type(self.type)
        return FRIENDLY.get(kind, self.type or "unknown") if kind else (self.type or "unknown")

    def matches(self, query: str) -> bool:
        q = query.strip().lower()
        return not q or q in self.name.lower() or q in self.label.lower() or q in self.type_label.lower()


def _options(raw: Any) -> tuple[tuple[str, str], ...]:
    options = []
    for option in raw or ():
        if isinstance(option, dict):
            options.append((str(option.get("value", "")), str(option.get("label", option.get("value", "")))))
        elif isinstance(option, (list, tuple)) and len(option) >= 2:
            options.append((str(option[0]), str(option[1])))
    return tuple(options)


def _as_field(raw: dict[str, Any]) -> SchemaField:
    kind = raw.get("type", "")
    kind = getattr(kind, "value", kind)
    return SchemaField(
        name=str(raw["name"]),
        label=str(raw.get("label") or raw["name"]),
        type=str(kind or ""),
        options=_options(raw.get("options")),
        read_only=bool(raw.get("read_only")),
        reference_to=str(raw.get("reference_to") or ""),
    )


def fields_of(connection, object_type: str) -> list[SchemaField]:
    raw = (connection.schema_cache or {}).get(object_type) or []
    fields = [_as_field(f) for f in raw if isinstance(f, dict) and f.get("name")]
    return sorted(fields, key=lambda f: f.label.lower())


def field_index(connection, object_type: str) -> dict[str, SchemaField]:
    return {f.name: f for f in fields_of(connection, object_type)}


def search(connection, object_type: str, query: str, keep: str = "") -> list[SchemaField]:
    """Fields whose name, label or type contains the query; the selected one always stays listed."""
    found = [f for f in fields_of(connection, object_type) if f.matches(query) or f.name == keep]
    return found[:MAX_RESULTS] + [f for f in found[MAX_RESULTS:] if f.name == keep]


@dataclass
class OptionPreview:
    source_value: str
    source_label: str
    target_value: str = ""
    target_label: str = ""
    how: str = ""  # why it matched, or what happens instead

    @property
    def matched(self) -> bool:
        return bool(self.target_value)


@dataclass
class DropdownPreview:
    source_side: str
    source_field: str
    target_field: str
    rows: list[OptionPreview] = field(default_factory=list)

    @property
    def unmatched(self) -> list[OptionPreview]:
        return [r for r in self.rows if not r.matched]

    @property
    def direction_label(self) -> str:
        return "HubSpot → other system" if self.source_side == Side.HUBSPOT else "Other system → HubSpot"


# Exact comparisons, as the engine makes them (syncsmart.engine.transform): "Lead" is not "lead".
def _by_label(options: tuple[tuple[str, str], ...]) -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    for value, label in options:
        found.setdefault(label, (value, label))  # the first option with a label wins, as in the engine
    return found


def _by_value(options: tuple[tuple[str, str], ...]) -> dict[str, tuple[str, str]]:
    return {value: (value, label) for value, label in options}


def preview_to_other(hub: SchemaField, other: SchemaField) -> DropdownPreview:
    """HubSpot → other: other option whose label equals the HubSpot value, else the HubSpot label;
    else the field is not sent and the value is reported as unmatched."""
    labels = _by_label(other.options)
    preview = DropdownPreview(Side.HUBSPOT, hub.name, other.name)
    for value, label in hub.options:
        row = OptionPreview(value, label)
        hit = labels.get(value)
        row.how = "label equals the HubSpot value"
        if hit is None:
            hit = labels.get(label)
            row.how = "label equals the HubSpot label"
        if hit is None:
            row.how = "no option with this label: the field is not sent and the value is reported as unmatched"
        else:
            row.target_value, row.target_label = hit
        preview.rows.append(row)
    return preview


def preview_to_hubspot(other: SchemaField, hub: SchemaField) -> DropdownPreview:
    """Other → HubSpot: HubSpot option whose label equals the other label, else whose value
    equals it; else a new HubSpot option is added with label and value equal to the other label."""
    labels, values = _by_label(hub.options), _by_value(hub.options)
    preview = DropdownPreview(Side.OTHER, other.name, hub.name)
    for value, label in other.options:
        row = OptionPreview(value, label)
        hit = labels.get(label)
        row.how = "label equals the other system's label"
        if hit is None:
            hit = values.get(label)
            row.how = "value equals the other system's label"
        if hit is None:
            row.how = f"no match: a new HubSpot option “{label}” will be added"
        else:
            row.target_value, row.target_label = hit
        preview.rows.append(row)
    return preview


def dropdown_previews(hub: SchemaField | None, other: SchemaField | None, direction: str) -> list[DropdownPreview]:
    # Direction.flows names the TARGET side of each flow the direction allows.
    if hub is None or other is None or not hub.options or not other.options:
        return []
    flows = Direction.flows(direction)
    previews = []
    if Side.OTHER in flows:
        previews.append(preview_to_other(hub, other))
    if Side.HUBSPOT in flows:
        previews.append(preview_to_hubspot(other, hub))
    return previews
