"""Match rules: how a record that is not linked yet finds its existing counterpart.

An object mapping holds an ordered list of keys (`ObjectMapping.match_rules`); each key is one
or more field pairs, each with a normaliser (mappings/normalisers.py). A record matches a
counterpart by the first key for which both have a value and the normalised values are equal
field by field. A `link` field compares linked records instead of values: a deal's company
must be the company the opportunity belongs to (through the integration's links).

Stored as JSON, validated here (the one layer the UI and the REST API share):

    [{"fields": [{"hubspot": "email", "other": "emailaddress1", "normaliser": "email"}]},
     {"fields": [{"hubspot": "dealname", "other": "name", "normaliser": "name"},
                 {"hubspot": "company", "other": "parentaccountid", "normaliser": "link"}]}]

A phone field may carry `"country": "US"` (E.164 keys for numbers written without +1).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from connectors.base import FieldType
from mappings.normalisers import LINK, NORMALISER_CHOICES, neighbouring_minutes, normalise

MAX_KEYS = 5
MAX_FIELDS_PER_KEY = 3
MAX_NAME_LENGTH = 200
T = FieldType
# Which field types each normaliser reads sensibly; a type outside the set is refused.
NORMALISER_TYPES: dict[str, set[FieldType]] = {
    "email": {T.EMAIL, T.STRING, T.TEXT},
    "domain": {T.STRING, T.TEXT, T.EMAIL},
    "phone": {T.PHONE, T.STRING, T.TEXT, T.NUMBER},
    "name": {T.STRING, T.TEXT, T.ENUM},
    "text": {T.STRING, T.TEXT, T.EMAIL, T.PHONE, T.ENUM},
    "exact": {T.STRING, T.TEXT, T.EMAIL, T.PHONE, T.NUMBER, T.ENUM, T.BOOL},
    "date": {T.DATE, T.DATETIME, T.STRING},
    "minute": {T.DATETIME, T.STRING},
    LINK: {T.REFERENCE},
}
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")


class MatchRuleError(ValueError):
    """The rules as written cannot be used; the message says why, for the customer."""


class UnfitMatchRule(MatchRuleError):
    """Well-formed rules that do not fit this mapping: a field its system does not have, a
    normaliser that cannot compare the field's type, a field pair named twice in one key (the
    API answers these 422: no schema can say them)."""


@dataclass(frozen=True)
class KeyField:
    hubspot: str
    other: str
    normaliser: str
    country: str = ""

    def field_for(self, side: str) -> str:
        return self.hubspot if side == "hubspot" else self.other

    @property
    def is_link(self) -> bool:
        return self.normaliser == LINK

    def as_dict(self) -> dict[str, str]:
        out = {"hubspot": self.hubspot, "other": self.other, "normaliser": self.normaliser}
        if self.country:
            out["country"] = self.country
        return out


@dataclass(frozen=True)
class MatchKey:
    fields: tuple[KeyField, ...]

    @property
    def label(self) -> str:
        return " + ".join(f"{f.hubspot} ↔ {f.other} ({f.normaliser})" for f in self.fields)

    def fields_for(self, side: str) -> list[str]:
        return [f.field_for(side) for f in self.fields]

    def as_dict(self) -> dict[str, Any]:
        return {"fields": [f.as_dict() for f in self.fields]}


def _text_field(raw: dict, name: str, where: str) -> str:
    value = raw.get(name)
    if not isinstance(value, str) or not value.strip():
        raise MatchRuleError(f"{where}: “{name}” must name a field.")
    if len(value) > MAX_NAME_LENGTH:
        raise MatchRuleError(f"{where}: “{name}” is longer than {MAX_NAME_LENGTH} characters.")
    return value.strip()


def _key_field(raw: Any, where: str) -> KeyField:
    if not isinstance(raw, dict):
        raise MatchRuleError(f"{where}: each field must be an object with hubspot, other and normaliser.")
    unknown = set(raw) - {"hubspot", "other", "normaliser", "country"}
    if unknown:
        raise MatchRuleError(f"{where}: unknown setting {', '.join(sorted(map(str, unknown)))}.")
    normaliser = raw.get("normaliser")
    if normaliser not in NORMALISER_CHOICES:
        raise MatchRuleError(f"{where}: the normaliser must be one of {', '.join(NORMALISER_CHOICES)}.")
    country = raw.get("country", "")
    if not isinstance(country, str) or (country and (normaliser != "phone" or not _COUNTRY.fullmatch(country))):
        raise MatchRuleError(f"{where}: a country (two letters, e.g. US) is only for phone fields.")
    return KeyField(_text_field(raw, "hubspot", where), _text_field(raw, "other", where), normaliser, country.upper())


def parse_rules(raw: Any) -> list[MatchKey]:
    """The stored JSON as keys, or MatchRuleError saying what is wrong with it."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        raise MatchRuleError("Match rules must be a list of keys.")
    if len(raw) > MAX_KEYS:
        raise MatchRuleError(f"At most {MAX_KEYS} match keys.")
    keys = []
    for position, key in enumerate(raw, start=1):
        where = f"Key {position}"
        if not isinstance(key, dict) or set(key) != {"fields"} or not isinstance(key["fields"], list):
            raise MatchRuleError(f'{where}: write each key as {{"fields": [...]}}.')
        if not 1 <= len(key["fields"]) <= MAX_FIELDS_PER_KEY:
            raise MatchRuleError(f"{where}: a key has 1 to {MAX_FIELDS_PER_KEY} fields.")
        fields = tuple(_key_field(f, where) for f in key["fields"])
        if all(f.is_link for f in fields):
            # Every deal of a company would "match" every opportunity of its account.
            raise MatchRuleError(f"{where}: a linked record alone does not identify a record; add a value field.")
        if len({(f.hubspot, f.other) for f in fields}) != len(fields):
            raise UnfitMatchRule(f"{where}: a field pair appears twice.")
        keys.append(MatchKey(fields))
    return keys


