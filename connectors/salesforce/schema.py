"""The standard sObjects the emulator serves, as their describe results present them.

A curated subset of the standard fields of Lead, Contact, Account, Opportunity, User, Task,
Event and OpportunityContactRole with Salesforce's API names, field types (`string`, `email`,
`phone`, `url`, `textarea`, `picklist`, `reference`, `boolean`, `date`, `datetime`, `currency`,
`double`, `int`, `percent`, `id`), lengths, reference targets, create/update flags, nillability
and the standard picklist values. The connector never imports this: it learns the same facts from
`/sobjects/{name}/describe`, as it must against a real org.
"""

from __future__ import annotations

from dataclasses import dataclass

API_VERSION = "59.0"

# Key prefixes: the first three characters of every record id of an object.
KEY_PREFIX = {
    "Account": "001",
    "Contact": "003",
    "User": "005",
    "Opportunity": "006",
    "OpportunityContactRole": "00K",
    "Lead": "00Q",
    "Task": "00T",
    "Event": "00U",
}
OBJECT_OF_PREFIX = {prefix: name for name, prefix in KEY_PREFIX.items()}
ORG_PREFIX = "00D"


@dataclass(frozen=True)
class Pick:
    value: str
    label: str | None = None  # Salesforce's label; defaults to the value
    default: bool = False

    def json(self) -> dict:
        return {
            "active": True,
            "defaultValue": self.default,
            "label": self.label or self.value,
            "validFor": None,
            "value": self.value,
        }


@dataclass(frozen=True)
class SField:
    name: str
    type: str
    label: str
    length: int = 0
    create: bool = True
    update: bool = True
    nillable: bool = True
    defaulted: bool = False  # defaultedOnCreate: required fields Salesforce fills in
    references: tuple[str, ...] = ()
    relationship: str | None = None
    picklist: tuple[Pick, ...] = ()
    restricted: bool = False

    @property
    def required(self) -> bool:
        return self.create and not self.nillable and not self.defaulted and self.type != "boolean"

    def default_value(self) -> str | None:
        return next((p.value for p in self.picklist if p.default), None)

    def kind(self) -> str:
        """How SOQL compares it: string, number, boolean, date or datetime."""
        if self.type in ("double", "currency", "int", "percent"):
            return "number"
        if self.type in ("boolean", "date", "datetime"):
            return self.type
        return "string"


def picks(*values: str, default: str | None = None, labels: dict[str, str] | None = None) -> tuple[Pick, ...]:
    labels = labels or {}
    return tuple(Pick(v, labels.get(v), v == default) for v in values)


def _ro(name: str, type_: str, label: str, **kw) -> SField:
    return SField(name, type_, label, create=False, update=False, **kw)


def system_fields(owner: bool = True) -> tuple[SField, ...]:
    fields = [
        _ro("Id", "id", "Record ID", length=18, nillable=False, defaulted=True),
        _ro("IsDeleted", "boolean", "Deleted", nillable=False, defaulted=True),
        _ro("CreatedDate", "datetime", "Created Date", nillable=False, defaulted=True),
        _ro(
            "CreatedById", "reference", "Created By ID", length=18, references=("User",), relationship="CreatedBy", defaulted=True
        ),
        _ro("LastModifiedDate", "datetime", "Last Modified Date", nillable=False, defaulted=True),
        _ro(
            "LastModifiedById",
            "reference",
            "Last Modified By ID",
            length=18,
            references=("User",),
            relationship="LastModifiedBy",
            defaulted=True,
        ),
        _ro("SystemModstamp", "datetime", "System Modstamp", nillable=False, defaulted=True),
    ]
    if owner:
        fields.append(
            SField(
                "OwnerId",
                "reference",
                "Owner ID",
                length=18,
                nillable=False,
                defaulted=True,
                references=("User",),
                relationship="Owner",
            )
        )
    return tuple(fields)


