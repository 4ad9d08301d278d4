"""What a tenant asked us to sync: integrations, object mappings, field mappings, filters.

Everything here is configuration a customer edits in the UI. The engine's state (links,
cursors, runs, events, inbox, deferred queue) lives in `syncsmart.models`. State changes with
side effects (main switch, schedule, runs) go through `mappings.services.actions` and the engine, which audit them.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from connectors import registry
from connectors.models import Environment
from mappings.compat import compatibility_problems, known_type
from mappings.filters import FilterError, validate_filter
from mappings.match_rules import MatchKey, MatchRuleError, UnfitMatchRule, check_against_schemas, legacy_rules, parse_rules
from syncsmart.core.choices import Direction, Side

DEFAULT_SCHEDULE_MINUTES = 5
MIN_SCHEDULE_MINUTES = 1
MAX_SCHEDULE_MINUTES = 1440  # once a day at least: a longer gap falls outside every vendor's change window


class IntegrationManager(models.Manager):
    """Integrations customers and workers see: not the shadows a preview runs on."""

    def get_queryset(self):
        return super().get_queryset().filter(preview_of__isnull=True)


class Integration(models.Model):
    """One tenant's HubSpot account kept in sync with one other system's account."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="integrations")
    name = models.CharField(max_length=200, blank=True)
    hubspot_connection = models.ForeignKey("connectors.Connection", on_delete=models.PROTECT, related_name="+")
    other_connection = models.ForeignKey("connectors.Connection", on_delete=models.PROTECT, related_name="+")
    environment = models.CharField(max_length=12, choices=Environment.choices, default=Environment.SANDBOX)
    # The main switch: off means no scheduled, webhook or manual run touches either system.
    enabled = models.BooleanField("Sync on", default=False)
    # Test mode: only records carrying a marker sync, so a customer can try a mapping safely.
    test_mode = models.BooleanField(default=False)
    test_email_marker = models.CharField(
        max_length=100, default="ss.test", blank=True, help_text="Only contacts whose e-mail contains this sync in test mode."
    )
    test_name_marker = models.CharField(
        max_length=100,
        default="SyncSmart",
        blank=True,
        help_text="Only companies / deals whose name contains this sync in test mode.",
    )
    # Standard options from the installer.
    block_free_emails = models.BooleanField(
        "Free emails blocked", default=False, help_text="Contacts with gmail.com, outlook.com... addresses do not sync."
    )
    write_back_ids = models.BooleanField(default=False, help_text="Store the counterpart's id on each record.")
    schedule_minutes = models.PositiveIntegerField(
        default=DEFAULT_SCHEDULE_MINUTES,
        validators=[MinValueValidator(MIN_SCHEDULE_MINUTES), MaxValueValidator(MAX_SCHEDULE_MINUTES)],
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Set on the short-lived copy a preview (dry run) runs on: every run of it reads from the
    # vendors and writes nothing (syncsmart.previews); hidden from every list by `objects`.
    preview_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    objects = IntegrationManager()
    all_objects = models.Manager()

    class Meta:
        ordering = ["tenant__name", "name", "id"]
        base_manager_name = "all_objects"

    def __str__(self) -> str:
        return self.name or f"HubSpot ↔ {self.other_system_label}"

    @property
    def other_system(self) -> str:
        return self.other_connection.system

    @property
    def other_system_label(self) -> str:
        return self.other_connection.get_system_display()

    def connection_on(self, side: str):
        return self.hubspot_connection if side == Side.HUBSPOT else self.other_connection

    @property
    def schedule_name(self) -> str:
        """The django-q2 Schedule row name for this integration."""
        return f"sync-integration-{self.pk}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.hubspot_connection_id and self.hubspot_connection.system != "hubspot":
            errors["hubspot_connection"] = "Pick a HubSpot connection."
        if self.other_connection_id and self.other_connection.system == "hubspot":
            errors["other_connection"] = "Pick the other system's connection, not HubSpot."
        for field in ("hubspot_connection", "other_connection"):
            conn = getattr(self, field, None) if getattr(self, f"{field}_id") else None
            if conn is not None and self.tenant_id and conn.tenant_id != self.tenant_id:
                errors[field] = "That connection belongs to another tenant."
        if self.schedule_minutes is not None and self.schedule_minutes < MIN_SCHEDULE_MINUTES:
            errors["schedule_minutes"] = f"Sync can run at most every {MIN_SCHEDULE_MINUTES} minute."
        elif self.schedule_minutes is not None and self.schedule_minutes > MAX_SCHEDULE_MINUTES:
            errors["schedule_minutes"] = f"Sync must run at least once a day (every {MAX_SCHEDULE_MINUTES} minutes at most)."
        if errors:
            raise ValidationError(errors)


# The code of a refusal that well-formed input gets from the tenant's own configuration (a field its
# system does not have, a type that does not fit); the REST API answers it 422 (syncsmart.api.errors).
UNFIT = "unfit"


class ObjectMapping(models.Model):
    """A HubSpot object type kept in sync with one of the other system's object types."""

    class DeletePolicy(models.TextChoices):
        IGNORE = "ignore", "Keep the other side's record"
        ARCHIVE = "archive", "Archive / deactivate the other side's record"
        DELETE = "delete", "Delete the other side's record"

    class CreatePolicy(models.TextChoices):
        CREATE = "create", "Create a new record when no match is found"
        MATCH_ONLY = "match_only", "Only update records that already exist"
        # The first run when both sides already hold records: link what matches as it stands,
        # create nothing; a preview shows what creating would add, then creation is turned on.
        LINK_ONLY = "link_only", "Link only: link matching records, create and change nothing"

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="object_mappings")
    name = models.CharField(max_length=100, blank=True)
    hubspot_object = models.CharField(max_length=100)  # connector object type, e.g. "contacts"
    other_object = models.CharField(max_length=100)  # e.g. "leads", "contacts", "companies"
    direction = models.CharField(max_length=12, choices=Direction.choices, default=Direction.BOTH)
    enabled = models.BooleanField(default=True)
    # Matching existing records instead of duplicating them: e-mail for contacts, domain for companies.
    hubspot_match_field = models.CharField(max_length=100, blank=True)
    other_match_field = models.CharField(max_length=100, blank=True)
    create_policy = models.CharField(max_length=12, choices=CreatePolicy.choices, default=CreatePolicy.CREATE)
    # What a deletion in one system does to the linked record in the other (syncsmart.engine.deletions).
    delete_to_other = models.CharField(
        "When deleted in HubSpot", max_length=10, choices=DeletePolicy.choices, default=DeletePolicy.IGNORE
    )
    delete_to_hubspot = models.CharField(
        "When deleted in the other system", max_length=10, choices=DeletePolicy.choices, default=DeletePolicy.IGNORE
    )
    # Ordered match keys (see mappings.match_rules); [] = the legacy match field pair above.
    match_rules = models.JSONField(default=list, blank=True)
    system_of_record = models.CharField(
        max_length=10,
        choices=Side.choices,
        default=Side.HUBSPOT,
        help_text="Wins when both sides changed the same field since the last sync.",
    )
    # Declarative conditions (see mappings.filters) per flow; {} = everything passes.
    filter_to_other = models.JSONField(default=dict, blank=True)
    filter_to_hubspot = models.JSONField(default=dict, blank=True)
    # The integration's write_back_ids: the field on each side that holds the other side's id
    # (created by the run when missing). Blank: the system's default (write_back_field_name).
    write_back_field_hubspot = models.CharField(
        "HubSpot property for the other system's id",
        max_length=100,
        blank=True,
        help_text="Internal name of the HubSpot property that holds the other system's id (blank: the default).",
    )
    write_back_field_other = models.CharField(
        "Other system's field for the HubSpot id",
        max_length=100,
        blank=True,
        help_text="ConnectWise custom field caption / Dataverse column holding the HubSpot id (blank: the default).",
    )
    # Lower runs first; parents (companies) come before children (contacts, deals).
    order = models.PositiveIntegerField(default=100)
    is_default = models.BooleanField(default=False, help_text="Installed by the default mapping set.")

    class Meta:
        ordering = ["integration", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["integration", "hubspot_object", "other_object"], name="one_object_mapping_per_pair")
        ]

    def __str__(self) -> str:
        return self.name or f"{self.hubspot_object} ↔ {self.other_object}"

    def delete_policy_to(self, target_side: str) -> str:
        """The deletion policy of the flow that writes to `target_side`."""
        return self.delete_to_other if target_side == "other" else self.delete_to_hubspot

    def object_for(self, side: str) -> str:
        return self.hubspot_object if side == Side.HUBSPOT else self.other_object

    def match_field_for(self, side: str) -> str:
        return self.hubspot_match_field if side == Side.HUBSPOT else self.other_match_field

    def filter_for_target(self, target_side: str) -> dict[str, Any]:
        return self.filter_to_other if target_side == Side.OTHER else self.filter_to_hubspot

    def write_back_field_name(self, side: str) -> str:
        """The field on `side` that holds the counterpart's id when the integration writes ids
        back: as the customer named it, else the system's default; blank when that system's
        object cannot carry one."""
        named = self.write_back_field_hubspot if side == Side.HUBSPOT else self.write_back_field_other
        if named:
            return named
        return self.write_back_default(side)

    def write_back_default(self, side: str) -> str:
        integration = self.integration
        system = integration.connection_on(side).system
        counterpart = "HubSpot" if side == Side.OTHER else integration.other_system  # syncsmart_connectwise_id
        return registry.system(system).connector_class.default_id_field(self.object_for(side), counterpart)

    def match_keys(self) -> list[MatchKey]:
        """The match keys in order; stored rules that no longer parse give none, so nothing is
        matched on a guess."""
        if not self.match_rules:
            return legacy_rules(self.hubspot_match_field, self.other_match_field)
        try:
            return parse_rules(self.match_rules)
        except MatchRuleError:
            return []

    def match_rule_warnings(self) -> list[str]:
        """What could not be checked about the match rules (fields not discovered, unknown types)."""
        try:
            return self._check_match_rules(parse_rules(self.match_rules))
        except MatchRuleError as exc:
            return [str(exc)]

    def _check_match_rules(self, keys: list[MatchKey]) -> list[str]:
        if not self.integration_id or not keys:
            return []
        integration = self.integration
        hub = _schema_types(integration.hubspot_connection, self.hubspot_object)
        other = _schema_types(integration.other_connection, self.other_object)
        return check_against_schemas(keys, hub, other, integration.other_system_label)

    def clean(self) -> None:
        errors: dict[str, ValidationError] = {}
        for name in ("filter_to_other", "filter_to_hubspot"):
            try:
                validate_filter(getattr(self, name) or {})
            except FilterError as exc:
                errors[name] = ValidationError(str(exc))
        try:
            keys = parse_rules(self.match_rules)
            self._check_match_rules(keys)
            self.match_rules = [k.as_dict() for k in keys]  # stored in one spelling (trimmed, US not us)
        except MatchRuleError as exc:
            errors["match_rules"] = ValidationError(str(exc), code=UNFIT if isinstance(exc, UnfitMatchRule) else "invalid")
        if errors:
            raise ValidationError(errors)


