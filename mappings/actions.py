"""Named, atomic state changes of integrations and their mappings; each writes an audit row.

The UI and the REST API call these and nothing else to change an integration: they keep the
django-q2 schedule in step with the integration and queue runs only after the transaction
commits (a worker must never pick up a run row that does not exist yet).
"""

from __future__ import annotations

from typing import Any, Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from mappings.compat import default_transform
from mappings.models import FieldMapping, Integration, ObjectMapping, Side
from tenants.actions import audit

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


def _after_commit_schedule(integration: Integration) -> None:
    from syncsmart import tasks

    transaction.on_commit(lambda: tasks.sync_schedule(integration.pk))


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
    _after_commit_schedule(integration)
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
    _after_commit_schedule(integration)
    return integration


@transaction.atomic
def delete_integration(integration: Integration, actor) -> None:
    """Delete an integration with its mappings, links and history; its schedule goes too."""
    audit(integration.tenant, actor, "integration.deleted", integration, summary=f"Integration {integration} deleted")
    integration.delete()


@transaction.atomic
def set_main_switch(integration: Integration, actor, on: bool) -> Integration:
    """Turn the whole integration on or off. Off stops schedules, webhooks and queued runs."""
    from syncsmart.models import SyncRun

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
        SyncRun.objects.filter(integration=integration, status=SyncRun.Status.QUEUED).update(
            status=SyncRun.Status.CANCELLED, finished_at=timezone.now(), error="The integration was switched off."
        )
    _after_commit_schedule(integration)
    if on:
        transaction.on_commit(lambda: request_run(integration, actor, trigger="schedule"))
    return integration


@transaction.atomic
def install_defaults(integration: Integration, actor, *, reset: bool = False) -> list[ObjectMapping]:
    """Install (or re-install) the default mapping set of the integration's system pair.

    Re-installing adds what is missing and leaves customer changes alone; `reset=True`
    also puts default mappings back to their defaults (custom mappings are kept)."""
    from mappings.defaults import install_default_set

    mappings, added = install_default_set(integration, reset=reset)
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


@transaction.atomic
def save_field_mapping(mapping: FieldMapping, actor) -> FieldMapping:
    """Validate (type compatibility with a customer-readable message) and save a field mapping.
    Raises django ValidationError with the reason when the fields cannot be mapped."""
    fill_field_types(mapping)
    if mapping.transform == FieldMapping.Transform.NONE and not mapping.pk:
        mapping.transform = default_transform(mapping.hubspot_type, mapping.other_type)
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
    )
    return mapping


@transaction.atomic
def delete_field_mapping(mapping: FieldMapping, actor) -> None:
    integration = mapping.object_mapping.integration
    audit(integration.tenant, actor, "field_mapping.deleted", mapping, summary=f"{mapping.object_mapping}: {mapping} removed")
    mapping.delete()


@transaction.atomic
def save_object_mapping(mapping: ObjectMapping, actor) -> ObjectMapping:
    """Validate (filters are well-formed data) and save an object mapping."""
    mapping.full_clean()
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
    )
    return mapping


@transaction.atomic
def delete_object_mapping(mapping: ObjectMapping, actor) -> None:
    audit(mapping.integration.tenant, actor, "object_mapping.deleted", mapping, summary=f"{mapping} removed")
    mapping.delete()


def _enqueue_after_commit(run) -> None:
    from syncsmart import tasks

    transaction.on_commit(lambda: tasks.enqueue_run(run.pk))


