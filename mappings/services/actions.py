"""Named, atomic state changes of integrations and their mappings; each writes an audit row.

The UI and the REST API call these and nothing else to change an integration's configuration:
they keep the django-q2 schedule in step with the integration. Runs are asked for through the
engine (`syncsmart.engine.run_requests`, `syncsmart.engine.historical`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from mappings import upgrades
from mappings.compat import default_transform
from mappings.defaults import install_default_set
from mappings.models import FieldMapping, Integration, ObjectMapping
from mappings.services import validation
from syncsmart.engine import queue, run_requests, webhook_registration
from syncsmart.models import RecordLink
from tenants.actions import audit
from tenants.models import AuditLog

INTEGRATION_OPTIONS = (
    "name",
    "environment",
    "test_mode",
    "test_email_marker",
    "test_name_marker",
    "block_free_emails",
    "write_back_ids",
    "schedule_minutes",
)


@transaction.atomic
def create_integration(
    tenant, actor, hubspot_connection, other_connection, *, install_defaults_now: bool = True, **options: Any
) -> Integration:
    integration = Integration(tenant=tenant, hubspot_connection=hubspot_connection, other_connection=other_connection, **options)
    integration.full_clean()
    integration.save()
    audit(
        tenant,
        actor,
        "integration.created",
        integration,
        summary=f"Integration {integration} created",
        **{k: v for k, v in options.items() if k in INTEGRATION_OPTIONS},
    )
    if install_defaults_now:
        install_defaults(integration, actor)
    queue.sync_schedule_after_commit(integration)
    return integration


@transaction.atomic
def update_integration(integration: Integration, actor, **changes: Any) -> Integration:
    """Change standard options, test mode or the schedule interval."""
    unknown = set(changes) - set(INTEGRATION_OPTIONS)
    if unknown:
        raise ValueError(f"Not an integration option: {', '.join(sorted(unknown))}")
    before = {name: getattr(integration, name) for name in changes}
    for name, value in changes.items():
        setattr(integration, name, value)
    integration.full_clean()
    # Only the changed options: a stale object must not undo the main switch set meanwhile.
    integration.save(update_fields=[*changes, "updated_at"])
    diff = {name: {"from": before[name], "to": value} for name, value in changes.items() if before[name] != value}
    audit(integration.tenant, actor, "integration.changed", integration, summary=f"Settings of {integration} changed", **diff)
    queue.sync_schedule_after_commit(integration)
    return integration


@transaction.atomic
def delete_integration(integration: Integration, actor) -> None:
    """Delete an integration with its mappings, links and history; its schedule goes too."""
    audit(integration.tenant, actor, "integration.deleted", integration, summary=f"Integration {integration} deleted")
    webhook_registration.unregister_if_registered(integration)
    integration.delete()


@transaction.atomic
def set_main_switch(integration: Integration, actor, on: bool) -> Integration:
    """Turn the whole integration on or off. Off stops schedules, webhooks and queued runs."""
    given = integration
    integration = Integration.objects.select_for_update().get(pk=integration.pk)
    given.enabled = on
    if integration.enabled != on:
        integration.enabled = on
        integration.save(update_fields=["enabled", "updated_at"])
        audit(
            integration.tenant,
            actor,
            "integration.switched_on" if on else "integration.switched_off",
            integration,
            summary=f"Sync {'on' if on else 'off'} for {integration}",
            enabled=on,
        )
    if not on:
        run_requests.cancel_queued_runs(integration, "The integration was switched off.")
    queue.sync_schedule_after_commit(integration)
    if on:
        webhook_registration.register_after_commit(integration, "sync switched on")
        transaction.on_commit(lambda: run_requests.request_run(integration, actor, trigger="schedule"))
    return integration


@transaction.atomic
def install_defaults(integration: Integration, actor, *, reset: bool = False) -> list[ObjectMapping]:
    """Install (or re-install) the default mapping set of the integration's system pair.

    Re-installing adds what is missing and leaves customer changes alone; `reset=True`
    also puts default mappings back to their defaults (custom mappings are kept)."""
    mappings, added = install_default_set(integration, reset=reset)
    if reset:  # default rows the default set no longer has go too (a customer's own rows stay)
        for hubspot_object, other_object, hubspot_field, other_field in upgrades.obsolete_default_fields(
            integration.other_system
        ):
            FieldMapping.objects.filter(
                object_mapping__integration=integration,
                object_mapping__hubspot_object=hubspot_object,
                object_mapping__other_object=other_object,
                hubspot_field=hubspot_field,
                other_field=other_field,
                is_default=True,
            ).delete()
    audit(
        integration.tenant,
        actor,
        "mappings.defaults_installed",
        integration,
        summary=f"Default mappings {'reset' if reset else 'installed'} for {integration}: {added} added",
        added=added,
        reset=reset,
    )
    return mappings


@transaction.atomic
def apply_default_upgrades(integration: Integration, actor, change_ids: list[str]) -> list[upgrades.DefaultsChange]:
    """Apply the named new defaults offered to this integration (mappings/upgrades.py); raises
    upgrades.NotOffered naming any that is not offered (kept as the customer set it, or done)."""
    applied = upgrades.apply(integration, change_ids)
    audit(
        integration.tenant,
        actor,
        "mappings.defaults_upgraded",
        integration,
        summary=f"New default mappings applied to {integration}: " + "; ".join(c.summary for c in applied),
        changes=[c.id for c in applied],
    )
    return applied


def _schema_types(connection, object_type: str) -> dict[str, str]:
    fields = (connection.schema_cache or {}).get(object_type) or []
    return {f["name"]: f.get("type", "") for f in fields if isinstance(f, dict) and "name" in f}


def fill_field_types(mapping: FieldMapping) -> FieldMapping:
    """Take the field types from the connections' discovered schemas, when known."""
    obj = mapping.object_mapping
    integration = obj.integration
    hub_types = _schema_types(integration.hubspot_connection, obj.hubspot_object)
    other_types = _schema_types(integration.other_connection, obj.other_object)
    mapping.hubspot_type = hub_types.get(mapping.hubspot_field, mapping.hubspot_type)
    mapping.other_type = other_types.get(mapping.other_field, mapping.other_type)
    return mapping


