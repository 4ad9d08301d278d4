"""Object mappings, field mappings and filters over the API: the same validation and the same
messages as the mapping editor, the same audited actions."""

import pytest

from mappings.compat import compatibility_problems
from mappings.filters import FilterError, validate_filter
from mappings.models import FieldMapping, ObjectMapping
from tenants.models import AuditLog
from tests.api.conftest import error_of
from tests.api.factories import FieldMappingFactory, IntegrationFactory, ObjectMappingFactory

pytestmark = pytest.mark.django_db

HUB_SCHEMA = {
    "companies": [{"name": "domain", "type": "string"}],
    "contacts": [
        {"name": "email", "type": "email"},
        {"name": "firstname", "type": "string"},
        {"name": "birthdate", "type": "date"},
        {"name": "lifecyclestage", "type": "enumeration"},
    ],
}
CW_SCHEMA = {
    "companies": [{"name": "website", "type": "string"}],
    "contacts": [
        {"name": "email", "type": "email"},
        {"name": "firstName", "type": "string"},
        {"name": "age", "type": "number"},
        {"name": "title", "type": "string"},
    ],
}


@pytest.fixture
def integration(api):
    integration = IntegrationFactory(tenant=api.tenant)
    for connection, schema in ((integration.hubspot_connection, HUB_SCHEMA), (integration.other_connection, CW_SCHEMA)):
        connection.schema_cache = schema
        connection.save()
    return integration


@pytest.fixture
def contacts(integration):
    return ObjectMappingFactory(integration=integration, hubspot_object="contacts", other_object="contacts")


# --- Object mappings ---------------------------------------------------------------------


def test_create_an_object_mapping(api, integration):
    response = api.admin.post(
        "/api/object-mappings/",
        {
            "integration": integration.pk,
            "hubspot_object": "companies",
            "other_object": "companies",
            "direction": "to_other",
            "hubspot_match_field": "domain",
            "other_match_field": "website",
        },
    )

    assert response.status_code == 201, response.json()
    mapping = ObjectMapping.objects.get(pk=response.json()["id"])
    assert mapping.direction == "to_other" and mapping.integration == integration
    assert response.json()["field_mapping_count"] == 0
    assert AuditLog.objects.filter(tenant=api.tenant, action="object_mapping.created", target_id=str(mapping.pk)).exists()


def test_a_second_mapping_of_the_same_pair_is_refused_by_the_model(api, contacts):
    response = api.admin.post(
        "/api/object-mappings/",
        {"integration": contacts.integration_id, "hubspot_object": "contacts", "other_object": "contacts"},
    )
    assert response.status_code == 409  # a conflict with the mapping that exists
    assert "already exists" in error_of(response)["message"]
    assert ObjectMapping.objects.filter(integration=contacts.integration).count() == 1


def test_object_types_must_exist_in_the_discovered_schema(api, integration):
    response = api.admin.post(
        "/api/object-mappings/", {"integration": integration.pk, "hubspot_object": "contacts", "other_object": "tickets"}
    )
    assert response.status_code == 422  # well formed, but not a type this tenant's system has
    assert error_of(response)["fields"] == {
        "other_object": ["ConnectWise Manage has no object type “tickets”. Known: companies, contacts."]
    }


def test_an_object_mapping_cannot_be_added_to_another_tenants_integration(api):
    theirs = IntegrationFactory(tenant=api.other_tenant)
    response = api.admin.post(
        "/api/object-mappings/", {"integration": theirs.pk, "hubspot_object": "deals", "other_object": "opportunities"}
    )
    assert response.status_code == 404  # another tenant's id reads as no such object, in the body as in the path
    assert "integration" in error_of(response)["fields"]
    assert not ObjectMapping.objects.filter(integration=theirs).exists()


def test_list_filters_object_mappings_by_integration_and_counts_fields(api, contacts):
    FieldMappingFactory(object_mapping=contacts)
    ObjectMappingFactory(integration=IntegrationFactory(tenant=api.tenant))
    ObjectMappingFactory(integration=IntegrationFactory(tenant=api.other_tenant))

    assert len(api.viewer.get("/api/object-mappings/").json()["results"]) == 2
    rows = api.viewer.get(f"/api/object-mappings/?integration={contacts.integration_id}").json()["results"]
    assert [(r["id"], r["field_mapping_count"]) for r in rows] == [(contacts.pk, 1)]
    assert api.viewer.get("/api/object-mappings/?integration=abc").status_code == 400


def test_change_and_delete_an_object_mapping(api, contacts):
    url = f"/api/object-mappings/{contacts.pk}/"
    changed = api.admin.patch(url, {"direction": "to_hubspot", "system_of_record": "other", "enabled": False})
    assert changed.status_code == 200, changed.json()
    contacts.refresh_from_db()
    assert (contacts.direction, contacts.system_of_record, contacts.enabled) == ("to_hubspot", "other", False)

    assert api.admin.delete(url).status_code == 204
    assert not ObjectMapping.objects.filter(pk=contacts.pk).exists()
    assert AuditLog.objects.filter(tenant=api.tenant, action="object_mapping.deleted").exists()


