"""Dropdowns by label and owners by e-mail, the two transforms customers rely on by name.

Dropdowns follow the documented algorithm (docs/design.md §4, "Dropdowns") literally:

- HubSpot → other: find the HubSpot option by value; match the other system's option whose
  label equals the HubSpot value, else whose label equals the HubSpot label; else do not send
  the field and report {property, value} as unmatched.
- Other → HubSpot: find the other option by value; match the HubSpot option whose label
  equals the other label, else whose value equals the other label; else add a new HubSpot
  option with label and value equal to the other label.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectors.base import Connector, FieldInfo, FieldType, Option


class Unmatched(Exception):
    """A value has no counterpart on the target side; `detail` is what the event reports."""

    def __init__(self, message: str, detail: dict[str, Any]):
        super().__init__(message)
        self.detail = detail


@dataclass
class Schema:
    """One object type's fields on one side, discovered once per run."""

    object_type: str
    fields: dict[str, FieldInfo]

    def get(self, name: str) -> FieldInfo | None:
        return self.fields.get(name)

    def kind(self, name: str) -> FieldType | None:
        info = self.fields.get(name)
        return info.type if info else None

    def add_option(self, name: str, option: Option) -> None:
        info = self.fields[name]
        self.fields[name] = FieldInfo(**{**info.__dict__, "options": info.options + (option,)})


def dropdown_to_other(value: Any, hub_field: FieldInfo, other_field: FieldInfo) -> str:
    """HubSpot option value -> the other system's option value, or Unmatched."""
    text = str(value)
    hub_option = hub_field.option_by_value(text)
    for wanted in (text, hub_option.label if hub_option else None):
        if wanted is None:
            continue
        match = next((o for o in other_field.options if o.label == wanted), None)
        if match is not None:
            return match.value
    raise Unmatched(
        f"No option of {other_field.label or other_field.name} matches “{text}”", {"property": hub_field.name, "value": text}
    )


def dropdown_to_hubspot(value: Any, other_field: FieldInfo, hub_field: FieldInfo, add_option) -> str:
    """Other system's option value -> HubSpot option value, adding the option when missing.

    `add_option(label)` creates the HubSpot option (label and value = label) and returns it."""
    text = str(value)
    other_option = other_field.option_by_value(text)
    label = other_option.label if other_option else text
    match = next((o for o in hub_field.options if o.label == label), None)
    if match is None:
        match = next((o for o in hub_field.options if o.value == label), None)
    if match is None:
        match = add_option(label)
    return match.value


@dataclass
class OwnerDirectory:
    """One side's owners / members / system users: id <-> e-mail, loaded once per run."""

    object_type: str
    email_by_id: dict[str, str] = field(default_factory=dict)
    id_by_email: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, connector: Connector, object_type: str) -> OwnerDirectory:
        obj = connector.object_type(object_type)
        email_field = obj.email_field or "email"
        directory = cls(object_type)
        cursor = None
        while True:
            page = connector.read_changes(object_type, cursor)
            for record in page.records:
                email = str(record.properties.get(email_field) or "").strip().lower()
                if email and not record.deleted:
                    directory.email_by_id[str(record.id)] = email
                    # Exact e-mail match: the first owner with an address keeps it.
                    directory.id_by_email.setdefault(email, str(record.id))
            cursor = page.cursor
            if not page.has_more or not page.records:
                return directory


def owner_across(value: Any, source: OwnerDirectory, target: OwnerDirectory, property_name: str) -> str:
    """Source owner id -> target owner id by exact e-mail, or Unmatched."""
    email = source.email_by_id.get(str(value))
    if email is None:
        raise Unmatched(
            f"Owner {value} has no e-mail address we can match",
            {"property": property_name, "value": str(value), "reason": "owner has no e-mail"},
        )
    target_id = target.id_by_email.get(email)
    if target_id is None:
        raise Unmatched(
            f"No user of the other system has the e-mail {email}, so the owner was not set",
            {"property": property_name, "value": str(value), "email": email, "reason": "no owner with this e-mail"},
        )
    return target_id
