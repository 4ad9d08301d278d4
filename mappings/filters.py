"""Declarative record filters: data a UI can edit, evaluated here, never code, never eval.

A filter is a group::

    {"match": "all" | "any",
     "conditions": [{"field": "lifecyclestage", "operator": "eq", "value": "customer"},
                    {"match": "any", "conditions": [...]}]}

An empty dict (or a group without conditions) lets every record through. Comparisons of
text are case-insensitive, because customers type values the way they read them.

The second half: the filter builder's form encoding, and the live count of records that pass.

The builder edits two levels: the filter is a group of groups ("all" / "any" of the groups),
each group a list of field – operator – value conditions ("all" / "any" of them). That is
the declarative data the first half evaluates; a stored filter with plain conditions at
the top is shown as its first group, which means the same thing.

Form fields: ``{p}-match``, ``{p}-g{i}-match``, ``{p}-g{i}-c{j}-field|op|value``; the pressed
button's ``op`` says what to do: ``add-group``, ``add-cond-{i}``, ``del-{i}-{j}``, ``save``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

OPERATORS: dict[str, str] = {
    "eq": "is",
    "neq": "is not",
    "contains": "contains",
    "not_contains": "does not contain",
    "starts_with": "starts with",
    "ends_with": "ends with",
    "in": "is one of",
    "not_in": "is none of",
    "is_empty": "is empty",
    "is_not_empty": "is not empty",
    "gt": "is greater than",
    "gte": "is at least",
    "lt": "is less than",
    "lte": "is at most",
    "in_list": "is in the HubSpot list",
}
# An inclusion list (HubSpot lists v3) is a condition on this pseudo-field, which no vendor
# field can be named: {"field": LIST_FIELD, "operator": "in_list", "value": "<list name>",
# "list_id": "<HubSpot list id>"}. The name is what the customer picks; the id is resolved
# when the filter is saved (mappings/services/validation.py) and is what the engine tests.
# The engine puts the ids of the lists a record is in under LIST_FIELD before evaluating.
LIST_FIELD = "@hubspot_list"
LIST_OPERATOR = "in_list"
# The "Free emails blocked" standard option: contacts at these providers do not sync.
FREE_MAIL_DOMAINS = frozenset(
    [
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.uk",
        "ymail.com",
        "hotmail.com",
        "hotmail.co.uk",
        "outlook.com",
        "live.com",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "mail.com",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "protonmail.com",
        "proton.me",
        "zoho.com",
        "yandex.com",
        "yandex.ru",
        "mail.ru",
        "qq.com",
        "163.com",
        "126.com",
        "comcast.net",
        "verizon.net",
        "att.net",
        "sbcglobal.net",
        "btinternet.com",
    ]
)

NO_VALUE_OPERATORS = {"is_empty", "is_not_empty"}
LIST_OPERATORS = {"in", "not_in"}
MAX_DEPTH = 4
# Bounds on what a customer may store (UI and API share this validation).
MAX_CONDITIONS = 50  # per group
MAX_VALUE_CHARS = 1000
MAX_LIST_VALUES = 200
MAX_FIELD_CHARS = 200
_SCALARS = (str, int, float, bool, type(None))
GROUP_KEYS = {"match", "conditions"}
CONDITION_KEYS = {"field", "operator", "value"}


class FilterError(ValueError):
    """A filter the UI sent is malformed; the message says what to fix."""


def validate_filter(group: Mapping[str, Any], depth: int = 0) -> None:
    if not group:
        return
    if not isinstance(group, Mapping):
        raise FilterError("A filter must be a group of conditions.")
    if depth > MAX_DEPTH:
        raise FilterError(f"Filters can nest at most {MAX_DEPTH} groups deep.")
    unknown = set(group) - GROUP_KEYS
    if unknown:
        raise FilterError(f"A group has a match and conditions, not {_names(unknown)}.")
    if group.get("match", "all") not in ("all", "any"):
        raise FilterError("A group matches either 'all' or 'any' of its conditions.")
    conditions = group.get("conditions", [])
    if not isinstance(conditions, list):
        raise FilterError("A group's conditions must be a list.")
    if len(conditions) > MAX_CONDITIONS:
        raise FilterError(f"A group can hold at most {MAX_CONDITIONS} conditions; split it into groups.")
    for condition in conditions:
        if isinstance(condition, Mapping) and "conditions" in condition:
            validate_filter(condition, depth + 1)
            continue
        _validate_condition(condition)


def _validate_condition(condition: Any) -> None:
    if not isinstance(condition, Mapping) or not condition.get("field"):
        raise FilterError("Each condition needs a field.")
    unknown = set(condition) - CONDITION_KEYS - ({"list_id"} if condition.get("operator") == LIST_OPERATOR else set())
    if unknown:
        raise FilterError(f"A condition has a field, an operator and a value, not {_names(unknown)}.")
    if not isinstance(condition["field"], str) or len(condition["field"]) > MAX_FIELD_CHARS:
        raise FilterError(f"A condition's field is a field name of at most {MAX_FIELD_CHARS} characters.")
    operator = condition.get("operator")
    if not isinstance(operator, str) or operator not in OPERATORS:
        raise FilterError(f"Unknown operator {str(operator)[:40]!r}; use one of: {', '.join(OPERATORS)}.")
    _validate_value(condition["field"], condition.get("value"))
    if (operator == LIST_OPERATOR) != (condition["field"] == LIST_FIELD):
        raise FilterError("A HubSpot list is a condition of its own: “is in the HubSpot list” and the list's name.")
    if operator == LIST_OPERATOR:
        _validate_list_condition(condition)
    if operator in LIST_OPERATORS and not isinstance(condition.get("value"), list):
        raise FilterError(f"'{OPERATORS[operator]}' needs a list of values.")
    if operator not in NO_VALUE_OPERATORS and operator not in LIST_OPERATORS and "value" not in condition:
        raise FilterError(f"Condition on {condition['field']} needs a value.")


def _validate_list_condition(condition: Mapping[str, Any]) -> None:
    if not isinstance(condition.get("value"), str) or not condition["value"].strip():
        raise FilterError("Name the HubSpot list the records must be in.")
    list_id = condition.get("list_id")
    if list_id is not None and (not isinstance(list_id, str) or len(list_id) > MAX_FIELD_CHARS):
        raise FilterError("A HubSpot list's id is text.")


def _names(keys: set) -> str:
    return ", ".join(repr(str(key)[:40]) for key in sorted(keys, key=str)[:5])


def _validate_value(field: str, value: Any) -> None:
    values = value if isinstance(value, list) else [value]
    if len(values) > MAX_LIST_VALUES:
        raise FilterError(f"Condition on {field}: at most {MAX_LIST_VALUES} values in a list.")
    for item in values:
        if not isinstance(item, _SCALARS):
            raise FilterError(f"Condition on {field}: a value is text, a number, true/false or empty, not a list or object.")
        if len(str(item)) > MAX_VALUE_CHARS:
            raise FilterError(f"Condition on {field}: a value can be at most {MAX_VALUE_CHARS} characters.")


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip().lower()


def _ordered(value: Any) -> Any:
    """Numbers compare as numbers, dates and text as ISO text."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    try:
        return float(str(value))
    except (TypeError, ValueError):
        return _text(value)


