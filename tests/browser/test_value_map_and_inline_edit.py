"""The mapping editor in Chromium at desktop size and on a phone (390×844), with the strict CSP
(no inline script): the value-map table of a dropdown mapping, and rows saved in place."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from mappings.models import FieldMapping
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(params=list(SIZES), ids=list(SIZES))
def sized(request, browser, live_server, world):
    context = browser.new_context(viewport=SIZES[request.param])
    context.set_default_timeout(15_000)
    page = context.new_page()
    log_in(page, live_server, world.email, world.password)
    yield page, request.param
    context.close()


def editor_url(live_server, world, hubspot_object: str) -> str:
    mapping = world.integration.object_mappings.get(hubspot_object=hubspot_object)
    return f"{live_server.url}/integrations/{world.integration.pk}/mappings/{mapping.pk}/"


def pick(page, side: str, query: str, field_name: str) -> None:
    page.locator(f"#search-{side}").fill(query)
    option = page.locator(f"#results-{side} input[value='{field_name}']")
    expect(option).to_be_visible()
    option.check()


def sideways_overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_unmatched_dropdown_values_are_mapped_by_hand_in_the_value_table(sized, live_server, world, screenshot):
    page, size = sized
    page.goto(editor_url(live_server, world, "companies"))
    pick(page, "hubspot", "type", "type")
    pick(page, "other", "type", "type")
    page.locator("#add-form").get_by_label("Direction").select_option("to_other")
    table = page.locator("#add-form .value-map")
    expect(table).to_contain_text("match no option")
    expect(table).not_to_contain_text("Other system → HubSpot")  # the check after the direction change
    reseller = table.get_by_label("“Reseller” becomes")
    expect(reseller).to_be_visible()
    reseller.select_option(label="Partner")
    # Nothing else decided: saving is refused, next to the table, with the pick kept.
    page.get_by_role("button", name="Add mapping").click()
    refusal = page.locator("#add-form .value-map [role=alert]")
    expect(refusal).to_contain_text("no matching option")
    expect(refusal).not_to_contain_text("Reseller")
    partner = next(t["id"] for t in world.connectwise.store["company_types"].values() if t["name"] == "Partner")
    expect(page.locator("#add-form .value-map").get_by_label("“Reseller” becomes")).to_have_value(str(partner))
    assert not FieldMapping.objects.filter(hubspot_field="type", other_field="type").exists()
    assert sideways_overflow(page) <= 0
    screenshot(page, f"value-map-refused-{size}")
    # The explicit choice for what is left, in words that say what the run does.
    page.locator("#add-form .value-map").get_by_label("Values I leave unmapped: leave the ConnectWise Manage field empty").check()
    page.get_by_role("button", name="Add mapping").click()
    expect(page.locator("ul.messages")).to_contain_text("Mapped Type ↔ Type")
    saved = FieldMapping.objects.get(hubspot_field="type", other_field="type")
    assert saved.value_map == {"RESELLER": str(partner)} and saved.accept_unmatched
