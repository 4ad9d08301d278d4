"""The mapping editor of one object mapping: default and custom field mappings, direction per
object and per field, "only if target empty", system of record, the type check in plain words,
the dropdown preview, and "Restore defaults"."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from mappings import upgrades
from mappings.compat import compatibility_problems, default_transform
from mappings.forms import (
    REVERSE_MAP_PREFIX,
    VALUE_MAP_PREFIX,
    AddFieldMappingForm,
    FieldMappingRowForm,
    ObjectMappingForm,
    parse_value_map,
    reverse_map_from_table,
    value_map_from_table,
)
from mappings.models import FieldMapping, ObjectMapping
from mappings.services import actions, previewed
from mappings.services.schema import dropdown_previews, field_index, search, value_map_rows
from mappings.views.common import integration_or_404, validation_text
from mappings.views.gate import CONFIRMED, echoed, render_gate
from syncsmart.core.choices import Direction, Side
from tenants.access import tenant_object_or_404, tenant_required, writes_need_role
from tenants.models import AuditLog


def object_mapping_or_404(request: HttpRequest, pk: int, mapping_pk: int) -> ObjectMapping:
    integration = integration_or_404(request, pk)
    queryset = ObjectMapping.objects.filter(integration=integration)
    mapping = tenant_object_or_404(request, queryset, tenant_path="integration__tenant", pk=mapping_pk)
    mapping.integration = integration  # already fetched with both connections
    return mapping


def _schemas(mapping: ObjectMapping) -> tuple[dict, dict]:
    integration = mapping.integration
    return (
        field_index(integration.hubspot_connection, mapping.hubspot_object),
        field_index(integration.other_connection, mapping.other_object),
    )


# Where a refusal of a row's save is shown: next to the field that caused it.
ERROR_PLACES = {"hubspot_field": "hub", "other_field": "other", "value_map": "value_map"}


def _row(fm: FieldMapping, hub_fields: dict, other_fields: dict, *, form=None, problems=None, saved: bool = False) -> dict:
    """One row of the mapping table, as the page and its in-place save (htmx) render it."""
    errors: dict[str, list[str]] = {"hub": [], "other": [], "settings": [], "value_map": []}
    for name, texts in (problems or {}).items():
        errors[ERROR_PLACES.get(name, "settings")] += list(texts)
    previews = (
        dropdown_previews(hub_fields.get(fm.hubspot_field), other_fields.get(fm.other_field), fm.direction)
        if fm.transform == FieldMapping.Transform.DROPDOWN
        else []
    )
    value_rows = value_map_rows(previews, fm.value_map or {}, to_hubspot=fm.value_map_to_hubspot)
    if not value_rows:  # no table to show a value map's refusal beside
        errors["settings"] += errors.pop("value_map")
    return {
        "mapping": fm,
        "form": form or FieldMappingRowForm(instance=fm, prefix=f"fm{fm.pk}"),
        "hub": hub_fields.get(fm.hubspot_field),
        "other": other_fields.get(fm.other_field),
        "previews": previews,
        # The values the label algorithm leaves unmatched, mapped by hand in the row too.
        "value_rows": value_rows,
        "accept_id": f"fm{fm.pk}_accept_unmatched",
        "accept_words": unmatched_words(fm.direction, fm.object_mapping.integration.other_system_label),
        "errors": errors,
        "saved": saved,
    }


def _take_value_table(field_mapping: FieldMapping, data) -> None:
    """A row's value-map table, when it was shown: its picks replace those values' entries (an
    emptied pick removes one), and its checkbox is the explicit choice for the rest."""
    if data.get("value_table") != "1":
        return
    toward_hubspot = field_mapping.map_toward(Side.HUBSPOT)  # before the other direction's picks change it
    field_mapping.value_map = _picked(field_mapping.value_map or {}, data, VALUE_MAP_PREFIX)
    if reverse_map_from_table(data) is not None:  # the table showed other → HubSpot: its own map from now on
        field_mapping.value_map_to_hubspot = _picked(toward_hubspot, data, REVERSE_MAP_PREFIX)
    field_mapping.accept_unmatched = bool(data.get("accept_unmatched"))


def _picked(stored: dict, data, prefix: str) -> dict[str, str]:
    """One direction's map after the table: its shown values replaced by the picks."""
    shown = {name[len(prefix) :] for name in data if name.startswith(prefix)}
    kept = {k: v for k, v in stored.items() if k not in shown}
    return {**kept, **value_map_from_table(data, prefix)}


