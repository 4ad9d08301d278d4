"""The soak's record-by-record check (bench/soak.py, docs/benchmarks.md): what the users did is in
an `EditLog`; what both emulators hold at the end is read into a `Snapshot`; each count below is a
way the sync could have failed them, and each must be 0.

- lost: an accepted edit (a first name, or the company a contact was moved to) that is not what
  both sides hold now; a record on one side only; a call logged that is not on both sides;
- duplicates: two live contacts with one e-mail (or companies with one domain) on a side, or a
  call twice;
- mismatched: a contact whose names or company differ between the sides (the company compared as
  the set of associated companies' domains, so a contact moved on one side and not on the other
  counts here); a call on another person than its twin;
- orphans: a call with no record (HubSpot engagements with no association, ConnectWise activities
  with no contact, company or opportunity, Dynamics phone calls with no regarding record and no
  contact, account or lead among their parties);
- deletes_not_propagated: a contact a user deleted that is live again on either side, or whose
  linked counterpart was not treated as the soak's delete policy says (archived on the other side
  for a HubSpot deletion, deleted for a deletion in the other system, its link gone);
- merge_errors: a HubSpot merge of two linked contacts that did not leave the survivor live and
  linked once (to a live counterpart with its e-mail), or left a link to the merged-away record, or
  brought the merged-away e-mail back to HubSpot.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench import lab as labs
from connectors.hubspot.emulator_engagements import orphans
from connectors.netsuite.connector import normalise_domain
from mappings.models import ObjectMapping
from syncsmart.models import RecordEvent, RecordLink

P = ObjectMapping.DeletePolicy
# The contacts mapping's delete policies during a lifecycle soak (bench/soak.py sets them): a contact
# deleted in HubSpot is archived on the other side (ConnectWise inactive, Dynamics deactivated; the
# link stays), one deleted in the other system is deleted in HubSpot (HubSpot's delete is an archive;
# the link goes).
DELETE_TO_OTHER = P.ARCHIVE
DELETE_TO_HUBSPOT = P.DELETE
LIVE, ARCHIVED = "live", "archived"
# Dynamics activity parties that attach an activity to a record (a systemuser "from" party does not).
RECORD_PARTIES = ("contact", "account", "lead", "opportunity")
PHONECALL_PARTIES = "_activity_parties"  # the Dynamics emulator's own key for an activity's party rows


@dataclass
class Deletion:
    side: str  # "hubspot" or "other": where the user deleted it
    record_id: str
    email: str
    linked: bool  # linked when the user deleted it: its counterpart must then follow the policy


@dataclass
class Merge:
    survivor: str
    merged: str
    survivor_email: str
    merged_email: str


@dataclass
class EditLog:
    """Every edit a user made that the vendor accepted: (side, record id) -> {field: last value}
    (`firstname`, or `company`: the domain of the company the contact was moved to)."""

    last: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    edits: int = 0
    creates: int = 0
    # Calls logged: subject -> (side, the contact's id on that side).
    calls: dict[str, tuple[str, str]] = field(default_factory=dict)
    deletions: list[Deletion] = field(default_factory=list)
    merges: list[Merge] = field(default_factory=list)
    reassociations: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accept(self, side: str, record_id: str, changes: dict[str, str]) -> None:
        with self.lock:
            self.last.setdefault((side, record_id), {}).update(changes)
            self.edits += 1

    def forget(self, side: str, record_id: str) -> None:
        """The record is gone (deleted, merged away): its earlier edits have nothing left to reach."""
        with self.lock:
            self.last.pop((side, record_id), None)


@dataclass
class SideState:
    """One system's contacts at the end: the live ones as comparable rows, and every contact's
    state (live / archived; absent = gone) and e-mail."""

    live: list[dict[str, Any]]
    state: dict[str, tuple[str, str]]  # id -> (live | archived, e-mail)

    def by_email(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for row in self.live:
            out.setdefault(row["email"], []).append(row)
        return out

    def states_of(self, email: str) -> list[str]:
        return [state for state, mail in self.state.values() if mail == email]


@dataclass
class Snapshot:
    hub: SideState
    other: SideState
    hub_companies: dict[str, list[str]]  # domain -> ids
    other_companies: dict[str, list[str]]

    def side(self, side: str) -> SideState:
        return self.hub if side == "hubspot" else self.other


# --- reading both sides -------------------------------------------------------------------------------
def snapshot(lab: labs.Lab) -> Snapshot:
    hub_companies, hub_domain = _hub_companies(lab)
    other_companies, other_domain = {}, {}
    for r in _other_companies(lab):
        domain = str(r.get("website") or "").lower()
        other_companies.setdefault(domain, []).append(str(r["id"]))
        other_domain[str(r["id"])] = domain
    return Snapshot(_hub_contacts(lab, hub_domain), _other_contacts(lab, other_domain), hub_companies, other_companies)


def _hub_companies(lab: labs.Lab) -> tuple[dict[str, list[str]], dict[str, str]]:
    by_domain, domain_of = {}, {}
    emulator = lab.hubspot.emulator
    with emulator.lock:
        for r in emulator.records["companies"].values():
            if not r.archived:
                domain = str(r.properties.get("domain") or "").lower()
                if lab.system == "netsuite":  # NetSuite's web address is a URL; HubSpot's domain receives it as is
                    domain = normalise_domain(domain)
                by_domain.setdefault(domain, []).append(str(r.id))
                domain_of[str(r.id)] = domain
    return by_domain, domain_of


def _hub_contacts(lab: labs.Lab, domain_of: dict[str, str]) -> SideState:
    emulator = lab.hubspot.emulator
    live, state = [], {}
    with emulator.lock:
        companies = emulator.associations.get(("contacts", "companies"), {})
        for r in emulator.records["contacts"].values():
            email = str(r.properties.get("email") or "").lower()
            state[str(r.id)] = (ARCHIVED if r.archived else LIVE, email)
            if not r.archived:
                live.append(
                    {
                        "_id": str(r.id),
                        "email": email,
                        "firstname": str(r.properties.get("firstname") or ""),
                        "lastname": str(r.properties.get("lastname") or ""),
                        "companies": frozenset(domain_of.get(str(i)) for i in companies.get(r.id, set())),
                    }
                )
    return SideState(live, state)


def _other_contacts(lab: labs.Lab, domain_of: dict[str, str]) -> SideState:
    """(row, archived) for every contact of the other system, as comparable rows."""
    rows = {"salesforce": _sf_contacts, "netsuite": _ns_contacts, "dynamics": _dyn_contacts}.get(lab.system, _cw_contacts)(lab)
    live, state = [], {}
    for row, archived in rows:
        company = row.pop("company")
        row["companies"] = None if row.get("lead") else frozenset({domain_of.get(company)} if company else ())
        state[row["_id"]] = (ARCHIVED if archived else LIVE, row["email"])
        if not archived:
            live.append(row)
    return SideState(live, state)


def other_contact_email(lab: labs.Lab, record_id: str) -> str:
    """The e-mail of one contact of the other system (ConnectWise or Dynamics), lower-cased."""
    if lab.system == "dynamics":
        return str((lab.other.emulator.record("contacts", record_id) or {}).get("emailaddress1") or "").lower()
    record = lab.other.emulator.get("contacts", int(record_id)) or {}
    items = record.get("communicationItems") or []
    return next((str(i["value"]).lower() for i in items if "@" in str(i.get("value"))), "")


def _row(record_id: Any, email: Any, first: Any, last: Any, company: Any) -> dict[str, Any]:
    return {
        "_id": str(record_id),
        "email": str(email or "").lower(),
        "firstname": first or "",
        "lastname": last or "",
        "company": str(company or ""),
    }


def _cw_contacts(lab: labs.Lab) -> list[tuple[dict[str, Any], bool]]:
    rows = []
    for record in lab.other.emulator.records("contacts"):
        email = next(
            (
                i["value"]
                for i in record.get("communicationItems") or []
                if i.get("type", {}).get("name", "Email") == "Email" and "@" in str(i.get("value"))
            ),
            "",
        )
        company = (record.get("company") or {}).get("id")
        row = _row(record["id"], email, record.get("firstName"), record.get("lastName"), company)
        rows.append((row, bool(record.get("inactiveFlag"))))
    return rows


def _dyn_contacts(lab: labs.Lab) -> list[tuple[dict[str, Any], bool]]:
    """Dataverse contacts; a deactivated one (statecode 1) is the archive policy's result."""
    emulator = lab.other.emulator
    with emulator.lock:
        rows = [dict(r) for r in emulator.rows["contact"].values()]
    out = []
    for r in rows:
        parent = r.get("parentcustomerid")
        company = parent[1] if isinstance(parent, tuple | list) and parent[0] == "account" else ""
        out.append(
            (
                _row(r["contactid"], r.get("emailaddress1"), r.get("firstname"), r.get("lastname"), company),
                bool(r.get("statecode")),
            )
        )
    return out


