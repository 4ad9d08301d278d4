"""Every customer page at desktop size and on a phone (390×844): an axe-core scan with no serious
or critical violation, no sideways scrolling, a screenshot of each under artifacts/screenshots/,
and the layout details issue 20 names (collapsing nav, tables as cards, favicon, status colours,
chart labels, checkbox alignment, go-live tabs, per-system wording, the token's copy button).

axe-core is vendored as a test asset (tests/browser/assets/axe-core/, MPL-2.0, see its README)
and injected into each page by Playwright; nothing is fetched at test time."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import URLResolver, get_resolver, resolve
from django.utils import timezone
from playwright.sync_api import expect

from connectors.connectwise import emulator as cw
from mappings.models import ObjectMapping
from syncsmart.models import Alert, SyncRun
from tenants.models import OnboardingProgress
from tests.browser import test_ambiguous_choice, test_go_live_first_day
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, ConnectionFactory, MembershipFactory, UserFactory
from tests.mail_links import confirm_sign_up_in_browser, link_path

# The worlds of the ambiguous-choice and first-day tests, swept here at both sizes.
two_acmes = test_ambiguous_choice.two_acmes
synced_sandbox = test_go_live_first_day.synced_sandbox
PRODUCTION_SITE = test_go_live_first_day.PRODUCTION_SITE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).parent / "assets" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SIZES = {"desktop": DESKTOP, "phone": PHONE}
BLOCKING = ("serious", "critical")


@pytest.fixture(params=list(SIZES), ids=list(SIZES))
def sized_page(request, browser):
    """A page at one of the two sizes. bypass_csp lets the test inject axe into a page whose
    Content-Security-Policy allows only the site's own scripts."""
    size = request.param
    context = browser.new_context(viewport=SIZES[size], bypass_csp=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.size_name = size
    yield page
    context.close()


def axe_violations(page) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['impact']}: {v['id']} — {v['help']} — " + " | ".join(n["html"][:120] for n in v["nodes"][:3])
        for v in result["violations"]
        if v["impact"] in BLOCKING
    ]


def sideways_overflow(page) -> int:
    """How many pixels the page is wider than the window (0 = no sideways scrolling)."""
    return page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")


def check_page(page, screenshot, url: str, name: str) -> list[str]:
    page.goto(url)
    return check_shown(page, screenshot, name)


def check_shown(page, screenshot, name: str) -> list[str]:
    """The checks of check_page on the page already shown (e.g. a form's POST answer)."""
    page.wait_for_load_state("networkidle")
    route = resolve(urlsplit(page.url).path).url_name
    assert route in SWEPT, f"{name} ({route}) is swept but not listed in SWEPT"
    problems = [f"{name}: {line}" for line in axe_violations(page)]
    overflow = sideways_overflow(page)
    if overflow > 0:
        problems.append(f"{name}: {overflow}px wider than the {page.size_name} window")
    screenshot(page, f"{name}-{page.size_name}")
    return problems


# Every URL name of the customer UI, the staff console and the public pages is either swept here
# at both sizes or listed in NOT_SWEPT with the reason (test_every_page_url_is_swept_or_says_why).
SWEPT = {
    "home", "integration", "mapping_editor", "filter_builder", "runs", "record_log", "record_page", "conflict_queue",
    "preview", "historical", "go_live", "sandbox", "sandbox_records", "sandbox_record", "api_tokens",
    "audit_log", "team", "staff_index", "staff_tenant", "staff_lockouts", "login", "signup",
    "signup_sent", "signup_confirm", "password_reset", "password_reset_done", "password_reset_confirm",
    "password_reset_complete", "invitation", "install", "onboarding_step", "onboarding_done",
}  # fmt: skip
FORM_ACTION = "a form's action: answers with a redirect to a swept page (its message included)"
PARTIAL = "an htmx partial, scanned inside the page that loads it"
NOT_SWEPT = {
    **dict.fromkeys(
        ["main_switch", "sync_now", "field_add", "field_update", "field_delete", "field_restore", "restore_defaults",
         "held_deletions", "retry_cause", "retry_event", "resolve_match", "record_retry", "record_resync",
         "record_unlink", "refresh_fields", "preview_cancel", "historical_cancel", "logout", "tenant_switch",
         "api_token_revoke", "team_invite", "team_alert_emails", "team_change_role", "team_remove",
         "team_revoke", "staff_unlock", "staff_view_as", "staff_view_as_end", "staff_sync_now",
         "staff_historical_resync", "staff_main_switch", "staff_repair_webhooks", "staff_decide_portal",
         "staff_refresh_schema", "conflict_resolve", "conflicts_bulk", "default_upgrades_apply"],
        FORM_ACTION,
    ),
    **dict.fromkeys(["field_search", "pair_check", "filter_count", "historical_progress"], PARTIAL),
    "onboarding_resume": "only redirects to the installer's current step",
    "salesforce_oauth_connect": "redirects to Salesforce's own log-in page",
    "salesforce_oauth_callback": "Salesforce's OAuth return: redirects to the installer's next step",
}  # fmt: skip
# Not the customer's pages: Django's admin, the vendors' OAuth and webhooks, the REST API, probes.
OUTSIDE_THE_UI = ("staff/admin/", "oauth/", "webhooks/", "api/", "healthz", "metrics", "favicon.ico")


