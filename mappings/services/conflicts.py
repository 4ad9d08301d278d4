"""Conflict review (issue 20), shared by the conflict review page and the REST API.

A field mapping with conflict review on (FieldMapping.conflict_review) does not let its system of
record win when both sides changed the field since it was last in sync: the run writes neither
value and the pair waits as a HeldConflict with both values. A person then accepts HubSpot's
value, the other system's, or types the value (written to HubSpot first); several can be accepted
at once for one side.

Accepting works through the engine, not around it: the link's baseline is set so that the
accepted side reads as "changed" and the other as "as it was when held", then a run limited to
the record carries the accepted value across like any other change. Had the losing side changed
again meanwhile, the next run holds the field again with the new values, so nobody overwrites a
value they never saw. Every decision is audited (`conflict.resolved`)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from connectors.base import ConnectorError, FieldType, WriteInput
from mappings import normalisers
from mappings.compat import _as_type
from mappings.models import FieldMapping, Integration
from mappings.services.schema import SchemaField, field_index
from syncsmart.core.choices import Side, other_side
from syncsmart.engine import run_requests
from syncsmart.engine.values import is_empty, normal
from syncsmart.models import HeldConflict, SyncRun
from tenants.actions import audit

Accepted = HeldConflict.Accepted
# The accepted side's baseline: no value a vendor holds, so the next run sees that side "changed".
CHOSEN = "(accepted in conflict review)"
MAX_TYPED = 10_000
MAX_BULK = 500


def open_conflicts(integration: Integration) -> QuerySet[HeldConflict]:
    return (
        HeldConflict.objects.filter(integration=integration, status=HeldConflict.Status.OPEN)
        .select_related("object_mapping", "field_mapping", "link")
        .order_by("-created_at", "-id")
    )


def side_label(integration: Integration, side: str) -> str:
    return "HubSpot" if side == Side.HUBSPOT else integration.other_system_label


def comparable(fm: FieldMapping, side: str, value: Any) -> Any:
    """A value as the engine's baseline holds it (syncsmart.engine.flow.plan._normal)."""
    if fm.transform == FieldMapping.Transform.DOMAIN:
        return normalisers.domain(value) if not is_empty(value) else None
    return normal(value, fm.type_on(side))


def _refuse_closed(conflict: HeldConflict) -> None:
    if conflict.status != HeldConflict.Status.OPEN:
        raise ValidationError(
            "This conflict is no longer waiting: it was resolved already, or the two sides came to agree.",
            code="conflict",
        )


def typed_value(conflict: HeldConflict, text: Any) -> Any:
    """The typed value in HubSpot's terms, checked against the HubSpot field: a dropdown takes one
    of its options (by value or label), a number a number; refused in words otherwise."""
    if not isinstance(text, str):
        raise ValidationError({"value": ["Type the value as text."]})
    text = text.replace("\x00", "").strip()
    if len(text) > MAX_TYPED:
        raise ValidationError({"value": [f"At most {MAX_TYPED:,} characters."]})
    fm = conflict.field_mapping
    field = field_index(conflict.integration.hubspot_connection, conflict.object_mapping.hubspot_object).get(fm.hubspot_field)
    return _fit(field, fm, text)


def _fit(field: SchemaField | None, fm: FieldMapping, text: str) -> Any:
    label = f"“{field.label}”" if field is not None else "the field"
    if field is not None and field.options:
        for value, option_label in field.options:
            if text in (value, option_label) or text.lower() == option_label.lower():
                return value
        choices = ", ".join(f"“{option_label}”" for _, option_label in field.options[:12])
        raise ValidationError({"value": [f"HubSpot {label} is a dropdown: type one of its options ({choices})."]})
    kind = _as_type(field.type if field is not None else fm.hubspot_type)
    if kind == FieldType.NUMBER and text:
        try:
            Decimal(text)
        except InvalidOperation:
            raise ValidationError({"value": [f"HubSpot {label} holds a number: type digits, such as 42 or 3.5."]}) from None
    return text


def _write_to_hubspot(conflict: HeldConflict, value: Any) -> None:
    """The typed value goes to HubSpot now; the run then carries it to the other system."""
    fm = conflict.field_mapping
    connector = conflict.integration.hubspot_connection.connector()
    try:
        result = connector.update(
            conflict.object_mapping.hubspot_object,
            [WriteInput({fm.hubspot_field: value}, id=conflict.hubspot_id, ref=conflict.hubspot_id)],
        )[0]
    except ConnectorError as exc:
        raise ValidationError({"value": [f"HubSpot could not be reached to write the value: {exc.message}"]}) from exc
    finally:
        connector.close()
    if not result.ok:
        message = result.error.message if result.error is not None else "no reason given"
        raise ValidationError({"value": [f"HubSpot refused the value: {message}"]})


