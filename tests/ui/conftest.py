import pytest

from tests.ui.factories import FieldMappingFactory, IntegrationFactory, ObjectMappingFactory


@pytest.fixture(autouse=True)
def no_vendor_counts(monkeypatch):
    """The factories' connections point at no vendor: historical syncs here start without a
    total instead of calling out (test_counts.py counts on real emulators)."""
    monkeypatch.setattr("syncsmart.engine.historical.count_records", lambda *args, **kwargs: None)


@pytest.fixture
def integration(team):
    return IntegrationFactory(tenant=team.tenant)


@pytest.fixture
def contacts(integration):
    mapping = ObjectMappingFactory(integration=integration)
    FieldMappingFactory(object_mapping=mapping, hubspot_field="firstname", other_field="firstName")
    FieldMappingFactory(
        object_mapping=mapping, hubspot_field="email", other_field="email", hubspot_type="email", other_type="email"
    )
    return mapping


@pytest.fixture
def other_tenants_contacts(team):
    """The same shape in the outsider's tenant: its ids must be 404s for the team."""
    other = IntegrationFactory(tenant=team.other_tenant)
    mapping = ObjectMappingFactory(integration=other)
    FieldMappingFactory(object_mapping=mapping)
    return mapping
