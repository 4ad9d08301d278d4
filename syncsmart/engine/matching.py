"""Match look-ups: the existing counterpart of a record that is not linked yet, by the object
mapping's match keys (mappings/match_rules.py), compared normalised, never guessed.

For each unlinked record, the keys are tried in order. A key whose value is empty is skipped.
One candidate (not linked to another record already) is a match. Two or more are ambiguous:
later keys may narrow them to one of those candidates (a company found twice by domain, once
by name); if none does, the record waits as an ambiguous match with its candidates, for the
customer to choose. Nothing is created for it meanwhile.

Candidates come from one of two places:
- the target object's index: every target record read once per run (its pages, in the vendor's
  read limits) and keyed by every match key; kept across the run's slices and brought up to date
  at each slice's start by the records changed since (TargetIndex.refresh). Used on a first run or a historical resync, where
  most records are unlinked and a full read costs fewer calls than looking each one up, and
  whenever the vendor cannot search by the key's field (ConnectWise opportunities by name);
- batched look-ups per key: the key's first value field searched with the spellings a vendor's
  exact search needs (a domain with and without https://www.), then compared normalised. Used
  on incremental runs, where few records are new.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from connectors.base import Connector, ConnectorError, ErrorKind, Record, chunked
from mappings.match_rules import KeyField, MatchKey, key_value, key_values
from mappings.normalisers import normalise

# Web-address spellings an exact search must ask for, to find a domain however it was typed.
DOMAIN_SPELLINGS = ("{}", "www.{}", "http://{}", "https://{}", "http://www.{}", "https://www.{}", "https://www.{}/")
LABEL_FIELDS = ("name", "dealname", "email", "emailaddress1", "fullname", "domain", "website", "websiteurl", "lastname")


@dataclass
class Candidate:
    id: str
    label: str


@dataclass
class MatchResult:
    """What the look-up found for one source record."""

    target_id: str | None = None
    target: Record | None = None
    key: str = ""  # the key that decided (for the record log)
    value: str = ""  # its normalised value, readable
    candidates: list[Candidate] = field(default_factory=list)  # two or more: ambiguous
    target_label: str = ""
    # Other unlinked records of the source side that the one candidate matches as well: the
    # candidate is ambiguous from its side, so this record waits too.
    rivals: list[Candidate] = field(default_factory=list)

    @property
    def ambiguous(self) -> bool:
        return self.target_id is None and (len(self.candidates) > 1 or bool(self.rivals))


def label_of(record: Record) -> str:
    props = record.properties
    parts = [str(props.get(f)).strip() for f in LABEL_FIELDS if props.get(f) not in (None, "")]
    return " · ".join(dict.fromkeys(parts[:2])) or str(record.id)


def search_values(key_field: KeyField, raw_values: Iterable[Any]) -> list[str]:
    """The spellings to ask a vendor's exact search for; the answers are compared normalised."""
    out: list[str] = []
    for raw in raw_values:
        norm = normalise(key_field.normaliser, raw, country=key_field.country or None)
        if norm is None:
            continue
        if key_field.normaliser == "domain":
            out.extend(spelling.format(norm) for spelling in DOMAIN_SPELLINGS)
        else:
            out.append(norm)
            stripped = str(raw).strip()
            if stripped and stripped != norm:
                out.append(stripped)
    return list(dict.fromkeys(out))


class TargetIndex:
    """Every record of one target object, keyed by each match key: {key position: {key: [ids]}}.

    Built once per run (`read`: the object's change feed from the start) and kept across the
    run's slices (IndexCache); a later slice brings it up to date with `refresh`, which reads the
    same feed from where the build stopped: only the records changed since, so a record someone
    else created on the target meanwhile is found, and one changed or deleted is re-keyed."""

    def __init__(self, keys: list[MatchKey], side: str):
        self.keys = keys
        self.side = side
        self.by_key: list[dict[tuple, list[str]]] = [{} for _ in keys]
        self.labels: dict[str, str] = {}
        self.records_read = 0
        self.cursor: Any = None  # the change feed's position after the last read
        self._keyed: dict[str, list[list[tuple]]] = {}  # id -> its keys by position (to re-key it)

    def add(self, records: Iterable[Record]) -> None:
        for record in records:
            rid = str(record.id)
            self.records_read += 1
            if rid in self._keyed:
                self._forget(rid)
            if record.deleted:
                continue
            self.labels[rid] = label_of(record)
            keyed = [key_values(key, self.side, record.properties, own_parent) for key in self.keys]
            self._keyed[rid] = keyed
            for position, values in enumerate(keyed):
                for value in values:
                    self.by_key[position].setdefault(value, []).append(rid)

    def _forget(self, rid: str) -> None:
        for position, values in enumerate(self._keyed.pop(rid)):
            for value in values:
                ids = self.by_key[position].get(value, [])
                if rid in ids:
                    ids.remove(rid)
                if not ids:
                    self.by_key[position].pop(value, None)
        self.labels.pop(rid, None)

    def _read_on(self, connector: Connector, object_type: str, keep_alive: Callable) -> int:
        """Read the feed from `cursor` to its end; the number of records read."""
        read = 0
        while True:
            page = connector.read_changes(object_type, self.cursor)
            self.add(page.records)
            read += len(page.records)
            keep_alive()
            self.cursor = page.cursor
            if not page.has_more or not page.records:
                return read

    @classmethod
    def read(cls, connector: Connector, object_type: str, keys: list[MatchKey], side: str, keep_alive: Callable) -> TargetIndex:
        index = cls(keys, side)
        index._read_on(connector, object_type, keep_alive)
        return index

    def refresh(self, connector: Connector, object_type: str, keep_alive: Callable) -> int:
        """Bring the index up to date: the records changed since it was read; how many."""
        return self._read_on(connector, object_type, keep_alive)


