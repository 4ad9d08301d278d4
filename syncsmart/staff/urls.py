from django.urls import path

from syncsmart.staff import views

urlpatterns = [
    path("", views.index, name="staff_index"),
    path("lockouts/", views.lockouts, name="staff_lockouts"),
    path("lockouts/<int:attempt_id>/unlock/", views.unlock, name="staff_unlock"),
    path("tenants/<int:tenant_id>/", views.tenant_detail, name="staff_tenant"),
    path("tenants/<int:tenant_id>/view-as/", views.view_as, name="staff_view_as"),
    path("view-as/end/", views.view_as_end, name="staff_view_as_end"),
    path("integrations/<int:integration_id>/sync/", views.sync_now, name="staff_sync_now"),
    path("integrations/<int:integration_id>/historical/", views.historical_resync, name="staff_historical_resync"),
    path("integrations/<int:integration_id>/switch/", views.main_switch, name="staff_main_switch"),
    path("integrations/<int:integration_id>/webhooks/", views.repair_webhooks, name="staff_repair_webhooks"),
    path("portal-approvals/<int:approval_id>/", views.decide_portal, name="staff_decide_portal"),
    path("connections/<uuid:connection_id>/refresh-schema/", views.refresh_schema, name="staff_refresh_schema"),
]
