from django.urls import path

from mappings.views import (
    conflicts,
    deletions,
    editor,
    fields,
    filters,
    health,
    history,
    overview,
    preview,
    record,
    record_log,
    sandbox,
)

base = "integrations/<int:pk>/"
mapping = base + "mappings/<int:mapping_pk>/"
one_record = base + "records/<int:mapping_pk>/<str:side>/<str:record_id>/"

urlpatterns = [
    path("", overview.home, name="home"),
    path(base, overview.integration_detail, name="integration"),
    path(base + "switch/", overview.main_switch, name="main_switch"),
    path(base + "sync-now/", overview.sync_now, name="sync_now"),
    path(mapping, editor.mapping_editor, name="mapping_editor"),
    path(mapping + "fields/add/", editor.field_add, name="field_add"),
    path(mapping + "fields/search/", editor.field_search, name="field_search"),
    path(mapping + "fields/check/", editor.pair_check, name="pair_check"),
    path(mapping + "fields/<int:field_pk>/", editor.field_update, name="field_update"),
    path(mapping + "fields/<int:field_pk>/delete/", editor.field_delete, name="field_delete"),
    path(mapping + "fields/removed/<int:removal_pk>/restore/", editor.field_restore, name="field_restore"),
    path(mapping + "restore-defaults/", editor.restore_defaults, name="restore_defaults"),
    path(mapping + "filters/", filters.filter_builder, name="filter_builder"),
    path(mapping + "deletions/", deletions.held_deletions, name="held_deletions"),
    path(mapping + "filters/count/", filters.filter_count, name="filter_count"),
    path(base + "runs/", health.sync_health, name="runs"),
    path(base + "health/retry/<str:cause>/", health.retry_cause, name="retry_cause"),
    path(base + "records/", record_log.record_log, name="record_log"),
    path(base + "conflicts/", conflicts.conflict_queue, name="conflict_queue"),
    path(base + "conflicts/accept/", conflicts.conflicts_bulk, name="conflicts_bulk"),
    path(base + "conflicts/<int:conflict_pk>/accept/", conflicts.conflict_resolve, name="conflict_resolve"),
    path(base + "records/<int:event_pk>/retry/", record_log.retry_event, name="retry_event"),
    path(base + "matches/<int:match_pk>/resolve/", record_log.resolve_match, name="resolve_match"),
    path(one_record, record.record_page, name="record_page"),
    path(one_record + "retry/", record.record_retry, name="record_retry"),
    path(one_record + "resync/", record.record_resync, name="record_resync"),
    path(one_record + "unlink/", record.record_unlink, name="record_unlink"),
    path(base + "refresh-fields/", fields.refresh_fields, name="refresh_fields"),
    path(base + "preview/", preview.preview_page, name="preview"),
    path(base + "preview/<uuid:preview_pk>/cancel/", preview.preview_cancel, name="preview_cancel"),
    path(base + "historical/", history.historical, name="historical"),
    path(base + "historical/<uuid:run_pk>/progress/", history.historical_progress, name="historical_progress"),
    path(base + "historical/<uuid:run_pk>/cancel/", history.historical_cancel, name="historical_cancel"),
    path("sandbox/", sandbox.sandbox, name="sandbox"),
    path("sandbox/<uuid:connection_pk>/<str:object_type>/", sandbox.sandbox_records, name="sandbox_records"),
    path("sandbox/<uuid:connection_pk>/<str:object_type>/<str:record_id>/", sandbox.sandbox_record, name="sandbox_record"),
]
