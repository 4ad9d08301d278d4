"""Forms of the customer's integration pages. They only parse and validate input; every change
goes through mappings.services.actions (or the engine's requests), which audit it."""

from __future__ import annotations

from typing import Any

from django import forms

from connectors import registry
from mappings.filters import lists_used
from mappings.models import FieldMapping, Integration, ObjectMapping
from syncsmart.core.choices import Direction, Side

SOR_CHOICES = [("", "Same as the object (default)")] + list(Side.choices)


class IntegrationOptionsForm(forms.ModelForm):
    """Test mode and the standard options (the installer's checkboxes), editable later."""

    class Meta:
        model = Integration
        fields = ["test_mode", "test_email_marker", "test_name_marker", "block_free_emails", "write_back_ids", "schedule_minutes"]
        labels = {
            "test_mode": "Test mode: only sync records carrying a test marker",
            "test_email_marker": "Test marker in e-mail addresses",
            "test_name_marker": "Test marker in company / deal names",
            "write_back_ids": "Write ids back: each record carries its counterpart's id",
            "schedule_minutes": "Sync every (minutes)",
        }
        help_texts = {
            "write_back_ids": "A field on each side holds the other side's record id (HubSpot property, ConnectWise "
            "custom field, Dataverse column, Salesforce custom field; named per object in the mapping editor), created if "
            "missing (NetSuite: made by your administrator, see the mapping editor) and written in the same batched calls "
            "as the sync.",
        }


ARCHIVE_MEANS = {
    "HubSpot": "archived (HubSpot keeps it 90 days in its recycle bin)",
    "ConnectWise Manage": "set inactive (contacts) or to the Inactive status (companies)",
    "Microsoft Dynamics 365": "deactivated (accounts and contacts; others can only be deleted)",
}


def deletion_help(target: str) -> str:
    """The consequences of each deletion policy, in the editor under the choice."""
    archive = ARCHIVE_MEANS.get(target, "archived or deactivated")
    return (
        f"Keep: the record in {target} stays as it is. Archive: it is {archive}; a restore brings the link back. "
        f"Delete: it is deleted in {target} for good. Every deletion is logged first, nothing is removed unless "
        "the source confirms it, and more than 50 (or 5 % of the linked records) in one sync wait for your confirmation."
    )


