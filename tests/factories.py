import factory
from django.contrib.auth import get_user_model

from connectors.models import Connection
from mappings.models import FieldMapping, Integration, ObjectMapping
from syncsmart.models import HeldConflict, RecordEvent, RecordLink, SyncRun
from tenants.models import Membership, Tenant

PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    username = factory.SelfAttribute("email")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Acme {n}")
    slug = factory.Sequence(lambda n: f"acme-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    tenant = factory.SubFactory(TenantFactory)
    role = Membership.Role.OWNER


class ConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Connection

    tenant = factory.SubFactory(TenantFactory)
    system = "hubspot"
    name = factory.Sequence(lambda n: f"Connection {n}")
    config = factory.LazyFunction(dict)
    credentials = factory.LazyFunction(lambda: {"token": "pat-na1-test-token"})


class IntegrationFactory(factory.django.DjangoModelFactory):
    """HubSpot ↔ ConnectWise for one tenant, switched on (the UI and API tests add schemas or secrets)."""

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


class SyncRunFactory(factory.django.DjangoModelFactory):
    """A finished scheduled run (the UI and API factories give it their own integration)."""

    class Meta:
        model = SyncRun

    integration = factory.SubFactory(IntegrationFactory)
    trigger = SyncRun.Trigger.SCHEDULE
    status = SyncRun.Status.SUCCEEDED
    counts = factory.LazyFunction(lambda: {"created": 2, "updated": 1})


class RecordEventFactory(factory.django.DjangoModelFactory):
    """One record's outcome in a run. Given an integration, the run is a new one of it; given a
    run alone, the event belongs to the run's integration."""

    class Meta:
        model = RecordEvent

    integration = factory.SubFactory(IntegrationFactory)
    run = factory.SubFactory(SyncRunFactory, integration=factory.SelfAttribute("..integration"))
    source_side = "hubspot"
    source_object = "contacts"
    source_id = factory.Sequence(lambda n: str(1000 + n))
    outcome = RecordEvent.Outcome.CREATED

    @classmethod
    def _generate(cls, strategy, params):
        if params.get("run") is not None and "integration" not in params:
            params = {**params, "integration": params["run"].integration}
        return super()._generate(strategy, params)


class NoLimit:
    """A limiter that never waits: tests run the emulators with their limits off, and the shared
    limiter has its own tests (tests/connectors/test_ratelimit.py)."""

    def acquire(self, request) -> None:
        return None


class HeldConflictFactory(factory.django.DjangoModelFactory):
    """A field under conflict review both sides changed, waiting (give it a field mapping: its
    object mapping, integration and a link of that mapping follow)."""

    class Meta:
        model = HeldConflict

    field_mapping = factory.SubFactory(FieldMappingFactory, conflict_review=True)
    object_mapping = factory.SelfAttribute("field_mapping.object_mapping")
    integration = factory.SelfAttribute("object_mapping.integration")
    link = factory.LazyAttribute(
        lambda o: RecordLink.objects.create(
            integration=o.integration,
            object_mapping=o.object_mapping,
            hubspot_object=o.object_mapping.hubspot_object,
            other_object=o.object_mapping.other_object,
            hubspot_id=o.hubspot_id,
            other_id=o.other_id,
            hubspot_values={o.field_mapping.hubspot_field: "Old"},
            other_values={o.field_mapping.other_field: "Old"},
        )
    )
    hubspot_id = factory.Sequence(lambda n: str(7000 + n))
    other_id = factory.Sequence(lambda n: str(300 + n))
    label = factory.Sequence(lambda n: f"person{n}@acme.example")
    hubspot_value = "Hubby"
    other_value = "Connie"
