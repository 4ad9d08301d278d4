"""The mapping editor in Chromium at desktop size and on a phone (390×844), with the strict CSP
(no inline script): the value-map table of a dropdown mapping, and rows saved in place."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from mappings.models import FieldMapping
from tenants.models import AuditLog
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


def spare_hubspot_text_field(world, contacts) -> str:
    """A HubSpot contact text field no mapping uses."""
    mapped = set(contacts.field_mappings.values_list("hubspot_field", flat=True))
    schema = world.integration.hubspot_connection.schema_cache["contacts"]
    return next(f["name"] for f in schema if f.get("type") == "string" and not f.get("read_only") and f["name"] not in mapped)


def test_a_row_saves_in_place_a_refusal_sits_by_its_field_and_a_removal_is_undone(sized, live_server, world, screenshot):
    page, size = sized
    contacts = world.integration.object_mappings.get(hubspot_object="contacts")
    spare = spare_hubspot_text_field(world, contacts)
    # ConnectWise's First Name also fills a spare HubSpot field, one way (a source there, not a target).
    extra = FieldMapping.objects.create(
        object_mapping=contacts,
        hubspot_field=spare,
        other_field="firstName",
        hubspot_type="string",
        other_type="string",
        direction="to_hubspot",
        order=999,
    )
    page.goto(editor_url(live_server, world, "contacts"))
    page.evaluate("window.notReloaded = true")
    row = page.locator(f"#fm-{extra.pk}")
    row.scroll_into_view_if_needed()
    assert page.evaluate("window.scrollY") > 0

    # Saved in place: the row answers, the page neither reloads nor scrolls.
    page.locator(f"#fm-{extra.pk}").get_by_label("only if target empty").check()
    save = page.locator(f"#fm-{extra.pk}").get_by_role("button", name="Save")
    save.scroll_into_view_if_needed()
    scrolled, row_top = page.evaluate("window.scrollY"), page.locator(f"#fm-{extra.pk}").bounding_box()["y"]
    save.click()
    expect(page.locator(f"#fm-{extra.pk} [role=status]")).to_contain_text("Saved")
    assert page.evaluate("window.notReloaded") is True
    assert scrolled > 0 and page.evaluate("window.scrollY") == scrolled  # a reload would start at the top
    assert abs(page.locator(f"#fm-{extra.pk}").bounding_box()["y"] - row_top) <= 1  # the row stays where it was
    extra.refresh_from_db()
    assert extra.only_if_target_empty
    screenshot(page, f"mapping-row-saved-{size}")

    # Both ways would make First Name a second mapping's target: refused, next to that field.
    row = page.locator(f"#fm-{extra.pk}")
    row.get_by_label(f"Direction of {extra}").select_option("both")
    row.get_by_role("button", name="Save").click()
    refusal = page.locator(f"#fm{extra.pk}-other-error")
    expect(refusal).to_contain_text("already receives HubSpot")
    assert page.locator(f"#fm-{extra.pk} td[data-label='ConnectWise Manage field'] #fm{extra.pk}-other-error").count() == 1
    assert page.evaluate("window.notReloaded") is True
    extra.refresh_from_db()
    assert (extra.direction, extra.only_if_target_empty) == ("to_hubspot", True)
    screenshot(page, f"mapping-row-refused-{size}")

    # Removed after the confirmation, then undone from the removed row.
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"#fm-{extra.pk}").get_by_role("button", name=f"Remove {extra}").click()
    removed = page.locator(f"#fm-{extra.pk}.removed")
    expect(removed).to_contain_text("You can undo this until")
    assert not FieldMapping.objects.filter(pk=extra.pk).exists()
    screenshot(page, f"mapping-row-removed-{size}")
    removed.get_by_role("button", name="Undo").click()
    back = FieldMapping.objects.filter(object_mapping=contacts, hubspot_field=spare, other_field="firstName")
    expect(page.locator("#field-mappings [role=status]", has_text="Back as it was")).to_be_visible()
    restored = back.get()
    assert (restored.direction, restored.only_if_target_empty) == ("to_hubspot", True)
    assert page.evaluate("window.notReloaded") is True
    actions = set(AuditLog.objects.filter(tenant=world.integration.tenant).values_list("action", flat=True))
    assert {"field_mapping.changed", "field_mapping.deleted", "field_mapping.restored"} <= actions
    assert sideways_overflow(page) <= 0
