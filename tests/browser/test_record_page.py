"""A page per record (issue 20), in Chromium at desktop size and on a phone: found from the
record log, it shows both systems' ids and current values, opens each record in its system,
lists its history with old → new per field, and unlinks after a confirmation in words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from syncsmart.models import RecordLink
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
AXE = Path(__file__).parent / "assets" / "axe-core" / "axe.min.js"


@pytest.fixture(params=list(SIZES), ids=list(SIZES))
def sized(request, browser):
    context = browser.new_context(viewport=SIZES[request.param], bypass_csp=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.size_name = request.param
    yield page
    context.close()


def test_a_record_page_shows_both_sides_its_history_and_unlinks(sized, live_server, world, worker, screenshot):
    page = sized
    email = "peter.gibbons@initech.example.com"
    hub_id = world.hub_contacts[email]
    link = RecordLink.objects.get(integration=world.integration, hubspot_object="contacts", hubspot_id=hub_id)
    world.hubspot.advance_clock(2000)
    world.hubspot.edit_record("contacts", hub_id, {"firstname": "Pete"})
    log_in(page, live_server, world.email, world.password)
    page.goto(f"{live_server.url}/integrations/{world.integration.pk}/")
    page.get_by_role("button", name="Sync now").click()
    worker.drain()

    page.goto(f"{live_server.url}/integrations/{world.integration.pk}/records/?q={email}")
    page.locator("#records a.record-link").first.click()
    expect(page.locator("#record-ids")).to_contain_text(hub_id)
    expect(page.locator("#record-ids")).to_contain_text(link.other_id)
    expect(page.get_by_role("link", name="Open in the Demo sandbox")).to_have_count(2)  # emulators: no vendor UI
    values = page.locator("#record-values")
    expect(values.locator("tr", has_text="First name").first).to_contain_text("Pete")
    history = page.locator("#record-history")
    expect(history).to_contain_text("Peter")
    expect(history).to_contain_text(re.compile(r"First name: Peter\s*→\s*Pete"))
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    assert [v["id"] for v in result["violations"] if v["impact"] in ("serious", "critical")] == []
    screenshot(page, f"record-page-{page.size_name}")

    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Unlink").click()
    expect(page.get_by_text("Unlinked. Neither record was deleted")).to_be_visible()
    assert "Neither record is deleted" in questions[0]
    assert not RecordLink.objects.filter(pk=link.pk).exists()
