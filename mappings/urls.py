from django.urls import path

from mappings import ui_editor, ui_filter_views, ui_history, ui_log, ui_sandbox, views

base = "integrations/<int:pk>/"
mapping = base + "mappings/<int:mapping_pk>/"

urlpatterns = [
    path("", views.home, name="home"),
    path(base, views.integration_detail, name="integration"),
    path(base + "switch/", views.main_switch, name="main_switch"),
    path(base + "sync-now/", views.sync_now, name="sync_now"),
    path(mapping, ui_editor.mapping_editor, name="mapping_editor"),
    path(mapping + "fields/add/", ui_editor.field_add, name="field_add"),
    path(mapping + "fields/search/", ui_editor.field_search, name="field_search"),
    path(mapping + "fields/check/", ui_editor.pair_check, name="pair_check"),
    path(mapping + "fields/<int:field_pk>/", ui_editor.field_update, name="field_update"),
    path(mapping + "fields/<int:field_pk>/delete/", ui_editor.field_delete, name="field_delete"),
    path(mapping + "restore-defaults/", ui_editor.restore_defaults, name="restore_defaults"),
    path(mapping + "filters/", ui_filter_views.filter_builder, name="filter_builder"),
    path(mapping + "filters/count/", ui_filter_views.filter_count, name="filter_count"),
    path(base + "runs/", ui_log.runs, name="runs"),
    path(base + "records/", ui_log.record_log, name="record_log"),
    path(base + "records/<int:event_pk>/retry/", ui_log.retry_event, name="retry_event"),
    path(base + "historical/", ui_history.historical, name="historical"),
    path(base + "historical/<uuid:run_pk>/progress/", ui_history.historical_progress, name="historical_progress"),
    path(base + "historical/<uuid:run_pk>/cancel/", ui_history.historical_cancel, name="historical_cancel"),
    path("sandbox/", ui_sandbox.sandbox, name="sandbox"),
    path("sandbox/<uuid:connection_pk>/<str:object_type>/", ui_sandbox.sandbox_records, name="sandbox_records"),
    path("sandbox/<uuid:connection_pk>/<str:object_type>/<str:record_id>/", ui_sandbox.sandbox_record, name="sandbox_record"),
]
