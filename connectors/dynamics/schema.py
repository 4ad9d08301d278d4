"""The Dataverse tables the emulator serves, as their metadata describes them.

A curated subset of the standard columns of account, contact, lead, opportunity and
systemuser, with Dataverse's logical names, attribute types, lengths, lookup targets and the
standard option sets (labels in English, 1033, and German, 1031, for a few, so the localized
label path is exercised). The connector never imports this: it discovers the same facts
through EntityDefinitions, as it must against the real service.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ENGLISH, GERMAN = 1033, 1031


@dataclass(frozen=True)
class Opt:
    value: int
    label: str
    state: int | None = None  # statuscode options: the statecode they belong to
    german: str | None = None

    def labels(self) -> dict[int, str]:
        return {ENGLISH: self.label, **({GERMAN: self.german} if self.german else {})}


@dataclass(frozen=True)
class Attr:
    name: str
    # Dataverse AttributeType: String Memo Integer BigInt Money Decimal Boolean DateTime Picklist
    # State Status Lookup Customer Owner Uniqueidentifier
    type: str
    label: str
    max_length: int | None = None
    format: str | None = None  # String: Email, Phone, Url, Text; DateTime: DateOnly, DateAndTime
    required: str = "None"  # None / ApplicationRequired / SystemRequired
    targets: tuple[str, ...] = ()  # lookups: target logical names
    options: tuple[Opt, ...] = ()
    create: bool = True
    update: bool = True

    @property
    def is_lookup(self) -> bool:
        return self.type in ("Lookup", "Customer", "Owner")

    @property
    def has_options(self) -> bool:
        return self.type in ("Picklist", "State", "Status")

    def navigation(self, target: str) -> str:
        """The single-valued navigation property used to bind this lookup to `target`
        (`ownerid` is one property for every owner type)."""
        return self.name if self.type == "Owner" or len(self.targets) == 1 else f"{self.name}_{target}"

    def option(self, value: int) -> Opt | None:
        return next((o for o in self.options if o.value == value), None)


@dataclass(frozen=True)
class Entity:
    logical: str
    set_name: str
    primary_id: str
    primary_name: str
    display: str
    object_type_code: int
    attrs: tuple[Attr, ...] = field(default_factory=tuple)

    def attr(self, name: str) -> Attr | None:
        return next((a for a in self.attrs if a.name == name), None)

    def by_navigation(self, nav: str) -> tuple[Attr, str] | None:
        for a in self.attrs:
            for target in a.targets:
                if a.navigation(target) == nav:
                    return a, target
        return None


def options(*items: tuple) -> tuple[Opt, ...]:
    """(value, label) or (value, label, german label)."""
    return tuple(Opt(item[0], item[1], german=item[2] if len(item) > 2 else None) for item in items)


def status_options(*items: tuple) -> tuple[Opt, ...]:
    """(value, label, state)."""
    return tuple(Opt(v, label, state=state) for v, label, state in items)


INDUSTRY = options(
    (1, "Accounting", "Buchhaltung"),
    (2, "Agriculture and Non-petrol Natural Resource Extraction"),
    (3, "Broadcasting Printing and Publishing"),
    (4, "Brokers"),
    (5, "Building Supply Retail"),
    (6, "Business Services"),
    (7, "Consulting", "Beratung"),
    (8, "Consumer Services"),
    (9, "Design, Direction and Creative Management"),
    (10, "Distributors, Dispatchers and Processors"),
    (11, "Doctor's Offices and Clinics"),
    (12, "Durable Manufacturing"),
    (13, "Eating and Drinking Places"),
    (14, "Entertainment Retail"),
    (15, "Equipment Rental and Leasing"),
    (16, "Financial", "Finanzen"),
    (17, "Food and Tobacco Processing"),
    (18, "Inbound Capital Intensive Processing"),
    (19, "Inbound Repair and Services"),
    (20, "Insurance", "Versicherung"),
    (21, "Legal Services"),
    (22, "Non-Durable Merchandise Retail"),
    (23, "Outbound Consumer Service"),
    (24, "Petrochemical Extraction and Distribution"),
    (25, "Service Retail"),
    (26, "SIG Affiliations"),
    (27, "Social Services"),
    (28, "Special Outbound Trade Contractors"),
    (29, "Specialty Realty"),
    (30, "Transportation"),
    (31, "Utility Creation and Distribution"),
    (32, "Vehicle Retail"),
    (33, "Wholesale"),
)
CUSTOMER_TYPE = options(
    (1, "Competitor"),
    (2, "Consultant"),
    (3, "Customer", "Kunde"),
    (4, "Investor"),
    (5, "Partner"),
    (6, "Influencer"),
    (7, "Press"),
    (8, "Prospect", "Interessent"),
    (9, "Reseller"),
    (10, "Supplier"),
    (11, "Vendor"),
    (12, "Other"),
)
LEAD_SOURCE = options(
    (1, "Advertisement", "Anzeige"),
    (2, "Employee Referral"),
    (3, "External Referral"),
    (4, "Partner"),
    (5, "Public Relations"),
    (6, "Seminar"),
    (7, "Trade Show", "Messe"),
    (8, "Web"),
    (9, "Word of Mouth"),
    (10, "Other"),
)
RATING = options((1, "Hot", "Heiß"), (2, "Warm"), (3, "Cold", "Kalt"))
CONTACT_METHOD = options((1, "Any"), (2, "Email"), (3, "Phone"), (4, "Fax"), (5, "Mail"))
SALES_STAGE = options((0, "Qualify"), (1, "Develop"), (2, "Propose"), (3, "Close"))


def owner() -> Attr:
    return Attr("ownerid", "Owner", "Owner", required="SystemRequired", targets=("systemuser", "team"))  # no team table here


def audit_attrs() -> tuple[Attr, ...]:
    return (
        Attr("createdon", "DateTime", "Created On", format="DateAndTime", create=False, update=False),
        Attr("modifiedon", "DateTime", "Modified On", format="DateAndTime", create=False, update=False),
        Attr("versionnumber", "BigInt", "Version Number", create=False, update=False),
    )


def active_inactive() -> tuple[Attr, ...]:
    return (
        Attr(
            "statecode",
            "State",
            "Status",
            required="SystemRequired",
            options=options((0, "Active", "Aktiv"), (1, "Inactive", "Inaktiv")),
        ),
        Attr("statuscode", "Status", "Status Reason", options=status_options((1, "Active", 0), (2, "Inactive", 1))),
    )


ACCOUNT = Entity(
    "account",
    "accounts",
    "accountid",
    "name",
    "Account",
    1,
    (
        Attr("accountid", "Uniqueidentifier", "Account", update=False),
        Attr("name", "String", "Account Name", max_length=160, required="ApplicationRequired"),
        Attr("accountnumber", "String", "Account Number", max_length=20),
        Attr("websiteurl", "String", "Website", max_length=200, format="Url"),
        Attr("emailaddress1", "String", "Email", max_length=100, format="Email"),
        Attr("telephone1", "String", "Main Phone", max_length=50, format="Phone"),
        Attr("address1_line1", "String", "Address 1: Street 1", max_length=250),
        Attr("address1_city", "String", "Address 1: City", max_length=80),
        Attr("address1_stateorprovince", "String", "Address 1: State/Province", max_length=50),
        Attr("address1_postalcode", "String", "Address 1: ZIP/Postal Code", max_length=20),
        Attr("address1_country", "String", "Address 1: Country/Region", max_length=80),
        Attr("industrycode", "Picklist", "Industry", options=INDUSTRY),
        Attr("customertypecode", "Picklist", "Relationship Type", options=CUSTOMER_TYPE),
        Attr("numberofemployees", "Integer", "Number of Employees"),
        Attr("revenue", "Money", "Annual Revenue"),
        Attr("description", "Memo", "Description", max_length=2000),
        Attr("primarycontactid", "Lookup", "Primary Contact", targets=("contact",)),
        Attr("parentaccountid", "Lookup", "Parent Account", targets=("account",)),
        owner(),
        *active_inactive(),
        *audit_attrs(),
    ),
)

CONTACT = Entity(
    "contact",
    "contacts",
    "contactid",
    "fullname",
    "Contact",
    2,
    (
        Attr("contactid", "Uniqueidentifier", "Contact", update=False),
        Attr("firstname", "String", "First Name", max_length=50),
        Attr("lastname", "String", "Last Name", max_length=50, required="ApplicationRequired"),
        Attr("fullname", "String", "Full Name", max_length=160, create=False, update=False),
        Attr("emailaddress1", "String", "Email", max_length=100, format="Email"),
        Attr("telephone1", "String", "Business Phone", max_length=50, format="Phone"),
        Attr("mobilephone", "String", "Mobile Phone", max_length=50, format="Phone"),
        Attr("jobtitle", "String", "Job Title", max_length=100),
        Attr("address1_city", "String", "Address 1: City", max_length=80),
        Attr("address1_country", "String", "Address 1: Country/Region", max_length=80),
        Attr("preferredcontactmethodcode", "Picklist", "Preferred Method of Contact", options=CONTACT_METHOD),
        Attr("parentcustomerid", "Customer", "Company Name", targets=("account", "contact")),
        owner(),
        *active_inactive(),
        *audit_attrs(),
    ),
)

LEAD = Entity(
    "lead",
    "leads",
    "leadid",
    "fullname",
    "Lead",
    4,
    (
        Attr("leadid", "Uniqueidentifier", "Lead", update=False),
        Attr("subject", "String", "Topic", max_length=300, required="ApplicationRequired"),
        Attr("firstname", "String", "First Name", max_length=50),
        Attr("lastname", "String", "Last Name", max_length=50, required="ApplicationRequired"),
        Attr("fullname", "String", "Name", max_length=160, create=False, update=False),
        Attr("emailaddress1", "String", "Email", max_length=100, format="Email"),
        Attr("telephone1", "String", "Business Phone", max_length=50, format="Phone"),
        Attr("mobilephone", "String", "Mobile Phone", max_length=50, format="Phone"),
        Attr("jobtitle", "String", "Job Title", max_length=100),
        Attr("companyname", "String", "Company Name", max_length=100),
        Attr("websiteurl", "String", "Website", max_length=200, format="Url"),
        Attr("leadsourcecode", "Picklist", "Lead Source", options=LEAD_SOURCE),
        Attr("industrycode", "Picklist", "Industry", options=INDUSTRY),
        Attr("leadqualitycode", "Picklist", "Rating", options=RATING),
        Attr("description", "Memo", "Description", max_length=2000),
        Attr("parentaccountid", "Lookup", "Existing Account", targets=("account",)),
        Attr("parentcontactid", "Lookup", "Existing Contact", targets=("contact",)),
        owner(),
        Attr(
            "statecode",
            "State",
            "Status",
            required="SystemRequired",
            options=options((0, "Open", "Offen"), (1, "Qualified", "Qualifiziert"), (2, "Disqualified", "Disqualifiziert")),
        ),
        Attr(
            "statuscode",
            "Status",
            "Status Reason",
            options=status_options(
                (1, "New", 0),
                (2, "Contacted", 0),
                (3, "Qualified", 1),
                (4, "Lost", 2),
                (5, "Cannot Contact", 2),
                (6, "No Longer Interested", 2),
                (7, "Canceled", 2),
            ),
        ),
        *audit_attrs(),
    ),
)

OPPORTUNITY = Entity(
    "opportunity",
    "opportunities",
    "opportunityid",
    "name",
    "Opportunity",
    3,
    (
        Attr("opportunityid", "Uniqueidentifier", "Opportunity", update=False),
        Attr("name", "String", "Topic", max_length=300, required="ApplicationRequired"),
        Attr("estimatedvalue", "Money", "Est. Revenue"),
        Attr("estimatedclosedate", "DateTime", "Est. Close Date", format="DateOnly"),
        Attr("closeprobability", "Integer", "Probability"),
        Attr("description", "Memo", "Description", max_length=2000),
        Attr("opportunityratingcode", "Picklist", "Rating", options=RATING),
        Attr("salesstagecode", "Picklist", "Process Code", options=SALES_STAGE),
        Attr("parentaccountid", "Lookup", "Account", targets=("account",)),
        Attr("parentcontactid", "Lookup", "Contact", targets=("contact",)),
        owner(),
        Attr(
            "statecode",
            "State",
            "Status",
            required="SystemRequired",
            options=options((0, "Open", "Offen"), (1, "Won", "Gewonnen"), (2, "Lost", "Verloren")),
        ),
        Attr(
            "statuscode",
            "Status",
            "Status Reason",
            options=status_options(
                (1, "In Progress", 0), (2, "On Hold", 0), (3, "Won", 1), (4, "Canceled", 2), (5, "Out-Sold", 2)
            ),
        ),
        *audit_attrs(),
    ),
)

SYSTEMUSER = Entity(
    "systemuser",
    "systemusers",
    "systemuserid",
    "fullname",
    "User",
    8,
    (
        Attr("systemuserid", "Uniqueidentifier", "User", update=False),
        Attr("firstname", "String", "First Name", max_length=64),
        Attr("lastname", "String", "Last Name", max_length=64),
        Attr("fullname", "String", "Full Name", max_length=200, create=False, update=False),
        Attr("internalemailaddress", "String", "Primary Email", max_length=100, format="Email"),
        Attr("domainname", "String", "User Name", max_length=1024, required="SystemRequired"),
        Attr("title", "String", "Title", max_length=128),
        Attr("applicationid", "Uniqueidentifier", "Application ID"),
        Attr("isdisabled", "Boolean", "Status", create=False, update=False),
        *audit_attrs(),
    ),
)

ENTITIES: dict[str, Entity] = {e.logical: e for e in (ACCOUNT, CONTACT, LEAD, OPPORTUNITY, SYSTEMUSER)}
BY_SET: dict[str, Entity] = {e.set_name: e for e in ENTITIES.values()}
WEBHOOK_ENTITIES = ("lead", "contact", "account", "opportunity")
