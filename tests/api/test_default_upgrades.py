"""New default mappings over the API: listed as offered or kept, applied all or none."""

import pytest

from mappings.models import ObjectMapping
from tests.api.conftest import error_of
from tests.upgrade_support import old_salesforce_integration

pytestmark = pytest.mark.django_db


def test_offered_changes_are_listed_and_applied_and_a_kept_one_is_a_409(api):
    integration = old_salesforce_integration(api.tenant, None)
    url = f"/api/integrations/{integration.pk}/default-upgrades/"
    ObjectMapping.objects.get(integration=integration, other_object="Task").field_mappings.filter(other_field="WhatId").update(
        direction="both"
    )
    listed = {row["id"]: row for row in api.admin.get(url).json()["changes"]}
    assert listed["salesforce-leads-both-ways"]["status"] == "offered"
    assert (
        listed["salesforce-activity-deal-tasks"]["status"] == "kept"
        and "company ↔ WhatId" in listed["salesforce-activity-deal-tasks"]["reason"]
    )
    refused = api.admin.post(
        url + "apply/", {"changes": ["salesforce-leads-both-ways", "salesforce-activity-deal-tasks"]}, format="json"
    )
    assert refused.status_code == 409 and error_of(refused)["code"] == "conflict"
    assert ObjectMapping.objects.get(integration=integration, other_object="Lead").direction == "to_hubspot"
    assert api.viewer.post(url + "apply/", {"changes": ["salesforce-leads-both-ways"]}, format="json").status_code == 403
    assert api.outsider.get(url).status_code == 404
    assert api.admin.post(url + "apply/", {"changes": []}, format="json").status_code == 400
    applied = api.admin.post(url + "apply/", {"changes": ["salesforce-leads-both-ways"]}, format="json")
    assert applied.status_code == 200
    assert "salesforce-leads-both-ways" not in {row["id"] for row in applied.json()["changes"]}
    assert ObjectMapping.objects.get(integration=integration, other_object="Lead").direction == "both"
