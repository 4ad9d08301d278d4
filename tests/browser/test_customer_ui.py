"""The customer's pages in Chromium, against the live server and in-process emulators.

"Sync now", "Retry" and "Start historical sync" queue runs exactly as in production; the test
then plays the worker (`worker.drain()` / `worker.slice()`, see conftest.py) and reloads,
as a customer would see a worker's result appear."""

import re

import pytest
from playwright.sync_api import expect

from mappings.models import FieldMapping, ObjectMapping
from syncsmart.models import RecordEvent, RecordLink, SyncRun

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def mapping_of(world, hubspot_object: str) -> ObjectMapping:
    return world.integration.object_mappings.get(hubspot_object=hubspot_object)


def editor_url(live_server, world, hubspot_object: str) -> str:
    m = mapping_of(world, hubspot_object)
    return f"{live_server.url}/integrations/{world.integration.pk}/mappings/{m.pk}/"


def cw_company_id(world, hub_company_id: str) -> str:
    return RecordLink.objects.get(integration=world.integration, hubspot_object="companies", hubspot_id=hub_company_id).other_id


def pick(page, side: str, query: str, field_name: str) -> None:
    """Search a side's picker and choose a field from the live schema."""
    page.locator(f"#search-{side}").fill(query)
    option = page.locator(f"#results-{side} input[value='{field_name}']")
    expect(option).to_be_visible()
    option.check()


def test_log_in_and_see_every_integration_with_its_state_and_chart(signed_in, live_server, world, screenshot):
    page = signed_in
    card = page.locator("section.card", has_text="HubSpot ↔ ConnectWise")
    expect(card.get_by_text("Synced today")).to_be_visible()
    expect(card.locator("svg.chart")).to_be_visible()
    expect(card.get_by_role("button", name="Sync now")).to_be_visible()
    synced = RecordEvent.objects.filter(integration=world.integration, outcome__in=["created", "updated", "linked"]).count()
    expect(card.locator("[data-testid=synced-today]")).to_have_text(str(synced))
    screenshot(page, "overview")
    page.get_by_role("link", name="HubSpot ↔ ConnectWise").first.click()
    expect(page.get_by_role("heading", name="Objects")).to_be_visible()
    screenshot(page, "integration")


def test_a_custom_field_mapping_takes_effect_on_the_next_sync(signed_in, live_server, world, worker, screenshot):
    page = signed_in
    page.goto(editor_url(live_server, world, "companies"))
    # A ConnectWise custom field the default set does not map.
    expect(page.locator("#field-mappings tr[data-other-field=custom_2]")).to_have_count(0)
    pick(page, "hubspot", "employees", "numberofemployees")
    pick(page, "other", "estimate", "custom_2")
    page.locator("#add-form").get_by_label("Direction").select_option("to_other")
    expect(page.locator("#pair-check")).to_contain_text("can be mapped")
    screenshot(page, "mapping-editor-add")
    page.get_by_role("button", name="Add mapping").click()
    expect(page.locator("ul.messages")).to_contain_text("Mapped Number of Employees ↔ ")  # labels, not API names
    expect(page.locator("#field-mappings tr[data-other-field=custom_2]")).to_contain_text("custom")
    initech = world.hub_companies["Initech SyncSmart"]
    world.hubspot.advance_clock(2000)
    world.hubspot.edit_record("companies", initech, {"numberofemployees": "4242"})
    page.get_by_role("button", name="Sync now").click()
    worker.drain()
    connector = worker.connectors()["other"]
    [company] = connector.read_by_ids("companies", [cw_company_id(world, initech)])
    connector.close()
    assert float(company.properties["custom_2"]) == 4242
    page.goto(f"{live_server.url}/integrations/{world.integration.pk}/records/?q={initech}")
    expect(page.locator("#records .outcome-updated").first).to_be_visible()
    screenshot(page, "record-log")


