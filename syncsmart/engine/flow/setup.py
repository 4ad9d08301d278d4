"""What a flow (one mapping, one direction) resolves once per run and every stage reads."""

from __future__ import annotations

from typing import NamedTuple

from connectors.base import Connector, FieldType
from mappings import filters
from mappings.models import FieldMapping, ObjectMapping
from syncsmart.core.choices import Side, other_side
from syncsmart.engine.context import RunContext
from syncsmart.engine.transform import Schema

NAME_FIELDS = ("name", "dealname", "companyname", "company_name", "fullname", "lastname")


class FieldPlan(NamedTuple):
    """One field mapping in this flow's terms, resolved once per run."""

    mapping: FieldMapping
    source_name: str
    target_name: str
    source_kind: str
    target_kind: str
    source_html: bool = False  # text bodies: HTML on one side, plain text on the other
    target_html: bool = False
    target_max: int | None = None  # longer values are truncated with a marker
    to_hubspot: bool = False  # the flow writes HubSpot (direction-dependent transforms: web domain ↔ URL)


class FlowSetup:
    def __init__(self, ctx: RunContext, mapping: ObjectMapping, source_side: str):
        self.ctx = ctx
        self.mapping = mapping
        self.source = source_side
        self.target = other_side(source_side)
        self.source_object = mapping.object_for(self.source)
        self.target_object = mapping.object_for(self.target)
        # A mapping a schema refresh found broken (field gone, type changed) is left out, not failed per record.
        all_fields = [f for f in mapping.field_mappings.all() if f.enabled and not f.broken_reason]
        self.fields: list[FieldMapping] = [f for f in all_fields if f.flows_to(self.target)]
        self.reverse_fields: list[FieldMapping] = [f for f in all_fields if f.flows_to(self.source)]
        self.source_connector: Connector = ctx.connector(self.source)
        self.target_connector: Connector = ctx.connector(self.target)
        self.source_schema: Schema = ctx.schema(self.source, self.source_object)
        self.target_schema: Schema = ctx.schema(self.target, self.target_object)
        self.filter = mapping.filter_for_target(self.target) or {}
        # Inclusion lists (HubSpot lists in the filter of records HubSpot sends): {list id: name}.
        self.lists = filters.lists_used(self.filter) if self.source == Side.HUBSPOT else {}
        self.email_field = self._primary_email_field()
        self.name_field = next((n for n in NAME_FIELDS if n in self.source_schema.fields), None)
        self.plan_fields = [self._field_plan(f) for f in self.fields]
        self.recovery_field = self._recovery_field()
        # write_back_ids: the source's field for the target's id, the target's for the source's.
        self.source_id_field = self._id_field(self.source)
        self.target_id_field = self._id_field(self.target)

    def _id_field(self, side: str) -> str | None:
        if not self.ctx.integration.write_back_ids:
            return None
        name = self.mapping.write_back_field_name(side)
        return self.ctx.id_field(side, self.mapping.object_for(side), name) if name else None

    # --- names and types in this flow's terms ------------------------------------------------
    def src(self, fm: FieldMapping) -> str:
        return fm.field_on(self.source)

    def dst(self, fm: FieldMapping) -> str:
        return fm.field_on(self.target)

    def src_kind(self, fm: FieldMapping) -> str:
        return self.source_schema.kind(self.src(fm)) or fm.type_on(self.source)

    def dst_kind(self, fm: FieldMapping) -> str:
        return self.target_schema.kind(self.dst(fm)) or fm.type_on(self.target)

    def _field_plan(self, fm: FieldMapping) -> FieldPlan:
        source_info, target_info = self.source_schema.get(self.src(fm)), self.target_schema.get(self.dst(fm))
        return FieldPlan(
            fm,
            self.src(fm),
            self.dst(fm),
            self.src_kind(fm),
            self.dst_kind(fm),
            source_html=bool(source_info and source_info.html),
            target_html=bool(target_info and target_info.html),
            target_max=target_info.max_length if target_info else None,
            to_hubspot=self.target == Side.HUBSPOT,
        )

    def match_fields(self) -> tuple[str, str]:
        """(source, target) match fields; either may be blank."""
        return self.mapping.match_field_for(self.source), self.mapping.match_field_for(self.target)

    def _primary_email_field(self) -> str | None:
        """The e-mail that identifies a person-like record (contacts, leads). Companies and deals
        have none here even when they carry an address: their test marker is in the name."""

        def is_email(name: str) -> bool:
            info = self.source_schema.get(name)
            return info is not None and (info.type == FieldType.EMAIL or "email" in name.lower())

        declared = self.ctx.object_type(self.source, self.source_object).match_fields
        for name in (self.mapping.match_field_for(self.source), *declared):
            if name and is_email(name):
                return name
        return None

    def _recovery_field(self) -> str:
        """The target field that finds a record we may have created without hearing back."""
        match = self.mapping.match_field_for(self.target)
        if match:
            return match
        written = {self.dst(f) for f in self.fields}
        declared = self.ctx.object_type(self.target, self.target_object).match_fields
        return next((f for f in (*declared, *NAME_FIELDS) if f in written), "")
