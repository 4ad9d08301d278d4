"""Inclusion lists in the filter builder and the REST API's filters endpoint: a HubSpot list is
picked by name, resolved to its id by the one validation layer, and a name HubSpot does not have
is refused by both with the same words."""

from __future__ import annotations

import pytest

from connectors import http
from connectors.hubspot.emulator import DEFAULT_TOKEN, HubSpotEmulator
from mappings import filters
from tests.api.test_shared_validation import api_save_filter, ui_save_filter
from tests.ui.factories import ObjectMappingFactory

pytestmark = pytest.mark.django_db

EMULATED_HUBSPOT = "https://hubspot-lists.api-tests.test"
UNKNOWN = "HubSpot has no contacts list named “Customers 2019”. Its contacts lists: “Newsletter”, “VIP”."


@pytest.fixture
def hubspot():
    emulator = HubSpotEmulator(limits=False)
    http.mount(EMULATED_HUBSPOT, emulator.transport())
    yield emulator
    http.unmount(EMULATED_HUBSPOT)


@pytest.fixture
def contacts(api, hubspot):
    mapping = ObjectMappingFactory(integration__tenant=api.tenant)
    connection = mapping.integration.hubspot_connection
    connection.config = {"base_url": EMULATED_HUBSPOT}
    connection.credentials = {"token": DEFAULT_TOKEN}
    connection.save()
    hubspot.lists.create_list("VIP", "contacts", "MANUAL")
    hubspot.lists.create_list("Newsletter", "contacts", "MANUAL")
    hubspot.lists.create_list("Big accounts", "companies", "MANUAL")
    return mapping


def test_an_unknown_list_is_refused_by_the_builder_and_the_api_with_the_same_message(api, contacts):
    ui = ui_save_filter(api, contacts, filters.LIST_FIELD, "in_list", "Customers 2019")
    assert UNKNOWN in ui.content.decode() and "Filter saved" not in ui.content.decode()
    response = api_save_filter(api, contacts, filters.LIST_FIELD, "in_list", "Customers 2019")
    # Valid by the schema, refused by the tenant's set-up: 422, as the API documents (c78f581).
    assert response.status_code == 422 and UNKNOWN in str(response.json())
    contacts.refresh_from_db()
    assert not contacts.filter_to_other


def test_a_list_picked_by_name_is_saved_with_its_id_by_the_builder_and_the_api(api, contacts, hubspot):
    vip = hubspot.lists.list_by_name("VIP")
    ui = ui_save_filter(api, contacts, filters.LIST_FIELD, "in_list", "vip")
    assert ui.status_code == 302
    contacts.refresh_from_db()
    saved = contacts.filter_to_other["conditions"][0]["conditions"][0]
    assert saved == {"field": filters.LIST_FIELD, "operator": "in_list", "value": "VIP", "list_id": vip}
    response = api_save_filter(api, contacts, filters.LIST_FIELD, "in_list", "Newsletter")
    assert response.status_code == 200, response.json()
    condition = response.json()["filter_to_other"]["conditions"][0]
    assert condition["list_id"] == hubspot.lists.list_by_name("Newsletter")


def test_a_list_condition_on_the_records_going_to_hubspot_is_refused(api, contacts):
    body = {
        "filter_to_hubspot": {
            "match": "all",
            "conditions": [{"field": filters.LIST_FIELD, "operator": "in_list", "value": "VIP"}],
        }
    }
    response = api.admin.patch(f"/api/object-mappings/{contacts.pk}/filters/", body, format="json")
    assert response.status_code == 422
    assert "A HubSpot list filters the records HubSpot sends" in str(response.json())


def test_the_builder_offers_the_lists_by_name_and_counts_their_members(api, contacts, hubspot):
    a = hubspot.create_record("contacts", {"email": "a@example.com"})
    hubspot.create_record("contacts", {"email": "b@example.com"})
    hubspot.lists.add_members(hubspot.lists.list_by_name("VIP"), [a])
    api_save_filter(api, contacts, filters.LIST_FIELD, "in_list", "VIP")
    url = f"/integrations/{contacts.integration_id}/mappings/{contacts.pk}/filters/"
    page = api.team.admin.get(url).content.decode()
    assert 'value="VIP"' in page and 'value="Newsletter"' in page and "Big accounts" not in page  # contacts' lists only
    assert "In a HubSpot list…" in page
    count = api.team.admin.post(
        url.replace("/filters/", "/filters/count/"),
        {
            "flow": "to_other",
            "refresh": "1",
            "to_other-match": "all",
            "to_other-g0-match": "all",
            "to_other-g0-c0-field": filters.LIST_FIELD,
            "to_other-g0-c0-op": "in_list",
            "to_other-g0-c0-value": "VIP",
        },
    ).content.decode()
    assert '<span class="passing">1</span> of 2 current records pass' in count


def test_the_mapping_editor_says_the_deletion_policy_also_applies_to_records_leaving_the_list(api, contacts):
    api_save_filter(api, contacts, filters.LIST_FIELD, "in_list", "VIP")
    page = api.team.admin.get(f"/integrations/{contacts.integration_id}/mappings/{contacts.pk}/").content.decode()
    assert "It also applies to a linked record that leaves the HubSpot list “VIP”" in page
