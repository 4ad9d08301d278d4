"""API tokens: created in the UI and shown once, stored hashed, listed by name and last use,
scoped to a role, revoked immediately."""

import hashlib

import pytest
from django.urls import reverse

from syncsmart.api import tokens
from tenants.models import ApiToken, AuditLog
from tests.api.conftest import error_of, token_client

pytestmark = pytest.mark.django_db

INTEGRATIONS = "/api/integrations/"


def test_creating_a_token_shows_it_once_and_stores_only_its_hash(team):
    response = team.owner.post(reverse("api_tokens"), {"name": "Nightly report", "role": "viewer"})

    assert response.status_code == 201
    plaintext = response.context["new_token"]
    assert plaintext.startswith("ss_") and len(plaintext) > 40
    assert plaintext in response.content.decode()
    token = ApiToken.objects.get(tenant=team.tenant, name="Nightly report")
    assert token.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext not in str(ApiToken.objects.filter(pk=token.pk).values().get())
    assert plaintext.startswith(token.prefix) and len(token.prefix) == 11
    assert response["Cache-Control"].startswith("max-age=0") or "no-store" in response["Cache-Control"]

    listing = team.owner.get(reverse("api_tokens")).content.decode()
    assert "Nightly report" in listing and token.prefix in listing
    assert plaintext not in listing
    assert AuditLog.objects.filter(tenant=team.tenant, action="api_token.created").exists()


def test_the_token_page_lists_name_access_and_last_use(team):
    token, plaintext = tokens.issue_token(team.tenant, team.users["owner"], "CRM export", "admin")
    assert "Never" in team.admin.get(reverse("api_tokens")).content.decode()

    token_client(plaintext).get(INTEGRATIONS)

    token.refresh_from_db()
    assert token.last_used_at is not None
    page = team.viewer.get(reverse("api_tokens")).content.decode()
    assert "CRM export" in page and "Read and write" in page and "Never" not in page


def test_a_token_needs_a_name(team):
    response = team.owner.post(reverse("api_tokens"), {"name": "  ", "role": "admin"})
    assert response.status_code == 422
    assert "Give the token a name" in response.content.decode()
    assert not ApiToken.objects.filter(tenant=team.tenant).exists()


def test_viewers_see_tokens_but_cannot_create_or_revoke_them(team):
    token, _ = tokens.issue_token(team.tenant, team.users["owner"], "Existing", "viewer")
    assert team.viewer.get(reverse("api_tokens")).status_code == 200
    assert team.viewer.post(reverse("api_tokens"), {"name": "Mine", "role": "admin"}).status_code == 403
    assert team.viewer.post(reverse("api_token_revoke", args=[token.pk])).status_code == 403
    token.refresh_from_db()
    assert token.is_active and ApiToken.objects.filter(tenant=team.tenant).count() == 1


def test_outsiders_cannot_see_or_revoke_another_tenants_tokens(team):
    token, _ = tokens.issue_token(team.tenant, team.users["owner"], "Acme only", "admin")
    assert "Acme only" not in team.outsider.get(reverse("api_tokens")).content.decode()
    assert team.outsider.post(reverse("api_token_revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.is_active


def test_anonymous_visitors_are_sent_to_log_in(team):
    response = team.anonymous.get(reverse("api_tokens"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_revocation_takes_effect_on_the_very_next_request(team):
    token, plaintext = tokens.issue_token(team.tenant, team.users["owner"], "Soon gone", "admin")
    client = token_client(plaintext)
    assert client.get(INTEGRATIONS).status_code == 200

    response = team.owner.post(reverse("api_token_revoke", args=[token.pk]))

    assert response.status_code == 302
    refused = client.get(INTEGRATIONS)
    assert refused.status_code == 401
    assert error_of(refused)["code"] == "authentication_failed"
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == team.users["owner"]
    assert AuditLog.objects.filter(tenant=team.tenant, action="api_token.revoked").exists()
    assert "Revoked" in team.owner.get(reverse("api_tokens")).content.decode()


def test_requests_without_a_token_are_401_with_a_bearer_challenge(api):
    response = api.anonymous.get(INTEGRATIONS)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert error_of(response)["code"] == "not_authenticated"


@pytest.mark.parametrize("header", ["Bearer ss_not-a-real-token", "Bearer", "Token x y", "Bearer \u00e9t\u00e9"])
def test_unknown_or_malformed_tokens_are_401(api, header):
    client = token_client("")
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(INTEGRATIONS)
    assert response.status_code == 401
    assert error_of(response)["code"] == "authentication_failed"


def test_a_token_of_a_suspended_tenant_is_refused(api):
    api.tenant.status = "suspended"
    api.tenant.save()
    response = api.admin.get(INTEGRATIONS)
    assert response.status_code == 403
    assert "suspended" in error_of(response)["message"]


def test_token_actions_are_audited_under_the_tokens_name(api):
    from tests.api.factories import IntegrationFactory

    integration = IntegrationFactory(tenant=api.tenant, enabled=False)
    assert api.admin.post(f"/api/integrations/{integration.pk}/switch/", {"enabled": True}).status_code == 200
    entry = AuditLog.objects.get(tenant=api.tenant, action="integration.switched_on")
    assert entry.actor is None
    assert entry.actor_label.startswith("API token “Read-write script” (ss_")


def test_logged_in_browsers_use_the_api_with_their_role(api):
    from tests.api.factories import IntegrationFactory

    integration = IntegrationFactory(tenant=api.tenant, enabled=False)
    assert api.team.viewer.get(INTEGRATIONS).status_code == 200
    assert (
        api.team.viewer.post(
            f"/api/integrations/{integration.pk}/switch/", {"enabled": True}, content_type="application/json"
        ).status_code
        == 403
    )
    assert (
        api.team.admin.post(
            f"/api/integrations/{integration.pk}/switch/", {"enabled": True}, content_type="application/json"
        ).status_code
        == 200
    )
    assert api.team.outsider.get(f"/api/integrations/{integration.pk}/").status_code == 404


def test_a_read_only_token_refused_a_change_says_the_token_is_read_only_not_the_owners_role(api):
    from tests.api.factories import IntegrationFactory

    integration = IntegrationFactory(tenant=api.tenant)
    response = api.viewer.post(f"/api/integrations/{integration.pk}/sync/", {}, format="json")
    assert response.status_code == 403
    message = error_of(response)["message"]
    assert message.startswith("This API token is read-only; create a token with “Read and write” access")
    assert "role" not in message