def test_a_field_checked_while_its_search_is_still_answering_stays_checked(signed_in, live_server, world):
    page = signed_in
    page.goto(editor_url(live_server, world, "companies"))
    held = []
    page.route("**/fields/search/**", lambda route: held.append(route))  # hold the search's answer until the user has picked
    option = page.locator("#results-hubspot input[value='createdate']")
    expect(option).to_be_visible()  # listed before any search
    page.locator("#search-hubspot").fill("createdate")
    for _ in range(50):
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "the search was not sent"
    option.check()
    option.evaluate("radio => radio.dataset.before = 'yes'")  # to tell the list the answer brings from this one
    held[0].continue_()
    fresh = page.locator("#results-hubspot input[value='createdate']:not([data-before])")
    expect(fresh).to_be_attached()
    expect(fresh).to_be_checked()


def test_an_incompatible_pair_is_refused_with_the_reason(signed_in, live_server, world):
    page = signed_in
    page.goto(editor_url(live_server, world, "companies"))
    pick(page, "hubspot", "createdate", "createdate")
    pick(page, "other", "employees", "numberOfEmployees")
    reason = "a date and a number mean different things"
    expect(page.locator("#pair-check")).to_contain_text(reason)
    page.get_by_role("button", name="Add mapping").click()
    expect(page.get_by_role("alert").filter(has_text=reason).first).to_be_visible()
    assert not FieldMapping.objects.filter(hubspot_field="createdate").exists()


def test_build_a_filter_and_see_how_many_current_records_pass(signed_in, live_server, world, screenshot):
    page = signed_in
    contacts = mapping_of(world, "contacts")
    page.goto(f"{live_server.url}/integrations/{world.integration.pk}/mappings/{contacts.pk}/filters/")
    panel = page.locator("#panel-to_other")
    panel.get_by_role("button", name="+ Group").click()
    panel = page.locator("#panel-to_other")
    panel.get_by_label("Field").first.select_option("lifecyclestage")  # picked from the discovered schema
    panel = page.locator("#panel-to_other")  # re-rendered with the operators that fit the field:
    expect(panel.get_by_label("Operator").first.locator("option[value=gt]")).to_have_count(0)  # none for a dropdown
    panel.get_by_label("Operator").first.select_option("eq")
    panel.get_by_label("Value").first.fill("customer")
    people = world.hubspot_records("contacts")  # ours, and the one the first sync brought from ConnectWise
    customers = sum(1 for p in people if p.get("lifecyclestage") == "customer")
    total = len(people)
    expect(panel.locator("[data-testid=count-to_other]")).to_have_text(f"{customers} of {total} current records pass")
    screenshot(page, "filter-builder")
    panel.get_by_role("button", name="Save filter").click()
    expect(page.get_by_text("Filter saved")).to_be_visible()
    contacts.refresh_from_db()
    assert contacts.filter_to_other["conditions"][0]["conditions"] == [
        {"field": "lifecyclestage", "operator": "eq", "value": "customer"}
    ]


def test_flip_the_direction_and_the_other_side_stops_writing_into_hubspot(signed_in, live_server, world, worker):
    page = signed_in
    page.goto(editor_url(live_server, world, "contacts"))
    page.get_by_role("group", name="Object settings").get_by_label(re.compile("^Direction")).select_option("to_other")
    page.get_by_role("button", name="Save object settings").click()
    expect(page.get_by_text("Contacts saved: HubSpot → other system.")).to_be_visible()
    assert mapping_of(world, "contacts").direction == "to_other"
    link = RecordLink.objects.filter(integration=world.integration, hubspot_object="contacts").first()
    before = world.hubspot.get_record("contacts", link.hubspot_id)["firstname"]
    world.connectwise.edit("contacts", link.other_id, {"firstName": "Changed-In-ConnectWise"})
    page.get_by_role("button", name="Sync now").click()
    worker.drain()
    assert world.hubspot.get_record("contacts", link.hubspot_id)["firstname"] == before


