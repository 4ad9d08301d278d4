"""Input bounds in the validation the UI and the API share: schedule 1–1440 minutes, filter
values ≤ 1,000 characters, ≤ 50 conditions per group, JSON ≤ 20 deep; the schema says so."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from mappings.models import Integration, ObjectMapping
from tests.api.conftest import error_of
from tests.api.factories import IntegrationFactory, ObjectMappingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def mapping(api):
    return ObjectMappingFactory(integration=IntegrationFactory(tenant=api.tenant, enabled=False))


def _condition(value="x"):
    return {"field": "email", "operator": "eq", "value": value}


@pytest.mark.parametrize("minutes", [0, 1441, 562949953421311, -5])
def test_schedule_outside_1_to_1440_is_refused_by_the_api_and_not_saved(api, mapping, minutes):
    integration = mapping.integration
    response = api.admin.patch(f"/api/integrations/{integration.pk}/", {"schedule_minutes": minutes}, format="json")
    assert response.status_code == 400
    assert "schedule_minutes" in (error_of(response).get("fields") or {})
    assert Integration.objects.get(pk=integration.pk).schedule_minutes == integration.schedule_minutes
    assert api.admin.patch(f"/api/integrations/{integration.pk}/", {"schedule_minutes": 1440}, format="json").status_code == 200


def test_schedule_outside_the_bounds_is_refused_by_the_ui(team, api, mapping):
    integration = mapping.integration
    data = {"test_mode": "on", "test_email_marker": "ss.test", "test_name_marker": "SyncSmart", "schedule_minutes": "1441"}
    response = team.owner.post(reverse("integration", args=[integration.pk]), data)
    assert response.status_code == 200  # the form again, with its error
    assert Integration.objects.get(pk=integration.pk).schedule_minutes != 1441


@pytest.mark.parametrize(
    "bad",
    [
        {"match": "all", "conditions": [_condition("v" * 1_500_000)]},
        {"match": "all", "conditions": [_condition("v" * 1001)]},
        {"match": "all", "conditions": [_condition() for _ in range(51)]},
        {"match": "all", "conditions": [_condition({"nested": ["object"]})]},
        {"match": "all", "conditions": [{"field": "f" * 201, "operator": "eq", "value": "x"}]},
    ],
)
def test_oversized_filters_are_refused_and_not_stored(api, mapping, bad):
    response = api.admin.patch(f"/api/object-mappings/{mapping.pk}/filters/", {"filter_to_other": bad}, format="json")
    assert response.status_code == 400
    assert ObjectMapping.objects.get(pk=mapping.pk).filter_to_other in ({}, None)


def test_fifty_conditions_of_a_thousand_characters_are_accepted(api, mapping):
    good = {"match": "all", "conditions": [_condition("v" * 1000) for _ in range(50)]}
    response = api.admin.patch(f"/api/object-mappings/{mapping.pk}/filters/", {"filter_to_other": good}, format="json")
    assert response.status_code == 200


@pytest.mark.parametrize("depth", [21, 50_000])
def test_deep_json_is_a_400_not_a_500(api, mapping, depth):
    body = '{"filter_to_other": ' + "[" * depth + "]" * depth + "}"
    response = api.admin.generic("PATCH", f"/api/object-mappings/{mapping.pk}/filters/", body, content_type="application/json")
    assert response.status_code == 400


def test_the_filter_builder_refuses_a_value_over_a_thousand_characters(team, api, mapping):
    url = reverse("filter_builder", args=[mapping.integration_id, mapping.pk])
    data = {
        "flow": "to_other",
        "op": "save",
        "to_other-match": "all",
        "to_other-g0-match": "all",
        "to_other-g0-c0-field": "email",
        "to_other-g0-c0-op": "eq",
        "to_other-g0-c0-value": "v" * 1001,
    }
    team.owner.post(url, data)
    assert ObjectMapping.objects.get(pk=mapping.pk).filter_to_other in ({}, None)


def test_the_schema_states_the_bounds(client):
    schema = json.loads(client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content)
    patched = schema["components"]["schemas"]["PatchedIntegrationRequest"]["properties"]["schedule_minutes"]
    assert (patched["minimum"], patched["maximum"]) == (1, 1440)


def test_a_nul_character_anywhere_in_a_filter_is_a_400_not_a_server_error(api, mapping):
    """PostgreSQL stores no NUL, not even inside jsonb: refused before it reaches the database."""
    for body in ({"filter_to_hubspot": {"a\x00b": []}}, {"filter_to_other": {"match": "all", "conditions": [{"field": "\x00"}]}}):
        response = api.admin.patch(f"/api/object-mappings/{mapping.pk}/filters/", body, format="json")
        assert response.status_code == 400 and "NUL" in response.json()["error"]["message"]
