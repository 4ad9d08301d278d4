"""Can this field's value go into that field? Checked when a field mapping is saved, with
messages a customer understands (no type names from our code, no stack traces)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connectors.base import FieldType
from syncsmart.core.choices import Side

if TYPE_CHECKING:
    from mappings.models import FieldMapping

T = FieldType
TEXTUAL = {T.STRING, T.TEXT, T.EMAIL, T.PHONE}
DATES = {T.DATE, T.DATETIME}
FRIENDLY = {
    T.STRING: "text",
    T.TEXT: "long text",
    T.NUMBER: "number",
    T.BOOL: "yes/no",
    T.DATE: "date",
    T.DATETIME: "date and time",
    T.ENUM: "dropdown",
    T.EMAIL: "e-mail",
    T.PHONE: "phone number",
    T.REFERENCE: "linked record",
    T.OWNER: "owner / user",
}


def _friendly(kind: FieldType) -> str:
    return FRIENDLY.get(kind, kind.value)


def known_type(value: str) -> FieldType | None:
    """The field type named by a stored type string, or None when it is blank or unknown."""
    return _as_type(value)


def _as_type(value: str) -> FieldType | None:
    try:
        return FieldType(value) if value else None
    except ValueError:
        return None


def flow_problem(
    source: FieldType,
    target: FieldType,
    *,
    source_name: str,
    target_name: str,
    transform: str = "none",
    value_map: dict[str, Any] | None = None,
) -> str | None:
    """None when values of `source` can be written into `target`; else the reason, in words."""
    if transform == "domain" and not {source, target} <= {T.STRING, T.TEXT}:
        return (
            f"“{source_name}” ({_friendly(source)}) → “{target_name}” ({_friendly(target)}): the web domain ↔ URL "
            "transform needs a text field on both sides."
        )
    if source == target or (source in TEXTUAL and target in TEXTUAL):
        return None
    where = f"“{source_name}” ({_friendly(source)}) cannot be written into “{target_name}” ({_friendly(target)})"
    if {source, target} & DATES and {source, target} & {T.NUMBER}:
        return f"{where}: a date and a number mean different things. Pick a date field on both sides."
    if source in DATES and target in DATES:
        return None
    if target == T.ENUM:
        if source in TEXTUAL | {T.NUMBER, T.BOOL} and value_map:
            return None
        return (
            f"{where}: free text may not match any option of the dropdown. Add a value map that says "
            "which option each text value becomes, or pick a dropdown field."
        )
    if T.REFERENCE in (source, target) or T.OWNER in (source, target):
        return f"{where}: a linked record or owner can only be mapped to the same kind of field on the other side."
    if target in TEXTUAL:
        return None  # numbers, yes/no, dates and dropdown labels all read fine as text
    advice = _convert_advice(source, target)
    if advice is None:
        return f"{where}."
    return None if transform == "convert" else f"{where}: {advice}"


def _convert_advice(source: FieldType, target: FieldType) -> str | None:
    """What "Convert type" does for a pair it can convert (text to number, yes/no, date); None otherwise."""
    if target == T.NUMBER and source in TEXTUAL | {T.BOOL}:
        return "text is not always a number. Choose “Convert type” to convert where it can, or pick a number field."
    if target == T.BOOL and source in TEXTUAL | {T.NUMBER, T.ENUM}:
        return "choose “Convert type” to turn yes/no, true/false and 1/0 into a yes/no value."
    if target in DATES and source in TEXTUAL:
        return "choose “Convert type” to read dates written as text (YYYY-MM-DD)."
    return None


def compatibility_problems(mapping: FieldMapping) -> list[str]:
    """Every reason this mapping cannot work, one per direction it flows in."""
    hub, other = _as_type(mapping.hubspot_type), _as_type(mapping.other_type)
    if hub is None or other is None:
        return []  # unknown field types (schema not discovered yet): checked again at run time
    problems = []
    flows = [
        (Side.OTHER, hub, other, mapping.hubspot_field, mapping.other_field),
        (Side.HUBSPOT, other, hub, mapping.other_field, mapping.hubspot_field),
    ]
    for target_side, source, target, source_name, target_name in flows:
        if not mapping.flows_to(target_side):
            continue
        problem = flow_problem(
            source,
            target,
            source_name=source_name,
            target_name=target_name,
            transform=mapping.transform,
            value_map=mapping.value_map,
        )
        if problem and problem not in problems:
            problems.append(problem)
    return problems


def default_transform(hubspot_type: str, other_type: str) -> str:
    """The transform a new mapping gets from its field types."""
    kinds = {_as_type(hubspot_type), _as_type(other_type)}
    if kinds == {T.ENUM}:
        return "dropdown"
    if kinds == {T.OWNER}:
        return "owner"
    if kinds == {T.REFERENCE}:
        return "association"
    if len(kinds) == 2 and None not in kinds:
        return "convert"
    return "none"