def refuse_duplicate(mapping: FieldMapping) -> None:
    """One mapping per pair of fields (the editor and the REST API say it in the same words)."""
    pair = FieldMapping.objects.filter(
        object_mapping=mapping.object_mapping, hubspot_field=mapping.hubspot_field, other_field=mapping.other_field
    )
    if mapping.pk is not None:
        pair = pair.exclude(pk=mapping.pk)
    if pair.exists():
        raise ValidationError("These two fields are already mapped to each other.")


@transaction.atomic
def save_field_mapping(mapping: FieldMapping, actor) -> FieldMapping:
    """Validate (type compatibility with a customer-readable message) and save a field mapping.
    Raises django ValidationError with the reason when the fields cannot be mapped."""
    refuse_duplicate(mapping)
    fill_field_types(mapping)
    if mapping.transform == FieldMapping.Transform.NONE and not mapping.pk:
        mapping.transform = default_transform(mapping.hubspot_type, mapping.other_type)
    problems = validation.field_mapping_problems(mapping)
    if problems:
        raise ValidationError(problems)
    mapping.full_clean()
    created = mapping.pk is None
    mapping.save()
    integration = mapping.object_mapping.integration
    audit(
        integration.tenant,
        actor,
        "field_mapping.created" if created else "field_mapping.changed",
        mapping,
        summary=f"{mapping.object_mapping}: {mapping}",
        direction=mapping.direction,
        transform=mapping.transform,
        only_if_target_empty=mapping.only_if_target_empty,
        conflict_review=mapping.conflict_review,
    )
    return mapping


# A removed field mapping can be put back for a day: its audit row keeps what it was.
UNDO_WINDOW = dt.timedelta(days=1)
RESTORABLE = (
    "hubspot_field",
    "other_field",
    "hubspot_type",
    "other_type",
    "direction",
    "transform",
    "only_if_target_empty",
    "system_of_record",
    "conflict_review",
    "enabled",
    "accept_unmatched",
    "is_default",
    "order",
)


@transaction.atomic
def delete_field_mapping(mapping: FieldMapping, actor) -> AuditLog:
    """Remove a field mapping; the audit row it writes is what restore_field_mapping undoes."""
    integration = mapping.object_mapping.integration
    kept = {name: getattr(mapping, name) for name in RESTORABLE}
    # The value map as pairs: the audit log scrubs dict keys that look like secrets ("turnkey").
    kept["value_map"] = [[str(k), str(v)] for k, v in (mapping.value_map or {}).items()]
    if mapping.value_map_to_hubspot is not None:
        kept["value_map_to_hubspot"] = [[str(k), str(v)] for k, v in mapping.value_map_to_hubspot.items()]
    entry = audit(
        integration.tenant,
        actor,
        "field_mapping.deleted",
        mapping,
        summary=f"{mapping.object_mapping}: {mapping} removed",
        object_mapping=mapping.object_mapping_id,
        restorable=kept,
    )
    mapping.delete()
    return entry