def page_url_names(patterns=None, prefix: str = "") -> set[str]:
    """The name of every URL pattern outside OUTSIDE_THE_UI."""
    names = set()
    for p in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(p.pattern)
        if route.startswith(OUTSIDE_THE_UI):
            continue
        if isinstance(p, URLResolver):
            names |= page_url_names(p.url_patterns, route)
        else:
            names.add(p.name or route)
    return names


def test_every_page_url_is_swept_or_says_why(db):
    names = page_url_names()
    assert not SWEPT & set(NOT_SWEPT), SWEPT & set(NOT_SWEPT)
    assert names - SWEPT - set(NOT_SWEPT) == set(), "neither swept nor listed in NOT_SWEPT"
    assert (SWEPT | set(NOT_SWEPT)) - names == set(), "listed but no longer a URL"


def customer_pages(world) -> dict[str, str]:
    i = world.integration
    companies = i.object_mappings.get(hubspot_object="companies")
    contacts = i.object_mappings.get(hubspot_object="contacts")
    hub = i.hubspot_connection
    contact_id = next(iter(world.hub_contacts.values()))
    return {
        "overview": "/",
        "integration": f"/integrations/{i.pk}/",
        "mapping-editor-companies": f"/integrations/{i.pk}/mappings/{companies.pk}/",
        "mapping-editor-contacts": f"/integrations/{i.pk}/mappings/{contacts.pk}/",
        "filters": f"/integrations/{i.pk}/mappings/{contacts.pk}/filters/",
        "sync-health": f"/integrations/{i.pk}/runs/",
        "records": f"/integrations/{i.pk}/records/",
        "conflict-review-empty": f"/integrations/{i.pk}/conflicts/",
        "historical": f"/integrations/{i.pk}/historical/",
        "go-live": f"/integrations/{i.pk}/go-live/",
        "sandbox": "/sandbox/",
        "sandbox-records": f"/sandbox/{hub.pk}/contacts/",
        "sandbox-record": f"/sandbox/{hub.pk}/contacts/{contact_id}/",
        "record-page": f"/integrations/{i.pk}/records/{contacts.pk}/hubspot/{contact_id}/",
        "preview": f"/integrations/{i.pk}/preview/",
        "api-tokens": "/api-tokens/",
        "audit-log": "/audit/",
        "team": "/team/",
    }


def test_every_customer_page_passes_axe_and_fits_the_window(sized_page, live_server, world, screenshot):
    page = sized_page
    log_in(page, live_server, world.email, world.password)
    problems = []
    for name, path in customer_pages(world).items():
        problems += check_page(page, screenshot, live_server.url + path, name)
    assert not problems, "\n".join(problems)


def test_the_staff_console_passes_axe_and_fits_the_window(sized_page, live_server, world, screenshot):
    get_user_model().objects.filter(email=world.email).update(is_staff=True)
    page = sized_page
    log_in(page, live_server, world.email, world.password)
    tenant = world.integration.tenant
    # One open and one resolved alert, so the alert tables (not their empty text) are scanned.
    Alert.objects.create(
        rule="failing_runs",
        key="integration:axe",
        tenant=tenant,
        integration=world.integration,
        title="Runs of the integration failed 3 times in a row",
        message="The last error: timeout",
    )
    Alert.objects.create(
        rule="reconnect", key="connection:axe", tenant=tenant, title="Reconnect HubSpot", resolved_at=timezone.now()
    )
    problems = []
    for name, path in {
        "staff-console": "/staff/",
        "staff-tenant": f"/staff/tenants/{tenant.pk}/",
        "staff-lockouts": "/staff/lockouts/",
    }.items():
        problems += check_page(page, screenshot, live_server.url + path, name)
    assert not problems, "\n".join(problems)


