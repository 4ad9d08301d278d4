"""Stage 1 — gate and filter, and the echo check: which records of a page go on at all."""

from __future__ import annotations

from connectors.base import Record
from mappings import filters
from syncsmart.engine.context import mapping_flows
from syncsmart.engine.flow.conversions import related_mappings
from syncsmart.engine.flow.items import Item
from syncsmart.engine.flow.setup import FlowSetup
from syncsmart.engine.values import normal, values_hash
from syncsmart.models import RecordLink


class Gate:
    def __init__(self, setup: FlowSetup):
        self.s = setup
        self._field_labels: dict[str, str] | None = None

    def reason_to_skip(self, record: Record) -> str | None:
        """Why this record does not sync this way (deleted, test mode, free e-mail, the mapping's
        filter), or None."""
        if record.deleted:
            return "Deleted in the source system before it was ever synced."
        integration = self.s.ctx.integration
        props = record.properties
        email = str(props.get(self.s.email_field) or "").strip().lower() if self.s.email_field else ""
        if integration.test_mode:
            reason = self._test_mode_reason(props, email)
            if reason:
                return reason
        if integration.block_free_emails and email and email.rpartition("@")[2] in filters.FREE_MAIL_DOMAINS:
            return f"Free e-mail addresses are blocked ({email.rpartition('@')[2]})."
        if self.s.lists:
            props = {**props, filters.LIST_FIELD: self.lists_of(str(record.id))}
        failure = filters.first_failure(self.s.filter, props, self._labels())
        if failure:
            return f"Filter: {failure}."
        return None

    def lists_of(self, record_id: str) -> set[str]:
        """The ids of this flow's inclusion lists the record is in (RunContext.lists_of_record)."""
        return self.s.ctx.lists_of_record(self.s.source_object, record_id, self.s.lists)

    def _labels(self) -> dict[str, str]:
        """The source's field labels, so a filter's reason names fields as the customer knows them
        (built once per page's gate, only when a record fails the filter)."""
        if self._field_labels is None:
            fields = getattr(self.s.source_schema, "fields", {}) or {}
            self._field_labels = {name: getattr(info, "label", "") or name for name, info in fields.items()}
        return self._field_labels

    def _test_mode_reason(self, props: dict, email: str) -> str | None:
        integration = self.s.ctx.integration
        if self.s.email_field:
            marker = (integration.test_email_marker or "").lower()
            if marker and marker not in email:
                return f"Test mode: the e-mail does not contain “{integration.test_email_marker}”."
        elif self.s.name_field:
            marker = (integration.test_name_marker or "").lower()
            if marker and marker not in str(props.get(self.s.name_field) or "").lower():
                return f"Test mode: the name does not contain “{integration.test_name_marker}”."
        return None

    def linked_elsewhere(self, ids: list[str]) -> dict[str, str]:
        """Records already linked through another mapping of the same object that does not
        sync this way (a HubSpot contact that came from a Dynamics lead is not also a contact)."""
        s = self.s
        one_way = [
            m
            for m in s.ctx.mappings
            if m.pk != s.mapping.pk and m.object_for(s.source) == s.source_object and s.target not in mapping_flows(m)
        ]
        converting = related_mappings(s)  # a HubSpot contact linked to a Lead is not also a Contact
        if not (one_way or converting) or not ids:
            return {}
        column = RecordLink.id_column(s.source)
        rows = RecordLink.objects.filter(object_mapping__in=one_way + converting, **{f"{column}__in": ids}).select_related(
            "object_mapping"
        )
        target = RecordLink.object_column(s.target)
        return {
            getattr(r, column): (
                f"Linked through “{r.object_mapping}”, which syncs only the other way."
                if r.object_mapping in one_way
                else f"Linked to the {getattr(r, target)} {r.id_on(s.target)} through “{r.object_mapping}”; it syncs there."
            )
            for r in rows
        }

    # --- the echo check ------------------------------------------------------------------
    def current_hash(self, record: Record) -> str:
        props = record.properties
        return values_hash({f.source_name: normal(props.get(f.source_name), f.source_kind) for f in self.s.plan_fields})

    def is_echo(self, item: Item) -> bool:
        """Nothing changed since the last sync: our own write coming back."""
        stored = item.link.hash_on(self.s.source)
        return bool(stored) and stored == self.current_hash(item.record)