def _compare(left: Any, right: Any, test: Callable[[Any, Any], bool]) -> bool:
    if _is_empty(left):
        return False
    a, b = _ordered(left), _ordered(right)
    if type(a) is not type(b):
        a, b = str(a), str(b)
    return test(a, b)


_TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda v, x: _text(v) == _text(x),
    "neq": lambda v, x: _text(v) != _text(x),
    "contains": lambda v, x: _text(x) in _text(v),
    "not_contains": lambda v, x: _text(x) not in _text(v),
    "starts_with": lambda v, x: _text(v).startswith(_text(x)),
    "ends_with": lambda v, x: _text(v).endswith(_text(x)),
    "in": lambda v, x: _text(v) in {_text(i) for i in x},
    "not_in": lambda v, x: _text(v) not in {_text(i) for i in x},
    "is_empty": lambda v, x: _is_empty(v),
    "is_not_empty": lambda v, x: not _is_empty(v),
    "gt": lambda v, x: _compare(v, x, lambda a, b: a > b),
    "gte": lambda v, x: _compare(v, x, lambda a, b: a >= b),
    "lt": lambda v, x: _compare(v, x, lambda a, b: a < b),
    "lte": lambda v, x: _compare(v, x, lambda a, b: a <= b),
}


def describe(condition: Mapping[str, Any], labels: Mapping[str, str] | None = None) -> str:
    """Human text of one condition, for events: "Lifecycle stage is customer" (the field's label
    when `labels` knows it, else its name)."""
    words = OPERATORS.get(condition.get("operator", ""), condition.get("operator", ""))
    if condition.get("operator") == LIST_OPERATOR:
        return f"in the HubSpot list “{condition.get('value')}”"
    field = (labels or {}).get(condition["field"]) or condition["field"]
    if condition.get("operator") in NO_VALUE_OPERATORS:
        return f"{field} {words}"
    value = condition.get("value")
    shown = ", ".join(map(str, value)) if isinstance(value, list) else value
    return f"{field} {words} {shown}"