def _ns_contacts(lab: labs.Lab) -> list[tuple[dict[str, Any], bool]]:
    return [
        (_row(r["id"], r.get("email"), r.get("firstName"), r.get("lastName"), r.get("company")), False)
        for r in lab.other.emulator.all("contact")
    ]


def _sf_contacts(lab: labs.Lab) -> list[tuple[dict[str, Any], bool]]:
    """Contacts and the leads not converted (a HubSpot contact is a Lead until then; a lead names
    its company in text, so its company is not compared)."""
    emulator = lab.other.emulator
    with emulator.lock:
        people = [(r, False) for r in emulator.rows["Contact"].values()]
        people += [(r, True) for r in emulator.rows["Lead"].values() if not r.get("IsConverted")]
        rows = []
        for r, lead in people:
            last = "" if r.get("LastName") == "[not provided]" else r.get("LastName")
            row = _row(r["Id"], r.get("Email"), r.get("FirstName"), last, "" if lead else r.get("AccountId"))
            rows.append((row | {"lead": lead}, False))
        return rows


def _other_companies(lab: labs.Lab) -> list[dict[str, Any]]:
    if lab.system == "netsuite":  # company customers; their web address reduced to the domain HubSpot keeps
        customers = lab.other.emulator.all("customer")
        return [{"id": r["id"], "website": normalise_domain(str(r.get("url") or ""))} for r in customers if not r.get("isPerson")]
    if lab.system == "dynamics":
        with lab.other.emulator.lock:
            return [
                {"id": r["accountid"], "website": r.get("websiteurl") or ""} for r in lab.other.emulator.rows["account"].values()
            ]
    if lab.system != "salesforce":
        return list(lab.other.emulator.records("companies"))
    emulator = lab.other.emulator
    with emulator.lock:
        return [{"id": r["Id"], "website": r.get("Website") or ""} for r in emulator.rows["Account"].values()]


