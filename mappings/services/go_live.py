"""Sandbox -> production: one guided, resumable, reversible switch per integration.

The steps run in this order, each in its own transaction together with its audit row and its
entry in GoLiveSwitch.steps_done, so a crash or a closed browser between two steps leaves a switch
that knows exactly what is done:

1. switch_off       turn the integration off (no scheduled, webhook or manual run starts)
2. pause_webhooks   stop taking webhook events for it
3. clear_test_state delete the sandbox run's links, cursors, deferred queue and pending inbox
4. point_to_production  use the production connection (entered and tested in the same flow)
5. discover_schemas discover both production schemas and check the mappings against them (the
                    switch refuses to go on while one is missing: nothing would sync right)
6. mappings         re-install the default mappings, or keep the current ones
7. link_only        objects that hold records on both sides: the first run links, creates nothing
8. switch_on        turn the integration on again, webhooks resume

A finished switch can be undone on the day it finished (`roll_back`).

`resume` runs the remaining steps; `roll_back` undoes the done ones in reverse order from the
snapshot taken before each step.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.core import serializers
from django.db import transaction
from django.utils import timezone

from connectors.models import Connection, Environment
from mappings import first_day
from mappings.models import FieldMapping, Integration, ObjectMapping
from mappings.services import actions as mapping_actions
from mappings.services import previewed
from syncsmart.models import DeferredRecord, InboxItem, RecordLink, SyncCursor
from tenants.actions import audit
from tenants.models import GoLiveSwitch

STEPS: list[tuple[str, str]] = [
    ("switch_off", "Turn the integration off"),
    ("pause_webhooks", "Pause webhook intake"),
    ("clear_test_state", "Clear the sandbox run's links, cursors and deferred queue"),
    ("point_to_production", "Use the production connection"),
    ("discover_schemas", "Discover both production schemas and check the mappings"),
    ("mappings", "Re-install or keep the mappings"),
    ("link_only", "First run links only where both sides hold records"),
    ("switch_on", "Turn the integration on"),
]
STEP_NAMES = [name for name, _ in STEPS]
STEP_LABELS = dict(STEPS)


class GoLiveError(Exception):
    """A switch cannot start or continue; the message says what to do."""


def webhook_intake_paused(integration: Integration | int) -> bool:
    """True while a switch has paused this integration's webhook intake: webhook views answer
    without storing anything (the sandbox's events must not land in production's inbox)."""
    integration_id = integration if isinstance(integration, int) else integration.pk
    return GoLiveSwitch.objects.filter(integration_id=integration_id, webhooks_paused=True).exists()


def open_switch(integration: Integration) -> GoLiveSwitch | None:
    return GoLiveSwitch.objects.filter(
        integration=integration, status__in=[GoLiveSwitch.Status.PREPARING, GoLiveSwitch.Status.IN_PROGRESS]
    ).first()


# --- preparing ---------------------------------------------------------------------------------


@transaction.atomic
def prepare(integration: Integration, actor) -> GoLiveSwitch:
    """Start (or return the open) switch of an integration; nothing changes until `start`."""
    existing = open_switch(integration)
    if existing is not None:
        return existing
    if integration.environment == Environment.PRODUCTION and integration.other_connection.environment == Environment.PRODUCTION:
        raise GoLiveError("This integration already uses production.")
    switch = GoLiveSwitch.objects.create(
        tenant=integration.tenant,
        integration=integration,
        started_by=actor if getattr(actor, "pk", None) else None,  # an API token is named in the audit row instead
        sandbox_connection=integration.other_connection,
    )
    audit(
        integration.tenant,
        actor,
        "go_live.prepared",
        integration,
        summary=f"Sandbox → production switch of {integration} prepared",
    )
    return switch


@transaction.atomic
def save_production_connection(switch: GoLiveSwitch, actor, config: dict[str, Any], credentials: dict[str, Any]) -> Connection:
    """Create or update the production connection the switch will point to; blank secrets keep the saved ones."""
    if switch.status != GoLiveSwitch.Status.PREPARING:
        raise GoLiveError("The switch has started; its production connection can no longer change.")
    system_key = switch.integration.other_system
    connection = switch.production_connection or Connection(
        tenant=switch.tenant, system=system_key, environment=Environment.PRODUCTION
    )
    stored = dict(connection.credentials or {}) if connection.pk else {}
    connection.config = config
    connection.credentials = {**stored, **{k: v for k, v in credentials.items() if v not in (None, "")}}
    connection.status = Connection.Status.UNTESTED
    connection.name = connection.name or f"{connection.get_system_display()} (Production)"
    connection.save()
    switch.production_connection = connection
    switch.save(update_fields=["production_connection", "updated_at"])
    audit(
        switch.tenant,
        actor,
        "go_live.production_connection_saved",
        connection,
        summary=f"Production {connection.get_system_display()} connection saved",
        config=config,
    )
    return connection


@transaction.atomic
def use_production_connection(switch: GoLiveSwitch, actor, connection: Connection) -> GoLiveSwitch:
    """Point a prepared switch at an existing production connection of the tenant (the REST API's way;
    the page enters one with `save_production_connection`)."""
    if switch.status != GoLiveSwitch.Status.PREPARING:
        raise GoLiveError("The switch has started; its production connection can no longer change.")
    if connection.tenant_id != switch.tenant_id or connection.system != switch.integration.other_system:
        raise GoLiveError(f"Choose a {switch.integration.other_system_label} connection of this workspace.")
    if connection.environment != Environment.PRODUCTION:
        raise GoLiveError("Choose a production connection: this one is a sandbox.")
    if switch.production_connection_id != connection.pk:
        switch.production_connection = connection
        switch.save(update_fields=["production_connection", "updated_at"])
        audit(
            switch.tenant,
            actor,
            "go_live.production_connection_chosen",
            connection,
            summary=f"Production {connection.get_system_display()} connection chosen for the switch",
        )
    return switch


def start_after_preview(switch: GoLiveSwitch, actor, preview_id, *, mappings: str, keep_test_mode: bool) -> GoLiveSwitch:
    """The customer saw the preview against production and confirmed: switch, every step.
    Raises ValidationError (in words) unless `preview_id` is that finished preview."""
    question = previewed.go_live(switch.production_connection)
    previewed.confirmed_preview(switch.integration, question, preview_id)
    return resume(start(switch, actor, mappings=mappings, keep_test_mode=keep_test_mode), actor)


@transaction.atomic
def start(switch: GoLiveSwitch, actor, *, mappings: str, keep_test_mode: bool) -> GoLiveSwitch:
    """The customer confirmed: fix the choices and begin. Refuses an untested production connection."""
    switch = GoLiveSwitch.objects.select_for_update().get(pk=switch.pk)
    if switch.status != GoLiveSwitch.Status.PREPARING:
        return switch
    production = switch.production_connection
    if production is None or production.status != Connection.Status.OK:
        raise GoLiveError("Test the production connection first: it must pass “Test connection” before the switch.")
    switch.mappings, switch.keep_test_mode, switch.status = mappings, keep_test_mode, GoLiveSwitch.Status.IN_PROGRESS
    switch.save(update_fields=["mappings", "keep_test_mode", "status", "updated_at"])
    audit(
        switch.tenant,
        actor,
        "go_live.started",
        switch.integration,
        summary=f"Sandbox → production switch of {switch.integration} started",
        mappings=mappings,
        keep_test_mode=keep_test_mode,
    )
    return switch


# --- running -----------------------------------------------------------------------------------


def resume(switch: GoLiveSwitch, actor) -> GoLiveSwitch:
    """Run every step not done yet, in order. Each step commits on its own."""
    for name in STEP_NAMES:
        switch = GoLiveSwitch.objects.get(pk=switch.pk)
        if switch.status != GoLiveSwitch.Status.IN_PROGRESS:
            break
        if name not in switch.steps_done:
            run_step(switch, actor, name)
    return GoLiveSwitch.objects.get(pk=switch.pk)


@transaction.atomic
def run_step(switch: GoLiveSwitch, actor, name: str) -> GoLiveSwitch:
    switch = GoLiveSwitch.objects.select_for_update().select_related("integration__tenant").get(pk=switch.pk)
    if switch.status != GoLiveSwitch.Status.IN_PROGRESS:
        raise GoLiveError("This switch is not in progress.")
    if name in switch.steps_done:
        return switch
    expected = STEP_NAMES[len(switch.steps_done)]
    if name != expected:
        raise GoLiveError(f"Steps run in order: next is “{STEP_LABELS[expected]}”.")
    integration = Integration.objects.select_for_update().get(pk=switch.integration_id)
    snapshot_part = STEP_FUNCTIONS[name](switch, integration, actor)
    if snapshot_part:
        switch.snapshot = {**switch.snapshot, **snapshot_part}
    switch.steps_done = [*switch.steps_done, name]
    if name == STEP_NAMES[-1]:
        switch.status, switch.finished_at = GoLiveSwitch.Status.DONE, timezone.now()
    switch.save()
    audit(
        switch.tenant,
        actor,
        f"go_live.step.{name}",
        integration,
        summary=f"Go-live step {len(switch.steps_done)}/{len(STEPS)}: {STEP_LABELS[name]}",
    )
    if switch.status == GoLiveSwitch.Status.DONE:
        audit(switch.tenant, actor, "go_live.finished", integration, summary=f"{integration} now syncs with production")
    return switch


def _switch_off(switch: GoLiveSwitch, integration: Integration, actor) -> dict[str, Any]:
    was_on = integration.enabled
    mapping_actions.set_main_switch(integration, actor, on=False)
    return {"enabled": was_on}


def _pause_webhooks(switch: GoLiveSwitch, integration: Integration, actor) -> dict[str, Any]:
    switch.webhooks_paused = True
    return {}


def _clear_test_state(switch: GoLiveSwitch, integration: Integration, actor) -> dict[str, Any]:
    sets = {
        "links": RecordLink.objects.filter(integration=integration),
        "cursors": SyncCursor.objects.filter(integration=integration),
        "deferred": DeferredRecord.objects.filter(integration=integration),
        "inbox": InboxItem.objects.filter(integration=integration, status=InboxItem.Status.PENDING),
    }
    saved = {f"cleared_{name}": _dump(qs) for name, qs in sets.items()}
    for qs in sets.values():
        qs.delete()
    return saved


def _point_to_production(switch: GoLiveSwitch, integration: Integration, actor) -> dict[str, Any]:
    before = {
        "other_connection": str(integration.other_connection_id),
        "environment": integration.environment,
        "test_mode": integration.test_mode,
    }
    # Sandbox notifications that slipped in since the inbox was cleared name sandbox record ids:
    # they must not be replayed against production. HubSpot's (same portal either way) stay.
    late = InboxItem.objects.filter(integration=integration, side="other", status=InboxItem.Status.PENDING)
    late_rows = _dump(late)
    late.delete()
    integration.other_connection = switch.production_connection
    integration.environment = Environment.PRODUCTION
    integration.test_mode = switch.keep_test_mode
    integration.full_clean()
    integration.save(update_fields=["other_connection", "environment", "test_mode", "updated_at"])
    return {"pointed_from": before, "late_sandbox_inbox": late_rows}


def _discover_schemas(switch: GoLiveSwitch, integration: Integration, actor) -> dict[str, Any]:
    try:
        return {"schemas": first_day.discover_schemas(integration, actor)}
    except first_day.SchemasMissing as exc:
        raise GoLiveError(str(exc)) from exc


def _link_only(switch: GoLiveSwitch, integration: Integration, actor) -> dict[str, Any]:
    return {"create_policies": first_day.link_only_where_both_hold_records(integration)}


def _mappings(switch: GoLiveSwitch, integration: Integration, actor) -> dict[str, Any]:
    if switch.mappings != GoLiveSwitch.Mappings.REINSTALL:
        return {}
    saved = {
        "mappings_before": {
            "objects": _dump(ObjectMapping.objects.filter(integration=integration)),
            "fields": _dump(FieldMapping.objects.filter(object_mapping__integration=integration)),
        }
    }
    mapping_actions.install_defaults(integration, actor, reset=True)
    return saved


def _switch_on(switch: GoLiveSwitch, integration: Integration, actor) -> dict[str, Any]:
    switch.webhooks_paused = False
    mapping_actions.set_main_switch(integration, actor, on=True)
    return {}


STEP_FUNCTIONS: dict[str, Callable[[GoLiveSwitch, Integration, Any], dict[str, Any]]] = {
    "switch_off": _switch_off,
    "pause_webhooks": _pause_webhooks,
    "clear_test_state": _clear_test_state,
    "point_to_production": _point_to_production,
    "discover_schemas": _discover_schemas,
    "mappings": _mappings,
    "link_only": _link_only,
    "switch_on": _switch_on,
}


# --- rolling back ------------------------------------------------------------------------------


def roll_back(switch: GoLiveSwitch, actor) -> GoLiveSwitch:
    """Undo the done steps, newest first, each in its own transaction; then mark the switch rolled back."""
    switch = GoLiveSwitch.objects.get(pk=switch.pk)
    if switch.status == GoLiveSwitch.Status.ROLLED_BACK:
        return switch
    finished = switch.finished_at if switch.status == GoLiveSwitch.Status.DONE else None
    if finished is not None and timezone.localdate(finished) != timezone.localdate():
        raise GoLiveError("A switch can be undone on the day it finished; this one finished earlier.")
    if switch.status == GoLiveSwitch.Status.PREPARING:
        return _close_rolled_back(switch, actor)
    while switch.steps_done:
        switch = undo_step(switch, actor, switch.steps_done[-1])
    return _close_rolled_back(switch, actor)


@transaction.atomic
def undo_step(switch: GoLiveSwitch, actor, name: str) -> GoLiveSwitch:
    switch = GoLiveSwitch.objects.select_for_update().get(pk=switch.pk)
    if not switch.steps_done or switch.steps_done[-1] != name:
        raise GoLiveError("Steps are undone newest first.")
    integration = Integration.objects.select_for_update().get(pk=switch.integration_id)
    UNDO_FUNCTIONS[name](switch, integration, actor)
    switch.steps_done = switch.steps_done[:-1]
    if switch.status == GoLiveSwitch.Status.DONE:
        switch.status, switch.finished_at = GoLiveSwitch.Status.IN_PROGRESS, None
    switch.save()
    audit(switch.tenant, actor, f"go_live.undo.{name}", integration, summary=f"Go-live rollback: undid “{STEP_LABELS[name]}”")
    return switch


@transaction.atomic
def _close_rolled_back(switch: GoLiveSwitch, actor) -> GoLiveSwitch:
    switch.status, switch.finished_at, switch.webhooks_paused = GoLiveSwitch.Status.ROLLED_BACK, timezone.now(), False
    switch.save(update_fields=["status", "finished_at", "webhooks_paused", "updated_at"])
    audit(
        switch.tenant,
        actor,
        "go_live.rolled_back",
        switch.integration,
        summary=f"Sandbox → production switch of {switch.integration} rolled back",
    )
    return switch


def _undo_switch_off(switch, integration, actor) -> None:
    if switch.snapshot.get("enabled"):
        mapping_actions.set_main_switch(integration, actor, on=True)


def _undo_pause_webhooks(switch, integration, actor) -> None:
    switch.webhooks_paused = False


def _undo_clear_test_state(switch, integration, actor) -> None:
    for name in ("links", "cursors", "deferred", "inbox"):
        _load(switch.snapshot.get(f"cleared_{name}", []))


def _undo_point_to_production(switch, integration, actor) -> None:
    before = switch.snapshot["pointed_from"]
    integration.other_connection_id = before["other_connection"]
    integration.environment = before["environment"]
    integration.test_mode = before["test_mode"]
    integration.save(update_fields=["other_connection", "environment", "test_mode", "updated_at"])
    _load(switch.snapshot.get("late_sandbox_inbox", []))


def _undo_mappings(switch, integration, actor) -> None:
    before = switch.snapshot.get("mappings_before")
    if not before:
        return  # mappings were kept: nothing changed
    object_pks = [row["pk"] for row in before["objects"]]
    field_pks = [row["pk"] for row in before["fields"]]
    FieldMapping.objects.filter(object_mapping__integration=integration).exclude(pk__in=field_pks).delete()
    ObjectMapping.objects.filter(integration=integration).exclude(pk__in=object_pks).delete()
    _load(before["objects"])
    _load(before["fields"])
    audit(
        integration.tenant, actor, "mappings.restored", integration, summary="Mappings restored to their state before the switch"
    )


def _undo_switch_on(switch, integration, actor) -> None:
    switch.webhooks_paused = True
    mapping_actions.set_main_switch(integration, actor, on=False)


UNDO_FUNCTIONS: dict[str, Callable[[GoLiveSwitch, Integration, Any], None]] = {
    "switch_off": _undo_switch_off,
    "pause_webhooks": _undo_pause_webhooks,
    "clear_test_state": _undo_clear_test_state,
    "point_to_production": _undo_point_to_production,
    "discover_schemas": lambda switch, integration, actor: None,  # a schema cache is knowledge, not a change
    "mappings": _undo_mappings,
    "link_only": lambda switch, integration, actor: first_day.restore_create_policies(switch.snapshot.get("create_policies", {})),
    "switch_on": _undo_switch_on,
}


def _dump(queryset) -> list[dict[str, Any]]:
    return json.loads(serializers.serialize("json", queryset))


def _load(rows: list[dict[str, Any]]) -> None:
    if rows:
        for obj in serializers.deserialize("json", json.dumps(rows)):
            obj.save()


def describe(switch: GoLiveSwitch) -> list[dict[str, Any]]:
    """The steps with their state and, once done, their effect in words, for the switch's page."""
    return [
        {"name": name, "label": label, "done": name in switch.steps_done, "effect": effect_of(switch, name)}
        for name, label in STEPS
    ]


