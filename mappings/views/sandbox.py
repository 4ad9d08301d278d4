"""The demo sandbox: list and edit records inside the built-in emulators, to watch a change
arrive on the other side.

It talks to the emulator through the connector (the vendor's own API, as a customer's CRM
user would), so it works for every system with no emulator-specific code. Only connections
the demo created against an emulator (``config["emulator"]``) are listed: this page must
never become a back door for editing a customer's real CRM.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from connectors.base import ConnectorError, FieldType, WriteInput
from connectors.models import Connection
from mappings.services import record_search
from mappings.services.schema import fields_of
from tenants.access import tenant_object_or_404, tenant_queryset, tenant_required, writes_need_role

RECORDS_SHOWN = 100
EDITABLE_TYPES = {
    FieldType.STRING.value,
    FieldType.TEXT.value,
    FieldType.EMAIL.value,
    FieldType.PHONE.value,
    FieldType.NUMBER.value,
    FieldType.ENUM.value,
    FieldType.DATE.value,
}


def _emulated(request: HttpRequest, pk) -> Connection:
    connection = tenant_object_or_404(request, Connection, pk=pk)
    if not (connection.config or {}).get("emulator"):
        raise Http404("Only demo connections to the built-in emulators can be browsed here.")
    return connection


@tenant_required
def sandbox(request: HttpRequest) -> HttpResponse:
    connections = [c for c in tenant_queryset(request.tenant, Connection) if (c.config or {}).get("emulator")]
    connections.sort(key=lambda c: (c.system != "hubspot", c.system))  # the hub first
    for connection in connections:
        connection.display_url = connection.config.get("base_url") or connection.config.get("org_url") or ""
        labels = _object_labels(connection)
        connection.object_links = [(name, labels.get(name, name)) for name in connection.schema_cache or {}]
    systems = list(dict.fromkeys(c.get_system_display() for c in connections))
    return render(request, "mappings/sandbox.html", {"connections": connections, "systems": _and_list(systems)})


def _object_labels(connection: Connection) -> dict[str, str]:
    """The labels the connector declares for its object types ("Activities: calls", not
    call_activities); the types are declared in code, so no request is made."""
    try:
        connector = connection.connector()
    except ConnectorError:
        return {}
    try:
        return {o.name: o.label for o in connector.object_types()}
    finally:
        connector.close()


def _and_list(words: list[str]) -> str:
    return " and ".join([", ".join(words[:-1]), words[-1]]) if len(words) > 1 else "".join(words)


def _editable(connection: Connection, object_type: str):
    return [f for f in fields_of(connection, object_type) if f.type in EDITABLE_TYPES and not f.read_only]


@tenant_required
def sandbox_records(request: HttpRequest, connection_pk, object_type: str) -> HttpResponse:
    connection = _emulated(request, connection_pk)
    query = request.GET.get("q", "").strip()
    records, error = [], ""
    connector = connection.connector()
    label = next((o.label for o in connector.object_types() if o.name == object_type), object_type)
    try:
        records = record_search.search_records(connection, connector, object_type, query)
    except ConnectorError as exc:
        error = exc.message
    finally:
        connector.close()
    records = sorted(records, key=lambda r: r.updated_at.isoformat() if r.updated_at else "", reverse=True)[:RECORDS_SHOWN]
    columns = [f for f in _editable(connection, object_type)][:5]
    return render(
        request,
        "mappings/sandbox_records.html",
        {
            "connection": connection,
            "object_type": object_type,
            "object_label": label,
            "records": records,
            "columns": columns,
            "q": query,
            "error": error,
        },
    )


@tenant_required
@writes_need_role
def sandbox_record(request: HttpRequest, connection_pk, object_type: str, record_id: str) -> HttpResponse:
    connection = _emulated(request, connection_pk)
    fields = _editable(connection, object_type)
    connector = connection.connector()
    try:
        found = connector.read_by_ids(object_type, [record_id])
        if not found:
            raise Http404("No such record in the emulator.")
        record = found[0]
        if request.method == "POST":
            changes = {
                f.name: request.POST.get(f.name, "")
                for f in fields
                if f.name in request.POST and request.POST.get(f.name, "") != _shown(record.properties.get(f.name))
            }
            if changes:
                result = connector.update(object_type, [WriteInput(changes, id=record_id, ref=record_id)])[0]
                if result.ok:
                    messages.success(request, f"Saved {', '.join(changes)} in the {connection.get_system_display()} emulator.")
                    return redirect("sandbox_record", connection_pk=connection.pk, object_type=object_type, record_id=record_id)
                messages.error(request, f"The emulator refused: {result.error.message}")
            else:
                messages.info(request, "Nothing changed.")
    except ConnectorError as exc:
        messages.error(request, f"The emulator answered: {exc.message}")
        record = None
    finally:
        connector.close()
    rows = [{"field": f, "value": _shown(record.properties.get(f.name)) if record else ""} for f in fields]
    return render(
        request,
        "mappings/sandbox_record.html",
        {"connection": connection, "object_type": object_type, "record": record, "rows": rows, "record_id": record_id},
    )


def _shown(value) -> str:
    return "" if value is None else str(value)