def test_object_mappings_are_read_only_for_viewers_and_invisible_to_outsiders(api, contacts):
    url = f"/api/object-mappings/{contacts.pk}/"
    assert api.viewer.get(url).status_code == 200
    assert api.outsider.get(url).status_code == 404
    assert api.viewer.patch(url, {"enabled": False}).status_code == 403
    assert api.outsider.patch(url, {"enabled": False}).status_code == 404
    assert api.viewer.delete(url).status_code == 403
    assert api.outsider.delete(url).status_code == 404
    assert (
        api.viewer.post(
            "/api/object-mappings/",
            {"integration": contacts.integration_id, "hubspot_object": "deals", "other_object": "opportunities"},
        ).status_code
        == 403
    )
    contacts.refresh_from_db()
    assert contacts.enabled


# --- Filters -----------------------------------------------------------------------------


def test_read_and_replace_a_filter(api, contacts):
    url = f"/api/object-mappings/{contacts.pk}/filters/"
    assert api.viewer.get(url).json() == {"filter_to_other": {}, "filter_to_hubspot": {}}
    group = {
        "match": "any",
        "conditions": [
            {"field": "lifecyclestage", "operator": "eq", "value": "customer"},
            {"field": "email", "operator": "is_not_empty"},
        ],
    }

    response = api.admin.patch(url, {"filter_to_other": group})

    assert response.status_code == 200
    assert response.json() == {"filter_to_other": group, "filter_to_hubspot": {}}
    contacts.refresh_from_db()
    assert contacts.filter_to_other == group
    assert AuditLog.objects.filter(tenant=api.tenant, action="object_mapping.changed").exists()


def test_a_malformed_filter_is_refused_with_the_filter_builders_message(api, contacts):
    bad = {"match": "all", "conditions": [{"field": "email", "operator": "resembles", "value": "x"}]}
    with pytest.raises(FilterError) as expected:
        validate_filter(bad)

    response = api.admin.patch(f"/api/object-mappings/{contacts.pk}/filters/", {"filter_to_hubspot": bad})

    assert response.status_code == 400
    assert error_of(response)["fields"] == {"filter_to_hubspot": [str(expected.value)]}
    contacts.refresh_from_db()
    assert contacts.filter_to_hubspot == {}


def test_filters_are_read_only_for_viewers_and_invisible_to_outsiders(api, contacts):
    url = f"/api/object-mappings/{contacts.pk}/filters/"
    assert api.viewer.patch(url, {"filter_to_other": {}}).status_code == 403
    assert api.outsider.patch(url, {"filter_to_other": {}}).status_code == 404
    assert api.outsider.get(url).status_code == 404


# --- Field mappings ----------------------------------------------------------------------


def test_create_a_field_mapping_with_types_from_the_live_schema(api, contacts):
    response = api.admin.post(
        "/api/field-mappings/",
        {
            "object_mapping": contacts.pk,
            "hubspot_field": "firstname",
            "other_field": "title",
            "direction": "to_other",
            "only_if_target_empty": True,
        },
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["hubspot_type"], body["other_type"], body["transform"]) == ("string", "string", "none")
    mapping = FieldMapping.objects.get(pk=body["id"])
    assert mapping.only_if_target_empty and mapping.direction == "to_other"
    assert AuditLog.objects.filter(tenant=api.tenant, action="field_mapping.created").exists()


def test_an_incompatible_pair_is_refused_with_the_editors_words(api, contacts):
    expected = compatibility_problems(
        FieldMapping(
            object_mapping=contacts,
            hubspot_field="birthdate",
            other_field="age",
            hubspot_type="date",
            other_type="number",
            transform="convert",
        )
    )
    assert expected and "a date and a number mean different things" in expected[0]

    response = api.admin.post(
        "/api/field-mappings/", {"object_mapping": contacts.pk, "hubspot_field": "birthdate", "other_field": "age"}
    )

    assert response.status_code == 400
    assert error_of(response)["message"] == " ".join(expected)
    assert not FieldMapping.objects.filter(object_mapping=contacts).exists()


def test_text_into_a_dropdown_needs_a_value_map(api, contacts):
    payload = {
        "object_mapping": contacts.pk,
        "hubspot_field": "lifecyclestage",
        "other_field": "title",
        "direction": "to_hubspot",
    }
    refused = api.admin.post("/api/field-mappings/", payload)
    assert refused.status_code == 400
    assert "Add a value map" in error_of(refused)["message"]

    accepted = api.admin.post("/api/field-mappings/", {**payload, "value_map": {"Customer": "customer"}})
    assert accepted.status_code == 201, accepted.json()
    assert FieldMapping.objects.get(pk=accepted.json()["id"]).value_map == {"Customer": "customer"}


