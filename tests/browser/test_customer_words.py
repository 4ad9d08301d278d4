"""Customer-facing words (issue 20): no page of the demo shows a field's API name where its label
belongs, and no message names a record by its internal id. Scanned in Chromium on the rendered
pages after the actions that leave messages (sync now, retry, add a mapping, save a filter).

Text inside <code> is excluded on purpose: the editor shows each field's API name in <code>
beside its label, for people who need it. The vendor's own error text (.message) is quoted as
the vendor said it; the sync-health page explains each cause in words."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from syncsmart.models import RecordEvent, RecordLink

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VISIBLE_TEXT = """() => {
  const main = document.querySelector('main').cloneNode(true);
  main.querySelectorAll('code, .message, script, .visually-hidden').forEach(el => el.remove());
  return main.innerText;
}"""
MESSAGES = "() => [...document.querySelectorAll('ul.messages li')].map(li => li.innerText)"


def api_names(integration) -> set[str]:
    """Field names a customer would not recognise: they differ from their label other than by case."""
    names = set()
    for connection in (integration.hubspot_connection, integration.other_connection):
        for fields in (connection.schema_cache or {}).values():
            for f in fields:
                name, label = str(f.get("name", "")), str(f.get("label") or "")
                if not label or name.lower() == label.lower():
                    continue
                if name.lower() == label.lower().replace(" ", "") or re.search(r"[_0-9]|[a-z][A-Z]", name):
                    names.add(name)
    return names


def problems_on(page, names: set[str], ids: set[str], where: str) -> list[str]:
    text = page.evaluate(VISIBLE_TEXT)
    found = [f"{where}: API name “{n}”" for n in sorted(names) if re.search(rf"(?<![\w.@-]){re.escape(n)}(?![\w.@-])", text)]
    for message in page.evaluate(MESSAGES):
        found += [f"{where}: id {i} in “{message}”" for i in sorted(ids) if re.search(rf"(?<!\w){re.escape(i)}(?!\w)", message)]
    return found


def test_the_demo_pages_and_messages_use_labels_and_names_not_api_names_or_ids(signed_in, live_server, world, worker):
    page = signed_in
    integration = world.integration
    names = api_names(integration)
    assert {"lifecyclestage", "firstName"} & names  # the scan knows what it looks for
    links = RecordLink.objects.filter(integration=integration)
    ids = {i for pair in links.values_list("hubspot_id", "other_id") for i in pair if len(i) >= 2}
    i = integration.pk
    contacts = integration.object_mappings.get(hubspot_object="contacts")
    companies = integration.object_mappings.get(hubspot_object="companies")
    problems: list[str] = []

    page.goto(f"{live_server.url}/")
    page.get_by_role("button", name="Sync now").first.click()
    worker.drain()
    problems += problems_on(page, names, ids, "overview after Sync now")

    failed = world.hubspot.create_record("contacts", {"email": "nameless@globex.example.com", "lastname": "Nobody"})
    page.goto(f"{live_server.url}/integrations/{i}/")
    page.get_by_role("button", name="Sync now").click()
    worker.drain()
    event = RecordEvent.objects.filter(integration=integration, source_id=failed, outcome="failed").first()
    if event is not None:
        page.goto(f"{live_server.url}/integrations/{i}/records/?outcome=failed")
        page.locator(f"#event-{event.pk}").get_by_role("button", name=re.compile("^Retry")).click()
        worker.drain()
        problems += problems_on(page, names, ids, "record log after Retry")

    page.goto(f"{live_server.url}/integrations/{i}/mappings/{companies.pk}/")
    page.locator("#search-hubspot").fill("employees")
    page.locator("#results-hubspot input[value='numberofemployees']").check()
    page.locator("#search-other").fill("estimate")
    page.locator("#results-other input[value='custom_2']").check()
    page.locator("#add-form").get_by_label("Direction").select_option("to_other")
    page.get_by_role("button", name="Add mapping").click()
    expect(page.locator("ul.messages")).to_contain_text("Mapped")
    problems += problems_on(page, names, ids, "mapping editor after Add mapping")

    page.goto(f"{live_server.url}/integrations/{i}/mappings/{contacts.pk}/filters/")
    panel = page.locator("#panel-to_other")
    panel.get_by_role("button", name="+ Group").click()
    page.locator("#panel-to_other").get_by_label("Field").first.select_option("lifecyclestage")
    expect(page.locator("#panel-to_other").get_by_label("Operator").first.locator("option[value=gt]")).to_have_count(0)
    page.locator("#panel-to_other").get_by_label("Operator").first.select_option("eq")
    page.locator("#panel-to_other").get_by_label("Value").first.fill("customer")
    page.locator("#panel-to_other").get_by_role("button", name="Save filter").click()
    expect(page.locator("ul.messages")).to_contain_text("Filter saved")
    problems += problems_on(page, names, ids, "filter builder after Save")

    page.get_by_role("button", name="Sync now").click()
    worker.drain()
    for name, path in {
        "overview": "/",
        "integration": f"/integrations/{i}/",
        "sync health": f"/integrations/{i}/runs/",
        "record log": f"/integrations/{i}/records/",
        "historical": f"/integrations/{i}/historical/",
        "team": "/team/",
    }.items():
        page.goto(live_server.url + path)
        problems += problems_on(page, names, ids, name)
    assert not problems, "\n".join(problems)