def _removal(entry, hub_fields: dict, other_fields: dict) -> dict:
    """A removal that can still be undone, its fields named by their labels."""
    kept = entry.changes.get("restorable") or {}
    hub, other = hub_fields.get(kept.get("hubspot_field")), other_fields.get(kept.get("other_field"))
    hub_label = hub.label if hub else kept.get("hubspot_field", "")
    other_label = other.label if other else kept.get("other_field", "")
    return {
        "entry": entry,
        "label": f"{hub_label} ↔ {other_label}",
        "until": actions.undo_until(entry),
    }


def _editor_context(
    request: HttpRequest,
    mapping: ObjectMapping,
    *,
    add_form: AddFieldMappingForm | None = None,
    settings_form: ObjectMappingForm | None = None,
    refused: list[str] | None = None,
) -> dict:
    hub_fields, other_fields = _schemas(mapping)
    rows = [_row(fm, hub_fields, other_fields) for fm in mapping.field_mappings.all()]
    add_form = add_form or AddFieldMappingForm()
    selected_hub = add_form["hubspot_field"].value() or ""
    selected_other = add_form["other_field"].value() or ""
    return {
        "integration": mapping.integration,
        "mapping": mapping,
        "rows": rows,
        "tab": "mappings",
        "settings_form": settings_form or ObjectMappingForm(instance=mapping),
        "add_form": add_form,
        "refused": refused or [],
        "hub_results": search(mapping.integration.hubspot_connection, mapping.hubspot_object, "", keep=selected_hub),
        "other_results": search(mapping.integration.other_connection, mapping.other_object, "", keep=selected_other),
        "selected_hub": selected_hub,
        "selected_other": selected_other,
        "schema_known": bool(hub_fields and other_fields),
        "removals": [
            _removal(entry, hub_fields, other_fields) for entry in actions.undoable_removals(mapping.integration.tenant, mapping)
        ],
        "pair": _pair_context(mapping, hub_fields, other_fields, add_form.data if add_form.is_bound else {}, add_form.errors),
        **_default_upgrades(mapping.integration),
    }


def _default_upgrades(integration) -> dict:
    """New default mappings offered (partials/default_upgrades.html, views/upgrades.py applies them)."""
    offers = upgrades.offers(integration)
    return {"default_upgrades": offers, "offerable": any(o.status == upgrades.OFFERED for o in offers)}


@tenant_required
@writes_need_role
def mapping_editor(request: HttpRequest, pk: int, mapping_pk: int) -> HttpResponse:
    """GET shows the editor; POST saves the object's own settings (direction, system of record...)."""
    mapping = object_mapping_or_404(request, pk, mapping_pk)
    settings_form = None
    if request.method == "POST":
        was_on = mapping.enabled
        settings_form = ObjectMappingForm(request.POST, instance=mapping)
        if settings_form.is_valid():
            try:
                previewed.save_mapping(
                    settings_form.save(commit=False), request.user, was_on=was_on, preview_id=request.POST.get(CONFIRMED)
                )
            except previewed.PreviewRequired as exc:
                return _mapping_on_gate(request, mapping, exc)
            except ValidationError as exc:
                settings_form.add_error(None, validation_text(exc))
            else:
                messages.success(request, f"{mapping} saved: {mapping.get_direction_display()}.")
                return redirect("mapping_editor", pk=pk, mapping_pk=mapping.pk)
    return render(request, "mappings/editor.html", _editor_context(request, mapping, settings_form=settings_form))


def _mapping_on_gate(request: HttpRequest, mapping: ObjectMapping, refused: previewed.PreviewRequired) -> HttpResponse:
    """Turning an object mapping on shows what its first run would do first."""
    preview = previewed.preview_for(mapping.integration, request.user, refused.question)
    other = mapping.integration.other_system_label
    return render_gate(
        request,
        mapping.integration,
        preview,
        title=f"Turn {mapping} on?",
        consequence=f"{mapping} records start syncing between HubSpot and {other} with these settings: "
        "records that match are linked, the others are created or updated as counted below.",
        confirm_label=f"Confirm: turn {mapping} on",
        hidden=echoed(request),
        error=" ".join(refused.messages) if request.POST.get(CONFIRMED) else "",
        tab="mappings",
    )


