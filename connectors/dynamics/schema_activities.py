"""Dataverse activity tables the emulator serves: annotation (notes) and phonecall.

From the Dataverse table reference: annotation (ObjectTypeCode 5) hangs off a record through the
polymorphic lookup `objectid` (bound as `objectid_contact@odata.bind`, ...), `notetext` is plain
text up to 100,000 characters, `subject` up to 500; phonecall (ObjectTypeCode 4210) is an
activity whose primary key is `activityid`, `subject` (200, business required), `description`
(plain text, 2,000), `phonenumber`, `directioncode` (false incoming / true outgoing),
`actualdurationminutes`, `scheduledend`, the polymorphic `regardingobjectid` and the activity
states Open / Completed / Canceled with their status reasons.

Not faithful: the regarding lookup's navigation property is `regardingobjectid_contact` here
(Dataverse names it `regardingobjectid_contact_phonecall`); annotation's `objecttypecode`, the
attachment columns (documentbody, filename, mimetype) and phonecall's activity parties (`from`,
`to`: activityparty lists) are not emulated; lead and other regarding targets are left out.
"""

from __future__ import annotations

from connectors.dynamics.schema import WEBHOOK_ENTITIES as STANDARD_WEBHOOK_ENTITIES
from connectors.dynamics.schema import Attr, Entity, audit_attrs, options, owner, status_options

REGARDING_TARGETS = ("contact", "account", "opportunity")

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

ACTIVITY_ENTITIES: dict[str, Entity] = {e.logical: e for e in (ANNOTATION, PHONECALL)}
# Both tables have Create / Update / Delete SdkMessageFilters, so plug-in steps (webhooks) can watch them.
WEBHOOK_ENTITIES = STANDARD_WEBHOOK_ENTITIES + tuple(ACTIVITY_ENTITIES)
