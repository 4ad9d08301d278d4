"""A connector that reads from the vendor and writes nothing: the preview's connector.

Reads go to the real connector (in the vendor's read limits, through the shared limiter).
Creates, updates, write-backs and new dropdown options are answered here, as the vendor would
answer them, and kept in an overlay that later reads see: a record the preview "updated" reads
back with its new values, one it "created" shows up in its object's change feed. So the engine
runs exactly as in a real run, page by page, and decides exactly what it would decide, while
the vendor sees only reads.

Only the methods named here are allowed: any other call (a method a connector gains later,
e.g. a delete or a merge) is refused, so a preview can never write by omission.
"""

from __future__ import annotations

import collections
import itertools
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from connectors.base import ConnectorError, ErrorKind, Option, Page, Record, WriteInput, WriteResult

READS = frozenset(
    {
        "object_types",
        "object_type",
        "discover_fields",
        "read_changes",
        "read_by_ids",
        "match_chunk_size",
        "find_by",
        "test_connection",
        "verify_webhook",
        "parse_webhook",
    }
)
ATTRIBUTES = frozenset(
    {
        "system",
        "max_batch_write",
        "max_batch_read",
        "max_page_size",
        "max_concurrency",
        "concurrency",
        "id_field_objects",
        "write_back_batch",
    }
)
# Calls that stay in this process (no vendor request): passed through, not counted.
LOCAL_CALLS = frozenset({"use_shared_metadata"})
PREVIEW_ID_PREFIX = "preview-"


class DryConnector:
    def __init__(self, connector: Any):
        self._real = connector
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.created: dict[str, dict[str, dict[str, Any]]] = collections.defaultdict(dict)  # object -> id -> props
        self.updated: dict[str, dict[str, dict[str, Any]]] = collections.defaultdict(dict)
        self._fed: dict[str, bool] = collections.defaultdict(bool)  # created records shown in the feed once
        self.calls: collections.Counter = collections.Counter()  # vendor calls made, by method
        self.withheld: collections.Counter = collections.Counter()  # writes answered here, by method

    # --- passing through -------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name in ATTRIBUTES or name in LOCAL_CALLS:
            return getattr(self._real, name)
        if name in READS:
            method = getattr(self._real, name)

            def read(*args: Any, **kwargs: Any) -> Any:
                with self._lock:
                    self.calls[name] += 1
                return method(*args, **kwargs)

            return read
        raise ConnectorError(f"A preview does not call {name} on {getattr(self._real, 'system', 'the vendor')}", ErrorKind.CONFIG)

    def close(self) -> None:
        self._real.close()

    @property
    def vendor_calls(self) -> int:
        return sum(self.calls.values())

    # --- reads see the overlay ---------------------------------------------------------------
    def _overlaid(self, object_type: str, record: Record) -> Record:
        changes = self.updated.get(object_type, {}).get(str(record.id))
        if not changes:
            return record
        return Record(str(record.id), {**record.properties, **changes}, record.updated_at, record.created_at, record.deleted)

    def read_changes(self, object_type: str, cursor: dict[str, Any] | None, page_size: int | None = None) -> Page:
        with self._lock:
            self.calls["read_changes"] += 1
        page = self._real.read_changes(object_type, cursor, page_size)
        records = [self._overlaid(object_type, r) for r in page.records]
        if not page.has_more and self.created.get(object_type) and not self._fed[object_type]:
            # What the preview "created" shows up in the feed, as the vendor's new records would.
            self._fed[object_type] = True
            records += [Record(rid, dict(props)) for rid, props in self.created[object_type].items()]
        return Page(records, page.cursor, page.has_more)

    def read_by_ids(self, object_type: str, ids: Sequence[str]) -> list[Record]:
        created = self.created.get(object_type, {})
        real_ids = [i for i in ids if str(i) not in created]
        records = []
        if real_ids:
            with self._lock:
                self.calls["read_by_ids"] += 1
            records = [self._overlaid(object_type, r) for r in self._real.read_by_ids(object_type, real_ids)]
        return records + [Record(str(i), dict(created[str(i)])) for i in ids if str(i) in created]

    def find_by(self, object_type: str, field_name: str, values: Sequence[str]) -> dict[str, list[Record]]:
        with self._lock:
            self.calls["find_by"] += 1
        found = self._real.find_by(object_type, field_name, values)
        out = {key: [self._overlaid(object_type, r) for r in records] for key, records in found.items()}
        wanted = {str(v).strip().lower() for v in values}
        for rid, props in self.created.get(object_type, {}).items():
            key = str(props.get(field_name) or "").strip().lower()
            if key in wanted:
                out.setdefault(key, []).append(Record(rid, dict(props)))
        return out

    # --- writes are answered here ----------------------------------------------------------------
    def create(self, object_type: str, inputs: Sequence[WriteInput]) -> list[WriteResult]:
        results = []
        with self._lock:
            self.withheld["create"] += 1
            for item in inputs:
                rid = f"{PREVIEW_ID_PREFIX}{next(self._ids)}"
                self.created[object_type][rid] = dict(item.properties)
                results.append(WriteResult(item.ref, id=rid, record=Record(rid, dict(item.properties))))
        return results

    def update(self, object_type: str, inputs: Sequence[WriteInput]) -> list[WriteResult]:
        results = []
        with self._lock:
            self.withheld["update"] += 1
            for item in inputs:
                rid = str(item.id)
                store = self.created[object_type] if rid in self.created.get(object_type, {}) else self.updated[object_type]
                store.setdefault(rid, {}).update(item.properties)
                results.append(WriteResult(item.ref, id=rid, record=Record(rid, dict(item.properties))))
        return results

    def write_back_id(self, object_type: str, pairs: Mapping[str, str], field_name: str) -> list[WriteResult]:
        return self.update(object_type, [WriteInput({field_name: theirs}, id=ours, ref=ours) for ours, theirs in pairs.items()])

    def ensure_id_field(self, object_type: str, name: str, counterpart: str) -> str:
        """The id field as the vendor has it (by name, or a ConnectWise custom field by caption);
        one that does not exist yet is named as asked and not created."""
        wanted = name.strip().lower()
        for info in self.discover_fields(object_type):
            if info.name == name or info.label.strip().lower() == wanted:
                return info.name
        with self._lock:
            self.withheld["ensure_id_field"] += 1
        return name

    def add_option(self, object_type: str, field_name: str, label: str, value: str) -> Option:
        with self._lock:
            self.withheld["add_option"] += 1
        return Option(value, label)
