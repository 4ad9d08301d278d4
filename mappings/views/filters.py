"""The filter builder of one object mapping: any / all groups of conditions per direction, the
live count of current records that pass, and the standard options (free-mail block, test mode)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from connectors.base import ConnectorError
from mappings import filters
from mappings.compat import _as_type
from mappings.filters import (
    LIST_FIELD,
    LIST_OPERATOR,
    NO_VALUE_OPERATORS,
    OPERATORS,
    FilterCount,
    FilterError,
    Gate,
    apply_op,
    as_groups,
    count_passing,
    from_post,
    operator_choices,
    to_stored,
    value_text,
)
from mappings.models import ObjectMapping
from mappings.services import actions, hubspot_lists, validation
from mappings.services.samples import cached_sample, sample_for
from mappings.services.schema import fields_of
from mappings.views.common import validation_text
from mappings.views.editor import object_mapping_or_404
from syncsmart.core.choices import Direction, Side
from tenants.access import tenant_required, writes_need_role

# One builder per flow; the conditions read the SOURCE record of that flow.
FLOWS = (
    {
        "prefix": "to_other",
        "attr": "filter_to_other",
        "source": Side.HUBSPOT,
        "target": Side.OTHER,
        "title": "HubSpot → other system",
    },
    {
        "prefix": "to_hubspot",
        "attr": "filter_to_hubspot",
        "source": Side.OTHER,
        "target": Side.HUBSPOT,
        "title": "Other system → HubSpot",
    },
)
EMAIL_HINTS = ("email", "emailaddress1", "emailaddress")
NAME_HINTS = ("name", "dealname", "companyname")


def _flow(prefix: str) -> dict:
    return next((f for f in FLOWS if f["prefix"] == prefix), FLOWS[0])


def _source(mapping: ObjectMapping, flow: dict) -> tuple:
    integration = mapping.integration
    connection = integration.connection_on(flow["source"])
    return connection, mapping.object_for(flow["source"])


def gate_for(mapping: ObjectMapping, flow: dict, field_names: set[str]) -> Gate:
    """The integration's standard options applied to this source object's records."""
    integration = mapping.integration
    email = mapping.match_field_for(flow["source"]) if "mail" in mapping.match_field_for(flow["source"]).lower() else ""
    email = email or next((n for n in EMAIL_HINTS if n in field_names), "")
    name = next((n for n in NAME_HINTS if n in field_names), "") if not email else ""
    return Gate(
        test_mode=integration.test_mode,
        email_marker=integration.test_email_marker,
        name_marker=integration.test_name_marker,
        block_free_emails=integration.block_free_emails,
        email_field=email,
        name_field=name,
    )


def _operators(field: str, index: dict) -> list[tuple[str, str]]:
    """The operators that fit the field's type (every one while the field is not chosen or not
    known); a HubSpot list row has just its own."""
    if field == LIST_FIELD:
        return [(LIST_OPERATOR, OPERATORS[LIST_OPERATOR])]
    if field in index:
        return validation.operators_for(_as_type(index[field].type))
    return operator_choices()


def _builder_rows(builder: dict, index: dict | None = None) -> list[dict]:
    """Groups and rows with their form names, for the template."""
    index = index or {}
    groups = []
    for g, group in enumerate(builder["conditions"]):
        rows = [
            {
                "index": c,
                "field": cond.get("field", ""),
                "op": cond.get("operator", "eq"),
                "value": value_text(cond),
                "needs_value": cond.get("operator") not in NO_VALUE_OPERATORS,
                "known": cond.get("field", "") in index or cond.get("field") == LIST_FIELD,
                "is_list": cond.get("field") == LIST_FIELD,
                "operators": _operators(cond.get("field", ""), index),
            }
            for c, cond in enumerate(group["conditions"])
        ]
        groups.append({"index": g, "match": group.get("match", "all"), "rows": rows})
    return groups


def _lists(mapping: ObjectMapping, flow: dict, builder: dict) -> tuple[list, str]:
    """The HubSpot lists the customer can pick (HubSpot → other only, read once the builder has a
    list row: a page without one never calls HubSpot), or why there are none."""
    if flow["source"] != Side.HUBSPOT or not filters.list_conditions(builder):
        return [], ""
    try:
        return hubspot_lists.lists_of(mapping.integration.hubspot_connection, mapping.hubspot_object), ""
    except ConnectorError as exc:
        return [], f"HubSpot's lists could not be read: {exc.message}"


def _count(mapping: ObjectMapping, flow: dict, builder: dict, refresh: bool = False, fetch: bool = True):
    connection, object_type = _source(mapping, flow)
    sample = sample_for(connection, object_type, refresh=refresh) if fetch else cached_sample(connection, object_type)
    if sample is None:
        return None, None
    fields = {f.name for f in fields_of(connection, object_type)}
    try:
        stored = to_stored(builder)
        records = sample.records
        if flow["source"] == Side.HUBSPOT and stored:
            stored = hubspot_lists.resolved_by_name(connection, object_type, stored)
            records = hubspot_lists.with_memberships(connection, stored, records)
    except FilterError as exc:
        return sample, FilterCount(0, len(sample.records), error=str(exc))
    except ConnectorError as exc:
        return sample, FilterCount(0, len(sample.records), error=f"HubSpot's lists could not be read: {exc.message}")
    return sample, count_passing(stored, records, gate_for(mapping, flow, fields))


def _panel(mapping: ObjectMapping, flow: dict, builder: dict | None = None, error: str = "", fetch: bool = False) -> dict:
    connection, object_type = _source(mapping, flow)
    builder = builder if builder is not None else as_groups(getattr(mapping, flow["attr"]))
    sample, count = _count(mapping, flow, builder, fetch=fetch)
    lists, lists_error = _lists(mapping, flow, builder)
    return {
        "lists": lists,
        "lists_error": lists_error,
        "list_field": LIST_FIELD,
        "flow": flow,
        "builder": builder,
        "groups": _builder_rows(builder, {f.name: f for f in fields_of(connection, object_type)}),
        "fields": fields_of(connection, object_type),
        "object_type": object_type,
        "connection": connection,
        "sample": sample,
        "count": count,
        "error": error,
        "operators": operator_choices(),
        "flows_now": flow["target"] in Direction.flows(mapping.direction),
    }


@tenant_required
@writes_need_role
def filter_builder(request: HttpRequest, pk: int, mapping_pk: int) -> HttpResponse:
    """GET shows both builders; POST edits one (add / remove rows and groups) or saves it."""
    mapping = object_mapping_or_404(request, pk, mapping_pk)
    panels = {f["prefix"]: None for f in FLOWS}
    if request.method == "POST":
        flow = _flow(request.POST.get("flow", ""))
        builder = from_post(request.POST, flow["prefix"])
        op = request.POST.get("op", "save")
        if op != "save":
            panels[flow["prefix"]] = _panel(mapping, flow, apply_op(builder, op))
            if request.htmx:
                return render(
                    request,
                    "mappings/partials/filter_panel.html",
                    {"panel": panels[flow["prefix"]], "mapping": mapping, "integration": mapping.integration},
                )
        else:
            try:
                setattr(mapping, flow["attr"], to_stored(builder))
                actions.save_object_mapping(mapping, request.user)
            except (FilterError, ValidationError) as exc:
                message = validation_text(exc) if isinstance(exc, ValidationError) else str(exc)
                panels[flow["prefix"]] = _panel(mapping, flow, builder, error=message)
            else:
                messages.success(request, f"Filter saved for {flow['title']}.")
                return redirect("filter_builder", pk=pk, mapping_pk=mapping.pk)
    context = {
        "integration": mapping.integration,
        "mapping": mapping,
        "tab": "mappings",
        "panels": [panels[f["prefix"]] or _panel(mapping, f) for f in FLOWS],
    }
    return render(request, "mappings/filters.html", context)


@require_POST
@tenant_required
def filter_count(request: HttpRequest, pk: int, mapping_pk: int) -> HttpResponse:
    """htmx: how many current records pass the conditions as typed (nothing is saved).

    A read: viewers may try conditions too. Fetches the sample once, then counts from cache."""
    mapping = object_mapping_or_404(request, pk, mapping_pk)
    flow = _flow(request.POST.get("flow", ""))
    sample, count = _count(mapping, flow, from_post(request.POST, flow["prefix"]), refresh=request.POST.get("refresh") == "1")
    return render(
        request,
        "mappings/partials/filter_count.html",
        {"sample": sample, "count": count, "flow": flow, "integration": mapping.integration, "mapping": mapping},
    )
