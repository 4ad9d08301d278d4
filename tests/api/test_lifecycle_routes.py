"""The REST API's go-live (preview, switch, roll-back), record actions (retry, re-sync, unlink)
and held deletions (list, confirm, reject): the pages' actions through the same services,
tenant-scoped (another tenant's id, in the path or the body, is a 404), writers only."""

from __future__ import annotations

import uuid

import pytest

from mappings import first_day
from syncsmart.models import PendingDeletion, Preview, RecordLink, SyncRun
from tenants.models import AuditLog, GoLiveSwitch
from tests.api.factories import IntegrationFactory, ObjectMappingFactory
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sandbox(api, monkeypatch):
    """An integration on a ConnectWise sandbox and a tested production connection; discovery and
    record counts answered here (the real ones: tests/matching/test_go_live_first_day.py)."""
    monkeypatch.setattr(first_day, "discover_schemas", lambda integration, actor: {"discovered": {}, "broken": []})
    monkeypatch.setattr(first_day, "holds_records", lambda connection, object_type: False)
    integration = IntegrationFactory(tenant=api.tenant, environment="sandbox")
    production = ConnectionFactory(tenant=api.tenant, system="connectwise", environment="production", status="ok")
    return integration, production


def _done(preview_id) -> None:
    Preview.objects.filter(pk=preview_id).update(status=Preview.Status.DONE, result={"totals": {"link": 3}})


def test_going_live_over_the_api_previews_against_production_then_switches_on_confirmation(api, sandbox):
    integration, production = sandbox
    base = f"/api/integrations/{integration.pk}/go-live"
    started = api.admin.post(f"{base}/preview/", {"production_connection": str(production.pk)}, format="json")
    assert started.status_code == 202, started.json()
    preview = Preview.objects.get(pk=started.json()["id"])
    assert (preview.purpose, preview.kind, preview.other_connection_id) == ("go_live", "first_run", production.pk)

    body = {"production_connection": str(production.pk), "mappings": "keep"}
    unseen = api.admin.post(f"{base}/switch/", {**body, "confirmed_preview": str(uuid.uuid4())}, format="json")
    assert unseen.status_code == 409 and "Preview first" in unseen.json()["error"]["message"]
    running = api.admin.post(f"{base}/switch/", {**body, "confirmed_preview": str(preview.pk)}, format="json")
    assert running.status_code == 409 and "still reading" in running.json()["error"]["message"]
    assert GoLiveSwitch.objects.get(integration=integration).status == GoLiveSwitch.Status.PREPARING

    _done(preview.pk)
    switched = api.admin.post(f"{base}/switch/", {**body, "confirmed_preview": str(preview.pk)}, format="json")
    assert switched.status_code == 200, switched.json()
    assert switched.json()["status"] == "done" and all(step["done"] for step in switched.json()["steps"])
    integration.refresh_from_db()
    assert integration.other_connection_id == production.pk and integration.environment == "production"
    assert api.viewer.get(f"{base}/").json()["status"] == "done"

    rolled = api.admin.post(f"{base}/roll-back/")
    assert rolled.status_code == 200 and rolled.json()["status"] == "rolled_back"
    integration.refresh_from_db()
    assert integration.other_connection_id != production.pk


