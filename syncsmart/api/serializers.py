"""What the API shows and accepts. Serializers only parse and present; the models' clean()
(type compatibility, filter syntax) and mappings.services.actions do the validating and saving, so a
refused mapping gets the very message the UI shows."""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from connectors.models import Connection, Environment
from mappings.forms import IntegrationOptionsForm
from mappings.models import MAX_SCHEDULE_MINUTES, MIN_SCHEDULE_MINUTES, UNFIT, FieldMapping, Integration, ObjectMapping
from mappings.normalisers import NORMALISER_CHOICES
from mappings.services import actions
from mappings.services.queries import run_rate
from syncsmart.api.body_schemas import NOT_BLANK, FilterGroupField, MatchRulesField
from syncsmart.api.strict import StrictJSONTypes
from syncsmart.core.choices import Side
from syncsmart.logging import redact
from syncsmart.models import AmbiguousMatch, Preview, RecordEvent, SyncRun

MAX_ID = 2**63 - 1
NAMED = RegexValidator(NOT_BLANK, "Give a name, not only spaces.")


class TenantScopedPrimaryKey(serializers.PrimaryKeyRelatedField):
    """A related id that must belong to the request's tenant; another tenant's id reads as unknown."""

    def __init__(self, tenant_path: str, **kwargs: Any) -> None:
        self.tenant_path = tenant_path
        super().__init__(**kwargs)

    def get_queryset(self):
        request = self.context["request"]
        return super().get_queryset().filter(**{self.tenant_path: request.tenant})


# --- Connections --------------------------------------------------------------------------


class ConnectionSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Connection
        fields = ["id", "system", "name", "status"]
        read_only_fields = fields


class ConnectionSerializer(serializers.ModelSerializer):
    """Status only: credentials, OAuth tokens and config never leave the server."""

    system_label = serializers.CharField(source="get_system_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    last_error = serializers.SerializerMethodField()
    has_credentials = serializers.BooleanField(read_only=True)

    class Meta:
        model = Connection
        fields = [
            "id",
            "system",
            "system_label",
            "environment",
            "name",
            "status",
            "status_label",
            "last_error",
            "last_checked_at",
            "last_ok_at",
            "has_credentials",
            "token_expires_at",
            "schema_refreshed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_last_error(self, connection: Connection) -> str:
        # Vendor messages are ours to show, but a careless vendor may echo a key back.
        return redact(connection.last_error or "")


class ConnectionTestResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    message = serializers.CharField()
    account = serializers.CharField(allow_blank=True)
    connection = ConnectionSerializer()


# --- Runs ---------------------------------------------------------------------------------


class RunSerializer(serializers.ModelSerializer):
    progress_percent = serializers.IntegerField(read_only=True, allow_null=True)
    # The status in words, as the pages say it: a run between slices is "Working — …", not "Queued".
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    requested_by = serializers.SerializerMethodField()

    class Meta:
        model = SyncRun
        fields = [
            "id",
            "integration",
            "trigger",
            "status",
            "status_label",
            "object_mapping",
            "counts",
            "progress_done",
            "progress_total",
            "progress_percent",
            "pages",
            "cancel_requested",
            "error",
            "requested_by",
            "queued_at",
            "started_at",
            "finished_at",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.EmailField(allow_null=True))
    def get_requested_by(self, run: SyncRun) -> str | None:
        return run.requested_by.email if run.requested_by_id else None


class RunDetailSerializer(RunSerializer):
    log = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField()),
        read_only=True,
        help_text="[[ISO time, level, message], ...], oldest first.",
    )

    class Meta(RunSerializer.Meta):
        fields = RunSerializer.Meta.fields + ["log"]
        read_only_fields = fields


class RunProgressSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=SyncRun.Status.choices)
    done = serializers.IntegerField()
    total = serializers.IntegerField(allow_null=True)
    percent = serializers.IntegerField(allow_null=True)
    records_per_second = serializers.FloatField(allow_null=True)
    seconds_left = serializers.IntegerField(allow_null=True, help_text="Estimated; null until it can be estimated.")
    finished = serializers.BooleanField()

    @staticmethod
    def of(run: SyncRun) -> dict[str, Any]:
        rate, left = run_rate(run)
        return {
            "id": run.pk,
            "status": run.status,
            "done": run.progress_done,
            "total": run.progress_total,
            "percent": run.progress_percent,
            "records_per_second": round(rate, 3) if rate is not None else None,
            "seconds_left": int(left.total_seconds()) if left is not None else None,
            "finished": not run.is_active,
        }


class RunSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = SyncRun
        fields = ["id", "trigger", "status", "counts", "created_at", "finished_at"]
        read_only_fields = fields


# --- Integrations -------------------------------------------------------------------------


class IntegrationSerializer(StrictJSONTypes, serializers.ModelSerializer):
    display_name = serializers.CharField(source="__str__", read_only=True)
    other_system = serializers.CharField(source="other_connection.system", read_only=True)
    hubspot_connection = ConnectionSummarySerializer(read_only=True)
    other_connection = ConnectionSummarySerializer(read_only=True)
    last_run = serializers.SerializerMethodField()

    class Meta:
        model = Integration
        fields = [
            "id",
            "name",
            "display_name",
            "other_system",
            "environment",
            "enabled",
            "test_mode",
            "test_email_marker",
            "test_name_marker",
            "block_free_emails",
            "write_back_ids",
            "schedule_minutes",
            "hubspot_connection",
            "other_connection",
            "last_run",
            "created_at",
            "updated_at",
        ]
        # Writable: exactly the options the UI's integration page edits. The main switch has its
        # own endpoint; sandbox -> production is the go-live flow, not a field.
        read_only_fields = [name for name in fields if name not in IntegrationOptionsForm.Meta.fields]

    @extend_schema_field(RunSummarySerializer(allow_null=True))
    def get_last_run(self, integration: Integration) -> dict[str, Any] | None:
        # Views prefetch the latest run into `latest_runs` (one query for the whole page).
        runs = getattr(integration, "latest_runs", None)
        if runs is None:
            runs = list(integration.runs.order_by("-created_at")[:1])
        return RunSummarySerializer(runs[0]).data if runs else None


class IntegrationCreateSerializer(StrictJSONTypes, serializers.Serializer):
    """POST /api/integrations/: what the installer's last step does — the integration between two of
    the tenant's connections, its default mappings installed unless asked not to. It starts switched
    off; the main switch endpoint turns it on (as a person would after checking the mappings)."""

    hubspot_connection = serializers.UUIDField(help_text="Id of the tenant's HubSpot connection.")
    other_connection = serializers.UUIDField(help_text="Id of the tenant's connection to the other system.")
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    environment = serializers.ChoiceField(choices=Environment.choices, default=Environment.SANDBOX)
    test_mode = serializers.BooleanField(default=True)
    block_free_emails = serializers.BooleanField(default=True)
    schedule_minutes = serializers.IntegerField(default=5, min_value=MIN_SCHEDULE_MINUTES, max_value=MAX_SCHEDULE_MINUTES)
    install_defaults = serializers.BooleanField(
        default=True, help_text="Install the default object and field mappings for the pair of systems."
    )


class MainSwitchSerializer(StrictJSONTypes, serializers.Serializer):
    enabled = serializers.BooleanField(help_text="true switches the sync on, false switches it off.")


class SyncNowSerializer(StrictJSONTypes, serializers.Serializer):
    object_mapping = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_ID, help_text="Sync only this object mapping (default: all)."
    )


class HistoricalSyncPreviewSerializer(SyncNowSerializer):
    since = serializers.DateField(
        required=False, allow_null=True, help_text="Only records changed since this date (default: all records)."
    )


