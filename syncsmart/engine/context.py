"""Everything one run needs in memory: both connectors, schemas and owners (loaded once per
run, never per record), the integration's mappings, and the counts and events gathered so far."""

from __future__ import annotations

import collections
import hashlib
import logging
import time
from collections.abc import Iterable, Mapping

from django.utils import timezone

from connectors.base import Connector, ConnectorError, ErrorKind, ObjectType, Option
from connectors.dry_run import DryConnector
from connectors.lists import lists_for
from connectors.registry import SYSTEMS
from mappings.filters import lists_used
from mappings.models import Integration, ObjectMapping
from syncsmart.core import metrics
from syncsmart.core.choices import Direction, Side, other_side
from syncsmart.engine.control import LeaseLost
from syncsmart.engine.events import EventRow, insert_events
from syncsmart.engine.matching import MATCH_INDEXES, TargetIndex
from syncsmart.engine.transform import OwnerDirectory, Schema
from syncsmart.models import AmbiguousMatch, InboxItem, RecordEvent, SyncCursor, SyncRun

log = logging.getLogger("syncsmart.engine")
# Records of a webhook run whose inclusion lists are asked one by one (then the lists are read whole).
RECORD_LIST_LOOKUPS = 10


class RunContext:
    def __init__(self, integration: Integration, run: SyncRun | None = None, connectors: dict[str, Connector] | None = None):
        self.integration = integration
        self.run = run
        raw = connectors or {
            Side.HUBSPOT: integration.hubspot_connection.connector(),
            Side.OTHER: integration.other_connection.connector(),
        }
        self.mappings: list[ObjectMapping] = list(
            ObjectMapping.objects.filter(integration=integration, enabled=True)
            .prefetch_related("field_mappings")
            .order_by("order", "id")
        )
        for mapping in self.mappings:
            mapping.integration = integration  # the instance already loaded: no query per mapping
        share_metadata(raw, integration, self.mappings)
        if integration.preview_of_id:
            # A preview's copy reads and never writes, however its run was started (a worker
            # picking up a requeued slice included): see syncsmart/previews.py.
            raw = {side: c if isinstance(c, DryConnector) else DryConnector(c) for side, c in raw.items()}
        self.connectors = {side: SideTagged(connector, side) for side, connector in raw.items()}
        self._schemas: dict[tuple[str, str], Schema] = {}
        self._owners: dict[tuple[str, str], OwnerDirectory] = {}
        self._id_fields: dict[tuple[str, str, str], str | None] = {}
        self._object_types: dict[tuple[str, str], ObjectType] = {}
        # Counts of earlier slices of this run carry on.
        self.counts: collections.Counter = collections.Counter(run.counts if run is not None else {})
        # Renews the run's lease; set by the job. Long pages call it between write batches.
        self.renew = lambda: True
        self._renewed_at = time.monotonic()
        self._heartbeat_at = time.monotonic()  # the job marks the run running (with a heartbeat) just before
        # Flows whose match look-ups read the whole target object once (first run, historical).
        self.full_scan_flows: set[tuple[int, str]] = set()
        self._target_indexes: dict[tuple[int, str], TargetIndex] = {}
        self._target_holds: dict[tuple[int, str], bool] = {}
        # Records of the reverse flow to look at in this run (matched pairs whose other side wins).
        self.reverse_pending: dict[tuple[int, str], set[str]] = collections.defaultdict(set)
        # Set when this run queued a deletion (the run's state read saw none waiting before).
        self.deletions_noticed = False
        # HubSpot list id -> its members, read once per run (inclusion lists: engine/inclusion_lists.py).
        self._list_members: dict[str, frozenset[str]] = {}
        # A webhook run asks for the lists of its few records instead (record id -> list ids).
        self._record_lists: dict[tuple[str, str], frozenset[str]] = {}

    def keep_alive(self, every: float = 5.0) -> None:
        """Renew the lease during a long page (a ConnectWise page of 1,000 writes one by one)."""
        if time.monotonic() - self._renewed_at < every:
            return
        self._renewed_at = time.monotonic()
        if not self.renew():
            raise LeaseLost("The run's lease expired and another worker took the integration over.")

    def close(self) -> None:
        for connector in self.connectors.values():
            connector.close()

    # --- vendor metadata, cached for the run ---------------------------------------------
    def connector(self, side: str) -> Connector:
        return self.connectors[side]

    def system_label(self, side: str) -> str:
        """'HubSpot', 'ConnectWise Manage'...: the system on `side` as the customer knows it."""
        system = self.integration.connection_on(side).system
        return SYSTEMS[system].label if system in SYSTEMS else system.title()

    def object_type(self, side: str, name: str) -> ObjectType:
        key = (side, name)
        if key not in self._object_types:
            self._object_types[key] = self.connectors[side].object_type(name)
        return self._object_types[key]

    def schema(self, side: str, object_type: str) -> Schema:
        key = (side, object_type)
        if key not in self._schemas:
            fields = self.connectors[side].discover_fields(object_type)
            self._schemas[key] = Schema(object_type, {f.name: f for f in fields})
        return self._schemas[key]

    def id_field(self, side: str, object_type: str, name: str) -> str | None:
        """The connector's field on `side` that holds the counterpart's id (write_back_ids),
        created through the vendor's API when missing; once per run. None when the vendor
        refuses (no permission, a name it does not take): logged and counted, and the run goes
        on without writing ids to that side."""
        key = (side, object_type, name)
        if key not in self._id_fields:
            counterpart = "HubSpot" if side == Side.OTHER else self.integration.other_system_label
            try:
                self._id_fields[key] = self.connectors[side].ensure_id_field(object_type, name, counterpart)
            except ConnectorError as exc:
                if exc.retryable:
                    raise
                log.warning("write_back_ids: no %s field %r on %s %s: %s", side, name, object_type, self.integration.pk, exc)
                self.counts["id_field_unavailable"] += 1
                self._id_fields[key] = None
        return self._id_fields[key]

    def owners(self, side: str, object_type: str) -> OwnerDirectory:
        key = (side, object_type)
        if key not in self._owners:
            self._owners[key] = OwnerDirectory.load(self.connectors[side], object_type)
        return self._owners[key]

    def owner_object(self, side: str) -> str | None:
        """The side's owner-like object type (owners / members / systemusers)."""
        for obj in self.connectors[side].object_types():
            if obj.read_only and obj.email_field:
                return obj.name
        return None

    # --- match look-ups ---------------------------------------------------------------------
    def full_scan(self, mapping: ObjectMapping, source_side: str) -> bool:
        """Match against the whole target object: on a first run or a historical resync, and only
        when the target holds records (an empty one is cheaper to look up than to read)."""
        if (mapping.pk, source_side) not in self.full_scan_flows:
            return False
        target = other_side(source_side)
        key = (mapping.pk, target)
        if key not in self._target_holds:
            page = self.connectors[target].read_changes(mapping.object_for(target), None, 1)
            self._target_holds[key] = bool(page.records) or page.has_more
        return self._target_holds[key]

    def target_index(self, mapping: ObjectMapping, target_side: str, keys: list) -> TargetIndex:
        """Every record of the mapping's object on `target_side`, keyed by the mapping's match keys
        (records this run links are excluded by their links). Read once per run, not per slice:
        a later slice takes the index an earlier one built in this process (MATCH_INDEXES) and
        reads only the records changed on that side since, so what someone else created there
        between two slices is found too. Once per slice either way."""
        key = (mapping.pk, target_side)
        if key not in self._target_indexes:
            connector, object_type = self.connectors[target_side], mapping.object_for(target_side)
            shared = self._index_key(mapping, target_side, keys)
            index = MATCH_INDEXES.take(shared) if shared else None
            if index is None:
                index = TargetIndex.read(connector, object_type, keys, target_side, self.keep_alive)
                self.counts["match_index_records"] += index.records_read
            else:
                self.counts["match_index_refreshed"] += index.refresh(connector, object_type, self.keep_alive)
            if shared:
                MATCH_INDEXES.put(shared, index)
            self._target_indexes[key] = index
        return self._target_indexes[key]

    def _index_key(self, mapping: ObjectMapping, side: str, keys: list) -> tuple | None:
        """What a kept index depends on: the run, the object on that side, the connection read
        and the match keys (an edit of the mapping between two slices builds a new one)."""
        if self.run is None:
            return None
        connection = self.integration.connection_on(side)
        return (str(self.run.pk), mapping.pk, side, mapping.object_for(side), connection.pk, repr(keys))

    def chosen_match(self, mapping: ObjectMapping, source_side: str, source_id: str) -> str | None:
        """The counterpart a customer chose for an ambiguous match, if any."""
        return (
            AmbiguousMatch.objects.filter(object_mapping=mapping, source_side=source_side, source_id=source_id)
            .exclude(chosen_id="")
            .values_list("chosen_id", flat=True)
            .first()
        )

    def add_hubspot_option(self, object_type: str, field_name: str, label: str) -> Option:
        option = self.connectors[Side.HUBSPOT].add_option(object_type, field_name, label, label)
        self.schema(Side.HUBSPOT, object_type).add_option(field_name, option)
        self.counts["options_added"] += 1
        return option

    def list_members(self, list_id: str) -> frozenset[str]:
        """A HubSpot list's member ids, read to the end once per run (a failed read raises; a list
        deleted in HubSpot fails the run with a message that says which filter to fix)."""
        if list_id not in self._list_members:
            try:
                members = lists_for(self.connectors[Side.HUBSPOT]).member_ids(list_id)
            except ConnectorError as exc:
                if exc.kind != ErrorKind.NOT_FOUND:
                    raise
                raise ConnectorError(
                    f"The HubSpot list “{self._list_name(list_id)}” in a filter no longer exists in HubSpot: pick another "
                    "list in the filter builder (nothing synced through that filter meanwhile).",
                    ErrorKind.CONFIG,
                ) from exc
            self._list_members[list_id] = frozenset(members)
            self.counts["list_reads"] += 1
        return self._list_members[list_id]

    def lists_of_record(self, object_type: str, record_id: str, list_ids: Iterable[str]) -> set[str]:
        """Which of `list_ids` a HubSpot record is in. A webhook run (a few notified records) asks
        per record — one call each, whatever the lists' sizes — for its first
        RECORD_LIST_LOOKUPS records; beyond that, and in every other run, each list's members are
        read once (ceil(members / 250) calls) and kept for the run."""
        list_ids = set(list_ids)
        key = (object_type, record_id)
        if key not in self._record_lists and self._asks_per_record(list_ids):
            found = lists_for(self.connectors[Side.HUBSPOT]).lists_of_record(object_type, record_id)
            self._record_lists[key] = frozenset(found)
            self.counts["list_record_lookups"] += 1
        if key in self._record_lists:
            return list_ids & self._record_lists[key]
        return {list_id for list_id in list_ids if record_id in self.list_members(list_id)}

    def _asks_per_record(self, list_ids: set[str]) -> bool:
        return (
            self.run is not None
            and self.run.trigger == SyncRun.Trigger.WEBHOOK
            and not list_ids & set(self._list_members)
            and len(self._record_lists) < RECORD_LIST_LOOKUPS
        )

    def _list_name(self, list_id: str) -> str:
        for mapping in self.mappings:
            found = lists_used(mapping.filter_to_other or {})
            if list_id in found:
                return found[list_id]
        return list_id

    # --- mappings ----------------------------------------------------------------------
    def flows(self, only: ObjectMapping | None = None) -> list[tuple[ObjectMapping, str]]:
        """(mapping, source side) in dependency order: parents before children."""
        flows = []
        for mapping in self.mappings:
            if only is not None and mapping.pk != only.pk:
                continue
            for source in (Side.HUBSPOT, Side.OTHER):
                if other_side(source) in mapping_flows(mapping):
                    flows.append((mapping, source))
        return flows

    def parent_mapping(self, source_side: str, source_object: str, target_object: str | None) -> ObjectMapping | None:
        """The mapping that syncs a parent record of `source_object` towards the other side."""
        for mapping in self.mappings:
            if mapping.object_for(source_side) != source_object or other_side(source_side) not in mapping_flows(mapping):
                continue
            if target_object is None or mapping.object_for(other_side(source_side)) == target_object:
                return mapping
        return None

    def mapping(self, pk: int) -> ObjectMapping | None:
        return next((m for m in self.mappings if m.pk == pk), None)

    # --- checkpoint ------------------------------------------------------------------
    def cursor_rows(self, kind: str) -> dict[tuple[int, str], SyncCursor]:
        """Every cursor of the integration in one query, keyed by (mapping id, side). A flow that
        has none yet gets an unsaved row, stored with its first checkpoint."""
        rows = {(c.object_mapping_id, c.side): c for c in SyncCursor.objects.filter(integration=self.integration, kind=kind)}
        for mapping in self.mappings:
            for side in (Side.HUBSPOT, Side.OTHER):
                if (mapping.pk, side) not in rows:
                    rows[(mapping.pk, side)] = SyncCursor(
                        integration=self.integration, object_mapping=mapping, side=side, kind=kind
                    )
        return rows

    def save_events(self, events: Iterable[RecordEvent | EventRow], unlogged: Mapping[str, int] | None = None) -> None:
        """Store the page's events and count them on the run; `unlogged`: outcomes counted on the
        run without an event (an unchanged record the record log already covers). The checkpoint
        hands EventRows (no model instance per record); other stages may hand RecordEvents."""
        rows = [e if isinstance(e, EventRow) else EventRow.of(e) for e in events]
        for row in rows:
            self.counts[row.outcome] += 1
        for outcome, n in (unlogged or {}).items():
            self.counts[outcome] += n
        insert_events(self.run.pk if self.run is not None else None, self.integration.pk, rows)
        # after the write: a failed transaction raises before it counts
        metrics.record_events(self.integration.pk, ((e.source_object, e.outcome) for e in rows))

    def finish_inbox(self, ids: Iterable[int]) -> None:
        ids, now = list(ids), timezone.now()
        arrivals = InboxItem.objects.filter(pk__in=ids, status=InboxItem.Status.PENDING).values_list("side", "received_at")
        for side, received_at in arrivals:  # webhook arrival -> written on the other side
            system = "hubspot" if side == Side.HUBSPOT else self.integration.other_system
            metrics.WEBHOOK_LATENCY.labels(system).observe(max(0.0, (now - received_at).total_seconds()))
        InboxItem.objects.filter(pk__in=ids).update(status=InboxItem.Status.DONE, processed_at=now, run=self.run)

    def heartbeat(self, pages: int = 1, processed: int = 0) -> None:
        """Store the run's progress and counts (in the page's transaction, so they match its events)."""
        if self.run is None:
            return
        self.run.pages += pages
        self.run.progress_done += processed
        self.run.counts = dict(self.counts)
        self.run.heartbeat_at = timezone.now()
        self._heartbeat_at = time.monotonic()
        SyncRun.objects.filter(pk=self.run.pk).update(
            pages=self.run.pages, progress_done=self.run.progress_done, counts=self.run.counts, heartbeat_at=self.run.heartbeat_at
        )

    def heartbeat_if_due(self, every: float) -> None:
        """Between pages that changed nothing: only often enough that the sweep (which takes a
        run silent for a whole lease as dead) never mistakes this one."""
        if self.run is None or time.monotonic() - self._heartbeat_at < every:
            return
        self._heartbeat_at = time.monotonic()
        self.run.heartbeat_at = timezone.now()
        SyncRun.objects.filter(pk=self.run.pk).update(heartbeat_at=self.run.heartbeat_at)


