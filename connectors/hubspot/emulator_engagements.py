"""HubSpot engagements as CRM objects, for the emulator: notes, calls, tasks, e-mails and meetings
at /crm/v3/objects/{notes,calls,tasks,emails,meetings} with their properties, the default association type ids HubSpot
documents for them, and their required property (hs_timestamp).

The emulator (emulator.py) serves these types through the same handlers as contacts, companies
and deals; this module only says what differs: the property definitions, the association type
ids, the required properties on create, and that they send no webhooks v3 (HubSpot's webhooks
API has no engagement subscription types).

Sources: HubSpot's "Engagements | Notes / Calls / Tasks / Email / Meetings" guides (hs_timestamp
is required on create for each; hs_note_body up to 65,536 characters; hs_call_direction INBOUND /
OUTBOUND; hs_call_duration in milliseconds; hs_task_status NOT_STARTED / IN_PROGRESS / WAITING /
COMPLETED / DEFERRED; hs_task_priority LOW / MEDIUM / HIGH; hs_email_direction EMAIL /
INCOMING_EMAIL / FORWARDED_EMAIL; hs_meeting_outcome) and "Associations v4 | Association type
ids" (note → contact 202 / company 190 / deal 214, call 194 / 182 / 206, email 198 / 186 / 210,
meeting 200 / 188 / 212, task 204 / 192 / 216, and the reverse ids one lower).

Not faithful: communications and postal mail are not emulated; hs_email_headers is kept as
given (HubSpot parses the JSON into from / to / cc properties);
hs_call_disposition takes any value (HubSpot checks it against the portal's call outcomes);
an engagement created without any association is accepted, as HubSpot does (it is then an
"orphan" that no record's timeline shows) — `orphans()` counts them for tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ENGAGEMENT_TYPES = ("notes", "calls", "tasks", "emails", "meetings")
SINGULAR = {"notes": "note", "calls": "call", "tasks": "task", "emails": "email", "meetings": "meeting"}
MODIFIED_PROPERTY = dict.fromkeys(ENGAGEMENT_TYPES, "hs_lastmodifieddate")
REQUIRED_ON_CREATE = dict.fromkeys(ENGAGEMENT_TYPES, ("hs_timestamp",))
NOTE_BODY_LIMIT = 65_536  # characters of hs_note_body
PARENT_TYPES = ("contacts", "companies", "deals")
# HubSpot's default association type ids: engagement → contact / company / deal; the reverse is one lower.
_TYPE_IDS = {
    "notes": (202, 190, 214),
    "calls": (194, 182, 206),
    "emails": (198, 186, 210),
    "meetings": (200, 188, 212),
    "tasks": (204, 192, 216),
}
ASSOCIATION_TYPE_IDS = {
    pair: type_id
    for engagement, ids in _TYPE_IDS.items()
    for parent, forward in zip(PARENT_TYPES, ids, strict=True)
    for pair, type_id in (((engagement, parent), forward), ((parent, engagement), forward - 1))
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
TASK_STATUSES = (
    ("NOT_STARTED", "Not started"),
    ("IN_PROGRESS", "In progress"),
    ("WAITING", "Waiting"),
    ("COMPLETED", "Completed"),
    ("DEFERRED", "Deferred"),
)
TASK_PRIORITIES = (("NONE", "None"), ("LOW", "Low"), ("MEDIUM", "Medium"), ("HIGH", "High"))
TASK_TYPES = (("TODO", "To-do"), ("CALL", "Call"), ("EMAIL", "Email"))
EMAIL_DIRECTIONS = (("EMAIL", "Logged email"), ("INCOMING_EMAIL", "Incoming email"), ("FORWARDED_EMAIL", "Forwarded email"))
EMAIL_STATUSES = (
    ("BOUNCED", "Bounced"),
    ("FAILED", "Failed"),
    ("SCHEDULED", "Scheduled"),
    ("SENDING", "Sending"),
    ("SENT", "Sent"),
)
MEETING_OUTCOMES = (
    ("SCHEDULED", "Scheduled"),
    ("COMPLETED", "Completed"),
    ("RESCHEDULED", "Rescheduled"),
    ("NO_SHOW", "No show"),
    ("CANCELED", "Canceled"),
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
    tasks = common() + [
        prop("hs_task_subject", "Task title", group=group),
        prop("hs_task_body", "Task notes", field_type="html", group=group),
        prop("hs_task_status", "Task status", "enumeration", "select", group=group, options=TASK_STATUSES),
        prop("hs_task_priority", "Priority", "enumeration", "select", group=group, options=TASK_PRIORITIES),
        prop("hs_task_type", "Task type", "enumeration", "select", group=group, options=TASK_TYPES),
    ]
    emails = common() + [
        prop("hs_email_subject", "Email subject", group=group),
        prop("hs_email_text", "Email body", field_type="textarea", group=group),
        prop("hs_email_html", "Email HTML body", field_type="html", group=group),
        prop("hs_email_direction", "Email direction", "enumeration", "select", group=group, options=EMAIL_DIRECTIONS),
        prop("hs_email_status", "Email send status", "enumeration", "select", group=group, options=EMAIL_STATUSES),
        prop("hs_email_headers", "Email headers", field_type="textarea", group=group),
    ]
    meetings = common() + [
        prop("hs_meeting_title", "Meeting name", group=group),
        prop("hs_meeting_body", "Meeting description", field_type="html", group=group),
        prop("hs_internal_meeting_notes", "Internal meeting notes", field_type="html", group=group),
        prop("hs_meeting_location", "Location", group=group),
        prop("hs_meeting_start_time", "Start time", "datetime", "date", group=group),
        prop("hs_meeting_end_time", "End time", "datetime", "date", group=group),
        prop("hs_meeting_outcome", "Meeting outcome", "enumeration", "select", group=group, options=MEETING_OUTCOMES),
    ]
    kinds = (("notes", notes), ("calls", calls), ("tasks", tasks), ("emails", emails), ("meetings", meetings))
    return {t: {p["name"]: p for p in props} for t, props in kinds}


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
