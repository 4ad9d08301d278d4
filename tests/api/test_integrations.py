"""Integrations over the API: read, change options, main switch, sync now, historical sync."""

from datetime import date

import pytest

from mappings.models import Integration
from syncsmart.models import Preview, SyncRun
from tenants.models import AuditLog
from tests.api.conftest import error_of, run_is_queued
from tests.api.factories import SECRET, IntegrationFactory, ObjectMappingFactory, SyncRunFactory
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def integration(api):
    return IntegrationFactory(tenant=api.tenant, name="Acme CW", enabled=False)


def test_list_shows_the_tenants_integrations_with_connections_and_last_run(api, integration):
    IntegrationFactory(tenant=api.other_tenant, name="Not ours")
    SyncRunFactory(integration=integration, status=SyncRun.Status.PARTIAL)

    response = api.viewer.get("/api/integrations/")

    assert response.status_code == 200
    body = response.json()
    assert [row["name"] for row in body["results"]] == ["Acme CW"]
    row = body["results"][0]
    assert row["other_system"] == "connectwise" and row["enabled"] is False
    assert row["hubspot_connection"]["system"] == "hubspot"
    assert row["last_run"]["status"] == "partial"
    assert set(body) >= {"next", "previous", "results"}
    assert SECRET not in response.content.decode()


def test_list_filters_by_main_switch_and_rejects_nonsense(api, integration):
    IntegrationFactory(tenant=api.tenant, name="On one", enabled=True)
    assert [r["name"] for r in api.viewer.get("/api/integrations/?enabled=true").json()["results"]] == ["On one"]
    assert [r["name"] for r in api.viewer.get("/api/integrations/?enabled=false").json()["results"]] == ["Acme CW"]
    bad = api.viewer.get("/api/integrations/?environment=moon")
    assert bad.status_code == 400
    assert "environment" in error_of(bad)["fields"]


def test_detail_is_404_for_an_outsider(api, integration):
    assert api.viewer.get(f"/api/integrations/{integration.pk}/").json()["id"] == integration.pk
    response = api.outsider.get(f"/api/integrations/{integration.pk}/")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_options_change_through_the_action_and_are_audited(api, integration):
    response = api.admin.patch(f"/api/integrations/{integration.pk}/", {"test_mode": True, "schedule_minutes": 2})

    assert response.status_code == 200, response.json()
    integration.refresh_from_db()
    assert integration.test_mode and integration.schedule_minutes == 2
    assert AuditLog.objects.filter(tenant=api.tenant, action="integration.changed").exists()


def test_options_are_validated_by_the_model(api, integration):
    response = api.admin.patch(f"/api/integrations/{integration.pk}/", {"schedule_minutes": 0})
    assert response.status_code == 400
    assert "schedule_minutes" in error_of(response)["fields"]


def test_only_the_options_the_ui_edits_are_writable(api, integration):
    response = api.admin.patch(
        f"/api/integrations/{integration.pk}/",
        {"enabled": True, "environment": "production", "name": "Renamed", "block_free_emails": True},
    )
    assert response.status_code == 200
    integration.refresh_from_db()
    assert integration.block_free_emails is True
    assert (integration.enabled, integration.environment, integration.name) == (False, "sandbox", "Acme CW"), (
        "the main switch and go-live have their own flows"
    )


def test_viewer_and_outsider_cannot_change_an_integration(api, integration):
    url = f"/api/integrations/{integration.pk}/"
    viewer = api.viewer.patch(url, {"test_mode": True})
    assert viewer.status_code == 403 and error_of(viewer)["code"] == "permission_denied"
    assert api.outsider.patch(url, {"test_mode": True}).status_code == 404
    for path, body in (("switch/", {"enabled": True}), ("sync/", {}), ("historical-sync/", {})):
        assert api.viewer.post(url + path, body).status_code == 403
        assert api.outsider.post(url + path, body).status_code == 404
    integration.refresh_from_db()
    assert not integration.test_mode and not integration.enabled
    assert not SyncRun.objects.exists()


def test_main_switch_turns_sync_on_and_off(api, integration, django_capture_on_commit_callbacks):
    url = f"/api/integrations/{integration.pk}/switch/"
    with django_capture_on_commit_callbacks(execute=True):
        on = api.admin.post(url, {"enabled": True})
    assert on.status_code == 200 and on.json()["enabled"] is True
    assert Integration.objects.get(pk=integration.pk).enabled

    queued = SyncRun.objects.create(integration=integration, trigger=SyncRun.Trigger.MANUAL)
    off = api.admin.post(url, {"enabled": False})
    assert off.json()["enabled"] is False
    queued.refresh_from_db()
    assert queued.status == SyncRun.Status.CANCELLED
    assert AuditLog.objects.filter(action="integration.switched_off", tenant=api.tenant).exists()


def test_main_switch_needs_a_boolean(api, integration):
    response = api.admin.post(f"/api/integrations/{integration.pk}/switch/", {"enabled": "maybe"})
    assert response.status_code == 400
    assert list(error_of(response)["fields"]) == ["enabled"]


