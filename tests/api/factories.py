"""Small, explicit factories for the API tests."""

import factory
from django.utils import timezone

from syncsmart.models import RecordEvent, SyncRun
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


class SyncRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SyncRun

    integration = factory.SubFactory(IntegrationFactory)
    trigger = SyncRun.Trigger.SCHEDULE
    status = SyncRun.Status.SUCCEEDED
    counts = factory.LazyFunction(lambda: {"created": 2, "updated": 1})
    started_at = factory.LazyFunction(timezone.now)
    finished_at = factory.LazyFunction(timezone.now)


class RecordEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RecordEvent

    run = factory.SubFactory(SyncRunFactory)
    integration = factory.SelfAttribute("run.integration")
    object_mapping = factory.SubFactory(ObjectMappingFactory, integration=factory.SelfAttribute("..integration"))
    source_side = "hubspot"
    source_object = "contacts"
    source_id = factory.Sequence(lambda n: str(1000 + n))
    outcome = RecordEvent.Outcome.CREATED
