"""Sync health: connection health is told apart from record errors."""

import pytest

from syncsmart.models import RecordEvent
from tests.ui.factories import RecordEventFactory

pytestmark = pytest.mark.django_db


def connections_tile(body: str) -> str:
    return body.split('data-testid="connections-health">', 1)[1].split("</dd>", 1)[0]


def test_record_errors_do_not_turn_healthy_connections_amber(team, integration):
    for connection in (integration.hubspot_connection, integration.other_connection):
        connection.status = "ok"
        connection.save()
    RecordEventFactory(integration=integration, outcome=RecordEvent.Outcome.FAILED, message="Contact already exists.")
    body = team.owner.get(f"/integrations/{integration.pk}/").content.decode()
    assert "Healthy" in connections_tile(body)
    integration.other_connection.status = "reconnect_needed"
    integration.other_connection.save()
    body = team.owner.get(f"/integrations/{integration.pk}/").content.decode()
    assert "Reconnect needed" in connections_tile(body)