def test_sync_now_queues_a_run_for_a_worker_without_running_it(api, integration, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.admin.post(f"/api/integrations/{integration.pk}/sync/", {})

    assert response.status_code == 202
    run = SyncRun.objects.get(pk=response.json()["id"])
    assert run.integration == integration and run.trigger == SyncRun.Trigger.MANUAL
    assert run.status == SyncRun.Status.QUEUED and run.started_at is None
    assert run_is_queued(run.pk)


def test_sync_now_of_one_object_mapping(api, integration):
    mapping = ObjectMappingFactory(integration=integration)
    other = ObjectMappingFactory(integration=IntegrationFactory(tenant=api.tenant))

    response = api.admin.post(f"/api/integrations/{integration.pk}/sync/", {"object_mapping": mapping.pk})
    assert response.status_code == 202
    assert SyncRun.objects.get(pk=response.json()["id"]).object_mapping == mapping

    refused = api.admin.post(f"/api/integrations/{integration.pk}/sync/", {"object_mapping": other.pk})
    assert refused.status_code == 404 and error_of(refused)["code"] == "not_found"  # a well-formed id of nothing here
    assert error_of(refused)["fields"] == {"object_mapping": ["Not an object mapping of this integration."]}


def test_historical_sync_queues_one_run_with_its_start_date(api, integration, django_capture_on_commit_callbacks):
    url = f"/api/integrations/{integration.pk}/historical-sync/"
    preview = api.admin.post(url + "preview/", {"since": "2025-01-31"}).json()
    Preview.objects.filter(pk=preview["id"]).update(status=Preview.Status.DONE)  # as a worker would finish it
    with django_capture_on_commit_callbacks(execute=True):
        response = api.admin.post(url, {"since": "2025-01-31", "confirmed_preview": preview["id"]})

    assert response.status_code == 202
    run = SyncRun.objects.get(pk=response.json()["id"])
    assert run.trigger == SyncRun.Trigger.HISTORICAL and run.status == SyncRun.Status.QUEUED
    assert run.state["since"].startswith(date(2025, 1, 31).isoformat())
    assert run_is_queued(run.pk)
    again = api.admin.post(url, {})
    assert again.json()["id"] == str(run.pk), "a historical sync under way is returned, not doubled"
    assert AuditLog.objects.filter(action="run.historical_started", tenant=api.tenant).exists()


def test_historical_sync_rejects_a_bad_date(api, integration):
    response = api.admin.post(f"/api/integrations/{integration.pk}/historical-sync/", {"since": "31/01/2025"})
    assert response.status_code == 400
    assert "since" in error_of(response)["fields"]


# --- creating an integration (what the installer's last step does) -------------------------


@pytest.fixture
def two_connections(api):
    return ConnectionFactory(tenant=api.tenant, system="hubspot"), ConnectionFactory(tenant=api.tenant, system="connectwise")


def test_create_an_integration_with_its_default_mappings(api, two_connections):
    hub, cw = two_connections
    response = api.admin.post(
        "/api/integrations/",
        {"hubspot_connection": str(hub.pk), "other_connection": str(cw.pk), "schedule_minutes": 15},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["other_system"] == "connectwise" and body["enabled"] is False and body["test_mode"] is True
    assert body["schedule_minutes"] == 15
    integration = Integration.objects.get(pk=body["id"])
    assert integration.object_mappings.filter(is_default=True).exists()
    assert integration.object_mappings.get(hubspot_object="contacts").field_mappings.exists()
    assert AuditLog.objects.filter(tenant=api.tenant, action="integration.created").exists()


def test_create_without_defaults_makes_an_empty_integration(api, two_connections):
    hub, cw = two_connections
    response = api.admin.post(
        "/api/integrations/",
        {"hubspot_connection": str(hub.pk), "other_connection": str(cw.pk), "install_defaults": False},
        format="json",
    )
    assert response.status_code == 201
    assert not Integration.objects.get(pk=response.json()["id"]).object_mappings.exists()


def test_create_refuses_connections_of_another_tenant_or_the_wrong_system(api, two_connections):
    hub, cw = two_connections
    theirs = ConnectionFactory(tenant=api.other_tenant, system="connectwise")
    response = api.admin.post(
        "/api/integrations/", {"hubspot_connection": str(cw.pk), "other_connection": str(theirs.pk)}, format="json"
    )
    assert response.status_code == 404  # well-formed ids, but of no connection of this tenant (of that system)
    errors = response.json()
    assert "Not a HubSpot connection of this tenant." in str(errors) and "Not a connection of this tenant" in str(errors)
    assert api.admin.post("/api/integrations/", {"hubspot_connection": "nonsense"}, format="json").status_code == 400
    assert not Integration.objects.filter(tenant=api.tenant).exists()


def test_a_read_only_token_cannot_create_an_integration(api, two_connections):
    hub, cw = two_connections
    response = api.viewer.post(
        "/api/integrations/", {"hubspot_connection": str(hub.pk), "other_connection": str(cw.pk)}, format="json"
    )
    assert response.status_code == 403
    assert not Integration.objects.exists()


def test_restore_defaults_puts_a_removed_default_mapping_back(api, two_connections):
    hub, cw = two_connections
    created = api.admin.post(
        "/api/integrations/", {"hubspot_connection": str(hub.pk), "other_connection": str(cw.pk)}, format="json"
    ).json()
    integration = Integration.objects.get(pk=created["id"])
    default = integration.object_mappings.get(hubspot_object="contacts").field_mappings.filter(is_default=True).first()
    assert api.admin.delete(f"/api/field-mappings/{default.pk}/").status_code == 204
    response = api.admin.post(f"/api/integrations/{integration.pk}/restore-defaults/")
    assert response.status_code == 200
    assert (
        integration.object_mappings.get(hubspot_object="contacts")
        .field_mappings.filter(hubspot_field=default.hubspot_field, other_field=default.other_field)
        .exists()
    )
    assert api.viewer.post(f"/api/integrations/{integration.pk}/restore-defaults/").status_code == 403
