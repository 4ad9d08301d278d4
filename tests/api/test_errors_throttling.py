"""One error body everywhere, and rate limits per token."""

import pytest
from rest_framework.test import APIClient

from syncsmart.api.errors import api_exception_handler
from tests.api.conftest import error_of
from tests.api.factories import IntegrationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_per_minute(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": "3/min"}}


def test_a_token_over_its_rate_gets_429_with_retry_after(api, three_per_minute):
    for _ in range(3):
        assert api.admin.get("/api/integrations/").status_code == 200

    response = api.admin.get("/api/integrations/")

    assert response.status_code == 429
    assert error_of(response)["code"] == "throttled"
    assert int(response["Retry-After"]) > 0


def test_one_tokens_budget_does_not_spend_anothers(api, three_per_minute):
    for _ in range(4):
        api.admin.get("/api/integrations/")
    assert api.admin.get("/api/integrations/").status_code == 429
    assert api.viewer.get("/api/integrations/").status_code == 200
    assert api.outsider.get("/api/integrations/").status_code == 200


def test_writes_count_against_the_same_budget(api, three_per_minute):
    integration = IntegrationFactory(tenant=api.tenant)
    for _ in range(3):
        api.admin.post(f"/api/integrations/{integration.pk}/switch/", {"enabled": False})
    assert api.admin.post(f"/api/integrations/{integration.pk}/switch/", {"enabled": True}).status_code == 429
    integration.refresh_from_db()
    assert integration.enabled is False, "the throttled request changed nothing"


def test_unknown_endpoints_are_json_404s(api):
    for path in ("/api/nothing-here/", "/api/integrations/1/explode/", "/api/integrations"):
        response = api.admin.get(path)
        assert response.status_code == 404
        assert error_of(response)["code"] == "not_found"


def test_unsupported_methods_are_405_with_the_error_body(api):
    integration = IntegrationFactory(tenant=api.tenant)
    response = api.admin.delete(f"/api/integrations/{integration.pk}/")
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert "PATCH" in response["Allow"]


def test_non_json_bodies_are_415(api):
    integration = IntegrationFactory(tenant=api.tenant)
    response = api.admin.post(
        f"/api/integrations/{integration.pk}/switch/", "enabled=true", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


def test_malformed_json_is_a_400(api):
    integration = IntegrationFactory(tenant=api.tenant)
    response = api.admin.post(f"/api/integrations/{integration.pk}/switch/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "parse_error"


def test_validation_errors_name_each_field(api):
    integration = IntegrationFactory(tenant=api.tenant)
    response = api.admin.patch(f"/api/integrations/{integration.pk}/", {"schedule_minutes": "soon", "test_mode": "maybe"})
    error = error_of(response)
    assert response.status_code == 400 and error["code"] == "invalid"
    assert set(error["fields"]) == {"schedule_minutes", "test_mode"}
    assert all(isinstance(m, str) for messages in error["fields"].values() for m in messages)
    assert "schedule_minutes" in error["message"]


def test_a_bug_is_a_500_in_the_same_shape_and_logged(caplog):
    response = api_exception_handler(RuntimeError("boom"), {"view": None})
    assert response.status_code == 500
    assert response.data == {
        "error": {"code": "server_error", "message": "Something went wrong on our side. It has been logged."}
    }
    assert "boom" in caplog.text


def test_sessions_need_csrf_for_writes():
    from tests.factories import MembershipFactory

    membership = MembershipFactory()
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(membership.user, backend="tenants.auth.EmailBackend")
    integration = IntegrationFactory(tenant=membership.tenant)
    response = client.post(f"/api/integrations/{integration.pk}/switch/", {"enabled": True}, format="json")
    assert response.status_code == 403
    assert "CSRF" in error_of(response)["message"]