def effect_of(switch: GoLiveSwitch, name: str) -> str:
    """What a done step changed, from the snapshot it took (blank while not done)."""
    if name not in switch.steps_done or name not in _EFFECTS:
        return ""
    return _EFFECTS[name](switch, switch.snapshot or {})


def _switched_off(switch: GoLiveSwitch, snap: dict[str, Any]) -> str:
    return "The integration was on; it is off while the switch runs." if snap.get("enabled") else "It was already off."


def _cleared(switch: GoLiveSwitch, snap: dict[str, Any]) -> str:
    counts = {k: len(snap.get(f"cleared_{k}", [])) for k in ("links", "cursors", "deferred", "inbox")}
    return (
        f"{counts['links']} sandbox links cleared, {counts['cursors']} cursors reset (the first run reads "
        f"everything), {counts['deferred']} waiting records and {counts['inbox']} webhook events dropped."
    )


def _pointed(switch: GoLiveSwitch, snap: dict[str, Any]) -> str:
    return "The other system's connection was replaced by the production one; test mode " + (
        "kept." if switch.keep_test_mode else "off."
    )


def _discovered(switch: GoLiveSwitch, snap: dict[str, Any]) -> str:
    schemas = snap.get("schemas", {})
    fields = sum(sum((counts or {}).values()) for counts in (schemas.get("discovered") or {}).values())
    broken = schemas.get("broken") or []
    return f"{fields} fields discovered on both sides; {len(broken)} field mapping(s) broken" + (
        ": " + "; ".join(broken[:5]) if broken else "."
    )