# --- the counts ---------------------------------------------------------------------------------------
def duplicates(snap: Snapshot) -> int:
    groups = [*snap.hub.by_email().values(), *snap.other.by_email().values()]
    groups += [*snap.hub_companies.values(), *snap.other_companies.values()]
    return sum(len(group) - 1 for group in groups)


def duplicate_examples(snap: Snapshot, limit: int = 10) -> list[str]:
    """Which e-mails (or company domains) are held more than once, on which side: what a support
    engineer needs to look at first when `duplicates` is not 0."""
    named = [
        ("hubspot contact", snap.hub.by_email()),
        ("other contact", snap.other.by_email()),
        ("hubspot company", snap.hub_companies),
        ("other company", snap.other_companies),
    ]
    found = [f"{kind} {key}: {len(group)}" for kind, groups in named for key, group in groups.items() if len(group) > 1]
    return found[:limit]


def one_sided(snap: Snapshot, log: EditLog) -> list[str]:
    """E-mails (and company domains) live on one side only. A merged-away HubSpot contact's
    counterpart stays in the other system, unlinked, by design (a merge merges nothing there)."""
    merged = {m.merged_email for m in log.merges}
    contacts = sorted((set(snap.hub.by_email()) ^ set(snap.other.by_email())) - merged)
    return contacts + sorted(set(snap.hub_companies) ^ set(snap.other_companies))


def mismatched(snap: Snapshot) -> tuple[int, int]:
    """(pairs that differ, of which in their company association)."""
    hub, other = snap.hub.by_email(), snap.other.by_email()
    differ = companies = 0
    for email in set(hub) & set(other):
        h, o = hub[email][0], other[email][0]
        same_company = o["companies"] is None or h["companies"] == o["companies"]
        companies += not same_company
        differ += not (same_company and h["firstname"] == o["firstname"] and h["lastname"] == o["lastname"])
    return differ, companies