class ObjectMappingForm(forms.ModelForm):
    class Meta:
        model = ObjectMapping
        fields = [
            "enabled",
            "direction",
            "system_of_record",
            "create_policy",
            "delete_to_other",
            "delete_to_hubspot",
            "write_back_field_hubspot",
            "write_back_field_other",
        ]
        labels = {
            "enabled": "Sync this object",
            "direction": "Direction",
            "system_of_record": "System of record (wins conflicts)",
            "create_policy": "When no match is found",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        other = self.instance.integration.other_system_label if self.instance.integration_id else "the other system"
        self.fields["delete_to_other"].label = "When a linked record is deleted in HubSpot"
        self.fields["delete_to_hubspot"].label = f"When a linked record is deleted in {other}"
        self.fields["delete_to_other"].help_text = deletion_help(other) + self._inclusion_list_help()
        self.fields["delete_to_hubspot"].help_text = deletion_help("HubSpot")
        for name in ("delete_to_other", "delete_to_hubspot"):
            self.fields[name].required = False  # left out (older clients, the API): unchanged
        self._write_back_fields(other)

    def _inclusion_list_help(self) -> str:
        lists = lists_used(self.instance.filter_to_other or {})
        if not lists:
            return ""
        names = ", ".join(f"“{name}”" for name in lists.values())
        return f" It also applies to a linked record that leaves the HubSpot list {names} (this object's inclusion list)."

    def _write_back_fields(self, other: str) -> None:
        """The id fields' names, their defaults shown as placeholders (what a blank name means)."""
        mapping = self.instance
        switched = mapping.integration_id and mapping.integration.write_back_ids
        state = "on" if switched else "off: switch it on in the integration's settings"
        for name, side, system, holds in (
            ("write_back_field_hubspot", "hubspot", "HubSpot", other),
            ("write_back_field_other", "other", other, "HubSpot"),
        ):
            field = self.fields[name]
            default = mapping.write_back_default(side) if mapping.integration_id else ""
            field.label = f"{system} field holding the {holds} id"
            field.widget.attrs["placeholder"] = default
            by_hand = registry.system(mapping.integration.connection_on(side).system).connector_class.id_field_made_by_hand
            made = by_hand or f"Created in {system} by the first run that needs it."
            field.help_text = (
                f"Ids written back ({state}). Blank: “{default}”. {made}"
                if default
                else f"{system} {mapping.object_for(side)} cannot carry the {holds} id."
            )

    def clean_delete_to_other(self) -> str:
        return self.cleaned_data.get("delete_to_other") or self.instance.delete_to_other

    def clean_delete_to_hubspot(self) -> str:
        return self.cleaned_data.get("delete_to_hubspot") or self.instance.delete_to_hubspot


class FieldMappingRowForm(forms.ModelForm):
    """The per-row controls of the mapping table: direction, only-if-empty, conflict winner."""

    system_of_record = forms.ChoiceField(choices=SOR_CHOICES, required=False, label="Wins conflicts")

    class Meta:
        model = FieldMapping
        fields = ["direction", "only_if_target_empty", "system_of_record", "conflict_review", "enabled"]
        labels = {"only_if_target_empty": "Only if target empty", "conflict_review": "Review conflicts", "enabled": "On"}


def parse_value_map(text: str) -> dict[str, str]:
    """'source text = option value' per line -> {source text: option value}."""
    mapping: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if "=" not in line:
            raise forms.ValidationError(f"Line {number}: write it as “text = option value”.")
        source, target = (part.strip() for part in line.split("=", 1))
        if not source or not target:
            raise forms.ValidationError(f"Line {number}: both sides of “=” are needed.")
        mapping[source] = target
    return mapping


VALUE_MAP_PREFIX = "map:"  # HubSpot → other: FieldMapping.value_map
REVERSE_MAP_PREFIX = "map_to_hubspot:"  # other → HubSpot: FieldMapping.value_map_to_hubspot


def value_map_from_table(data: Any, prefix: str = VALUE_MAP_PREFIX) -> dict[str, str]:
    """The editor's value-map table: one select per unmatched dropdown value, named
    "map:<HubSpot value>" toward the other system or "map_to_hubspot:<other value>" toward
    HubSpot, whose choice is the target option's value ("" = not mapped by hand)."""
    table: dict[str, str] = {}
    for name in data:
        if not name.startswith(prefix):
            continue
        source, target = name[len(prefix) :], str(data.get(name) or "").strip()
        if "\x00" in source or "\x00" in target:
            raise forms.ValidationError("A value contains a character that cannot be stored.")
        if source and target:
            table[source] = target
    return table


def reverse_map_from_table(data: Any) -> dict[str, str] | None:
    """The table's other → HubSpot picks, when it showed that direction (None: it did not, and the
    mapping keeps one map for both directions)."""
    if not any(str(name).startswith(REVERSE_MAP_PREFIX) for name in data):
        return None
    return value_map_from_table(data, REVERSE_MAP_PREFIX)


class AddFieldMappingForm(forms.Form):
    """A custom mapping: one field picked from each system's live schema."""

    hubspot_field = forms.CharField(label="HubSpot field", max_length=200, error_messages={"required": "Pick a HubSpot field."})
    other_field = forms.CharField(
        label="Other system's field", max_length=200, error_messages={"required": "Pick a field of the other system."}
    )
    direction = forms.ChoiceField(choices=Direction.choices, initial=Direction.BOTH)
    transform = forms.ChoiceField(
        choices=[("", "Automatic (from the field types)")] + list(FieldMapping.Transform.choices), required=False
    )
    only_if_target_empty = forms.BooleanField(required=False, label="Only if target empty")
    value_map = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Value map (text → dropdown)",
        help_text="One per line: <code>text = option value</code>. Needed only to map text into a dropdown.",
    )

    accept_unmatched = forms.BooleanField(
        required=False,
        label="Dropdown values with no matching option: add them as new HubSpot options / leave the field empty",
        help_text="Otherwise map each such value by hand in the value map.",
    )

    def __init__(self, *args: Any, **kwargs: Any):
        # Its own ids: the object settings form on the same page also has a "direction".
        kwargs.setdefault("auto_id", "add_%s")
        super().__init__(*args, **kwargs)

    def clean_value_map(self) -> dict[str, str]:
        typed = parse_value_map(self.cleaned_data.get("value_map") or "")
        return {**typed, **value_map_from_table(self.data)}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        try:
            cleaned["value_map_to_hubspot"] = reverse_map_from_table(self.data)
        except forms.ValidationError as exc:
            self.add_error("value_map", exc)
        return cleaned

    def add_errors(self, exc: Any) -> list[str]:
        """A refusal from mappings.services.validation: each message next to its field; the
        ones about the pair as a whole are returned to show above the button."""
        general: list[str] = []
        for name, errors in getattr(exc, "message_dict", {"__all__": exc.messages}).items():
            if name in self.fields:
                self.add_error(name, errors)
            else:
                general.extend(errors)
        return general


class HistoricalSyncForm(forms.Form):
    SCOPES = [("all", "All records"), ("since", "Records changed since a date")]

    scope = forms.ChoiceField(choices=SCOPES, initial="all", widget=forms.RadioSelect, label="Which records")
    since = forms.DateField(
        required=False,
        label="Since",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="HubSpot, ConnectWise and Dynamics 365 start at this date; Salesforce and NetSuite read every record.",
    )
    object_mapping = forms.ModelChoiceField(
        queryset=ObjectMapping.objects.none(), required=False, empty_label="Every object", label="Objects"
    )

    def __init__(self, *args: Any, integration: Integration, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["object_mapping"].queryset = integration.object_mappings.filter(enabled=True)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("scope") == "since" and not cleaned.get("since"):
            self.add_error("since", "Pick the date to start from.")
        return cleaned
