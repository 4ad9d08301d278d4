"""Connections over the API: status and last error, a live test, and never a secret."""

import pytest

from connectors import http
from connectors.hubspot.emulator import DEFAULT_TOKEN, HubSpotEmulator
from connectors.models import Connection
from tenants.models import AuditLog
from tests.api.factories import SECRET
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db

EMULATED_HUBSPOT = "https://hubspot-api.api-tests.test"


@pytest.fixture
def hubspot():
    emulator = HubSpotEmulator(limits=False)
    http.mount(EMULATED_HUBSPOT, emulator.transport())
    yield emulator
    http.unmount(EMULATED_HUBSPOT)


def hubspot_connection(tenant, token: str) -> Connection:
    return ConnectionFactory(
        tenant=tenant,
        system="hubspot",
        name="HubSpot portal",
        config={"base_url": EMULATED_HUBSPOT},
        credentials={"token": token, "client_secret": SECRET},
        oauth_tokens={"access_token": SECRET, "refresh_token": SECRET},
    )


def test_connections_show_status_but_no_secret(api):
    connection = hubspot_connection(api.tenant, SECRET)
    connection.record_failure(f"401 from HubSpot; Authorization: Bearer {SECRET}")
    hubspot_connection(api.other_tenant, SECRET)

    listing = api.viewer.get("/api/connections/")
    detail = api.viewer.get(f"/api/connections/{connection.pk}/")

    assert [row["id"] for row in listing.json()["results"]] == [str(connection.pk)]
    body = detail.json()
    assert body["status"] == "error" and body["has_credentials"] is True
    assert "401 from HubSpot" in body["last_error"]
    for response in (listing, detail):
        assert SECRET not in response.content.decode()
        assert "credentials" not in response.json() and "oauth_tokens" not in response.content.decode()
    assert api.viewer.get("/api/connections/?status=error").json()["results"][0]["id"] == str(connection.pk)
    assert api.viewer.get("/api/connections/?system=dynamics").json()["results"] == []


def test_outsiders_cannot_see_or_test_a_connection(api):
    connection = hubspot_connection(api.tenant, SECRET)
    assert api.outsider.get(f"/api/connections/{connection.pk}/").status_code == 404
    assert api.outsider.post(f"/api/connections/{connection.pk}/test/").status_code == 404
    assert api.viewer.post(f"/api/connections/{connection.pk}/test/").status_code == 403
    assert api.viewer.get("/api/connections/not-a-uuid/").status_code == 404


def test_testing_a_working_connection_marks_it_ok(api, hubspot):
    connection = hubspot_connection(api.tenant, DEFAULT_TOKEN)

    response = api.admin.post(f"/api/connections/{connection.pk}/test/")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["ok"] is True and body["connection"]["status"] == "ok", body
    assert DEFAULT_TOKEN not in response.content.decode() and SECRET not in response.content.decode()
    connection.refresh_from_db()
    assert connection.status == Connection.Status.OK and connection.last_ok_at is not None
    assert AuditLog.objects.filter(tenant=api.tenant, action="connection.tested").exists()


def test_testing_with_a_wrong_token_says_why_without_echoing_it(api, hubspot):
    connection = hubspot_connection(api.tenant, "pat-na1-wrong-" + SECRET)

    response = api.admin.post(f"/api/connections/{connection.pk}/test/")

    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is False and body["message"]
    assert body["connection"]["status"] in ("error", "reconnect_needed")
    assert SECRET not in response.content.decode()
