"""HubSpot: archive (batch/archive, ≤100 ids a call) is both "archive" and "delete" — HubSpot's
delete is an archive restorable for 90 days; GDPR deletion is not something a sync should do.
A removal is confirmed through the archived list (`archived=true`), which leaves merged-away ids
out: a merge is not a deletion."""

from __future__ import annotations

from collections.abc import Sequence

from connectors.base import Connector, WriteResult, chunked
from connectors.hubspot import limits


class HubSpotLifecycle:
    def __init__(self, connector: Connector):
        self.connector = connector
        self.http = connector.http  # type: ignore[attr-defined]

    def can_archive(self, object_type: str) -> bool:
        return object_type in ("contacts", "companies", "deals")

    def archive(self, object_type: str, ids: Sequence[str]) -> list[WriteResult]:
        self.connector._crm_type(object_type)  # type: ignore[attr-defined]
        for chunk in chunked(list(ids), limits.BATCH_LIMIT):
            # Archiving an archived or unknown id is a no-op for HubSpot (204), so a retry is safe.
            self.http.request("POST", f"/crm/v3/objects/{object_type}/batch/archive", json={"inputs": [{"id": i} for i in chunk]})
        return [WriteResult(ref=i, id=i) for i in ids]

    delete = archive

    def gone(self, object_type: str, ids: Sequence[str]) -> set[str]:
        """Ids among `ids` that are archived. Reads the archived list to its end (or raises)."""
        wanted, archived = {str(i) for i in ids}, set()
        after = None
        while wanted - archived:
            params = {"archived": "true", "limit": limits.BATCH_LIMIT, "properties": "hs_object_id"} | (
                {"after": after} if after else {}
            )
            answer = self.http.request("GET", f"/crm/v3/objects/{object_type}", params=params).json()
            archived |= {str(r["id"]) for r in answer.get("results", [])} & wanted
            after = ((answer.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                break
        return archived