def lost_edits(snap: Snapshot, log: EditLog) -> tuple[Counter, list[str]]:
    """An accepted edit is lost unless its value is what BOTH sides hold now; counted per field."""
    lost: Counter = Counter()
    examples: list[str] = []
    live_by_id = {"hubspot": {r["_id"]: r for r in snap.hub.live}, "other": {r["_id"]: r for r in snap.other.live}}
    by_email = {"hubspot": snap.other.by_email(), "other": snap.hub.by_email()}  # the counterpart's side
    for (side, record_id), changes in log.last.items():
        origin = live_by_id["hubspot" if side == "hubspot" else "other"].get(record_id)
        if origin is None:
            lost["record"] += 1
            examples.append(f"{side} {record_id}: record gone")
            continue
        twin = (by_email["hubspot" if side == "hubspot" else "other"].get(origin["email"]) or [None])[0]
        for key, value in changes.items():
            if _holds(origin, key, value) and twin is not None and _holds(twin, key, value):
                continue
            lost[key] += 1
            examples.append(
                f"{side} {record_id} {origin['email']}: {key} wanted {value!r}, origin {_shown(origin, key)!r}, "
                f"other {_shown(twin, key) if twin else None!r}"
            )
    return lost, examples


def _holds(row: dict[str, Any], key: str, value: str) -> bool:
    if key == "company":
        return row["companies"] is None or row["companies"] == frozenset({value})
    return str(row.get(key) or "") == value


def _shown(row: dict[str, Any], key: str) -> Any:
    return sorted(row["companies"] or ()) if key == "company" else row.get(key)


def _contact_links(lab: labs.Lab):
    return RecordLink.objects.filter(integration=lab.integration, hubspot_object="contacts", other_object=_contacts_object(lab))


def _contacts_object(lab: labs.Lab) -> str:
    return labs.BACKFILL_OBJECTS[lab.system][1]


def deletion_errors(lab: labs.Lab, snap: Snapshot, log: EditLog) -> list[str]:
    """A deleted contact is live nowhere; a linked one's counterpart followed the policy."""
    errors = []
    live = {"hubspot": set(snap.hub.by_email()), "other": set(snap.other.by_email())}
    links = _contact_links(lab)
    for d in log.deletions:
        where = [side for side in ("hubspot", "other") if d.email in live[side]]
        if where:
            errors.append(f"{d.side} {d.record_id} {d.email}: deleted, yet live in {', '.join(where)}")
            continue
        target = "other" if d.side == "hubspot" else "hubspot"
        policy = DELETE_TO_OTHER if target == "other" else DELETE_TO_HUBSPOT
        # HubSpot's delete is an archive (the recycle bin); the other systems' archive is a deactivation.
        wanted = ARCHIVED if policy == P.ARCHIVE or target == "hubspot" else None
        states = snap.side(target).states_of(d.email)
        if d.linked and states != ([wanted] if wanted else []):
            errors.append(f"{d.side} {d.record_id} {d.email}: policy {policy} on {target}, counterpart {states}")
        ids = {"hubspot_id" if d.side == "hubspot" else "other_id": d.record_id}
        if policy == P.DELETE and links.filter(**ids).exists():
            errors.append(f"{d.side} {d.record_id} {d.email}: deleted under the delete policy, still linked")
    return errors


def merge_errors(lab: labs.Lab, snap: Snapshot, log: EditLog) -> list[str]:
    """The survivor is live and linked once, to a live counterpart with its e-mail; nothing links
    the merged-away id; the merged-away e-mail is not live in HubSpot again."""
    errors = []
    links = _contact_links(lab)
    hub_live = snap.hub.by_email()
    for m in log.merges:
        survivor = list(links.filter(hubspot_id=m.survivor).values_list("other_id", flat=True))
        state = snap.hub.state.get(m.survivor)
        counterpart = snap.other.state.get(survivor[0]) if len(survivor) == 1 else None
        problems = [
            state != (LIVE, m.survivor_email) and f"survivor is {state}",
            len(survivor) != 1 and f"survivor has {len(survivor)} links",
            len(survivor) == 1 and counterpart != (LIVE, m.survivor_email) and f"survivor's counterpart is {counterpart}",
            m.merged in snap.hub.state and snap.hub.state[m.merged][0] == LIVE and "merged-away record still live",
            links.filter(hubspot_id=m.merged).exists() and "a link to the merged-away record",
            m.merged_email in hub_live and "the merged-away e-mail is live in HubSpot again",
        ]
        errors += [f"merge {m.merged} into {m.survivor}: {p}{_created_by(lab, hub_live, m)}" for p in problems if p]
    return errors


