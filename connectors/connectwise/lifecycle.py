"""ConnectWise: deactivation is a contact's `inactiveFlag`, a company's "Inactive" status and an
opportunity's lost status; a delete is DELETE on the record (activities and notes have no
inactive state: delete only). ConnectWise lists never show deleted records, so a removal is
confirmed by asking for the ids (`id in (...)`, ≤1,000 a call; a note under its record, id
`<record>:<note>`): an id it no longer returns is gone."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connectors.base import Connector, ConnectorError, ErrorKind, WriteResult, chunked
from connectors.connectwise import MAX_PAGE_SIZE
from connectors.connectwise.connector import record_path

INACTIVE_COMPANY_STATUS = "Inactive"


class ConnectWiseLifecycle:
    def __init__(self, connector: Connector):
        self.connector = connector
        self.http = connector.http  # type: ignore[attr-defined]

    def can_archive(self, object_type: str) -> bool:
        return object_type in ("companies", "contacts", "opportunities")

    def archive(self, object_type: str, ids: Sequence[str]) -> list[WriteResult]:
        spec = self.connector._spec(object_type)  # type: ignore[attr-defined]
        if object_type == "contacts":
            ops = [{"op": "replace", "path": "inactiveFlag", "value": True}]
        elif object_type == "companies":
            ops = [
                {
                    "op": "replace",
                    "path": "status",
                    "value": {"id": self._status_id("company/companies/statuses", "name", INACTIVE_COMPANY_STATUS)},
                }
            ]
        elif object_type == "opportunities":
            ops = [{"op": "replace", "path": "status", "value": {"id": self._lost_status()}}]
        else:
            raise ConnectorError(f"ConnectWise {object_type} cannot be deactivated; choose delete", ErrorKind.CONFIG)
        return [self._one("PATCH", f"{spec.path}/{int(i)}", i, json=ops) for i in ids]

    def delete(self, object_type: str, ids: Sequence[str]) -> list[WriteResult]:
        spec = self.connector._spec(object_type)  # type: ignore[attr-defined]
        results = []
        for record_id in ids:
            path = record_path(spec, str(record_id))  # a note lives under its record: "12:345"
            if path is None:
                error = ConnectorError(f"{record_id!r} is not a ConnectWise {object_type} id", ErrorKind.VALIDATION)
                results.append(WriteResult(ref=record_id, id=record_id, error=error))
            else:
                results.append(self._one("DELETE", path, record_id))
        return results

    def _one(self, method: str, path: str, record_id: str, **kwargs: Any) -> WriteResult:
        try:
            self.http.request(method, path, ok_statuses=(404,), **kwargs)  # already gone counts as done
        except ConnectorError as error:
            return WriteResult(ref=record_id, id=record_id, error=error)
        return WriteResult(ref=record_id, id=record_id)

    def _status_id(self, path: str, field: str, name: str) -> int:
        rows = self.http.request("GET", path, params={"pageSize": MAX_PAGE_SIZE}).json()
        found = next((r for r in rows if str(r.get(field, "")).lower() == name.lower()), None)
        if found is None:
            raise ConnectorError(f"ConnectWise has no {name!r} status at {path}", ErrorKind.CONFIG)
        return int(found["id"])

    def _lost_status(self) -> int:
        rows = self.http.request("GET", "sales/opportunities/statuses", params={"pageSize": MAX_PAGE_SIZE}).json()
        found = next((r for r in rows if r.get("lostFlag")), None)
        if found is None:
            raise ConnectorError("ConnectWise has no lost opportunity status", ErrorKind.CONFIG)
        return int(found["id"])

    def gone(self, object_type: str, ids: Sequence[str]) -> set[str]:
        spec = self.connector._spec(object_type)  # type: ignore[attr-defined]
        if spec.note_parent:
            # Notes are asked for under their record; a record that is gone took its notes with it.
            wanted = [str(i) for i in ids if record_path(spec, str(i))]
            found = [str(r.id) for r in self.connector._read_notes_by_ids(spec, wanted)]  # type: ignore[attr-defined]
            return missing_from(wanted, found)
        numeric = [i for i in ids if str(i).isdigit()]
        found: list[str] = []
        for chunk in chunked(numeric, MAX_PAGE_SIZE):
            rows = self.http.request(
                "GET", spec.path, params={"conditions": f"id in ({','.join(chunk)})", "fields": "id", "pageSize": MAX_PAGE_SIZE}
            ).json()
            found += [str(r["id"]) for r in rows]
        return missing_from(numeric, found)


def missing_from(ids: Sequence[str], found: Sequence[str]) -> set[str]:
    present = {str(i).lower() for i in found}
    return {i for i in ids if str(i).lower() not in present}