def test_the_public_pages_pass_axe_and_fit_the_window(sized_page, live_server, screenshot):
    page = sized_page
    problems = []
    for name, path in {
        "login": "/login/",
        "signup": "/signup/",
        "signup-sent": "/signup/sent/",
        "install": "/install/",
        "password-reset": "/password-reset/",
        "password-reset-sent": "/password-reset/sent/",
        "password-reset-link-expired": "/reset/MQ/not-a-token/",
        "password-reset-complete": "/reset/done/",
        "signup-confirm-link-expired": "/signup/confirm/not-a-token/",
        "invitation-link-expired": "/invitations/not-a-token/",
    }.items():
        problems += check_page(page, screenshot, live_server.url + path, name)
    assert not problems, "\n".join(problems)


def test_the_sign_up_check_your_email_and_confirm_pages_pass_axe_and_fit_the_window(
    sized_page, live_server, screenshot, transactional_db
):
    page = sized_page
    email = f"ada.{page.size_name}@example.com"
    page.goto(live_server.url + "/signup/")
    page.get_by_label("Work e-mail").fill(email)
    page.get_by_label("Company name").fill("Axe Sign-up")
    page.get_by_label("Password").fill("a-long-test-password-42")
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("heading", name="Check your e-mail to confirm").wait_for()
    problems = check_shown(page, screenshot, "signup-check-your-email")
    [message] = [m for m in mail.outbox if m.to == [email]]
    problems += check_page(page, screenshot, live_server.url + link_path(message, "/signup/confirm/"), "signup-confirm")
    assert not problems, "\n".join(problems)


def test_the_confirm_pages_after_a_preview_pass_axe_and_fit_the_window(sized_page, live_server, world, screenshot):
    """Turning an object mapping on and a historical sync each show a preview and a confirm button
    first (issue 16); those answers to a POST are pages of their own."""
    page = sized_page
    i = world.integration
    contacts = i.object_mappings.get(hubspot_object="contacts")
    ObjectMapping.objects.filter(pk=contacts.pk).update(enabled=False)
    log_in(page, live_server, world.email, world.password)
    page.goto(f"{live_server.url}/integrations/{i.pk}/mappings/{contacts.pk}/")
    page.get_by_label("Sync this object").check()
    page.get_by_role("button", name="Save object settings").click()
    expect(page.locator("#preview-counts")).to_be_visible()
    problems = check_shown(page, screenshot, "confirm-mapping-on")
    page.goto(f"{live_server.url}/integrations/{i.pk}/historical/")
    page.get_by_role("button", name="Start historical sync").click()
    expect(page.locator("#preview-counts")).to_be_visible()
    problems += check_shown(page, screenshot, "confirm-historical-sync")
    assert not problems, "\n".join(problems)


def test_the_switch_to_production_confirm_page_passes_axe_and_fits_the_window(
    sized_page, live_server, synced_sandbox, screenshot
):
    pair = synced_sandbox
    MembershipFactory(tenant=pair.integration.tenant, user=UserFactory(email=f"owner.{sized_page.size_name}@axe.example"))
    page = sized_page
    log_in(page, live_server, f"owner.{sized_page.size_name}@axe.example", PASSWORD)
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
    expect(page.locator("#test-result")).to_contain_text("Connection works.")
    problems = check_shown(page, screenshot, "go-live-connection-tested")
    page.get_by_label("Keep my current mappings").check()
    page.get_by_label("I understand", exact=False).check()
    page.get_by_role("button", name="Switch to production").click()
    expect(page.locator("#preview-counts")).to_be_visible()
    problems += check_shown(page, screenshot, "confirm-switch-to-production")
    assert not problems, "\n".join(problems)


