"""The staff console's error rate never rounds a real failure away (issue 20: 2 errors showed "0%")."""

from __future__ import annotations

import pytest

from mappings.services import actions as mapping_actions
from syncsmart.models import RecordEvent, SyncRun
from tenants.templatetags.ui import percent_of
from tests.factories import ConnectionFactory, TenantFactory


@pytest.mark.parametrize(
    ("part", "whole", "shown"),
    [(2, 900, "0.2%"), (1, 5000, "<0.1%"), (0, 900, "0%"), (45, 900, "5%"), (450, 900, "50%"), (3, 0, "—")],
)
def test_a_share_is_shown_without_rounding_failures_to_zero(part, whole, shown):
    assert percent_of(part, whole) == shown


@pytest.mark.django_db
def test_two_failures_in_900_show_as_0_2_percent_on_the_console(admin_client):
    tenant = TenantFactory(name="Two Errors Ltd")
    integration = mapping_actions.create_integration(
        tenant, None, ConnectionFactory(tenant=tenant, system="hubspot"), ConnectionFactory(tenant=tenant, system="connectwise")
    )
    run = SyncRun.objects.create(integration=integration, status=SyncRun.Status.PARTIAL)
    RecordEvent.objects.bulk_create(
        RecordEvent(
            run=run,
            integration=integration,
            source_side="hubspot",
            source_id=str(n),
            outcome=RecordEvent.Outcome.FAILED if n < 2 else RecordEvent.Outcome.UPDATED,
        )
        for n in range(900)
    )
    body = admin_client.get("/staff/").content.decode()
    assert "0.2%" in body and "(2/900, 24 h)" in body