class HistoricalSyncSerializer(HistoricalSyncPreviewSerializer):
    confirmed_preview = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="The finished preview of this resync (POST .../historical-sync/preview/ with the same object_mapping "
        "and since) you have read. Without it the answer is 409 preview_required.",
    )


def _id_field_early(help_text: str) -> serializers.IntegerField:
    return serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID, help_text=help_text)


# --- Object mappings and filters ----------------------------------------------------------


def ignore_fixed(serializer: serializers.Serializer, attrs: dict[str, Any]) -> dict[str, Any]:
    """On an update, the fields fixed at creation (`fixed_after_create`) are validated like any
    other (the schema names their type and bounds) and then left as they are."""
    if serializer.instance is not None:
        for name in serializer.fixed_after_create:
            attrs.pop(name, None)
    return attrs


class ObjectMappingSerializer(StrictJSONTypes, serializers.ModelSerializer):
    integration = TenantScopedPrimaryKey("tenant", queryset=Integration.objects.all())
    field_mapping_count = serializers.IntegerField(read_only=True, required=False)
    match_rules = MatchRulesField(
        required=False,
        help_text='Ordered match keys: [{"fields": [{"hubspot": "email", "other": "email", "normaliser": "email"}]}]. '
        "Normalisers: " + ", ".join(NORMALISER_CHOICES) + ".",
    )
    filter_to_other = FilterGroupField(required=False, help_text="Records HubSpot → other must pass (see the filters endpoint).")
    filter_to_hubspot = FilterGroupField(
        required=False, help_text="Records other → HubSpot must pass (see the filters endpoint)."
    )
    match_rule_warnings = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="What could not be checked (fields not discovered yet, unknown types): those keys are unchecked.",
    )
    confirmed_preview = serializers.UUIDField(
        write_only=True,
        required=False,
        allow_null=True,
        help_text="Turning a mapping on (enabled false → true): the finished preview of doing so "
        "(POST /api/object-mappings/{id}/turn-on/preview/) you have read. Without it the answer is 409 preview_required.",
    )
    write_back_fields = serializers.SerializerMethodField(
        help_text="The fields each side's records carry the other side's id in when the integration's write_back_ids "
        "is on: as named in write_back_field_hubspot / write_back_field_other, or the system's default (blank when "
        "that object cannot carry one)."
    )

    @extend_schema_field(
        {
            "type": "object",
            "properties": {"hubspot": {"type": "string"}, "other": {"type": "string"}},
            "required": ["hubspot", "other"],
        }
    )
    def get_write_back_fields(self, mapping: ObjectMapping) -> dict[str, str]:
        return {side: mapping.write_back_field_name(side) for side in ("hubspot", "other")}

    class Meta:
        model = ObjectMapping
        fields = [
            "id",
            "integration",
            "name",
            "hubspot_object",
            "other_object",
            "direction",
            "enabled",
            "hubspot_match_field",
            "other_match_field",
            "match_rules",
            "match_rule_warnings",
            "create_policy",
            "delete_to_other",
            "delete_to_hubspot",
            "system_of_record",
            "filter_to_other",
            "filter_to_hubspot",
            "write_back_field_hubspot",
            "write_back_field_other",
            "write_back_fields",
            "order",
            "is_default",
            "field_mapping_count",
            "confirmed_preview",
        ]
        read_only_fields = ["id", "is_default", "field_mapping_count"]
        # Uniqueness and filter syntax are checked by the model (full_clean in the action),
        # with the UI's messages, not by DRF's own validators.
        validators: list = []
        # Object types are names: something besides white space (DRF trims it), as the schema says.
        extra_kwargs = {name: {"validators": [NAMED]} for name in ("hubspot_object", "other_object")}

    fixed_after_create = ("integration",)  # a mapping never moves to another integration

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Object types must exist in each system's discovered schema (when it is known)."""
        attrs = ignore_fixed(self, attrs)
        integration = attrs.get("integration") or getattr(self.instance, "integration", None)
        if integration is None:
            return attrs
        errors = {}
        for name, connection, system in (
            ("hubspot_object", integration.hubspot_connection, "HubSpot"),
            ("other_object", integration.other_connection, integration.other_connection.get_system_display()),
        ):
            known = connection.schema_cache or {}
            if name in attrs and known and attrs[name] not in known:
                errors[name] = [f"{system} has no object type “{attrs[name]}”. Known: {', '.join(sorted(known))}."]
        if errors:
            # Well formed, but not a type this tenant's systems have: 422 (syncsmart.api.errors).
            raise serializers.ValidationError(errors, code=UNFIT)
        return attrs


