"""REST endpoints for the sandbox → production switch (its preview, the switch, the roll-back),
one record's actions (retry, re-sync, unlink) and the deletions the mass-deletion guard holds.

Each reads through the request's tenant (another tenant's id is a 404, in the path or in the
body) and acts only through the functions the pages call (mappings.services.go_live, .previewed,
.record_actions, .deletions): one validation layer, the same refusals in the same words."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from connectors.models import Connection
from mappings.models import Integration, ObjectMapping
from mappings.services import deletions, go_live, previewed, record_actions
from syncsmart.api import lifecycle_serializers as ls
from syncsmart.api import serializers as s
from syncsmart.api.views import TenantViewSet, preview_required
from syncsmart.models import PendingDeletion
from tenants.access import tenant_queryset
from tenants.models import GoLiveSwitch


def _refused(exc: go_live.GoLiveError) -> exceptions.ValidationError:
    return exceptions.ValidationError({"non_field_errors": [str(exc)]})


class IntegrationGoLiveViewSet(TenantViewSet):
    """/api/integrations/{id}/go-live/…: the guided switch, as on the integration's go-live page."""

    model = Integration

    def get_queryset(self) -> QuerySet:
        return self.tenant_rows()

    def _production(self, connection_id) -> Connection:
        connection = tenant_queryset(self.request.tenant, Connection).filter(pk=connection_id).first()
        if connection is None:
            raise exceptions.NotFound("No such connection.")
        return connection

    def _prepared(self, integration: Integration, connection_id) -> GoLiveSwitch:
        connection = self._production(connection_id)
        try:
            switch = go_live.prepare(integration, self.actor)
            return go_live.use_production_connection(switch, self.actor, connection)
        except go_live.GoLiveError as exc:
            raise _refused(exc) from exc

    def _state(self, switch: GoLiveSwitch) -> Response:
        switch.steps = go_live.describe(switch)
        return Response(ls.GoLiveSwitchSerializer(switch).data)

    @extend_schema(
        request=None,
        responses=ls.GoLiveSwitchSerializer,
        description="The integration's latest sandbox → production switch with each step's effect; 404 when none.",
    )
    @action(detail=True, methods=["get"], url_path="go-live")
    def go_live_state(self, request: Request, pk: str | None = None) -> Response:
        switch = self.get_object().go_live_switches.first()
        if switch is None:
            raise exceptions.NotFound("This integration has not been switched to production.")
        return self._state(switch)

    @extend_schema(
        request=ls.GoLivePreviewRequestSerializer,
        responses={202: s.PreviewSerializer},
        description="Before the switch: a preview (dry run) of the first run against the production connection "
        "(or a fresh one asked in the last 30 minutes). Poll /api/previews/{id}/; confirm with its id.",
    )
    @action(detail=True, methods=["post"], url_path="go-live/preview")
    def go_live_preview(self, request: Request, pk: str | None = None) -> Response:
        integration = self.get_object()
        body = ls.GoLivePreviewRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        switch = self._prepared(integration, body.validated_data["production_connection"])
        preview = previewed.preview_for(integration, self.actor, previewed.go_live(switch.production_connection))
        return Response(s.PreviewSerializer(preview).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=ls.GoLiveSwitchRequestSerializer,
        responses=ls.GoLiveSwitchSerializer,
        description="Switch to production: stop, clear the sandbox's links and cursors, use the production "
        "connection, discover both schemas, link only where both sides hold records, start again. As for a "
        "historical sync, it starts only once `confirmed_preview` names the finished preview against that connection "
        "(POST /api/integrations/{id}/go-live/preview/); otherwise 409 preview_required.",
    )
    @action(detail=True, methods=["post"], url_path="go-live/switch")
    def go_live_switch(self, request: Request, pk: str | None = None) -> Response:
        integration = self.get_object()
        body = ls.GoLiveSwitchRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        switch = self._prepared(integration, data["production_connection"])
        try:
            switch = go_live.start_after_preview(
                switch,
                self.actor,
                data.get("confirmed_preview"),
                mappings=data["mappings"],
                keep_test_mode=data["keep_test_mode"],
            )
        except previewed.PreviewRequired as exc:
            route = f"POST /api/integrations/{integration.pk}/go-live/preview/ with the same production_connection"
            raise preview_required(exc, route) from exc
        except go_live.GoLiveError as exc:
            raise _refused(exc) from exc
        return self._state(switch)

    @extend_schema(
        request=None,
        responses=ls.GoLiveSwitchSerializer,
        description="Undo the switch (an open one, or a finished one on the day it finished): the integration "
        "is as it was before, sandbox links and cursors restored.",
    )
    @action(detail=True, methods=["post"], url_path="go-live/roll-back")
    def go_live_roll_back(self, request: Request, pk: str | None = None) -> Response:
        integration = self.get_object()
        switch = go_live.open_switch(integration) or integration.go_live_switches.first()
        if switch is None:
            raise exceptions.NotFound("This integration has no switch to roll back.")
        try:
            return self._state(go_live.roll_back(switch, self.actor))
        except go_live.GoLiveError as exc:
            raise _refused(exc) from exc


