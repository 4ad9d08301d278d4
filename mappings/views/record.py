"""One record's page: both sides' current values and ids, links to open it in each system (the
vendors' URL patterns, or the Demo sandbox for an emulator), its history with what each event
changed (old → new), its parents; retry, re-sync all fields, unlink.

The current values are read live from both systems (one call per side), so the page shows what
the systems hold now, not what SyncSmart last wrote."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from connectors.base import ConnectorError
from connectors.record_urls import record_url
from mappings.models import ObjectMapping
from mappings.services import record_actions
from mappings.services.schema import field_index
from mappings.views.common import integration_or_404
from mappings.views.record_log import _label
from syncsmart.core.choices import Side
from syncsmart.models import RecordEvent, RecordLink
from tenants.access import tenant_required, writes_need_role

HISTORY_SHOWN = 100
SIDES = (Side.HUBSPOT, Side.OTHER)


def _mapping_or_404(integration, mapping_pk: int, side: str) -> ObjectMapping:
    mapping = integration.object_mappings.filter(pk=mapping_pk).first()
    if mapping is None or side not in SIDES:
        raise Http404("Not found.")
    return mapping


def _link(mapping: ObjectMapping, side: str, record_id: str) -> RecordLink | None:
    return RecordLink.objects.filter(object_mapping=mapping, **{RecordLink.id_column(side): record_id}).first()


def _ids(link: RecordLink | None, side: str, record_id: str) -> dict[str, str]:
    if link is not None:
        return {Side.HUBSPOT: link.hubspot_id, Side.OTHER: link.other_id}
    return {side: record_id, (Side.OTHER if side == Side.HUBSPOT else Side.HUBSPOT): ""}


def _read_now(integration, mapping: ObjectMapping, ids: dict[str, str]) -> tuple[dict[str, dict], list[str]]:
    """Each side's record as its system holds it now (a ConnectorError is shown, not raised)."""
    values: dict[str, dict] = {side: {} for side in SIDES}
    problems: list[str] = []
    for side in SIDES:
        if not ids[side]:
            continue
        connection = integration.connection_on(side)
        try:
            connector = connection.connector()
            try:
                found = connector.read_by_ids(mapping.object_for(side), [ids[side]])
            finally:
                connector.close()
        except ConnectorError as exc:
            problems.append(f"Could not read it from {connection.get_system_display()} just now: {exc.message}")
            continue
        if found:
            values[side] = dict(found[0].properties)
        else:
            problems.append(f"{connection.get_system_display()} has no such record any more (deleted or merged).")
    return values, problems


def _side_info(request, integration, mapping, ids: dict[str, str]) -> list[dict[str, Any]]:
    info = []
    for side in SIDES:
        connection = integration.connection_on(side)
        object_type = mapping.object_for(side)
        sandbox = (
            reverse("sandbox_record", args=[connection.pk, object_type, ids[side]])
            if ids[side] and (connection.config or {}).get("emulator")
            else ""
        )
        info.append(
            {
                "side": side,
                "system": connection.get_system_display(),
                "object": object_type,
                "id": ids[side],
                "url": record_url(connection.system, connection.config, object_type, ids[side]),
                "sandbox_url": sandbox,
            }
        )
    return info


def _value_rows(integration, mapping, values: dict[str, dict]) -> list[dict[str, Any]]:
    hub_index = field_index(integration.hubspot_connection, mapping.hubspot_object)
    other_index = field_index(integration.other_connection, mapping.other_object)
    rows = []
    for fm in mapping.field_mappings.filter(enabled=True):
        hub_value, other_value = values[Side.HUBSPOT].get(fm.hubspot_field), values[Side.OTHER].get(fm.other_field)
        hub, other = hub_index.get(fm.hubspot_field), other_index.get(fm.other_field)
        rows.append(
            {
                "hub_label": hub.label if hub else fm.hubspot_field,
                "other_label": other.label if other else fm.other_field,
                "hub_value": _shown(hub, hub_value),
                "other_value": _shown(other, other_value),
                "direction": fm.direction,
                "differs": bool(values[Side.HUBSPOT] and values[Side.OTHER])
                and _plain(hub, hub_value) != _plain(other, other_value),
            }
        )
    return rows


def _shown(field, value: Any) -> Any:
    """A dropdown's option label rather than its stored value."""
    if field is not None and field.options and value not in (None, ""):
        return dict(field.options).get(str(value), value)
    return value


def _plain(field, value: Any) -> str:
    return str(_shown(field, value) if value is not None else "").strip().lower()


