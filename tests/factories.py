import factory
from django.contrib.auth import get_user_model

from connectors.models import Connection
from mappings.models import FieldMapping, Integration, ObjectMapping
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


class NoLimit:
    """A limiter that never waits: tests run the emulators with their limits off, and the shared
    limiter has its own tests (tests/connectors/test_ratelimit.py)."""

    def acquire(self, request) -> None:
        return None
