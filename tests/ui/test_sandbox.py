"""The demo sandbox lists and edits records inside the emulators, only for the tenant's demo
connections, read-only for viewers."""

import pytest
from django.urls import reverse

from connectors import http
from connectors.hubspot.emulator import DEFAULT_TOKEN, HubSpotEmulator
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_hubspot(team):
    emulator = HubSpotEmulator(limits=False)
    record = emulator.create_record("contacts", {"email": "sam@acme.example", "firstname": "Sam", "jobtitle": "Buyer"})
    url = "https://hubspot-ui-sandbox.test"
    http.mount(url, emulator.transport())
    connection = ConnectionFactory(
        tenant=team.tenant, system="hubspot", credentials={"token": DEFAULT_TOKEN}, config={"base_url": url, "emulator": True}
    )
    from tenants.connections import refresh_schema

    refresh_schema(connection)
    yield connection, emulator, record
    http.unmount(url)


def test_the_sandbox_lists_demo_connections_and_their_records(team, demo_hubspot):
    connection, _, record = demo_hubspot
    body = team.owner.get(reverse("sandbox")).content.decode()
    assert "https://hubspot-ui-sandbox.test" in body and reverse("sandbox_records", args=[connection.pk, "contacts"]) in body
    listing = team.viewer.get(reverse("sandbox_records", args=[connection.pk, "contacts"])).content.decode()
    assert f">{record}</a>" in listing and "sam@acme.example" in listing
    assert "<h1>Contacts <span" in listing  # the connector's label of the object type


def test_the_sandbox_names_every_emulator_shown_and_the_object_labels_the_connector_declares(team, demo_hubspot):
    cw_config = {"base_url": "https://cw-ui-sandbox.test", "company_id": "demo", "public_key": "pub", "client_id": "c1"}
    cw = ConnectionFactory(
        tenant=team.tenant,
        system="connectwise",
        credentials={"private_key": "priv"},
        config={**cw_config, "emulator": True},
        schema_cache={"call_activities": [], "contact_notes": []},
    )
    body = team.owner.get(reverse("sandbox")).content.decode()
    assert "stand in for HubSpot and ConnectWise Manage." in body and "Dynamics" not in body
    link = reverse("sandbox_records", args=[cw.pk, "call_activities"])
    assert f'href="{link}">Activities: calls</a>' in body and ">Contact notes</a>" in body
    assert ">call_activities<" not in body and ">contact_notes<" not in body


def test_an_edit_in_the_sandbox_changes_the_emulators_record(team, demo_hubspot):
    connection, emulator, record = demo_hubspot
    url = reverse("sandbox_record", args=[connection.pk, "contacts", record])
    form = team.owner.get(url).content.decode()
    assert 'value="Buyer"' in form
    response = team.owner.post(url, {"jobtitle": "Chief Buyer", "firstname": "Sam"})
    assert response.status_code == 302
    assert emulator.get_record("contacts", record)["jobtitle"] == "Chief Buyer"


def test_viewers_cannot_edit_and_other_tenants_and_real_connections_are_not_browsable(team, demo_hubspot):
    connection, emulator, record = demo_hubspot
    url = reverse("sandbox_record", args=[connection.pk, "contacts", record])
    assert team.viewer.post(url, {"jobtitle": "X"}).status_code == 403
    assert team.outsider.get(url).status_code == 404
    real = ConnectionFactory(tenant=team.tenant, system="hubspot", config={"base_url": "https://api.hubapi.com"})
    assert team.owner.get(reverse("sandbox_records", args=[real.pk, "contacts"])).status_code == 404
    assert emulator.get_record("contacts", record)["jobtitle"] == "Buyer"
