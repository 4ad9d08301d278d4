"""Read-only staff console pages over the engine's state: runs, events, links, inbox,
deferred queue. Staff change things through actions (retry, resync), never by editing rows."""

from django.contrib import admin

from syncsmart.models import DeferredRecord, InboxItem, RecordEvent, RecordLink, SyncCursor, SyncRun


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "integration", "trigger", "status", "counts", "pages", "started_at", "finished_at", "error"]
    list_filter = ["status", "trigger"]
    search_fields = ["integration__tenant__name", "error"]
    list_select_related = ["integration__tenant", "integration__other_connection"]


@admin.register(RecordEvent)
class RecordEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "integration", "source_side", "source_object", "source_id", "target_id", "outcome", "message"]
    list_filter = ["outcome", "source_side"]
    search_fields = ["source_id", "target_id", "message", "integration__tenant__name"]
    list_select_related = ["integration__tenant", "integration__other_connection"]


@admin.register(RecordLink)
class RecordLinkAdmin(ReadOnlyAdmin):
    list_display = ["integration", "hubspot_object", "hubspot_id", "other_object", "other_id", "updated_at"]
    search_fields = ["hubspot_id", "other_id", "integration__tenant__name"]
    list_select_related = ["integration__tenant", "integration__other_connection"]


@admin.register(InboxItem)
class InboxItemAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "integration", "side", "object_type", "record_id", "change", "status", "attempts"]
    list_filter = ["status", "side"]
    search_fields = ["record_id", "event_id"]
    list_select_related = ["integration__tenant", "integration__other_connection"]


@admin.register(DeferredRecord)
class DeferredRecordAdmin(ReadOnlyAdmin):
    list_display = ["integration", "object_mapping", "source_side", "record_id", "attempts", "next_attempt_at", "reason"]
    search_fields = ["record_id"]
    list_select_related = ["integration__tenant", "object_mapping"]


@admin.register(SyncCursor)
class SyncCursorAdmin(ReadOnlyAdmin):
    list_display = ["integration", "object_mapping", "side", "kind", "cursor", "updated_at"]
    list_select_related = ["integration__tenant", "object_mapping"]