def _created_by(lab: labs.Lab, hub_live: dict[str, list[dict[str, Any]]], m: Merge) -> str:
    """How a HubSpot contact with the merged-away e-mail came to be (the events that wrote it)."""
    ids = [r["_id"] for r in hub_live.get(m.merged_email, [])]
    events = RecordEvent.objects.filter(integration=lab.integration, target_id__in=ids).select_related("run")
    return "".join(
        f"; {e.outcome} {e.target_id} from {e.source_side} {e.source_id} "
        f"in a {e.run.trigger if e.run else '?'} run at {e.created_at:%X}"
        for e in events
    )


# --- activities: HubSpot calls <-> ConnectWise activities of type Call / Dynamics phone calls --------------
def check_calls(lab: labs.Lab, log: EditLog, snap: Snapshot) -> dict[str, Any]:
    """Every call logged is on both sides once, on the same person, and no call lacks a record."""
    if lab.system not in ("connectwise", "dynamics"):
        return {"logged": 0, "lost": 0, "duplicates": 0, "misplaced": 0, "orphans": 0}
    hub_calls, hub_orphans = _hub_calls(lab)
    other_calls = _other_calls(lab)
    on_hub = Counter(subject for subject, _ in hub_calls)
    on_other = Counter(c["subject"] for c in other_calls)
    return {
        "logged": len(log.calls),
        "lost": sum(1 for s in log.calls if on_hub[s] == 0 or on_other[s] == 0),
        "duplicates": sum(n - 1 for n in on_hub.values() if n > 1) + sum(n - 1 for n in on_other.values() if n > 1),
        "misplaced": _misplaced_calls(lab, hub_calls, other_calls, snap),
        "orphans": hub_orphans + sum(1 for c in other_calls if not c["parented"]),
    }


def _hub_calls(lab: labs.Lab) -> tuple[list[tuple[str, str]], int]:
    """HubSpot's live calls as (subject, id), and how many have no association at all."""
    hub = lab.hubspot.emulator
    with hub.lock:
        calls = [
            (str(r.properties.get("hs_call_title") or ""), str(i)) for i, r in hub.records["calls"].items() if not r.archived
        ]
        return calls, len(orphans(hub, "calls"))


def _other_calls(lab: labs.Lab) -> list[dict[str, Any]]:
    """The other system's calls: subject, the contact's id, and whether any record holds them."""
    if lab.system == "connectwise":
        return [
            {
                "subject": a.get("name"),
                "contact": str((a.get("contact") or {}).get("id") or ""),
                "parented": bool(a.get("contact") or a.get("company") or a.get("opportunity")),
            }
            for a in lab.other.emulator.records("activities")
            if (a.get("type") or {}).get("name") == "Call"
        ]
    with lab.other.emulator.lock:
        rows = [dict(r) for r in lab.other.emulator.rows["phonecall"].values()]
    out = []
    for r in rows:
        regarding = r.get("regardingobjectid")
        parties = [p["partyid"] for p in r.get(PHONECALL_PARTIES) or [] if p.get("partyid")]
        contact = regarding[1] if regarding and regarding[0] == "contact" else ""
        attached = bool(regarding) or any(party[0] in RECORD_PARTIES for party in parties)
        out.append({"subject": r.get("subject"), "contact": contact, "parented": attached})
    return out


def _misplaced_calls(lab: labs.Lab, hub_calls, other_calls, snap: Snapshot) -> int:
    """Calls whose twin is on another person than the HubSpot call (compared by e-mail)."""
    hub_email_of = {r["_id"]: r["email"] for r in snap.hub.live}
    other_email_of = {r["_id"]: r["email"] for r in snap.other.live}
    twins: dict[str, dict[str, Any]] = {}
    for call in other_calls:
        twins.setdefault(call["subject"], call)
    misplaced = 0
    for subject, hub_id in hub_calls:
        twin = twins.get(subject)
        if twin is None:
            continue
        people = {hub_email_of.get(c) for c in lab.hubspot.emulator.associated_ids("calls", hub_id, "contacts")}
        misplaced += other_email_of.get(twin["contact"]) not in people
    return misplaced
