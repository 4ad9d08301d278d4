"""The filter builder's form encoding, and the live count of records that pass.

The builder edits two levels: the filter is a group of groups ("all" / "any" of the groups),
each group a list of field – operator – value conditions ("all" / "any" of them). That is
the declarative data mappings.filters evaluates; a stored filter with plain conditions at
the top is shown as its first group, which means the same thing.

Form fields: ``{p}-match``, ``{p}-g{i}-match``, ``{p}-g{i}-c{j}-field|op|value``; the pressed
button's ``op`` says what to do: ``add-group``, ``add-cond-{i}``, ``del-{i}-{j}``, ``save``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from mappings.filters import LIST_OPERATORS, NO_VALUE_OPERATORS, OPERATORS, FilterError, passes, validate_filter

FREE_MAIL_FALLBACK = (
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "live.com",
    "aol.com",
    "icloud.com",
    "me.com",
    "msn.com",
    "gmx.com",
    "gmx.de",
    "web.de",
    "mail.com",
    "protonmail.com",
    "proton.me",
    "yandex.com",
    "zoho.com",
)
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
    return list(OPERATORS.items())


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
        if self.block_free_emails and email and email.rsplit("@", 1)[-1] in free_mail_domains():
            return "free e-mail address"
        return None


def free_mail_domains() -> frozenset[str]:
    """The engine's list when it has one, so the count and the run agree."""
    for module, name in (
        ("syncsmart.engine.gate", "FREE_MAIL_DOMAINS"),
        ("mappings.filters", "FREE_MAIL_DOMAINS"),
        ("syncsmart.engine.gates", "FREE_MAIL_DOMAINS"),
    ):
        try:
            found = getattr(__import__(module, fromlist=[name]), name)
        except (ImportError, AttributeError):
            continue
        return frozenset(d.lower() for d in found)
    return frozenset(FREE_MAIL_FALLBACK)


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