def _schema_types(connection, object_type: str) -> dict[str, str] | None:
    """{field name: type} of a discovered object type, or None when it is not discovered."""
    fields = (connection.schema_cache or {}).get(object_type)
    if not fields:
        return None
    return {f["name"]: f.get("type", "") for f in fields if isinstance(f, dict) and "name" in f}


class FieldMapping(models.Model):
    """One field on each side of an object mapping, and how its value crosses over."""

    class Transform(models.TextChoices):
        NONE = "none", "Copy as is"
        CONVERT = "convert", "Convert type"
        DROPDOWN = "dropdown", "Dropdown by label"
        OWNER = "owner", "Owner by e-mail"
        ASSOCIATION = "association", "Association (linked record)"
        DOMAIN = "domain", "Web domain ↔ URL"

    object_mapping = models.ForeignKey(ObjectMapping, on_delete=models.CASCADE, related_name="field_mappings")
    hubspot_field = models.CharField(max_length=200)
    other_field = models.CharField(max_length=200)
    # Field types as discovered when the mapping was saved: the compatibility check and the
    # transform use them without asking the vendor again.
    hubspot_type = models.CharField(max_length=20, blank=True)
    other_type = models.CharField(max_length=20, blank=True)
    direction = models.CharField(max_length=12, choices=Direction.choices, default=Direction.BOTH)
    transform = models.CharField(max_length=12, choices=Transform.choices, default=Transform.NONE)
    # Values mapped by hand, per direction: value_map toward the other system ({"HubSpot value":
    # "other value"}, also text -> dropdown), value_map_to_hubspot the other way ({"other value":
    # "HubSpot value"}) — two HubSpot values may become one ConnectWise value, and the way back
    # then names the one it becomes. None: the same map both ways (default sets list both
    # directions' pairs in value_map); migration 0012 copied every existing map to both.
    value_map = models.JSONField(default=dict, blank=True)
    value_map_to_hubspot = models.JSONField(null=True, blank=True)
    only_if_target_empty = models.BooleanField(default=False, help_text="Write only when the target field is empty.")
    # Blank: the object mapping's system of record decides conflicts.
    system_of_record = models.CharField(max_length=10, choices=Side.choices, blank=True)
    enabled = models.BooleanField(default=True)
    # The customer accepted what a run does with dropdown values that match no option and are not
    # in value_map: toward HubSpot they are added as new options, toward the other system the
    # field is left empty. Without it such a mapping is refused (mappings.services.validation).
    accept_unmatched = models.BooleanField(default=False)
    # Conflict review: when both sides changed the field since it was last in sync, neither wins;
    # the pair waits in the integration's conflict review queue (syncsmart.models.HeldConflict).
    # Only for fields that sync both ways (a one-way field never conflicts).
    conflict_review = models.BooleanField(default=False)
    is_default = models.BooleanField(default=False)
    order = models.PositiveIntegerField(default=100)
    # Set when a schema refresh finds a field gone or its type changed into one that no longer
    # fits: runs leave the mapping out (instead of failing every record) until it is fixed.
    broken_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["object_mapping", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["object_mapping", "hubspot_field", "other_field"], name="one_field_mapping_per_pair")
        ]

    def __str__(self) -> str:
        return f"{self.hubspot_field} ↔ {self.other_field}"

    @property
    def winner(self) -> str:
        return self.system_of_record or self.object_mapping.system_of_record

    def field_on(self, side: str) -> str:
        return self.hubspot_field if side == Side.HUBSPOT else self.other_field

    def type_on(self, side: str) -> str:
        return self.hubspot_type if side == Side.HUBSPOT else self.other_type

    def map_toward(self, target_side: str) -> dict[str, Any]:
        """The values mapped by hand for the flow that writes `target_side`."""
        if target_side == Side.HUBSPOT and self.value_map_to_hubspot is not None:
            return self.value_map_to_hubspot
        return self.value_map or {}

    def flows_to(self, target_side: str) -> bool:
        return target_side in Direction.flows(self.direction)

    @property
    def type_check(self) -> str:
        """ "broken" (see broken_reason), "unchecked" (a field type is unknown: no check passed
        it) or "ok" (both types known and compatible)."""
        if self.broken_reason:
            return "broken"
        if known_type(self.hubspot_type) is None or known_type(self.other_type) is None:
            return "unchecked"
        return "ok"

    @property
    def type_warning(self) -> str:
        if self.type_check == "unchecked":
            unknown = [
                f"{side} “{name}”"
                for side, name, kind in (
                    ("HubSpot", self.hubspot_field, self.hubspot_type),
                    ("the other system", self.other_field, self.other_type),
                )
                if known_type(kind) is None
            ]
            return (
                "Unchecked: the type of " + " and ".join(unknown) + " is not known (fields not discovered, or a type "
                "we do not recognise), so values may be refused at run time. Refresh fields to check it."
            )
        return self.broken_reason

    def clean(self) -> None:
        problems = compatibility_problems(self)
        if problems:
            raise ValidationError({"__all__": problems})