def test_the_record_logs_ambiguous_choice_passes_axe_and_fits_the_window(sized_page, live_server, two_acmes, screenshot):
    pair = two_acmes[0]
    MembershipFactory(tenant=pair.integration.tenant, user=UserFactory(email=f"owner.{sized_page.size_name}@amb.example"))
    page = sized_page
    log_in(page, live_server, f"owner.{sized_page.size_name}@amb.example", PASSWORD)
    url = f"{live_server.url}/integrations/{pair.integration.pk}/records/?outcome=ambiguous"
    problems = check_page(page, screenshot, url, "record-log-ambiguous-choice")
    expect(page.get_by_role("button", name="Link to Acme Retail")).to_be_visible()
    assert not problems, "\n".join(problems)


def test_the_team_pages_alert_email_switch_passes_axe_both_ways(sized_page, live_server, world, screenshot):
    page = sized_page
    log_in(page, live_server, world.email, world.password)
    problems = check_page(page, screenshot, live_server.url + "/team/", "team-alert-emails")
    switch = page.get_by_role("button", name=re.compile("(Stop my|Send me) alert e-mails"))
    before = switch.inner_text()
    switch.click()
    expect(page.get_by_role("button", name=re.compile("(Stop my|Send me) alert e-mails"))).not_to_have_text(before)
    problems += check_shown(page, screenshot, "team-alert-emails-switched")
    assert not problems, "\n".join(problems)


# --- the layout details -------------------------------------------------------------------


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def test_on_a_phone_the_header_menu_folds_and_every_link_opens_inside_the_window(phone, live_server, world):
    log_in(phone, live_server, world.email, world.password)
    tokens = phone.get_by_role("navigation", name="Main").get_by_role("link", name="API tokens")
    expect(tokens).to_be_hidden()
    menu = phone.get_by_role("button", name="Menu")
    expect(menu).to_have_attribute("aria-expanded", "false")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(tokens).to_be_visible()
    log_out = phone.get_by_role("button", name="Log out")
    for item in (tokens, log_out, phone.get_by_text(world.email)):
        box = item.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    # The menu opens on the header's dark background, never white on the page's light one.
    background = phone.locator("#topbar-menu").evaluate(
        "el => { for (let n = el; n; n = n.parentElement) { const c = getComputedStyle(n).backgroundColor;"
        " if (c !== 'rgba(0, 0, 0, 0)') return c; } return ''; }"
    )
    assert background == "rgb(29, 35, 48)"
    phone.keyboard.press("Escape")
    expect(tokens).to_be_hidden()


def test_at_desktop_width_the_menu_is_open_without_a_toggle(page, live_server, world):
    log_in(page, live_server, world.email, world.password)
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="API tokens")).to_be_visible()


def test_on_a_phone_the_record_log_shows_every_column_of_a_row_as_a_card(phone, live_server, world):
    log_in(phone, live_server, world.email, world.password)
    phone.goto(f"{live_server.url}/integrations/{world.integration.pk}/records/")
    row = phone.locator("#records tbody tr").first
    for label in ("When", "Record", "Object", "Outcome", "Details"):
        cell = row.locator(f"td[data-label='{label}']")
        if cell.count() and cell.inner_text().strip():
            box = cell.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (label, box)
    outcome = row.locator("td[data-label='Outcome']")
    expect(outcome).to_be_visible()
    # The column name is shown above each value (the table head is hidden on a phone).
    assert outcome.evaluate("td => getComputedStyle(td, '::before').content") == '"Outcome"'


def test_on_a_phone_the_mapping_dropdowns_fit_inside_their_cards(phone, live_server, world):
    log_in(phone, live_server, world.email, world.password)
    contacts = world.integration.object_mappings.get(hubspot_object="contacts")
    phone.goto(f"{live_server.url}/integrations/{world.integration.pk}/mappings/{contacts.pk}/")
    outside = phone.evaluate(
        """() => [...document.querySelectorAll('main select')].filter(s => {
             const card = s.closest('.card'); if (!card) return false;
             const a = s.getBoundingClientRect(), b = card.getBoundingClientRect();
             return a.width > 0 && (a.left < b.left - 1 || a.right > b.right + 1); }).map(s => s.name || s.id)"""
    )
    assert outside == []


