"""The installer's NetSuite step: account id and TBA tokens typed as NetSuite shows them, a live
test that explains a refusal, write-only secrets, and a finish whose first sync creates the
customer (with its subsidiary) and the contact in NetSuite."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.urls import reverse

from connectors.http import mount, unmount
from connectors.models import Connection
from connectors.netsuite.emulator import (
    DEMO_CONSUMER_KEY,
    DEMO_CONSUMER_SECRET,
    DEMO_TOKEN_ID,
    DEMO_TOKEN_SECRET,
    NetSuiteEmulator,
)
from mappings.models import Integration
from syncsmart.models import SyncRun
from tests.onboarding.test_wizard import approve_in_hubspot, finish, sign_up, step

pytestmark = pytest.mark.django_db
API = "https://1234567-sb1.suitetalk.api.netsuite.com"  # derived from the account id


@pytest.fixture
def netsuite():
    emulator = NetSuiteEmulator()
    mount(API, emulator.transport())
    yield emulator
    unmount(API)


def ns_form(**overrides) -> dict:
    return {
        "account_id": "1234567_sb1",
        "auth_method": "tba",
        "consumer_key": DEMO_CONSUMER_KEY,
        "consumer_secret": DEMO_CONSUMER_SECRET,
        "token_id": DEMO_TOKEN_ID,
        "token_secret": DEMO_TOKEN_SECRET,
        "default_subsidiary": "1",
        **overrides,
    }


def test_a_wrong_token_secret_fails_the_live_test_and_the_right_one_passes(client, hubspot, netsuite):
    sign_up(client)
    approve_in_hubspot(client)
    client.post(step("hubspot"))
    client.post(step("system"), {"system": "netsuite", "environment": "sandbox"})
    page = client.get(step("credentials")).content.decode()
    assert "Account ID" in page and "Token ID" in page
    refused = client.post(step("credentials"), ns_form(token_secret="0" * 64, then="continue"))
    assert refused.status_code == 200 and "Connection failed." in refused.content.decode()
    assert ("0" * 64) not in refused.content.decode() and DEMO_CONSUMER_SECRET not in refused.content.decode()
    assert client.get(step("objects"))["Location"] == step("credentials")
    accepted = client.post(step("credentials"), ns_form(then="continue"))
    assert accepted["Location"] == step("objects")
    connection = Connection.objects.get(system="netsuite")
    assert connection.status == Connection.Status.OK and connection.config["account_id"] == "1234567_SB1"
    assert connection.credentials["token_secret"] == DEMO_TOKEN_SECRET and connection.credentials["webhook_secret"]


def test_finishing_installs_the_netsuite_defaults_and_the_first_sync_writes_to_netsuite(
    client, hubspot, netsuite, django_capture_on_commit_callbacks
):
    company = hubspot.create_record("companies", {"name": "SyncSmart Test Co", "domain": "synctest.example"})
    hubspot.create_record(
        "contacts",
        {"email": "ada.ss.test@synctest.example", "firstname": "Ada", "lastname": "Lovelace"},
        associations={"companies": [company]},
    )
    tenant = sign_up(client)
    approve_in_hubspot(client)
    client.post(step("hubspot"))
    client.post(step("system"), {"system": "netsuite", "environment": "sandbox"})
    client.post(step("credentials"), ns_form(then="continue"))
    objects = client.get(step("objects")).content.decode()
    assert "companies:customers" in objects and "contacts:contacts" in objects
    client.post(step("objects"), {"objects": ["companies:customers", "contacts:contacts"], "test_mode": "on"})
    with override_settings(SYNC_RUN_INLINE=True), django_capture_on_commit_callbacks(execute=True):
        response = finish(client)
    assert response["Location"] == reverse("onboarding_done")
    integration = Integration.objects.get(tenant=tenant)
    run = SyncRun.objects.get(integration=integration)
    assert run.status in (SyncRun.Status.SUCCEEDED, SyncRun.Status.PARTIAL), run.error
    [contact] = netsuite.all("contact")
    assert contact["email"] == "ada.ss.test@synctest.example" and contact["subsidiary"] == 1
    [customer] = netsuite.all("customer")
    assert customer["companyName"] == "SyncSmart Test Co" and customer["isPerson"] is False and customer["subsidiary"] == 1
    assert contact["company"] == customer["id"]