def test_find_a_failed_record_fix_the_cause_and_retry(signed_in, live_server, world, worker, screenshot):
    page = signed_in
    company = world.hub_companies["Globex SyncSmart"]
    nameless = world.hubspot.create_record(
        "contacts", {"email": "nameless@globex.example.com", "lastname": "Nobody"}, associations={"companies": [company]}
    )
    page.get_by_role("button", name="Sync now").first.click()
    worker.drain()
    page.goto(f"{live_server.url}/integrations/{world.integration.pk}/records/")
    page.get_by_label("Outcome").select_option("failed")
    page.get_by_label("Search by e-mail, name or id").fill("nameless@globex.example.com")
    page.get_by_role("button", name="Search").click()
    # It never synced, so no link knows its e-mail: ask the systems themselves.
    page.get_by_role("link", name=re.compile("look “nameless@globex.example.com” up")).click()
    row = page.locator("#records tr.outcome-failed").first
    expect(row).to_contain_text(nameless)
    expect(row).to_contain_text("firstName")
    screenshot(page, "record-log-failed")
    # The cause: no first name, which ConnectWise requires. Fix it in HubSpot (the sandbox page edits the emulator).
    hub_conn = world.integration.hubspot_connection
    page.goto(f"{live_server.url}/sandbox/{hub_conn.pk}/contacts/{nameless}/")
    page.get_by_label(re.compile("^First name", re.I)).fill("Nora")
    page.get_by_role("button", name="Save in the emulator").click()
    expect(page.get_by_text("Saved firstname")).to_be_visible()
    page.goto(f"{live_server.url}/integrations/{world.integration.pk}/records/?outcome=failed&q={nameless}")
    page.locator("#records tr.outcome-failed").first.get_by_role("button", name=re.compile("^Retry")).click()
    worker.drain()
    page.reload()
    link = RecordLink.objects.get(integration=world.integration, hubspot_object="contacts", hubspot_id=nameless)
    assert world.connectwise.get("contacts", link.other_id)["firstName"] == "Nora"
    page.goto(f"{live_server.url}/integrations/{world.integration.pk}/records/?q={nameless}")
    expect(page.locator("#records tr").nth(1)).to_have_class(re.compile("outcome-created"))


def test_a_historical_sync_shows_its_progress_until_100_percent(signed_in, live_server, world, worker, screenshot):
    page = signed_in
    page.goto(f"{live_server.url}/integrations/{world.integration.pk}/historical/")
    page.get_by_role("button", name="Start historical sync").click()
    # First what it would do (a preview of the resync), then the customer's confirmation starts it.
    expect(page.locator("#gate-consequence")).to_contain_text("reads every record of every object again")
    expect(page.locator("#preview-counts")).to_be_visible()
    page.get_by_role("button", name="Confirm: start the historical sync").click()
    expect(page.locator("#hist-bar")).to_be_visible()
    run = SyncRun.objects.get(integration=world.integration, trigger="historical")
    assert run.progress_total and run.progress_total > 0
    worker.queued.remove(str(run.pk))
    seen = set()
    for _ in range(60):  # one page per slice, while the page polls the bar every second
        run.refresh_from_db()
        if not run.is_active:
            break
        worker.slice(str(run.pk), max_seconds=0)
        run.refresh_from_db()
        expected = "100" if not run.is_active else str(run.progress_percent or 0)
        expect(page.locator("#hist-bar")).to_have_attribute("value", expected)
        seen.add(int(expected))
        if len(seen) == 2:
            screenshot(page, "historical-progress")
    expect(page.locator("[data-testid=progress-text] .percent")).to_have_text("100%")
    assert len(seen) >= 2, f"the bar only showed {seen}"
    page.reload()  # the run lives in the database: a reload shows the same, finished bar
    expect(page.locator("#hist-bar")).to_have_attribute("value", "100")
    screenshot(page, "historical-done")


UNLABELLED = """() => [...document.querySelectorAll('main input, main select, main textarea')]
  .filter(el => el.type !== 'hidden' && !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.getAttribute('aria-labelledby'))
  .map(el => el.name || el.id || el.outerHTML.slice(0, 80))"""


def test_every_form_control_on_the_main_pages_has_a_label(signed_in, live_server, world, screenshot):
    page = signed_in
    i = world.integration.pk
    contacts = mapping_of(world, "contacts")
    pages = {
        "overview": "/",
        "integration": f"/integrations/{i}/",
        "mapping-editor-contacts": f"/integrations/{i}/mappings/{contacts.pk}/",
        "filters-empty": f"/integrations/{i}/mappings/{contacts.pk}/filters/",
        "sync-health": f"/integrations/{i}/runs/",
        "records": f"/integrations/{i}/records/",
        "historical": f"/integrations/{i}/historical/",
        "sandbox": "/sandbox/",
    }
    for name, path in pages.items():
        page.goto(live_server.url + path)
        assert page.evaluate(UNLABELLED) == [], path
        screenshot(page, name)
