"""The one validation layer of a customer's mappings and filters. mappings.services.actions runs
it before every save, and both the UI's views and the REST API save only through those actions,
so the same input is refused with the same words wherever it comes from.

Each check returns {form field: [sentences]}; the actions raise it as one ValidationError, which
the UI shows next to the field and the API returns keyed by the same field names (a 400; a 422 for
a filter's problems, which only the tenant's discovered fields show: see `unfit`)."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from connectors import registry
from connectors.base import ConnectorError, FieldType
from mappings import filters
from mappings.compat import _as_type, compatibility_problems
from mappings.models import UNFIT, FieldMapping, ObjectMapping
from mappings.services import hubspot_lists
from mappings.services.schema import SchemaField, dropdown_previews, field_index, shared_targets
from syncsmart.core.choices import Direction, Side

Problems = dict[str, list[str]]

ORDERED_OPERATORS = {"gt", "gte", "lt", "lte"}
TEXT_OPERATORS = {"contains", "not_contains", "starts_with", "ends_with"}
ORDERED_KINDS = {FieldType.NUMBER, FieldType.DATE, FieldType.DATETIME}
NOT_TEXT_KINDS = {FieldType.NUMBER, FieldType.DATE, FieldType.DATETIME, FieldType.BOOL}
FIELD_KEYS = {Side.HUBSPOT: "hubspot_field", Side.OTHER: "other_field"}


def system_label(integration, side: str) -> str:
    return "HubSpot" if side == Side.HUBSPOT else integration.other_system_label


def named(field: SchemaField | None, name: str) -> str:
    """A field as a customer knows it: its label, with the API name only to tell it apart."""
    return f"“{field.label}”" if field is not None and field.label else f"“{name}”"


def operators_for(kind: FieldType | None) -> list[tuple[str, str]]:
    """The filter operators that make sense for a field type (the builder offers only these)."""
    allowed = []
    for key, words in filters.OPERATORS.items():
        if key in ORDERED_OPERATORS and kind not in ORDERED_KINDS:
            continue
        if key in TEXT_OPERATORS and kind in NOT_TEXT_KINDS:
            continue
        if key == filters.LIST_OPERATOR:
            continue  # a list condition is not on a field
        allowed.append((key, words))
    return allowed


# --- field mappings --------------------------------------------------------------------------


def field_mapping_problems(mapping: FieldMapping) -> Problems:
    problems: Problems = {}
    obj = mapping.object_mapping
    twin = FieldMapping.objects.filter(object_mapping=obj, hubspot_field=mapping.hubspot_field, other_field=mapping.other_field)
    if twin.exclude(pk=mapping.pk).exists():
        return {"__all__": ["These two fields are already mapped to each other."]}
    integration = obj.integration
    indexes = {side: field_index(integration.connection_on(side), obj.object_for(side)) for side in (Side.HUBSPOT, Side.OTHER)}
    for side, index in indexes.items():
        name = mapping.field_on(side)
        if index and name not in index:
            problems.setdefault(FIELD_KEYS[side], []).append(
                f"{system_label(integration, side)} has no field “{name}”. Pick one from the list."
            )
    if problems:
        return problems
    compatibility = compatibility_problems(mapping)
    if compatibility:
        problems["__all__"] = compatibility
    if not mapping.enabled:
        return problems
    for target in Direction.flows(mapping.direction):
        clash = _same_target(mapping, target)
        if clash is not None:
            source = Side.OTHER if target == Side.HUBSPOT else Side.HUBSPOT
            target_field = named(indexes[target].get(mapping.field_on(target)), mapping.field_on(target))
            source_field = named(indexes[source].get(clash.field_on(source)), clash.field_on(source))
            problems.setdefault(FIELD_KEYS[target], []).append(
                f"{system_label(integration, target)} field {target_field} "
                f"already receives {system_label(integration, source)} {source_field}. A field takes its value from "
                "one mapping only: remove that mapping first, or pick another field."
            )
    problems.update(unmatched_value_problems(mapping, indexes))
    problems.update(conflict_review_problems(mapping))
    return problems


def conflict_review_problems(mapping: FieldMapping) -> Problems:
    """Conflict review holds a field both sides changed: only a field that syncs both ways can be."""
    if mapping.conflict_review and mapping.direction != Direction.BOTH:
        return {
            "conflict_review": [
                "Conflict review needs the field to sync both ways: a field that flows one way never conflicts. "
                "Set its direction to ↔ or turn review off."
            ]
        }
    return {}


def _same_target(mapping: FieldMapping, target: str) -> FieldMapping | None:
    siblings = FieldMapping.objects.filter(object_mapping=mapping.object_mapping, enabled=True).exclude(pk=mapping.pk)
    name = mapping.field_on(target)
    for other in siblings:
        if other.field_on(target) == name and other.flows_to(target):
            return other
    return None


def unmatched_value_problems(mapping: FieldMapping, indexes: dict[str, dict[str, SchemaField]]) -> Problems:
    """A dropdown mapping whose options do not all match by label is refused unless each unmatched
    value is mapped by hand (value_map, onto an option the target field has) or the customer
    accepted what the run does with the rest (toward HubSpot: add it as a new option; toward the
    other system: leave the field empty)."""
    # The default set's dropdown pairs are the product's documented choice (DESIGN.md,
    # "Dropdowns"), previewed on the editor; a customer's own mapping must choose.
    if mapping.is_default:
        return {}
    hub, other = indexes[Side.HUBSPOT].get(mapping.hubspot_field), indexes[Side.OTHER].get(mapping.other_field)
    previews = dropdown_previews(hub, other, mapping.direction)
    wrong = _value_map_misfits(mapping, previews) + _way_back_unchosen(mapping, previews)
    if wrong:
        return {"value_map": wrong}
    if mapping.accept_unmatched:
        return {}
    missing = [
        row.source_label or row.source_value
        for p in previews
        for row in p.unmatched
        if row.source_value not in mapping.map_toward(_target_of(p))
    ]
    if not missing:
        return {}
    shown = ", ".join(f"“{m}”" for m in missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
    return {
        "value_map": [
            f"{len(missing)} dropdown value{'s have' if len(missing) != 1 else ' has'} no matching option: {shown}. "
            "Map each by hand in the value table, or choose what happens to them (add as a new option in HubSpot / "
            "leave the field empty in the other system)."
        ]
    }


def _target_of(preview) -> str:
    return Side.OTHER if preview.source_side == Side.HUBSPOT else Side.HUBSPOT


def _value_map_misfits(mapping: FieldMapping, previews: list) -> list[str]:
    """Hand-mapped values whose chosen option the target dropdown does not have."""
    wrong = []
    for preview in previews:
        options = dict(preview.target_options)
        value_map = mapping.map_toward(_target_of(preview))
        for row in preview.rows:
            chosen = value_map.get(row.source_value)
            if chosen is not None and str(chosen) not in options:
                wrong.append(
                    f"“{row.source_label or row.source_value}” is mapped to “{chosen}”, which is not an option of "
                    f"“{preview.target_field_label}”. Pick one of its options."
                )
    return wrong


def _way_back_unchosen(mapping: FieldMapping, previews: list) -> list[str]:
    """Two HubSpot values that become one value of the other system (by hand or by label): on the
    way back that value can become only one of them, so a two-way mapping must say which
    (value_map_to_hubspot)."""
    if mapping.direction != Direction.BOTH or len(previews) != 2:
        return []
    targets = dict(next(p for p in previews if p.source_side == Side.HUBSPOT).target_options)
    back = mapping.map_toward(Side.HUBSPOT)
    problems = []
    for target, rows in sorted(shared_targets(previews, mapping.value_map or {}).items()):
        if target in back:
            continue
        names = " and ".join(f"“{r.source_label or r.source_value}”" for r in sorted(rows, key=lambda r: r.source_label))
        shown = targets.get(target, target)
        problems.append(
            f"{names} {'both' if len(rows) == 2 else 'all'} become “{shown}”: choose which HubSpot value “{shown}” "
            "becomes on the way back."
        )
    return problems


# --- ids written back ------------------------------------------------------------------------

WRITE_BACK_KEYS = {Side.HUBSPOT: "write_back_field_hubspot", Side.OTHER: "write_back_field_other"}


def write_back_field_problems(mapping: ObjectMapping) -> Problems:
    """A name for an id field the system would refuse, or a field named on an object that cannot
    carry one (the run creates the field under this name: refused here, not at the vendor)."""
    problems: Problems = {}
    integration = mapping.integration
    for side, key in WRITE_BACK_KEYS.items():
        name = getattr(mapping, key) or ""
        if not name:
            continue
        connector = registry.system(integration.connection_on(side).system).connector_class
        if mapping.object_for(side) not in connector.id_field_objects:
            problem = f"{system_label(integration, side)} {mapping.object_for(side)} cannot carry the other system's id."
        else:
            problem = connector.id_field_problem(name)
        if problem:
            problems.setdefault(key, []).append(problem)
    return problems


# --- filters ---------------------------------------------------------------------------------


def filter_problems(mapping: ObjectMapping) -> Problems:
    """Conditions on fields the source system does not have, or operators that do not fit the type."""
    problems: Problems = {}
    integration = mapping.integration
    for key, source in (("filter_to_other", Side.HUBSPOT), ("filter_to_hubspot", Side.OTHER)):
        index = field_index(integration.connection_on(source), mapping.object_for(source))
        if not index:
            continue  # fields not discovered yet: the run checks them
        for condition in _conditions(getattr(mapping, key) or {}):
            if condition.get("operator") == filters.LIST_OPERATOR:
                continue  # list_problems checks lists
            name, operator = condition.get("field", ""), condition.get("operator", "")
            field = index.get(name)
            if field is None:
                problems.setdefault(key, []).append(
                    f"{system_label(integration, source)} has no field “{name}”. Pick one from the list."
                )
            elif operator not in dict(operators_for(_as_type(field.type))):
                problems.setdefault(key, []).append(
                    f"“{filters.OPERATORS.get(operator, operator)}” does not fit {named(field, name)}, a "
                    f"{field.type_label} field."
                )
    return problems


def _conditions(group: dict) -> list[dict]:
    found = []
    for condition in group.get("conditions") or []:
        found.extend(_conditions(condition) if "conditions" in condition else [condition])
    return found


def list_problems(mapping: ObjectMapping) -> Problems:
    """Inclusion lists: a list condition names a HubSpot list of the mapping's HubSpot object that
    exists now. Each one found is resolved in place (its id, and its name as HubSpot spells it),
    which is what a run tests; one HubSpot does not have is refused, naming the lists it has."""
    problems: Problems = {}
    if filters.list_conditions(mapping.filter_to_hubspot or {}):
        problems["filter_to_hubspot"] = [
            "A HubSpot list filters the records HubSpot sends: put it in the HubSpot → "
            f"{mapping.integration.other_system_label} filter."
        ]
    conditions = filters.list_conditions(mapping.filter_to_other or {})
    if not conditions:
        return problems
    connection, object_type = mapping.integration.hubspot_connection, mapping.hubspot_object
    try:
        for condition in conditions:
            found = hubspot_lists.list_named(connection, object_type, condition["value"])
            if found is None:
                known = hubspot_lists.lists_of(connection, object_type, refresh=True)
                message = hubspot_lists.unknown_list_message(object_type, condition["value"], known)
                problems.setdefault("filter_to_other", []).append(message)
            else:
                condition["list_id"], condition["value"] = found.id, found.name
    except ConnectorError as exc:
        problems.setdefault("filter_to_other", []).append(f"Could not look the list up in HubSpot: {exc.message}")
    return problems


def unfit(problems: Problems) -> ValidationError:
    """Problems of well-formed input with the tenant's configuration, as one error whose messages
    carry the UNFIT code (the API's 422)."""
    return ValidationError(
        {key: [ValidationError(message, code=UNFIT) for message in messages] for key, messages in problems.items()}
    )
