"""HubSpot lists (lists v3): the lists of an object type by name, and a list's members.

A list's members are read page by page (250 ids a call, the most HubSpot allows) to the end, or
not at all: any failed call raises, so a partial read never makes a member look as if it left.
The engine reads each list once per run and keeps the set (syncsmart/engine/inclusion_lists.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from connectors.base import Connector, ConnectorError, ErrorKind

OBJECT_TYPE_IDS = {"contacts": "0-1", "companies": "0-2", "deals": "0-3"}
MEMBERSHIP_PAGE = 250
SEARCH_PAGE = 500
MAX_SEARCH_PAGES = 40  # 20,000 lists: far beyond HubSpot's per-portal limits


@dataclass(frozen=True)
class HubSpotList:
    id: str
    name: str
    object_type: str
    processing_type: str  # MANUAL (static), DYNAMIC (active), SNAPSHOT
    size: int | None = None

    @property
    def kind_label(self) -> str:
        return {"DYNAMIC": "active list", "MANUAL": "static list", "SNAPSHOT": "static list"}.get(self.processing_type, "list")


def _object_type(type_id: str) -> str:
    return next((name for name, tid in OBJECT_TYPE_IDS.items() if tid == type_id), type_id)


def _from_json(item: dict) -> HubSpotList:
    size = (item.get("additionalProperties") or {}).get("hs_list_size")
    return HubSpotList(
        id=str(item.get("listId", "")),
        name=str(item.get("name", "")),
        object_type=_object_type(str(item.get("objectTypeId", ""))),
        processing_type=str(item.get("processingType", "")),
        size=int(size) if str(size or "").isdigit() else None,
    )


class HubSpotLists:
    def __init__(self, connector: Connector):
        self.http = connector.http  # type: ignore[attr-defined]

    def all(self, object_type: str) -> list[HubSpotList]:
        """Every list of this object type (POST /crm/v3/lists/search, paged by offset)."""
        found: list[HubSpotList] = []
        offset = 0
        for _ in range(MAX_SEARCH_PAGES):
            answer = self.http.request("POST", "/crm/v3/lists/search", json={"offset": offset, "count": SEARCH_PAGE}).json()
            found += [_from_json(item) for item in answer.get("lists", [])]
            offset = int(answer.get("offset") or 0)
            if not answer.get("hasMore"):
                break
        return sorted((x for x in found if x.object_type == object_type), key=lambda x: x.name.lower())

    def by_name(self, object_type: str, name: str) -> HubSpotList | None:
        type_id = OBJECT_TYPE_IDS.get(object_type)
        if type_id is None or not name.strip():
            return None
        try:
            answer = self.http.request("GET", f"/crm/v3/lists/object-type-id/{type_id}/name/{quote(name.strip(), safe='')}")
        except ConnectorError as exc:
            if exc.kind == ErrorKind.NOT_FOUND:
                return None
            raise
        return _from_json(answer.json().get("list") or {})

    def lists_of_record(self, object_type: str, record_id: str) -> set[str]:
        """The ids of the lists one record is in (one call, whatever the lists' sizes)."""
        type_id = OBJECT_TYPE_IDS.get(object_type)
        if type_id is None:
            raise ConnectorError(f"HubSpot {object_type} are not in lists", ErrorKind.CONFIG)
        path = f"/crm/v3/lists/records/{type_id}/{quote(str(record_id), safe='')}/memberships"
        return {str(item["listId"]) for item in self.http.request("GET", path).json().get("results", [])}

    def member_ids(self, list_id: str) -> set[str]:
        """Every member's record id, read to the end (or raises)."""
        members: set[str] = set()
        after = None
        while True:
            params = {"limit": MEMBERSHIP_PAGE} | ({"after": after} if after else {})
            answer = self.http.request("GET", f"/crm/v3/lists/{quote(str(list_id), safe='')}/memberships", params=params).json()
            members |= {str(item["recordId"]) for item in answer.get("results", [])}
            after = ((answer.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return members