def _history(integration, mapping, ids: dict[str, str]) -> list[dict[str, Any]]:
    labels = {
        Side.HUBSPOT: {f.name: f.label for f in field_index(integration.hubspot_connection, mapping.hubspot_object).values()},
        Side.OTHER: {f.name: f.label for f in field_index(integration.other_connection, mapping.other_object).values()},
    }
    mine = Q(pk__in=[])
    for side in SIDES:
        if ids[side]:
            mine |= Q(source_side=side, source_id=ids[side])
    events = RecordEvent.objects.filter(integration=integration, object_mapping=mapping).filter(mine)[:HISTORY_SHOWN]
    history = []
    for event in events:
        target = Side.OTHER if event.source_side == Side.HUBSPOT else Side.HUBSPOT
        changes = (event.details or {}).get("changes") if isinstance(event.details, dict) else None
        rows = [
            {"label": labels[target].get(name, name), "old": pair[0], "new": pair[1]}
            for name, pair in (changes or {}).items()
            if isinstance(pair, list) and len(pair) == 2
        ]
        history.append({"event": event, "changes": rows})
    return history


def _parents(request, integration, mapping, values: dict[str, dict]) -> list[dict[str, Any]]:
    """The records this one belongs to, through its reference fields (HubSpot side)."""
    index = field_index(integration.hubspot_connection, mapping.hubspot_object)
    parents = []
    for name, field in index.items():
        if not field.reference_to or not values[Side.HUBSPOT].get(name):
            continue
        parent_id = str(values[Side.HUBSPOT][name])
        link = RecordLink.objects.filter(integration=integration, hubspot_object=field.reference_to, hubspot_id=parent_id).first()
        parents.append(
            {
                "label": field.label,
                "id": parent_id,
                "name": _label(link.hubspot_values or {}) if link else "",
                "url": reverse("record_page", args=[integration.pk, link.object_mapping_id, Side.HUBSPOT, parent_id])
                if link
                else "",
            }
        )
    return parents


@tenant_required
def record_page(request: HttpRequest, pk: int, mapping_pk: int, side: str, record_id: str) -> HttpResponse:
    integration = integration_or_404(request, pk)
    mapping = _mapping_or_404(integration, mapping_pk, side)
    link = _link(mapping, side, record_id)
    ids = _ids(link, side, record_id)
    values, problems = _read_now(integration, mapping, ids)
    title = _label(values[Side.HUBSPOT]) or _label(values[Side.OTHER])
    if not title and link is not None:
        title = _label(link.hubspot_values or {}) or _label(link.other_values or {})
    context = {
        "integration": integration,
        "mapping": mapping,
        "side": side,
        "record_id": record_id,
        "link": link,
        "title": title or f"{mapping} record",
        "sides": _side_info(request, integration, mapping, ids),
        "rows": _value_rows(integration, mapping, values),
        "history": _history(integration, mapping, ids),
        "parents": _parents(request, integration, mapping, values),
        "problems": problems,
        "tab": "records",
    }
    return render(request, "mappings/record.html", context)


def _after(request, pk, mapping_pk, side, record_id) -> HttpResponse:
    return redirect("record_page", pk=pk, mapping_pk=mapping_pk, side=side, record_id=record_id)


@require_POST
@tenant_required
@writes_need_role
def record_retry(request: HttpRequest, pk: int, mapping_pk: int, side: str, record_id: str) -> HttpResponse:
    integration = integration_or_404(request, pk)
    mapping = _mapping_or_404(integration, mapping_pk, side)
    record_actions.retry_record(integration, mapping, side, record_id, request.user)
    messages.success(request, "Queued: this record syncs in a moment. Its history below shows the result.")
    return _after(request, pk, mapping_pk, side, record_id)


@require_POST
@tenant_required
@writes_need_role
def record_resync(request: HttpRequest, pk: int, mapping_pk: int, side: str, record_id: str) -> HttpResponse:
    integration = integration_or_404(request, pk)
    mapping = _mapping_or_404(integration, mapping_pk, side)
    try:
        record_actions.resync_record(integration, mapping, side, record_id, request.user)
    except record_actions.NotLinked as exc:
        raise Http404("Not linked.") from exc
    messages.success(request, "Queued: every mapped field of this record is sent again in a moment.")
    return _after(request, pk, mapping_pk, side, record_id)


@require_POST
@tenant_required
@writes_need_role
def record_unlink(request: HttpRequest, pk: int, mapping_pk: int, side: str, record_id: str) -> HttpResponse:
    integration = integration_or_404(request, pk)
    mapping = _mapping_or_404(integration, mapping_pk, side)
    try:
        record_actions.unlink_record(mapping, side, record_id, request.user)
    except record_actions.NotLinked as exc:
        raise Http404("Not linked.") from exc
    messages.success(request, "Unlinked. Neither record was deleted; they are matched again at their next change.")
    return _after(request, pk, mapping_pk, side, record_id)
