"""NetSuite: a deletion is read from SuiteQL's DeletedRecord table, one row per deleted record
(`recordid`, `type` — the record type, `customer` / `contact` / `opportunity` —, `deleteddate`,
`name`). NetSuite record lists never show deleted records, and DeletedRecord names only what was
really deleted (not a record the integration role cannot see), so an id is gone when DeletedRecord
has it under its record type AND the record table no longer returns it. Every read pages to its
end or raises: a partial answer never reports a deletion.

Removing: a customer or contact is made inactive (`isInactive`, NetSuite's reversible removal);
a delete is DELETE on the record (an id already gone, 404, counts as done). Opportunities have
no inactive state: delete only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connectors.base import Connector, ConnectorError, ErrorKind, WriteInput, WriteResult, chunked
from connectors.netsuite import RECORD_PATH

DELETED_TABLE = "DeletedRecord"
ID_CHUNK = 500  # ids per SuiteQL IN (...), as the connector's look-ups


class NetSuiteLifecycle:
    def __init__(self, connector: Connector):
        self.connector = connector
        self.http = connector.http  # type: ignore[attr-defined]

    def can_archive(self, object_type: str) -> bool:
        return object_type in ("customers", "contacts")

    def archive(self, object_type: str, ids: Sequence[str]) -> list[WriteResult]:
        if not self.can_archive(object_type):
            raise ConnectorError(f"NetSuite {object_type} cannot be made inactive; choose delete", ErrorKind.CONFIG)
        inputs = [WriteInput(ref=str(i), id=str(i), properties={"isInactive": True}) for i in ids]
        results = self.connector.update(object_type, inputs)
        # An id already gone counts as done.
        return [WriteResult(ref=r.ref, id=r.id) if r.error and r.error.kind == ErrorKind.NOT_FOUND else r for r in results]

    def delete(self, object_type: str, ids: Sequence[str]) -> list[WriteResult]:
        spec = self.connector._spec(object_type)  # type: ignore[attr-defined]
        self.connector._refuse_read_only(spec)  # type: ignore[attr-defined]
        return [self._delete_one(spec.record, str(i)) for i in ids]

    def _delete_one(self, record: str, record_id: str) -> WriteResult:
        if not record_id.isdigit():
            error = ConnectorError(f"NetSuite ids are numbers, not {record_id!r}", ErrorKind.VALIDATION)
            return WriteResult(ref=record_id, id=record_id, error=error)
        try:
            self.http.request("DELETE", f"{RECORD_PATH}/{record}/{int(record_id)}", ok_statuses=(404,))
        except ConnectorError as error:
            return WriteResult(ref=record_id, id=record_id, error=error)
        return WriteResult(ref=record_id, id=record_id)

    def gone(self, object_type: str, ids: Sequence[str]) -> set[str]:
        """Ids among `ids` that DeletedRecord lists under this record type and that the record
        table no longer returns (raises on any failed or unfinished read)."""
        spec = self.connector._spec(object_type)  # type: ignore[attr-defined]
        numeric = sorted({str(int(i)) for i in ids if str(i).isdigit() and len(str(i)) < 19})
        deleted: set[str] = set()
        for chunk in chunked(numeric, ID_CHUNK):
            deleted |= self.deleted_ids(spec.record, chunk)
        if not deleted:
            return set()
        still_there = {r.id for r in self.connector.read_by_ids(object_type, sorted(deleted))}
        return deleted - still_there

    def deleted_ids(self, record: str, ids: Sequence[str]) -> set[str]:
        q = (
            f"SELECT recordid FROM {DELETED_TABLE} WHERE type = '{record}' "
            f"AND recordid IN ({', '.join(str(int(i)) for i in ids)}) ORDER BY recordid"
        )
        rows: list[dict[str, Any]] = self.connector._query_all(q)  # type: ignore[attr-defined]
        return {str(row["recordid"]) for row in rows if row.get("recordid") is not None}
