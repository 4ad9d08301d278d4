"""The staff console: staff-only everywhere, health per integration, audited actions, read-only view-as."""

from __future__ import annotations

import pytest
from django.urls import reverse

from mappings.services import actions as mapping_actions
from syncsmart.models import DeferredRecord, InboxItem, RecordEvent, SyncRun
from tenants.models import AuditLog
from tests.factories import ConnectionFactory

SECRET = "cw-private-key-never-shown-7731"


@pytest.fixture
def integration(team):
    hub = ConnectionFactory(tenant=team.tenant, system="hubspot", credentials={"token": "pat-secret-hub-token"})
    other = ConnectionFactory(
        tenant=team.tenant,
        system="connectwise",
        status="error",
        last_error="401 Unauthorized",
        credentials={"private_key": SECRET},
    )
    return mapping_actions.create_integration(team.tenant, None, hub, other, name="Acme CW")


def _get_pages(team, integration):
    return [reverse("staff_index"), reverse("staff_tenant", args=[team.tenant.pk]), reverse("staff_view_as_end")]


def _post_pages(team, integration):
    return [
        reverse("staff_sync_now", args=[integration.pk]),
        reverse("staff_historical_resync", args=[integration.pk]),
        reverse("staff_main_switch", args=[integration.pk]),
        reverse("staff_refresh_schema", args=[integration.other_connection.pk]),
        reverse("staff_view_as", args=[team.tenant.pk]),
    ]