class FiltersSerializer(StrictJSONTypes, serializers.Serializer):
    filter_to_other = FilterGroupField(
        required=False,
        help_text='Records HubSpot → other must pass: {"match": "all"|"any", "conditions": [...]}; {} = all. '
        'An inclusion list (a HubSpot list, static or active) is the condition {"field": "@hubspot_list", '
        '"operator": "in_list", "value": "<the list\'s name>"}: an unknown name is refused (422) with the UI\'s '
        "message; the list's id is added as list_id when saved.",
    )
    filter_to_hubspot = FilterGroupField(required=False, help_text="Records other → HubSpot must pass; {} = all.")


# --- Field mappings -----------------------------------------------------------------------


class FieldMappingSerializer(StrictJSONTypes, serializers.ModelSerializer):
    object_mapping = TenantScopedPrimaryKey("integration__tenant", queryset=ObjectMapping.objects.all())
    type_check = serializers.ChoiceField(
        choices=["ok", "unchecked", "broken"],
        read_only=True,
        help_text="ok: both field types known and compatible; unchecked: a type is unknown, nothing passed it; "
        "broken: a field disappeared or changed type (see type_warning) and runs leave this mapping out.",
    )
    type_warning = serializers.CharField(read_only=True, help_text="Why the mapping is unchecked or broken; blank when ok.")
    value_map = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        help_text='Values mapped by hand toward the other system (and text → dropdown): {"HubSpot value": "option value"}.',
    )
    value_map_to_hubspot = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        allow_null=True,
        help_text='Values mapped by hand toward HubSpot: {"other value": "HubSpot option value"}; null: value_map both ways. '
        "Where two HubSpot values map onto one other value, a two-way mapping names here which one it becomes.",
    )
    system_of_record = serializers.ChoiceField(
        choices=Side.choices,
        required=False,
        allow_blank=True,
        help_text="Blank: the object mapping's system of record wins conflicts.",
    )
    conflict_review = serializers.BooleanField(
        required=False,
        help_text="When both sides changed the field since it last synced, hold it in the conflict review queue "
        "(/api/conflicts/) instead of letting the system of record win. Needs direction `both`.",
    )

    class Meta:
        model = FieldMapping
        fields = [
            "id",
            "object_mapping",
            "hubspot_field",
            "other_field",
            "hubspot_type",
            "other_type",
            "direction",
            "transform",
            "value_map",
            "value_map_to_hubspot",
            "only_if_target_empty",
            "accept_unmatched",
            "system_of_record",
            "conflict_review",
            "enabled",
            "order",
            "is_default",
            "type_check",
            "type_warning",
        ]
        read_only_fields = ["id", "hubspot_type", "other_type", "is_default", "type_check", "type_warning"]
        validators: list = []
        # Field names name something besides white space (DRF trims it), as the schema says.
        extra_kwargs = {
            "transform": {"required": False},
            **{name: {"validators": [NAMED]} for name in ("hubspot_field", "other_field")},
        }

    # Like the UI: a mapping's two fields are fixed; map a new pair instead.
    fixed_after_create = ("object_mapping", "hubspot_field", "other_field")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return ignore_fixed(self, attrs)


class FieldMappingRemovalSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The removal's id: POST /api/field-mappings/removed/{id}/restore/ undoes it.")
    object_mapping = serializers.IntegerField()
    hubspot_field = serializers.CharField()
    other_field = serializers.CharField()
    removed_at = serializers.DateTimeField()
    removed_by = serializers.CharField()
    undo_until = serializers.DateTimeField()

    @staticmethod
    def of(entry) -> dict[str, Any]:
        kept = entry.changes.get("restorable") or {}
        return {
            "id": entry.pk,
            "object_mapping": entry.changes.get("object_mapping"),
            "hubspot_field": kept.get("hubspot_field", ""),
            "other_field": kept.get("other_field", ""),
            "removed_at": entry.created_at,
            "removed_by": entry.actor_label,
            "undo_until": actions.undo_until(entry),
        }


# --- Record events ------------------------------------------------------------------------


class RecordEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = RecordEvent
        fields = [
            "id",
            "run",
            "integration",
            "object_mapping",
            "source_side",
            "source_object",
            "source_id",
            "target_id",
            "outcome",
            "message",
            "fields",
            "details",
            "created_at",
        ]
        read_only_fields = fields


class SchemaReportSerializer(serializers.Serializer):
    discovered = serializers.DictField(
        child=serializers.DictField(child=serializers.IntegerField(), allow_null=True),
        help_text="Per side (hubspot / other): {object type: number of fields}, or null when discovery failed.",
    )
    missing = serializers.ListField(child=serializers.CharField(), help_text="Mapped object types with no discovered fields.")
    broken = serializers.ListField(child=serializers.CharField(), help_text="Field mappings that no longer fit, with why.")
    mended = serializers.IntegerField(help_text="Mappings that were broken and fit again.")
    types_updated = serializers.IntegerField()


# --- Previews (dry runs) -------------------------------------------------------------------


class PreviewSerializer(serializers.ModelSerializer):
    result = serializers.JSONField(
        read_only=True,
        help_text="{flows: [{object_mapping, source_side, counts: {link, create, update, filtered, ambiguous, fail, "
        "unchanged}, samples: {category: [...20]}, fields, filters, rules}], totals}",
    )

    class Meta:
        model = Preview
        fields = [
            "id",
            "integration",
            "object_mapping",
            "kind",
            "purpose",
            "with_creates",
            "since",
            "status",
            "progress_done",
            "progress_total",
            "api_calls",
            "write_calls",
            "result",
            "error",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class PreviewRequestSerializer(StrictJSONTypes, serializers.Serializer):
    kind = serializers.ChoiceField(choices=Preview.Kind.choices, default=Preview.Kind.FIRST_RUN)
    object_mapping = _id_field_early("Only this object mapping (what turning it on would do).")
    with_creates = serializers.BooleanField(default=True, help_text="Count creates even where a mapping is link only.")


class PreviewQuery(serializers.Serializer):
    integration = _id_field_early("Only this integration's previews.")


# --- Ambiguous matches --------------------------------------------------------------------


class AmbiguousCandidateSerializer(serializers.Serializer):
    id = serializers.CharField()
    label = serializers.CharField()


class AmbiguousMatchSerializer(serializers.ModelSerializer):
    candidates = AmbiguousCandidateSerializer(many=True, read_only=True)
    target_side = serializers.CharField(read_only=True)
    target_object = serializers.CharField(read_only=True)
    resolved = serializers.SerializerMethodField()

    class Meta:
        model = AmbiguousMatch
        fields = [
            "id",
            "integration",
            "object_mapping",
            "source_side",
            "source_object",
            "source_id",
            "source_label",
            "target_side",
            "target_object",
            "key",
            "value",
            "candidates",
            "resolved",
            "chosen_id",
            "resolved_at",
            "created_at",
        ]
        read_only_fields = fields

    def get_resolved(self, match: AmbiguousMatch) -> bool:
        return match.resolved_at is not None


class ResolveMatchSerializer(StrictJSONTypes, serializers.Serializer):
    target_id = serializers.CharField(max_length=100, help_text="The id of the chosen candidate (one of `candidates`).")


# --- Query parameters (validated like bodies: a bad value is a 400 that names it) -----------


def _id_field(help_text: str) -> serializers.IntegerField:
    return serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID, help_text=help_text)


