"""/api/…: the REST endpoints, the OpenAPI 3 schema and its browsable documentation."""

from django.urls import path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny
from rest_framework.routers import SimpleRouter

from syncsmart.api import conflict_views, lifecycle_views, views
from syncsmart.api.errors import unknown_endpoint

router = SimpleRouter()
router.register("integrations", views.IntegrationViewSet, basename="api-integration")
router.register("object-mappings", views.ObjectMappingViewSet, basename="api-object-mapping")
router.register("field-mappings", views.FieldMappingViewSet, basename="api-field-mapping")
router.register("runs", views.RunViewSet, basename="api-run")
router.register("events", views.RecordEventViewSet, basename="api-event")
router.register("previews", views.PreviewViewSet, basename="api-preview")
router.register("ambiguous-matches", views.AmbiguousMatchViewSet, basename="api-ambiguous-match")
router.register("connections", views.ConnectionViewSet, basename="api-connection")
# Extra routes on integrations and object mappings (go-live, record actions, held deletions).
router.register("integrations", lifecycle_views.IntegrationGoLiveViewSet, basename="api-integration-go-live")
router.register("object-mappings", lifecycle_views.ObjectMappingRecordsViewSet, basename="api-object-mapping-records")
router.register("conflicts", conflict_views.ConflictViewSet, basename="api-conflict")
router.register("held-deletions", lifecycle_views.HeldDeletionViewSet, basename="api-held-deletion")

# The schema and docs describe the API to anyone; they hold no tenant data.
public = {"authentication_classes": [], "permission_classes": [AllowAny], "throttle_classes": []}

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="api-docs", permanent=False), name="api-root"),
    path("schema/", SpectacularAPIView.as_view(**public), name="api-schema"),
    # The split view serves its start-up script as a file: no inline script (Content-Security-Policy).
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema", **public), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema", **public), name="api-redoc"),
    *router.urls,
    re_path(r"^.*$", unknown_endpoint),
]
