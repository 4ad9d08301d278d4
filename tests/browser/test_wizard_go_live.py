"""Sandbox -> production in Chromium: production credentials tested in the same flow, confirmation, switch, rollback."""

from __future__ import annotations

import pytest

from connectors.connectwise import emulator as cw
from connectors.http import mount, unmount
from mappings import first_day
from mappings.services import actions as mapping_actions
from syncsmart.engine import previews
from syncsmart.models import Preview
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, ConnectionFactory, MembershipFactory, TenantFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PRODUCTION_SITE = "127.0.0.1:18446"


@pytest.fixture(autouse=True)
def _hubspot_side_answers():
    """The HubSpot connection here is a bare factory row (no emulator): discovery finds every field
    and neither side holds records, as in tests/onboarding/test_go_live.py. The real discovery of
    both production schemas is proven in tests/matching/test_go_live_first_day.py, and the preview
    before the switch (finished here with nothing to sync) in tests/browser/test_go_live_first_day.py."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(first_day, "discover_schemas", lambda integration, actor: {"discovered": {}, "broken": []})
        patch.setattr(first_day, "holds_records", lambda connection, object_type: False)
        patch.setattr(previews, "_enqueue", lambda pk: Preview.objects.filter(pk=pk).update(status=Preview.Status.DONE))
        yield


@pytest.fixture
def production_connectwise():
    emulator = cw.ConnectWiseEmulator()
    mount(f"http://{PRODUCTION_SITE}", emulator.transport())
    yield emulator
    unmount(f"http://{PRODUCTION_SITE}")


def test_a_customer_switches_to_production_and_back(page, live_server, production_connectwise, screenshot):
    tenant = TenantFactory(name="Cascade Co")
    MembershipFactory(tenant=tenant, user=UserFactory(email="owner@cascade.example"))
    hub = ConnectionFactory(tenant=tenant, system="hubspot")
    sandbox = ConnectionFactory(tenant=tenant, system="connectwise", environment="sandbox", status="ok")
    integration = mapping_actions.create_integration(tenant, None, hub, sandbox, test_mode=True, name="Cascade CW")

    log_in(page, live_server, "owner@cascade.example", PASSWORD)
    page.goto(f"{live_server.url}/integrations/{integration.pk}/go-live/")
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
    page.get_by_role("button", name="Switch to production").click()
    assert "Tick the confirmation to switch." in page.content()  # nothing happens without it
    page.get_by_label("I understand", exact=False).check()
    page.get_by_role("button", name="Switch to production").click()
    # The preview against production, the switch's consequence in words, then the confirmation.
    assert "You can undo the whole switch today." in page.locator("#gate-consequence").inner_text()
    page.get_by_role("button", name="Confirm: switch to production").click()
    assert page.get_by_text("now syncs with production").first.is_visible()
    screenshot(page, "go-live-done")
    integration.refresh_from_db()
    assert integration.environment == "production" and integration.other_connection_id != sandbox.pk

    page.get_by_role("button", name="Roll back to the sandbox").click()
    assert page.get_by_text("rolled back").first.is_visible()
    integration.refresh_from_db()
    assert integration.environment == "sandbox" and integration.other_connection_id == sandbox.pk and integration.test_mode