def share_metadata(connectors: dict[str, Connector], integration: Integration, mappings: list[ObjectMapping]) -> None:
    """Let each connector share its cached field lists with this process's other runs of the same
    connection, until the connection's schema is refreshed or the integration's mappings change
    (a newly mapped field must never read as missing because an old list did not ask for it)."""
    rows = [_row(m) + tuple(_row(f) for f in m.field_mappings.all()) for m in mappings]
    fingerprint = hashlib.sha256(repr(rows).encode()).hexdigest()[:16]
    for side, connector in connectors.items():
        connection = integration.hubspot_connection if side == Side.HUBSPOT else integration.other_connection
        refreshed = connection.schema_refreshed_at.isoformat() if connection.schema_refreshed_at else ""
        share = getattr(connector, "use_shared_metadata", None)  # test doubles may not have it
        if share is not None:
            share(f"{connection.pk}:{integration.pk}", f"{refreshed}:{fingerprint}")


def _row(obj) -> tuple:
    """Every stored value of a mapping row: any change to it is a new version."""
    return tuple(getattr(obj, f.attname) for f in obj._meta.concrete_fields)


class SideTagged:
    """A connector whose errors say which side they came from (`error.side`), so a failed run
    marks the right connection as failing."""

    def __init__(self, connector: Connector, side: str):
        self._connector = connector
        self._side = side

    def __getattr__(self, name: str):
        attr = getattr(self._connector, name)
        if not callable(attr) or name.startswith("_"):
            return attr

        def call(*args, **kwargs):
            try:
                return attr(*args, **kwargs)
            except ConnectorError as exc:
                if getattr(exc, "side", None) is None:
                    exc.side = self._side
                raise

        return call


def mapping_flows(mapping: ObjectMapping) -> list[str]:
    return Direction.flows(mapping.direction)
