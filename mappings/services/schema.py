"""The live schema as the editor shows it: discovered fields with their types and dropdown
options, read from Connection.schema_cache (filled by tenants.connections.refresh_schema), and
the preview of how each dropdown option will cross over.

The preview follows the documented label algorithm (docs/design.md §4, "Dropdowns") that the engine
applies at run time, so what the customer sees here is what the run will do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from mappings.compat import FRIENDLY, _as_type
from mappings.forms import REVERSE_MAP_PREFIX, VALUE_MAP_PREFIX
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
    # For an unmatched value: the option the label algorithm finds once case, spaces and
    # punctuation are ignored (or a label that starts with the other), offered in the value map.
    suggested_value: str = ""
    suggested_label: str = ""

    @property
    def matched(self) -> bool:
        return bool(self.target_value)


@dataclass
class DropdownPreview:
    source_side: str
    source_field: str
    target_field: str
    rows: list[OptionPreview] = field(default_factory=list)
    target_options: tuple[tuple[str, str], ...] = ()  # (value, label), what a value can be mapped to
    target_field_label: str = ""

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


def _loose(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())


def suggest_option(label: str, value: str, options: tuple[tuple[str, str], ...]) -> tuple[str, str] | None:
    """The label algorithm loosened for a suggestion: an option whose label (or value) equals the
    source label or value once case, spaces and punctuation are ignored, else the one option
    whose label starts with it (or it with the label). Only a suggestion: the customer confirms."""
    wanted = [w for w in (_loose(label), _loose(value)) if w]
    for key in wanted:
        for option_value, option_label in options:
            if key in (_loose(option_label), _loose(option_value)):
                return option_value, option_label
    for key in wanted:
        near = [o for o in options if _loose(o[1]) and (_loose(o[1]).startswith(key) or key.startswith(_loose(o[1])))]
        if len(near) == 1:
            return near[0]
    return None


def _suggest(preview: DropdownPreview) -> DropdownPreview:
    for row in preview.unmatched:
        hit = suggest_option(row.source_label, row.source_value, preview.target_options)
        if hit is not None:
            row.suggested_value, row.suggested_label = hit
    return preview


def preview_to_other(hub: SchemaField, other: SchemaField) -> DropdownPreview:
    """HubSpot → other: other option whose label equals the HubSpot value, else the HubSpot label;
    else the field is not sent and the value is reported as unmatched."""
    labels = _by_label(other.options)
    preview = DropdownPreview(Side.HUBSPOT, hub.name, other.name, target_options=other.options, target_field_label=other.label)
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
    return _suggest(preview)


def preview_to_hubspot(other: SchemaField, hub: SchemaField) -> DropdownPreview:
    """Other → HubSpot: HubSpot option whose label equals the other label, else whose value
    equals it; else a new HubSpot option is added with label and value equal to the other label."""
    labels, values = _by_label(hub.options), _by_value(hub.options)
    preview = DropdownPreview(Side.OTHER, other.name, hub.name, target_options=hub.options, target_field_label=hub.label)
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
    return _suggest(preview)


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


@dataclass
class ValueMapRow:
    """One unmatched dropdown value in the editor's value-map table."""

    preview: DropdownPreview
    option: OptionPreview
    chosen: str  # the option value picked by hand (or suggested), "" for none
    suggested: bool  # chosen is the suggestion, not yet the customer's own pick

    @property
    def input_name(self) -> str:
        prefix = VALUE_MAP_PREFIX if self.preview.source_side == Side.HUBSPOT else REVERSE_MAP_PREFIX
        return prefix + self.option.source_value


def sources_by_target(previews: list[DropdownPreview], value_map: dict[str, str]) -> dict[str, list[OptionPreview]]:
    """HubSpot → other, as it will run: {other value: the HubSpot options that become it}, each
    option by hand (value_map) or else by the label algorithm."""
    to_other = next((p for p in previews if p.source_side == Side.HUBSPOT), None)
    found: dict[str, list[OptionPreview]] = {}
    for row in to_other.rows if to_other is not None else []:
        target = str((value_map or {}).get(row.source_value) or row.target_value or "")
        if target:
            found.setdefault(target, []).append(row)
    return found


def shared_targets(previews: list[DropdownPreview], value_map: dict[str, str]) -> dict[str, list[OptionPreview]]:
    """The other system's values two or more HubSpot values become: the way back must choose one."""
    return {target: rows for target, rows in sources_by_target(previews, value_map).items() if len(rows) > 1}


def value_map_rows(
    previews: list[DropdownPreview],
    value_map: dict[str, str],
    *,
    suggest: bool = True,
    to_hubspot: dict[str, str] | None = None,
) -> list[ValueMapRow]:
    """The rows of the value-map table: every value the label algorithm leaves unmatched, with the
    customer's pick from that direction's map (`value_map` toward the other system, `to_hubspot`
    toward HubSpot; None: value_map both ways), or else the suggestion preselected."""
    rows = []
    shared = shared_targets(previews, value_map) if len(previews) == 2 else {}
    for preview in previews:
        toward_other = preview.source_side == Side.HUBSPOT
        chosen_map = value_map if toward_other or to_hubspot is None else to_hubspot
        # The way back also asks about a value two HubSpot values were mapped onto (it can become one).
        shown = [o for o in preview.rows if not o.matched or (not toward_other and o.source_value in shared)]
        for option in shown:
            picked = (chosen_map or {}).get(option.source_value, "")
            chosen = picked or ((option.suggested_value or option.target_value) if suggest else "")
            rows.append(ValueMapRow(preview, option, chosen, suggested=bool(chosen) and not picked))
    return rows