def first_failure(group: Mapping[str, Any], properties: Mapping[str, Any], labels: Mapping[str, str] | None = None) -> str | None:
    """None when the record passes; otherwise why it did not, in words a customer reads."""
    conditions = (group or {}).get("conditions") or []
    if not conditions:
        return None
    match_any = group.get("match", "all") == "any"
    reasons: list[str] = []
    for condition in conditions:
        if "conditions" in condition:
            reason = first_failure(condition, properties, labels)
        else:
            reason = _condition_failure(condition, properties, labels)
        if reason is None and match_any:
            return None
        if reason is not None:
            if not match_any:
                return reason
            reasons.append(reason)
    if match_any:
        return "none of: " + "; ".join(reasons)
    return None


def _condition_failure(
    condition: Mapping[str, Any], properties: Mapping[str, Any], labels: Mapping[str, str] | None
) -> str | None:
    if condition["operator"] == LIST_OPERATOR:
        # A list not resolved to an id (never saved through validation) lets nothing through.
        member_of = properties.get(LIST_FIELD) or ()
        return (
            None
            if condition.get("list_id") and condition["list_id"] in member_of
            else f"not in the HubSpot list “{condition['value']}”"
        )
    passed = _TESTS[condition["operator"]](properties.get(condition["field"]), condition.get("value"))
    return None if passed else f"“{describe(condition, labels)}” is not true for this record"


def passes(group: Mapping[str, Any], properties: Mapping[str, Any]) -> bool:
    return first_failure(group, properties) is None


def fields_used(group: Mapping[str, Any]) -> set[str]:
    """Every field a filter reads, so the engine knows which properties to fetch."""
    used: set[str] = set()
    for condition in (group or {}).get("conditions") or []:
        if "conditions" in condition:
            used |= fields_used(condition)
        else:
            used.add(condition["field"])
    return used - {LIST_FIELD}


def lists_used(group: Mapping[str, Any]) -> dict[str, str]:
    """{HubSpot list id: name} of every list condition of a filter (resolved ones)."""
    found: dict[str, str] = {}
    for condition in (group or {}).get("conditions") or []:
        if "conditions" in condition:
            found.update(lists_used(condition))
        elif condition.get("operator") == LIST_OPERATOR and condition.get("list_id"):
            found[str(condition["list_id"])] = str(condition.get("value", ""))
    return found