def test_the_api_and_the_page_refuse_a_sandbox_as_production_in_the_same_words(api, sandbox):
    integration, _ = sandbox
    other_sandbox = ConnectionFactory(tenant=api.tenant, system="connectwise", environment="sandbox", status="ok")
    response = api.admin.post(
        f"/api/integrations/{integration.pk}/go-live/preview/", {"production_connection": str(other_sandbox.pk)}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Choose a production connection: this one is a sandbox."


def test_a_switch_without_a_confirmed_preview_is_refused_with_409_preview_required_as_a_historical_sync_is(api, sandbox):
    integration, production = sandbox
    url = f"/api/integrations/{integration.pk}/go-live/switch/"
    for extra in ({}, {"confirmed_preview": None}, {"confirmed_preview": str(uuid.uuid4())}):
        refused = api.admin.post(url, {"production_connection": str(production.pk), **extra}, format="json")
        assert refused.status_code == 409, (extra, refused.json())
        error = refused.json()["error"]
        assert error["code"] == "preview_required"
        assert f"POST /api/integrations/{integration.pk}/go-live/preview/" in error["message"]
    integration.refresh_from_db()
    assert integration.other_connection_id != production.pk and integration.environment != "production"
    assert all(s.status == GoLiveSwitch.Status.PREPARING for s in GoLiveSwitch.objects.filter(integration=integration))
    schema = api.anonymous.get("/api/schema/?format=json").json()
    switch = schema["paths"]["/api/integrations/{id}/go-live/switch/"]["post"]
    assert "preview_required" in switch["responses"]["409"]["description"]


def test_go_live_is_tenant_scoped_and_for_writers(api, sandbox):
    integration, production = sandbox
    theirs = ConnectionFactory(tenant=api.other_tenant, system="connectwise", environment="production", status="ok")
    url = f"/api/integrations/{integration.pk}/go-live/preview/"
    assert api.outsider.post(url, {"production_connection": str(production.pk)}, format="json").status_code == 404
    assert api.admin.post(url, {"production_connection": str(theirs.pk)}, format="json").status_code == 404
    assert api.viewer.post(url, {"production_connection": str(production.pk)}, format="json").status_code == 403
    assert api.outsider.get(f"/api/integrations/{integration.pk}/go-live/").status_code == 404
    assert api.admin.get(f"/api/integrations/{integration.pk}/go-live/").status_code == 404  # no switch yet
    assert not Preview.objects.exists() and not GoLiveSwitch.objects.exists()


@pytest.fixture
def linked(api):
    mapping = ObjectMappingFactory(integration=IntegrationFactory(tenant=api.tenant))
    link = RecordLink.objects.create(
        integration=mapping.integration,
        object_mapping=mapping,
        hubspot_object=mapping.hubspot_object,
        other_object=mapping.other_object,
        hubspot_id="11",
        other_id="501",
        hubspot_hash="abc",
        hubspot_values={"email": "ann@acme.example"},
    )
    return mapping, link


def test_record_actions_retry_resync_and_unlink_through_the_record_pages_actions(api, linked):
    mapping, link = linked
    base = f"/api/object-mappings/{mapping.pk}/records"
    retried = api.admin.post(f"{base}/retry/", {"side": "other", "record_id": "501"}, format="json")
    assert retried.status_code == 202 and retried.json()["trigger"] == "retry"
    assert SyncRun.objects.get(pk=retried.json()["id"]).state["records"] == [
        {"mapping": mapping.pk, "side": "other", "id": "501"}
    ]

    resynced = api.admin.post(f"{base}/resync/", {"side": "hubspot", "record_id": "11"}, format="json")
    assert resynced.status_code == 202
    link.refresh_from_db()
    assert link.hubspot_hash == "" and link.hubspot_values == {}  # every field goes again
    assert AuditLog.objects.filter(action="record.resync_requested").count() == 1

    assert api.admin.post(f"{base}/resync/", {"side": "hubspot", "record_id": "12"}, format="json").status_code == 404
    assert api.admin.post(f"{base}/unlink/", {"side": "hubspot", "record_id": "11"}, format="json").status_code == 204
    assert not RecordLink.objects.filter(pk=link.pk).exists()
    assert api.admin.post(f"{base}/unlink/", {"side": "hubspot", "record_id": "11"}, format="json").status_code == 404


def test_record_actions_refuse_bad_bodies_viewers_and_other_tenants(api, linked):
    mapping, link = linked
    base = f"/api/object-mappings/{mapping.pk}/records"
    bad = api.admin.post(f"{base}/retry/", {"side": "left", "record_id": "11"}, format="json")
    assert bad.status_code == 400 and "side" in bad.json()["error"]["fields"]
    assert api.viewer.post(f"{base}/unlink/", {"side": "hubspot", "record_id": "11"}, format="json").status_code == 403
    assert api.outsider.post(f"{base}/unlink/", {"side": "hubspot", "record_id": "11"}, format="json").status_code == 404
    assert RecordLink.objects.filter(pk=link.pk).exists() and not SyncRun.objects.exists()


@pytest.fixture
def held(api, linked):
    mapping, _ = linked
    rows = [
        PendingDeletion.objects.create(
            integration=mapping.integration,
            object_mapping=mapping,
            source_side="hubspot",
            source_id=str(100 + n),
            target_id=str(600 + n),
            policy="archive",
            status=PendingDeletion.Status.HELD,
        )
        for n in range(3)
    ]
    theirs = ObjectMappingFactory(integration=IntegrationFactory(tenant=api.other_tenant))
    PendingDeletion.objects.create(
        integration=theirs.integration,
        object_mapping=theirs,
        source_side="hubspot",
        source_id="9",
        target_id="9",
        policy="delete",
        status=PendingDeletion.Status.HELD,
    )
    return mapping, rows, theirs


def test_held_deletions_are_listed_per_tenant(api, held):
    mapping, rows, _ = held
    listed = api.viewer.get("/api/held-deletions/", {"object_mapping": mapping.pk})
    assert listed.status_code == 200
    assert sorted(r["source_id"] for r in listed.json()["results"]) == ["100", "101", "102"]
    assert {r["source_id"] for r in api.viewer.get("/api/held-deletions/").json()["results"]} == {"100", "101", "102"}


def test_confirming_held_deletions_queues_the_run_that_applies_them(api, held):
    mapping, rows, _ = held
    confirmed = api.admin.post(f"/api/object-mappings/{mapping.pk}/held-deletions/confirm/")
    assert confirmed.status_code == 200 and confirmed.json() == {"count": 3}
    assert set(PendingDeletion.objects.filter(object_mapping=mapping).values_list("status", flat=True)) == {"confirmed"}
    assert SyncRun.objects.filter(integration=mapping.integration).exists()
    assert api.viewer.get("/api/held-deletions/").json()["results"] == []


def test_rejecting_held_deletions_removes_nothing(api, held):
    mapping, rows, _ = held
    rejected = api.admin.post(f"/api/object-mappings/{mapping.pk}/held-deletions/reject/")
    assert rejected.status_code == 200 and rejected.json() == {"count": 3}
    assert set(PendingDeletion.objects.filter(object_mapping=mapping).values_list("status", flat=True)) == {"cancelled"}
    assert not SyncRun.objects.exists()


def test_held_deletion_decisions_are_tenant_scoped_and_for_writers(api, held):
    mapping, _, theirs = held
    assert api.admin.post(f"/api/object-mappings/{theirs.pk}/held-deletions/confirm/").status_code == 404
    assert api.outsider.post(f"/api/object-mappings/{mapping.pk}/held-deletions/reject/").status_code == 404
    assert api.viewer.post(f"/api/object-mappings/{mapping.pk}/held-deletions/confirm/").status_code == 403
    assert PendingDeletion.objects.filter(status=PendingDeletion.Status.HELD).count() == 4
