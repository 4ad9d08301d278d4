"""Sandbox -> production for NetSuite: the production connection must be a production account (a
sandbox id ends in _SB1), is tested live, and the switch then points the integration at it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from connectors.http import mount, unmount
from connectors.netsuite.emulator import (
    DEMO_CONSUMER_KEY,
    DEMO_CONSUMER_SECRET,
    DEMO_TOKEN_ID,
    DEMO_TOKEN_SECRET,
    NetSuiteEmulator,
)
from mappings import first_day
from mappings.services import actions as mapping_actions
from tenants.models import GoLiveSwitch
from tests.factories import ConnectionFactory
from tests.onboarding.conftest import confirm_the_switch

PRODUCTION_API = "https://1234567.suitetalk.api.netsuite.com"


@pytest.fixture(autouse=True)
def _hubspot_side_answers():
    """The HubSpot connection here is a bare factory row (no emulator): discovery finds every field
    and neither side holds records, as in tests/onboarding/test_go_live.py. The real discovery of
    both production schemas is proven in tests/matching/test_go_live_first_day.py."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(first_day, "discover_schemas", lambda integration, actor: {"discovered": {}, "broken": []})
        patch.setattr(first_day, "holds_records", lambda connection, object_type: False)
        yield


@pytest.fixture
def production_account():
    emulator = NetSuiteEmulator(account="1234567")
    mount(PRODUCTION_API, emulator.transport())
    yield emulator
    unmount(PRODUCTION_API)


@pytest.fixture
def sandbox_integration(team):
    hub = ConnectionFactory(tenant=team.tenant, system="hubspot")
    sandbox = ConnectionFactory(
        tenant=team.tenant, system="netsuite", environment="sandbox", status="ok", config={"account_id": "1234567_SB1"}
    )
    integration = mapping_actions.create_integration(team.tenant, None, hub, sandbox, test_mode=True, name="Acme NS")
    integration.enabled = True
    integration.save()
    return integration


def form(**overrides):
    return {
        "auth_method": "tba",
        "consumer_key": DEMO_CONSUMER_KEY,
        "consumer_secret": DEMO_CONSUMER_SECRET,
        "token_id": DEMO_TOKEN_ID,
        "token_secret": DEMO_TOKEN_SECRET,
        "default_subsidiary": "1",
        **overrides,
    }


@pytest.mark.django_db
def test_a_sandbox_account_id_is_refused_for_production_and_the_production_one_switches(
    team, sandbox_integration, production_account
):
    url = reverse("go_live", args=[sandbox_integration.pk])
    page = team.admin.post(url, form(account_id="1234567_SB1", action="test")).content.decode()
    assert "is a sandbox account" in page and "1234567," in page
    gate = team.admin.post(url, form(account_id="1234567", action="start", confirm="on", mappings="keep"))
    assert "Switch to production?" in gate.content.decode()
    response = confirm_the_switch(team.admin, url, sandbox_integration)
    assert response.status_code == 302
    switch = GoLiveSwitch.objects.get(integration=sandbox_integration)
    sandbox_integration.refresh_from_db()
    assert switch.status == GoLiveSwitch.Status.DONE
    assert (
        sandbox_integration.environment == "production" and sandbox_integration.other_connection == switch.production_connection
    )
    assert switch.production_connection.config["account_id"] == "1234567"
    assert switch.production_connection.config["base_url"] == PRODUCTION_API