@require_POST
@tenant_required
@writes_need_role
def field_add(request: HttpRequest, pk: int, mapping_pk: int) -> HttpResponse:
    mapping = object_mapping_or_404(request, pk, mapping_pk)
    hub_fields, other_fields = _schemas(mapping)
    form = AddFieldMappingForm(request.POST)
    refused: list[str] = []
    if form.is_valid():
        data = form.cleaned_data
        field_mapping = FieldMapping(
            object_mapping=mapping,
            hubspot_field=data["hubspot_field"],
            other_field=data["other_field"],
            direction=data["direction"],
            transform=data["transform"] or FieldMapping.Transform.NONE,
            value_map=data["value_map"],
            value_map_to_hubspot=data.get("value_map_to_hubspot"),
            only_if_target_empty=data["only_if_target_empty"],
            accept_unmatched=data["accept_unmatched"],
        )
        try:
            actions.save_field_mapping(field_mapping, request.user)
        except ValidationError as exc:
            refused = form.add_errors(exc)
        else:
            hub, other = hub_fields.get(field_mapping.hubspot_field), other_fields.get(field_mapping.other_field)
            hub_label = hub.label if hub else field_mapping.hubspot_field
            other_label = other.label if other else field_mapping.other_field
            messages.success(request, f"Mapped {hub_label} ↔ {other_label}.")
            return redirect("mapping_editor", pk=pk, mapping_pk=mapping.pk)
    status = 422 if refused or form.errors else 200
    return render(
        request, "mappings/editor.html", _editor_context(request, mapping, add_form=form, refused=refused), status=status
    )


def _field_mapping_or_404(request: HttpRequest, mapping: ObjectMapping, field_pk: int) -> FieldMapping:
    queryset = FieldMapping.objects.filter(object_mapping=mapping)
    field_mapping = tenant_object_or_404(request, queryset, tenant_path="object_mapping__integration__tenant", pk=field_pk)
    field_mapping.object_mapping = mapping
    return field_mapping


@require_POST
@tenant_required
@writes_need_role
def field_update(request: HttpRequest, pk: int, mapping_pk: int, field_pk: int) -> HttpResponse:
    """Save one row's settings. From htmx the row answers in place (the page keeps its scroll
    position, a refusal shows next to the field that caused it); without JavaScript the page reloads."""
    mapping = object_mapping_or_404(request, pk, mapping_pk)
    field_mapping = _field_mapping_or_404(request, mapping, field_pk)
    form = FieldMappingRowForm(request.POST, instance=field_mapping, prefix=f"fm{field_mapping.pk}")
    problems: dict[str, list[str]] = {}
    if form.is_valid():
        try:
            changed = form.save(commit=False)
            _take_value_table(changed, request.POST)
            actions.save_field_mapping(changed, request.user)
        except ValidationError as exc:
            problems = getattr(exc, "message_dict", None) or {"__all__": exc.messages}
    else:
        problems = {"__all__": [e for errs in form.errors.values() for e in errs]}
    if request.htmx:
        hub_fields, other_fields = _schemas(mapping)
        if not problems:
            field_mapping.refresh_from_db()
            form = None
        row = _row(field_mapping, hub_fields, other_fields, form=form, problems=problems, saved=not problems)
        return render(
            request, "mappings/partials/field_row.html", {"row": row, "integration": mapping.integration, "mapping": mapping}
        )
    if problems:
        messages.error(request, f"{field_mapping}: " + " ".join(t for texts in problems.values() for t in texts))
    else:
        messages.success(request, f"{field_mapping}: {field_mapping.get_direction_display()} saved.")
    return redirect("mapping_editor", pk=pk, mapping_pk=mapping.pk)


@require_POST
@tenant_required
@writes_need_role
def field_delete(request: HttpRequest, pk: int, mapping_pk: int, field_pk: int) -> HttpResponse:
    mapping = object_mapping_or_404(request, pk, mapping_pk)
    field_mapping = _field_mapping_or_404(request, mapping, field_pk)
    entry = actions.delete_field_mapping(field_mapping, request.user)
    if request.htmx:
        removal = _removal(entry, *_schemas(mapping))
        context = {"removal": removal, "row_id": field_pk, "integration": mapping.integration, "mapping": mapping}
        return render(request, "mappings/partials/field_row_removed.html", context)
    removal = _removal(entry, *_schemas(mapping))
    messages.success(request, f"Removed {removal['label']}. “Undo” under the table puts it back, for a day.")
    return redirect("mapping_editor", pk=pk, mapping_pk=mapping.pk)


@require_POST
@tenant_required
@writes_need_role
def field_restore(request: HttpRequest, pk: int, mapping_pk: int, removal_pk: int) -> HttpResponse:
    """Undo a removal of the last day (audited as field_mapping.restored)."""
    mapping = object_mapping_or_404(request, pk, mapping_pk)
    entry = get_object_or_404(
        AuditLog,
        pk=removal_pk,
        tenant=request.tenant,
        action="field_mapping.deleted",
        changes__object_mapping=mapping.pk,
    )
    try:
        restored = actions.restore_field_mapping(entry, request.user)
    except ValidationError as exc:
        if request.htmx:
            row_id = request.POST.get("row", "")
            context = {"removal": _removal(entry, *_schemas(mapping)), "row_id": row_id if row_id.isdigit() else ""}
            context["integration"] = mapping.integration
            return render(
                request,
                "mappings/partials/field_row_removed.html",
                {**context, "mapping": mapping, "error": validation_text(exc)},
            )
        messages.error(request, validation_text(exc))
        return redirect("mapping_editor", pk=pk, mapping_pk=mapping.pk)
    if request.htmx:
        hub_fields, other_fields = _schemas(mapping)
        row = _row(restored, hub_fields, other_fields)
        row["restored"] = True
        return render(
            request, "mappings/partials/field_row.html", {"row": row, "integration": mapping.integration, "mapping": mapping}
        )
    messages.success(request, f"{restored} is back.")
    return redirect("mapping_editor", pk=pk, mapping_pk=mapping.pk)