class ObjectMappingRecordsViewSet(TenantViewSet):
    """/api/object-mappings/{id}/records/… and …/held-deletions/…: one record's actions and the
    guard's held deletions of one object mapping."""

    model = ObjectMapping
    tenant_path = "integration__tenant"

    def get_queryset(self) -> QuerySet:
        return self.tenant_rows().select_related("integration")

    def _record(self, request: Request) -> tuple[ObjectMapping, str, str]:
        mapping = self.get_object()  # first: another tenant's id is a 404 whatever the body
        body = ls.RecordActionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return mapping, body.validated_data["side"], body.validated_data["record_id"]

    @extend_schema(
        request=ls.RecordActionSerializer,
        responses={202: s.RunSerializer},
        description="Retry one record now: queues a run limited to it (the record page's Retry).",
    )
    @action(detail=True, methods=["post"], url_path="records/retry")
    def record_retry(self, request: Request, pk: str | None = None) -> Response:
        mapping, side, record_id = self._record(request)
        return self.accepted(record_actions.retry_record(mapping.integration, mapping, side, record_id, self.actor))

    @extend_schema(
        request=ls.RecordActionSerializer,
        responses={202: s.RunSerializer},
        description="Re-sync one linked record: every mapped field is sent again, the system of record winning "
        "where the two differ. 404 when the record is not linked.",
    )
    @action(detail=True, methods=["post"], url_path="records/resync")
    def record_resync(self, request: Request, pk: str | None = None) -> Response:
        mapping, side, record_id = self._record(request)
        try:
            run = record_actions.resync_record(mapping.integration, mapping, side, record_id, self.actor)
        except record_actions.NotLinked as exc:
            raise exceptions.NotFound(str(exc)) from exc
        return self.accepted(run)

    @extend_schema(
        request=ls.RecordActionSerializer,
        responses={204: None},
        description="Unlink one record from its counterpart; neither record is deleted. 404 when not linked.",
    )
    @action(detail=True, methods=["post"], url_path="records/unlink")
    def record_unlink(self, request: Request, pk: str | None = None) -> Response:
        mapping, side, record_id = self._record(request)
        try:
            record_actions.unlink_record(mapping, side, record_id, self.actor)
        except record_actions.NotLinked as exc:
            raise exceptions.NotFound(str(exc)) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None,
        responses=ls.HeldDecisionResultSerializer,
        description="Confirm the deletions the mass-deletion guard holds for this object mapping: a run queued "
        "now applies them (archive or delete, as the mapping's policy says).",
    )
    @action(detail=True, methods=["post"], url_path="held-deletions/confirm")
    def held_confirm(self, request: Request, pk: str | None = None) -> Response:
        mapping = self.get_object()
        count = deletions.confirm_held_deletions(mapping.integration, self.actor, mapping)
        return Response(ls.HeldDecisionResultSerializer({"count": count}).data)

    @extend_schema(
        request=None,
        responses=ls.HeldDecisionResultSerializer,
        description="Reject the held deletions of this object mapping: nothing is removed, the links stay.",
    )
    @action(detail=True, methods=["post"], url_path="held-deletions/reject")
    def held_reject(self, request: Request, pk: str | None = None) -> Response:
        mapping = self.get_object()
        count = deletions.discard_held_deletions(mapping.integration, self.actor, mapping)
        return Response(ls.HeldDecisionResultSerializer({"count": count}).data)


@extend_schema_view(
    list=extend_schema(
        parameters=[ls.HeldDeletionQuery],
        description="Deletions the mass-deletion guard holds until a person confirms or rejects them "
        "(POST /api/object-mappings/{id}/held-deletions/confirm/ or …/reject/).",
    )
)
class HeldDeletionViewSet(mixins.ListModelMixin, TenantViewSet):
    model = PendingDeletion
    tenant_path = "integration__tenant"
    serializer_class = ls.HeldDeletionSerializer
    query_serializer = ls.HeldDeletionQuery
    ordering = "-noticed_at"

    def get_queryset(self) -> QuerySet:
        rows = self.tenant_rows().filter(status=PendingDeletion.Status.HELD).order_by("-noticed_at", "-id")
        filters = self.query()
        for name in ("integration", "object_mapping"):
            if name in filters:
                rows = rows.filter(**{f"{name}_id": filters[name]})
        return rows


__all__ = ["HeldDeletionViewSet", "IntegrationGoLiveViewSet", "ObjectMappingRecordsViewSet"]
