"""The filter builder in Chromium: the customer picks a HubSpot list by name, sees how many
current contacts are in it, saves it; a name HubSpot does not have is refused in words."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from mappings import filters

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_pick_a_hubspot_list_by_name_count_its_members_and_save_it(signed_in, live_server, world, screenshot):
    page = signed_in
    contacts = world.integration.object_mappings.get(hubspot_object="contacts")
    members = list(world.hub_contacts.values())[:2]
    vip = world.hubspot.lists.create_list("VIP customers", "contacts", "MANUAL")
    world.hubspot.lists.add_members(vip, members)
    page.goto(f"{live_server.url}/integrations/{world.integration.pk}/mappings/{contacts.pk}/filters/")
    panel = page.locator("#panel-to_other")
    panel.get_by_role("button", name="+ Group").click()
    panel = page.locator("#panel-to_other")
    panel.get_by_label("Field").first.select_option(filters.LIST_FIELD)
    panel = page.locator("#panel-to_other")  # re-rendered: the list's own operator, a name box offering the lists
    expect(panel.get_by_label("Operator").first.locator("option")).to_have_count(1)
    expect(panel.locator("datalist option[value='VIP customers']")).to_have_count(1)
    panel.get_by_label("HubSpot list").first.fill("Nope")
    panel.get_by_role("button", name="Save filter").click()
    expect(page.get_by_role("alert").filter(has_text="HubSpot has no contacts list named “Nope”.")).to_be_visible()
    panel = page.locator("#panel-to_other")
    panel.get_by_label("HubSpot list").first.fill("VIP customers")
    total = len(world.hubspot_records("contacts"))
    expect(panel.locator("[data-testid=count-to_other]")).to_have_text(f"2 of {total} current records pass")
    screenshot(page, "filter-builder-inclusion-list")
    panel.get_by_role("button", name="Save filter").click()
    expect(page.get_by_text("Filter saved")).to_be_visible()
    contacts.refresh_from_db()
    assert contacts.filter_to_other["conditions"][0]["conditions"] == [
        {"field": filters.LIST_FIELD, "operator": "in_list", "value": "VIP customers", "list_id": vip}
    ]
