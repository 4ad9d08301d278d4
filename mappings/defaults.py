"""Default mapping sets per system pair: the standard objects and fields seeds 003 and 004
promise (HubSpot ↔ ConnectWise: company, contact, opportunity/deal, member/owner; HubSpot ↔
Dynamics: lead + contact → contact, account → company, opportunity → deal, user → owner).

Field names are the connectors' flattened names (see connectors/<system>/connector.py).
Owners / members / system users are read-only on both sides: they are matched by exact
e-mail when an owner field is transformed, so they need no object mapping of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from mappings.match_rules import default_rules
from mappings.models import FieldMapping, Integration, ObjectMapping
from syncsmart.core.choices import Direction, Side

B, TO_HS, TO_OTHER = Direction.BOTH, Direction.TO_HUBSPOT, Direction.TO_OTHER


@dataclass(frozen=True)
class F:
    """One default field mapping (a one-letter name: the tables below hold more than a hundred)."""

    hubspot: str
    other: str
    transform: str = "none"
    direction: str = B
    hubspot_type: str = ""
    other_type: str = ""
    only_if_target_empty: bool = False
    value_map: tuple[tuple[str, str], ...] = ()  # (source value, target value), both directions in one map


@dataclass(frozen=True)
class ObjectDefault:
    """One default object mapping and its field mappings."""

    name: str
    hubspot: str
    other: str
    order: int
    hubspot_match: str = ""
    other_match: str = ""
    direction: str = B
    system_of_record: str = Side.HUBSPOT
    fields: tuple[F, ...] = field(default_factory=tuple)
    # (field, operator) or (field, operator, value) conditions on records going to HubSpot
    filter_to_hubspot: tuple[tuple[str, ...], ...] = ()
    filter_to_other: tuple[tuple[str, ...], ...] = ()


CONNECTWISE: tuple[ObjectDefault, ...] = (
    ObjectDefault(
        "Companies",
        "companies",
        "companies",
        10,
        "domain",
        "website",
        fields=(
            F("name", "name", hubspot_type="string", other_type="string"),
            F("domain", "website", hubspot_type="string", other_type="string"),
            F("phone", "phoneNumber", hubspot_type="phone", other_type="phone"),
            F("city", "city", hubspot_type="string", other_type="string"),
            F("annualrevenue", "annualRevenue", hubspot_type="number", other_type="number"),
            F("numberofemployees", "numberOfEmployees", hubspot_type="number", other_type="number"),
        ),
    ),
    ObjectDefault(
        "Contacts",
        "contacts",
        "contacts",
        20,
        "email",
        "email",
        fields=(
            F("firstname", "firstName", hubspot_type="string", other_type="string"),
            F("lastname", "lastName", hubspot_type="string", other_type="string"),
            F("email", "email", hubspot_type="email", other_type="email"),
            F("phone", "phone", hubspot_type="phone", other_type="phone"),
            F("jobtitle", "title", hubspot_type="string", other_type="string"),
            F("company", "company", "association", hubspot_type="reference", other_type="reference"),
        ),
    ),
    ObjectDefault(
        "Deals ↔ opportunities",
        "deals",
        "opportunities",
        30,
        fields=(
            F("dealname", "name", hubspot_type="string", other_type="string"),
            F("closedate", "expectedCloseDate", hubspot_type="datetime", other_type="datetime"),
            F("dealstage", "stage", "dropdown", hubspot_type="enumeration", other_type="enumeration"),
            F("description", "notes", hubspot_type="text", other_type="text"),
            F("company", "company", "association", hubspot_type="reference", other_type="reference"),
            F("contact", "contact", "association", hubspot_type="reference", other_type="reference"),
            F("hubspot_owner_id", "primarySalesRep", "owner", hubspot_type="owner", other_type="owner"),
        ),
    ),
)

DYNAMICS: tuple[ObjectDefault, ...] = (
    ObjectDefault(
        "Companies ↔ accounts",
        "companies",
        "accounts",
        10,
        "domain",
        "websiteurl",
        fields=(
            F("name", "name", hubspot_type="string", other_type="string"),
            F("domain", "websiteurl", hubspot_type="string", other_type="string"),
            F("phone", "telephone1", hubspot_type="phone", other_type="phone"),
            F("city", "address1_city", hubspot_type="string", other_type="string"),
            F("country", "address1_country", hubspot_type="string", other_type="string"),
            F("industry", "industrycode", "dropdown", hubspot_type="enumeration", other_type="enumeration"),
            F("numberofemployees", "numberofemployees", hubspot_type="number", other_type="number"),
            F("annualrevenue", "revenue", hubspot_type="number", other_type="number"),
            F("description", "description", hubspot_type="text", other_type="text"),
            F("hubspot_owner_id", "ownerid", "owner", hubspot_type="owner", other_type="owner"),
        ),
    ),
    ObjectDefault(
        "Contacts",
        "contacts",
        "contacts",
        20,
        "email",
        "emailaddress1",
        fields=(
            F("firstname", "firstname", hubspot_type="string", other_type="string"),
            F("lastname", "lastname", hubspot_type="string", other_type="string"),
            F("email", "emailaddress1", hubspot_type="email", other_type="email"),
            F("phone", "telephone1", hubspot_type="phone", other_type="phone"),
            F("mobilephone", "mobilephone", hubspot_type="phone", other_type="phone"),
            F("jobtitle", "jobtitle", hubspot_type="string", other_type="string"),
            F("city", "address1_city", hubspot_type="string", other_type="string"),
            F("country", "address1_country", hubspot_type="string", other_type="string"),
            F("company", "parentcustomerid", "association", hubspot_type="reference", other_type="reference"),
            F("hubspot_owner_id", "ownerid", "owner", hubspot_type="owner", other_type="owner"),
        ),
    ),
    # Seed 003: a Dynamics lead is a HubSpot contact. New HubSpot contacts go to Dynamics
    # contacts (mapping above), so leads flow one way, into HubSpot.
    ObjectDefault(
        "Leads → contacts",
        "contacts",
        "leads",
        25,
        "email",
        "emailaddress1",
        direction=TO_HS,
        system_of_record=Side.OTHER,
        fields=(
            F("firstname", "firstname", direction=TO_HS, hubspot_type="string", other_type="string"),
            F("lastname", "lastname", direction=TO_HS, hubspot_type="string", other_type="string"),
            F("email", "emailaddress1", direction=TO_HS, hubspot_type="email", other_type="email"),
            F("phone", "telephone1", direction=TO_HS, hubspot_type="phone", other_type="phone"),
            F("mobilephone", "mobilephone", direction=TO_HS, hubspot_type="phone", other_type="phone"),
            F("jobtitle", "jobtitle", direction=TO_HS, hubspot_type="string", other_type="string"),
            F("website", "websiteurl", direction=TO_HS, hubspot_type="string", other_type="string"),
            F("hubspot_owner_id", "ownerid", "owner", direction=TO_HS, hubspot_type="owner", other_type="owner"),
        ),
    ),
    ObjectDefault(
        "Deals ↔ opportunities",
        "deals",
        "opportunities",
        30,
        fields=(
            F("dealname", "name", hubspot_type="string", other_type="string"),
            F("amount", "estimatedvalue", hubspot_type="number", other_type="number"),
            F("closedate", "estimatedclosedate", hubspot_type="datetime", other_type="date"),
            F("description", "description", hubspot_type="text", other_type="text"),
            F("company", "parentaccountid", "association", hubspot_type="reference", other_type="reference"),
            F("contact", "parentcontactid", "association", hubspot_type="reference", other_type="reference"),
            F("hubspot_owner_id", "ownerid", "owner", hubspot_type="owner", other_type="owner"),
        ),
    ),
)

# HubSpot deal stages (the default and the renewals pipeline) <-> Salesforce's default sales
# process, as one value map: the keys of the two directions never collide. Every HubSpot stage needs
# a row: StageName is required, so an unmapped stage fails the deal (REQUIRED_FIELD_MISSING). An
# open renewal goes by its probability (50 %) to Value Proposition; won / lost renewals to Closed
# Won / Closed Lost, which come back to HubSpot as the default pipeline's closed stages.
SALESFORCE_STAGES: tuple[tuple[str, str], ...] = (
    ("appointmentscheduled", "Prospecting"),
    ("qualifiedtobuy", "Qualification"),
    ("presentationscheduled", "Value Proposition"),
    ("decisionmakerboughtin", "Id. Decision Makers"),
    ("contractsent", "Negotiation/Review"),
    ("closedwon", "Closed Won"),
    ("closedlost", "Closed Lost"),
    ("renewalopen", "Value Proposition"),
    ("renewalwon", "Closed Won"),
    ("renewallost", "Closed Lost"),
    ("Prospecting", "appointmentscheduled"),
    ("Qualification", "qualifiedtobuy"),
    ("Needs Analysis", "qualifiedtobuy"),
    ("Value Proposition", "presentationscheduled"),
    ("Id. Decision Makers", "decisionmakerboughtin"),
    ("Perception Analysis", "decisionmakerboughtin"),
    ("Proposal/Price Quote", "contractsent"),
    ("Negotiation/Review", "contractsent"),
    ("Closed Won", "closedwon"),
    ("Closed Lost", "closedlost"),
)

# HubSpot <-> Salesforce (seed 000, issue 23). A HubSpot contact is a Salesforce Lead until the lead
# is converted, then the Contact it became: both mappings sync both ways. A new HubSpot contact that
# matches an existing Contact by e-mail is linked to it; one that matches none becomes a Lead (the
# Contact mapping creates no Contact: engine/flow/conversions.py). When a lead is converted its link
# moves to ConvertedContactId (no second HubSpot contact, no second Contact) and the converted,
# read-only lead is never written to again; a converted lead never synced is left out (the filter).
SALESFORCE: tuple[ObjectDefault, ...] = (
    ObjectDefault(
        "Companies ↔ accounts",
        "companies",
        "Account",
        10,
        "domain",
        "Website",
        fields=(
            F("name", "Name", hubspot_type="string", other_type="string"),
            F("domain", "Website", hubspot_type="string", other_type="string"),
            F("phone", "Phone", hubspot_type="phone", other_type="phone"),
            F("city", "BillingCity", hubspot_type="string", other_type="string"),
            F("country", "BillingCountry", hubspot_type="string", other_type="string"),
            F("industry", "Industry", "dropdown", hubspot_type="enumeration", other_type="enumeration"),
            F("numberofemployees", "NumberOfEmployees", hubspot_type="number", other_type="number"),
            F("annualrevenue", "AnnualRevenue", hubspot_type="number", other_type="number"),
            F("description", "Description", hubspot_type="text", other_type="text"),
            F("hubspot_owner_id", "OwnerId", "owner", hubspot_type="owner", other_type="owner"),
        ),
    ),
    ObjectDefault(
        "Contacts",
        "contacts",
        "Contact",
        20,
        "email",
        "Email",
        fields=(
            F("firstname", "FirstName", hubspot_type="string", other_type="string"),
            F("lastname", "LastName", hubspot_type="string", other_type="string"),
            F("email", "Email", hubspot_type="email", other_type="email"),
            F("phone", "Phone", hubspot_type="phone", other_type="phone"),
            F("mobilephone", "MobilePhone", hubspot_type="phone", other_type="phone"),
            F("jobtitle", "Title", hubspot_type="string", other_type="string"),
            F("city", "MailingCity", hubspot_type="string", other_type="string"),
            F("country", "MailingCountry", hubspot_type="string", other_type="string"),
            F("company", "AccountId", "association", hubspot_type="reference", other_type="reference"),
            F("hubspot_owner_id", "OwnerId", "owner", hubspot_type="owner", other_type="owner"),
        ),
    ),
    ObjectDefault(
        "Contacts ↔ leads",
        "contacts",
        "Lead",
        25,
        "email",
        "Email",
        filter_to_hubspot=(("ConvertedContactId", "is_empty"),),
        fields=(
            F("firstname", "FirstName", hubspot_type="string", other_type="string"),
            F("lastname", "LastName", hubspot_type="string", other_type="string"),
            F("email", "Email", hubspot_type="email", other_type="email"),
            F("company_name", "Company", hubspot_type="string", other_type="string"),
            F("phone", "Phone", hubspot_type="phone", other_type="phone"),
            F("mobilephone", "MobilePhone", hubspot_type="phone", other_type="phone"),
            F("jobtitle", "Title", hubspot_type="string", other_type="string"),
            F("website", "Website", hubspot_type="string", other_type="string"),
            F("city", "City", hubspot_type="string", other_type="string"),
            F("country", "Country", hubspot_type="string", other_type="string"),
            F("hubspot_owner_id", "OwnerId", "owner", hubspot_type="owner", other_type="owner"),
        ),
    ),
    ObjectDefault(
        "Deals ↔ opportunities",
        "deals",
        "Opportunity",
        30,
        fields=(
            F("dealname", "Name", hubspot_type="string", other_type="string"),
            F("amount", "Amount", hubspot_type="number", other_type="number"),
            F("closedate", "CloseDate", hubspot_type="datetime", other_type="date"),
            F(
                "dealstage",
                "StageName",
                "dropdown",
                hubspot_type="enumeration",
                other_type="enumeration",
                value_map=SALESFORCE_STAGES,
            ),
            F("description", "Description", hubspot_type="text", other_type="text"),
            F("company", "AccountId", "association", hubspot_type="reference", other_type="reference"),
            F("contact", "ContactId", "association", hubspot_type="reference", other_type="reference"),
            F("hubspot_owner_id", "OwnerId", "owner", hubspot_type="owner", other_type="owner"),
        ),
    ),
)

# NetSuite keeps companies and individuals in one record type, customer: `isPerson` tells them
# apart. Companies go to HubSpot companies, individuals to HubSpot contacts (one way, as leads do
# for Dynamics); the rule is each object mapping's filter on isPerson, which the customer edits.
NETSUITE: tuple[ObjectDefault, ...] = (
    ObjectDefault(
        "Companies ↔ customers",
        "companies",
        "customers",
        10,
        "domain",
        "url",
        filter_to_hubspot=(("isPerson", "eq", "false"),),
        fields=(
            F("name", "companyName", hubspot_type="string", other_type="string"),
            F("domain", "url", "domain", hubspot_type="string", other_type="string"),
            F("phone", "phone", hubspot_type="phone", other_type="phone"),
            F("description", "comments", hubspot_type="text", other_type="text"),
            F("hubspot_owner_id", "salesRep", "owner", hubspot_type="owner", other_type="owner"),
        ),
    ),
    ObjectDefault(
        "Contacts",
        "contacts",
        "contacts",
        20,
        "email",
        "email",
        fields=(
            F("firstname", "firstName", hubspot_type="string", other_type="string"),
            F("lastname", "lastName", hubspot_type="string", other_type="string"),
            F("email", "email", hubspot_type="email", other_type="email"),
            F("phone", "phone", hubspot_type="phone", other_type="phone"),
            F("mobilephone", "mobilePhone", hubspot_type="phone", other_type="phone"),
            F("jobtitle", "title", hubspot_type="string", other_type="string"),
            F("company", "company", "association", hubspot_type="reference", other_type="reference"),
        ),
    ),
    ObjectDefault(
        "Individual customers → contacts",
        "contacts",
        "customers",
        25,
        "email",
        "email",
        direction=TO_HS,
        system_of_record=Side.OTHER,
        filter_to_hubspot=(("isPerson", "eq", "true"),),
        fields=(
            F("firstname", "firstName", direction=TO_HS, hubspot_type="string", other_type="string"),
            F("lastname", "lastName", direction=TO_HS, hubspot_type="string", other_type="string"),
            F("email", "email", direction=TO_HS, hubspot_type="email", other_type="email"),
            F("phone", "phone", direction=TO_HS, hubspot_type="phone", other_type="phone"),
            F("hubspot_owner_id", "salesRep", "owner", direction=TO_HS, hubspot_type="owner", other_type="owner"),
        ),
    ),
    ObjectDefault(
        "Deals ↔ opportunities",
        "deals",
        "opportunities",
        30,
        fields=(
            F("dealname", "title", hubspot_type="string", other_type="string"),
            F("amount", "projectedTotal", hubspot_type="number", other_type="number"),
            F("closedate", "expectedCloseDate", hubspot_type="datetime", other_type="date"),
            F("description", "memo", hubspot_type="text", other_type="text"),
            F("company", "entity", "association", hubspot_type="reference", other_type="reference"),
            F("hubspot_owner_id", "salesRep", "owner", hubspot_type="owner", other_type="owner"),
        ),
    ),
)

# Activities (seed 001, issue 19): after their parents (order 40+), never created without one.
# HubSpot keeps note and call bodies as HTML, Dynamics as plain text: the engine converts and
# truncates to the target's length (syncsmart/engine/bodies.py). A Dynamics note or phone call
# hangs off one record (objectid / regardingobjectid): its contact here.
DYNAMICS_ACTIVITIES: tuple[ObjectDefault, ...] = (
    ObjectDefault(
        "Notes ↔ notes",
        "notes",
        "annotations",
        40,
        fields=(
            F("hs_note_body", "notetext", hubspot_type="text", other_type="text"),
            # HubSpot requires an activity date; a Dynamics note has only its creation time
            F(
                "hs_timestamp",
                "createdon",
                direction=TO_HS,
                hubspot_type="datetime",
                other_type="datetime",
                only_if_target_empty=True,
            ),
            F("contact", "objectid", "association", hubspot_type="reference", other_type="reference"),
        ),
    ),
    ObjectDefault(
        "Calls ↔ phone calls",
        "calls",
        "phonecalls",
        45,
        fields=(
            F("hs_call_title", "subject", hubspot_type="string", other_type="string"),
            F("hs_call_body", "description", hubspot_type="text", other_type="text"),
            F("hs_call_to_number", "phonenumber", hubspot_type="phone", other_type="phone"),
            F(
                "hs_timestamp",
                "createdon",
                direction=TO_HS,
                hubspot_type="datetime",
                other_type="datetime",
                only_if_target_empty=True,
            ),
            F("hs_timestamp", "actualend", direction=TO_OTHER, hubspot_type="datetime", other_type="datetime"),
            F("contact", "regardingobjectid", "association", hubspot_type="reference", other_type="reference"),
            # every contact of the engagement <-> the activity's parties that are contacts (connectors/dynamics/parties.py)
            F("contacts", "parties", "association", hubspot_type="reference", other_type="reference"),
        ),
    ),
    ObjectDefault(
        "Tasks ↔ tasks",
        "tasks",
        "tasks",
        46,
        fields=(
            F("hs_task_subject", "subject", hubspot_type="string", other_type="string"),
            F("hs_task_body", "description", hubspot_type="text", other_type="text"),
            # HubSpot's task date is its due date; a Dynamics task without one falls back to its creation
            F(
                "hs_timestamp",
                "createdon",
                direction=TO_HS,
                hubspot_type="datetime",
                other_type="datetime",
                only_if_target_empty=True,
            ),
            F("hs_timestamp", "scheduledend", direction=TO_OTHER, hubspot_type="datetime", other_type="datetime"),
            F(
                "hs_task_priority",
                "prioritycode",
                "dropdown",
                hubspot_type="enumeration",
                other_type="enumeration",
                value_map=(("LOW", "0"), ("MEDIUM", "1"), ("HIGH", "2")),
            ),
            F("contact", "regardingobjectid", "association", hubspot_type="reference", other_type="reference"),
        ),
    ),
    ObjectDefault(
        "E-mails ↔ e-mails",
        "emails",
        "emails",
        47,
        fields=(
            F("hs_email_subject", "subject", hubspot_type="string", other_type="string"),
            F("hs_email_text", "description", hubspot_type="text", other_type="text"),
            F(
                "hs_timestamp",
                "createdon",
                direction=TO_HS,
                hubspot_type="datetime",
                other_type="datetime",
                only_if_target_empty=True,
            ),
            F("hs_timestamp", "actualend", direction=TO_OTHER, hubspot_type="datetime", other_type="datetime"),
            F("contact", "regardingobjectid", "association", hubspot_type="reference", other_type="reference"),
            # every contact of the engagement <-> the activity's parties that are contacts (connectors/dynamics/parties.py)
            F("contacts", "parties", "association", hubspot_type="reference", other_type="reference"),
        ),
    ),
    ObjectDefault(
        "Meetings ↔ appointments",
        "meetings",
        "appointments",
        48,
        fields=(
            F("hs_meeting_title", "subject", hubspot_type="string", other_type="string"),
            F("hs_meeting_body", "description", hubspot_type="text", other_type="text"),
            F("hs_meeting_location", "location", hubspot_type="string", other_type="string"),
            F("hs_meeting_start_time", "scheduledstart", hubspot_type="datetime", other_type="datetime"),
            F("hs_meeting_end_time", "scheduledend", hubspot_type="datetime", other_type="datetime"),
            F("hs_timestamp", "scheduledstart", direction=TO_HS, hubspot_type="datetime", other_type="datetime"),
            F("contact", "regardingobjectid", "association", hubspot_type="reference", other_type="reference"),
            # every contact of the engagement <-> the activity's parties that are contacts (connectors/dynamics/parties.py)
            F("contacts", "parties", "association", hubspot_type="reference", other_type="reference"),
        ),
    ),
)


def _cw_activity(name: str, hubspot: str, other: str, order: int, subject: str, body: str, *extra: F) -> ObjectDefault:
    """A HubSpot engagement ↔ ConnectWise sales activities of the matching type, with all three
    parents (contact, company, deal ↔ opportunity) and the owner ↔ assignTo."""
    return ObjectDefault(
        name,
        hubspot,
        other,
        order,
        fields=(
            F(subject, "name", hubspot_type="string", other_type="string"),
            F(body, "notes", hubspot_type="text", other_type="text"),
            F("hs_timestamp", "dateStart", hubspot_type="datetime", other_type="datetime"),
            *extra,
            F("contact", "contact", "association", hubspot_type="reference", other_type="reference"),
            F("company", "company", "association", hubspot_type="reference", other_type="reference"),
            F("deal", "opportunity", "association", hubspot_type="reference", other_type="reference"),
            F("hubspot_owner_id", "assignTo", "owner", hubspot_type="owner", other_type="owner"),
        ),
    )


# Activities HubSpot ↔ ConnectWise (issue 19): notes ↔ contact notes (a note on a contact) or
# company notes (a note on a company only); calls, e-mails, tasks and meetings ↔ sales activities
# of the type Call, Email, Task, Meeting (the connector's per-type object types). After parents.
CONNECTWISE_ACTIVITIES: tuple[ObjectDefault, ...] = (
    ObjectDefault(
        "Notes ↔ contact notes",
        "notes",
        "contact_notes",
        40,
        fields=(
            F("hs_note_body", "text", hubspot_type="text", other_type="text"),
            F(
                "hs_timestamp",
                "dateEntered",
                direction=TO_HS,
                hubspot_type="datetime",
                other_type="datetime",
                only_if_target_empty=True,
            ),
            F("contact", "contact", "association", hubspot_type="reference", other_type="reference"),
        ),
    ),
    ObjectDefault(
        "Notes ↔ company notes",
        "notes",
        "company_notes",
        41,
        fields=(
            F("hs_note_body", "text", hubspot_type="text", other_type="text"),
            F(
                "hs_timestamp",
                "dateEntered",
                direction=TO_HS,
                hubspot_type="datetime",
                other_type="datetime",
                only_if_target_empty=True,
            ),
            F("company", "company", "association", hubspot_type="reference", other_type="reference"),
        ),
        filter_to_other=(("contact", "is_empty"),),  # a note on a contact goes to the contact only
    ),
    _cw_activity("Calls ↔ call activities", "calls", "call_activities", 45, "hs_call_title", "hs_call_body"),
    _cw_activity("E-mails ↔ e-mail activities", "emails", "email_activities", 46, "hs_email_subject", "hs_email_text"),
    _cw_activity("Tasks ↔ task activities", "tasks", "task_activities", 47, "hs_task_subject", "hs_task_body"),
    _cw_activity(
        "Meetings ↔ meeting activities",
        "meetings",
        "meeting_activities",
        48,
        "hs_meeting_title",
        "hs_meeting_body",
        F("hs_meeting_end_time", "dateEnd", hubspot_type="datetime", other_type="datetime"),
    ),
)


def _sf_activity(name: str, hubspot: str, other: str, order: int, *fields: F) -> ObjectDefault:
    """A HubSpot engagement ↔ a Salesforce Task subtype or Event: its contact ↔ WhoId (a Contact,
    or the Lead a contact still is), its deal ↔ WhatId as an Opportunity, its company → WhatId as
    the Account when there is no deal, the owner ↔ OwnerId."""
    return ObjectDefault(
        name,
        hubspot,
        other,
        order,
        fields=(
            *fields,
            F("contact", "WhoId", "association", hubspot_type="reference", other_type="reference"),
            # WhatId names an Account or an Opportunity (connectors/salesforce/related.py): the deal
            # both ways (it wins over the company), the company one way (Salesforce derives the
            # activity's account from its opportunity)
            F("deal", "WhatId_Opportunity", "association", hubspot_type="reference", other_type="reference"),
            F(
                "company",
                "WhatId_Account",
                "association",
                direction=TO_OTHER,
                hubspot_type="reference",
                other_type="reference",
            ),
            F("hubspot_owner_id", "OwnerId", "owner", hubspot_type="owner", other_type="owner"),
        ),
    )


def _created_fills_timestamp() -> F:
    """HubSpot requires an activity date; a Salesforce task without a due date gives its creation."""
    return F(
        "hs_timestamp",
        "CreatedDate",
        direction=TO_HS,
        hubspot_type="datetime",
        other_type="datetime",
        only_if_target_empty=True,
    )


SF_TASK_STATUS = (
    ("NOT_STARTED", "Not Started"),
    ("IN_PROGRESS", "In Progress"),
    ("WAITING", "Waiting on someone else"),
    ("COMPLETED", "Completed"),
    ("DEFERRED", "Deferred"),
    ("Not Started", "NOT_STARTED"),
    ("In Progress", "IN_PROGRESS"),
    ("Waiting on someone else", "WAITING"),
    ("Completed", "COMPLETED"),
    ("Deferred", "DEFERRED"),
)
SF_CALL_STATUS = (
    ("COMPLETED", "Completed"),
    ("BUSY", "Completed"),
    ("NO_ANSWER", "Completed"),
    ("FAILED", "Completed"),
    ("CANCELED", "Deferred"),
    ("IN_PROGRESS", "In Progress"),
    ("CONNECTING", "In Progress"),
    ("RINGING", "In Progress"),
    ("CALLING_CRM_USER", "In Progress"),
    ("QUEUED", "Not Started"),
    ("Completed", "COMPLETED"),
    ("In Progress", "IN_PROGRESS"),
    ("Not Started", "QUEUED"),
    ("Waiting on someone else", "QUEUED"),
    ("Deferred", "CANCELED"),
)
SF_EMAIL_STATUS = (
    ("SENT", "Completed"),
    ("BOUNCED", "Completed"),
    ("FAILED", "Completed"),
    ("SENDING", "In Progress"),
    ("SCHEDULED", "Not Started"),
    ("Completed", "SENT"),
    ("In Progress", "SENDING"),
    ("Not Started", "SCHEDULED"),
    ("Waiting on someone else", "SCHEDULED"),
    ("Deferred", "SCHEDULED"),
)

# Activities HubSpot ↔ Salesforce (issue 23): calls, e-mails and tasks ↔ Task by TaskSubtype (the
# connector's "Task.Call", "Task.Email" and "Task" object types), meetings ↔ Event; after their
# parents (order 40+), never created without one. Notes are not synced: Salesforce keeps them as
# ContentNote files shared to records (ContentDocumentLink), which the connector and the emulator do
# not serve.
SALESFORCE_ACTIVITIES: tuple[ObjectDefault, ...] = (
    _sf_activity(
        "Calls ↔ call tasks",
        "calls",
        "Task.Call",
        45,
        F("hs_call_title", "Subject", hubspot_type="string", other_type="string"),
        F("hs_call_body", "Description", hubspot_type="text", other_type="text"),
        F("hs_call_status", "Status", "dropdown", hubspot_type="enumeration", other_type="enumeration", value_map=SF_CALL_STATUS),
        F(
            "hs_call_direction",
            "CallType",
            "dropdown",
            hubspot_type="enumeration",
            other_type="enumeration",
            value_map=(("INBOUND", "Inbound"), ("OUTBOUND", "Outbound"), ("Inbound", "INBOUND"), ("Outbound", "OUTBOUND")),
        ),
        F("hs_timestamp", "ActivityDate", direction=TO_OTHER, hubspot_type="datetime", other_type="date"),
        _created_fills_timestamp(),
    ),
    _sf_activity(
        "E-mails ↔ e-mail tasks",
        "emails",
        "Task.Email",
        46,
        F("hs_email_subject", "Subject", hubspot_type="string", other_type="string"),
        F("hs_email_text", "Description", hubspot_type="text", other_type="text"),
        F(
            "hs_email_status",
            "Status",
            "dropdown",
            hubspot_type="enumeration",
            other_type="enumeration",
            value_map=SF_EMAIL_STATUS,
        ),
        F("hs_timestamp", "ActivityDate", direction=TO_OTHER, hubspot_type="datetime", other_type="date"),
        _created_fills_timestamp(),
    ),
    _sf_activity(
        "Tasks ↔ tasks",
        "tasks",
        "Task",
        47,
        F("hs_task_subject", "Subject", hubspot_type="string", other_type="string"),
        F("hs_task_body", "Description", hubspot_type="text", other_type="text"),
        F("hs_task_status", "Status", "dropdown", hubspot_type="enumeration", other_type="enumeration", value_map=SF_TASK_STATUS),
        F(
            "hs_task_priority",
            "Priority",
            "dropdown",
            hubspot_type="enumeration",
            other_type="enumeration",
            value_map=(
                ("LOW", "Low"),
                ("MEDIUM", "Normal"),
                ("NONE", "Normal"),
                ("HIGH", "High"),
                ("Low", "LOW"),
                ("Normal", "MEDIUM"),
                ("High", "HIGH"),
            ),
        ),
        F("hs_timestamp", "ActivityDate", direction=TO_OTHER, hubspot_type="datetime", other_type="date"),
        _created_fills_timestamp(),
    ),
    _sf_activity(
        "Meetings ↔ events",
        "meetings",
        "Event",
        48,
        F("hs_meeting_title", "Subject", hubspot_type="string", other_type="string"),
        F("hs_meeting_body", "Description", hubspot_type="text", other_type="text"),
        F("hs_meeting_location", "Location", hubspot_type="string", other_type="string"),
        F("hs_meeting_start_time", "StartDateTime", hubspot_type="datetime", other_type="datetime"),
        F("hs_meeting_end_time", "EndDateTime", hubspot_type="datetime", other_type="datetime"),
        F("hs_timestamp", "StartDateTime", direction=TO_HS, hubspot_type="datetime", other_type="datetime"),
    ),
)

DEFAULT_SETS: dict[str, tuple[ObjectDefault, ...]] = {
    "connectwise": CONNECTWISE + CONNECTWISE_ACTIVITIES,
    "dynamics": DYNAMICS + DYNAMICS_ACTIVITIES,
    "salesforce": SALESFORCE + SALESFORCE_ACTIVITIES,
    "netsuite": NETSUITE,
}


def _filter(conditions: tuple[tuple[str, ...], ...]) -> dict:
    rows = [{"field": c[0], "operator": c[1], **({"value": c[2]} if len(c) > 2 else {})} for c in conditions]
    return {"match": "all", "conditions": rows} if rows else {}


def default_set_for(system: str) -> tuple[ObjectDefault, ...]:
    return DEFAULT_SETS.get(system, ())


def _schema_names(connection, object_type: str) -> dict[str, str] | None:
    fields = (connection.schema_cache or {}).get(object_type)
    if not fields:
        return None  # not discovered yet: trust the table
    return {f["name"]: f.get("type", "") for f in fields if isinstance(f, dict)}


def object_settings(system: str, spec: ObjectDefault) -> dict:
    """An object mapping's settings as the default set installs them."""
    return dict(
        name=spec.name,
        order=spec.order,
        direction=spec.direction,
        hubspot_match_field=spec.hubspot_match,
        other_match_field=spec.other_match,
        match_rules=default_rules(system, spec.hubspot, spec.other),
        system_of_record=spec.system_of_record,
        filter_to_hubspot=_filter(spec.filter_to_hubspot),
        filter_to_other=_filter(spec.filter_to_other),
        is_default=True,
    )


