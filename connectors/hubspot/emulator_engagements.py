"""HubSpot engagements as CRM objects, for the emulator: notes and calls at
/crm/v3/objects/{notes,calls} with their properties, the default association type ids HubSpot
documents for them, and their required property (hs_timestamp).

The emulator (emulator.py) serves these types through the same handlers as contacts, companies
and deals; this module only says what differs: the property definitions, the association type
ids, the required properties on create, and that they send no webhooks v3 (HubSpot's webhooks
API has no note / call subscription types).

Sources: HubSpot's "Engagements | Notes" and "Engagements | Calls" guides (hs_timestamp is
required on create; hs_note_body up to 65,536 characters; hs_call_direction INBOUND / OUTBOUND;
hs_call_duration in milliseconds; hs_call_status) and "Associations v4 | Association type ids"
(note → contact 202, note → company 190, note → deal 214, call → contact 194, call → company
182, call → deal 206, and the reverse ids 201, 189, 213, 193, 181, 205).

Not faithful: tasks, e-mails, meetings, communications and postal mail are not emulated;
hs_call_disposition takes any value (HubSpot checks it against the portal's call outcomes);
an engagement created without any association is accepted, as HubSpot does (it is then an
"orphan" that no record's timeline shows) — `orphans()` counts them for tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ENGAGEMENT_TYPES = ("notes", "calls")
SINGULAR = {"notes": "note", "calls": "call"}
MODIFIED_PROPERTY = {"notes": "hs_lastmodifieddate", "calls": "hs_lastmodifieddate"}
REQUIRED_ON_CREATE = {"notes": ("hs_timestamp",), "calls": ("hs_timestamp",)}
NOTE_BODY_LIMIT = 65_536  # characters of hs_note_body
PARENT_TYPES = ("contacts", "companies", "deals")
ASSOCIATION_TYPE_IDS = {
    ("notes", "contacts"): 202,
    ("contacts", "notes"): 201,
    ("notes", "companies"): 190,
    ("companies", "notes"): 189,
    ("notes", "deals"): 214,
    ("deals", "notes"): 213,
    ("calls", "contacts"): 194,
    ("contacts", "calls"): 193,
    ("calls", "companies"): 182,
    ("companies", "calls"): 181,
    ("calls", "deals"): 206,
    ("deals", "calls"): 205,
}
CALL_DIRECTIONS = (("INBOUND", "Inbound"), ("OUTBOUND", "Outbound"))
CALL_STATUSES = (
    ("BUSY", "Busy"),
    ("CALLING_CRM_USER", "Calling CRM user"),
    ("CANCELED", "Canceled"),
    ("COMPLETED", "Completed"),
    ("CONNECTING", "Connecting"),
    ("FAILED", "Failed"),
    ("IN_PROGRESS", "In progress"),
    ("NO_ANSWER", "No answer"),
    ("QUEUED", "Queued"),
    ("RINGING", "Ringing"),
)


def engagement_properties(prop: Callable[..., dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """{object type: {name: definition}} built with the emulator's own property factory."""
    group = "engagement"

    def common() -> list[dict[str, Any]]:
        return [
            prop("hs_object_id", "Record ID", "number", "number", group=group, read_only=True),
            prop("createdate", "Create Date", "datetime", "date", group=group, read_only=True),
            prop("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", group=group, read_only=True),
            prop("hs_timestamp", "Activity date", "datetime", "date", group=group),
            prop("hubspot_owner_id", "Activity assigned to", "enumeration", "select", group=group, referenced="OWNER"),
        ]

    notes = common() + [prop("hs_note_body", "Note body", field_type="html", group=group)]
    calls = common() + [
        prop("hs_call_title", "Call title", group=group),
        prop("hs_call_body", "Call notes", field_type="html", group=group),
        prop("hs_call_direction", "Call direction", "enumeration", "select", group=group, options=CALL_DIRECTIONS),
        prop("hs_call_duration", "Call duration", "number", "number", group=group),
        prop("hs_call_status", "Call status", "enumeration", "select", group=group, options=CALL_STATUSES),
        prop("hs_call_disposition", "Call outcome", group=group),
        prop("hs_call_to_number", "To number", field_type="phonenumber", group=group),
        prop("hs_call_from_number", "From number", field_type="phonenumber", group=group),
    ]
    return {t: {p["name"]: p for p in props} for t, props in (("notes", notes), ("calls", calls))}


def missing_required(object_type: str, clean: dict[str, Any]) -> list[str]:
    """Required properties a create left out (HubSpot: 400 VALIDATION_ERROR naming them)."""
    return [name for name in REQUIRED_ON_CREATE.get(object_type, ()) if clean.get(name) in (None, "")]


def orphans(emulator: Any, object_type: str) -> list[str]:
    """Ids of live engagements associated with no contact, company or deal."""
    out = []
    for record_id, record in emulator.records[object_type].items():
        if record.archived:
            continue
        if not any(emulator.associated_ids(object_type, record_id, parent) for parent in PARENT_TYPES):
            out.append(str(record_id))
    return out
