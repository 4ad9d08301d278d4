"""The OpenAPI schemas of the two small languages in mapping bodies: filters (mappings/filters.py)
and match rules (mappings/match_rules.py). They say everything JSON Schema can about them: the
keys, the operators and normalisers, which operators need a value or a list, the nesting depth,
the bounds on sizes, a phone key's country, a key that is not links alone. So a request the schema
allows is well formed; one the validation still refuses breaks a rule of the tenant's own
configuration (a field its system does not have, an operator or normaliser that does not fit the
field's type, a HubSpot list it does not have, a field pair named twice in one key: no schema can
say these) and is answered 422,
documented on the operations that take these bodies (syncsmart.api.errors)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field

from mappings import filters, match_rules
from mappings.normalisers import LINK, NORMALISER_CHOICES
from syncsmart.api.strict import JSONArrayField, JSONObjectField

NO_NUL = "^[^\\u0000]*$"
# A name with something besides white space in it (match rules trim their names).
NOT_BLANK = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"
REF = "#/components/schemas/"
FILTER_GROUP = "FilterGroup"
MATCH_RULES = "MatchRules"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF + name}


def _scalars() -> list[dict[str, Any]]:
    text = {"type": "string", "maxLength": filters.MAX_VALUE_CHARS, "pattern": NO_NUL, "nullable": True}
    return [text, {"type": "number"}, {"type": "boolean"}]


def _condition(operators: list[str], value: dict[str, Any], value_required: bool) -> dict[str, Any]:
    field = {"type": "string", "minLength": 1, "maxLength": filters.MAX_FIELD_CHARS, "pattern": NO_NUL}
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["field", "operator", "value"] if value_required else ["field", "operator"],
        "properties": {
            "field": {**field, "not": {"enum": [filters.LIST_FIELD]}},  # the inclusion lists' pseudo-field
            "operator": {"type": "string", "enum": operators},
            "value": value,
        },
    }


def _list_condition() -> dict[str, Any]:
    """An inclusion list: {"field": "@hubspot_list", "operator": "in_list", "value": "<list name>"}."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["field", "operator", "value"],
        "properties": {
            "field": {"type": "string", "enum": [filters.LIST_FIELD]},
            "operator": {"type": "string", "enum": [filters.LIST_OPERATOR]},
            "value": {"type": "string", "maxLength": filters.MAX_VALUE_CHARS, "pattern": NOT_BLANK},
            "list_id": {"type": "string", "maxLength": filters.MAX_FIELD_CHARS, "pattern": NO_NUL, "nullable": True},
        },
    }


def filter_components() -> dict[str, dict[str, Any]]:
    """FilterGroup (the stored filter, {} = everything passes), the nested groups it may hold down to
    mappings.filters.MAX_DEPTH, and one condition."""
    value_list = {"type": "array", "maxItems": filters.MAX_LIST_VALUES, "items": {"anyOf": _scalars()}}
    value = {"anyOf": [*_scalars(), value_list]}
    special = filters.NO_VALUE_OPERATORS | filters.LIST_OPERATORS | {filters.LIST_OPERATOR}
    others = [op for op in filters.OPERATORS if op not in special]
    components = {
        "FilterCondition": {
            "description": "field – operator – value; is_empty / is_not_empty take no value, in / not_in a list, "
            'in_list (on the field "@hubspot_list") the name of a HubSpot list.',
            "anyOf": [
                _condition(others, value, value_required=True),
                _condition(sorted(filters.LIST_OPERATORS), value_list, value_required=True),
                _condition(sorted(filters.NO_VALUE_OPERATORS), value, value_required=False),
                _list_condition(),
            ],
        }
    }
    for depth in range(filters.MAX_DEPTH, -1, -1):
        name = FILTER_GROUP if depth == 0 else f"{FILTER_GROUP}{depth}"
        items = [_ref("FilterCondition")] + ([_ref(f"{FILTER_GROUP}{depth + 1}")] if depth < filters.MAX_DEPTH else [])
        group: dict[str, Any] = {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "match": {"type": "string", "enum": ["all", "any"]},
                "conditions": {"type": "array", "maxItems": filters.MAX_CONDITIONS, "items": {"anyOf": items}},
            },
        }
        if depth:
            group["required"] = ["conditions"]  # a nested group is told from a condition by its conditions
        else:
            group["description"] = (
                'All or any of the conditions (and nested groups) pass; {} lets every record through. E.g. {"match": '
                '"all", "conditions": [{"field": "lifecyclestage", "operator": "eq", "value": "customer"}]}.'
            )
        components[name] = group
    return components


def _key_field(normalisers: list[str], country: dict[str, Any]) -> dict[str, Any]:
    name = {"type": "string", "maxLength": match_rules.MAX_NAME_LENGTH, "pattern": NOT_BLANK}
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["hubspot", "other", "normaliser"],
        "properties": {
            "hubspot": name,
            "other": name,
            "normaliser": {"type": "string", "enum": normalisers},
            "country": country,
        },
    }


def match_rule_components() -> dict[str, dict[str, Any]]:
    """MatchRules: up to MAX_KEYS keys, each 1–MAX_FIELDS_PER_KEY field pairs, not links alone."""
    others = [n for n in NORMALISER_CHOICES if n != "phone"]
    link_only = {"type": "object", "required": ["normaliser"], "properties": {"normaliser": {"enum": [LINK]}}}
    return {
        "MatchKeyField": {
            "description": "A field on each side and how their values compare; a phone pair may name a country (US).",
            "anyOf": [
                _key_field(["phone"], {"type": "string", "maxLength": 2, "pattern": "^([A-Za-z]{2})?$"}),
                _key_field(others, {"type": "string", "maxLength": 0}),
            ],
        },
        "MatchKey": {
            "type": "object",
            "additionalProperties": False,
            "required": ["fields"],
            "properties": {
                "fields": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": match_rules.MAX_FIELDS_PER_KEY,
                    "items": _ref("MatchKeyField"),
                    # A linked record alone does not identify a record: a key needs a value field.
                    "not": {"type": "array", "items": link_only},
                }
            },
        },
        MATCH_RULES: {
            "type": "array",
            "maxItems": match_rules.MAX_KEYS,
            "items": _ref("MatchKey"),
            "description": 'Ordered match keys, first wins: [{"fields": [{"hubspot": "email", "other": "email", '
            '"normaliser": "email"}]}]. Normalisers: ' + ", ".join(NORMALISER_CHOICES) + ".",
        },
    }


@extend_schema_field(_ref(FILTER_GROUP))
class FilterGroupField(JSONObjectField):
    """A filter group; mappings.filters validates it (the UI's words), its schema is FilterGroup."""


@extend_schema_field(_ref(MATCH_RULES))
class MatchRulesField(JSONArrayField):
    """Match keys; mappings.match_rules validates them (the UI's words), their schema is MatchRules."""


def add_body_schemas(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the filter and match-rule components the fields name."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(filter_components())
    schemas.update(match_rule_components())
    return result
