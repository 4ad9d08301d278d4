"""New default mappings for integrations created before them: offered, never applied silently.

An integration keeps the default mappings it was created with: a later release that changes the
default set (issue 23: Salesforce leads both ways until converted; activities; an activity's deal
as its Opportunity) changes nothing in it by itself. Each change is declared here with what earlier
releases installed, and `offers` says, per integration, which changes still apply:

- `offered`: the integration has the old default exactly as installed (or lacks a new object
  mapping): applying it is safe; the mapping editor and the API show it, a person applies it.
- `kept`: the customer edited what the change would touch (direction, system of record, filters,
  match fields or a field row's direction / transform / value map...): it is left as they set it,
  and the offer says so in words. "Restore defaults" is the way to take the new defaults anyway.
- changes already in place, or whose object mapping the customer removed, are not listed.

`apply` applies the offered changes named, each in full or not at all, and never a `kept` one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from mappings.defaults import (
    SALESFORCE_ACTIVITIES,
    TO_HS,
    TO_OTHER,
    F,
    ObjectDefault,
    default_field_rows,
    default_set_for,
    object_settings,
)
from mappings.models import FieldMapping, Integration, ObjectMapping
from syncsmart.core.choices import Side

OFFERED, KEPT = "offered", "kept"
OBJECT_KEYS = (
    "direction",
    "system_of_record",
    "hubspot_match_field",
    "other_match_field",
    "filter_to_hubspot",
    "filter_to_other",
)
FIELD_KEYS = ("direction", "transform", "only_if_target_empty", "value_map", "enabled")


@dataclass(frozen=True)
class DefaultsChange:
    """One change to a system's default set, and what earlier releases installed instead."""

    id: str
    system: str
    hubspot: str
    other: str
    summary: str  # what applying it does, in plain words
    was: ObjectDefault | None = None  # the object mapping's old settings and fields (None: a new object mapping)
    removed_fields: tuple[F, ...] = ()  # old default field rows the change takes out
    added_fields: tuple[tuple[str, str], ...] = ()  # (HubSpot field, other field) it puts in


@dataclass
class Offer:
    change: DefaultsChange
    status: str  # OFFERED or KEPT
    mapping: ObjectMapping | None
    reason: str = ""
    edited: list[str] = field(default_factory=list)


def _old_lead_mapping() -> ObjectDefault:
    fields = (
        ("firstname", "FirstName", "string"),
        ("lastname", "LastName", "string"),
        ("email", "Email", "email"),
        ("phone", "Phone", "phone"),
        ("mobilephone", "MobilePhone", "phone"),
        ("jobtitle", "Title", "string"),
        ("website", "Website", "string"),
        ("city", "City", "string"),
        ("country", "Country", "string"),
    )
    return ObjectDefault(
        "Leads → contacts",
        "contacts",
        "Lead",
        25,
        "email",
        "Email",
        direction=TO_HS,
        system_of_record=Side.OTHER,
        filter_to_hubspot=(("ConvertedContactId", "is_empty"),),
        fields=(
            *(F(hub, other, direction=TO_HS, hubspot_type=kind, other_type=kind) for hub, other, kind in fields),
            F("hubspot_owner_id", "OwnerId", "owner", direction=TO_HS, hubspot_type="owner", other_type="owner"),
        ),
    )


_OLD_WHAT = F("company", "WhatId", "association", direction=TO_OTHER, hubspot_type="reference", other_type="reference")

CHANGES: tuple[DefaultsChange, ...] = (
    DefaultsChange(
        "salesforce-leads-both-ways",
        "salesforce",
        "contacts",
        "Lead",
        "Contacts ↔ leads syncs both ways: a new HubSpot contact becomes a Salesforce Lead until it is converted "
        "(before: leads went to HubSpot only), and the contact's company name fills the Lead's Company.",
        was=_old_lead_mapping(),
    ),
    *(
        DefaultsChange(
            f"salesforce-activities-{spec.hubspot}",
            "salesforce",
            spec.hubspot,
            spec.other,
            f"New mapping “{spec.name}”: HubSpot {spec.hubspot} and Salesforce {spec.other} records sync both ways, "
            "on their contact or lead, account and opportunity.",
        )
        for spec in SALESFORCE_ACTIVITIES
    ),
    *(
        DefaultsChange(
            f"salesforce-activity-deal-{spec.hubspot}",
            "salesforce",
            spec.hubspot,
            spec.other,
            f"“{spec.name}”: an activity's deal becomes its Salesforce Related To (the Opportunity) and back; "
            "its company goes there when it has no deal (replaces company → WhatId).",
            removed_fields=(_OLD_WHAT,),
            added_fields=(("deal", "WhatId_Opportunity"), ("company", "WhatId_Account")),
        )
        for spec in SALESFORCE_ACTIVITIES
    ),
)


def _spec(system: str, hubspot: str, other: str) -> ObjectDefault | None:
    return next((s for s in default_set_for(system) if (s.hubspot, s.other) == (hubspot, other)), None)


def _object_values(system: str, spec: ObjectDefault) -> dict:
    settings = object_settings(system, spec)
    return {key: settings[key] for key in OBJECT_KEYS}


def _field_values(f: F) -> dict:
    return dict(
        direction=f.direction,
        transform=f.transform,
        only_if_target_empty=f.only_if_target_empty,
        value_map=dict(f.value_map),
        enabled=True,
    )