def check_against_schemas(
    keys: Iterable[MatchKey], hubspot_types: dict[str, str] | None, other_types: dict[str, str] | None, other_label: str
) -> list[str]:
    """Fields must exist and suit their normaliser where the schema is known. Raises for what is
    wrong; returns warnings for what could not be checked (schema or type unknown)."""
    unchecked: list[str] = []
    for position, key in enumerate(keys, start=1):
        for f in key.fields:
            for system, types, name in (("HubSpot", hubspot_types, f.hubspot), (other_label, other_types, f.other)):
                if types is None:
                    unchecked.append(f"Key {position}: {system} fields are not discovered yet; “{name}” is unchecked.")
                    continue
                if name not in types:
                    raise UnfitMatchRule(f"Key {position}: {system} has no field “{name}”.")
                try:
                    kind = FieldType(types[name])
                except ValueError:
                    unchecked.append(f"Key {position}: the type of {system} “{name}” is unknown; it is unchecked.")
                    continue
                if kind not in NORMALISER_TYPES[f.normaliser]:
                    raise UnfitMatchRule(
                        f"Key {position}: {system} “{name}” is a {kind.value} field; "
                        f"the {f.normaliser} normaliser cannot compare it."
                    )
    return unchecked


def legacy_rules(hubspot_field: str, other_field: str) -> list[MatchKey]:
    """Mappings saved before match rules existed: their one match field pair, by its kind."""
    if not hubspot_field or not other_field:
        return []
    normaliser = "email" if "email" in hubspot_field.lower() else "domain" if "domain" in hubspot_field.lower() else "text"
    return [MatchKey((KeyField(hubspot_field, other_field, normaliser),))]


# --- defaults ------------------------------------------------------------------------------


def _key(*fields: tuple[str, str, str]) -> dict[str, Any]:
    return MatchKey(tuple(KeyField(h, o, n) for h, o, n in fields)).as_dict()


