"""One validation layer under the mapping editor and the REST API (issue 20): the same input is
refused by both, with the same words — duplicate targets, fields the schema does not have,
filter operators that do not fit the field's type, dropdown values with no matching option."""

import pytest

from mappings.models import FieldMapping
from tests.ui.factories import FieldMappingFactory, IntegrationFactory, ObjectMappingFactory

pytestmark = pytest.mark.django_db

DUPLICATE = "ConnectWise Manage field “First Name” already receives HubSpot “First name”."
UNKNOWN_FILTER_FIELD = "HubSpot has no field “emial”. Pick one from the list."
OPERATOR_MISFIT = "“is greater than” does not fit “First name”, a text field."
UNMATCHED = "1 dropdown value has no matching option: “Evangelist”."


@pytest.fixture
def contacts(api):
    integration = IntegrationFactory(tenant=api.tenant)
    mapping = ObjectMappingFactory(integration=integration)
    FieldMappingFactory(object_mapping=mapping, hubspot_field="firstname", other_field="firstName")
    return mapping


def ui_add(api, mapping, **fields):
    url = f"/integrations/{mapping.integration_id}/mappings/{mapping.pk}/fields/add/"
    return api.team.admin.post(url, {"direction": "both", "transform": "none", **fields})


def api_add(api, mapping, **fields):
    return api.admin.post("/api/field-mappings/", {"object_mapping": mapping.pk, **fields}, format="json")


def ui_save_filter(api, mapping, field: str, operator: str, value: str):
    url = f"/integrations/{mapping.integration_id}/mappings/{mapping.pk}/filters/"
    data = {
        "flow": "to_other",
        "op": "save",
        "to_other-match": "all",
        "to_other-g0-match": "all",
        "to_other-g0-c0-field": field,
        "to_other-g0-c0-op": operator,
        "to_other-g0-c0-value": value,
    }
    return api.team.admin.post(url, data)


def api_save_filter(api, mapping, field: str, operator: str, value: str):
    body = {"filter_to_other": {"match": "all", "conditions": [{"field": field, "operator": operator, "value": value}]}}
    return api.admin.patch(f"/api/object-mappings/{mapping.pk}/filters/", body, format="json")


def test_a_second_mapping_into_a_target_field_is_refused_by_the_editor_and_the_api(api, contacts):
    ui = ui_add(api, contacts, hubspot_field="jobtitle", other_field="firstName")
    assert DUPLICATE in ui.content.decode() and "Mapped" not in ui.content.decode()
    response = api_add(api, contacts, hubspot_field="jobtitle", other_field="firstName")
    assert response.status_code == 400 and DUPLICATE in str(response.json())
    assert not FieldMapping.objects.filter(hubspot_field="jobtitle").exists()
    # One way into HubSpot only, ConnectWise's firstName is a source, not a target: allowed...
    one_way = api_add(api, contacts, hubspot_field="jobtitle", other_field="firstName", direction="to_hubspot")
    assert one_way.status_code == 201, one_way.json()
    # ...and now HubSpot's job title is a target, so a second mapping into it is refused.
    again = api_add(api, contacts, hubspot_field="jobtitle", other_field="title")
    assert again.status_code == 400 and "HubSpot field “Job title” already receives ConnectWise Manage “First Name”." in str(
        again.json()
    )


def test_a_filter_on_a_misspelled_field_is_refused_by_the_builder_and_the_api(api, contacts):
    ui = ui_save_filter(api, contacts, "emial", "eq", "a@b.example")
    assert UNKNOWN_FILTER_FIELD in ui.content.decode() and "Filter saved" not in ui.content.decode()
    response = api_save_filter(api, contacts, "emial", "eq", "a@b.example")
    assert response.status_code == 400 and UNKNOWN_FILTER_FIELD in str(response.json())
    contacts.refresh_from_db()
    assert not contacts.filter_to_other


def test_an_operator_that_does_not_fit_the_type_is_refused_by_both(api, contacts):
    ui = ui_save_filter(api, contacts, "firstname", "gt", "M")
    assert OPERATOR_MISFIT in ui.content.decode()
    response = api_save_filter(api, contacts, "firstname", "gt", "M")
    assert response.status_code == 400 and OPERATOR_MISFIT in str(response.json())
    assert api_save_filter(api, contacts, "num_notes", "gt", "3").status_code == 200


def test_a_dropdown_with_an_unmatched_value_needs_a_hand_mapping_or_a_choice(api, contacts):
    pair = {"hubspot_field": "lifecyclestage", "other_field": "type", "direction": "to_other"}
    ui = ui_add(api, contacts, **pair, transform="dropdown")
    assert UNMATCHED in ui.content.decode()
    response = api_add(api, contacts, **pair, transform="dropdown")
    assert response.status_code == 400 and UNMATCHED in str(response.json())
    by_hand = api_add(api, contacts, **pair, transform="dropdown", value_map={"evangelist": "3"})
    assert by_hand.status_code == 201, by_hand.json()
    FieldMapping.objects.filter(pk=by_hand.json()["id"]).delete()
    accepted = ui_add(api, contacts, **pair, transform="dropdown", accept_unmatched="on")
    assert accepted.status_code == 302
    assert FieldMapping.objects.get(hubspot_field="lifecyclestage").accept_unmatched