class IndexCache:
    """This process's match indexes, kept across the slices of a run (a first run or a preview of
    100,000 records takes many slices; reading the target object again in each cost more than the
    slice's work). Keyed by run and everything the index depends on; at most `limit` indexes,
    the least recently used go first; a finished run's go at once (forget_run). A slice that
    runs in another worker process builds its own."""

    def __init__(self, limit: int):
        self.limit = limit
        self._indexes: OrderedDict[tuple, TargetIndex] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: tuple) -> TargetIndex | None:
        with self._lock:
            index = self._indexes.get(key)
            if index is not None:
                self._indexes.move_to_end(key)
            return index

    def put(self, key: tuple, index: TargetIndex) -> None:
        with self._lock:
            self._indexes[key] = index
            self._indexes.move_to_end(key)
            while len(self._indexes) > self.limit:
                self._indexes.popitem(last=False)

    def forget_run(self, run_id: Any) -> None:
        with self._lock:
            for key in [k for k in self._indexes if k[0] == str(run_id)]:
                del self._indexes[key]

    def __len__(self) -> int:
        return len(self._indexes)


# Enough for every (object mapping, side) of a run with a few mappings, or two runs taking turns.
MATCH_INDEXES = IndexCache(limit=8)


def own_parent(key_field: KeyField, value: Any) -> str | None:
    """A target record's link part: its own parent's id (the source side maps to it)."""
    return str(value).strip().lower() or None