def _prepare_baseline(conflict: HeldConflict, winner: str) -> None:
    """The accepted side reads as changed, the other as it was when held: the next run of this
    record writes the accepted value across (and holds it again if the other side moved since)."""
    link, fm = conflict.link, conflict.field_mapping
    loser = other_side(winner)
    winner_values = {**link.values_on(winner), fm.field_on(winner): CHOSEN}
    loser_values = {**link.values_on(loser), fm.field_on(loser): comparable(fm, loser, conflict.value_on(loser))}
    link.set_values_on(winner, winner_values)
    link.set_values_on(loser, loser_values)
    link.hubspot_hash = link.other_hash = ""  # neither side's next read is taken for our own write
    link.save(update_fields=["hubspot_values", "other_values", "hubspot_hash", "other_hash", "updated_at"])


def _close(conflict: HeldConflict, actor, accepted: str, typed: Any = None) -> None:
    conflict.status, conflict.accepted, conflict.typed_value = HeldConflict.Status.RESOLVED, accepted, typed
    conflict.resolved_at = timezone.now()
    conflict.resolved_by = getattr(actor, "get_username", lambda: str(actor or "system"))()
    conflict.save(update_fields=["status", "accepted", "typed_value", "resolved_at", "resolved_by", "updated_at"])
    integration = conflict.integration
    audit(
        integration.tenant,
        actor,
        "conflict.resolved",
        conflict,
        summary=f"{conflict.object_mapping}: {conflict.label or conflict.hubspot_id}, {conflict.field_mapping} — "
        f"{Accepted(accepted).label.lower()} accepted",
        field_mapping=conflict.field_mapping_id,
        hubspot_id=conflict.hubspot_id,
        other_id=conflict.other_id,
        accepted=accepted,
    )


def _run_for(integration: Integration, conflicts: list[HeldConflict], winner: str, actor) -> SyncRun:
    records = [{"mapping": c.object_mapping_id, "side": winner, "id": c.id_on(winner)} for c in conflicts]
    unique = list({(r["mapping"], r["id"]): r for r in records}.values())
    return run_requests.request_run(integration, actor, trigger="retry", records=unique)


def accepted_side(accept: Any) -> str:
    if accept not in Accepted.values:
        raise ValidationError({"accept": ["Choose “hubspot”, “other” or “value” (with the value typed)."]})
    return accept


@transaction.atomic
def resolve_conflict(conflict: HeldConflict, actor, accept: str, value: Any = None) -> SyncRun:
    """Accept one side's value (or a typed one, written to HubSpot first) for one held conflict;
    returns the run that carries it across."""
    conflict = (
        HeldConflict.objects.select_for_update().select_related("link", "field_mapping", "object_mapping").get(pk=conflict.pk)
    )
    _refuse_closed(conflict)
    accept = accepted_side(accept)
    winner = Side.OTHER if accept == Accepted.OTHER else Side.HUBSPOT
    typed = None
    if accept == Accepted.VALUE:
        typed = typed_value(conflict, value)
        _write_to_hubspot(conflict, typed)
        conflict.hubspot_value = typed  # HubSpot holds it now
    _prepare_baseline(conflict, winner)
    _close(conflict, actor, accept, typed)
    return _run_for(conflict.integration, [conflict], winner, actor)


@transaction.atomic
def resolve_conflicts(
    integration: Integration, conflicts: Iterable[HeldConflict], actor, accept: str
) -> tuple[int, SyncRun | None]:
    """Bulk accept: the same side's value for each chosen conflict still waiting; one run for all.
    A typed value is one record's decision, never a bulk one."""
    accept = accepted_side(accept)
    if accept == Accepted.VALUE:
        raise ValidationError({"accept": ["Type a value one conflict at a time; in bulk, accept “hubspot” or “other”."]})
    ids = [c.pk for c in conflicts][: MAX_BULK + 1]
    if len(ids) > MAX_BULK:
        raise ValidationError({"ids": [f"At most {MAX_BULK} conflicts at once."]})
    rows = list(
        HeldConflict.objects.select_for_update()
        .filter(integration=integration, pk__in=ids, status=HeldConflict.Status.OPEN)
        .select_related("link", "field_mapping", "object_mapping")
    )
    if not rows:
        raise ValidationError("None of the chosen conflicts is still waiting.", code="conflict")
    winner = Side.OTHER if accept == Accepted.OTHER else Side.HUBSPOT
    links: dict[int, Any] = {}
    for conflict in rows:
        conflict.link = links.setdefault(conflict.link_id, conflict.link)  # two fields of one record: one baseline
        _prepare_baseline(conflict, winner)
        _close(conflict, actor, accept)
    return len(rows), _run_for(integration, rows, winner, actor)
