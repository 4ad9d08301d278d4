from django.apps import AppConfig


class SyncsmartConfig(AppConfig):
    name = "syncsmart"
    verbose_name = "Sync engine"

    def ready(self) -> None:
        # App loading: connects the worker heartbeat to django-q2's post_spawn signal and
        # registers the `check --deploy` checks and the SQLite file permissions.
        from syncsmart import checks, heartbeat, sqlite_files  # noqa: F401
