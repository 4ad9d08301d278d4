from django.apps import AppConfig


class SyncsmartConfig(AppConfig):
    name = "syncsmart"
    verbose_name = "Sync engine"

    def ready(self) -> None:
        # App loading: the `check --deploy` checks, the SQLite file permissions and the worker
        # heartbeat (django-q2's post_spawn) register once every app's models are loaded.
        from syncsmart import checks, heartbeat, sqlite_files  # noqa: F401

        # App loading: the engine's signal receivers (an integration's schedule goes with it).
        from syncsmart.engine import queue  # noqa: F401
