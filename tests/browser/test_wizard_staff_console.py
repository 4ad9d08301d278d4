"""The staff console in Chromium: health list, tenant page, and "view as customer" with its banner."""

from __future__ import annotations

import pytest

from mappings.services import actions as mapping_actions
from syncsmart.models import RecordEvent, SyncRun
from tenants.models import AuditLog
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, ConnectionFactory, MembershipFactory, TenantFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_find_a_tenant_see_its_health_and_view_it_read_only(page, live_server, screenshot):
    tenant = TenantFactory(name="Borealis Inc")
    MembershipFactory(tenant=tenant, user=UserFactory(email="owner@borealis.example"))
    hub = ConnectionFactory(tenant=tenant, system="hubspot")
    other = ConnectionFactory(
        tenant=tenant,
        system="connectwise",
        status="error",
        last_error="401 Unauthorized",
        credentials={"private_key": "borealis-private-key"},
    )
    integration = mapping_actions.create_integration(tenant, None, hub, other, name="Borealis CW")
    run = SyncRun.objects.create(integration=integration, status=SyncRun.Status.PARTIAL, counts={"created": 4, "failed": 1})
    RecordEvent.objects.create(
        run=run,
        integration=integration,
        source_side="hubspot",
        source_id="501",
        outcome=RecordEvent.Outcome.FAILED,
        message="Company name is required",
        fields=["name"],
    )
    TenantFactory(name="Unrelated LLC")
    UserFactory(email="support@syncsmart.example", is_staff=True)

    log_in(page, live_server, "support@syncsmart.example", PASSWORD)
    page.goto(live_server.url + "/staff/")
    page.get_by_label("Search tenants, portal ids or user e-mails").fill("borealis.example")
    page.get_by_role("button", name="Search").click()
    assert page.get_by_role("link", name="Borealis Inc").is_visible()
    assert page.get_by_text("Unrelated LLC").count() == 0
    assert "ConnectWise Manage: Failing" in page.content()
    screenshot(page, "staff-index")

    page.get_by_role("link", name="Borealis Inc").click()
    assert "Company name is required" in page.content()
    assert "borealis-private-key" not in page.content()
    screenshot(page, "staff-tenant")

    page.get_by_role("button", name="View as customer (read-only)").click()
    banner = page.get_by_role("status").filter(has_text="Staff view of")
    assert "Borealis Inc" in banner.inner_text()
    screenshot(page, "staff-view-as")
    banner.get_by_role("link", name="Leave").click()
    page.wait_for_url(f"{live_server.url}/staff/tenants/{tenant.pk}/")
    assert page.get_by_text("Staff view of").count() == 0
    assert list(
        AuditLog.objects.filter(tenant=tenant, action__startswith="staff.view_as").order_by("id").values_list("action", flat=True)
    ) == ["staff.view_as_started", "staff.view_as_ended"]
