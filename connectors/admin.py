from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from connectors.models import Connection


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    """Staff see whether secrets are set, never what they are."""

    list_display = ["__str__", "tenant", "system", "environment", "status", "secrets", "last_checked_at", "console"]
    list_filter = ["system", "environment", "status"]
    search_fields = ["name", "tenant__name"]
    list_select_related = ["tenant"]
    fields = [
        "tenant",
        "system",
        "environment",
        "name",
        "config",
        "secrets",
        "token_expires_at",
        "status",
        "last_error",
        "last_checked_at",
        "last_ok_at",
        "schema_refreshed_at",
    ]
    readonly_fields = ["secrets", "token_expires_at", "last_checked_at", "last_ok_at", "schema_refreshed_at"]

    @admin.display(description="Staff console")
    def console(self, obj: Connection):
        return format_html('<a href="{}">tenant page</a>', reverse("staff_tenant", args=[obj.tenant_id]))

    @admin.display(description="Secrets")
    def secrets(self, obj: Connection) -> str:
        credentials = "set" if Connection.credentials.field.is_set(obj) else "not set"
        tokens = "set" if Connection.oauth_tokens.field.is_set(obj) else "not set"
        return f"credentials: {credentials}; OAuth tokens: {tokens}"
