"""Dataverse activity tables the emulator serves: annotation (notes), phonecall, task, email and
appointment.

From the Dataverse table reference: annotation (ObjectTypeCode 5) hangs off a record through the
polymorphic lookup `objectid` (bound as `objectid_contact@odata.bind`, ...), `notetext` is plain
text up to 100,000 characters, `subject` up to 500; phonecall (ObjectTypeCode 4210) is an
activity whose primary key is `activityid`, `subject` (200, business required), `description`
(plain text, 2,000), `phonenumber`, `directioncode` (false incoming / true outgoing),
`actualdurationminutes`, `scheduledend`, the polymorphic `regardingobjectid` and the activity
states Open / Completed / Canceled with their status reasons.

task (ObjectTypeCode 4212): `subject` (200), `description` (2,000), `scheduledend` (due),
`prioritycode` (Low / Normal / High), `percentcomplete`, states Open / Completed / Canceled with
the status reasons Not Started, In Progress, Waiting on someone else, Deferred, Completed,
Canceled. email (4202): `subject` (400), `description` (HTML, 1,048,576), `directioncode`,
`sender`, `torecipients`, states Open / Completed / Canceled with Draft, Sent, Received...
appointment (4201): `subject` (200), `description`, `location`, `scheduledstart` and
`scheduledend` (both business required in the UI), `isalldayevent`, states Open / Completed /
Canceled / Scheduled. Like Dataverse, the Web API does not enforce ApplicationRequired columns
(only the forms do); it enforces lengths, types, option ranges and lookups.

Activity parties (the activityparty table reference): the people of an e-mail (from, to, cc, bcc),
an appointment (required and optional attendees, organizer) and a phone call (from, to) are
activityparty rows {activitypartyid, participationtypemask, partyid (contact, account or
systemuser), addressused}, created with their activity through the collection-valued
navigation property `<activity>_activity_parties` (deep insert) and read with
`$expand=<activity>_activity_parties`. participationtypemask as Microsoft documents it: Sender 1,
ToRecipient 2, CCRecipient 3, BccRecipient 4, RequiredAttendee 5, OptionalAttendee 6,
Organizer 7; each activity accepts only its own (PARTY_ROLES).

Not faithful: the regarding lookup's navigation property is `regardingobjectid_contact` here
(Dataverse names it `regardingobjectid_contact_phonecall`); annotation's `objecttypecode`, the
attachment columns (documentbody, filename, mimetype); the party-list columns (`to`, `from`,
`requiredattendees`) themselves, so parties are only reached through the navigation property,
which a PATCH replaces whole (as setting the SDK's party lists does), and an e-mail's
`torecipients` stays empty; `/activityparties` is not an entity set here; lead and other
regarding targets are left out.
"""

from __future__ import annotations

from connectors.dynamics.schema import WEBHOOK_ENTITIES as STANDARD_WEBHOOK_ENTITIES
from connectors.dynamics.schema import Attr, Entity, audit_attrs, options, owner, status_options

REGARDING_TARGETS = ("contact", "account", "opportunity")

# activityparty.participationtypemask (the activityparty table reference).
SENDER, TO_RECIPIENT, CC_RECIPIENT, BCC_RECIPIENT = 1, 2, 3, 4
REQUIRED_ATTENDEE, OPTIONAL_ATTENDEE, ORGANIZER = 5, 6, 7
PARTY_ROLES = {
    "email": (SENDER, TO_RECIPIENT, CC_RECIPIENT, BCC_RECIPIENT),
    "appointment": (REQUIRED_ATTENDEE, OPTIONAL_ATTENDEE, ORGANIZER),
    "phonecall": (SENDER, TO_RECIPIENT),
}
PARTY_TARGETS = ("contact", "account", "systemuser")


def party_navigation(logical: str) -> str:
    """The collection-valued navigation property of an activity's parties: email_activity_parties."""
    return f"{logical}_activity_parties"


ANNOTATION = Entity(
    "annotation",
    "annotations",
    "annotationid",
    "subject",
    "Note",
    5,
    (
        Attr("annotationid", "Uniqueidentifier", "Note", update=False),
        Attr("subject", "String", "Title", max_length=500),
        Attr("notetext", "Memo", "Description", max_length=100_000),
        Attr("objectid", "Lookup", "Regarding", targets=REGARDING_TARGETS),
        Attr("isdocument", "Boolean", "Is Document"),
        owner(),
        *audit_attrs(),
    ),
)

