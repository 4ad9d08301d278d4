"""Dynamics 365: deactivation sets statecode 1 / statuscode 2 (Inactive) on accounts and contacts
in the batched writes; leads and opportunities close through their own messages (QualifyLead,
LoseOpportunity), which this product does not send, so for them only delete is offered. A delete
is DELETE on the row. Change tracking reports deletions itself ($deletedEntity); `gone` asks for
the ids (`id in (...)`) and reports those the table no longer returns."""

from __future__ import annotations

from collections.abc import Sequence

from connectors.base import Connector, ConnectorError, ErrorKind, WriteInput, WriteResult, chunked
from connectors.dynamics import odata

DEACTIVATABLE = ("accounts", "contacts")
IDS_PER_QUERY = 100


class DynamicsLifecycle:
    def __init__(self, connector: Connector):
        self.connector = connector
        self.http = connector.http  # type: ignore[attr-defined]

    def can_archive(self, object_type: str) -> bool:
        return object_type in DEACTIVATABLE

    def archive(self, object_type: str, ids: Sequence[str]) -> list[WriteResult]:
        if object_type not in DEACTIVATABLE:
            raise ConnectorError(f"Dynamics 365 {object_type} cannot be deactivated here; choose delete", ErrorKind.CONFIG)
        results = self.connector.update(
            object_type, [WriteInput({"statecode": "1", "statuscode": "2"}, id=i, ref=i) for i in ids]
        )
        return [r if r.ok or r.error.kind != ErrorKind.NOT_FOUND else WriteResult(ref=r.ref, id=r.ref) for r in results]

    def delete(self, object_type: str, ids: Sequence[str]) -> list[WriteResult]:
        table = self.connector._table(object_type)  # type: ignore[attr-defined]
        results = []
        for record_id in ids:
            try:
                self.http.request("DELETE", f"/{table.object_type.name}({record_id})", ok_statuses=(404,))
                results.append(WriteResult(ref=record_id, id=record_id))
            except ConnectorError as error:
                results.append(WriteResult(ref=record_id, id=record_id, error=error))
        return results

    def gone(self, object_type: str, ids: Sequence[str]) -> set[str]:
        table = self.connector._table(object_type)  # type: ignore[attr-defined]
        key = table.object_type.primary_key
        found: list[str] = []
        for chunk in chunked(list(ids), IDS_PER_QUERY):
            answer = self.http.request(
                "GET", f"/{table.object_type.name}", params={"$select": key, "$filter": odata.any_of(key, chunk)}
            ).json()
            if answer.get("@odata.nextLink"):
                raise ConnectorError(
                    "Dynamics 365 paged an id look-up; refusing to judge deletions on part of it", ErrorKind.SERVER
                )
            found += [str(r[key]) for r in answer.get("value", [])]
        return missing_from(ids, found)


def missing_from(ids: Sequence[str], found: Sequence[str]) -> set[str]:
    present = {str(i).lower() for i in found}
    return {i for i in ids if str(i).lower() not in present}
