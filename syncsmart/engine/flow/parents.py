"""Parents before children: a record's association fields point at parents, which are synced
first through their own mapping when they are not linked yet."""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

from connectors.base import FieldType, chunked
from mappings.models import FieldMapping, ObjectMapping
from syncsmart.engine.flow.items import Item
from syncsmart.engine.flow.setup import FlowSetup
from syncsmart.engine.values import is_empty
from syncsmart.models import RecordLink

MAX_PARENT_DEPTH = 2


class Parents:
    def __init__(self, setup: FlowSetup, flow_for: Callable[[ObjectMapping], object]):
        self.s = setup
        self.flow_for = flow_for  # the parent mapping's flow, same direction (a Flow)

    def association_fields(self) -> list[tuple[FieldMapping, str, str | None]]:
        """(field mapping, source reference type, target reference type) of association fields."""
        out = []
        for fm in self.s.fields:
            info = self.s.source_schema.get(self.s.src(fm))
            if fm.transform != FieldMapping.Transform.ASSOCIATION and not (info and info.type == FieldType.REFERENCE):
                continue
            target_info = self.s.target_schema.get(self.s.dst(fm))
            ref = info.reference_to if info else None
            if ref:
                out.append((fm, ref, target_info.reference_to if target_info else None))
        return out

    def resolve(self, items: list[Item], depth: int) -> dict[tuple[str, str], str]:
        """{(source parent type, source parent id): target parent id}. Unlinked parents are
        synced first through their own mapping; what still is not linked is reported."""
        assoc = self.association_fields()
        if not assoc or not items:
            return {}
        wanted: dict[tuple[str, str | None], set[str]] = {}
        for item in items:
            for fm, ref, target_ref in assoc:
                value = item.record.properties.get(self.s.src(fm))
                if not is_empty(value):
                    wanted.setdefault((ref, target_ref), set()).add(str(value))
        resolved: dict[tuple[str, str], str] = {}
        for (ref, target_ref), ids in wanted.items():
            found = self._links(ref, target_ref, ids)
            missing = ids - set(found)
            if missing and depth < MAX_PARENT_DEPTH:
                parent_mapping = self.s.ctx.parent_mapping(self.s.source, ref, target_ref)
                if parent_mapping is not None:
                    self._sync_first(parent_mapping, ref, sorted(missing), depth)
                    found = self._links(ref, target_ref, ids)
            resolved.update({(ref, source_id): target_id for source_id, target_id in found.items()})
        return resolved

    def _links(self, ref: str, target_ref: str | None, ids: set[str]) -> dict[str, str]:
        source, target = self.s.source, self.s.target
        source_id, target_id = RecordLink.id_column(source), RecordLink.id_column(target)
        qs = RecordLink.objects.filter(
            integration=self.s.ctx.integration, **{RecordLink.object_column(source): ref, f"{source_id}__in": list(ids)}
        )
        if target_ref:
            qs = qs.filter(**{RecordLink.object_column(target): target_ref})
        return dict(qs.values_list(source_id, target_id))

    def _sync_first(self, parent_mapping: ObjectMapping, ref: str, ids: list[str], depth: int) -> None:
        parent_flow = self.flow_for(parent_mapping)
        connector = self.s.source_connector
        for batch in chunked(ids, connector.max_batch_read):
            records = connector.read_by_ids(ref, batch)
            if not records:
                continue
            checkpoint = parent_flow.process(records, depth + 1)
            with transaction.atomic():
                checkpoint()
