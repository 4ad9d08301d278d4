from django.apps import AppConfig


class SyncsmartConfig(AppConfig):
    name = "syncsmart"
    verbose_name = "Sync engine"
