"""ConnectWise Manage sales activities and company / contact notes, for the emulator.

From ConnectWise's API reference (Sales › Activities, Company › CompanyNotes / ContactNotes):
- `/sales/activities`: Activity {id, name (required, 100), type {id} (ActivityType),
  status {id} (ActivityStatus, the default status when left out), company, contact,
  opportunity (references that must exist), phoneNumber, email, notes, dateStart, dateEnd,
  assignedBy, assignTo (member, required), customFields}; the lists `/sales/activities/types`
  {id, name, points, defaultFlag, inactiveFlag, emailFlag, memoFlag, historyFlag} and
  `/sales/activities/statuses` {id, name, defaultFlag, inactiveFlag, closedFlag};
- `/company/contacts/{parentId}/notes`: ContactNote {id, contactId, text (required), type {id}
  (NoteType, `/company/noteTypes`), flagged, enteredBy}; `/company/companies/{parentId}/notes`:
  CompanyNote {id, text (required), type, flagged, enteredBy, company}. Notes live under their
  record: a note id under another record's path is a 404.

Activity callbacks (`system/callbacks` of type "activity") fire on every activity change like
those of companies and contacts, with the activity as the Entity (none on "deleted").

Not faithful: note callbacks (ConnectWise has none we know of: notes arrive on the walk), reminders,
schedule status, `where`, tickets / agreements / campaigns as references, the contact-belongs-
to-company check the UI makes (the API reference documents none); the note text limit
(ConnectWise documents none; we accept any length).
"""

from __future__ import annotations

ACTIVITY_FIELDS = {
    "name",
    "type",
    "company",
    "contact",
    "phoneNumber",
    "email",
    "status",
    "opportunity",
    "notes",
    "dateStart",
    "dateEnd",
    "assignedBy",
    "assignTo",
}
CONTACT_NOTE_FIELDS = {"contactId", "text", "type", "flagged", "enteredBy"}
COMPANY_NOTE_FIELDS = {"company", "text", "type", "flagged", "enteredBy"}
ACTIVITY_NAME_LIMIT = 100
ACTIVITY_LOOKUPS = {
    "activity_types": (
        "sales/activities/types",
        {"id", "name", "points", "defaultFlag", "inactiveFlag", "emailFlag", "memoFlag", "historyFlag", "_info"},
    ),
    "activity_statuses": ("sales/activities/statuses", {"id", "name", "defaultFlag", "inactiveFlag", "closedFlag", "_info"}),
    "note_types": ("company/noteTypes", {"id", "identifier", "name", "defaultFlag", "_info"}),
}
# ConnectWise's out-of-the-box activity types and statuses.
ACTIVITY_TYPES = (("Call", False), ("Email", True), ("Appointment", False), ("Task", False), ("Meeting", False))
ACTIVITY_STATUSES = (("Open", True, False), ("Closed", False, True), ("Cancelled", False, True))
NOTE_TYPES = ("Note", "Call", "Email", "Meeting")