def list_conditions(group: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The list conditions of a filter, the dicts themselves (validation resolves their ids in place)."""
    found: list[dict[str, Any]] = []
    for condition in (group or {}).get("conditions") or []:
        if "conditions" in condition:
            found += list_conditions(condition)
        elif isinstance(condition, dict) and condition.get("operator") == LIST_OPERATOR:
            found.append(condition)
    return found


# --- the filter builder's form encoding, and the live count ------------------------------
_CONDITION = re.compile(r"^(?P<p>\w+)-g(?P<g>\d+)-c(?P<c>\d+)-(?P<part>field|op|value)$")
_GROUP = re.compile(r"^(?P<p>\w+)-g(?P<g>\d+)-match$")


def as_groups(stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """A stored filter in the builder's two-level shape (same meaning)."""
    stored = stored or {}
    match = stored.get("match", "all")
    plain = [c for c in stored.get("conditions") or [] if "conditions" not in c]
    groups = [dict(g) for g in stored.get("conditions") or [] if "conditions" in g]
    if plain:
        groups.insert(0, {"match": match, "conditions": plain})
    return {"match": match, "conditions": groups}


def _value_for(operator: str, text: str) -> Any:
    if operator in NO_VALUE_OPERATORS:
        return None
    if operator in LIST_OPERATORS:
        return [part.strip() for part in text.split(",") if part.strip()]
    return text.strip()


def from_post(data: Mapping[str, str], prefix: str) -> dict[str, Any]:
    """Rebuild the two-level filter from the builder's inputs; rows without a field are dropped."""
    groups: dict[int, dict[str, Any]] = {}
    rows: dict[tuple[int, int], dict[str, str]] = {}
    for key in data:
        if m := _GROUP.match(key):
            if m["p"] == prefix:
                groups.setdefault(int(m["g"]), {"conditions": []})["match"] = data[key] if data[key] in ("all", "any") else "all"
        elif (m := _CONDITION.match(key)) and m["p"] == prefix:
            rows.setdefault((int(m["g"]), int(m["c"])), {})[m["part"]] = data[key]
    for (g, _), row in sorted(rows.items()):
        group = groups.setdefault(g, {"match": "all", "conditions": []})
        operator = row.get("op") or "eq"
        if (row.get("field") or "").strip() == LIST_FIELD:
            operator = LIST_OPERATOR
        elif operator == LIST_OPERATOR:
            operator = "eq"
        condition: dict[str, Any] = {"field": (row.get("field") or "").strip(), "operator": operator}
        if operator not in NO_VALUE_OPERATORS:
            condition["value"] = _value_for(operator, row.get("value", ""))
        group["conditions"].append(condition)
    top = data.get(f"{prefix}-match", "all")
    return {"match": top if top in ("all", "any") else "all", "conditions": [groups[g] for g in sorted(groups)]}


def apply_op(builder: dict[str, Any], op: str) -> dict[str, Any]:
    """Add or remove a row or a group, as the pressed button asked."""
    groups = builder["conditions"]
    if op == "add-group":
        groups.append({"match": "all", "conditions": [{"field": "", "operator": "eq", "value": ""}]})
    elif m := re.fullmatch(r"add-cond-(\d+)", op):
        index = int(m[1])
        if index < len(groups):
            groups[index]["conditions"].append({"field": "", "operator": "eq", "value": ""})
    elif m := re.fullmatch(r"del-(\d+)-(\d+)", op):
        g, c = int(m[1]), int(m[2])
        if g < len(groups) and c < len(groups[g]["conditions"]):
            del groups[g]["conditions"][c]
            if not groups[g]["conditions"]:
                del groups[g]
    return builder


def to_stored(builder: dict[str, Any]) -> dict[str, Any]:
    """What is saved: rows without a field dropped, empty groups dropped, no groups = {}."""
    groups = []
    for group in builder["conditions"]:
        conditions = [c for c in group["conditions"] if c.get("field")]
        for c in conditions:
            if c["operator"] not in NO_VALUE_OPERATORS and c.get("value") in ("", [], None):
                raise FilterError(f"Give “{c['field']} {OPERATORS[c['operator']]}” a value, or use “is empty”.")
        if conditions:
            groups.append({"match": group.get("match", "all"), "conditions": conditions})
    if not groups:
        return {}
    stored = {"match": builder.get("match", "all"), "conditions": groups}
    validate_filter(stored)
    return stored


def value_text(condition: Mapping[str, Any]) -> str:
    value = condition.get("value")
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return "" if value is None else str(value)


def operator_choices() -> list[tuple[str, str]]:
    """The operators of conditions on fields (a list condition has its own row)."""
    return [(key, words) for key, words in OPERATORS.items() if key != LIST_OPERATOR]


@dataclass
class Gate:
    """The integration's standard options as they apply to records of one source object."""

    test_mode: bool = False
    email_marker: str = ""
    name_marker: str = ""
    block_free_emails: bool = False
    email_field: str = ""
    name_field: str = ""

    def reason(self, properties: Mapping[str, Any]) -> str | None:
        email = str(properties.get(self.email_field) or "").lower() if self.email_field else ""
        if self.test_mode:
            if self.email_field and self.email_marker and self.email_marker.lower() not in email:
                return "test mode: no test marker in the e-mail"
            name = str(properties.get(self.name_field) or "").lower() if self.name_field else ""
            if self.name_field and self.name_marker and self.name_marker.lower() not in name:
                return "test mode: no test marker in the name"
        if self.block_free_emails and email and email.rsplit("@", 1)[-1] in FREE_MAIL_DOMAINS:
            return "free e-mail address"
        return None


@dataclass
class FilterCount:
    passing: int
    total: int
    error: str = ""
    reasons: dict[str, int] | None = None


def count_passing(filter_data: Mapping[str, Any], records: list[Mapping[str, Any]], gate: Gate | None = None) -> FilterCount:
    try:
        validate_filter(filter_data)
    except FilterError as exc:
        return FilterCount(0, len(records), error=str(exc))
    passing = 0
    reasons: dict[str, int] = {}
    for properties in records:
        why = gate.reason(properties) if gate else None
        if why is None and not passes(filter_data, properties):
            why = "the conditions"
        if why is None:
            passing += 1
        else:
            reasons[why] = reasons.get(why, 0) + 1
    return FilterCount(passing, len(records), reasons=reasons)
