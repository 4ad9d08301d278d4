"""The REST API's endpoints. Each view reads through the request's tenant (tenants.access
tenant_queryset: another tenant's id is a 404) and changes state only through the named
actions the UI uses (mappings.services.actions and .previewed, syncsmart.engine.run_requests, tenants.connections)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from connectors.models import Connection
from mappings import matching_actions, schema_checks, upgrades
from mappings.models import FieldMapping, Integration, ObjectMapping
from mappings.services import actions, previewed
from syncsmart.api import serializers as s
from syncsmart.api.errors import PreviewRequired
from syncsmart.engine import previews, run_requests
from syncsmart.logging import redact
from syncsmart.models import AmbiguousMatch, Preview, RecordEvent, SyncRun
from tenants.access import tenant_queryset
from tenants.connections import test_connection


class TenantViewSet(viewsets.GenericViewSet):
    """Tenant scoping and validated query filters shared by every endpoint."""

    model: type
    tenant_path = "tenant"
    query_serializer: type[s.serializers.Serializer] | None = None
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def tenant_rows(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):  # the schema generator: no tenant, no rows
            return self.model._default_manager.none()
        return tenant_queryset(self.request.tenant, self.model, self.tenant_path)

    def query(self) -> dict[str, Any]:
        """The list filters, validated: an unknown outcome or a non-numeric id is a 400 naming it."""
        if self.query_serializer is None or self.action != "list":
            return {}
        params = self.query_serializer(data=self.request.query_params.dict())
        params.is_valid(raise_exception=True)
        return params.validated_data

    @property
    def actor(self):
        return self.request.user

    def accepted(self, run: SyncRun) -> Response:
        """202: the run is queued (a worker executes it), shown as it stands now."""
        return Response(s.RunSerializer(run, context=self.get_serializer_context()).data, status=status.HTTP_202_ACCEPTED)


def preview_required(exc: previewed.PreviewRequired, route: str) -> PreviewRequired:
    """409 preview_required, naming the preview to run (the refusal's words are the page's)."""
    return PreviewRequired(
        f"{' '.join(exc.messages)} Start it with {route}; once its status is done, send its id as confirmed_preview."
    )


def _list_doc(query: type, description: str) -> dict:
    return {"list": extend_schema(parameters=[query], description=description)}


# --- Integrations -------------------------------------------------------------------------


@extend_schema_view(
    **_list_doc(s.IntegrationQuery, "The tenant's integrations with their connections' status and last run."),
    partial_update=extend_schema(
        description="Change standard options, test mode or the schedule (the main switch has its own endpoint)."
    ),
)
class IntegrationViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, TenantViewSet
):
    model = Integration
    serializer_class = s.IntegrationSerializer
    query_serializer = s.IntegrationQuery
    ordering = "id"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet:
        latest = SyncRun.objects.order_by("-created_at").defer("log", "state")[:1]
        rows = (
            self.tenant_rows()
            .select_related("hubspot_connection", "other_connection")
            .prefetch_related(Prefetch("runs", queryset=latest, to_attr="latest_runs"))
        )
        filters = self.query()
        if "enabled" in filters:
            rows = rows.filter(enabled=filters["enabled"])
        if "environment" in filters:
            rows = rows.filter(environment=filters["environment"])
        return rows

    def perform_update(self, serializer) -> None:
        actions.update_integration(serializer.instance, self.actor, **serializer.validated_data)

    @extend_schema(
        request=s.IntegrationCreateSerializer,
        responses={201: s.IntegrationSerializer},
        description="Create an integration between two of your connections, with the default mappings "
        "(as the installer's last step does). It starts switched off: POST .../switch/ turns it on.",
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        body = s.IntegrationCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        connections = tenant_queryset(self.request.tenant, Connection)
        hubspot = connections.filter(pk=data.pop("hubspot_connection"), system="hubspot").first()
        other = connections.filter(pk=data.pop("other_connection")).exclude(system="hubspot").first()
        problems = {}
        if hubspot is None:
            problems["hubspot_connection"] = ["Not a HubSpot connection of this tenant."]
        if other is None:
            problems["other_connection"] = ["Not a connection of this tenant to a system other than HubSpot."]
        if problems:
            raise exceptions.ValidationError(problems, code="does_not_exist")  # a 404 (syncsmart.api.errors)
        install = data.pop("install_defaults")
        # The model's own validation (syncsmart.api.errors turns its ValidationError into a 400).
        integration = actions.create_integration(
            self.request.tenant, self.actor, hubspot, other, install_defaults_now=install, **data
        )
        integration = self.get_queryset().get(pk=integration.pk)
        return Response(s.IntegrationSerializer(integration, context=self.get_serializer_context()).data, status=201)

    @extend_schema(
        request=None,
        responses=s.IntegrationSerializer,
        description="Put back the default object and field mappings that were removed or changed; "
        "custom mappings are kept (the mapping editor's “Restore defaults”).",
    )
    @action(detail=True, methods=["post"], url_path="restore-defaults")
    def restore_defaults(self, request: Request, pk: str | None = None) -> Response:
        integration = self.get_object()
        actions.install_defaults(integration, self.actor, reset=True)
        return Response(s.IntegrationSerializer(self.get_object(), context=self.get_serializer_context()).data)

    @extend_schema(
        request=None,
        responses=s.DefaultUpgradesSerializer,
        description="New default mappings this integration has not taken (an integration keeps the defaults it was "
        "created with): each offered (your mapping is the old default as installed) or kept (you edited it).",
    )
    @action(detail=True, methods=["get"], url_path="default-upgrades")
    def default_upgrades(self, request: Request, pk: str | None = None) -> Response:
        integration = self.get_object()
        return Response({"changes": [s.DefaultUpgradeSerializer.of(o) for o in upgrades.offers(integration)]})

    @extend_schema(
        request=s.DefaultUpgradeApplySerializer,
        responses=s.DefaultUpgradesSerializer,
        description="Apply the named offered changes, all or none; 409 conflict when one is kept (you edited it), "
        "already applied or unknown. Answers what is still listed afterwards.",
    )
    @action(detail=True, methods=["post"], url_path="default-upgrades/apply")
    def apply_default_upgrades(self, request: Request, pk: str | None = None) -> Response:
        integration = self.get_object()
        body = s.DefaultUpgradeApplySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            actions.apply_default_upgrades(integration, self.actor, body.validated_data["changes"])
        except upgrades.NotOffered as exc:
            raise exceptions.ValidationError({"changes": [str(exc)]}, code="conflict") from exc
        return Response({"changes": [s.DefaultUpgradeSerializer.of(o) for o in upgrades.offers(integration)]})

    def _object_mapping_of(self, integration: Integration, mapping_id: int | None) -> ObjectMapping | None:
        if mapping_id is None:
            return None
        mapping = integration.object_mappings.filter(pk=mapping_id).first()
        if mapping is None:
            raise exceptions.ValidationError(
                {"object_mapping": ["Not an object mapping of this integration."]}, code="does_not_exist"
            )
        return mapping

    @extend_schema(
        request=s.MainSwitchSerializer,
        responses=s.IntegrationSerializer,
        description="The main switch: on syncs on schedule and on webhooks; off stops everything, "
        "including runs still waiting in the queue.",
    )
    @action(detail=True, methods=["post"])
    def switch(self, request: Request, pk: str | None = None) -> Response:
        integration = self.get_object()
        body = s.MainSwitchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        actions.set_main_switch(integration, self.actor, body.validated_data["enabled"])
        return Response(self.get_serializer(self.get_queryset().get(pk=integration.pk)).data)

    @extend_schema(
        request=s.SyncNowSerializer,
        responses={202: s.RunSerializer},
        description="Sync now: queues a run for a worker and answers at once with the queued run.",
    )
    @action(detail=True, methods=["post"])
    def sync(self, request: Request, pk: str | None = None) -> Response:
        integration = self.get_object()
        body = s.SyncNowSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        mapping = self._object_mapping_of(integration, body.validated_data.get("object_mapping"))
        run = run_requests.request_run(integration, self.actor, trigger=SyncRun.Trigger.MANUAL, object_mapping=mapping)
        return self.accepted(run)

    @extend_schema(
        request=s.HistoricalSyncSerializer,
        responses={202: s.RunSerializer},
        description="Re-read every record (or those changed since a date) and sync it, with progress "
        "(see /api/runs/{id}/progress/). A historical sync already under way is returned as is. As on the "
        "page, it starts only once `confirmed_preview` names its finished preview (the same object_mapping and "
        "since, from POST /api/integrations/{id}/historical-sync/preview/); otherwise 409 preview_required.",
    )
    @action(detail=True, methods=["post"], url_path="historical-sync")
    def historical_sync(self, request: Request, pk: str | None = None) -> Response:
        integration = self.get_object()
        body = s.HistoricalSyncSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        mapping = self._object_mapping_of(integration, data.get("object_mapping"))
        try:
            run = previewed.start_resync(
                integration, self.actor, object_mapping=mapping, since=data.get("since"), preview_id=data.get("confirmed_preview")
            )
        except previewed.PreviewRequired as exc:
            route = f"POST /api/integrations/{integration.pk}/historical-sync/preview/ with the same object_mapping and since"
            raise preview_required(exc, route) from exc
        return self.accepted(run)

    @extend_schema(
        request=s.HistoricalSyncPreviewSerializer,
        responses={202: s.PreviewSerializer},
        description="The preview (dry run) a historical sync needs first: it reads exactly what the sync would "
        "(the same objects, the same since date) and writes nothing; a fresh one asking the same is reused. Poll "
        "/api/previews/{id}/, then POST .../historical-sync/ with its id as confirmed_preview.",
    )
    @action(detail=True, methods=["post"], url_path="historical-sync/preview")
    def historical_sync_preview(self, request: Request, pk: str | None = None) -> Response:
        integration = self.get_object()
        body = s.HistoricalSyncPreviewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        mapping = self._object_mapping_of(integration, body.validated_data.get("object_mapping"))
        preview = previewed.preview_for(integration, self.actor, previewed.resync(mapping, body.validated_data.get("since")))
        return Response(s.PreviewSerializer(preview).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=s.PreviewRequestSerializer,
        responses={202: s.PreviewSerializer},
        description="Preview (dry run): queue a background run that reads what a run would read and writes nothing "
        "to either system; poll /api/previews/{id}/ for progress and the result.",
    )
    @action(detail=True, methods=["post"])
    def preview(self, request: Request, pk: str | None = None) -> Response:
        integration = self.get_object()
        body = s.PreviewRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        mapping = self._object_mapping_of(integration, body.validated_data.get("object_mapping"))
        preview = previews.request_preview(
            integration,
            self.actor,
            kind=body.validated_data["kind"],
            object_mapping=mapping,
            with_creates=body.validated_data["with_creates"],
            purpose="api",
        )
        return Response(s.PreviewSerializer(preview).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None,
        responses=s.SchemaReportSerializer,
        description="Refresh fields: discover both systems' fields now and check every field mapping against them. "
        "A field that disappeared or changed into a type that no longer fits marks its mapping broken.",
    )
    @action(detail=True, methods=["post"], url_path="refresh-fields")
    def refresh_fields(self, request: Request, pk: str | None = None) -> Response:
        report = schema_checks.refresh_fields(self.get_object(), self.actor)
        return Response(s.SchemaReportSerializer(report.as_dict()).data)


# --- Object mappings and their filters ----------------------------------------------------


@extend_schema_view(**_list_doc(s.ObjectMappingQuery, "Object mappings (HubSpot object ↔ other object) of the tenant."))
class ObjectMappingViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    TenantViewSet,
):
    model = ObjectMapping
    tenant_path = "integration__tenant"
    serializer_class = s.ObjectMappingSerializer
    query_serializer = s.ObjectMappingQuery
    ordering = "id"

    def get_queryset(self) -> QuerySet:
        # write_back_fields names each side's field by its connection's system: fetched with the rows.
        rows = (
            self.tenant_rows()
            .annotate(field_mapping_count=Count("field_mappings"))
            .select_related("integration__hubspot_connection", "integration__other_connection")
        )
        filters = self.query()
        if "integration" in filters:
            rows = rows.filter(integration_id=filters["integration"])
        if "enabled" in filters:
            rows = rows.filter(enabled=filters["enabled"])
        return rows

    def _save(self, mapping: ObjectMapping) -> None:
        actions.save_object_mapping(mapping, self.actor)
        mapping.field_mapping_count = mapping.field_mappings.count()

    def perform_create(self, serializer) -> None:
        data = {k: v for k, v in serializer.validated_data.items() if k != "confirmed_preview"}
        serializer.instance = ObjectMapping(**data)
        self._save(serializer.instance)

    def perform_update(self, serializer) -> None:
        mapping = serializer.instance
        was_on = mapping.enabled
        data = dict(serializer.validated_data)
        preview_id = data.pop("confirmed_preview", None)
        for name, value in data.items():
            setattr(mapping, name, value)
        try:
            previewed.save_mapping(mapping, self.actor, was_on=was_on, preview_id=preview_id)
        except previewed.PreviewRequired as exc:
            raise preview_required(exc, f"POST /api/object-mappings/{mapping.pk}/turn-on/preview/") from exc
        mapping.field_mapping_count = mapping.field_mappings.count()

    @extend_schema(
        request=None,
        responses={202: s.PreviewSerializer},
        description="The preview (dry run) turning this mapping on needs first: what its first run would do, "
        "read from both systems and written to neither; a fresh one is reused. Poll /api/previews/{id}/, then "
        'PATCH the mapping with {"enabled": true, "confirmed_preview": id}.',
    )
    @action(detail=True, methods=["post"], url_path="turn-on/preview")
    def turn_on_preview(self, request: Request, pk: str | None = None) -> Response:
        mapping = self.get_object()
        preview = previewed.preview_for(mapping.integration, self.actor, previewed.mapping_on(mapping))
        return Response(s.PreviewSerializer(preview).data, status=status.HTTP_202_ACCEPTED)

    def perform_destroy(self, instance: ObjectMapping) -> None:
        actions.delete_object_mapping(instance, self.actor)

    @extend_schema(methods=["GET"], responses=s.FiltersSerializer, description="The mapping's filter per direction.")
    @extend_schema(
        methods=["PATCH"],
        request=s.FiltersSerializer,
        responses=s.FiltersSerializer,
        description="Replace one or both directions' filter; {} lets every record through. "
        "Malformed filters are refused with the UI's message.",
    )
    @action(detail=True, methods=["get", "patch"])
    def filters(self, request: Request, pk: str | None = None) -> Response:
        mapping = self.get_object()
        if request.method == "PATCH":
            body = s.FiltersSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            for name, value in body.validated_data.items():
                setattr(mapping, name, value)
            actions.save_object_mapping(mapping, self.actor)
        return Response(s.FiltersSerializer(mapping).data)


# --- Field mappings -----------------------------------------------------------------------


@extend_schema_view(**_list_doc(s.FieldMappingQuery, "Field mappings of the tenant's object mappings."))
class FieldMappingViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    TenantViewSet,
):
    model = FieldMapping
    tenant_path = "object_mapping__integration__tenant"
    serializer_class = s.FieldMappingSerializer
    query_serializer = s.FieldMappingQuery
    ordering = "id"

    def get_queryset(self) -> QuerySet:
        rows = self.tenant_rows()
        filters = self.query()
        if "object_mapping" in filters:
            rows = rows.filter(object_mapping_id=filters["object_mapping"])
        if "integration" in filters:
            rows = rows.filter(object_mapping__integration_id=filters["integration"])
        return rows

    def perform_create(self, serializer) -> None:
        data = serializer.validated_data
        # mappings.services.validation refuses what the editor refuses, in its words (a 400).
        field_mapping = FieldMapping(**data)
        actions.save_field_mapping(field_mapping, self.actor)
        serializer.instance = field_mapping

    def perform_update(self, serializer) -> None:
        for name, value in serializer.validated_data.items():
            setattr(serializer.instance, name, value)
        actions.save_field_mapping(serializer.instance, self.actor)

    def perform_destroy(self, instance: FieldMapping) -> None:
        actions.delete_field_mapping(instance, self.actor)

    @extend_schema(
        responses=s.FieldMappingRemovalSerializer(many=True),
        description="Field mappings removed in the last day that can still be put back, newest first (the editor's Undo).",
    )
    @action(detail=False, methods=["get"], url_path="removed", pagination_class=None, filter_backends=[])
    def removed(self, request: Request) -> Response:
        removals = actions.undoable_removals(request.tenant)
        return Response(
            s.FieldMappingRemovalSerializer([s.FieldMappingRemovalSerializer.of(e) for e in removals], many=True).data
        )

    @extend_schema(
        request=None,
        responses={201: s.FieldMappingSerializer},
        description="Undo a removal of the last day (GET /api/field-mappings/removed/ lists them): the mapping "
        "comes back as it was, checked like a new one; audited.",
    )
    @action(detail=False, methods=["post"], url_path=r"removed/(?P<removal>[0-9]+)/restore")
    def restore(self, request: Request, removal: str) -> Response:
        entry = next((e for e in actions.undoable_removals(request.tenant) if str(e.pk) == removal), None)
        if entry is None:
            raise exceptions.NotFound("No removal of the last day with this id is waiting to be undone.")
        restored = actions.restore_field_mapping(entry, self.actor)
        return Response(s.FieldMappingSerializer(restored, context=self.get_serializer_context()).data, status=201)


# --- Runs ---------------------------------------------------------------------------------


@extend_schema_view(
    **_list_doc(s.RunQuery, "Sync runs, newest first, with their counts."),
    retrieve=extend_schema(responses=s.RunDetailSerializer),
)
class RunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    model = SyncRun
    tenant_path = "integration__tenant"
    serializer_class = s.RunSerializer
    query_serializer = s.RunQuery
    ordering = "-created_at"

    def get_queryset(self) -> QuerySet:
        rows = self.tenant_rows().select_related("requested_by")
        filters = self.query()
        if self.action == "list":
            rows = rows.defer("log", "state")
        for name in ("status", "trigger"):
            if name in filters:
                rows = rows.filter(**{name: filters[name]})
        if "integration" in filters:
            rows = rows.filter(integration_id=filters["integration"])
        return rows

    def get_serializer_class(self):
        return s.RunDetailSerializer if self.action == "retrieve" else s.RunSerializer

    @extend_schema(
        responses=s.RunProgressSerializer,
        description="Progress of a run (historical syncs count records done of total), rate and time left.",
    )
    @action(detail=True, methods=["get"])
    def progress(self, request: Request, pk: str | None = None) -> Response:
        return Response(s.RunProgressSerializer(s.RunProgressSerializer.of(self.get_object())).data)

    @extend_schema(request=None, responses=s.RunSerializer, description="Stop a queued or running run after its current page.")
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        run = run_requests.cancel_run(self.get_object(), self.actor)
        return Response(s.RunSerializer(run, context=self.get_serializer_context()).data)


# --- Record events ------------------------------------------------------------------------


@extend_schema_view(**_list_doc(s.RecordEventQuery, "What happened to each record, newest first: search and filter."))
class RecordEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    model = RecordEvent
    tenant_path = "integration__tenant"
    serializer_class = s.RecordEventSerializer
    query_serializer = s.RecordEventQuery
    ordering = "-created_at"

    def get_queryset(self) -> QuerySet:
        rows = self.tenant_rows()
        filters = self.query()
        for name in ("outcome", "source_side"):
            if name in filters:
                rows = rows.filter(**{name: filters[name]})
        for name in ("integration", "run", "object_mapping"):
            if name in filters:
                rows = rows.filter(**{f"{name}_id": filters[name]})
        if filters.get("q"):
            q = filters["q"]
            rows = rows.filter(Q(source_id=q) | Q(target_id=q) | Q(message__icontains=q) | Q(details__icontains=q))
        return rows

    @extend_schema(
        request=None, responses={202: s.RunSerializer}, description="Retry this record now: queues a run limited to it."
    )
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        return self.accepted(run_requests.retry_record(self.get_object(), self.actor))


# --- Previews ---------------------------------------------------------------------------


@extend_schema_view(**_list_doc(s.PreviewQuery, "Previews (dry runs) and their results; started from an integration."))
class PreviewViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    model = Preview
    tenant_path = "integration__tenant"
    serializer_class = s.PreviewSerializer
    query_serializer = s.PreviewQuery
    ordering = "-created_at"

    def get_queryset(self) -> QuerySet:
        rows = self.tenant_rows()
        filters = self.query()
        if "integration" in filters:
            rows = rows.filter(integration_id=filters["integration"])
        return rows

    @extend_schema(request=None, responses=s.PreviewSerializer, description="Cancel a preview that is queued or running.")
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        return Response(s.PreviewSerializer(previews.cancel_preview(self.get_object())).data)


# --- Ambiguous matches --------------------------------------------------------------------


@extend_schema_view(
    **_list_doc(
        s.AmbiguousMatchQuery,
        "Records that match two or more existing records (or whose one candidate matches another record too): "
        "they wait, creating nothing, until a candidate is chosen.",
    )
)
class AmbiguousMatchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    model = AmbiguousMatch
    tenant_path = "integration__tenant"
    serializer_class = s.AmbiguousMatchSerializer
    query_serializer = s.AmbiguousMatchQuery
    ordering = "-created_at"

    def get_queryset(self) -> QuerySet:
        rows = self.tenant_rows().select_related("object_mapping")
        filters = self.query()
        for name in ("integration", "object_mapping"):
            if name in filters:
                rows = rows.filter(**{f"{name}_id": filters[name]})
        if "resolved" in filters:
            rows = rows.filter(resolved_at__isnull=not filters["resolved"])
        return rows

    @extend_schema(
        request=s.ResolveMatchSerializer,
        responses={200: s.AmbiguousMatchSerializer},
        description="Link the record to the chosen candidate (exactly that pair); the next run syncs its fields.",
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str | None = None) -> Response:
        match = self.get_object()  # first: another tenant's id is a 404 whatever the body
        body = s.ResolveMatchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        match = matching_actions.resolve_ambiguous(match, self.actor, body.validated_data["target_id"])
        return Response(s.AmbiguousMatchSerializer(match, context=self.get_serializer_context()).data)


# --- Connections --------------------------------------------------------------------------


@extend_schema_view(**_list_doc(s.ConnectionQuery, "The tenant's connections: status and last error, never a secret."))
class ConnectionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    model = Connection
    serializer_class = s.ConnectionSerializer
    query_serializer = s.ConnectionQuery
    ordering = "-created_at"

    def get_queryset(self) -> QuerySet:
        rows = self.tenant_rows()
        filters = self.query()
        for name in ("system", "status"):
            if name in filters:
                rows = rows.filter(**{name: filters[name]})
        return rows

    @extend_schema(
        request=None,
        responses=s.ConnectionTestResultSerializer,
        description="Test the connection against the vendor now and record the result on it.",
    )
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        connection = self.get_object()
        result = test_connection(connection, self.actor)
        connection.refresh_from_db()
        data = {"ok": result.ok, "message": redact(result.message), "account": result.account, "connection": connection}
        return Response(s.ConnectionTestResultSerializer(data).data)


__all__ = [
    "ConnectionViewSet",
    "FieldMappingViewSet",
    "IntegrationViewSet",
    "ObjectMappingViewSet",
    "RecordEventViewSet",
    "RunViewSet",
]
