"""HubSpot engagements the connector syncs as CRM objects: notes, calls, tasks, e-mails, meetings.

They are read and written like contacts (v3 objects, search by hs_lastmodifieddate) and their
associations are REFERENCE pseudo-fields as for contacts and deals: `contact`, `company` and
`deal` (the first associated record of each), and on calls, e-mails and meetings `contacts` (all
of them, ids joined by `;`), read with associations v4, written inline on create with the
association type ids HubSpot documents (emulator_engagements.py lists them) and set exactly on
update (the union of `contact` and `contacts` when both are written). An engagement with no association is
invisible in HubSpot, so each declares its parents: the engine creates none before one of them
is linked.
"""

from __future__ import annotations

from connectors.base import ObjectType

ACTIVITY_TYPES = ("notes", "calls", "tasks", "emails", "meetings")
LABELS = {"notes": "Notes", "calls": "Calls", "tasks": "Tasks", "emails": "E-mails", "meetings": "Meetings"}
MODIFIED_PROPERTY = dict.fromkeys(ACTIVITY_TYPES, "hs_lastmodifieddate")
PROPERTY_GROUPS = dict.fromkeys(ACTIVITY_TYPES, "engagement")
REFERENCES = {
    (activity, name): parent
    for activity in ACTIVITY_TYPES
    for name, parent in (("contact", "contacts"), ("company", "companies"), ("deal", "deals"))
}
# Every contact of a call, e-mail or meeting (`contact` is the first): a REFERENCE holding several
# ids (FieldInfo.multiple), e.g. a Dynamics e-mail's recipients or a meeting's attendees.
MULTIPLE = {(activity, "contacts") for activity in ("calls", "emails", "meetings")}
REFERENCES |= dict.fromkeys(MULTIPLE, "contacts")
# HubSpot's default association type ids, engagement → contact / company / deal.
_TYPE_IDS = {
    "notes": (202, 190, 214),
    "calls": (194, 182, 206),
    "emails": (198, 186, 210),
    "meetings": (200, 188, 212),
    "tasks": (204, 192, 216),
}
ASSOCIATION_TYPE_IDS = {
    (activity, parent): type_id
    for activity, ids in _TYPE_IDS.items()
    for parent, type_id in zip(("contacts", "companies", "deals"), ids, strict=True)
}
# The bodies hold HTML; 65,536 characters at most (HubSpot's notes guide).
BODY_FIELDS = {
    "notes": "hs_note_body",
    "calls": "hs_call_body",
    "tasks": "hs_task_body",
    "emails": "hs_email_html",
    "meetings": "hs_meeting_body",
}
BODY_LIMIT = 65_536


def activity_object_types() -> list[ObjectType]:
    return [
        ObjectType(
            name,
            LABELS[name],
            cursor_field="hs_lastmodifieddate",
            match_fields=(),
            parents=("contacts", "companies", "deals"),
            needs_parent=True,
        )
        for name in ACTIVITY_TYPES
    ]
