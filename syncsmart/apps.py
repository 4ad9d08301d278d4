from django.apps import AppConfig


class SyncsmartConfig(AppConfig):
    name = "syncsmart"
    verbose_name = "Sync engine"

    def ready(self) -> None:
        # App loading: connects the worker heartbeat to django-q2's post_spawn signal.
        from syncsmart import heartbeat  # noqa: F401