def _mappings_effect(switch: GoLiveSwitch, snap: dict[str, Any]) -> str:
    return "Default mappings re-installed." if snap.get("mappings_before") else "Mappings kept as they were."


def _linked_only(switch: GoLiveSwitch, snap: dict[str, Any]) -> str:
    changed = snap.get("create_policies") or {}
    return (
        f"{len(changed)} object mapping(s) link only: the first run links matching records and creates nothing."
        if changed
        else "No object holds records on both sides: the first run creates what is missing."
    )


# Each step's effect in words, from the switch and the snapshot the step took.
_EFFECTS: dict[str, Callable[[GoLiveSwitch, dict[str, Any]], str]] = {
    "switch_off": _switched_off,
    "pause_webhooks": lambda switch, snap: "Webhook events are not taken until the switch ends.",
    "clear_test_state": _cleared,
    "point_to_production": _pointed,
    "discover_schemas": _discovered,
    "mappings": _mappings_effect,
    "link_only": _linked_only,
    "switch_on": lambda switch, snap: "The integration is on again; webhooks resumed.",
}


__all__ = [
    "STEPS",
    "GoLiveError",
    "webhook_intake_paused",
    "open_switch",
    "prepare",
    "save_production_connection",
    "start",
    "start_after_preview",
    "use_production_connection",
    "resume",
    "run_step",
    "roll_back",
    "undo_step",
    "describe",
]
