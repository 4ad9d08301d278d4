"""The REST API asks for the same preview the pages do (mappings.services.previewed, one layer):
a historical sync and turning an object mapping on happen only once `confirmed_preview` names
the finished preview of exactly that action; otherwise 409 preview_required names the route
that starts it. The previews are finished by hand here, as a worker would store them (their real
runs: tests/matching/test_preview.py)."""

import pytest

from syncsmart.models import Preview, SyncRun
from tests.api.conftest import error_of
from tests.api.factories import IntegrationFactory, ObjectMappingFactory

pytestmark = pytest.mark.django_db


def _finish(preview_id: str) -> None:
    Preview.objects.filter(pk=preview_id).update(status=Preview.Status.DONE, result={"flows": [], "totals": {}})


@pytest.fixture
def contacts(api):
    return ObjectMappingFactory(integration=IntegrationFactory(tenant=api.tenant), enabled=True)


def test_a_historical_sync_without_a_confirmed_preview_is_refused_with_409_naming_the_preview_route(api, contacts):
    url = f"/api/integrations/{contacts.integration_id}/historical-sync/"
    refused = api.admin.post(url, {"since": "2026-11-01", "object_mapping": contacts.pk}, format="json")

    assert refused.status_code == 409
    error = error_of(refused)
    assert error["code"] == "preview_required"
    assert f"POST /api/integrations/{contacts.integration_id}/historical-sync/preview/" in error["message"]
    assert not SyncRun.objects.exists()


def test_a_historical_sync_starts_with_its_finished_preview_and_only_that_one(api, contacts):
    url = f"/api/integrations/{contacts.integration_id}/historical-sync/"
    body = {"since": "2026-11-01", "object_mapping": contacts.pk}
    started = api.admin.post(url + "preview/", body, format="json")
    assert started.status_code == 202, started.json()
    preview = started.json()
    assert (preview["kind"], preview["purpose"], preview["object_mapping"]) == ("historical", "resync", contacts.pk)
    assert preview["since"].startswith("2026-11-01")
    assert api.admin.post(url + "preview/", body, format="json").json()["id"] == preview["id"]  # reused

    early = api.admin.post(url, {**body, "confirmed_preview": preview["id"]}, format="json")
    assert early.status_code == 409 and "still reading" in error_of(early)["message"]
    _finish(preview["id"])
    other_date = api.admin.post(url, {**body, "since": "2026-10-01", "confirmed_preview": preview["id"]}, format="json")
    every_object = api.admin.post(url, {"since": "2026-11-01", "confirmed_preview": preview["id"]}, format="json")
    assert other_date.status_code == every_object.status_code == 409
    assert not SyncRun.objects.exists()

    done = api.admin.post(url, {**body, "confirmed_preview": preview["id"]}, format="json")
    assert done.status_code == 202, done.json()
    run = SyncRun.objects.get(pk=done.json()["id"])
    assert run.trigger == "historical" and run.object_mapping_id == contacts.pk


def test_turning_a_mapping_on_over_the_api_needs_its_finished_preview(api, contacts):
    contacts.enabled = False
    contacts.save()
    url = f"/api/object-mappings/{contacts.pk}/"

    refused = api.admin.patch(url, {"enabled": True, "name": "Renamed"}, format="json")
    assert refused.status_code == 409
    assert f"POST /api/object-mappings/{contacts.pk}/turn-on/preview/" in error_of(refused)["message"]
    contacts.refresh_from_db()
    assert not contacts.enabled and contacts.name != "Renamed"

    started = api.admin.post(f"{url}turn-on/preview/")
    assert started.status_code == 202
    preview = started.json()
    assert (preview["kind"], preview["purpose"], preview["object_mapping"]) == ("next_run", "mapping_on", contacts.pk)
    _finish(preview["id"])
    turned_on = api.admin.patch(url, {"enabled": True, "confirmed_preview": preview["id"]}, format="json")
    assert turned_on.status_code == 200, turned_on.json()
    assert turned_on.json()["enabled"] is True and "confirmed_preview" not in turned_on.json()
    contacts.refresh_from_db()
    assert contacts.enabled


def test_other_changes_to_a_mapping_need_no_preview(api, contacts):
    url = f"/api/object-mappings/{contacts.pk}/"
    assert api.admin.patch(url, {"name": "Still on"}, format="json").status_code == 200
    assert api.admin.patch(url, {"enabled": False}, format="json").status_code == 200
    assert not Preview.objects.exists()


def test_the_schema_documents_the_preview_routes_and_the_409(api):
    schema = api.anonymous.get("/api/schema/?format=json").json()
    paths = schema["paths"]
    assert "post" in paths["/api/integrations/{id}/historical-sync/preview/"]
    assert "post" in paths["/api/object-mappings/{id}/turn-on/preview/"]
    historical = paths["/api/integrations/{id}/historical-sync/"]["post"]
    assert "preview_required" in historical["responses"]["409"]["description"]
    request = historical["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert "confirmed_preview" in schema["components"]["schemas"][request]["properties"]
    mapping = schema["components"]["schemas"]["PatchedObjectMappingRequest"]["properties"]
    assert mapping["confirmed_preview"]["format"] == "uuid"
