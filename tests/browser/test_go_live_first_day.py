"""The demo's go-live journey in Chromium: an integration that synced a sandbox is switched to a
"production" ConnectWise that holds the same records (the same emulator, reached at another
address). The switch page lists each step's effect, both schemas are discovered, and the first
production run links everything and creates nothing."""

from __future__ import annotations

import pytest

from bench import twins
from connectors.connectwise import emulator as cw
from connectors.http import mount, unmount
from syncsmart.models import Preview
from tests.browser.conftest import log_in
from tests.engine.conftest import build_pair
from tests.factories import PASSWORD, MembershipFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PRODUCTION_SITE = "127.0.0.1:18447"


@pytest.fixture
def synced_sandbox():
    pair = build_pair("connectwise")
    pair.integration.object_mappings.filter(other_object="leads").delete()
    twins.seed_pair(pair.hubspot, pair.other, "connectwise", twins.dataset(companies=12, contacts=36, deals=8, seed=2))
    assert pair.sync().status == "succeeded"
    mount(f"http://{PRODUCTION_SITE}", pair.other.transport())  # production: the same records
    yield pair
    unmount(f"http://{PRODUCTION_SITE}")
    pair.close()


def test_going_live_onto_the_same_records_discovers_both_schemas_and_creates_nothing(
    page, live_server, synced_sandbox, screenshot
):
    pair = synced_sandbox
    MembershipFactory(tenant=pair.integration.tenant, user=UserFactory(email="owner@firstday.example"))
    before = (twins.census_hubspot(pair.hubspot).summary(), twins.census_connectwise(pair.other).summary())

    log_in(page, live_server, "owner@firstday.example", PASSWORD)
    page.goto(f"{live_server.url}/integrations/{pair.integration.pk}/go-live/")
    for label, value in {
        "Company ID": cw.DEMO_COMPANY,
        "Site": PRODUCTION_SITE,
        "Public key": cw.DEMO_PUBLIC_KEY,
        "Private key": cw.DEMO_PRIVATE_KEY,
        "Client ID": cw.DEMO_CLIENT_ID,
    }.items():
        page.get_by_label(label).fill(value)
    page.get_by_role("button", name="Test connection").click()
    assert "Connection works." in page.locator("#test-result").inner_text()
    page.get_by_label("Keep my current mappings").check()
    page.get_by_label("I understand", exact=False).check()
    page.get_by_role("button", name="Switch to production").click()
    # The preview against production, the switch's consequence in words, then the confirmation.
    assert "You can undo the whole switch today." in page.locator("#gate-consequence").inner_text()
    screenshot(page, "go-live-preview")
    preview = Preview.objects.get(integration=pair.integration, purpose="go_live")
    assert preview.status == "done" and preview.write_calls == 0, preview.error
    assert preview.result["totals"]["link"] > 0 and "vendor calls" in page.locator("#preview-result").inner_text()
    page.get_by_role("button", name="Confirm: switch to production").click()
    assert page.get_by_text("now syncs with production").first.is_visible()
    effects = page.locator(".step-effect").all_inner_texts()
    screenshot(page, "go-live-first-day")
    assert any("fields discovered on both sides" in e for e in effects), effects
    assert any("link only" in e for e in effects), effects
    assert any("sandbox links cleared" in e for e in effects), effects

    pair.integration.refresh_from_db()
    production = pair.integration.other_connection
    assert production.environment == "production" and production.schema_cache
    assert pair.integration.hubspot_connection.schema_cache
    pair.reset_counters()
    run = pair.sync()
    assert run.status == "succeeded", run.error
    assert run.counts.get("created", 0) == 0 and run.counts.get("linked", 0) > 0
    assert pair.writes() == (0, 0)
    assert (twins.census_hubspot(pair.hubspot).summary(), twins.census_connectwise(pair.other).summary()) == before
