"""Sandbox -> production for Salesforce: the production connection signs in on login.salesforce.com
(JWT bearer, audience of a production org), is tested live, and the switch points the integration
at it; the sandbox's links and cursors are left behind."""

from __future__ import annotations

import pytest
from django.urls import reverse

from connectors.http import mount, unmount
from connectors.salesforce.emulator import SalesforceEmulator
from mappings import first_day
from mappings.services import actions as mapping_actions
from tenants.models import GoLiveSwitch
from tests.factories import ConnectionFactory
from tests.onboarding.conftest import confirm_the_switch

PRODUCTION_LOGIN = "https://login.salesforce.com"


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
def production_org():
    emulator = SalesforceEmulator(limits=False)  # a production org: assertions must name login.salesforce.com
    mount(PRODUCTION_LOGIN, emulator.transport())
    yield emulator
    unmount(PRODUCTION_LOGIN)


@pytest.fixture
def sandbox_integration(team):
    hub = ConnectionFactory(tenant=team.tenant, system="hubspot")
    sandbox = ConnectionFactory(
        tenant=team.tenant,
        system="salesforce",
        environment="sandbox",
        status="ok",
        config={"client_id": "sandbox-app", "instance_url": "https://acme--uat.sandbox.my.salesforce.com"},
    )
    integration = mapping_actions.create_integration(team.tenant, None, hub, sandbox, test_mode=True, name="Acme SF")
    integration.enabled = True
    integration.save()
    return integration


@pytest.mark.django_db
def test_the_production_org_is_signed_in_tested_and_switched_to(team, sandbox_integration, production_org):
    config, credentials = production_org.connection_settings(PRODUCTION_LOGIN)
    fields = {"client_id": config["client_id"], "username": config["username"], "private_key": credentials["private_key"]}
    url = reverse("go_live", args=[sandbox_integration.pk])
    page = team.admin.post(url, fields | {"action": "test"}).content.decode()
    assert "Connected to the Salesforce production org" in page
    gate = team.admin.post(url, fields | {"action": "start", "confirm": "on", "mappings": "keep"})
    assert "Switch to production?" in gate.content.decode()
    response = confirm_the_switch(team.admin, url, sandbox_integration)
    assert response.status_code == 302
    switch = GoLiveSwitch.objects.get(integration=sandbox_integration)
    sandbox_integration.refresh_from_db()
    assert switch.status == GoLiveSwitch.Status.DONE
    production = switch.production_connection
    assert sandbox_integration.environment == "production" and sandbox_integration.other_connection == production
    assert production.environment == "production" and production.config["username"] == config["username"]
    assert credentials["private_key"] not in page