def _as_installed(row: FieldMapping, f: F) -> bool:
    return {key: getattr(row, key) for key in FIELD_KEYS} == _field_values(f)


def _edited_fields(mapping: ObjectMapping, fields: tuple[F, ...]) -> list[str]:
    """Rows of these old default fields the customer changed (a removed one counts as changed)."""
    rows = {(r.hubspot_field, r.other_field): r for r in mapping.field_mappings.all()}
    edited = []
    for f in fields:
        row = rows.get((f.hubspot, f.other))
        if row is None or not row.is_default or not _as_installed(row, f):
            edited.append(f"{f.hubspot} ↔ {f.other}")
    return edited


def _judge(change: DefaultsChange, mapping: ObjectMapping | None, system: str) -> Offer | None:
    fields_only = bool(change.removed_fields or change.added_fields)
    if change.was is None and not fields_only:  # a new object mapping
        return Offer(change, OFFERED, None) if mapping is None else None
    if mapping is None:
        return None  # the customer removed the object mapping: nothing to change
    rows = {(r.hubspot_field, r.other_field) for r in mapping.field_mappings.all()}
    if fields_only:
        done = not any((f.hubspot, f.other) in rows for f in change.removed_fields) and all(
            p in rows for p in change.added_fields
        )
        if done:
            return None
        edited = _edited_fields(mapping, change.removed_fields)
    else:
        current = _spec(system, change.hubspot, change.other)
        if current is None or {k: getattr(mapping, k) for k in OBJECT_KEYS} == _object_values(system, current):
            return None
        edited = [] if {k: getattr(mapping, k) for k in OBJECT_KEYS} == _object_values(system, change.was) else ["its settings"]
        edited += _edited_fields(mapping, change.was.fields)
    if edited:
        reason = f"Kept as you set it: you changed {', '.join(edited)}. “Restore defaults” takes the new defaults anyway."
        return Offer(change, KEPT, mapping, reason, edited)
    return Offer(change, OFFERED, mapping)


def offers(integration: Integration) -> list[Offer]:
    """The default-set changes this integration has not taken yet: offered or kept (see above)."""
    system = integration.other_system
    mappings = {
        (m.hubspot_object, m.other_object): m
        for m in ObjectMapping.objects.filter(integration=integration).prefetch_related("field_mappings")
    }
    out = []
    for change in CHANGES:
        if change.system != system:
            continue
        offer = _judge(change, mappings.get((change.hubspot, change.other)), system)
        if offer is not None:
            out.append(offer)
    return out


class NotOffered(Exception):
    """A change named that is not (or no longer) offered for this integration."""


@transaction.atomic
def apply(integration: Integration, change_ids: list[str]) -> list[DefaultsChange]:
    """Apply the named offered changes; refuses (NotOffered) if one is kept, unknown or done."""
    offered = {o.change.id: o for o in offers(integration) if o.status == OFFERED}
    unknown = [i for i in change_ids if i not in offered]
    if unknown:
        raise NotOffered(f"Not offered for this integration: {', '.join(unknown)}.")
    applied = []
    for change_id in dict.fromkeys(change_ids):
        offer = offered[change_id]
        _apply_one(integration, offer.change, offer.mapping)
        applied.append(offer.change)
    return applied


def _apply_one(integration: Integration, change: DefaultsChange, mapping: ObjectMapping | None) -> None:
    system = integration.other_system
    spec = _spec(system, change.hubspot, change.other)
    if spec is None:
        return
    settings = object_settings(system, spec)
    if mapping is None:  # a new object mapping, with all its default fields
        mapping = ObjectMapping.objects.create(
            integration=integration, hubspot_object=spec.hubspot, other_object=spec.other, **settings
        )
    elif change.was is not None:  # only what was checked as installed; match rules and the rest stay
        for key in OBJECT_KEYS:
            setattr(mapping, key, settings[key])
        if mapping.name == change.was.name:
            mapping.name = spec.name
        mapping.save()
    for f in change.removed_fields:
        FieldMapping.objects.filter(
            object_mapping=mapping, hubspot_field=f.hubspot, other_field=f.other, is_default=True
        ).delete()
    existing = {(r.hubspot_field, r.other_field) for r in mapping.field_mappings.all()}
    checked = {(f.hubspot, f.other) for f in change.was.fields} if change.was is not None else set()
    wanted = set(change.added_fields)
    for f, values in default_field_rows(integration, spec, check_schema=False):
        pair = (f.hubspot, f.other)
        if wanted and pair not in wanted:
            continue
        if pair not in existing:
            FieldMapping.objects.create(object_mapping=mapping, hubspot_field=f.hubspot, other_field=f.other, **values)
        elif pair in checked:
            FieldMapping.objects.filter(object_mapping=mapping, hubspot_field=f.hubspot, other_field=f.other).update(**values)


def obsolete_default_fields(system: str) -> list[tuple[str, str, str, str]]:
    """(HubSpot object, other object, HubSpot field, other field) of default rows the default set
    no longer has: "Restore defaults" removes them (as default rows, never a customer's own)."""
    return [(c.hubspot, c.other, f.hubspot, f.other) for c in CHANGES if c.system == system for f in c.removed_fields]