@require_POST
@tenant_required
@writes_need_role
def restore_defaults(request: HttpRequest, pk: int, mapping_pk: int) -> HttpResponse:
    mapping = object_mapping_or_404(request, pk, mapping_pk)
    actions.install_defaults(mapping.integration, request.user, reset=True)
    messages.success(request, "Default mappings restored. Your custom mappings were kept.")
    return redirect("mapping_editor", pk=pk, mapping_pk=mapping.pk)


@require_GET
@tenant_required
def field_search(request: HttpRequest, pk: int, mapping_pk: int) -> HttpResponse:
    """htmx: the picker's list of fields matching what was typed (name, label or type)."""
    mapping = object_mapping_or_404(request, pk, mapping_pk)
    side = Side.HUBSPOT if request.GET.get("side") == Side.HUBSPOT else Side.OTHER
    connection = mapping.integration.connection_on(side)
    name = "hubspot_field" if side == Side.HUBSPOT else "other_field"
    selected = request.GET.get(name, "")
    results = search(connection, mapping.object_for(side), request.GET.get("q", ""), keep=selected)
    return render(
        request, "mappings/partials/field_options.html", {"results": results, "name": name, "selected": selected, "side": side}
    )


def _pair_context(mapping: ObjectMapping, hub_fields: dict, other_fields: dict, params, errors=None) -> dict:
    """The live check of a picked pair: can they be mapped, how each dropdown value crosses over,
    and the value-map table for the values the label algorithm leaves unmatched."""
    hub, other = hub_fields.get(params.get("hubspot_field", "")), other_fields.get(params.get("other_field", ""))
    context: dict = {"hub": hub, "other": other, "problems": [], "previews": [], "value_rows": []}
    if not (hub and other):
        return context
    try:
        value_map = {**parse_value_map(params.get("value_map", "")), **value_map_from_table(params)}
        to_hubspot = reverse_map_from_table(params)
    except ValidationError as exc:
        value_map, to_hubspot, context["problems"] = {}, None, exc.messages
    direction = params.get("direction") or "both"
    candidate = FieldMapping(
        object_mapping=mapping,
        hubspot_field=hub.name,
        other_field=other.name,
        hubspot_type=hub.type,
        other_type=other.type,
        direction=direction if direction in dict(FieldMapping._meta.get_field("direction").choices) else "both",
        transform=params.get("transform") or default_transform(hub.type, other.type),
        value_map=value_map,
        value_map_to_hubspot=to_hubspot,
    )
    context["problems"] += compatibility_problems(candidate)
    context["transform"] = candidate.get_transform_display()
    if candidate.transform == FieldMapping.Transform.DROPDOWN:
        context["previews"] = dropdown_previews(hub, other, candidate.direction)
        context["value_rows"] = value_map_rows(context["previews"], value_map, to_hubspot=to_hubspot)
    context.update(
        value_map_text=params.get("value_map", ""),
        text_map=not context["value_rows"] and (bool(hub.options) or bool(other.options) or bool(params.get("value_map"))),
        accept_unmatched=bool(params.get("accept_unmatched")),
        accept_words=unmatched_words(candidate.direction, mapping.integration.other_system_label),
        value_map_errors=(errors or {}).get("value_map", []),
    )
    return context


def unmatched_words(direction: str, other_label: str) -> str:
    """What a run does with a dropdown value nobody mapped, for the explicit choice's label."""
    flows = Direction.flows(direction)
    words = []
    if Side.HUBSPOT in flows:
        words.append("add them as new options in HubSpot")
    if Side.OTHER in flows:
        words.append(f"leave the {other_label} field empty")
    return " / ".join(words)


@require_GET
@tenant_required
def pair_check(request: HttpRequest, pk: int, mapping_pk: int) -> HttpResponse:
    """htmx: can the two picked fields be mapped? In plain words, with the dropdown preview and
    the value-map table."""
    mapping = object_mapping_or_404(request, pk, mapping_pk)
    hub_fields, other_fields = _schemas(mapping)
    return render(request, "mappings/partials/pair_check.html", _pair_context(mapping, hub_fields, other_fields, request.GET))