def test_every_page_has_a_favicon(page, live_server, world):
    log_in(page, live_server, world.email, world.password)
    href = page.locator("link[rel=icon]").get_attribute("href")
    assert page.request.get(live_server.url + href).status == 200
    assert page.request.get(live_server.url + "/favicon.ico").status == 200


def test_finished_with_failures_is_amber_like_every_warning_not_grey(page, live_server, world):
    SyncRun.objects.create(integration=world.integration, status=SyncRun.Status.PARTIAL, counts={"failed": 2})
    log_in(page, live_server, world.email, world.password)
    page.goto(f"{live_server.url}/integrations/{world.integration.pk}/runs/")
    partial = page.locator("#runs .badge", has_text="Finished with failures").first
    succeeded = page.locator("#runs .badge", has_text="Succeeded").first
    colour = partial.evaluate("el => getComputedStyle(el).backgroundColor")
    assert colour == "rgb(255, 244, 229)"  # the warning tone, as "Waiting for a parent"
    assert succeeded.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(230, 244, 234)"


def test_chart_day_labels_keep_their_shape_at_any_width(page, live_server, world):
    log_in(page, live_server, world.email, world.password)
    heights = []
    for width in (1280, 700):
        page.set_viewport_size({"width": width, "height": 900})
        label = page.locator("svg.chart-axis text").first
        expect(label).to_be_attached()
        box = label.bounding_box()
        heights.append(round(box["height"]))
        assert box["width"] < 40, box  # "Mon" is about 20 px wide, not stretched across the card
    assert heights[0] == heights[1]


def test_a_checkbox_sits_before_its_label_on_the_same_line(page, live_server, world):
    log_in(page, live_server, world.email, world.password)
    page.goto(f"{live_server.url}/integrations/{world.integration.pk}/")
    box = page.locator("input[type=checkbox]").first
    label = page.locator(f"label[for='{box.get_attribute('id')}']")
    b, lb = box.bounding_box(), label.bounding_box()
    assert b["x"] + b["width"] <= lb["x"], (b, lb)  # to the left of its label
    assert abs((b["y"] + b["height"] / 2) - (lb["y"] + 12)) < 10, (b, lb)  # on its first line


def test_the_go_live_page_keeps_the_integration_tabs(page, live_server, world):
    log_in(page, live_server, world.email, world.password)
    page.goto(f"{live_server.url}/integrations/{world.integration.pk}/go-live/")
    tabs = page.get_by_role("navigation", name="Integration")
    expect(tabs.get_by_role("link", name="Record log")).to_be_visible()
    expect(tabs.get_by_role("link", name="Move to production")).to_have_attribute("aria-current", "page")


def test_the_connectwise_historical_sync_page_does_not_mention_dynamics(page, live_server, world):
    log_in(page, live_server, world.email, world.password)
    page.goto(f"{live_server.url}/integrations/{world.integration.pk}/historical/")
    expect(page.locator("main")).to_contain_text("HubSpot and ConnectWise Manage read only records changed since this date")
    expect(page.locator("main")).not_to_contain_text("Dynamics")


def test_a_new_api_token_has_a_copy_button_that_copies_it(browser, live_server, world):
    context = browser.new_context(viewport=DESKTOP)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    try:
        log_in(page, live_server, world.email, world.password)
        page.goto(live_server.url + "/api-tokens/")
        page.get_by_label("Name").fill("Nightly report")
        page.get_by_role("button", name="Create token").click()
        token = page.get_by_label("New API token").input_value()
        assert re.match(r"^ss_[\w-]+$", token)  # token_urlsafe may begin with "-"
        page.get_by_role("button", name="Copy token").click()
        expect(page.locator("#copy-status")).to_have_text("Copied to the clipboard.")
        assert page.evaluate("() => navigator.clipboard.readText()") == token
    finally:
        context.close()


