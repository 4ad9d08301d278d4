"""Staff console pages for integrations and their mappings. Changes with side effects (main
switch, schedule) go through mappings.services.actions, so these pages only view and edit mappings."""

from django.contrib import admin

from mappings.models import FieldMapping, Integration, ObjectMapping


class ObjectMappingInline(admin.TabularInline):
    model = ObjectMapping
    extra = 0
    fields = ["name", "hubspot_object", "other_object", "direction", "enabled", "system_of_record", "order"]
    show_change_link = True


class FieldMappingInline(admin.TabularInline):
    model = FieldMapping
    extra = 0
    fields = ["hubspot_field", "other_field", "direction", "transform", "only_if_target_empty", "system_of_record", "enabled"]


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = ["__str__", "tenant", "environment", "enabled", "test_mode", "block_free_emails", "schedule_minutes"]
    list_filter = ["enabled", "environment", "test_mode"]
    search_fields = ["name", "tenant__name"]
    list_select_related = ["tenant", "other_connection"]
    # The main switch and schedule change through actions (audit + q2 schedule), not here.
    readonly_fields = ["enabled", "schedule_minutes", "created_at", "updated_at"]
    inlines = [ObjectMappingInline]


@admin.register(ObjectMapping)
class ObjectMappingAdmin(admin.ModelAdmin):
    list_display = ["__str__", "integration", "direction", "enabled", "system_of_record", "create_policy", "order"]
    list_filter = ["direction", "enabled"]
    search_fields = ["integration__tenant__name", "hubspot_object", "other_object"]
    list_select_related = ["integration__tenant", "integration__other_connection"]
    inlines = [FieldMappingInline]
