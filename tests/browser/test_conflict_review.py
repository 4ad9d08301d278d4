"""Conflict review (issue 20) in Chromium at desktop size and on a phone: a field under review
that both sides changed waits in the queue with both values; keep one side, type the value, or
tick several and accept one side for all; the worker then writes the value across. The page
passes axe-core with no serious or critical violation and fits the window."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from syncsmart.engine.run_requests import request_run
from syncsmart.models import HeldConflict, RecordLink
from tests.browser.conftest import log_in
from tests.browser.test_layout_and_accessibility import check_shown, sized_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
sized_page = sized_page  # at 1280×900 and at 390×844


@pytest.fixture
def held(world, worker):
    """Both sides changed the first name of two contacts after the first sync; review is on."""
    contacts = world.integration.object_mappings.get(hubspot_object="contacts")
    contacts.field_mappings.filter(hubspot_field="firstname").update(conflict_review=True)
    world.hubspot.advance_clock(5000)
    pairs = {}
    for n, email in enumerate(list(world.hub_contacts)[:2]):
        hub_id = world.hub_contacts[email]
        link = RecordLink.objects.get(object_mapping=contacts, hubspot_id=hub_id)
        world.hubspot.edit_record("contacts", hub_id, {"firstname": f"Hubby{n}"})
        world.connectwise.edit("contacts", link.other_id, {"firstName": f"Connie{n}"})
        pairs[email] = (hub_id, link.other_id)
    request_run(world.integration, None, trigger="manual")
    worker.drain()
    assert HeldConflict.objects.filter(status="open").count() == 2
    return pairs


def firstnames(world, ids):
    hub_id, cw_id = ids
    return world.hubspot.get_record("contacts", hub_id)["firstname"], world.connectwise.get("contacts", cw_id)["firstName"]


def test_the_conflict_queue_keeps_one_side_types_a_value_and_accepts_in_bulk(
    sized_page, live_server, world, worker, held, screenshot
):
    page = sized_page
    log_in(page, live_server, world.email, world.password)
    page.goto(f"{live_server.url}/integrations/{world.integration.pk}/")
    page.get_by_role("link", name="Conflict review").click()
    people = list(held)
    first, second = (HeldConflict.objects.get(status="open", label__contains=email) for email in people)
    row = page.locator(f"#conflict-{first.pk}")
    expect(row).to_contain_text("Hubby0")
    expect(row).to_contain_text("Connie0")
    expect(row).to_contain_text("First Name")
    problems = check_shown(page, screenshot, "conflict-review")
    assert not problems, "\n".join(problems)

    if page.size_name == "desktop":
        row.get_by_role("button", name="Keep ConnectWise").click()
        expected_first = ("Connie0", "Connie0")
    else:
        row.get_by_label("Or type the value").fill("Annabel")
        row.get_by_role("button", name="Use this value").click()
        expected_first = ("Annabel", "Annabel")
    expect(page.locator("ul.messages")).to_contain_text("Accepted")
    expect(page.locator(f"#conflict-{first.pk}")).to_have_count(0)

    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    page.locator(f"#tick-{second.pk}").check()
    side = "hubspot" if page.size_name == "desktop" else "other"
    page.get_by_label("For the ticked conflicts, keep").select_option(side)
    page.get_by_role("button", name="Accept for the ticked").click()
    expect(page.locator("#no-conflicts")).to_be_visible()
    assert questions and "written over the other side" in questions[0]
    worker.drain()
    assert firstnames(world, held[people[0]]) == expected_first
    assert firstnames(world, held[people[1]]) == (("Hubby1",) * 2 if side == "hubspot" else ("Connie1",) * 2)
    screenshot(page, f"conflict-review-done-{page.size_name}")
