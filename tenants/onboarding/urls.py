from django.urls import path

from tenants.onboarding import salesforce, views

urlpatterns = [
    path("install/", views.install, name="install"),
    path("onboarding/", views.resume, name="onboarding_resume"),
    path("onboarding/done/", views.done, name="onboarding_done"),
    path("onboarding/salesforce/connect/", salesforce.connect, name="salesforce_oauth_connect"),
    path("onboarding/salesforce/callback/", salesforce.callback, name="salesforce_oauth_callback"),
    path("onboarding/<str:step>/", views.step_view, name="onboarding_step"),
]
