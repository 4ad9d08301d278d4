"""HubSpot engagements the connector syncs as CRM objects: notes and calls.

They are read and written like contacts (v3 objects, search by hs_lastmodifieddate) and their
associations are REFERENCE pseudo-fields as for contacts and deals: `contact`, `company` and
`deal`, read with associations v4 and written inline on create with the association type ids
HubSpot documents (note → contact 202, note → company 190, note → deal 214, call → contact 194,
call → company 182, call → deal 206). A note or call with no association is invisible in
HubSpot, so each declares its parents: the engine creates none before one of them is linked.
"""

from __future__ import annotations

from connectors.base import ObjectType

ACTIVITY_TYPES = ("notes", "calls")
MODIFIED_PROPERTY = {"notes": "hs_lastmodifieddate", "calls": "hs_lastmodifieddate"}
PROPERTY_GROUPS = {"notes": "engagement", "calls": "engagement"}
REFERENCES = {
    (activity, name): parent
    for activity in ACTIVITY_TYPES
    for name, parent in (("contact", "contacts"), ("company", "companies"), ("deal", "deals"))
}
ASSOCIATION_TYPE_IDS = {
    ("notes", "contacts"): 202,
    ("notes", "companies"): 190,
    ("notes", "deals"): 214,
    ("calls", "contacts"): 194,
    ("calls", "companies"): 182,
    ("calls", "deals"): 206,
}
# hs_note_body / hs_call_body hold HTML; 65,536 characters at most (HubSpot's notes guide).
BODY_FIELDS = {"notes": "hs_note_body", "calls": "hs_call_body"}
BODY_LIMIT = 65_536


def activity_object_types() -> list[ObjectType]:
    return [
        ObjectType(
            "notes",
            "Notes",
            cursor_field="hs_lastmodifieddate",
            match_fields=(),
            parents=("contacts", "companies", "deals"),
            needs_parent=True,
        ),
        ObjectType(
            "calls",
            "Calls",
            cursor_field="hs_lastmodifieddate",
            match_fields=(),
            parents=("contacts", "companies", "deals"),
            needs_parent=True,
        ),
    ]
