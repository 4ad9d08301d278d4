"""The HubSpot emulator's record lifecycle beyond create / update / archive: merges, restores and
association changes, with the webhook events HubSpot sends for each.

After HubSpot's published references:
- POST /crm/v3/objects/{contacts|companies|deals}/merge {primaryObjectId, objectIdToMerge}
  answers the surviving record (200). The survivor keeps the primary's id and carries
  `hs_merged_object_ids` ("id;id"); the merged-away record disappears (it is neither live nor in
  the archived list); fields empty on the primary take the merged record's values; the merged
  record's associations move to the survivor. Fires `{type}.merge` with primaryObjectId,
  mergedObjectIds, newObjectId and numberOfPropertiesMoved.
- A restore (a user restoring a deleted record from the recycle bin within its retention period)
  brings an archived record back under its old id and fires `{type}.restore`.
- An association added or removed — through the v4 associations API or by a user — fires
  `{type}.associationChange` for both ends, with associationType (e.g. CONTACT_TO_COMPANY),
  fromObjectId, toObjectId, associationRemoved and isPrimaryAssociation.

In-process helpers (a user working in HubSpot's UI): `merge_records`, `restore_record`,
`reassociate`. Not emulated: reading a merged-away id answers 404 here (HubSpot answers the
survivor), merges of more than two records at once, GDPR (privacy) deletion, and the
retention limit of restores (any archived record can be restored).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from connectors.emulation import Request, Response, iso, json_response

if TYPE_CHECKING:
    from connectors.hubspot.emulator import HubSpotEmulator, StoredRecord

# The emulator module imports this one, so these two small tables are repeated here.
SINGULAR = {"contacts": "contact", "companies": "company", "deals": "deal"}
MODIFIED_PROPERTY = {"contacts": "lastmodifieddate", "companies": "hs_lastmodifieddate", "deals": "hs_lastmodifieddate"}
ASSOCIATION_NAMES = {
    ("contacts", "companies"): "CONTACT_TO_COMPANY",
    ("companies", "contacts"): "COMPANY_TO_CONTACT",
    ("deals", "contacts"): "DEAL_TO_CONTACT",
    ("contacts", "deals"): "CONTACT_TO_DEAL",
    ("deals", "companies"): "DEAL_TO_COMPANY",
    ("companies", "deals"): "COMPANY_TO_DEAL",
}
# Association routes whose changes fire associationChange events (record writes fire their own).
ASSOCIATION_ROUTES = ("associations/default", "associations/batch/associate", "associations/batch/archive")


class Lifecycle:
    """Merges, restores and association-change events of one HubSpot emulator."""

    def __init__(self, emulator: HubSpotEmulator):
        self.emulator = emulator
        self.local = threading.local()  # association changes of the request being handled

    def setup_routes(self) -> None:
        self.emulator.route(
            "POST", r"/crm/v3/objects/(?P<object>contacts|companies|deals)/merge", self.merge, name="objects/merge"
        )

    def watch_associations(self) -> None:
        """Association writes through the API notify subscribers, as HubSpot's do. Called once the
        emulator's routes exist: wraps the association routes and the store's two primitives."""
        emulator = self.emulator
        associate, unassociate = emulator._associate, emulator._unassociate

        def tracked_associate(from_type: str, from_id: int, to_type: str, to_id: int) -> None:
            known = to_id in emulator.associations.get((from_type, to_type), {}).get(from_id, set())
            associate(from_type, from_id, to_type, to_id)
            if not known:
                self._note(from_type, from_id, to_type, to_id, removed=False)

        def tracked_unassociate(from_type: str, from_id: int, to_type: str, to_id: int) -> None:
            known = to_id in emulator.associations.get((from_type, to_type), {}).get(from_id, set())
            unassociate(from_type, from_id, to_type, to_id)
            if known:
                self._note(from_type, from_id, to_type, to_id, removed=True)

        emulator._associate, emulator._unassociate = tracked_associate, tracked_unassociate
        for route in emulator.routes:
            if route.name in ASSOCIATION_ROUTES:
                route.handler = self._notifying(route.handler)

    def _note(self, from_type: str, from_id: int, to_type: str, to_id: int, removed: bool) -> None:
        pending = getattr(self.local, "pending", None)
        if pending is not None:  # outside a watched call (seeding, creates) nothing is collected
            pending.append((from_type, from_id, to_type, to_id, removed))

    def _notifying(self, handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        def notifying(request: Request) -> Response:
            with self.collecting() as changes:
                response = handler(request)
            self.emulator._send(self.association_events(changes), "INTEGRATION")
            return response

        return notifying

    def collecting(self) -> _Collecting:
        return _Collecting(self.local)

    # --- events ----------------------------------------------------------------------------------------
    def association_events(self, changes: list[tuple[str, int, str, int, bool]]) -> list[dict[str, Any]]:
        events = []
        for from_type, from_id, to_type, to_id, removed in changes:
            for a_type, a_id, b_type, b_id in ((from_type, from_id, to_type, to_id), (to_type, to_id, from_type, from_id)):
                name = ASSOCIATION_NAMES.get((a_type, b_type))
                if name is None:
                    continue
                events.append(
                    self._base(a_type, "associationChange")
                    | {
                        "associationType": name,
                        "fromObjectId": a_id,
                        "toObjectId": b_id,
                        "associationRemoved": removed,
                        "isPrimaryAssociation": False,
                    }
                )
        return events

    def _base(self, object_type: str, kind: str, object_id: int | None = None) -> dict[str, Any]:
        emulator = self.emulator
        return {
            "eventId": next(emulator.event_ids),
            "subscriptionType": f"{SINGULAR[object_type]}.{kind}",
            "portalId": emulator.portal_id,
            "occurredAt": emulator.now_ms(),
            "changeSource": "CRM_UI",
            "attemptNumber": 0,
            **({"objectId": object_id} if object_id is not None else {}),
        }

    # --- merges ----------------------------------------------------------------------------------------
    def merge(self, request: Request) -> Response:
        object_type = request.params["object"]
        body = request.json_object()  # anything but a JSON object is HubSpot's 400 VALIDATION_ERROR
        primary, other = body.get("primaryObjectId"), body.get("objectIdToMerge")
        if not primary or not other:
            return self.emulator.error(400, "primaryObjectId and objectIdToMerge are required.", category="VALIDATION_ERROR")
        if not all(isinstance(i, (str, int)) and not isinstance(i, bool) for i in (primary, other)):
            return self.emulator.error(400, "primaryObjectId and objectIdToMerge must be ids.", category="VALIDATION_ERROR")
        try:
            survivor, events = self._merge(object_type, primary, other, change_source="INTEGRATION")
        except KeyError as exc:
            return self.emulator.error(404, str(exc.args[0]), category="OBJECT_NOT_FOUND")
        except ValueError as exc:
            return self.emulator.error(400, str(exc), category="VALIDATION_ERROR")
        self.emulator._send(events)
        with self.emulator.lock:
            return json_response(self.emulator._record_json(object_type, survivor, None))

    def merge_records(self, object_type: str, primary_id: str | int, merged_id: str | int) -> str:
        """A user merges `merged_id` into `primary_id` in HubSpot's UI; returns the survivor's id."""
        survivor, events = self._merge(object_type, primary_id, merged_id, change_source="CRM_UI")
        self.emulator._send(events)
        return str(survivor.id)

    def _merge(self, object_type: str, primary_id: Any, merged_id: Any, change_source: str) -> tuple[StoredRecord, list]:
        emulator = self.emulator
        with emulator.lock, self.collecting() as changes:
            primary, merged = emulator._live(object_type, primary_id), emulator._live(object_type, merged_id)
            if primary is None or merged is None:
                raise KeyError(f"{object_type} {primary_id if primary is None else merged_id} does not exist")
            if primary.id == merged.id:
                raise ValueError("An object cannot be merged with itself.")
            moved = {k: v for k, v in merged.properties.items() if v not in (None, "") and not primary.properties.get(k)}
            moved.pop("hs_object_id", None)
            # The merged record leaves first, so its unique values (e-mail) may move to the survivor.
            del emulator.records[object_type][merged.id]
            emulator._reindex_unique(object_type, merged, dict(merged.properties))
            ids = [i for i in (primary.properties.get("hs_merged_object_ids") or "").split(";") if i]
            moved["hs_merged_object_ids"] = ";".join([*ids, str(merged.id)])
            for (from_type, to_type), table in list(emulator.associations.items()):
                if from_type != object_type:
                    continue
                for to_id in sorted(table.get(merged.id, set())):
                    emulator._unassociate(object_type, merged.id, to_type, to_id)
                    emulator._associate(object_type, primary.id, to_type, to_id)
            emulator._apply(object_type, primary, {k: str(v) for k, v in moved.items()})
            event = self._base(object_type, "merge", primary.id) | {
                "primaryObjectId": primary.id,
                "mergedObjectIds": [merged.id],
                "newObjectId": primary.id,
                "numberOfPropertiesMoved": len(moved) - 1,
                "changeSource": change_source,
            }
        return primary, [event, *self.association_events(changes)]

    # --- restores and re-associations ------------------------------------------------------------------
    def restore_record(self, object_type: str, record_id: str | int) -> None:
        """A user restores a deleted record from the recycle bin: it is live again under its old id."""
        emulator = self.emulator
        with emulator.lock:
            record = emulator.records[object_type].get(int(record_id))
            if record is None or not record.archived:
                raise KeyError(f"{object_type} {record_id} is not in the recycle bin")
            record.archived = False
            now = emulator._tick()
            record.updated_ms = now
            record.properties[_modified(object_type)] = _iso(now)
            emulator._index(object_type, record, now)
            emulator._reindex_unique(object_type, record, {})
            event = self._base(object_type, "restore", record.id)
        emulator._send([event])

    def reassociate(self, from_type: str, record_id: str | int, to_type: str, to_id: str | int | None) -> None:
        """A user points a record's association to `to_type` at `to_id` alone (None: removes it),
        changing no property of either record."""
        emulator = self.emulator
        with emulator.lock, self.collecting() as changes:
            current = set(emulator.associations.get((from_type, to_type), {}).get(int(record_id), set()))
            for old in sorted(current - ({int(to_id)} if to_id is not None else set())):
                emulator._unassociate(from_type, int(record_id), to_type, old)
            if to_id is not None and int(to_id) not in current:
                emulator._associate(from_type, int(record_id), to_type, int(to_id))
        emulator._send(self.association_events(changes))


class _Collecting:
    """Collects the association changes made inside a `with` block (re-entrant: the outer one wins)."""

    def __init__(self, local: threading.local):
        self.local = local
        self.outer = False

    def __enter__(self) -> list:
        if getattr(self.local, "pending", None) is None:
            self.local.pending, self.outer = [], True
        return self.local.pending

    def __exit__(self, *exc: Any) -> None:
        if self.outer:
            self.local.pending = None


def _modified(object_type: str) -> str:
    return MODIFIED_PROPERTY[object_type]


def _iso(ms: int) -> str:
    return iso(dt.datetime.fromtimestamp(ms / 1000, dt.UTC))
