"""Small, explicit factories for the API tests."""

import factory
from django.utils import timezone

from tests import factories as base
from tests.factories import ConnectionFactory

SECRET = "pat-na1-SECRET-do-not-show-0123456789"


class IntegrationFactory(base.IntegrationFactory):
    """With a secret in each connection's credentials (the API must never show it)."""

    hubspot_connection = factory.SubFactory(
        ConnectionFactory,
        tenant=factory.SelfAttribute("..tenant"),
        system="hubspot",
        credentials=factory.LazyFunction(lambda: {"token": SECRET}),
    )
    other_connection = factory.SubFactory(
        ConnectionFactory,
        tenant=factory.SelfAttribute("..tenant"),
        system="connectwise",
        credentials=factory.LazyFunction(lambda: {"private_key": SECRET}),
    )


class ObjectMappingFactory(base.ObjectMappingFactory):
    integration = factory.SubFactory(IntegrationFactory)
    other_object = factory.Sequence(lambda n: f"contacts{n}")


class FieldMappingFactory(base.FieldMappingFactory):
    object_mapping = factory.SubFactory(ObjectMappingFactory)
    hubspot_field = factory.Sequence(lambda n: f"field{n}")
    other_field = factory.Sequence(lambda n: f"field{n}")


class SyncRunFactory(base.SyncRunFactory):
    """Started and finished (the API shows both times)."""

    integration = factory.SubFactory(IntegrationFactory)
    started_at = factory.LazyFunction(timezone.now)
    finished_at = factory.LazyFunction(timezone.now)


class RecordEventFactory(base.RecordEventFactory):
    """Of one of the integration's object mappings (the API names it)."""

    integration = factory.SubFactory(IntegrationFactory)
    run = factory.SubFactory(SyncRunFactory, integration=factory.SelfAttribute("..integration"))
    object_mapping = factory.SubFactory(ObjectMappingFactory, integration=factory.SelfAttribute("..integration"))
