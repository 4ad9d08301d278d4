"""Dataverse activity parties as one field: the contacts of an e-mail, appointment or phone call.

An activity's people are activityparty rows (schema_activities.py: participationtypemask Sender
1, To 2, Cc 3, Bcc 4, Required attendee 5, Optional attendee 6, Organizer 7). SyncSmart shows
them as `parties`, a REFERENCE to contacts holding several ids (FieldInfo.multiple): the
contacts among the parties, whatever their role. HubSpot's engagement ↔ contact associations
have no role, so:

- read: every party that is a contact counts; parties that are users, accounts or bare
  addresses cannot be carried and are named in the record's remarks (said on the event);
- create: the contacts become parties of the activity's plain role (an e-mail's To, an
  appointment's required attendee, a phone call's To), by deep insert with the activity;
- update: the parties are written whole (a PATCH of the navigation property replaces them), so
  the ones kept are sent again as they were: every non-contact party, every contact party still
  wanted, in its role; wanted contacts that are not parties yet are added in the plain role.

Change tracking takes no $expand, so parties are read with one more query per 100 activities.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from connectors.base import FieldInfo, FieldType, Record, chunked, join_ids, split_ids
from connectors.dynamics import odata
from connectors.dynamics.schema_activities import (
    CC_RECIPIENT,
    PARTY_ROLES,
    REQUIRED_ATTENDEE,
    SENDER,
    TO_RECIPIENT,
    party_navigation,
)

FIELD = "parties"
IDS_PER_QUERY = 100
PLAIN_ROLE = {"email": TO_RECIPIENT, "appointment": REQUIRED_ATTENDEE, "phonecall": TO_RECIPIENT}
ROLE_WORDS = {
    SENDER: "from",
    TO_RECIPIENT: "to",
    CC_RECIPIENT: "cc",
    4: "bcc",
    REQUIRED_ATTENDEE: "required",
    6: "optional",
    7: "organizer",
}
KIND_WORDS = {"systemuser": "a user", "account": "an account"}
PARTY_SELECT = "participationtypemask,_partyid_value,addressused"


def has_parties(logical: str) -> bool:
    return logical in PARTY_ROLES


def field_info() -> FieldInfo:
    return FieldInfo(
        FIELD,
        "Parties (contacts)",
        FieldType.REFERENCE,
        reference_to="contacts",
        multiple=True,
        description="The contacts among the activity's parties (from, to, cc, attendees), whatever their role",
    )


def attach(get: Callable[..., dict], set_name: str, logical: str, key: str, records: Sequence[Record]) -> None:
    """Fill `parties` (and remarks for what cannot be carried) on the records, read in chunks."""
    live = [r for r in records if not r.deleted]
    found: dict[str, list[dict]] = {}
    nav = party_navigation(logical)
    for chunk in chunked([r.id for r in live], IDS_PER_QUERY):
        for row in _rows(get, set_name, nav, key, chunk):
            found[str(row[key]).lower()] = row.get(nav) or []
    for record in live:
        parties = found.get(record.id, [])
        record.properties[FIELD] = join_ids(_contact_ids(parties))
        lost = [_describe(p) for p in parties if _kind(p) != "contact"]
        if lost:
            record.remarks.append(f"Parties HubSpot cannot hold (not contacts) are not carried: {', '.join(lost)}.")


def current(get: Callable[..., dict], set_name: str, logical: str, key: str, ids: Sequence[str]) -> dict[str, list[dict]]:
    """The parties of these activities as read ({activity id: [party json]})."""
    nav = party_navigation(logical)
    out: dict[str, list[dict]] = {}
    for chunk in chunked(list(ids), IDS_PER_QUERY):
        for row in _rows(get, set_name, nav, key, chunk):
            out[str(row[key]).lower()] = row.get(nav) or []
    return out


def _rows(get: Callable[..., dict], set_name: str, nav: str, key: str, ids: Sequence[str]) -> list[dict]:
    answer = get(
        f"/{set_name}",
        {"$select": key, "$filter": odata.any_of(key, list(ids)), "$expand": f"{nav}($select={PARTY_SELECT})"},
    )
    return answer.get("value", [])


def for_create(logical: str, value: Any) -> list[dict[str, Any]]:
    """Deep-insert parties for a new activity: each contact in the plain role."""
    return [_bind(contact_id, PLAIN_ROLE[logical]) for contact_id in split_ids(value)]


def for_update(logical: str, value: Any, parties: Iterable[dict]) -> list[dict[str, Any]]:
    """The whole party list after an update: kept parties as they were, wanted contacts added."""
    wanted = {i.lower() for i in split_ids(value)}
    out, present = [], set()
    for party in parties:
        kind, party_id = _kind(party), str(party.get("_partyid_value") or "").lower()
        if kind == "contact" and party_id not in wanted:
            continue  # no longer associated in HubSpot
        if kind == "contact":
            present.add(party_id)
        out.append(_as_written(party))
    out += [_bind(i, PLAIN_ROLE[logical]) for i in sorted(wanted - present)]
    return out


def _bind(contact_id: str, role: int) -> dict[str, Any]:
    return {"partyid_contact@odata.bind": f"/contacts({contact_id})", "participationtypemask": role}


def _as_written(party: dict) -> dict[str, Any]:
    body: dict[str, Any] = {"participationtypemask": party.get("participationtypemask")}
    kind = _kind(party)
    if kind:
        body[f"partyid_{kind}@odata.bind"] = f"/{kind}s({party['_partyid_value']})"
    if party.get("addressused"):
        body["addressused"] = party["addressused"]
    return body


def _kind(party: dict) -> str | None:
    if not party.get("_partyid_value"):
        return None
    return party.get("_partyid_value@Microsoft.Dynamics.CRM.lookuplogicalname") or "contact"


def _contact_ids(parties: Iterable[dict]) -> list[str]:
    return [str(p["_partyid_value"]).lower() for p in parties if _kind(p) == "contact"]


def _describe(party: dict) -> str:
    role = ROLE_WORDS.get(party.get("participationtypemask"), "party")
    kind = _kind(party)
    what = KIND_WORDS.get(kind or "", kind) if kind else f"the address {party.get('addressused')}"
    return f"{what} ({role})"
