from django.urls import path

from tenants.onboarding import views

urlpatterns = [
    path("install/", views.install, name="install"),
    path("onboarding/", views.resume, name="onboarding_resume"),
    path("onboarding/done/", views.done, name="onboarding_done"),
    path("onboarding/<str:step>/", views.step_view, name="onboarding_step"),
]
