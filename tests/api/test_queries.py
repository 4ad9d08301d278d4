"""No N+1: every list endpoint runs a fixed number of queries, for one row as for many."""

import pytest

from syncsmart.models import SyncRun
from tests.api.factories import FieldMappingFactory, IntegrationFactory, ObjectMappingFactory, RecordEventFactory, SyncRunFactory
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db

# The log-in lock-out check (django-axes), token look-up (with its tenant), at most one last-used
# update, the page, one prefetch.
MAX_QUERIES = 6
MANY = 12


def add_integration(api):
    integration = IntegrationFactory(tenant=api.tenant)
    SyncRunFactory(integration=integration)
    SyncRunFactory(integration=integration, status=SyncRun.Status.RUNNING)
    return integration


def add_object_mapping(api):
    mapping = ObjectMappingFactory(integration=IntegrationFactory(tenant=api.tenant))
    FieldMappingFactory(object_mapping=mapping)
    FieldMappingFactory(object_mapping=mapping)
    return mapping


def add_field_mapping(api):
    return FieldMappingFactory(object_mapping=ObjectMappingFactory(integration=IntegrationFactory(tenant=api.tenant)))


def add_run(api):
    return SyncRunFactory(integration=IntegrationFactory(tenant=api.tenant), requested_by=api.team.users["admin"])


def add_event(api):
    return RecordEventFactory(run=SyncRunFactory(integration=IntegrationFactory(tenant=api.tenant)))


def add_connection(api):
    return ConnectionFactory(tenant=api.tenant, system="dynamics")


ENDPOINTS = [
    ("/api/integrations/", add_integration),
    ("/api/object-mappings/", add_object_mapping),
    ("/api/field-mappings/", add_field_mapping),
    ("/api/runs/", add_run),
    ("/api/events/", add_event),
    ("/api/connections/", add_connection),
]


@pytest.mark.parametrize("url, add_row", ENDPOINTS, ids=[url for url, _ in ENDPOINTS])
def test_list_queries_do_not_grow_with_rows(api, django_assert_max_num_queries, url, add_row):
    add_row(api)
    with django_assert_max_num_queries(MAX_QUERIES):
        one = api.viewer.get(url)
    assert one.status_code == 200 and len(one.json()["results"]) >= 1

    for _ in range(MANY):
        add_row(api)
    with django_assert_max_num_queries(MAX_QUERIES):
        many = api.viewer.get(url)
    assert many.status_code == 200 and len(many.json()["results"]) > MANY
