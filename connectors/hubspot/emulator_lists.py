"""The HubSpot emulator's lists (lists v3, "segments"), after HubSpot's published reference:

- POST /crm/v3/lists {name, objectTypeId, processingType MANUAL | SNAPSHOT | DYNAMIC, filterBranch}
  answers {"list": ...}; a name already taken (per portal) is a 400;
- GET /crm/v3/lists/{listId}, GET /crm/v3/lists/object-type-id/{objectTypeId}/name/{listName}
  (404 when unknown), GET /crm/v3/lists?listIds=..&listIds=.. ({"lists": [...]}),
  DELETE /crm/v3/lists/{listId} (204);
- POST /crm/v3/lists/search {query, processingTypes, listIds, offset, count (≤ 500, default 20)}
  answers {"lists", "offset", "hasMore", "total"}, each list with additionalProperties
  hs_list_size;
- GET /crm/v3/lists/{listId}/memberships?limit (≤ 250, default 100)&after: record ids in
  ascending order, {"results": [{"recordId", "membershipTimestamp"}], "paging": {"next":
  {"after"}}, "total"}; `after` is an opaque token (a malformed one is a 400);
- GET /crm/v3/lists/records/{objectTypeId}/{recordId}/memberships: the lists one record is in
  ({"results": [{"listId", "listVersion", "firstAddedTimestamp", "lastAddedTimestamp"}], "total"});
- PUT /crm/v3/lists/{listId}/memberships/add and /remove (a JSON array of record ids) and
  /add-and-remove ({recordIdsToAdd, recordIdsToRemove}), answering HubSpot's
  {"recordsIdsAdded", "recordIdsRemoved", "recordIdsMissing"} (the reference spells the first
  key so); they work only on MANUAL and SNAPSHOT lists (a DYNAMIC list is a 400).

An archived record leaves every list. A DYNAMIC (active) list's members are the live records
matching its filterBranch, evaluated on every read (HubSpot processes in the background; here
there is no processing delay). Only PROPERTY filters are emulated, in an OR of AND branches,
with the operators IS_EQUAL_TO, IS_NOT_EQUAL_TO, IS_ANY_OF, IS_NONE_OF, CONTAINS, IS_KNOWN and
IS_UNKNOWN; any other filter is refused with a 400 when the list is created. Not emulated:
list folders, list conversion (active → static), SNAPSHOT re-processing, the `before` cursor (a 400),
the lists' `listVersion` history, and memberships' `firstAddedTimestamp` per record API.

In-process helpers for tests and the demo: `create_list`, `add_members`, `remove_members`,
`member_ids`, `list_by_name`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from connectors.emulation import BadInput, Request, Response, iso, json_response

if TYPE_CHECKING:
    from connectors.hubspot.emulator import HubSpotEmulator

OBJECT_TYPE_IDS = {"0-1": "contacts", "0-2": "companies", "0-3": "deals"}
PROCESSING_TYPES = ("MANUAL", "SNAPSHOT", "DYNAMIC")
MEMBERSHIP_PAGE_DEFAULT, MEMBERSHIP_PAGE_MAX = 100, 250
SEARCH_COUNT_DEFAULT, SEARCH_COUNT_MAX = 20, 500
MAX_IDS_PER_CALL = 100_000
OPERATORS = ("IS_EQUAL_TO", "IS_NOT_EQUAL_TO", "IS_ANY_OF", "IS_NONE_OF", "CONTAINS", "IS_KNOWN", "IS_UNKNOWN")


@dataclass
class StoredList:
    id: int
    name: str
    object_type_id: str
    processing_type: str
    filter_branch: dict[str, Any] | None
    created_ms: int
    updated_ms: int
    members: dict[int, int] = field(default_factory=dict)  # record id -> added at (ms); MANUAL / SNAPSHOT only


def _iso_ms(ms: int) -> str:
    return iso(dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC))


def _token(record_id: int) -> str:
    return base64.urlsafe_b64encode(f"r:{record_id}".encode()).decode().rstrip("=")


def _after(token: str | None) -> int:
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadInput(f"Invalid paging token {token[:40]!r}") from None
    kind, _, number = text.partition(":")
    if kind != "r" or not number.isdecimal() or len(number) > 30:
        raise BadInput(f"Invalid paging token {token[:40]!r}")
    return int(number)


def _record_ids(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_IDS_PER_CALL:
        raise BadInput(f"Invalid input JSON: {name} must be an array of record ids")
    ids = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (str, int)) or not str(item).isdecimal() or len(str(item)) > 30:
            raise BadInput(f"Invalid input JSON: {name} must hold record ids, not {str(item)[:40]!r}")
        ids.append(str(int(item)))
    return ids


def _check_branch(branch: Any, depth: int = 0) -> None:
    """The filterBranch shapes emulated: OR of AND branches of PROPERTY filters."""
    if not isinstance(branch, dict) or depth > 2:
        raise BadInput("Invalid filterBranch: an OR branch of AND branches of PROPERTY filters")
    if branch.get("filterBranchType") not in ("OR", "AND"):
        raise BadInput("Invalid filterBranch: filterBranchType must be OR or AND")
    children, filters = branch.get("filterBranches") or [], branch.get("filters") or []
    if not isinstance(children, list) or not isinstance(filters, list):
        raise BadInput("Invalid filterBranch: filterBranches and filters are arrays")
    for child in children:
        _check_branch(child, depth + 1)
    for f in filters:
        _check_property_filter(f)


def _check_property_filter(f: Any) -> None:
    operation = f.get("operation") if isinstance(f, dict) else None
    if not isinstance(f, dict) or f.get("filterType") != "PROPERTY" or not isinstance(f.get("property"), str):
        raise BadInput("Invalid filterBranch: only PROPERTY filters are supported")
    if not isinstance(operation, dict) or operation.get("operator") not in OPERATORS:
        raise BadInput(f"Invalid filterBranch: the operator must be one of {', '.join(OPERATORS)}")
    values = operation.get("values", [])
    if not isinstance(values, list) or any(isinstance(v, (dict, list)) for v in [*values, operation.get("value")]):
        raise BadInput("Invalid filterBranch: an operation's values are an array of texts")


def _filter_matches(f: dict[str, Any], props: dict[str, Any]) -> bool:
    operation = f["operation"]
    operator = operation["operator"]
    value = props.get(f["property"])
    text = "" if value is None else str(value).lower()
    wanted = [str(v).lower() for v in (operation.get("values") or [])]
    if "value" in operation:
        wanted.append(str(operation["value"]).lower())
    tests = {
        "IS_EQUAL_TO": lambda: text in wanted,
        "IS_ANY_OF": lambda: text in wanted,
        "IS_NOT_EQUAL_TO": lambda: text not in wanted,
        "IS_NONE_OF": lambda: text not in wanted,
        "CONTAINS": lambda: any(w in text for w in wanted),
        "IS_KNOWN": lambda: text != "",
        "IS_UNKNOWN": lambda: text == "",
    }
    return tests[operator]()


def _branch_matches(branch: dict[str, Any], props: dict[str, Any]) -> bool:
    results = [_filter_matches(f, props) for f in branch.get("filters") or []]
    results += [_branch_matches(b, props) for b in branch.get("filterBranches") or []]
    if not results:
        return False
    return any(results) if branch["filterBranchType"] == "OR" else all(results)


def _whole_number(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadInput(f"Invalid input JSON: {name} must be a whole number between {low} and {high}")
    return value


def _search_terms(body: dict[str, Any]) -> tuple[str, list, set[str], int, int]:
    """A lists search body: query, processingTypes, listIds, offset, count (malformed: a 400)."""
    types, listed = body.get("processingTypes") or [], body.get("listIds") or []
    if not isinstance(types, list) or any(t not in PROCESSING_TYPES for t in types):
        raise BadInput(f"Invalid input JSON: processingTypes are {', '.join(PROCESSING_TYPES)}")
    if not isinstance(listed, list):
        raise BadInput("Invalid input JSON: listIds must be an array of list ids")
    offset = _whole_number(body.get("offset", 0), "offset", 0, 10**9)
    count = _whole_number(body.get("count", SEARCH_COUNT_DEFAULT), "count", 1, SEARCH_COUNT_MAX)
    return str(body.get("query") or "").lower(), types, {str(i) for i in listed}, offset, count


class Lists:
    """Lists and their memberships of one HubSpot emulator."""

    def __init__(self, emulator: HubSpotEmulator):
        self.emulator = emulator
        self.lists: dict[int, StoredList] = {}
        self.ids = itertools.count(1)

    def setup_routes(self) -> None:
        r = self.emulator.route
        r("POST", r"/crm/v3/lists/?", self.create, name="lists/create")
        r("GET", r"/crm/v3/lists/?", self.get_many, name="lists/get-many")
        r("POST", r"/crm/v3/lists/search", self.search, name="lists/search", write=False)
        r("GET", r"/crm/v3/lists/object-type-id/(?P<type>[^/]+)/name/(?P<name>[^/]+)", self.get_by_name, name="lists/by-name")
        r("GET", r"/crm/v3/lists/(?P<id>\d+)/memberships", self.memberships, name="lists/memberships")
        r(
            "GET",
            r"/crm/v3/lists/records/(?P<type>[^/]+)/(?P<record>\d+)/memberships",
            self.record_memberships,
            name="lists/record-memberships",
        )
        r("PUT", r"/crm/v3/lists/(?P<id>\d+)/memberships/add", self.add, name="lists/memberships/add")
        r("PUT", r"/crm/v3/lists/(?P<id>\d+)/memberships/remove", self.remove, name="lists/memberships/remove")
        r("PUT", r"/crm/v3/lists/(?P<id>\d+)/memberships/add-and-remove", self.add_and_remove, name="lists/memberships/update")
        r("GET", r"/crm/v3/lists/(?P<id>\d+)", self.get, name="lists/get")
        r("DELETE", r"/crm/v3/lists/(?P<id>\d+)", self.delete, name="lists/delete")

    # --- in-process helpers ---------------------------------------------------------------------
    def create_list(
        self, name: str, object_type: str = "contacts", processing_type: str = "MANUAL", filter_branch: dict | None = None
    ) -> str:
        type_id = next(k for k, v in OBJECT_TYPE_IDS.items() if v == object_type)
        return str(self._create(name, type_id, processing_type, filter_branch).id)

    def add_members(self, list_id: str | int, record_ids: list[str | int]) -> None:
        self._change(self._manual(int(list_id)), [str(i) for i in record_ids], [])

    def remove_members(self, list_id: str | int, record_ids: list[str | int]) -> None:
        self._change(self._manual(int(list_id)), [], [str(i) for i in record_ids])

    def member_ids(self, list_id: str | int) -> list[str]:
        with self.emulator.lock:
            return [str(i) for i in sorted(self._members(self.lists[int(list_id)]))]

    def list_by_name(self, name: str) -> str | None:
        found = next((s for s in self.lists.values() if s.name.lower() == name.lower()), None)
        return str(found.id) if found else None

    # --- the store ----------------------------------------------------------------------------------
    def _create(self, name: str, type_id: str, processing_type: str, branch: dict | None) -> StoredList:
        if not isinstance(name, str) or not name.strip() or len(name) > 500:
            raise BadInput("Invalid input JSON: name is required")
        if type_id not in OBJECT_TYPE_IDS:
            raise BadInput(f"Invalid input JSON: objectTypeId {str(type_id)[:40]!r} is not a list object type")
        if processing_type not in PROCESSING_TYPES:
            raise BadInput(f"Invalid input JSON: processingType must be one of {', '.join(PROCESSING_TYPES)}")
        if processing_type == "DYNAMIC":
            _check_branch(branch)
        with self.emulator.lock:
            if any(s.name.lower() == name.strip().lower() for s in self.lists.values()):
                raise BadInput(f"A list named '{name.strip()}' already exists")
            now = self.emulator.now_ms()
            stored = StoredList(next(self.ids), name.strip(), type_id, processing_type, branch, now, now)
            self.lists[stored.id] = stored
        return stored

    def _members(self, stored: StoredList) -> dict[int, int]:
        """Live members -> added at; a DYNAMIC list's are evaluated now (call with the lock held)."""
        records = self.emulator.records[OBJECT_TYPE_IDS[stored.object_type_id]]
        if stored.processing_type != "DYNAMIC":
            return {i: at for i, at in stored.members.items() if i in records and not records[i].archived}
        return {
            i: r.updated_ms
            for i, r in records.items()
            if not r.archived and _branch_matches(stored.filter_branch or {}, r.properties)
        }

    def _manual(self, list_id: int) -> StoredList:
        stored = self.lists.get(list_id)
        if stored is None:
            raise LookupError(list_id)
        if stored.processing_type == "DYNAMIC":
            raise BadInput(f"List {list_id} is a DYNAMIC list: only MANUAL and SNAPSHOT lists take memberships")
        return stored

    def _change(self, stored: StoredList, add: list[str], remove: list[str]) -> dict[str, list[str]]:
        emulator = self.emulator
        records = emulator.records[OBJECT_TYPE_IDS[stored.object_type_id]]
        added, removed, missing = [], [], []
        with emulator.lock:
            now = emulator.now_ms()
            for record_id in add:
                number = int(record_id)
                if number not in records or records[number].archived:
                    missing.append(record_id)
                elif number not in stored.members:
                    stored.members[number] = now
                    added.append(record_id)
            for record_id in remove:
                number = int(record_id)
                if number not in records:
                    missing.append(record_id)
                elif stored.members.pop(number, None) is not None:
                    removed.append(record_id)
            if added or removed:
                stored.updated_ms = now
        return {"recordsIdsAdded": added, "recordIdsRemoved": removed, "recordIdsMissing": missing}

    def _json(self, stored: StoredList, size: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "listId": str(stored.id),
            "listVersion": 1,
            "name": stored.name,
            "objectTypeId": stored.object_type_id,
            "processingType": stored.processing_type,
            "processingStatus": "COMPLETE",
            "createdAt": _iso_ms(stored.created_ms),
            "updatedAt": _iso_ms(stored.updated_ms),
            "filtersUpdatedAt": _iso_ms(stored.created_ms),
        }
        if stored.filter_branch is not None:
            body["filterBranch"] = stored.filter_branch
        if size:
            body["additionalProperties"] = {"hs_list_size": str(len(self._members(stored)))}
        return body

    def _found(self, request: Request) -> StoredList | Response:
        stored = self.lists.get(int(request.params["id"]))
        if stored is None:
            return self.emulator.error(404, f"List {request.params['id']} does not exist")
        return stored

    # --- handlers -----------------------------------------------------------------------------------
    def create(self, request: Request) -> Response:
        body = request.json_object()
        stored = self._create(
            body.get("name"), str(body.get("objectTypeId", "")), body.get("processingType"), body.get("filterBranch")
        )
        with self.emulator.lock:
            return json_response({"list": self._json(stored)})

    def get(self, request: Request) -> Response:
        stored = self._found(request)
        if isinstance(stored, Response):
            return stored
        with self.emulator.lock:
            return json_response({"list": self._json(stored)})

    def get_many(self, request: Request) -> Response:
        ids = request.query.get("listIds", [])
        if any(not i.isdecimal() for i in ids):
            raise BadInput("listIds must be list ids")
        with self.emulator.lock:
            found = [self._json(self.lists[int(i)]) for i in ids if int(i) in self.lists]
        return json_response({"lists": found})

    def get_by_name(self, request: Request) -> Response:
        type_id, name = request.params["type"], request.params["name"]
        with self.emulator.lock:
            stored = next(
                (s for s in self.lists.values() if s.object_type_id == type_id and s.name.lower() == name.lower()), None
            )
            if stored is not None:
                return json_response({"list": self._json(stored)})
        return self.emulator.error(404, f"List with name '{name[:200]}' does not exist")

    def delete(self, request: Request) -> Response:
        with self.emulator.lock:
            if self.lists.pop(int(request.params["id"]), None) is None:
                return self.emulator.error(404, f"List {request.params['id']} does not exist")
        return Response(204)

    def search(self, request: Request) -> Response:
        query, types, wanted_ids, offset, count = _search_terms(request.json_object())
        with self.emulator.lock:
            matching = [
                s
                for s in sorted(self.lists.values(), key=lambda s: s.id)
                if query in s.name.lower()
                and (not types or s.processing_type in types)
                and (not wanted_ids or str(s.id) in wanted_ids)
            ]
            page = [self._json(s, size=True) for s in matching[offset : offset + count]]
        return json_response(
            {"lists": page, "offset": offset + len(page), "hasMore": offset + len(page) < len(matching), "total": len(matching)}
        )

    def memberships(self, request: Request) -> Response:
        stored = self._found(request)
        if isinstance(stored, Response):
            return stored
        limit = request.int_arg("limit", MEMBERSHIP_PAGE_DEFAULT, minimum=1)
        if limit > MEMBERSHIP_PAGE_MAX:
            raise BadInput(f"limit must be at most {MEMBERSHIP_PAGE_MAX}")
        if request.arg("before") is not None:  # not emulated: refused rather than answered as a first page
            raise BadInput("the before cursor is not supported by this emulator; page forward with after")
        after = _after(request.arg("after"))
        with self.emulator.lock:
            members = self._members(stored)
        ordered = sorted(i for i in members if i > after)
        page = ordered[:limit]
        body: dict[str, Any] = {
            "results": [{"recordId": str(i), "membershipTimestamp": _iso_ms(members[i])} for i in page],
            "total": len(members),
        }
        if len(ordered) > limit:
            body["paging"] = {"next": {"after": _token(page[-1])}}
        return json_response(body)

    def record_memberships(self, request: Request) -> Response:
        """The lists one record is in (GET /crm/v3/lists/records/{objectTypeId}/{recordId}/memberships)."""
        type_id, record_id = request.params["type"], int(request.params["record"])
        if type_id not in OBJECT_TYPE_IDS:
            raise BadInput(f"objectTypeId {type_id[:40]!r} is not a list object type")
        with self.emulator.lock:
            found = [
                (stored, at)
                for stored in sorted(self.lists.values(), key=lambda s: s.id)
                if stored.object_type_id == type_id and (at := self._members(stored).get(record_id)) is not None
            ]
            results = [
                {"listId": str(s.id), "listVersion": 1, "firstAddedTimestamp": _iso_ms(at), "lastAddedTimestamp": _iso_ms(at)}
                for s, at in found
            ]
        return json_response({"results": results, "total": len(results)})

    def _update(self, request: Request, add: list[str], remove: list[str]) -> Response:
        try:
            stored = self._manual(int(request.params["id"]))
        except LookupError:
            return self.emulator.error(404, f"List {request.params['id']} does not exist")
        return json_response(self._change(stored, add, remove))

    def add(self, request: Request) -> Response:
        return self._update(request, _record_ids(request.json(), "the body"), [])

    def remove(self, request: Request) -> Response:
        return self._update(request, [], _record_ids(request.json(), "the body"))

    def add_and_remove(self, request: Request) -> Response:
        body = request.json_object()
        add = _record_ids(body.get("recordIdsToAdd", []), "recordIdsToAdd")
        remove = _record_ids(body.get("recordIdsToRemove", []), "recordIdsToRemove")
        return self._update(request, add, remove)
