"""Finding one record by what a person knows of it — an e-mail, a name, a domain, or either
side's id — scoped to its object: a match is a (side, object, id), so a deal that happens to
share a numeric id with a contact is not a match for the contact's e-mail.

The record log searches the links' last synced values and the events; the demo sandbox searches
the emulator itself (exact look-ups by id and match fields, then the whole change feed)."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass

from django.db.models import Count, Q, TextField
from django.db.models.functions import Cast

from connectors.base import Connector, ConnectorError, Record
from syncsmart.core.choices import Side, other_side
from syncsmart.models import RecordLink

LINKS_SEARCHED = 200
FEED_LIMIT = 10_000  # records read from one object's change feed for the sandbox


@dataclass(frozen=True)
class RecordKey:
    """A record on one side, with the object its counterpart has on the other side."""

    side: str
    object_type: str
    id: str
    counterpart_object: str

    def events(self) -> Q:
        """Events of this record: synced from it, or written to it from its counterpart's object."""
        return Q(source_side=self.side, source_object=self.object_type, source_id=self.id) | Q(
            source_side=other_side(self.side), source_object=self.counterpart_object, target_id=self.id
        )


def link_keys(link: RecordLink) -> list[RecordKey]:
    return [
        RecordKey(Side.HUBSPOT, link.hubspot_object, link.hubspot_id, link.other_object),
        RecordKey(Side.OTHER, link.other_object, link.other_id, link.hubspot_object),
    ]


def keys_in_links(integration, query: str, mapping_id: int | None = None) -> list[RecordKey]:
    """Linked records whose id on either side is the query, or whose last synced values contain it
    (an e-mail, a name, a domain); only those of one object mapping when one is chosen."""
    links = RecordLink.objects.filter(integration=integration)
    if mapping_id is not None:
        links = links.filter(object_mapping_id=mapping_id)
    links = (
        links.annotate(hub_text=Cast("hubspot_values", TextField()), other_text=Cast("other_values", TextField()))
        .filter(Q(hub_text__icontains=query) | Q(other_text__icontains=query) | Q(hubspot_id=query) | Q(other_id=query))
        .only("hubspot_object", "hubspot_id", "other_object", "other_id")[:LINKS_SEARCHED]
    )
    return [key for link in links for key in link_keys(link)]


BARE_ID = re.compile(r"[\w-]{1,100}")


def is_bare_id(query: str) -> bool:
    """ "2553", "CW-4242", a GUID: what could be any object's id, unlike an e-mail, a name or a domain."""
    return bool(BARE_ID.fullmatch(query)) and any(c.isdigit() for c in query)


def objects_sharing_id(events, query: str) -> list[tuple[int, int]]:
    """For a bare id: [(object mapping id, matching events)] when the matches span several object
    mappings (a contact, a company and a deal can all be 2), so the page offers the choice; [] when
    the query is no bare id or its matches are one object's."""
    if not is_bare_id(query):
        return []
    counts = (
        events.order_by().exclude(object_mapping=None).values_list("object_mapping_id").annotate(n=Count("id")).order_by("-n")
    )
    found = [(mapping_id, n) for mapping_id, n in counts[:20]]
    return found if len(found) > 1 else []


def events_matching(keys: list[RecordKey], query: str) -> Q:
    """Events of these records, events of any object whose own id is the query (a record that
    never linked), and events whose message or details name the query (a waiting record is named
    by its e-mail there). Needs the events annotated with details_text."""
    found = Q(source_id=query) | Q(target_id=query) | Q(details_text__icontains=query) | Q(message__icontains=query)
    for key in keys:
        found |= key.events()
    return found


def looked_up_keys(integration, email: str) -> tuple[list[RecordKey], list[str]]:
    """Ask both systems which records carry this e-mail (one batched find per object mapping and
    side), for records that never synced and so have no link to search. Explicit, on request:
    it calls the vendors."""
    keys: list[RecordKey] = []
    problems: list[str] = []
    for side in (Side.HUBSPOT, Side.OTHER):
        connection = integration.connection_on(side)
        wanted = {
            (m.object_for(side), m.match_field_for(side)): m.object_for(other_side(side))
            for m in integration.object_mappings.all()
            if "mail" in m.match_field_for(side).lower()
        }
        if not wanted:
            continue
        try:
            connector = connection.connector()
        except ConnectorError as exc:
            problems.append(f"{connection}: {exc.message}")
            continue
        try:
            for (object_type, field_name), counterpart in wanted.items():
                found = connector.find_by(object_type, field_name, [email])
                keys += [RecordKey(side, object_type, r.id, counterpart) for records in found.values() for r in records]
        except ConnectorError as exc:
            problems.append(f"{connection}: {exc.message}")
        finally:
            connector.close()
    return keys, problems


# --- the demo sandbox: one emulator's records ---------------------------------------------------


def whole_feed(connector: Connector, object_type: str) -> list[Record]:
    """Every record of an object type, newest edits included (the change feed lists them last)."""
    page = connector.read_changes(object_type, None, page_size=connector.max_page_size)
    records = list(page.records)
    while page.has_more and page.records and len(records) < FEED_LIMIT:
        page = connector.read_changes(object_type, page.cursor, page_size=connector.max_page_size)
        records += page.records
    latest: dict[str, Record] = {}
    for record in records:  # a record edited while the feed was read comes twice: keep its last version
        latest[record.id] = record
    return [r for r in latest.values() if not r.deleted]


def exact_matches(connector: Connector, object_type: str, ids: list[str], query: str) -> list[Record]:
    """Records whose id is one of `ids` (the query, or the id its counterpart is linked to), or
    whose match fields (e-mail, domain, identifier...) equal the query, asked of the system itself."""
    found: list[Record] = []
    with contextlib.suppress(ConnectorError, ValueError):  # not an id this system has (a GUID system asked for "ann@...")
        found += connector.read_by_ids(object_type, ids)
    declared = next((o for o in connector.object_types() if o.name == object_type), None)
    for field_name in declared.match_fields if declared else ():
        try:
            found += [r for records in connector.find_by(object_type, field_name, [query]).values() for r in records]
        except (ConnectorError, ValueError):
            continue
    return found


def linked_ids(connection, object_type: str, query: str) -> list[str]:
    """This side's ids of records whose counterpart on the other side has the id `query`."""
    as_hubspot = RecordLink.objects.filter(
        integration__hubspot_connection=connection, hubspot_object=object_type, other_id=query
    ).values_list("hubspot_id", flat=True)
    as_other = RecordLink.objects.filter(
        integration__other_connection=connection, other_object=object_type, hubspot_id=query
    ).values_list("other_id", flat=True)
    return list(dict.fromkeys([*as_hubspot[:20], *as_other[:20]]))


def search_records(connection, connector: Connector, object_type: str, query: str) -> list[Record]:
    """One object's records in one system: all of them without a query; with one, those whose id
    or whose counterpart's id is the query, whose match fields equal it, or whose values contain it."""
    records = whole_feed(connector, object_type)
    query = query.replace("\x00", "").strip()
    if not query:
        return records
    wanted = query.lower()
    hits = {r.id: r for r in records if wanted == r.id.lower() or any(wanted in str(v).lower() for v in r.properties.values())}
    for record in exact_matches(connector, object_type, [query, *linked_ids(connection, object_type, query)], query):
        hits.setdefault(record.id, record)
    return list(hits.values())
