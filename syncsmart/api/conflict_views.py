"""/api/conflicts/: the conflict review queue (issue 20) — fields under conflict review that both
sides changed since they last synced, with both values. Accept one side or a typed value for one
(`POST /api/conflicts/{id}/resolve/`), or one side for several (`POST /api/conflicts/resolve/`).

Rows are read through the request's tenant (another tenant's id is a 404) and decided only through
mappings.services.conflicts, which the conflict review page calls too: the same refusals in the
same words."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from mappings.models import Integration
from mappings.services import conflicts
from syncsmart.api import serializers as s
from syncsmart.api.strict import StrictJSONTypes
from syncsmart.api.views import TenantViewSet
from syncsmart.models import HeldConflict
from tenants.access import tenant_queryset

ACCEPT_HELP = (
    "hubspot: keep HubSpot's value; other: keep the other system's; value: the typed `value` (written to HubSpot first)."
)


class HeldConflictSerializer(serializers.ModelSerializer):
    hubspot_field = serializers.CharField(source="field_mapping.hubspot_field", read_only=True)
    other_field = serializers.CharField(source="field_mapping.other_field", read_only=True)

    class Meta:
        model = HeldConflict
        fields = [
            "id",
            "integration",
            "object_mapping",
            "field_mapping",
            "hubspot_field",
            "other_field",
            "hubspot_id",
            "other_id",
            "label",
            "hubspot_value",
            "other_value",
            "status",
            "accepted",
            "typed_value",
            "resolved_by",
            "resolved_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ResolveConflictSerializer(StrictJSONTypes, serializers.Serializer):
    accept = serializers.ChoiceField(choices=HeldConflict.Accepted.choices, help_text=ACCEPT_HELP)
    value = serializers.CharField(
        required=False, allow_blank=True, max_length=conflicts.MAX_TYPED, help_text="With accept=value: the value."
    )


class BulkResolveSerializer(StrictJSONTypes, serializers.Serializer):
    integration = serializers.IntegerField(min_value=1, max_value=s.MAX_ID)
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=s.MAX_ID), min_length=1, max_length=conflicts.MAX_BULK
    )
    accept = serializers.ChoiceField(
        choices=[(HeldConflict.Accepted.HUBSPOT, "HubSpot's value"), (HeldConflict.Accepted.OTHER, "The other system's value")],
        help_text="hubspot or other: the same side for every conflict named (a typed value is one conflict's).",
    )


class BulkResultSerializer(serializers.Serializer):
    resolved = serializers.IntegerField()
    run = s.RunSerializer(allow_null=True)


class ConflictQuery(serializers.Serializer):
    integration = s._id_field("Only this integration's conflicts.")
    object_mapping = s._id_field("Only this object mapping's conflicts.")
    status = serializers.ChoiceField(
        choices=HeldConflict.Status.choices, required=False, help_text="Default: open (waiting for review)."
    )


@extend_schema_view(
    list=extend_schema(parameters=[ConflictQuery], description="Conflicts held for review (open by default), both values each.")
)
class ConflictViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    model = HeldConflict
    tenant_path = "integration__tenant"
    serializer_class = HeldConflictSerializer
    query_serializer = ConflictQuery

    def get_queryset(self) -> QuerySet:
        rows = self.tenant_rows().select_related("field_mapping").order_by("-created_at", "-id")
        if self.action != "list":
            return rows
        filters = self.query()
        for name in ("integration", "object_mapping"):
            if name in filters:
                rows = rows.filter(**{f"{name}_id": filters[name]})
        return rows.filter(status=filters.get("status", HeldConflict.Status.OPEN))

    @extend_schema(
        request=ResolveConflictSerializer,
        responses={202: s.RunSerializer},
        description="Accept HubSpot's value, the other system's, or a typed one; a run writes it across (202, the run).",
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str | None = None) -> Response:
        conflict = self.get_object()  # first: another tenant's id is a 404 whatever the body
        body = ResolveConflictSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        run = conflicts.resolve_conflict(conflict, self.actor, body.validated_data["accept"], body.validated_data.get("value"))
        return self.accepted(run)

    @extend_schema(
        operation_id="conflicts_resolve_many",
        request=BulkResolveSerializer,
        responses={202: BulkResultSerializer},
        description="Bulk accept: one side's value for each named conflict of one integration still waiting; one run.",
    )
    @action(detail=False, methods=["post"], url_path="resolve")
    def resolve_many(self, request: Request) -> Response:
        body = BulkResolveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        integration = tenant_queryset(request.tenant, Integration).filter(pk=data["integration"]).first()
        if integration is None:
            raise exceptions.NotFound("No such integration in your tenant.")
        chosen = list(HeldConflict.objects.filter(integration=integration, pk__in=data["ids"]))
        count, run = conflicts.resolve_conflicts(integration, chosen, self.actor, data["accept"])
        result = {"resolved": count, "run": run}
        return Response(BulkResultSerializer(result, context=self.get_serializer_context()).data, status=202)
