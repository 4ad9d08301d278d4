"""Request and response bodies of the go-live, record and held-deletion endpoints
(syncsmart/api/lifecycle_views.py). Shapes only: every rule is in mappings/services/."""

from __future__ import annotations

from rest_framework import serializers

from syncsmart.api.strict import StrictJSONTypes
from syncsmart.core.choices import Side
from syncsmart.models import PendingDeletion
from tenants.models import GoLiveSwitch


class GoLivePreviewRequestSerializer(StrictJSONTypes, serializers.Serializer):
    production_connection = serializers.UUIDField(
        help_text="A production connection of this workspace to the integration's other system, tested."
    )


class GoLiveSwitchRequestSerializer(StrictJSONTypes, serializers.Serializer):
    production_connection = serializers.UUIDField()
    confirmed_preview = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="The finished preview against that production connection (POST .../go-live/preview/) you have read. "
        "Without it the answer is 409 preview_required.",
    )
    mappings = serializers.ChoiceField(choices=GoLiveSwitch.Mappings.choices, default=GoLiveSwitch.Mappings.KEEP)
    keep_test_mode = serializers.BooleanField(default=False)


class GoLiveStepSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    done = serializers.BooleanField()
    effect = serializers.CharField(help_text="What the step changed, once done, in words.")


class GoLiveSwitchSerializer(serializers.ModelSerializer):
    steps = GoLiveStepSerializer(many=True, read_only=True)

    class Meta:
        model = GoLiveSwitch
        fields = [
            "id",
            "integration",
            "status",
            "production_connection",
            "sandbox_connection",
            "mappings",
            "keep_test_mode",
            "finished_at",
            "steps",
        ]
        read_only_fields = fields


class HeldDeletionSerializer(serializers.ModelSerializer):
    class Meta:
        model = PendingDeletion
        fields = [
            "id",
            "integration",
            "object_mapping",
            "source_side",
            "source_id",
            "target_id",
            "policy",
            "reason",
            "noticed_at",
        ]
        read_only_fields = fields


class HeldDeletionQuery(serializers.Serializer):
    integration = serializers.IntegerField(required=False, min_value=1)
    object_mapping = serializers.IntegerField(required=False, min_value=1)


class HeldDecisionResultSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Held deletions confirmed (applied by the run queued now) or rejected (kept).")


class RecordActionSerializer(StrictJSONTypes, serializers.Serializer):
    side = serializers.ChoiceField(choices=Side.choices, help_text="The side whose id `record_id` is.")
    record_id = serializers.CharField(max_length=100)