def undoable_removals(tenant, object_mapping: ObjectMapping | None = None) -> list[AuditLog]:
    """Field mapping removals of the last day not undone yet, newest first."""
    since = timezone.now() - UNDO_WINDOW
    entries = AuditLog.objects.filter(tenant=tenant, action="field_mapping.deleted", created_at__gte=since)
    if object_mapping is not None:
        entries = entries.filter(changes__object_mapping=object_mapping.pk)
    undone = set(
        AuditLog.objects.filter(tenant=tenant, action="field_mapping.restored", created_at__gte=since).values_list(
            "changes__undoes", flat=True
        )
    )
    return [e for e in entries if e.pk not in undone and isinstance(e.changes.get("restorable"), dict)]


def undo_until(entry: AuditLog) -> dt.datetime:
    return entry.created_at + UNDO_WINDOW


@transaction.atomic
def restore_field_mapping(entry: AuditLog, actor) -> FieldMapping:
    """Undo a removal of the last day: the mapping comes back as it was, checked by the same
    validation as a new one (a mapping that took its field meanwhile is named)."""
    if entry.pk not in {e.pk for e in undoable_removals(entry.tenant)}:
        raise ValidationError(
            "This removal can no longer be undone: it was undone already or is more than a day old. "
            "Add the mapping again instead."
        )
    object_mapping = (
        ObjectMapping.objects.filter(pk=entry.changes.get("object_mapping"), integration__tenant=entry.tenant)
        .select_related("integration__hubspot_connection", "integration__other_connection")
        .first()
    )
    if object_mapping is None:
        raise ValidationError("Its object mapping was removed too, so this field mapping cannot come back.")
    kept = entry.changes["restorable"]
    mapping = FieldMapping(
        object_mapping=object_mapping,
        value_map={str(k): str(v) for k, v in kept.get("value_map") or []},
        value_map_to_hubspot=(
            {str(k): str(v) for k, v in kept["value_map_to_hubspot"]} if kept.get("value_map_to_hubspot") is not None else None
        ),
        **{name: kept[name] for name in RESTORABLE if name in kept},
    )
    save_field_mapping(mapping, actor)
    audit(
        entry.tenant,
        actor,
        "field_mapping.restored",
        mapping,
        summary=f"{object_mapping}: {mapping} restored (removal undone)",
        undoes=entry.pk,
    )
    return mapping


@transaction.atomic
def save_object_mapping(mapping: ObjectMapping, actor) -> ObjectMapping:
    """Validate (filters are well-formed data on fields the source has) and save an object mapping."""
    mapping.full_clean()
    problems = validation.filter_problems(mapping) | validation.write_back_field_problems(mapping)
    for key, messages in validation.list_problems(mapping).items():
        problems.setdefault(key, []).extend(messages)
    if problems:
        raise validation.unfit(problems)
    created = mapping.pk is None
    mapping.save()
    audit(
        mapping.integration.tenant,
        actor,
        "object_mapping.created" if created else "object_mapping.changed",
        mapping,
        summary=f"{mapping}: {mapping.get_direction_display()}",
        direction=mapping.direction,
        enabled=mapping.enabled,
        system_of_record=mapping.system_of_record,
        filter_to_other=mapping.filter_to_other,
        filter_to_hubspot=mapping.filter_to_hubspot,
        write_back_field_hubspot=mapping.write_back_field_hubspot,
        write_back_field_other=mapping.write_back_field_other,
    )
    return mapping


@transaction.atomic
def delete_object_mapping(mapping: ObjectMapping, actor) -> None:
    audit(mapping.integration.tenant, actor, "object_mapping.deleted", mapping, summary=f"{mapping} removed")
    mapping.delete()


@transaction.atomic
def unlink_records(link: RecordLink, actor) -> None:
    """Forget that two records are the same one. Neither record is deleted; the next change to
    either is matched again by its match field (or creates a record when nothing matches)."""
    integration = link.integration
    audit(
        integration.tenant,
        actor,
        "record.unlinked",
        integration,
        summary=f"{link.object_mapping}: HubSpot {link.hubspot_id} and {integration.other_system_label} {link.other_id} unlinked",
        hubspot_id=link.hubspot_id,
        other_id=link.other_id,
    )
    link.delete()


@transaction.atomic
def forget_sync_state(link: RecordLink, actor) -> RecordLink:
    """Re-sync: forget what was last synced for this pair, so the next run compares every mapped
    field again instead of skipping the record as unchanged."""
    RecordLink.objects.filter(pk=link.pk).update(hubspot_hash="", other_hash="", hubspot_values={}, other_values={})
    audit(
        link.integration.tenant,
        actor,
        "record.resync_requested",
        link.integration,
        summary=f"{link.object_mapping}: every field of HubSpot {link.hubspot_id} re-synced",
        hubspot_id=link.hubspot_id,
    )
    link.refresh_from_db()
    return link
