"""Request bodies take the JSON type their schema names, nothing DRF would coerce into it.

DRF's fields are lenient for HTML forms: a boolean takes 0, "yes" or "false", a text field takes
7 (as "7"), a number takes "7". The API reads JSON only (syncsmart.api.parsers), and its OpenAPI
schema promises a boolean, a string, an integer: a value of another JSON type is refused (400)
before DRF's own parsing, so what the schema says is what the API accepts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

INTEGER_PKS = (models.AutoField, models.BigAutoField, models.IntegerField)
WRONG_TYPE = "Must be {expected}, not {given}."
JSON_NAMES = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "an array", dict: "an object"}


def expected_json_type(field: serializers.Field) -> tuple[type, ...] | None:
    """The Python types json.loads gives for the JSON type the field's schema names (None: any)."""
    if isinstance(field, (JSONObjectField, JSONArrayField)):
        return field.json_types
    if isinstance(field, serializers.BooleanField):
        return (bool,)
    if isinstance(field, (serializers.IntegerField,)):
        return (int,)
    if isinstance(field, (serializers.FloatField, serializers.DecimalField)):
        return (int, float)
    if isinstance(field, (serializers.ListField, serializers.MultipleChoiceField, serializers.ManyRelatedField)):
        return (list,)
    if isinstance(field, serializers.DictField):
        return (dict,)
    if isinstance(field, serializers.PrimaryKeyRelatedField):
        pk = field.get_queryset().model._meta.pk if field.queryset is not None else None
        return (int,) if isinstance(pk, INTEGER_PKS) else (str,)
    if isinstance(field, serializers.ChoiceField):
        return (str,) if all(isinstance(key, str) for key in field.choices) else None
    if isinstance(field, (serializers.CharField, serializers.UUIDField, serializers.DateField, serializers.DateTimeField)):
        return (str,)
    return None  # JSONField and the rest: their own validation


@extend_schema_field({"type": "object"})
class JSONObjectField(serializers.JSONField):
    """A JSON object whose inside the models validate (a filter group); never null."""

    json_types = (dict,)


@extend_schema_field({"type": "array", "items": {"type": "object"}})
class JSONArrayField(serializers.JSONField):
    """A JSON array of objects the models validate (match keys); never null."""

    json_types = (list,)


def type_problem(field: serializers.Field, value: Any) -> str | None:
    expected = expected_json_type(field)
    if value is None or expected is None:
        return None  # null is the field's allow_null to judge
    # bool is an int in Python, never in JSON.
    if not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected):
        names = sorted({JSON_NAMES[t] for t in expected})
        return WRONG_TYPE.format(expected=" or ".join(names), given=JSON_NAMES.get(type(value), "null"))
    child = getattr(field, "child", None)
    if isinstance(child, serializers.Field) and isinstance(value, (list, dict)):
        items = value.values() if isinstance(value, dict) else value
        return next((problem for item in items if (problem := type_problem(child, item))), None)
    return None


def holds_nul(value: Any) -> bool:
    """A NUL character in any text or key inside the value (PostgreSQL stores none, jsonb included)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(holds_nul(key) or holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(holds_nul(item) for item in value)
    return False


def nul_problem(value: Any) -> str | None:
    return "Text may not contain NUL characters." if holds_nul(value) else None


# Mixed into a request-body serializer: every field's value has its JSON type (a read-only one
# too, e.g. a mapping's integration on PATCH: ignored, but the schema still names its type).
# (A comment, not a docstring: drf-spectacular would show it as every such body's description.)
class StrictJSONTypes:
    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            errors = {}
            for name, field in self.fields.items():
                if name in data and (problem := type_problem(field, data[name]) or nul_problem(data[name])):
                    errors[name] = [problem]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


# Text never holds a NUL character (DRF refuses it: PostgreSQL cannot store one); the schema says so.
NO_NUL = "^[^\\u0000]*$"


def _forbid_nul(schema: dict[str, Any]) -> None:
    if schema.get("type") == "string" and not ({"format", "enum", "pattern"} & set(schema)) and not schema.get("readOnly"):
        schema["pattern"] = NO_NUL
    for child in (schema.get("properties") or {}).values():
        _forbid_nul(child)
    if isinstance(schema.get("items"), dict):
        _forbid_nul(schema["items"])
    if isinstance(schema.get("additionalProperties"), dict):
        _forbid_nul(schema["additionalProperties"])


def text_without_nul(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: request bodies' and query parameters' text fields
    carry the pattern that says they hold no NUL character."""
    for name, schema in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):
            _forbid_nul(schema)
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if parameter.get("in") == "query" and isinstance(parameter.get("schema"), dict):
                    _forbid_nul(parameter["schema"])
    return result
