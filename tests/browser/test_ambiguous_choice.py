"""Issue 16 in Chromium: an ambiguous match waits in the record log with one button per
candidate; one click links exactly that pair, and the next run syncs it and creates nothing."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from mappings.models import ObjectMapping
from syncsmart.models import AmbiguousMatch, RecordLink
from tests.browser.conftest import log_in
from tests.engine.conftest import build_pair
from tests.factories import PASSWORD, MembershipFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def two_acmes():
    pair = build_pair("connectwise")
    ObjectMapping.objects.filter(integration=pair.integration).exclude(hubspot_object="companies").delete()
    hub_id = pair.hubspot.create_record("companies", {"name": "Acme", "domain": "acme-amb.example.com"}, notify=False)
    holdings = str(pair.other.add_company("Acme Holdings", website="https://acme-amb.example.com")["id"])
    retail = str(pair.other.add_company("Acme Retail", website="www.acme-amb.example.com/shop")["id"])
    assert pair.sync().status == "succeeded"
    yield pair, hub_id, holdings, retail
    pair.close()


def test_one_click_in_the_record_log_links_exactly_the_chosen_pair(page, live_server, two_acmes, screenshot):
    pair, hub_id, holdings, retail = two_acmes
    MembershipFactory(tenant=pair.integration.tenant, user=UserFactory(email="owner@acme-amb.example"))
    match = AmbiguousMatch.objects.get(source_side="hubspot", source_id=hub_id)
    log_in(page, live_server, "owner@acme-amb.example", PASSWORD)
    page.goto(f"{live_server.url}/integrations/{pair.integration.pk}/records/?outcome=ambiguous")

    choice = page.locator(f"#match-{match.pk}")
    expect(choice).to_contain_text("Which record is it?")
    expect(choice.get_by_role("button")).to_have_count(2)
    screenshot(page, "record-log-ambiguous-choice")
    choice.get_by_role("button", name="Link to Acme Retail").click()
    expect(page.locator("ul.messages")).to_contain_text(re.compile(r"Linked Acme .*to Acme Retail"))
    expect(page.locator(f"#match-{match.pk}")).to_have_count(0)  # resolved: no more buttons

    assert list(RecordLink.objects.filter(integration=pair.integration).values_list("hubspot_id", "other_id")) == [
        (hub_id, retail)
    ]
    run = pair.sync()
    assert run.status == "succeeded", run.error
    assert RecordLink.objects.get(hubspot_id=hub_id).other_id == retail
    assert not RecordLink.objects.filter(other_id=holdings).exists()  # the other candidate stays unlinked
    assert pair.hubspot.count("companies") == 1 and pair.other.count("companies") == 2  # nothing created
