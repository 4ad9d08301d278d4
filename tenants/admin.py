from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from tenants.models import AuditLog, GoLiveSwitch, Membership, OnboardingProgress, Tenant


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "hubspot_portal_id", "status", "created_at", "console"]
    list_filter = ["status"]
    search_fields = ["name", "slug", "hubspot_portal_id"]
    inlines = [MembershipInline]

    @admin.display(description="Staff console")
    def console(self, obj: Tenant) -> str:
        return format_html('<a href="{}">health, runs, actions</a>', reverse("staff_tenant", args=[obj.pk]))


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "tenant__name"]
    list_select_related = ["user", "tenant"]


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ["created_at", "tenant", "actor_label", "action", "target_type", "target_id", "summary"]
    list_filter = ["action"]
    search_fields = ["actor_label", "action", "summary", "tenant__name"]
    list_select_related = ["tenant"]
    readonly_fields = [f.name for f in AuditLog._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(OnboardingProgress)
class OnboardingProgressAdmin(admin.ModelAdmin):
    """Where each tenant is in the installer. Read-only: answers hold no secrets, and changing
    them here would bypass the wizard's checks."""

    list_display = ["tenant", "reached", "chosen_system", "completed_at", "updated_at"]
    list_filter = ["reached", "completed_at"]
    search_fields = ["tenant__name"]
    list_select_related = ["tenant"]
    readonly_fields = [f.name for f in OnboardingProgress._meta.fields]

    @admin.display(description="Other system")
    def chosen_system(self, obj: OnboardingProgress) -> str:
        return obj.answers.get("system", "—")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(GoLiveSwitch)
class GoLiveSwitchAdmin(admin.ModelAdmin):
    """Sandbox -> production switches and the steps each completed. Resume / roll back happen on the
    integration's go-live page (mappings/go_live.py), never by editing these rows."""

    list_display = ["integration", "tenant", "status", "steps", "webhooks_paused", "created_at", "finished_at"]
    list_filter = ["status"]
    search_fields = ["tenant__name"]
    list_select_related = ["tenant", "integration"]
    exclude = ["snapshot"]  # rows kept for rollback: large, and not for reading
    readonly_fields = [f.name for f in GoLiveSwitch._meta.fields if f.name != "snapshot"]

    @admin.display(description="Steps done")
    def steps(self, obj: GoLiveSwitch) -> str:
        return f"{len(obj.steps_done)}/6: " + ", ".join(obj.steps_done) if obj.steps_done else "0/6"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
