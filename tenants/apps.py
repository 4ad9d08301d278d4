from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Tenants and access"

    def ready(self) -> None:
        # Connects the lock-out receiver (tells the account's owner); imported here because it
        # needs the app registry.
        from tenants import throttle  # noqa: F401
