from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from syncsmart.health import healthz
from syncsmart.metrics_view import metrics_view
from tenants.throttle import oauth_complete

admin.site.site_header = "SyncSmart staff console"
admin.site.site_title = "SyncSmart staff"
admin.site.index_title = "Records"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    # Browsers ask for /favicon.ico on pages without an icon link (the API's JSON, error pages).
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    path("staff/admin/", admin.site.urls),
    path("staff/", include("syncsmart.staff.urls")),
    # The installer's OAuth callback behind the log-in lock-out (the same URL as social:complete).
    path("oauth/complete/<str:backend>/", oauth_complete, name="oauth_complete"),
    path("oauth/", include("social_django.urls", namespace="social")),
    # Vendor webhooks into the sync engine's inbox (syncsmart/webhooks.py).
    path("webhooks/", include("syncsmart.webhooks")),
    path("api/", include("syncsmart.api.urls")),
    path("", include("tenants.urls")),
    path("", include("mappings.urls")),
    path("", include("tenants.onboarding.urls")),
    path("", include("mappings.views.go_live")),
]
