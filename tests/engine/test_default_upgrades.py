"""New default mappings for Salesforce integrations created before them (issue 23): offered to a
person, applied only when asked, never over a mapping the customer edited."""

import pytest

from mappings import upgrades
from mappings.models import FieldMapping, ObjectMapping
from mappings.services import actions
from tenants.models import AuditLog
from tests.factories import ConnectionFactory, IntegrationFactory, TenantFactory, UserFactory
from tests.upgrade_support import old_salesforce_integration as old_integration

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return UserFactory(email="admin@acme.example")


def old_salesforce_integration(user, *, with_activities=True):
    return old_integration(TenantFactory(), user, with_activities=with_activities)


def statuses(integration):
    return {o.change.id: o.status for o in upgrades.offers(integration)}


def test_untouched_old_defaults_are_offered_and_applying_them_gives_todays_defaults(user):
    integration = old_salesforce_integration(user)
    offered = statuses(integration)
    assert offered["salesforce-leads-both-ways"] == "offered"
    assert offered["salesforce-activity-deal-calls"] == "offered" and offered["salesforce-activity-deal-meetings"] == "offered"
    leads = ObjectMapping.objects.get(integration=integration, other_object="Lead")
    assert leads.direction == "to_hubspot"  # nothing changes by itself
    actions.apply_default_upgrades(integration, user, list(offered))
    leads.refresh_from_db()
    assert (leads.name, leads.direction, leads.system_of_record) == ("Contacts ↔ leads", "both", "hubspot")
    assert set(leads.field_mappings.values_list("direction", flat=True)) == {"both"}
    assert leads.field_mappings.filter(hubspot_field="company_name", other_field="Company").exists()
    calls = ObjectMapping.objects.get(integration=integration, other_object="Task.Call")
    pairs = set(calls.field_mappings.values_list("hubspot_field", "other_field", "direction"))
    assert {("deal", "WhatId_Opportunity", "both"), ("company", "WhatId_Account", "to_other")} <= pairs
    assert ("company", "WhatId", "to_other") not in pairs
    assert upgrades.offers(integration) == []
    entry = AuditLog.objects.get(action="mappings.defaults_upgraded", tenant=integration.tenant)
    assert "Contacts ↔ leads syncs both ways" in entry.summary


def test_a_mapping_the_customer_edited_is_kept_as_is_and_cannot_be_applied(user):
    integration = old_salesforce_integration(user)
    leads = ObjectMapping.objects.get(integration=integration, other_object="Lead")
    leads.field_mappings.filter(hubspot_field="phone").update(direction="both")  # the customer's own choice
    calls = ObjectMapping.objects.get(integration=integration, other_object="Task.Call")
    calls.field_mappings.filter(other_field="WhatId").update(direction="both")
    offers = {o.change.id: o for o in upgrades.offers(integration)}
    assert offers["salesforce-leads-both-ways"].status == "kept"
    assert "phone ↔ Phone" in offers["salesforce-leads-both-ways"].reason
    assert offers["salesforce-activity-deal-calls"].status == "kept"
    assert offers["salesforce-activity-deal-tasks"].status == "offered"  # untouched siblings still are
    before = sorted(FieldMapping.objects.filter(object_mapping__integration=integration).values_list("pk", "direction"))
    with pytest.raises(upgrades.NotOffered, match="salesforce-leads-both-ways"):
        actions.apply_default_upgrades(integration, user, ["salesforce-activity-deal-tasks", "salesforce-leads-both-ways"])
    after = sorted(FieldMapping.objects.filter(object_mapping__integration=integration).values_list("pk", "direction"))
    assert after == before  # all or nothing
    leads.refresh_from_db()
    assert leads.direction == "to_hubspot"
    assert not AuditLog.objects.filter(action="mappings.defaults_upgraded").exists()


def test_activity_mappings_an_old_integration_lacks_are_offered_whole(user):
    integration = old_salesforce_integration(user, with_activities=False)
    offered = statuses(integration)
    assert {k for k in offered if k.startswith("salesforce-activities-")} == {
        "salesforce-activities-calls",
        "salesforce-activities-emails",
        "salesforce-activities-tasks",
        "salesforce-activities-meetings",
    }
    assert not any(k.startswith("salesforce-activity-deal-") for k in offered)  # nothing to change yet
    actions.apply_default_upgrades(integration, user, ["salesforce-activities-meetings"])
    meetings = ObjectMapping.objects.get(integration=integration, other_object="Event")
    assert meetings.is_default and meetings.field_mappings.filter(hubspot_field="deal", other_field="WhatId_Opportunity").exists()
    assert "salesforce-activities-meetings" not in statuses(integration)


def test_today_s_defaults_offer_nothing_and_restore_defaults_drops_the_old_related_to_row(user):
    tenant = TenantFactory()
    fresh = IntegrationFactory(tenant=tenant, other_connection=ConnectionFactory(tenant=tenant, system="salesforce"))
    actions.install_defaults(fresh, user)
    assert upgrades.offers(fresh) == []
    old = old_salesforce_integration(user)
    actions.install_defaults(old, user, reset=True)
    assert not FieldMapping.objects.filter(object_mapping__integration=old, other_field="WhatId").exists()
    assert upgrades.offers(old) == []
