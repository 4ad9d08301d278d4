"""A Salesforce integration as the release before the lead and activity default changes left it
(tests of mappings/upgrades.py through the engine's actions, the API and the editor)."""

from mappings.models import FieldMapping, ObjectMapping
from mappings.services import actions
from tests.factories import ConnectionFactory, IntegrationFactory

ACTIVITY_OBJECTS = ("Task.Call", "Task.Email", "Task", "Event")


def old_salesforce_integration(tenant, user, *, with_activities=True):
    integration = IntegrationFactory(tenant=tenant, other_connection=ConnectionFactory(tenant=tenant, system="salesforce"))
    actions.install_defaults(integration, user)
    leads = ObjectMapping.objects.get(integration=integration, other_object="Lead")
    ObjectMapping.objects.filter(pk=leads.pk).update(name="Leads → contacts", direction="to_hubspot", system_of_record="other")
    leads.field_mappings.filter(hubspot_field="company_name").delete()
    leads.field_mappings.update(direction="to_hubspot")
    activities = ObjectMapping.objects.filter(integration=integration, other_object__in=ACTIVITY_OBJECTS)
    if not with_activities:
        activities.delete()
    for mapping in activities:
        mapping.field_mappings.filter(other_field__in=("WhatId_Opportunity", "WhatId_Account")).delete()
        FieldMapping.objects.create(
            object_mapping=mapping,
            hubspot_field="company",
            other_field="WhatId",
            transform="association",
            direction="to_other",
            is_default=True,
            hubspot_type="reference",
            other_type="reference",
        )
    return integration