class Matcher:
    """One flow's look-ups. `parents` maps (source parent type, id) to the linked target parent id."""

    def __init__(
        self,
        connector: Connector,
        target_object: str,
        source_side: str,
        target_side: str,
        keys: list[MatchKey],
        *,
        reference_of: Callable[[KeyField], str],
        index: Callable[[], TargetIndex] | None = None,
        source_index: Callable[[], TargetIndex] | None = None,
        full_scan: Callable[[], bool] = lambda: False,
        in_flight: Callable | None = None,
    ):
        self.connector = connector
        self.target_object = target_object
        self.source_side = source_side
        self.target_side = target_side
        self.keys = keys
        self.reference_of = reference_of  # the source reference type of a link field
        self._full_scan = full_scan
        self._index_factory = index
        self._source_index_factory = source_index
        self._index: TargetIndex | None = None
        self.in_flight = in_flight or (lambda calls, limit: ((k, c()) for k, c in calls))
        self.lookups = 0

    def use_index(self) -> bool:
        return self._index_factory is not None and self._full_scan()

    def index(self) -> TargetIndex:
        if self._index is None:
            if self._index_factory is None:
                raise ConnectorError("No index of the target object to match against", ErrorKind.CONFIG)
            self._index = self._index_factory()
        return self._index

    def source_key(self, key: MatchKey, record: Record, parents: dict[tuple[str, str], str]) -> tuple | None:
        def via_links(key_field: KeyField, value: Any) -> str | None:
            target_parent = parents.get((self.reference_of(key_field), str(value)))
            return str(target_parent).lower() if target_parent else None

        return key_value(key, self.source_side, record.properties, via_links)

    # --- the look-up ---------------------------------------------------------------------------
    def find(
        self,
        records: list[Record],
        parents: dict[tuple[str, str], str],
        taken: Callable[[set[str]], set[str]],
        source_taken: Callable[[set[str]], set[str]] | None = None,
    ) -> dict[str, MatchResult]:
        """{source id: result} for every record with at least one key value.

        `taken(ids)`: which target ids are linked already; `source_taken(ids)`: which source ids
        are. With the source side's index (full scans), a target found by a key that another
        unlinked source record also holds is ambiguous from its side: neither record is linked."""
        wanted = {str(r.id): [self.source_key(k, r, parents) for k in self.keys] for r in records}
        wanted = {rid: keys for rid, keys in wanted.items() if any(k is not None for k in keys)}
        if not wanted:
            return {}
        by_key, labels, records_by_id = self._candidates(records, wanted)
        all_ids = {i for per_key in by_key for ids in per_key.values() for i in ids}
        linked = taken(all_ids) if all_ids else set()
        results: dict[str, MatchResult] = {}
        for rid, values in wanted.items():
            results[rid] = self._decide(values, by_key, linked, labels, records_by_id)
        if self.use_index() and self._source_index_factory is not None and source_taken is not None:
            self._ambiguous_from_the_other_side(records, wanted, results, source_taken)
        return results

    def _ambiguous_from_the_other_side(self, records, wanted, results, source_taken) -> None:
        source_index = self._source_index_factory()
        native = {str(r.id): [key_value(k, self.source_side, r.properties, own_parent) for k in self.keys] for r in records}
        twins: dict[str, list[str]] = {}
        for rid, result in results.items():
            if result.target_id is None:
                continue
            position = next(p for p, k in enumerate(self.keys) if k.label == result.key)
            value = native[rid][position]
            twins[rid] = [i for i in source_index.by_key[position].get(value, [])] if value is not None else []
        others = {i for ids in twins.values() for i in ids}
        linked = source_taken(others) if others else set()
        for rid, ids in twins.items():
            rivals = [i for i in dict.fromkeys(ids) if i not in linked and i != rid]
            if rivals:
                result = results[rid]
                results[rid] = MatchResult(
                    key=result.key,
                    value=result.value,
                    candidates=[Candidate(result.target_id, result.target_label)],
                    rivals=[Candidate(i, source_index.labels.get(i, i)) for i in rivals],
                )

    def _decide(self, values, by_key, linked, labels, records_by_id) -> MatchResult:
        narrowed: list[str] | None = None
        first_label = ("", "")
        for position, value in enumerate(values):
            if value is None:
                continue
            ids = [i for i in dict.fromkeys(by_key[position].get(value, [])) if i not in linked]
            if narrowed is not None:
                ids = [i for i in ids if i in narrowed]
            if not ids:
                continue
            key_text, value_text = self.keys[position].label, " + ".join(value)
            if len(ids) == 1:
                return MatchResult(
                    ids[0], records_by_id.get(ids[0]), key_text, value_text, target_label=labels.get(ids[0], ids[0])
                )
            if narrowed is None:
                narrowed, first_label = ids, (key_text, value_text)
        if narrowed:
            return MatchResult(
                key=first_label[0], value=first_label[1], candidates=[Candidate(i, labels.get(i, i)) for i in narrowed]
            )
        return MatchResult()

    def _candidates(self, records: list[Record], wanted: dict[str, list[tuple | None]]):
        """{key position: {key value: [target ids]}}, labels and (look-up) records by id."""
        if not self.use_index():
            try:
                return self._look_up(records, wanted)
            except ConnectorError as exc:
                if exc.kind != ErrorKind.CONFIG or self._index_factory is None:
                    raise
        index = self.index()
        return index.by_key, index.labels, {}

    def _look_up(self, records: list[Record], wanted: dict[str, list[tuple | None]]):
        by_key: list[dict[tuple, list[str]]] = [{} for _ in self.keys]
        labels: dict[str, str] = {}
        found: dict[str, Record] = {}
        for position, key in enumerate(self.keys):
            search_field = next((f for f in key.fields if not f.is_link), None)
            raw = [
                r.properties.get(search_field.field_for(self.source_side))
                for r in records
                if wanted[str(r.id)][position] is not None
            ]
            values = search_values(search_field, raw)
            if not values:
                continue
            target_field = search_field.field_for(self.target_side)
            chunk_size = self.connector.match_chunk_size(self.target_object, target_field)
            calls = (
                (None, _bind(self.connector.find_by, self.target_object, target_field, chunk))
                for chunk in chunked(values, chunk_size)
            )
            for _, part in self.in_flight(calls, self.connector.concurrency):
                self.lookups += 1
                for hits in part.values():
                    for record in hits:
                        if not record.deleted:
                            found[str(record.id)] = record
            for rid, record in found.items():
                for value in key_values(key, self.target_side, record.properties, own_parent):
                    if rid not in by_key[position].get(value, []):
                        by_key[position].setdefault(value, []).append(rid)
                labels[rid] = label_of(record)
        return by_key, labels, found


def _bind(fn: Callable, *args: Any) -> Callable[[], Any]:
    return lambda: fn(*args)