PHONECALL = Entity(
    "phonecall",
    "phonecalls",
    "activityid",
    "subject",
    "Phone Call",
    4210,
    (
        Attr("activityid", "Uniqueidentifier", "Phone Call", update=False),
        Attr("subject", "String", "Subject", max_length=200, required="ApplicationRequired"),
        Attr("description", "Memo", "Description", max_length=2000),
        Attr("phonenumber", "String", "Phone Number", max_length=200, format="Phone"),
        Attr("directioncode", "Boolean", "Direction"),
        Attr("actualdurationminutes", "Integer", "Actual Duration"),
        Attr("scheduledend", "DateTime", "Due", format="DateAndTime"),
        Attr("actualend", "DateTime", "Actual End", format="DateAndTime"),
        Attr("regardingobjectid", "Lookup", "Regarding", targets=REGARDING_TARGETS),
        owner(),
        Attr(
            "statecode",
            "State",
            "Activity Status",
            required="SystemRequired",
            options=options((0, "Open"), (1, "Completed"), (2, "Canceled")),
        ),
        Attr(
            "statuscode",
            "Status",
            "Status Reason",
            options=status_options((1, "Open", 0), (2, "Made", 1), (4, "Received", 1), (3, "Canceled", 2)),
        ),
        *audit_attrs(),
    ),
)


def _activity(logical: str, set_name: str, label: str, code: int, subject_max: int, attrs: tuple, states, statuses) -> Entity:
    """An activity table: activityid, subject, regarding, owner, state and status, audit columns."""
    return Entity(
        logical,
        set_name,
        "activityid",
        "subject",
        label,
        code,
        (
            Attr("activityid", "Uniqueidentifier", label, update=False),
            Attr("subject", "String", "Subject", max_length=subject_max, required="ApplicationRequired"),
            *attrs,
            Attr("regardingobjectid", "Lookup", "Regarding", targets=REGARDING_TARGETS),
            owner(),
            Attr("statecode", "State", "Activity Status", required="SystemRequired", options=options(*states)),
            Attr("statuscode", "Status", "Status Reason", options=status_options(*statuses)),
            *audit_attrs(),
        ),
    )


OPEN_DONE_CANCELED = ((0, "Open"), (1, "Completed"), (2, "Canceled"))
TASK = _activity(
    "task",
    "tasks",
    "Task",
    4212,
    200,
    (
        Attr("description", "Memo", "Description", max_length=2000),
        Attr("scheduledend", "DateTime", "Due Date", format="DateAndTime"),
        Attr("prioritycode", "Picklist", "Priority", options=options((0, "Low"), (1, "Normal"), (2, "High"))),
        Attr("percentcomplete", "Integer", "Percent Complete"),
        Attr("actualdurationminutes", "Integer", "Actual Duration"),
    ),
    OPEN_DONE_CANCELED,
    (
        (2, "Not Started", 0),
        (3, "In Progress", 0),
        (4, "Waiting on someone else", 0),
        (7, "Deferred", 0),
        (5, "Completed", 1),
        (6, "Canceled", 2),
    ),
)
EMAIL = _activity(
    "email",
    "emails",
    "Email",
    4202,
    400,
    (
        Attr("description", "Memo", "Description", max_length=1_048_576),
        Attr("directioncode", "Boolean", "Direction"),
        Attr("sender", "String", "From", max_length=250),
        Attr("torecipients", "String", "To Recipients", max_length=500, create=False, update=False),
        Attr("actualend", "DateTime", "Actual End", format="DateAndTime"),
    ),
    OPEN_DONE_CANCELED,
    (
        (1, "Draft", 0),
        (8, "Failed", 0),
        (2, "Completed", 1),
        (3, "Sent", 1),
        (4, "Received", 1),
        (6, "Pending Send", 1),
        (7, "Sending", 1),
        (5, "Canceled", 2),
    ),
)
APPOINTMENT = _activity(
    "appointment",
    "appointments",
    "Appointment",
    4201,
    200,
    (
        Attr("description", "Memo", "Description", max_length=1_048_576),
        Attr("location", "String", "Location", max_length=200),
        Attr("scheduledstart", "DateTime", "Start Time", format="DateAndTime", required="ApplicationRequired"),
        Attr("scheduledend", "DateTime", "End Time", format="DateAndTime", required="ApplicationRequired"),
        Attr("isalldayevent", "Boolean", "All Day Event"),
    ),
    (*OPEN_DONE_CANCELED, (3, "Scheduled")),
    ((1, "Free", 0), (2, "Tentative", 0), (3, "Completed", 1), (4, "Canceled", 2), (5, "Busy", 3), (6, "Out of Office", 3)),
)
ACTIVITY_ENTITIES: dict[str, Entity] = {e.logical: e for e in (ANNOTATION, PHONECALL, TASK, EMAIL, APPOINTMENT)}
# Both tables have Create / Update / Delete SdkMessageFilters, so plug-in steps (webhooks) can watch them.
WEBHOOK_ENTITIES = STANDARD_WEBHOOK_ENTITIES + tuple(ACTIVITY_ENTITIES)