def test_a_field_the_schema_does_not_have_is_refused_like_in_the_editor(api, contacts):
    response = api.admin.post(
        "/api/field-mappings/", {"object_mapping": contacts.pk, "hubspot_field": "shoe_size", "other_field": "title"}
    )
    assert response.status_code == 400
    assert error_of(response)["fields"] == {"hubspot_field": ["HubSpot has no field “shoe_size”. Pick one from the list."]}


def test_mapping_the_same_pair_twice_is_refused(api, contacts):
    FieldMappingFactory(
        object_mapping=contacts, hubspot_field="email", other_field="email", hubspot_type="email", other_type="email"
    )
    response = api.admin.post(
        "/api/field-mappings/", {"object_mapping": contacts.pk, "hubspot_field": "email", "other_field": "email"}
    )
    assert response.status_code == 400
    assert error_of(response)["message"] == "These two fields are already mapped to each other."


def test_changing_a_field_mapping_is_checked_again(api, contacts):
    mapping = FieldMappingFactory(
        object_mapping=contacts,
        hubspot_field="firstname",
        other_field="age",
        hubspot_type="string",
        other_type="number",
        direction="to_hubspot",
    )
    url = f"/api/field-mappings/{mapping.pk}/"

    refused = api.admin.patch(url, {"direction": "both"})
    assert refused.status_code == 400
    assert "text is not always a number" in error_of(refused)["message"]
    mapping.refresh_from_db()
    assert mapping.direction == "to_hubspot"

    accepted = api.admin.patch(url, {"direction": "both", "transform": "convert", "hubspot_field": "ignored"})
    assert accepted.status_code == 200, accepted.json()
    mapping.refresh_from_db()
    assert (mapping.direction, mapping.transform, mapping.hubspot_field) == ("both", "convert", "firstname")


def test_list_and_delete_field_mappings(api, contacts):
    mine = FieldMappingFactory(object_mapping=contacts)
    FieldMappingFactory(object_mapping=ObjectMappingFactory(integration=IntegrationFactory(tenant=api.other_tenant)))

    rows = api.viewer.get(f"/api/field-mappings/?object_mapping={contacts.pk}").json()["results"]
    assert [r["id"] for r in rows] == [mine.pk]
    assert [r["id"] for r in api.viewer.get("/api/field-mappings/").json()["results"]] == [mine.pk]

    assert api.admin.delete(f"/api/field-mappings/{mine.pk}/").status_code == 204
    assert not FieldMapping.objects.filter(pk=mine.pk).exists()
    assert AuditLog.objects.filter(tenant=api.tenant, action="field_mapping.deleted").exists()


def test_field_mappings_are_read_only_for_viewers_and_invisible_to_outsiders(api, contacts):
    mapping = FieldMappingFactory(object_mapping=contacts)
    url = f"/api/field-mappings/{mapping.pk}/"
    assert api.outsider.get(url).status_code == 404
    assert api.viewer.patch(url, {"enabled": False}).status_code == 403
    assert api.outsider.patch(url, {"enabled": False}).status_code == 404
    assert api.viewer.delete(url).status_code == 403
    assert api.outsider.delete(url).status_code == 404
    create = {"object_mapping": contacts.pk, "hubspot_field": "firstname", "other_field": "firstName"}
    assert api.viewer.post("/api/field-mappings/", create).status_code == 403
    outsider = api.outsider.post("/api/field-mappings/", create)
    assert outsider.status_code == 404 and "object_mapping" in error_of(outsider)["fields"]
    assert FieldMapping.objects.filter(object_mapping=contacts).count() == 1


def test_the_id_fields_written_back_are_named_per_object_mapping_and_shown(api, contacts):
    url = f"/api/object-mappings/{contacts.pk}/"
    shown = api.viewer.get(url).json()
    assert shown["write_back_fields"] == {"hubspot": "syncsmart_connectwise_id", "other": "SyncSmart HubSpot ID"}
    changed = api.admin.patch(url, {"write_back_field_hubspot": "erp_ref"})
    assert changed.status_code == 200, changed.json()
    assert changed.json()["write_back_fields"] == {"hubspot": "erp_ref", "other": "SyncSmart HubSpot ID"}
    refused = api.admin.patch(url, {"write_back_field_hubspot": "ERP Ref!"})
    assert refused.status_code == 422  # well formed; the system's own naming rule refuses it
    assert "lower-case letters, digits and _" in error_of(refused)["message"]
    contacts.refresh_from_db()
    assert contacts.write_back_field_hubspot == "erp_ref"


def test_writing_ids_back_is_switched_on_through_the_api(api, contacts):
    response = api.admin.patch(f"/api/integrations/{contacts.integration_id}/", {"write_back_ids": True})
    assert response.status_code == 200, response.json()
    contacts.integration.refresh_from_db()
    assert contacts.integration.write_back_ids is True
