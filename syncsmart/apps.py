from django.apps import AppConfig


class SyncsmartConfig(AppConfig):
    name = "syncsmart"
    verbose_name = "Sync engine"

    def ready(self) -> None:
        # App loading: signal receivers connect once every app's models are loaded — the worker
        # heartbeat (django-q2's post_spawn) and the engine's (an integration's schedule goes with it).
        from syncsmart import heartbeat  # noqa: F401
        from syncsmart.engine import queue  # noqa: F401
