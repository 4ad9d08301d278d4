"""The installer's "Sign in with Salesforce" (OAuth 2.0 web-server flow) against the emulator:
the login host follows the environment chosen, the code is exchanged, the tokens are stored
encrypted and tested live, and a forged or refused sign-in changes nothing."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.test import override_settings

from connectors.http import mount, unmount
from connectors.models import Connection
from connectors.salesforce.emulator import DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET, SalesforceEmulator
from tests.onboarding.test_wizard import approve_in_hubspot, sign_up, step

pytestmark = pytest.mark.django_db

LOGIN = "https://login.salesforce.emulator.test"


@pytest.fixture
def salesforce():
    emulator = SalesforceEmulator(limits=False)
    mount(LOGIN, emulator.transport())
    with override_settings(
        SALESFORCE_CLIENT_ID=DEFAULT_CONSUMER_KEY, SALESFORCE_CLIENT_SECRET=DEFAULT_CONSUMER_SECRET, SALESFORCE_LOGIN_URL=LOGIN
    ):
        yield emulator
    unmount(LOGIN)


def at_credentials(client, environment: str = "sandbox") -> None:
    sign_up(client)
    approve_in_hubspot(client)
    client.post(step("hubspot"))
    client.post(step("system"), {"system": "salesforce", "environment": environment})


def consent(emulator, authorize_url: str, decision: str = "allow") -> str:
    """The user on Salesforce's consent page clicks Allow (or Deny); returns where Salesforce sends them."""
    with httpx.Client(transport=emulator.transport()) as browser:
        page = browser.get(authorize_url)
        assert page.status_code == 200 and "Allow Access?" in page.text
        form = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()} | {"decision": decision}
        answer = browser.post(authorize_url.split("?")[0], data=form)
    assert answer.status_code == 302
    return answer.headers["Location"]


def test_sign_in_with_salesforce_stores_tokens_encrypted_and_tests_the_org(client, hubspot, salesforce):
    at_credentials(client)
    page = client.get(step("credentials")).content.decode()
    assert "Sign in with Salesforce" in page and "sandbox" in page
    start = client.get("/onboarding/salesforce/connect/")
    assert start.status_code == 302 and start["Location"].startswith(LOGIN + "/services/oauth2/authorize?")
    query = parse_qs(urlsplit(start["Location"]).query)
    assert query["client_id"] == [DEFAULT_CONSUMER_KEY] and query["response_type"] == ["code"]
    back = urlsplit(consent(salesforce, start["Location"]))
    done = client.get(back.path + "?" + back.query)
    assert done["Location"] == step("credentials")
    connection = Connection.objects.get(system="salesforce")
    assert connection.status == Connection.Status.OK, connection.last_error
    assert connection.environment == "sandbox" and connection.config["instance_url"] == LOGIN
    assert connection.oauth_tokens["refresh_token"] and connection.credentials["client_secret"] == DEFAULT_CONSUMER_SECRET
    raw = Connection.objects.filter(pk=connection.pk).values_list("oauth_tokens", flat=True).get()
    assert connection.oauth_tokens["access_token"] not in str(raw)  # encrypted at rest
    assert client.get(step("objects")).status_code == 200
    assert connection.oauth_tokens["access_token"] not in client.get(step("credentials")).content.decode()


def test_a_forged_state_or_a_denied_consent_stores_nothing(client, hubspot, salesforce):
    at_credentials(client)
    start = client.get("/onboarding/salesforce/connect/")
    back = urlsplit(consent(salesforce, start["Location"]))
    forged = back.query.replace("state=", "state=x")
    assert client.get(back.path + "?" + forged)["Location"] == step("credentials")
    assert not Connection.objects.filter(system="salesforce").exists()
    start = client.get("/onboarding/salesforce/connect/")
    denied = urlsplit(consent(salesforce, start["Location"], decision="deny"))
    response = client.get(denied.path + "?" + denied.query, follow=True)
    assert "did not grant access" in response.content.decode()
    assert not Connection.objects.filter(system="salesforce").exists()
    assert client.get(step("objects"))["Location"] == step("credentials")
