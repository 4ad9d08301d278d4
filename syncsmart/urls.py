from django.contrib import admin
from django.urls import include, path

from syncsmart.health import healthz

admin.site.site_header = "SyncSmart staff console"
admin.site.site_title = "SyncSmart staff"
admin.site.index_title = "All tenants"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("staff/", admin.site.urls),
    path("oauth/", include("social_django.urls", namespace="social")),
    path("", include("tenants.urls")),
    path("", include("mappings.urls")),
]