# (other system, HubSpot object, other object) -> keys, first wins. Seeds 000/003: e-mail for
# people, domain for companies; deals ↔ opportunities by name within the same company.
DEFAULT_RULES: dict[tuple[str, str, str], list[dict[str, Any]]] = {
    ("connectwise", "companies", "companies"): [
        _key(("domain", "website", "domain")),
        _key(("name", "name", "name")),
    ],
    ("connectwise", "contacts", "contacts"): [_key(("email", "email", "email"))],
    ("connectwise", "deals", "opportunities"): [_key(("dealname", "name", "name"), ("company", "company", LINK))],
    ("dynamics", "companies", "accounts"): [
        _key(("domain", "websiteurl", "domain")),
        _key(("name", "name", "name")),
    ],
    ("dynamics", "contacts", "contacts"): [_key(("email", "emailaddress1", "email"))],
    ("dynamics", "contacts", "leads"): [_key(("email", "emailaddress1", "email"))],
    ("dynamics", "deals", "opportunities"): [_key(("dealname", "name", "name"), ("company", "parentaccountid", LINK))],
    ("salesforce", "companies", "Account"): [_key(("domain", "Website", "domain")), _key(("name", "Name", "name"))],
    ("salesforce", "contacts", "Contact"): [_key(("email", "Email", "email"))],
    ("salesforce", "contacts", "Lead"): [_key(("email", "Email", "email"))],
    ("salesforce", "deals", "Opportunity"): [_key(("dealname", "Name", "name"), ("company", "AccountId", LINK))],
    ("netsuite", "companies", "customers"): [_key(("domain", "url", "domain")), _key(("name", "companyName", "name"))],
    ("netsuite", "contacts", "contacts"): [_key(("email", "email", "email"))],
    ("netsuite", "contacts", "customers"): [_key(("email", "email", "email"))],
    ("netsuite", "deals", "opportunities"): [_key(("dealname", "title", "name"), ("company", "entity", LINK))],
    # Activities entered by hand on both sides (issue 19): the same subject, on the same linked
    # contact, at the same time give or take a minute, are one activity.
    ("connectwise", "calls", "call_activities"): [
        _key(("hs_call_title", "name", "text"), ("contact", "contact", LINK), ("hs_timestamp", "dateStart", "minute"))
    ],
    ("connectwise", "emails", "email_activities"): [
        _key(("hs_email_subject", "name", "text"), ("contact", "contact", LINK), ("hs_timestamp", "dateStart", "minute"))
    ],
    ("connectwise", "meetings", "meeting_activities"): [
        _key(("hs_meeting_title", "name", "text"), ("contact", "contact", LINK), ("hs_timestamp", "dateStart", "minute"))
    ],
    ("connectwise", "tasks", "task_activities"): [
        _key(("hs_task_subject", "name", "text"), ("contact", "contact", LINK), ("hs_timestamp", "dateStart", "minute"))
    ],
    ("dynamics", "calls", "phonecalls"): [
        _key(
            ("hs_call_title", "subject", "text"), ("contact", "regardingobjectid", LINK), ("hs_timestamp", "actualend", "minute")
        )
    ],
    ("dynamics", "emails", "emails"): [
        _key(
            ("hs_email_subject", "subject", "text"),
            ("contact", "regardingobjectid", LINK),
            ("hs_timestamp", "actualend", "minute"),
        )
    ],
    ("dynamics", "tasks", "tasks"): [
        _key(
            ("hs_task_subject", "subject", "text"),
            ("contact", "regardingobjectid", LINK),
            ("hs_timestamp", "scheduledend", "minute"),
        )
    ],
    ("dynamics", "meetings", "appointments"): [
        _key(
            ("hs_meeting_title", "subject", "text"),
            ("contact", "regardingobjectid", LINK),
            ("hs_meeting_start_time", "scheduledstart", "minute"),
        )
    ],
}
# Offered in the editor as an extra field of the deal key ("optionally close date").
CLOSE_DATE_FIELD: dict[str, KeyField] = {
    "connectwise": KeyField("closedate", "expectedCloseDate", "date"),
    "dynamics": KeyField("closedate", "estimatedclosedate", "date"),
    "salesforce": KeyField("closedate", "CloseDate", "date"),
    "netsuite": KeyField("closedate", "expectedCloseDate", "date"),
}


def default_rules(system: str, hubspot_object: str, other_object: str) -> list[dict[str, Any]]:
    return [dict(k) for k in DEFAULT_RULES.get((system, hubspot_object, other_object), [])]


# --- keys of a record ------------------------------------------------------------------------


def key_value(
    key: MatchKey, side: str, properties: dict[str, Any], link_of: Callable[[KeyField, Any], str | None] | None = None
) -> tuple[str, ...] | None:
    """The record's normalised key (a tuple, one part per field), or None when a part is empty.

    `link_of(field, value)` turns a `link` field's value into a side-independent token (the
    link between the two parents); without it, or when the parent is not linked, no key."""
    parts: list[str] = []
    for f in key.fields:
        value = properties.get(f.field_for(side))
        if f.is_link:
            part = link_of(f, value) if (link_of is not None and value not in (None, "")) else None
        else:
            part = normalise(f.normaliser, value, country=f.country or None)
        if part is None:
            return None
        parts.append(part)
    return tuple(parts)


def key_values(
    key: MatchKey, side: str, properties: dict[str, Any], link_of: Callable[[KeyField, Any], str | None] | None = None
) -> list[tuple[str, ...]]:
    """The keys a record is found under: its key, and for `minute` parts also the minutes either
    side (so two records a minute apart meet however the seconds fall)."""
    exact_key = key_value(key, side, properties, link_of)
    if exact_key is None:
        return []
    keys = [exact_key]
    for position, f in enumerate(key.fields):
        if f.normaliser == "minute":
            keys = [k[:position] + (near,) + k[position + 1 :] for k in keys for near in neighbouring_minutes(k[position])]
    return keys
