"""Configuration models and the named actions the UI and API call."""

import pytest
from django.core.exceptions import ValidationError
from django_q.models import Schedule

from mappings.models import FieldMapping, ObjectMapping
from mappings.services import actions
from syncsmart.engine import historical, run_requests
from syncsmart.models import SyncCursor, SyncRun
from tenants.models import AuditLog
from tests.factories import (
    ConnectionFactory,
    FieldMappingFactory,
    IntegrationFactory,
    ObjectMappingFactory,
    TenantFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return UserFactory(email="admin@acme.example")


def test_date_to_number_mapping_is_refused_with_a_readable_message():
    mapping = FieldMappingFactory.build(
        object_mapping=ObjectMappingFactory(),
        hubspot_field="closedate",
        other_field="probability",
        hubspot_type="date",
        other_type="number",
    )
    with pytest.raises(ValidationError) as err:
        mapping.full_clean()
    assert "a date and a number mean different things" in str(err.value)


def test_text_to_dropdown_is_refused_unless_a_value_map_is_given():
    obj = ObjectMappingFactory()
    mapping = FieldMappingFactory.build(
        object_mapping=obj,
        hubspot_field="notes",
        other_field="stage",
        hubspot_type="string",
        other_type="enumeration",
        direction="to_other",
    )
    with pytest.raises(ValidationError) as err:
        mapping.full_clean()
    assert "Add a value map" in str(err.value)
    mapping.value_map = {"Hot": "1"}
    mapping.full_clean()


def test_dropdown_to_text_one_way_is_allowed_but_not_back():
    obj = ObjectMappingFactory()
    one_way = FieldMappingFactory.build(
        object_mapping=obj,
        hubspot_field="stage",
        other_field="notes",
        hubspot_type="enumeration",
        other_type="string",
        direction="to_other",
    )
    one_way.full_clean()
    both = FieldMappingFactory.build(
        object_mapping=obj,
        hubspot_field="stage",
        other_field="notes",
        hubspot_type="enumeration",
        other_type="string",
        direction="both",
    )
    with pytest.raises(ValidationError):
        both.full_clean()


def test_malformed_filter_is_refused_on_save():
    obj = ObjectMappingFactory.build(
        integration=IntegrationFactory(), filter_to_other={"match": "all", "conditions": [{"field": "x", "operator": "exec"}]}
    )
    with pytest.raises(ValidationError) as err:
        obj.full_clean()
    assert "Unknown operator" in str(err.value)


def test_install_defaults_is_idempotent_and_audited(user):
    integration = IntegrationFactory()
    actions.install_defaults(integration, user)
    first = FieldMapping.objects.filter(object_mapping__integration=integration).count()
    objects = set(ObjectMapping.objects.filter(integration=integration).values_list("hubspot_object", "other_object"))
    activities = {("notes", "contact_notes"), ("notes", "company_notes"), ("calls", "call_activities")}
    activities |= {("emails", "email_activities"), ("tasks", "task_activities"), ("meetings", "meeting_activities")}
    assert objects == {("companies", "companies"), ("contacts", "contacts"), ("deals", "opportunities")} | activities
    assert first > 10
    actions.install_defaults(integration, user)
    assert FieldMapping.objects.filter(object_mapping__integration=integration).count() == first
    assert AuditLog.objects.filter(action="mappings.defaults_installed", tenant=integration.tenant).count() == 2


def test_reinstall_keeps_customer_changes_unless_reset(user):
    integration = IntegrationFactory()
    actions.install_defaults(integration, user)
    field = FieldMapping.objects.get(object_mapping__integration=integration, hubspot_field="jobtitle")
    field.direction = "to_other"
    field.save()
    actions.install_defaults(integration, user)
    field.refresh_from_db()
    assert field.direction == "to_other"
    actions.install_defaults(integration, user, reset=True)
    field.refresh_from_db()
    assert field.direction == "both"


def test_dynamics_defaults_map_lead_and_contact_to_contact(user):
    tenant = TenantFactory()
    integration = IntegrationFactory(tenant=tenant, other_connection=ConnectionFactory(tenant=tenant, system="dynamics"))
    actions.install_defaults(integration, user)
    pairs = set(ObjectMapping.objects.filter(integration=integration).values_list("hubspot_object", "other_object", "direction"))
    assert ("contacts", "leads", "to_hubspot") in pairs
    assert ("contacts", "contacts", "both") in pairs
    assert ("companies", "accounts", "both") in pairs
    assert ("deals", "opportunities", "both") in pairs


def test_main_switch_creates_and_removes_the_schedule(user, django_capture_on_commit_callbacks, settings):
    settings.SYNC_RUN_INLINE = False
    integration = IntegrationFactory(enabled=False, schedule_minutes=7)
    with django_capture_on_commit_callbacks(execute=True):
        actions.set_main_switch(integration, user, True)
    schedule = Schedule.objects.get(name=integration.schedule_name)
    assert schedule.minutes == 7
    assert AuditLog.objects.filter(action="integration.switched_on").exists()
    with django_capture_on_commit_callbacks(execute=True):
        actions.update_integration(integration, user, schedule_minutes=1)
    assert Schedule.objects.get(name=integration.schedule_name).minutes == 1
    with django_capture_on_commit_callbacks(execute=True):
        actions.set_main_switch(integration, user, False)
    assert not Schedule.objects.filter(name=integration.schedule_name).exists()


def test_schedule_interval_below_one_minute_is_refused(user):
    integration = IntegrationFactory()
    with pytest.raises(ValidationError):
        actions.update_integration(integration, user, schedule_minutes=0)


def test_request_run_reuses_a_waiting_run_and_queues_after_commit(user, django_capture_on_commit_callbacks, monkeypatch):
    queued = []
    monkeypatch.setattr("syncsmart.engine.queue.enqueue_run", queued.append)
    integration = IntegrationFactory()
    with django_capture_on_commit_callbacks(execute=True):
        run = run_requests.request_run(integration, user)
        again = run_requests.request_run(integration, user)
    assert run.pk == again.pk
    assert queued == [run.pk]
    assert run.status == SyncRun.Status.QUEUED


def test_historical_sync_resets_its_cursor_and_can_be_cancelled(user, monkeypatch):
    monkeypatch.setattr("syncsmart.engine.queue.enqueue_run", lambda run_id: None)
    obj = ObjectMappingFactory()
    SyncCursor.objects.create(
        integration=obj.integration, object_mapping=obj, side="hubspot", kind="historical", cursor={"after": 5}
    )
    run = historical.start_historical_sync(obj.integration, user)
    assert run.trigger == "historical"
    assert not SyncCursor.objects.filter(kind="historical").exists()
    assert historical.start_historical_sync(obj.integration, user).pk == run.pk
    run_requests.cancel_run(run, user)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.CANCELLED
    assert AuditLog.objects.filter(action="run.cancelled").exists()


def test_connection_of_another_tenant_is_refused():
    integration = IntegrationFactory.build(
        tenant=TenantFactory(),
        hubspot_connection=ConnectionFactory(system="hubspot"),
        other_connection=ConnectionFactory(system="connectwise"),
    )
    with pytest.raises(ValidationError) as err:
        integration.full_clean()
    assert "another tenant" in str(err.value)


def test_deleting_an_integration_removes_its_schedule(user, django_capture_on_commit_callbacks):
    integration = IntegrationFactory(enabled=True)
    with django_capture_on_commit_callbacks(execute=True):
        actions.update_integration(integration, user, schedule_minutes=3)
    assert Schedule.objects.filter(name=integration.schedule_name).exists()
    name = integration.schedule_name
    actions.delete_integration(integration, user)
    assert not Schedule.objects.filter(name=name).exists()
    assert AuditLog.objects.filter(action="integration.deleted").exists()
