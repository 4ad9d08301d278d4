from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils import timezone

from connectors.registry import SYSTEM_CHOICES, system
from syncsmart.core.fields import EncryptedJSONField

if TYPE_CHECKING:
    from connectors.base import Connector


class Environment(models.TextChoices):
    SANDBOX = "sandbox", "Sandbox"
    PRODUCTION = "production", "Production"


class Connection(models.Model):
    """One tenant's account in one system: where it is, how to authenticate, whether it works."""

    class Status(models.TextChoices):
        UNTESTED = "untested", "Not tested yet"
        OK = "ok", "Connected"
        ERROR = "error", "Failing"
        RECONNECT_NEEDED = "reconnect_needed", "Reconnect needed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="connections")
    system = models.CharField(max_length=20, choices=SYSTEM_CHOICES)
    environment = models.CharField(max_length=12, choices=Environment.choices, default=Environment.SANDBOX)
    name = models.CharField(max_length=200, blank=True)
    # Non-secret settings: base URL, site, company id, org URL, portal id, client id...
    config = models.JSONField(default=dict, blank=True)
    # Secrets: API keys, private keys, client secrets. Encrypted at rest, never shown back.
    credentials = EncryptedJSONField()
    # OAuth access / refresh tokens, encrypted like credentials.
    oauth_tokens = EncryptedJSONField()
    token_expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.UNTESTED)
    last_error = models.TextField(blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_ok_at = models.DateTimeField(null=True, blank=True)
    # {object type: [field dicts]} from discover_fields, so editors do not call the vendor each time.
    schema_cache = models.JSONField(default=dict, blank=True)
    schema_refreshed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant__name", "system", "name"]
        indexes = [models.Index(fields=["tenant", "system"])]

    def __str__(self) -> str:
        return self.name or f"{self.get_system_display()} ({self.get_environment_display()})"

    @property
    def system_info(self):
        return system(self.system)

    @property
    def has_credentials(self) -> bool:
        return Connection.credentials.field.is_set(self) or Connection.oauth_tokens.field.is_set(self)

    def connector(self, **kwargs: Any) -> Connector:
        return self.system_info.connector_class.from_connection(self, **kwargs)

    def record_success(self) -> None:
        now = timezone.now()
        Connection.objects.filter(pk=self.pk).update(status=self.Status.OK, last_error="", last_checked_at=now, last_ok_at=now)
        self.status, self.last_error, self.last_checked_at, self.last_ok_at = self.Status.OK, "", now, now

    def record_failure(self, message: str, reconnect: bool = False) -> None:
        status = self.Status.RECONNECT_NEEDED if reconnect else self.Status.ERROR
        now = timezone.now()
        Connection.objects.filter(pk=self.pk).update(status=status, last_error=message[:2000], last_checked_at=now)
        self.status, self.last_error, self.last_checked_at = status, message[:2000], now

    def save_tokens(self, tokens: dict[str, Any], expires_at) -> None:
        """Persist refreshed OAuth tokens (called by connectors after a refresh)."""
        self.oauth_tokens = tokens
        self.token_expires_at = expires_at
        self.save(update_fields=["oauth_tokens", "token_expires_at", "updated_at"])
