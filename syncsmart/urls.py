from django.contrib import admin
from django.urls import include, path

from syncsmart.health import healthz

admin.site.site_header = "SyncSmart staff console"
admin.site.site_title = "SyncSmart staff"
admin.site.index_title = "Records"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("staff/admin/", admin.site.urls),
    path("staff/", include("syncsmart.staff.urls")),
    path("oauth/", include("social_django.urls", namespace="social")),
    # Vendor webhooks into the sync engine's inbox (syncsmart/webhooks.py).
    path("webhooks/", include("syncsmart.webhooks")),
    path("api/", include("syncsmart.api.urls")),
    path("", include("tenants.urls")),
    path("", include("mappings.urls")),
    path("", include("tenants.onboarding.urls")),
    path("", include("mappings.go_live_views")),
]
