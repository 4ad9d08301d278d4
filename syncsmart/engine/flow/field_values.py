"""One source value in the target's terms: a mapped text, a reference to a linked parent, an
owner by e-mail, a dropdown option by label, or a converted type. Asks the run's caches (owners,
schemas) and may add a missing HubSpot dropdown option."""

from __future__ import annotations

from typing import Any

from connectors.base import FieldType, join_ids, split_ids
from mappings.models import FieldMapping
from syncsmart.core.choices import Side
from syncsmart.engine.flow.items import DeferParent, PartlyCarried
from syncsmart.engine.flow.setup import FieldPlan, FlowSetup
from syncsmart.engine.transform import Unmatched, dropdown_to_hubspot, dropdown_to_other, owner_across
from syncsmart.engine.values import convert, is_empty


def _several(info) -> bool:
    return bool(info is not None and info.multiple)


class FieldValues:
    def __init__(self, setup: FlowSetup):
        self.s = setup

    def transform(self, field: FieldPlan, value: Any, parents: dict[tuple[str, str], str]) -> Any:
        """The target's value for `value`; raises Unmatched, ConversionError or DeferParent."""
        fm = field.mapping
        if is_empty(value):
            return None
        value_map = fm.map_toward(self.s.target)  # by hand, this direction's
        if value_map:
            mapped = value_map.get(str(value))
            if mapped is not None:
                return mapped
        s_info, t_info = self.s.source_schema.get(field.source_name), self.s.target_schema.get(field.target_name)
        s_kind, t_kind = field.source_kind, field.target_kind
        if _several(s_info) or _several(t_info):
            return self._parents(value, s_info, t_info, parents)
        if fm.transform == FieldMapping.Transform.ASSOCIATION or s_kind == FieldType.REFERENCE:
            return self._parent(value, s_info, t_info, parents)
        if fm.transform == FieldMapping.Transform.OWNER or s_kind == FieldType.OWNER:
            return self._owner(value, s_info, t_info, field.source_name)
        if s_kind == FieldType.ENUM and t_kind == FieldType.ENUM and s_info and t_info:
            return self._dropdown(value, s_info, t_info)
        if s_kind == FieldType.ENUM and s_info is not None and t_kind != FieldType.ENUM:
            option = s_info.option_by_value(str(value))
            value = option.label if option else value
        if t_kind == FieldType.ENUM:
            return self._to_option(value, t_info, field.source_name)
        return convert(value, t_kind)

    def _parent(self, value: Any, s_info, t_info, parents: dict[tuple[str, str], str]) -> str:
        ref = s_info.reference_to if s_info else ""
        target_id = parents.get((ref, str(value)))
        if target_id is None:
            raise DeferParent(
                f"{ref} {value} is not synced yet",
                {"object": ref, "id": str(value), "target_object": t_info.reference_to if t_info else ""},
            )
        return target_id or None  # "": linked as a record the target field cannot name (a Lead for a ContactId)

    def _parents(self, value: Any, s_info, t_info, parents: dict[tuple[str, str], str]) -> PartlyCarried:
        """Several references (an activity's contacts): the linked ones are carried, the others are
        left out and named on the event (the parents stage has already tried to sync them first).
        A single-reference target takes the first that is linked."""
        ref = s_info.reference_to if s_info else ""
        ids = split_ids(value) if s_info and s_info.multiple else [str(value)]
        carried = [parents[(ref, i)] for i in ids if parents.get((ref, i))]
        missing = [i for i in ids if not parents.get((ref, i))]
        notes = []
        if missing:
            notes.append(f"Not carried: {ref} {', '.join(missing)} (not synced).")
        if t_info is not None and not t_info.multiple:
            return PartlyCarried(carried[0] if carried else None, notes)
        return PartlyCarried(join_ids(carried), notes)

    def _owner(self, value: Any, s_info, t_info, source_name: str) -> Any:
        ctx = self.s.ctx
        source_owners = ctx.owners(
            self.s.source, (s_info.reference_to if s_info and s_info.reference_to else ctx.owner_object(self.s.source))
        )
        target_owners = ctx.owners(
            self.s.target, (t_info.reference_to if t_info and t_info.reference_to else ctx.owner_object(self.s.target))
        )
        return owner_across(value, source_owners, target_owners, source_name)

    def _dropdown(self, value: Any, s_info, t_info) -> Any:
        if self.s.source == Side.HUBSPOT:
            return dropdown_to_other(value, s_info, t_info)
        return dropdown_to_hubspot(
            value, s_info, t_info, lambda label: self.s.ctx.add_hubspot_option(self.s.target_object, t_info.name, label)
        )

    @staticmethod
    def _to_option(value: Any, t_info, source_name: str) -> Any:
        if t_info is not None and t_info.options and not t_info.option_by_value(str(value)):
            label_match = next((o for o in t_info.options if o.label == str(value)), None)
            if label_match is not None:
                return label_match.value
            raise Unmatched(f"No option of {t_info.name} matches “{value}”", {"property": source_name, "value": str(value)})
        return str(value)
