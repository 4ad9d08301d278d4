"""Twin data for the first-day journey: the same companies, contacts and deals on HubSpot and on
the other system, spelled the way two CRMs kept by different people spell them, plus a share of
records that exist on one side only.

Variations (all must still match, by the default match rules):
- e-mail case and surrounding spaces ("  Ava.Kim.12@Northwind149.example.com ");
- web addresses: bare domains on HubSpot, "https://www.…", "http://…/" or bare on the other side;
- company names: "Northwind Foods 149" vs "Northwind Foods 149 Inc." / ", LLC" / " Ltd" / upper case;
  a share of companies carries no web address on the other side, so only the name key finds them;
- phone formats: "+1 617 555 0123" vs "(617) 555-0123" vs "617.555.0123";
- deal names in other case and spacing.

Records go in through the emulators' seeding helpers (as a user would create them in the
vendor's UI, without webhooks). `census` counts each side's records by normalised key after a
run: a key held by two records on one side is a duplicate.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from connectors.hubspot.emulator import PIPELINES
from mappings.normalisers import domain as norm_domain
from mappings.normalisers import email as norm_email
from mappings.normalisers import name as norm_name

BOTH, HUBSPOT_ONLY, OTHER_ONLY = "both", "hubspot", "other"
WORDS = (
    "Northwind Foods",
    "Contoso Labs",
    "Fabrikam Systems",
    "Globex Trading",
    "Initech Partners",
    "Tailspin Toys",
    "Wingtip Travel",
    "Alpine Ski House",
    "Coho Winery",
    "Litware Software",
    "Proseware Media",
    "Adventure Works",
)
FIRST = ("Ava", "Liam", "Maya", "Noah", "Zoe", "Ethan", "Grace", "Linus", "Ada", "Alan", "Hedy", "Radia", "Ken", "Tim")
LAST = ("Kim", "Rivera", "Lee", "Blake", "Nguyen", "Lovelace", "Hopper", "Turing", "Liskov", "Ritchie", "Perlman", "Allen")
KINDS = ("Renewal", "Expansion", "New Licences", "Services", "Pilot")
SUFFIXES = (" Inc.", ", Inc", " LLC", " Ltd", " GmbH", " Corp.")


@dataclass
class Company:
    n: int
    where: str
    name: str
    domain: str
    phone: str


@dataclass
class Contact:
    n: int
    where: str
    first: str
    last: str
    email: str
    phone: str
    company: int


@dataclass
class Deal:
    n: int
    where: str
    name: str
    company: int
    contact: int
    amount: int
    close: str  # YYYY-MM-DD


@dataclass
class Twins:
    companies: list[Company] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    deals: list[Deal] = field(default_factory=list)

    def expected(self) -> dict[str, dict[str, int]]:
        """What a first run should leave: every record on both sides, once."""
        out = {}
        for name, rows in (("companies", self.companies), ("contacts", self.contacts), ("deals", self.deals)):
            out[name] = {
                "both": sum(r.where == BOTH for r in rows),
                "hubspot_only": sum(r.where == HUBSPOT_ONLY for r in rows),
                "other_only": sum(r.where == OTHER_ONLY for r in rows),
                "total": len(rows),
            }
        return out


def _sides(total: int, one_sided: float, rng: random.Random) -> list[str]:
    extra = round(total * one_sided)
    wheres = [BOTH] * total + [HUBSPOT_ONLY] * (extra - extra // 2) + [OTHER_ONLY] * (extra // 2)
    rng.shuffle(wheres)
    return wheres


def dataset(companies: int = 2000, contacts: int = 10000, deals: int = 1500, one_sided: float = 0.10, seed: int = 16) -> Twins:
    """`companies`, `contacts` and `deals` records on both sides, plus `one_sided` of each count
    present on one side only (half on each). Children of a one-sided parent live on its side."""
    rng = random.Random(seed)
    twins = Twins()
    for n, where in enumerate(_sides(companies, one_sided, rng)):
        word = WORDS[n % len(WORDS)]
        base = f"{word} {n}"
        host = word.lower().replace(" ", "") + f"{n}.example.com"
        twins.companies.append(Company(n, where, base, host, f"617555{n % 10000:04d}"))
    by_side = {side: [c.n for c in twins.companies if c.where in (BOTH, side)] for side in (HUBSPOT_ONLY, OTHER_ONLY)}
    shared = [c.n for c in twins.companies if c.where == BOTH]
    for n, where in enumerate(_sides(contacts, one_sided, rng)):
        company = rng.choice(shared if where == BOTH else by_side[where])
        first, last = FIRST[n % len(FIRST)], LAST[(n // len(FIRST)) % len(LAST)]
        email = f"{first}.{last}.{n}@{twins.companies[company].domain}".lower()
        twins.contacts.append(Contact(n, where, first, last, email, f"508555{n % 10000:04d}", company))
    people = {side: [p for p in twins.contacts if p.where in (BOTH, side)] for side in (BOTH, HUBSPOT_ONLY, OTHER_ONLY)}
    shared_people = [p for p in twins.contacts if p.where == BOTH]
    for n, where in enumerate(_sides(deals, one_sided, rng)):
        contact = rng.choice(shared_people if where == BOTH else people[where])
        company = twins.companies[contact.company]
        name = f"{company.name} – {KINDS[n % len(KINDS)]} {n}"
        close = f"2027-{1 + n % 12:02d}-{1 + n % 28:02d}"
        twins.deals.append(Deal(n, where, name, company.n, contact.n, 1000 + 500 * (n % 400), close))
    return twins


# --- spellings ---------------------------------------------------------------------------------


def _us_phone(digits: str, style: int) -> str:
    a, b, c = digits[:3], digits[3:6], digits[6:]
    return (f"+1 {a} {b} {c}", f"({a}) {b}-{c}", f"{a}.{b}.{c}", f"1-{a}-{b}-{c}")[style % 4]


def _hub_spelling(rng: random.Random, company: Company) -> dict[str, str]:
    name = company.name.upper() if rng.random() < 0.1 else company.name
    return {"name": name, "domain": company.domain, "phone": _us_phone(company.phone, 0)}


def _other_spelling(rng: random.Random, company: Company) -> dict[str, str]:
    roll = rng.random()
    website = f"https://www.{company.domain}" if roll < 0.4 else f"http://{company.domain}/" if roll < 0.6 else company.domain
    if company.where == BOTH and rng.random() < 0.05:
        website = ""  # only the name key finds this one
    name = company.name + (rng.choice(SUFFIXES) if rng.random() < 0.3 else "")
    return {"name": name, "website": website, "phone": _us_phone(company.phone, 1 + rng.randrange(3))}


def _email_spelling(rng: random.Random, email: str) -> str:
    roll = rng.random()
    if roll < 0.25:
        local, _, host = email.partition("@")
        return f"{local.title()}@{host.title()}"
    if roll < 0.35:
        return f"  {email.upper()} "
    return email


def _deal_name_spelling(rng: random.Random, name: str) -> str:
    roll = rng.random()
    if roll < 0.15:
        return name.lower()
    if roll < 0.25:
        return "  " + name.replace(" ", "  ") + " "
    return name


# --- writing ------------------------------------------------------------------------------------


def seed_hubspot(emulator: Any, twins: Twins, seed: int = 1) -> dict[str, dict[int, str]]:
    """Write the HubSpot side; returns {object: {dataset n: HubSpot id}}."""
    rng = random.Random(seed)
    ids: dict[str, dict[int, str]] = {"companies": {}, "contacts": {}, "deals": {}}
    stages = PIPELINES[0]["stages"]
    for c in twins.companies:
        if c.where != OTHER_ONLY:
            ids["companies"][c.n] = emulator.create_record("companies", _hub_spelling(rng, c), notify=False)
    for p in twins.contacts:
        if p.where != OTHER_ONLY:
            props = {"email": p.email, "firstname": p.first, "lastname": p.last, "phone": _us_phone(p.phone, 0)}
            assoc = {"companies": [ids["companies"][p.company]]} if p.company in ids["companies"] else None
            ids["contacts"][p.n] = emulator.create_record("contacts", props, associations=assoc, notify=False)
    for d in twins.deals:
        if d.where != OTHER_ONLY:
            props = {
                "dealname": d.name,
                "amount": str(d.amount),
                "closedate": f"{d.close}T00:00:00.000Z",
                "pipeline": PIPELINES[0]["id"],
                "dealstage": stages[d.n % len(stages)][0],
            }
            assoc = {"companies": [ids["companies"][d.company]], "contacts": [ids["contacts"][d.contact]]}
            ids["deals"][d.n] = emulator.create_record("deals", props, associations=assoc, notify=False)
    return ids


def seed_connectwise(emulator: Any, twins: Twins, seed: int = 2) -> dict[str, dict[int, str]]:
    rng = random.Random(seed)
    ids: dict[str, dict[int, str]] = {"companies": {}, "contacts": {}, "deals": {}}
    for c in twins.companies:
        if c.where != HUBSPOT_ONLY:
            s = _other_spelling(rng, c)
            fields = {"phoneNumber": s["phone"]} | ({"website": s["website"]} if s["website"] else {})
            ids["companies"][c.n] = str(emulator.add_company(s["name"], **fields)["id"])
    for p in twins.contacts:
        if p.where != HUBSPOT_ONLY:
            company = ids["companies"].get(p.company)
            row = emulator.add_contact(
                p.first,
                p.last,
                company_id=int(company) if company else None,
                email=_email_spelling(rng, p.email),
                phone=_us_phone(p.phone, 1 + rng.randrange(3)),
            )
            ids["contacts"][p.n] = str(row["id"])
    for d in twins.deals:
        if d.where != HUBSPOT_ONLY:
            row = emulator.add_opportunity(
                _deal_name_spelling(rng, d.name),
                company_id=int(ids["companies"][d.company]),
                contact_id=int(ids["contacts"][d.contact]),
                expectedCloseDate=f"{d.close}T00:00:00Z",
            )
            ids["deals"][d.n] = str(row["id"])
    return ids


def seed_dynamics(emulator: Any, twins: Twins, seed: int = 3) -> dict[str, dict[int, str]]:
    rng = random.Random(seed)
    ids: dict[str, dict[int, str]] = {"companies": {}, "contacts": {}, "deals": {}}
    for c in twins.companies:
        if c.where != HUBSPOT_ONLY:
            s = _other_spelling(rng, c)
            props = {"name": s["name"], "telephone1": s["phone"]} | ({"websiteurl": s["website"]} if s["website"] else {})
            ids["companies"][c.n] = emulator.create_record("accounts", props)
    for p in twins.contacts:
        if p.where != HUBSPOT_ONLY:
            props = {
                "firstname": p.first,
                "lastname": p.last,
                "emailaddress1": _email_spelling(rng, p.email),
                "telephone1": _us_phone(p.phone, 1 + rng.randrange(3)),
                "parentcustomerid": ids["companies"].get(p.company),
            }
            ids["contacts"][p.n] = emulator.create_record("contacts", props)
    for d in twins.deals:
        if d.where != HUBSPOT_ONLY:
            props = {
                "name": _deal_name_spelling(rng, d.name),
                "estimatedvalue": d.amount,
                "estimatedclosedate": d.close,
                "parentaccountid": ids["companies"][d.company],
                "parentcontactid": ids["contacts"][d.contact],
            }
            ids["deals"][d.n] = emulator.create_record("opportunities", props)
    return ids


OTHER_SEEDERS = {"connectwise": seed_connectwise, "dynamics": seed_dynamics}


def seed_pair(hubspot: Any, other: Any, system: str, twins: Twins) -> dict[str, dict[str, dict[int, str]]]:
    """Both sides of one pair; the HubSpot side once even when two pairs share its emulator."""
    return {"hubspot": seed_hubspot(hubspot, twins), "other": OTHER_SEEDERS[system](other, twins)}


# --- census: records per normalised key, on each side ----------------------------------------------


@dataclass
class Census:
    """{object: {normalised key: number of records}} of one side."""

    keys: dict[str, dict[tuple, int]]

    def count(self, obj: str) -> int:
        return sum(self.keys[obj].values())

    def duplicates(self, obj: str) -> int:
        """Records beyond the first of each key."""
        return sum(n - 1 for n in self.keys[obj].values() if n > 1)

    def summary(self) -> dict[str, dict[str, int]]:
        return {obj: {"records": self.count(obj), "duplicates": self.duplicates(obj)} for obj in self.keys}


def _company_key(name: Any, website: Any) -> tuple:
    # The same identity the default rules use: the domain, else the name.
    host = norm_domain(website)
    return ("domain", host) if host else ("name", norm_name(name))


def _tally(keys: Iterable[tuple]) -> dict[tuple, int]:
    out: dict[tuple, int] = {}
    for key in keys:
        out[key] = out.get(key, 0) + 1
    return out


def census_hubspot(emulator: Any) -> Census:
    with emulator.lock:
        live = {t: {i: r for i, r in emulator.records[t].items() if not r.archived} for t in ("companies", "contacts", "deals")}
        companies = {i: _company_key(r.properties.get("name"), r.properties.get("domain")) for i, r in live["companies"].items()}
        assoc = emulator.associations.get(("deals", "companies"), {})
        deal_keys = [
            (norm_name(r.properties.get("dealname")), tuple(sorted(companies.get(c, ()) for c in assoc.get(i, ()))))
            for i, r in live["deals"].items()
        ]
        return Census(
            {
                "companies": _tally(companies.values()),
                "contacts": _tally((norm_email(r.properties.get("email")),) for r in live["contacts"].values()),
                "deals": _tally(deal_keys),
            }
        )


def census_connectwise(emulator: Any) -> Census:
    companies = {c["id"]: _company_key(c.get("name"), c.get("website")) for c in emulator.records("companies")}

    def email_of(contact: dict) -> str | None:
        items = contact.get("communicationItems") or []
        return next((norm_email(i.get("value")) for i in items if i.get("communicationType") == "Email"), None) or next(
            (norm_email(i.get("value")) for i in items if "@" in str(i.get("value"))), None
        )

    deals = [
        (norm_name(o.get("name")), (companies.get((o.get("company") or {}).get("id"), ()),))
        for o in emulator.records("opportunities")
    ]
    return Census(
        {
            "companies": _tally(companies.values()),
            "contacts": _tally((email_of(c),) for c in emulator.records("contacts")),
            "deals": _tally(deals),
        }
    )


def census_dynamics(emulator: Any) -> Census:
    with emulator.lock:
        rows = {t: list(emulator.rows[t].values()) for t in ("account", "contact", "opportunity")}
    companies = {r["accountid"]: _company_key(r.get("name"), r.get("websiteurl")) for r in rows["account"]}

    def ref(value: Any) -> Any:
        return value[1] if isinstance(value, tuple) else value

    deals = [(norm_name(r.get("name")), (companies.get(ref(r.get("parentaccountid")), ()),)) for r in rows["opportunity"]]
    return Census(
        {
            "companies": _tally(companies.values()),
            "contacts": _tally((norm_email(r.get("emailaddress1")),) for r in rows["contact"]),
            "deals": _tally(deals),
        }
    )


CENSUS = {"hubspot": census_hubspot, "connectwise": census_connectwise, "dynamics": census_dynamics}