@pytest.mark.django_db
def test_customers_get_403_and_anonymous_users_are_sent_to_log_in_on_every_staff_page(team, integration):
    audit_rows = AuditLog.objects.count()
    for url in _get_pages(team, integration):
        assert team.owner.get(url).status_code == 403, url
        response = team.anonymous.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next="), url
    for url in _post_pages(team, integration):
        assert team.owner.post(url, {"on": "1"}).status_code == 403, url
        assert team.viewer.post(url).status_code == 403, url
        response = team.anonymous.post(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url
    assert AuditLog.objects.count() == audit_rows
    assert SyncRun.objects.count() == 0


@pytest.mark.django_db
def test_the_index_shows_each_integrations_health(team, integration, admin_client):
    run = SyncRun.objects.create(integration=integration, status=SyncRun.Status.FAILED, error="boom")
    mapping = integration.object_mappings.first()
    RecordEvent.objects.bulk_create(
        [RecordEvent(run=run, integration=integration, source_side="hubspot", outcome=RecordEvent.Outcome.FAILED, message="bad")]
        + [RecordEvent(run=run, integration=integration, source_side="hubspot", outcome=RecordEvent.Outcome.CREATED)] * 3
    )
    DeferredRecord.objects.create(integration=integration, object_mapping=mapping, source_side="hubspot", record_id="7")
    for n in range(2):
        InboxItem.objects.create(
            integration=integration, side="hubspot", event_id=f"e{n}", object_type="contacts", record_id=str(n)
        )
    body = admin_client.get(reverse("staff_index")).content.decode()
    assert "Acme CW" in body and "Failed" in body
    assert "25%" in body and "(1/4, 24 h)" in body
    assert "1 deferred" in body and "2 in inbox" in body
    assert "ConnectWise Manage: Failing" in body
    assert "Other Inc" in body  # every tenant, with or without an integration


@pytest.mark.django_db
def test_the_index_is_searchable_by_tenant_name_portal_and_member_email(team, integration, admin_client):
    team.tenant.hubspot_portal_id = "998877"
    team.tenant.save()

    def names(q):
        body = admin_client.get(reverse("staff_index"), {"q": q}).content.decode()
        return {name for name in ("Acme Corp", "Other Inc") if name in body}

    assert names("corp") == {"Acme Corp"}
    assert names("998877") == {"Acme Corp"}
    assert names("owner@other.example") == {"Other Inc"}
    assert "No tenant matches" in admin_client.get(reverse("staff_index"), {"q": "zzz-nothing"}).content.decode()


@pytest.mark.django_db
def test_the_tenant_page_shows_runs_failing_records_and_audit_log_but_never_a_secret(team, integration, admin_client):
    run = SyncRun.objects.create(integration=integration, status=SyncRun.Status.PARTIAL, counts={"created": 2, "failed": 1})
    RecordEvent.objects.create(
        run=run,
        integration=integration,
        source_side="hubspot",
        source_id="101",
        outcome=RecordEvent.Outcome.FAILED,
        message="Company name is required",
        fields=["name"],
    )
    body = admin_client.get(reverse("staff_tenant", args=[team.tenant.pk])).content.decode()
    assert "Finished with failures" in body and "2 created, 1 failed" in body
    assert "Company name is required" in body and "HubSpot 101" in body
    assert "integration.created" in body  # the audit log
    assert "401 Unauthorized" in body  # connection status and its error
    for secret in (SECRET, "pat-secret-hub-token", "ss1:"):
        assert secret not in body


@pytest.mark.django_db
def test_the_tenant_pages_run_counts_are_worded_as_on_the_customer_run_page(team, integration, admin_client):
    counts = {"match_lookups": 2, "writes_other": 748, "deferred": 748, "echo": 3000, "match_index_records": 10890}
    SyncRun.objects.create(integration=integration, status=SyncRun.Status.SUCCEEDED, counts=counts)
    body = admin_client.get(reverse("staff_tenant", args=[team.tenant.pk])).content.decode()
    assert "3000 our own changes, 748 waiting for a parent, 748 written to ConnectWise" in body
    for internal_key in ("match_lookups", "match_index_records", "writes_other", "deferred 748", "echo 3000"):
        assert internal_key not in body


@pytest.fixture
def hubspot_emulator():
    from connectors.http import mount, unmount
    from connectors.hubspot.emulator import HubSpotEmulator

    emulator = HubSpotEmulator()
    mount("http://hubspot.staff-test", emulator.transport())
    yield emulator
    unmount("http://hubspot.staff-test")


@pytest.mark.django_db
def test_every_staff_action_writes_an_audit_row(team, integration, admin_client, hubspot_emulator):
    from connectors.hubspot.emulator import DEFAULT_TOKEN

    hub = integration.hubspot_connection
    hub.config, hub.credentials = {"base_url": "http://hubspot.staff-test"}, {"token": DEFAULT_TOKEN}
    hub.save()

    def staff_rows(action):
        return AuditLog.objects.filter(tenant=team.tenant, action=action, actor__is_staff=True).count()

    admin_client.post(reverse("staff_sync_now", args=[integration.pk]))
    assert staff_rows("staff.sync_now") == 1 and SyncRun.objects.filter(trigger="manual").count() == 1
    admin_client.post(reverse("staff_historical_resync", args=[integration.pk]))
    assert staff_rows("staff.historical_resync") == 1 and SyncRun.objects.filter(trigger="historical").count() == 1
    admin_client.post(reverse("staff_main_switch", args=[integration.pk]), {"on": "1"})
    integration.refresh_from_db()
    assert staff_rows("staff.main_switch") == 1 and integration.enabled
    admin_client.post(reverse("staff_main_switch", args=[integration.pk]), {"on": "0"})
    integration.refresh_from_db()
    assert staff_rows("staff.main_switch") == 2 and not integration.enabled
    admin_client.post(reverse("staff_refresh_schema", args=[hub.pk]))
    assert staff_rows("staff.schema_refreshed") == 1
    hub.refresh_from_db()
    assert "contacts" in hub.schema_cache and hub.schema_refreshed_at is not None
    admin_client.post(reverse("staff_view_as", args=[team.tenant.pk]))
    assert staff_rows("staff.view_as_started") == 1
    admin_client.get(reverse("staff_view_as_end"))
    assert staff_rows("staff.view_as_ended") == 1


@pytest.mark.django_db
def test_view_as_customer_is_read_only_with_a_banner_until_left(team, integration, admin_client):
    response = admin_client.post(reverse("staff_view_as", args=[team.tenant.pk]))
    assert response.status_code == 302
    page = admin_client.get(reverse("audit_log")).content.decode()
    assert "Staff view of <strong>Acme Corp</strong>" in page and "Integration created" in page
    go_live = reverse("go_live", args=[integration.pk])
    assert admin_client.get(go_live).status_code == 200
    assert admin_client.post(go_live, {"action": "test"}).status_code == 403
    assert not integration.go_live_switches.exists()
    assert admin_client.post(reverse("api_tokens"), {"name": "staff token", "role": "admin"}).status_code == 403
    assert not team.tenant.api_tokens.exists()
    for customer_page in (reverse("home"), reverse("api_tokens"), reverse("sandbox")):
        response = admin_client.get(customer_page)
        assert response.status_code == 200, customer_page
        assert "Staff view of" in response.content.decode()
    admin_client.get(reverse("staff_view_as_end"))
    assert "Staff view of" not in admin_client.get(reverse("staff_index")).content.decode()


@pytest.mark.django_db
def test_the_model_admin_lives_under_staff_admin_and_lists_onboarding_and_go_live_rows(team, integration, admin_client):
    from mappings.services import go_live

    switch = go_live.prepare(integration, team.users["owner"])
    for url in (
        "/staff/admin/",
        "/staff/admin/tenants/onboardingprogress/",
        "/staff/admin/tenants/goliveswitch/",
        f"/staff/admin/tenants/goliveswitch/{switch.pk}/change/",
        "/staff/admin/connectors/connection/",
    ):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert SECRET not in response.content.decode()
    assert team.owner.get("/staff/admin/tenants/goliveswitch/").status_code == 302


@pytest.mark.django_db
def test_the_index_costs_a_fixed_number_of_queries_whatever_the_tenant_count(
    team, integration, admin_client, django_assert_max_num_queries
):
    from tests.factories import TenantFactory

    for n in range(15):
        tenant = TenantFactory(name=f"Bulk {n}")
        hub = ConnectionFactory(tenant=tenant, system="hubspot")
        other = ConnectionFactory(tenant=tenant, system="connectwise")
        created = mapping_actions.create_integration(tenant, None, hub, other, install_defaults_now=False)
        SyncRun.objects.create(integration=created, status=SyncRun.Status.SUCCEEDED)
    with django_assert_max_num_queries(14):  # 12, plus the alerts list and the failing-records count (one query each)
        body = admin_client.get(reverse("staff_index")).content.decode()
    assert "Bulk 14" in body


@pytest.mark.django_db
def test_the_tenant_page_shows_an_interrupted_go_live_switch(team, integration, admin_client):
    from tenants.models import GoLiveSwitch

    GoLiveSwitch.objects.create(
        tenant=team.tenant,
        integration=integration,
        status=GoLiveSwitch.Status.IN_PROGRESS,
        steps_done=["switch_off", "pause_webhooks"],
        webhooks_paused=True,
    )
    body = admin_client.get(reverse("staff_tenant", args=[team.tenant.pk])).content.decode()
    assert "2/6: switch_off, pause_webhooks" in body and "paused" in body