class IntegrationQuery(serializers.Serializer):
    enabled = serializers.BooleanField(required=False, help_text="Only integrations switched on (true) or off (false).")
    environment = serializers.ChoiceField(choices=Environment.choices, required=False)


class ObjectMappingQuery(serializers.Serializer):
    integration = _id_field("Only this integration's object mappings.")
    enabled = serializers.BooleanField(required=False)


class FieldMappingQuery(serializers.Serializer):
    object_mapping = _id_field("Only this object mapping's field mappings.")
    integration = _id_field("Only this integration's field mappings.")


class RunQuery(serializers.Serializer):
    integration = _id_field("Only this integration's runs.")
    status = serializers.ChoiceField(choices=SyncRun.Status.choices, required=False)
    trigger = serializers.ChoiceField(choices=SyncRun.Trigger.choices, required=False)


class RecordEventQuery(serializers.Serializer):
    integration = _id_field("Only this integration's events.")
    run = serializers.UUIDField(required=False, help_text="Only this run's events.")
    object_mapping = _id_field("Only this object mapping's events.")
    outcome = serializers.ChoiceField(choices=RecordEvent.Outcome.choices, required=False)
    source_side = serializers.ChoiceField(choices=Side.choices, required=False)
    q = serializers.CharField(
        required=False,
        max_length=200,
        trim_whitespace=True,
        help_text="Search: a record id on either side, or text in the message or details (e-mail, name...).",
    )


class AmbiguousMatchQuery(serializers.Serializer):
    integration = _id_field("Only this integration's ambiguous matches.")
    object_mapping = _id_field("Only this object mapping's ambiguous matches.")
    resolved = serializers.BooleanField(required=False, help_text="false: only those still waiting for a choice.")


class ConnectionQuery(serializers.Serializer):
    system = serializers.ChoiceField(choices=Connection._meta.get_field("system").choices, required=False)
    status = serializers.ChoiceField(choices=Connection.Status.choices, required=False)


class DefaultUpgradeSerializer(serializers.Serializer):
    """A change to the default mappings this integration has not taken (mappings/upgrades.py)."""

    id = serializers.CharField(help_text="Name this in …/default-upgrades/apply/ to apply it.")
    hubspot_object = serializers.CharField()
    other_object = serializers.CharField()
    object_mapping = serializers.IntegerField(allow_null=True, help_text="The object mapping it changes (null: a new one).")
    summary = serializers.CharField(help_text="What applying it does, in words.")
    status = serializers.ChoiceField(
        choices=["offered", "kept"],
        help_text="offered: your mapping is the old default as installed, safe to apply; kept: you edited what it "
        "would change, so it stays as you set it and cannot be applied here (Restore defaults takes it anyway).",
    )
    reason = serializers.CharField(allow_blank=True)

    @staticmethod
    def of(offer) -> dict:
        return {
            "id": offer.change.id,
            "hubspot_object": offer.change.hubspot,
            "other_object": offer.change.other,
            "object_mapping": offer.mapping.pk if offer.mapping is not None else None,
            "summary": offer.change.summary,
            "status": offer.status,
            "reason": offer.reason,
        }


class DefaultUpgradesSerializer(serializers.Serializer):
    changes = DefaultUpgradeSerializer(many=True, help_text="The changes not taken yet, offered or kept.")


class DefaultUpgradeApplySerializer(serializers.Serializer):
    changes = serializers.ListField(
        child=serializers.CharField(max_length=100), min_length=1, max_length=50, help_text="Ids of offered changes."
    )
