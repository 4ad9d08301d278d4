from django.urls import path

from mappings import views

urlpatterns = [
    path("", views.home, name="home"),
]
