"""Small factories for integrations and mappings (engine tests only)."""

import factory

from mappings.models import FieldMapping, Integration, ObjectMapping
from tests.factories import ConnectionFactory, TenantFactory


class IntegrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Integration

    tenant = factory.SubFactory(TenantFactory)
    hubspot_connection = factory.SubFactory(ConnectionFactory, tenant=factory.SelfAttribute("..tenant"), system="hubspot")
    other_connection = factory.SubFactory(ConnectionFactory, tenant=factory.SelfAttribute("..tenant"), system="connectwise")
    enabled = True


class ObjectMappingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ObjectMapping

    integration = factory.SubFactory(IntegrationFactory)
    hubspot_object = "contacts"
    other_object = "contacts"
    hubspot_match_field = "email"
    other_match_field = "email"


class FieldMappingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FieldMapping

    object_mapping = factory.SubFactory(ObjectMappingFactory)
    hubspot_field = "firstname"
    other_field = "firstName"
    hubspot_type = "string"
    other_type = "string"
