"""Parents before children: a record's association fields point at parents, which are synced
first through their own mapping when they are not linked yet."""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

from connectors.base import FieldType, chunked, split_ids
from mappings.models import FieldMapping, ObjectMapping
from syncsmart.engine.flow.items import Item
from syncsmart.engine.flow.setup import FlowSetup
from syncsmart.engine.values import is_empty
from syncsmart.models import RecordLink

MAX_PARENT_DEPTH = 2


def _types(info) -> tuple[str, ...]:
    """The object types a reference field points at (none when unknown)."""
    if info is None or not info.reference_to:
        return ()
    return (info.reference_to, *getattr(info, "also_references", ()))


class Parents:
    def __init__(self, setup: FlowSetup, flow_for: Callable[[ObjectMapping], object]):
        self.s = setup
        self.flow_for = flow_for  # the parent mapping's flow, same direction (a Flow)

    def association_fields(self) -> list[tuple[FieldMapping, tuple[str, ...], tuple[str, ...]]]:
        """(field mapping, source reference types, target reference types) of association fields;
        a polymorphic reference (Salesforce WhoId: Contact or Lead) names every type it takes."""
        out = []
        for fm in self.s.fields:
            info = self.s.source_schema.get(self.s.src(fm))
            if fm.transform != FieldMapping.Transform.ASSOCIATION and not (info and info.type == FieldType.REFERENCE):
                continue
            target_info = self.s.target_schema.get(self.s.dst(fm))
            if info and info.reference_to:
                out.append((fm, _types(info), _types(target_info)))
        return out

    def resolve(self, items: list[Item], depth: int) -> dict[tuple[str, str], str]:
        """{(source parent type, source parent id): target parent id}. Unlinked parents are
        synced first through their own mapping; what still is not linked is reported. A parent
        linked as a record that converts into the type the target needs (a contact that is still a
        Salesforce Lead, for an opportunity's ContactId) resolves to "": no parent on that side."""
        assoc = self.association_fields()
        if not assoc or not items:
            return {}
        wanted: dict[tuple[tuple[str, ...], tuple[str, ...]], set[str]] = {}
        for item in items:
            for fm, refs, target_refs in assoc:
                value = item.record.properties.get(self.s.src(fm))
                if not is_empty(value):
                    wanted.setdefault((refs, target_refs), set()).update(split_ids(value))  # one id, or several
        resolved: dict[tuple[str, str], str] = {}
        for (refs, target_refs), ids in wanted.items():
            found = self._links(refs, target_refs, ids)
            missing = ids - set(found)
            if missing and depth < MAX_PARENT_DEPTH:
                self._sync_missing(refs, target_refs, sorted(missing), depth)
                found = self._links(refs, target_refs, ids)
                missing = ids - set(found)
            if missing and target_refs:
                found.update(dict.fromkeys(self._linked_before_conversion(refs, target_refs, missing), ""))
            resolved.update({(refs[0], source_id): target_id for source_id, target_id in found.items()})
        return resolved

    def _sync_missing(self, refs: tuple[str, ...], target_refs: tuple[str, ...], ids: list[str], depth: int) -> None:
        for ref in refs:
            for target_ref in target_refs or (None,):
                parent_mapping = self.s.ctx.parent_mapping(self.s.source, ref, target_ref)
                if parent_mapping is not None:
                    self._sync_first(parent_mapping, ref, ids, depth)

    def _links(self, refs: tuple[str, ...], target_refs: tuple[str, ...], ids: set[str]) -> dict[str, str]:
        """{source id: target id}; a record linked to several target types takes the first type's."""
        source, target = self.s.source, self.s.target
        source_id, target_id = RecordLink.id_column(source), RecordLink.id_column(target)
        qs = RecordLink.objects.filter(
            integration=self.s.ctx.integration, **{f"{RecordLink.object_column(source)}__in": refs, f"{source_id}__in": list(ids)}
        )
        if target_refs:
            qs = qs.filter(**{f"{RecordLink.object_column(target)}__in": target_refs})
        rank = {t: n for n, t in enumerate(target_refs)}
        rows = sorted(qs.values_list(source_id, target_id, RecordLink.object_column(target)), key=lambda r: -rank.get(r[2], 0))
        return {source_record: target_record for source_record, target_record, _ in rows}

    def _linked_before_conversion(self, refs: tuple[str, ...], target_refs: tuple[str, ...], ids: set[str]) -> set[str]:
        """Of these parents, those linked to a record that becomes one of `target_refs` once
        converted (a Lead, where a Contact is wanted)."""
        source, target = self.s.source, self.s.target
        rows = RecordLink.objects.filter(
            integration=self.s.ctx.integration,
            **{f"{RecordLink.object_column(source)}__in": refs, f"{RecordLink.id_column(source)}__in": list(ids)},
        ).values_list(RecordLink.id_column(source), RecordLink.object_column(target))
        out = set()
        for source_record, target_type in rows:
            successor = self.s.ctx.object_type(target, target_type).successor
            if successor and successor[1] in target_refs:
                out.add(source_record)
        return out

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
