"""The mapping editor: custom mappings from the live schema, the type check in plain words,
directions, only-if-empty, system of record, the dropdown preview and restore defaults."""

import pytest
from django.urls import reverse

from mappings.models import FieldMapping
from mappings.services.schema import field_index, preview_to_hubspot, preview_to_other
from tenants.models import AuditLog
from tests.ui.factories import FieldMappingFactory

pytestmark = pytest.mark.django_db


def url(name, mapping, *extra):
    return reverse(name, args=[mapping.integration_id, mapping.pk, *extra])


def test_a_custom_mapping_picked_from_both_schemas_is_saved_with_its_types(team, contacts):
    response = team.admin.post(
        url("field_add", contacts),
        {"hubspot_field": "jobtitle", "other_field": "title", "direction": "to_other", "only_if_target_empty": "on"},
    )
    assert response.status_code == 302
    fm = FieldMapping.objects.get(object_mapping=contacts, hubspot_field="jobtitle")
    assert (fm.other_field, fm.direction, fm.only_if_target_empty, fm.is_default) == ("title", "to_other", True, False)
    assert (fm.hubspot_type, fm.other_type) == ("string", "string")
    assert AuditLog.objects.filter(action="field_mapping.created", target_id=str(fm.pk)).exists()


def test_an_incompatible_pair_is_refused_with_a_reason_in_plain_words(team, contacts):
    response = team.admin.post(
        url("field_add", contacts), {"hubspot_field": "birthdate", "other_field": "custom_7", "direction": "both"}
    )
    body = response.content.decode()
    assert response.status_code == 422
    assert "a date and a number mean different things" in body
    assert not FieldMapping.objects.filter(object_mapping=contacts, hubspot_field="birthdate").exists()


def test_the_live_check_explains_a_refused_pair_before_saving(team, contacts):
    refused = team.admin.get(url("pair_check", contacts), {"hubspot_field": "jobtitle", "other_field": "type"}).content.decode()
    assert "free text may not match any option of the dropdown" in refused
    fine = team.admin.get(url("pair_check", contacts), {"hubspot_field": "phone", "other_field": "phone"}).content.decode()
    assert "can be mapped" in fine


def test_a_field_that_is_not_in_the_schema_is_refused(team, contacts):
    response = team.admin.post(
        url("field_add", contacts), {"hubspot_field": "no_such_field", "other_field": "title", "direction": "both"}
    )
    assert response.status_code == 422
    assert "HubSpot has no field “no_such_field”" in response.content.decode()


def test_field_search_matches_name_label_or_type_and_shows_the_type(team, contacts):
    body = team.admin.get(url("field_search", contacts), {"side": "other", "q": "date"}).content.decode()
    assert "birthDay" in body and "firstName" not in body
    assert "date" in body
    by_label = team.admin.get(url("field_search", contacts), {"side": "hubspot", "q": "lifecycle"}).content.decode()
    assert "lifecyclestage" in by_label and "dropdown" in by_label


def test_direction_only_if_empty_and_winner_per_field_are_saved(team, contacts):
    fm = contacts.field_mappings.get(hubspot_field="firstname")
    response = team.admin.post(
        url("field_update", contacts, fm.pk),
        {
            f"fm{fm.pk}-direction": "to_hubspot",
            f"fm{fm.pk}-only_if_target_empty": "on",
            f"fm{fm.pk}-system_of_record": "other",
            f"fm{fm.pk}-enabled": "on",
        },
    )
    assert response.status_code == 302
    fm.refresh_from_db()
    assert (fm.direction, fm.only_if_target_empty, fm.system_of_record, fm.winner) == ("to_hubspot", True, "other", "other")


def test_direction_and_system_of_record_per_object_are_saved(team, contacts):
    response = team.admin.post(
        url("mapping_editor", contacts),
        {"enabled": "on", "direction": "to_hubspot", "system_of_record": "other", "create_policy": "match_only"},
    )
    assert response.status_code == 302
    contacts.refresh_from_db()
    assert (contacts.direction, contacts.system_of_record, contacts.create_policy) == ("to_hubspot", "other", "match_only")
    assert AuditLog.objects.filter(action="object_mapping.changed", target_id=str(contacts.pk)).exists()