def test_the_installer_pages_pass_axe_and_fit_the_window(sized_page, live_server, screenshot, transactional_db):
    """Every installer step, its answers laid in the database (the OAuth and live tests of each
    step are tests/browser/test_wizard.py's)."""
    page = sized_page
    problems = check_page(page, screenshot, live_server.url + "/onboarding/account/", "installer-account")
    page.get_by_label("Work e-mail").fill("grace.axe@example.com")
    page.get_by_label("Company name").fill("Axe Install")
    page.get_by_label("Password").fill("a-long-test-password-42")
    page.get_by_role("button", name="Create account and continue").click()
    confirm_sign_up_in_browser(page, live_server.url, "grace.axe@example.com")
    page.wait_for_url("**/onboarding/hubspot/")
    progress = OnboardingProgress.objects.get(tenant__name="Axe Install")
    hub = ConnectionFactory(tenant=progress.tenant, system="hubspot")
    progress.hubspot_connection = hub
    progress.answers = {
        "hubspot": {"portal_id": "123", "hub_domain": "axe.example"},
        "system": "connectwise",
        "environment": "sandbox",
        "objects": ["companies:companies"],
        "options": {"test_mode": True, "schedule_minutes": 15},
    }
    progress.reached = OnboardingProgress.Step.FINISH
    progress.save()
    for step in ("hubspot", "system", "credentials", "objects", "finish"):
        problems += check_page(page, screenshot, f"{live_server.url}/onboarding/{step}/", f"installer-{step}")
    OnboardingProgress.objects.filter(pk=progress.pk).update(completed_at=timezone.now())
    problems += check_page(page, screenshot, f"{live_server.url}/onboarding/done/", "installer-done")
    assert not problems, "\n".join(problems)


# How far an element's visible part (clipped by the nearest scrolling ancestor) sticks out of its card.
STICKING_OUT = """id => {
  const element = document.getElementById(id);
  let right = element.getBoundingClientRect().right;
  for (let e = element.parentElement; e; e = e.parentElement) {
    if (getComputedStyle(e).overflowX !== "visible") { right = Math.min(right, e.getBoundingClientRect().right); break; }
  }
  return right - element.closest(".card").getBoundingClientRect().right;
}"""


def test_the_installers_finish_with_preview_passes_axe_and_fits_the_window(sized_page, live_server, world, screenshot):
    """Finish first shows what the first sync would do: the preview read from both emulators,
    its counts per object and the confirm button (test_wizard.py walks the whole installer)."""
    page = sized_page
    tenant = world.integration.tenant
    hub, other = world.integration.hubspot_connection, world.integration.other_connection
    other.record_success()  # "Test connection" passed
    OnboardingProgress.objects.create(
        tenant=tenant,
        started_by=tenant.memberships.first().user,
        reached=OnboardingProgress.Step.FINISH,
        hubspot_connection=hub,
        other_connection=other,
        answers={
            "hubspot": {"portal_id": "123", "hub_domain": "axe.example"},
            "system": "connectwise",
            "environment": "sandbox",
            "objects": ["companies:companies"],
            "options": {"test_mode": False, "schedule_minutes": 15},
        },
    )
    log_in(page, live_server, world.email, world.password)
    page.goto(f"{live_server.url}/onboarding/finish/")
    page.get_by_role("button", name="Finish and start syncing").click()
    expect(page.get_by_role("heading", name="What the first sync will do")).to_be_visible()
    expect(page.get_by_role("button", name="Confirm: finish and start syncing")).to_be_visible()
    samples = page.locator("#preview-result details summary")
    for n in range(samples.count()):  # the sample records too, not only the counts
        samples.nth(n).click()
    problems = check_shown(page, screenshot, "installer-finish-preview")
    if page.evaluate(STICKING_OUT, "preview-counts") > 0.5:
        problems.append(f"installer-finish-preview: the counts stick out of their card at {page.size_name} size")
    assert not problems, "\n".join(problems)


def test_the_mapping_table_shows_each_direction_as_an_arrow(page, live_server, world):
    contacts = world.integration.object_mappings.get(hubspot_object="contacts")
    one_way = contacts.field_mappings.first()
    one_way.direction = "to_hubspot"
    one_way.save()
    log_in(page, live_server, world.email, world.password)
    page.goto(f"{live_server.url}/integrations/{world.integration.pk}/mappings/{contacts.pk}/")
    row = page.locator(f"#fm-{one_way.pk}")
    expect(row.locator(".arrow")).to_have_text("←")
    expect(row.get_by_label(re.compile("^Direction of"))).to_have_value("to_hubspot")
    expect(row.locator("select.direction option:checked")).to_have_text("← ConnectWise Manage to HubSpot only")
    assert page.locator("#field-mappings .arrow", has_text="↔").count() >= 1
