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
    assert response.status_code == 422 and UNKNOWN_FILTER_FIELD in str(response.json())
    contacts.refresh_from_db()
    assert not contacts.filter_to_other


def test_an_operator_that_does_not_fit_the_type_is_refused_by_both(api, contacts):
    ui = ui_save_filter(api, contacts, "firstname", "gt", "M")
    assert OPERATOR_MISFIT in ui.content.decode()
    response = api_save_filter(api, contacts, "firstname", "gt", "M")
    assert response.status_code == 422 and OPERATOR_MISFIT in str(response.json())
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


@pytest.fixture
def stages(contacts):
    """A ConnectWise dropdown whose labels differ from HubSpot's lifecycle stages in case and
    wording: exact labels match none of them, the loosened label algorithm suggests two."""
    connection = contacts.integration.other_connection
    schema = dict(connection.schema_cache)
    stage = {
        "name": "stage",
        "label": "Stage",
        "type": "enumeration",
        "options": [
            {"value": "10", "label": "LEAD"},
            {"value": "11", "label": "Customer - active"},
            {"value": "12", "label": "Advocate"},
        ],
    }
    schema["contacts"] = [*schema["contacts"], stage]
    connection.schema_cache = schema
    connection.save(update_fields=["schema_cache"])
    return contacts


STAGE_PAIR = {"hubspot_field": "lifecyclestage", "other_field": "stage", "direction": "to_other", "transform": "dropdown"}
NOT_AN_OPTION = "“Evangelist” is mapped to “99”, which is not an option of “Stage”. Pick one of its options."


def test_the_value_table_offers_each_unmatched_value_with_the_label_algorithms_suggestion(api, stages):
    url = f"/integrations/{stages.integration_id}/mappings/{stages.pk}/fields/check/"
    body = api.team.admin.get(url, STAGE_PAIR).content.decode()
    assert "3 dropdown values match no option" in body
    # "Lead" → "LEAD" and "Customer" → "Customer - active" preselected as suggestions; "Evangelist" has none.
    assert '<option value="10" selected>LEAD</option>' in body
    assert '<option value="11" selected>Customer - active</option>' in body
    assert body.count("selected>") == 2 and body.count(">suggested<") == 2
    assert 'name="map:evangelist"' in body
    assert "Values I leave unmapped: leave the ConnectWise Manage field empty" in body


def test_values_mapped_by_hand_in_the_table_are_saved_as_the_value_map(api, stages):
    table = {"map:lead": "10", "map:customer": "11", "map:evangelist": "12"}
    response = ui_add(api, stages, **STAGE_PAIR, **table)
    assert response.status_code == 302, response.content.decode()
    saved = FieldMapping.objects.get(object_mapping=stages, hubspot_field="lifecyclestage")
    assert saved.value_map == {"lead": "10", "customer": "11", "evangelist": "12"} and not saved.accept_unmatched


def test_a_value_left_unmapped_in_the_table_is_refused_by_the_editor_and_the_api(api, stages):
    left = "1 dropdown value has no matching option: “Evangelist”."
    ui = ui_add(api, stages, **STAGE_PAIR, **{"map:lead": "10", "map:customer": "11", "map:evangelist": ""})
    assert ui.status_code == 422 and left in ui.content.decode()
    # The table comes back with the picks kept, the refusal beside it.
    assert '<option value="10" selected>LEAD</option>' in ui.content.decode()
    response = api_add(api, stages, **STAGE_PAIR, value_map={"lead": "10", "customer": "11"})
    assert response.status_code == 400 and left in str(response.json())
    assert not FieldMapping.objects.filter(object_mapping=stages, hubspot_field="lifecyclestage").exists()


def test_a_value_mapped_onto_an_option_the_dropdown_lacks_is_refused_by_both(api, stages):
    table = {"map:lead": "10", "map:customer": "11", "map:evangelist": "99"}
    ui = ui_add(api, stages, **STAGE_PAIR, **table, accept_unmatched="on")
    assert ui.status_code == 422 and NOT_AN_OPTION in ui.content.decode()
    response = api_add(api, stages, **STAGE_PAIR, value_map={"lead": "10", "evangelist": "99"}, accept_unmatched=True)
    assert response.status_code == 400 and NOT_AN_OPTION in str(response.json())
    assert not FieldMapping.objects.filter(object_mapping=stages, hubspot_field="lifecyclestage").exists()


def test_accepting_in_words_saves_the_rest_unmapped(api, stages):
    response = ui_add(
        api, stages, **STAGE_PAIR, **{"map:lead": "10", "map:customer": "", "map:evangelist": ""}, accept_unmatched="on"
    )
    assert response.status_code == 302
    saved = FieldMapping.objects.get(object_mapping=stages, hubspot_field="lifecyclestage")
    assert saved.value_map == {"lead": "10"} and saved.accept_unmatched