def test_remove_then_restore_defaults_brings_a_default_back_and_keeps_custom_ones(team, integration):
    from mappings.services.actions import install_defaults

    integration.hubspot_connection.schema_cache = {}
    integration.hubspot_connection.save()
    integration.other_connection.schema_cache = {}
    integration.other_connection.save()
    contacts = install_defaults(integration, None)[1]
    custom = FieldMappingFactory(object_mapping=contacts, hubspot_field="jobtitle", other_field="custom_title", is_default=False)
    default = contacts.field_mappings.get(hubspot_field="firstname")
    assert team.admin.post(url("field_delete", contacts, default.pk)).status_code == 302
    assert not contacts.field_mappings.filter(hubspot_field="firstname").exists()
    assert team.admin.post(url("restore_defaults", contacts)).status_code == 302
    assert contacts.field_mappings.filter(hubspot_field="firstname", is_default=True).exists()
    assert FieldMapping.objects.filter(pk=custom.pk).exists()


def test_dropdown_preview_shows_how_each_option_maps_and_which_are_unmatched(team, contacts):
    FieldMappingFactory(
        object_mapping=contacts,
        hubspot_field="lifecyclestage",
        other_field="type",
        transform="dropdown",
        hubspot_type="enumeration",
        other_type="enumeration",
    )
    body = team.admin.get(url("mapping_editor", contacts)).content.decode()
    assert "HubSpot → other system: 3 options" in body and "1 unmatched" in body
    assert "Other system → HubSpot: 3 options" in body and "1 to be added in HubSpot" in body


def test_dropdown_preview_follows_the_documented_label_algorithm(integration):
    hub = field_index(integration.hubspot_connection, "contacts")["lifecyclestage"]
    other = field_index(integration.other_connection, "contacts")["type"]
    outbound = {row.source_value: (row.target_value, row.matched) for row in preview_to_other(hub, other).rows}
    # HubSpot options match by label (value first, then label); "evangelist" matches nothing.
    assert outbound == {"lead": ("1", True), "customer": ("2", True), "evangelist": ("", False)}
    inbound = {row.source_label: (row.target_value, row.matched) for row in preview_to_hubspot(other, hub).rows}
    assert inbound == {"Lead": ("lead", True), "Customer": ("customer", True), "Vendor": ("", False)}


def test_dropdown_preview_compares_labels_exactly_as_the_engine_does():
    from mappings.services.schema import SchemaField

    hub = SchemaField("tier", "Tier", "enumeration", options=(("vip", "VIP"),))
    other = SchemaField("level", "Level", "enumeration", options=(("1", "Vip"),))
    [outbound] = preview_to_other(hub, other).rows
    assert not outbound.matched and "reported as unmatched" in outbound.how
    [inbound] = preview_to_hubspot(other, hub).rows
    assert not inbound.matched and "a new HubSpot option “Vip” will be added" in inbound.how


def test_the_editor_names_the_id_fields_and_refuses_a_name_the_system_would(team, contacts):
    page = team.admin.get(url("mapping_editor", contacts)).content.decode()
    assert 'placeholder="syncsmart_connectwise_id"' in page and 'placeholder="SyncSmart HubSpot ID"' in page
    assert "Ids written back (off" in page
    form = {"enabled": "on", "direction": "both", "system_of_record": "hubspot", "create_policy": "create"}
    saved = team.admin.post(url("mapping_editor", contacts), {**form, "write_back_field_other": "HubSpot record"})
    assert saved.status_code == 302
    contacts.refresh_from_db()
    assert contacts.write_back_field_name("other") == "HubSpot record"
    refused = team.admin.post(url("mapping_editor", contacts), {**form, "write_back_field_hubspot": "ERP Ref!"})
    assert "lower-case letters, digits and _" in refused.content.decode()