def default_field_rows(integration: Integration, spec: ObjectDefault, *, check_schema: bool = True) -> list[tuple[F, dict]]:
    """(default field, its row's values) for each default field both connected accounts have (per
    their discovered schemas; all of them before discovery, or when `check_schema` is off: a field
    a newer connector adds is missing from a schema discovered before it)."""
    hub_schema = _schema_names(integration.hubspot_connection, spec.hubspot)
    other_schema = _schema_names(integration.other_connection, spec.other)
    rows = []
    for position, f in enumerate(spec.fields):
        missing = (hub_schema is not None and f.hubspot not in hub_schema) or (
            other_schema is not None and f.other not in other_schema
        )
        if missing and check_schema:
            continue
        values = dict(
            direction=f.direction,
            transform=f.transform,
            order=position * 10,
            is_default=True,
            enabled=True,
            only_if_target_empty=f.only_if_target_empty,
            value_map=dict(f.value_map),
            hubspot_type=(hub_schema or {}).get(f.hubspot) or f.hubspot_type,
            other_type=(other_schema or {}).get(f.other) or f.other_type,
        )
        rows.append((f, values))
    return rows


@transaction.atomic
def install_default_set(integration: Integration, *, reset: bool = False) -> tuple[list[ObjectMapping], int]:
    """Create the default object and field mappings that are missing. Returns (mappings, added).

    Idempotent: re-installing adds nothing that exists. `reset` restores default rows to their
    default direction / transform; custom mappings the customer added are never touched.
    A default field the connected account does not have (per its discovered schema) is skipped."""
    added = 0
    mappings = []
    for spec in default_set_for(integration.other_system):
        obj, created = ObjectMapping.objects.get_or_create(
            integration=integration,
            hubspot_object=spec.hubspot,
            other_object=spec.other,
            defaults=object_settings(integration.other_system, spec),
        )
        added += created
        if reset and not created:
            for name, value in object_settings(integration.other_system, spec).items():
                setattr(obj, name, value)
            obj.enabled = True
            obj.save()
        for f, values in default_field_rows(integration, spec):
            existing = FieldMapping.objects.filter(object_mapping=obj, hubspot_field=f.hubspot, other_field=f.other).first()
            if existing is None:
                FieldMapping.objects.create(object_mapping=obj, hubspot_field=f.hubspot, other_field=f.other, **values)
                added += 1
            elif reset:
                FieldMapping.objects.filter(pk=existing.pk).update(**values)
        mappings.append(obj)
    return mappings, added
