"""The installer asks how often to sync; a HubSpot portal another tenant already syncs needs the
staff console's approval before the installer can finish."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from mappings.models import Integration
from tenants.models import AuditLog, PortalApproval, Tenant
from tests.factories import TenantFactory, UserFactory
from tests.onboarding.test_wizard import approve_in_hubspot, cw_form, sign_up, step
from tests.onboarding.test_wizard import finish as finish_installer


def up_to_finish(client: Client, schedule_minutes: str = "") -> Tenant:
    tenant = sign_up(client)
    approve_in_hubspot(client)
    client.post(step("hubspot"))
    client.post(step("system"), {"system": "connectwise", "environment": "sandbox"})
    client.post(step("credentials"), cw_form(then="continue"))
    answers = {"objects": ["companies:companies"], "test_mode": "on"}
    if schedule_minutes:
        answers["schedule_minutes"] = schedule_minutes
    assert client.post(step("objects"), answers)["Location"] == step("finish")
    return tenant


@pytest.mark.django_db
def test_the_installer_asks_for_the_sync_interval_and_the_integration_uses_it(client, hubspot, connectwise):
    tenant = sign_up(client)
    approve_in_hubspot(client)
    client.post(step("hubspot"))
    client.post(step("system"), {"system": "connectwise", "environment": "sandbox"})
    client.post(step("credentials"), cw_form(then="continue"))
    page = client.get(step("objects")).content.decode()
    assert '<label for="id_schedule_minutes">Sync every' in page and '<option value="15">15 minutes</option>' in page
    client.post(step("objects"), {"objects": ["companies:companies"], "test_mode": "on", "schedule_minutes": "15"})
    assert "schedules a sync every 15 minutes" in client.get(step("finish")).content.decode()
    with override_settings(SYNC_RUN_INLINE=False):
        finish_installer(client)
    assert Integration.objects.get(tenant=tenant).schedule_minutes == 15


@pytest.mark.django_db
def test_an_interval_that_is_not_offered_is_refused(client, hubspot, connectwise):
    sign_up(client)
    approve_in_hubspot(client)
    client.post(step("hubspot"))
    client.post(step("system"), {"system": "connectwise", "environment": "sandbox"})
    client.post(step("credentials"), cw_form(then="continue"))
    response = client.post(step("objects"), {"objects": ["companies:companies"], "schedule_minutes": "0"})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()


@pytest.mark.django_db
def test_a_portal_another_tenant_syncs_warns_and_waits_for_staff_approval(client, hubspot, connectwise):
    TenantFactory(name="First Owner Of The Portal", hubspot_portal_id=str(hubspot.portal_id))
    tenant = sign_up(client)
    approve_in_hubspot(client)
    page = client.get(step("hubspot")).content.decode()
    assert "Another SyncSmart workspace already syncs this portal" in page
    approval = PortalApproval.objects.get(tenant=tenant)
    assert approval.status == "pending" and approval.other_tenants == ["First Owner Of The Portal"]
    assert AuditLog.objects.filter(tenant=tenant, action="portal.approval_requested").count() == 1
    client.post(step("hubspot"))
    client.post(step("system"), {"system": "connectwise", "environment": "sandbox"})
    client.post(step("credentials"), cw_form(then="continue"))
    client.post(step("objects"), {"objects": ["companies:companies"], "test_mode": "on"})
    finish = client.get(step("finish")).content.decode()
    assert "our staff must approve a second one first" in finish
    client.post(step("finish"))
    assert not Integration.objects.filter(tenant=tenant).exists()

    staff = Client()
    staff.force_login(UserFactory(email="support@syncsmart.example", is_staff=True), backend="tenants.auth.EmailBackend")
    console = staff.get(reverse("staff_index")).content.decode()
    assert "HubSpot portals waiting for approval" in console and "First Owner Of The Portal" in console
    assert staff.post(reverse("staff_decide_portal", args=[approval.pk]), {"decision": "approve"}).status_code == 302
    assert AuditLog.objects.filter(tenant=tenant, action="portal.approved").exists()
    with override_settings(SYNC_RUN_INLINE=False):
        assert finish_installer(client)["Location"] == reverse("onboarding_done")
    assert Integration.objects.filter(tenant=tenant).exists()


@pytest.mark.django_db
def test_a_refused_shared_portal_keeps_the_installer_from_finishing(client, hubspot, connectwise):
    TenantFactory(name="First Owner Of The Portal", hubspot_portal_id=str(hubspot.portal_id))
    tenant = up_to_finish(client)
    approval = PortalApproval.objects.get(tenant=tenant)
    staff = Client()
    staff.force_login(UserFactory(email="support@syncsmart.example", is_staff=True), backend="tenants.auth.EmailBackend")
    staff.post(reverse("staff_decide_portal", args=[approval.pk]), {"decision": "refuse"})
    assert "did not approve" in client.get(step("finish")).content.decode()
    assert not Integration.objects.filter(tenant=tenant).exists()


@pytest.mark.django_db
def test_customers_cannot_decide_portal_approvals(team):
    approval = PortalApproval.objects.create(tenant=team.tenant, portal_id="42")
    assert team.owner.post(reverse("staff_decide_portal", args=[approval.pk]), {"decision": "approve"}).status_code in (
        302,
        403,
    )
    approval.refresh_from_db()
    assert approval.status == "pending"
