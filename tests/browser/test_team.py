"""The team page in Chromium at desktop size and on a phone: an owner invites a colleague by
e-mail, the colleague follows the link and sets a password, the owner changes their role and
removes them after a confirmation that says what removal does."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from tenants.models import AuditLog, Membership
from tests.browser.conftest import log_in
from tests.factories import MembershipFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(params=list(SIZES), ids=list(SIZES))
def viewport(request):
    return SIZES[request.param]


def test_invite_a_colleague_who_joins_then_change_their_role_and_remove_them(browser, viewport, live_server, world, screenshot):
    owner = browser.new_context(viewport=viewport)
    page = owner.new_page()
    size = "phone" if viewport["width"] < 500 else "desktop"
    try:
        log_in(page, live_server, world.email, world.password)
        page.goto(live_server.url + "/team/")
        page.get_by_label("E-mail of the person to invite").fill("Grace.Hopper@initrode.example")
        page.get_by_label("Their role").select_option("viewer")
        page.get_by_role("button", name="Send invitation").click()
        expect(page.get_by_text("Invitation sent to grace.hopper@initrode.example")).to_be_visible()
        expect(page.locator("#invitations")).to_contain_text("grace.hopper@initrode.example")
        screenshot(page, f"team-invited-{size}")
        [message] = mail.outbox
        link = re.search(r"https?://\S+(/invitations/\S+/)", message.body).group(1)

        colleague = browser.new_context(viewport=viewport)
        joining = colleague.new_page()
        joining.goto(live_server.url + link)
        expect(joining.get_by_role("heading", name="Join Initrode")).to_be_visible()
        joining.get_by_label("Choose a password").fill("a-long-new-password-42")
        joining.get_by_role("button", name="Create my account and join").click()
        expect(joining.get_by_text("Welcome to Initrode. Your role: Viewer (read-only).")).to_be_visible()
        colleague.close()

        page.goto(live_server.url + "/team/")
        member = Membership.objects.get(user__email="grace.hopper@initrode.example")
        row = page.locator(f"#member-{member.pk}")
        row.get_by_label("Role of grace.hopper@initrode.example").select_option("admin")
        row.get_by_role("button", name="Change role").click()
        expect(page.get_by_text("grace.hopper@initrode.example is now Admin.")).to_be_visible()
        member.refresh_from_db()
        assert member.role == "admin"

        questions = []
        page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
        page.locator(f"#member-{member.pk}").get_by_role("button", name="Remove grace.hopper@initrode.example").click()
        expect(page.get_by_text("grace.hopper@initrode.example no longer has access to Initrode.")).to_be_visible()
        assert questions and "They lose access to Initrode at once" in questions[0]
        assert not Membership.objects.filter(pk=member.pk).exists()
        actions = set(AuditLog.objects.filter(tenant=world.integration.tenant).values_list("action", flat=True))
        assert {"invitation.sent", "membership.added", "membership.changed", "membership.removed"} <= actions
        page.goto(live_server.url + "/audit/")
        expect(page.locator("#audit-log")).to_contain_text("Membership removed")
        screenshot(page, f"team-audit-{size}")
    finally:
        owner.close()


def test_dismissing_the_confirmation_keeps_the_member(page, live_server, world):
    other = MembershipFactory(tenant=world.integration.tenant, role="viewer", user=UserFactory(email="kept@initrode.example"))
    log_in(page, live_server, world.email, world.password)
    page.goto(live_server.url + "/team/")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Remove kept@initrode.example").click()
    page.wait_for_timeout(300)
    assert Membership.objects.filter(pk=other.pk).exists()
