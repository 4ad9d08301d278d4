"""Small explicit fixtures for the customer UI's view tests: an integration whose connections
carry a discovered schema, its mappings, runs, events and links."""

import factory

from syncsmart.models import DeferredRecord, RecordLink
from tests import factories as base
from tests.factories import ConnectionFactory


def field(name, kind, label=None, options=(), **extra):
    return {
        "name": name,
        "label": label or name.title(),
        "type": kind,
        "options": [{"value": v, "label": lbl} for v, lbl in options],
        **extra,
    }


HUBSPOT_SCHEMA = {
    "contacts": [
        field("firstname", "string", "First name"),
        field("lastname", "string", "Last name"),
        field("email", "email", "Email"),
        field("phone", "phone", "Phone number"),
        field("birthdate", "date", "Birth date"),
        field("num_notes", "number", "Number of notes"),
        field("jobtitle", "string", "Job title"),
        field(
            "lifecyclestage",
            "enumeration",
            "Lifecycle stage",
            [("lead", "Lead"), ("customer", "Customer"), ("evangelist", "Evangelist")],
        ),
    ],
    "companies": [field("name", "string", "Company name"), field("domain", "string", "Company domain")],
}
CONNECTWISE_SCHEMA = {
    "contacts": [
        field("firstName", "string", "First Name"),
        field("lastName", "string", "Last Name"),
        field("email", "email", "Email"),
        field("phone", "phone", "Phone"),
        field("title", "string", "Title"),
        field("custom_7", "number", "Years as customer"),
        field("birthDay", "date", "Birthday"),
        field("type", "enumeration", "Contact type", [("1", "Lead"), ("2", "Customer"), ("3", "Vendor")]),
    ],
    "companies": [field("name", "string", "Company Name"), field("website", "string", "Website")],
}


class IntegrationFactory(base.IntegrationFactory):
    """With discovered schemas on both connections (the editor and filter builder read them)."""

    name = "HubSpot ↔ ConnectWise"
    hubspot_connection = factory.SubFactory(
        ConnectionFactory, tenant=factory.SelfAttribute("..tenant"), system="hubspot", schema_cache=HUBSPOT_SCHEMA
    )
    other_connection = factory.SubFactory(
        ConnectionFactory, tenant=factory.SelfAttribute("..tenant"), system="connectwise", schema_cache=CONNECTWISE_SCHEMA
    )


class ObjectMappingFactory(base.ObjectMappingFactory):
    integration = factory.SubFactory(IntegrationFactory)
    name = "Contacts"
    order = 20


class FieldMappingFactory(base.FieldMappingFactory):
    object_mapping = factory.SubFactory(ObjectMappingFactory)
    is_default = True


class SyncRunFactory(base.SyncRunFactory):
    integration = factory.SubFactory(IntegrationFactory)
    counts = factory.LazyFunction(lambda: {"created": 2, "updated": 1, "failed": 1})


class RecordEventFactory(base.RecordEventFactory):
    integration = factory.SubFactory(IntegrationFactory)
    run = factory.SubFactory(SyncRunFactory, integration=factory.SelfAttribute("..integration"))


class RecordLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RecordLink

    hubspot_object = "contacts"
    other_object = "contacts"
    hubspot_id = factory.Sequence(lambda n: str(1000 + n))
    other_id = factory.Sequence(lambda n: str(50 + n))


class DeferredRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeferredRecord

    source_side = "hubspot"
    reason = "Its company is not synced yet."
