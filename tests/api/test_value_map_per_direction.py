"""A value map per direction (issue 20): two HubSpot values may become one ConnectWise value, and
the way back then needs a choice — which HubSpot value that one becomes. The editor's value table
and the REST API store it as `value_map_to_hubspot`, refused alike (same words) until chosen; the
engine reads each direction's own map; maps saved before were copied to both directions."""

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps

from mappings.models import FieldMapping
from syncsmart.engine.flow.field_values import FieldValues
from syncsmart.engine.flow.setup import FieldPlan
from tests.ui.factories import FieldMappingFactory, IntegrationFactory, ObjectMappingFactory

pytestmark = pytest.mark.django_db

# HubSpot lifecyclestage: lead, customer, evangelist; ConnectWise type: 1 Lead, 2 Customer, 3 Vendor.
PAIR = {"hubspot_field": "lifecyclestage", "other_field": "type", "direction": "both", "transform": "dropdown"}
WAY_BACK = "“Evangelist” and “Lead” both become “Lead”: choose which HubSpot value “Lead” becomes on the way back."


@pytest.fixture
def contacts(api):
    mapping = ObjectMappingFactory(integration=IntegrationFactory(tenant=api.tenant))
    FieldMappingFactory(object_mapping=mapping, hubspot_field="firstname", other_field="firstName")
    return mapping


def api_add(api, mapping, **fields):
    return api.admin.post("/api/field-mappings/", {"object_mapping": mapping.pk, **PAIR, **fields}, format="json")


def ui_add(api, mapping, **fields):
    url = f"/integrations/{mapping.integration_id}/mappings/{mapping.pk}/fields/add/"
    return api.team.admin.post(url, {**PAIR, **fields})


def saved(mapping):
    return FieldMapping.objects.filter(object_mapping=mapping, hubspot_field="lifecyclestage").first()


def test_two_hubspot_values_onto_one_need_the_way_back_chosen_in_the_api(api, contacts):
    refused = api_add(api, contacts, value_map={"evangelist": "1"}, accept_unmatched=True)
    assert refused.status_code == 400 and WAY_BACK in str(refused.json())
    assert saved(contacts) is None
    chosen = api_add(api, contacts, value_map={"evangelist": "1"}, value_map_to_hubspot={"1": "lead"}, accept_unmatched=True)
    assert chosen.status_code == 201, chosen.json()
    assert chosen.json()["value_map_to_hubspot"] == {"1": "lead"}
    assert (saved(contacts).value_map, saved(contacts).value_map_to_hubspot) == ({"evangelist": "1"}, {"1": "lead"})


def test_the_editors_table_asks_the_way_back_and_refuses_with_the_same_words(api, contacts):
    url = f"/integrations/{contacts.integration_id}/mappings/{contacts.pk}/fields/check/"
    body = api.team.admin.get(url, {**PAIR, "map:evangelist": "1"}).content.decode()
    assert 'name="map:evangelist"' in body and 'name="map_to_hubspot:1"' in body  # Lead, now shared, asked back
    assert 'name="map_to_hubspot:3"' in body  # Vendor matches no HubSpot option
    unchosen = ui_add(
        api, contacts, **{"map:evangelist": "1", "map_to_hubspot:1": "", "map_to_hubspot:3": ""}, accept_unmatched="on"
    )
    assert WAY_BACK in unchosen.content.decode() and saved(contacts) is None
    ui_add(
        api, contacts, **{"map:evangelist": "1", "map_to_hubspot:1": "evangelist", "map_to_hubspot:3": ""}, accept_unmatched="on"
    )
    assert (saved(contacts).value_map, saved(contacts).value_map_to_hubspot) == ({"evangelist": "1"}, {"1": "evangelist"})


def test_a_way_back_onto_an_option_hubspot_lacks_is_refused(api, contacts):
    response = api_add(api, contacts, value_map={"evangelist": "1"}, value_map_to_hubspot={"1": "partner"}, accept_unmatched=True)
    assert response.status_code == 400
    assert "is mapped to “partner”, which is not an option of “Lifecycle stage”" in str(response.json())


def test_the_engine_reads_each_directions_own_map():
    fm = FieldMapping(hubspot_field="lifecyclestage", other_field="type", value_map={"evangelist": "1", "lead": "1"})
    fm.value_map_to_hubspot = {"1": "lead"}
    to_other = FieldValues(SimpleNamespace(target="other"))
    to_hubspot = FieldValues(SimpleNamespace(target="hubspot"))
    plan = FieldPlan(fm, "lifecyclestage", "type", "enumeration", "enumeration")
    assert to_other.transform(plan, "evangelist", {}) == "1" and to_other.transform(plan, "lead", {}) == "1"
    back = FieldPlan(fm, "type", "lifecyclestage", "enumeration", "enumeration", to_hubspot=True)
    assert to_hubspot.transform(back, "1", {}) == "lead"


def test_without_its_own_map_the_way_back_uses_the_one_map_as_before():
    fm = FieldMapping(value_map={"INBOUND": "Inbound", "Inbound": "INBOUND"})
    assert fm.map_toward("hubspot") == fm.map_toward("other") == {"INBOUND": "Inbound", "Inbound": "INBOUND"}
    fm.value_map_to_hubspot = {}
    assert fm.map_toward("hubspot") == {}  # an own, empty map: nothing mapped by hand that way


def test_the_migration_copies_every_existing_map_to_both_directions(contacts):
    old = FieldMappingFactory(object_mapping=contacts, hubspot_field="jobtitle", other_field="title", value_map={"CTO": "Chief"})
    plain = contacts.field_mappings.get(hubspot_field="firstname")
    migration = importlib.import_module("mappings.migrations.0012_value_map_per_direction")
    migration.copy_to_both_directions(apps, None)
    old.refresh_from_db()
    plain.refresh_from_db()
    assert old.value_map == old.value_map_to_hubspot == {"CTO": "Chief"}
    assert plain.value_map_to_hubspot is None