@transaction.atomic
def request_run(
    integration: Integration,
    actor=None,
    *,
    trigger: str = "manual",
    object_mapping: ObjectMapping | None = None,
    records: Iterable[dict[str, Any]] | None = None,
):
    """Queue a run. An identical run already waiting is reused instead of piling up another.

    `records` limits the run to given records: [{"mapping": id, "side": "hubspot", "id": "123"}]."""
    from syncsmart.models import SyncRun

    if not integration.enabled and trigger not in ("manual", "retry", "historical"):
        raise ValidationError("The integration is switched off.")
    state: dict[str, Any] = {"records": list(records)} if records else {}
    waiting = SyncRun.objects.filter(
        integration=integration, status=SyncRun.Status.QUEUED, trigger=trigger, object_mapping=object_mapping
    ).order_by("queued_at")
    if not state and trigger in ("schedule", "manual") and (existing := waiting.first()) is not None:
        return existing
    if trigger == "webhook":
        # Any run about to start drains the whole inbox first; one waiting is enough.
        soon = SyncRun.objects.filter(integration=integration, status=SyncRun.Status.QUEUED, queued_at__lte=timezone.now())
        if (existing := soon.order_by("queued_at").first()) is not None:
            return existing
    run = SyncRun.objects.create(
        integration=integration,
        trigger=trigger,
        object_mapping=object_mapping,
        state=state,
        requested_by=actor if getattr(actor, "pk", None) else None,
    )
    if trigger in ("manual", "retry") and actor is not None:
        audit(
            integration.tenant,
            actor,
            f"run.{trigger}_requested",
            integration,
            summary=f"{run.get_trigger_display()} run requested for {integration}",
            run=str(run.pk),
        )
    _enqueue_after_commit(run)
    return run


@transaction.atomic
def retry_record(item, actor):
    """Retry one record (a failed / deferred RecordEvent, or a DeferredRecord) now."""
    from syncsmart.models import DeferredRecord, RecordEvent

    if isinstance(item, DeferredRecord):
        mapping_id, side, record_id, integration = item.object_mapping_id, item.source_side, item.record_id, item.integration
        DeferredRecord.objects.filter(pk=item.pk).update(next_attempt_at=timezone.now(), attempts=0)
    elif isinstance(item, RecordEvent):
        if not item.object_mapping_id or not item.source_id:
            raise ValidationError("This event is not about one record, so there is nothing to retry.")
        mapping_id, side, record_id, integration = item.object_mapping_id, item.source_side, item.source_id, item.integration
    else:
        raise TypeError("retry_record takes a RecordEvent or a DeferredRecord")
    run = request_run(integration, actor, trigger="retry", records=[{"mapping": mapping_id, "side": side, "id": record_id}])
    return run


@transaction.atomic
def start_historical_sync(integration: Integration, actor, object_mapping: ObjectMapping | None = None):
    """Re-read everything (all records, not just changes) and sync it, with progress."""
    from syncsmart.models import SyncCursor, SyncRun

    active = SyncRun.objects.filter(integration=integration, trigger=SyncRun.Trigger.HISTORICAL, status__in=SyncRun.ACTIVE)
    if object_mapping is not None:
        active = active.filter(object_mapping=object_mapping)
    if (existing := active.first()) is not None:
        return existing
    cursors = SyncCursor.objects.filter(integration=integration, kind=SyncCursor.Kind.HISTORICAL)
    if object_mapping is not None:
        cursors = cursors.filter(object_mapping=object_mapping)
    cursors.delete()  # a historical sync starts from the very first record
    run = request_run(integration, actor, trigger="historical", object_mapping=object_mapping)
    audit(
        integration.tenant,
        actor,
        "run.historical_started",
        integration,
        summary=f"Historical sync started for {object_mapping or integration}",
        run=str(run.pk),
    )
    return run


@transaction.atomic
def cancel_run(run, actor):
    """Stop a queued or running run (a historical sync, typically) after its current page."""
    from syncsmart.models import SyncRun

    run = SyncRun.objects.select_for_update().get(pk=run.pk)
    if not run.is_active:
        return run
    if run.status == SyncRun.Status.QUEUED:
        run.status, run.finished_at = SyncRun.Status.CANCELLED, timezone.now()
    run.cancel_requested = True
    run.add_log("info", "Cancel requested")
    run.save(update_fields=["status", "finished_at", "cancel_requested", "log"])
    audit(
        run.integration.tenant,
        actor,
        "run.cancelled",
        run.integration,
        summary=f"{run.get_trigger_display()} run cancelled",
        run=str(run.pk),
    )
    return run


cancel_historical_sync = cancel_run

__all__ = [
    "create_integration",
    "update_integration",
    "delete_integration",
    "set_main_switch",
    "install_defaults",
    "save_field_mapping",
    "delete_field_mapping",
    "save_object_mapping",
    "delete_object_mapping",
    "request_run",
    "retry_record",
    "start_historical_sync",
    "cancel_run",
    "cancel_historical_sync",
    "fill_field_types",
    "Side",
]
