"""The mapping editor offers new default mappings to review and apply; edited ones are shown as kept."""

import pytest
from django.urls import reverse

from mappings.models import ObjectMapping
from tests.upgrade_support import old_salesforce_integration

pytestmark = pytest.mark.django_db


def test_the_editor_offers_the_new_defaults_and_applies_only_those_ticked(team):
    integration = old_salesforce_integration(team.tenant, team.users["owner"])
    leads = ObjectMapping.objects.get(integration=integration, other_object="Lead")
    ObjectMapping.objects.get(integration=integration, other_object="Event").field_mappings.filter(other_field="WhatId").update(
        direction="both"
    )
    page = team.admin.get(reverse("mapping_editor", args=[integration.pk, leads.pk])).content.decode()
    assert "New default mappings available" in page
    assert 'value="salesforce-leads-both-ways" checked' in page
    assert "Kept as you set it: you changed company ↔ WhatId" in page
    assert 'value="salesforce-activity-deal-meetings"' not in page  # a kept change has no box to tick
    viewer_page = team.viewer.get(reverse("mapping_editor", args=[integration.pk, leads.pk])).content.decode()
    assert 'name="changes"' not in viewer_page
    apply_url = reverse("default_upgrades_apply", args=[integration.pk, leads.pk])
    assert team.viewer.post(apply_url, {"changes": ["salesforce-leads-both-ways"]}).status_code == 403
    response = team.admin.post(apply_url, {"changes": ["salesforce-leads-both-ways"]})
    assert response.status_code == 302
    leads.refresh_from_db()
    assert leads.direction == "both"
    calls = ObjectMapping.objects.get(integration=integration, other_object="Task.Call")
    assert calls.field_mappings.filter(other_field="WhatId").exists()  # not ticked: unchanged
    stale = team.admin.post(apply_url, {"changes": ["salesforce-leads-both-ways"]}, follow=True).content.decode()
    assert "no longer offered" in stale
