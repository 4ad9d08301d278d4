"""The installer in Chromium connecting Salesforce through OAuth: "Sign in with Salesforce" opens
the Salesforce emulator's consent page (a real port, over https with its own CA trusted by the
connector), "Allow" comes back with a code, the connection is tested live, and "Finish" runs the
first sync, whose HubSpot contact arrives in Salesforce."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from connectors.salesforce.emulator import DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET, SalesforceEmulator
from mappings.models import Integration
from syncsmart.models import SyncRun
from tests.mail_links import confirm_sign_up_in_browser
from tests.onboarding.conftest import hubspot  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEST_EMAIL = "ada.ss.test@syncsmart-demo.example"


@pytest.fixture
def salesforce(tmp_path):
    emulator = SalesforceEmulator()
    ca_file = tmp_path / "salesforce-ca.pem"
    running = emulator.serve("127.0.0.1", 0, tls=True, ca_file=ca_file)
    with override_settings(
        SALESFORCE_CLIENT_ID=DEFAULT_CONSUMER_KEY,
        SALESFORCE_CLIENT_SECRET=DEFAULT_CONSUMER_SECRET,
        SALESFORCE_LOGIN_URL=running.base_url,
        SALESFORCE_CA_FILE=str(ca_file),
    ):
        yield emulator, running.base_url
    running.stop()


@pytest.fixture
def page(browser):
    """A page that accepts the Salesforce emulator's locally made certificate, as a user would click through."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, ignore_https_errors=True)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def test_installer_connects_salesforce_through_oauth_and_syncs(page, live_server, hubspot, salesforce, screenshot):  # noqa: F811
    emulator, base_url = salesforce
    company = hubspot.create_record("companies", {"name": "SyncSmart Pilot Ltd", "domain": "syncsmart-demo.example"})
    hubspot.create_record(
        "contacts", {"email": TEST_EMAIL, "firstname": "Ada", "lastname": "Lovelace"}, associations={"companies": [company]}
    )
    page.goto(live_server.url + "/install/")
    page.get_by_role("link", name="Install").click()
    page.get_by_label("Work e-mail").fill("owner-salesforce@pilot.example")
    page.get_by_label("Company name").fill("Pilot Ltd")
    page.get_by_label("Password").fill("a-long-browser-password-77")
    page.get_by_role("button", name="Create account and continue").click()
    confirm_sign_up_in_browser(page, live_server.url, "owner-salesforce@pilot.example")
    page.get_by_role("button", name="Connect HubSpot").click()
    page.get_by_role("button", name="Connect app").click()
    page.wait_for_url(re.compile(r".*/onboarding/hubspot/$"))
    page.get_by_role("button", name="Use this portal").click()

    page.get_by_label("Salesforce").check()
    page.get_by_role("button", name="Continue").click()

    # Sign in with Salesforce: the emulator's consent page over https (Chromium is told to accept its
    # locally made certificate; the connector trusts it through SALESFORCE_CA_FILE).
    page.get_by_role("link", name="Sign in with Salesforce").click()
    page.wait_for_url(re.compile(re.escape(base_url) + r"/services/oauth2/authorize.*"))
    screenshot(page, "wizard-salesforce-consent")
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(re.compile(r".*/onboarding/credentials/$"))
    assert "Connected to the Salesforce sandbox org" in page.content()
    screenshot(page, "wizard-salesforce-connected")
    page.get_by_role("link", name="Continue").click()

    page.wait_for_url(re.compile(r".*/onboarding/objects/$"))
    page.get_by_role("button", name="Continue").click()
    with override_settings(SYNC_RUN_INLINE=True):
        page.get_by_role("button", name="Finish and start syncing").click()
        expect(page.locator("#preview-counts")).to_be_visible(timeout=60_000)  # the first sync's preview first
        page.get_by_role("button", name="Confirm: finish and start syncing").click()
        page.wait_for_url(re.compile(r".*/onboarding/done/$"), timeout=120_000)
    integration = Integration.objects.get(tenant__name="Pilot Ltd")
    run = SyncRun.objects.filter(integration=integration).order_by("queued_at").first()
    assert run is not None and run.status in (SyncRun.Status.SUCCEEDED, SyncRun.Status.PARTIAL), run and run.error
    with emulator.lock:
        # A new HubSpot contact is a Salesforce Lead until it is converted (issue 23's rule).
        assert TEST_EMAIL in {row.get("Email") for row in emulator.rows["Lead"].values()}
