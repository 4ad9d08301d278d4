"""Issue 16: the installer offers "link existing records only" (on by default); chosen, every
object whose two systems both already hold records starts link only, the others may create."""

from __future__ import annotations

import pytest
from django.test import override_settings

from mappings import first_day
from mappings.models import Integration, ObjectMapping
from tests.onboarding.test_wizard import approve_in_hubspot, cw_form, finish, sign_up, step

pytestmark = pytest.mark.django_db


def _up_to_objects(client):
    tenant = sign_up(client)
    approve_in_hubspot(client)
    client.post(step("hubspot"))
    client.post(step("system"), {"system": "connectwise", "environment": "sandbox"})
    client.post(step("credentials"), cw_form(then="continue"))
    return tenant


@pytest.fixture
def companies_on_both_sides(monkeypatch):
    """Which objects hold records, answered here (the vendor calls: tests/matching/test_go_live_first_day.py)."""
    holding = {"companies"}
    monkeypatch.setattr(first_day, "holds_records", lambda connection, object_type: object_type in holding)


def test_link_only_is_offered_on_by_default(client, hubspot, connectwise):
    _up_to_objects(client)
    page = client.get(step("objects")).content.decode()
    assert "Link existing records only" in page
    assert "checked" in page.split('name="link_only"')[1].split(">")[0]


@pytest.mark.parametrize("link_only", [True, False])
def test_the_choice_sets_link_only_where_both_systems_hold_records(
    client, hubspot, connectwise, companies_on_both_sides, link_only
):
    tenant = _up_to_objects(client)
    answers = {"objects": ["companies:companies", "contacts:contacts"], "test_mode": "on"}
    client.post(step("objects"), {**answers, **({"link_only": "on"} if link_only else {})})
    assert ("Linked only where both systems hold records" in client.get(step("finish")).content.decode()) is link_only
    with override_settings(SYNC_RUN_INLINE=False):
        finish(client)
    integration = Integration.objects.get(tenant=tenant)
    policies = dict(integration.object_mappings.filter(enabled=True).values_list("hubspot_object", "create_policy"))
    expected = ObjectMapping.CreatePolicy.LINK_ONLY if link_only else ObjectMapping.CreatePolicy.CREATE
    assert policies == {"companies": expected, "contacts": ObjectMapping.CreatePolicy.CREATE}