INDUSTRIES = picks(
    "Agriculture",
    "Banking",
    "Biotechnology",
    "Communications",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Finance",
    "Healthcare",
    "Insurance",
    "Manufacturing",
    "Media",
    "Retail",
    "Technology",
    "Transportation",
    "Other",
)
LEAD_SOURCES = picks("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
LEAD_STATUSES = picks(
    "Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted", default="Open - Not Contacted"
)
STAGES = picks(
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Id. Decision Makers",
    "Perception Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
)
# Stage -> (probability %, IsClosed, IsWon), from the default sales process.
STAGE_FACTS = {
    "Prospecting": (10, False, False),
    "Qualification": (10, False, False),
    "Needs Analysis": (20, False, False),
    "Value Proposition": (50, False, False),
    "Id. Decision Makers": (60, False, False),
    "Perception Analysis": (70, False, False),
    "Proposal/Price Quote": (75, False, False),
    "Negotiation/Review": (90, False, False),
    "Closed Won": (100, True, True),
    "Closed Lost": (0, True, False),
}


def _address(prefix: str) -> tuple[SField, ...]:
    return (
        SField(f"{prefix}Street", "textarea", f"{prefix or ''} Street".strip(), 255),
        SField(f"{prefix}City", "string", f"{prefix or ''} City".strip(), 40),
        SField(f"{prefix}State", "string", f"{prefix or ''} State/Province".strip(), 80),
        SField(f"{prefix}PostalCode", "string", f"{prefix or ''} Zip/Postal Code".strip(), 20),
        SField(f"{prefix}Country", "string", f"{prefix or ''} Country".strip(), 80),
    )


OBJECTS: dict[str, tuple[SField, ...]] = {
    "Account": system_fields()
    + (
        SField("Name", "string", "Account Name", 255, nillable=False),
        SField("Website", "url", "Website", 255),
        SField("Phone", "phone", "Account Phone", 40),
        SField("Industry", "picklist", "Industry", 255, picklist=INDUSTRIES),
        SField(
            "Type",
            "picklist",
            "Account Type",
            255,
            picklist=picks("Prospect", "Customer - Direct", "Customer - Channel", "Channel Partner / Reseller", "Other"),
        ),
        SField("NumberOfEmployees", "int", "Employees"),
        SField("AnnualRevenue", "currency", "Annual Revenue"),
        SField("Description", "textarea", "Account Description", 32000),
        SField("ParentId", "reference", "Parent Account ID", 18, references=("Account",), relationship="Parent"),
    )
    + _address("Billing"),
    "Contact": system_fields()
    + (
        SField("FirstName", "string", "First Name", 40),
        SField("LastName", "string", "Last Name", 80, nillable=False),
        _ro("Name", "string", "Full Name", length=121, nillable=False, defaulted=True),
        SField("Email", "email", "Email", 80),
        SField("Phone", "phone", "Business Phone", 40),
        SField("MobilePhone", "phone", "Mobile Phone", 40),
        SField("Title", "string", "Title", 128),
        SField("Department", "string", "Department", 80),
        SField("LeadSource", "picklist", "Lead Source", 255, picklist=LEAD_SOURCES),
        SField("AccountId", "reference", "Account ID", 18, references=("Account",), relationship="Account"),
        SField("Description", "textarea", "Contact Description", 32000),
    )
    + _address("Mailing"),
    "Lead": system_fields()
    + (
        SField("FirstName", "string", "First Name", 40),
        SField("LastName", "string", "Last Name", 80, nillable=False),
        _ro("Name", "string", "Full Name", length=121, nillable=False, defaulted=True),
        SField("Company", "string", "Company", 255, nillable=False),
        SField("Email", "email", "Email", 80),
        SField("Phone", "phone", "Phone", 40),
        SField("MobilePhone", "phone", "Mobile Phone", 40),
        SField("Title", "string", "Title", 128),
        SField("Website", "url", "Website", 255),
        SField("Status", "picklist", "Lead Status", 255, nillable=False, defaulted=True, picklist=LEAD_STATUSES, restricted=True),
        SField("LeadSource", "picklist", "Lead Source", 255, picklist=LEAD_SOURCES, restricted=True),
        SField("Industry", "picklist", "Industry", 255, picklist=INDUSTRIES),
        SField("Rating", "picklist", "Rating", 255, picklist=picks("Hot", "Warm", "Cold")),
        SField("NumberOfEmployees", "int", "Employees"),
        SField("AnnualRevenue", "currency", "Annual Revenue"),
        SField("Description", "textarea", "Description", 32000),
        _ro("IsConverted", "boolean", "Converted", nillable=False, defaulted=True),
        _ro("ConvertedDate", "date", "Converted Date"),
        _ro("ConvertedContactId", "reference", "Converted Contact ID", length=18, references=("Contact",)),
        _ro("ConvertedAccountId", "reference", "Converted Account ID", length=18, references=("Account",)),
        _ro("ConvertedOpportunityId", "reference", "Converted Opportunity ID", length=18, references=("Opportunity",)),
    )
    + _address(""),
    "Opportunity": system_fields()
    + (
        SField("Name", "string", "Name", 120, nillable=False),
        SField("StageName", "picklist", "Stage", 255, nillable=False, picklist=STAGES, restricted=True),
        SField("CloseDate", "date", "Close Date", nillable=False),
        SField("Amount", "currency", "Amount"),
        SField("Probability", "percent", "Probability (%)"),
        SField("Type", "picklist", "Opportunity Type", 255, picklist=picks("Existing Business", "New Business")),
        SField("LeadSource", "picklist", "Lead Source", 255, picklist=LEAD_SOURCES),
        SField("NextStep", "string", "Next Step", 255),
        SField("Description", "textarea", "Description", 32000),
        SField("AccountId", "reference", "Account ID", 18, references=("Account",), relationship="Account"),
        SField("ContactId", "reference", "Contact ID", 18, references=("Contact",), relationship="Contact"),
        _ro("IsClosed", "boolean", "Closed", nillable=False, defaulted=True),
        _ro("IsWon", "boolean", "Won", nillable=False, defaulted=True),
    ),
    "User": system_fields(owner=False)
    + (
        _ro("Username", "string", "Username", length=80, nillable=False),
        _ro("Email", "email", "Email", length=128, nillable=False),
        _ro("FirstName", "string", "First Name", length=40),
        _ro("LastName", "string", "Last Name", length=80, nillable=False),
        _ro("Name", "string", "Full Name", length=121, nillable=False, defaulted=True),
        _ro("IsActive", "boolean", "Active", nillable=False, defaulted=True),
    ),
    "Task": system_fields()
    + (
        SField("Subject", "combobox", "Subject", 255),
        SField(
            "Status",
            "picklist",
            "Status",
            255,
            nillable=False,
            defaulted=True,
            restricted=True,
            picklist=picks(
                "Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred", default="Not Started"
            ),
        ),
        SField(
            "Priority",
            "picklist",
            "Priority",
            255,
            nillable=False,
            defaulted=True,
            picklist=picks("High", "Normal", "Low", default="Normal"),
        ),
        # Set on insert only: what the task records (a call logged, an e-mail sent...).
        SField(
            "TaskSubtype",
            "picklist",
            "Task Subtype",
            255,
            update=False,
            defaulted=True,
            restricted=True,
            picklist=picks("Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn", default="Task"),
        ),
        SField("Type", "picklist", "Type", 255, picklist=picks("Call", "Email", "Meeting", "Other")),
        SField("ActivityDate", "date", "Due Date Only"),
        SField("Description", "textarea", "Comments", 32000),
        SField("CallType", "picklist", "Call Type", 255, picklist=picks("Internal", "Inbound", "Outbound"), restricted=True),
        SField("CallDurationInSeconds", "int", "Call Duration"),
        SField("CallDisposition", "string", "Call Result", 255),
        _ro("IsClosed", "boolean", "Closed", nillable=False, defaulted=True),
        SField("WhoId", "reference", "Name ID", 18, references=("Contact", "Lead"), relationship="Who"),
        SField("WhatId", "reference", "Related To ID", 18, references=("Account", "Opportunity"), relationship="What"),
        # Derived by Salesforce from WhatId (an Account, or an Opportunity's account) or a Contact WhoId.
        _ro("AccountId", "reference", "Account ID", length=18, references=("Account",), relationship="Account"),
    ),
    # StartDateTime with EndDateTime or DurationInMinutes (the other is derived), or an all-day
    # event with ActivityDate; ActivityDateTime mirrors StartDateTime.
    "Event": system_fields()
    + (
        SField("Subject", "combobox", "Subject", 255),
        SField("StartDateTime", "datetime", "Start Date Time"),
        SField("EndDateTime", "datetime", "End Date Time"),
        SField("ActivityDateTime", "datetime", "Due Date Time"),
        SField("ActivityDate", "date", "Due Date Only"),
        SField("DurationInMinutes", "int", "Duration"),
        SField("IsAllDayEvent", "boolean", "All-Day Event", nillable=False, defaulted=True),
        SField("Location", "string", "Location", 255),
        SField("Description", "textarea", "Description", 32000),
        SField("ShowAs", "picklist", "Show Time As", 255, picklist=picks("Busy", "OutOfOffice", "Free", default="Busy")),
        _ro("EventSubtype", "picklist", "Event Subtype", length=255, picklist=picks("Event", default="Event")),
        SField("WhoId", "reference", "Name ID", 18, references=("Contact", "Lead"), relationship="Who"),
        SField("WhatId", "reference", "Related To ID", 18, references=("Account", "Opportunity"), relationship="What"),
        # Derived by Salesforce from WhatId (an Account, or an Opportunity's account) or a Contact WhoId.
        _ro("AccountId", "reference", "Account ID", length=18, references=("Account",), relationship="Account"),
    ),
    "OpportunityContactRole": system_fields(owner=False)
    + (
        SField(
            "OpportunityId",
            "reference",
            "Opportunity ID",
            18,
            update=False,
            nillable=False,
            references=("Opportunity",),
            relationship="Opportunity",
        ),
        SField("ContactId", "reference", "Contact ID", 18, nillable=False, references=("Contact",), relationship="Contact"),
        SField(
            "Role",
            "picklist",
            "Role",
            255,
            picklist=picks("Business User", "Decision Maker", "Economic Buyer", "Evaluator", "Influencer", "Other"),
        ),
        SField("IsPrimary", "boolean", "Primary", nillable=False, defaulted=True),
    ),
}

LABELS = {
    "Account": ("Account", "Accounts"),
    "Contact": ("Contact", "Contacts"),
    "Lead": ("Lead", "Leads"),
    "Opportunity": ("Opportunity", "Opportunities"),
    "User": ("User", "Users"),
    "Task": ("Task", "Tasks"),
    "Event": ("Event", "Events"),
    "OpportunityContactRole": ("Contact Role", "Contact Roles"),
}
# Objects with Change Data Capture events (the standard ones SyncSmart maps).
CDC_OBJECTS = ("Account", "Contact", "Lead", "Opportunity", "Task", "Event")


def field_map(sobject: str) -> dict[str, SField]:
    return {f.name: f for f in OBJECTS[sobject]}


FIELDS = {name: field_map(name) for name in OBJECTS}
