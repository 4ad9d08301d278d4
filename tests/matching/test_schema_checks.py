"""Refresh fields: a field that disappeared or changed type marks its mappings broken with a
message; unknown types are "unchecked", never passed, in the model and the API."""

import pytest

from mappings import schema_checks
from mappings.models import FieldMapping
from tests.api.factories import FieldMappingFactory, IntegrationFactory, ObjectMappingFactory

pytestmark = pytest.mark.django_db

HUB = {"contacts": [{"name": "email", "type": "email"}, {"name": "birthdate", "type": "date"}, {"name": "notes", "type": "text"}]}
CW = {"contacts": [{"name": "email", "type": "email"}, {"name": "since", "type": "date"}, {"name": "remark", "type": "string"}]}


@pytest.fixture
def contacts(api):
    integration = IntegrationFactory(tenant=api.tenant)
    for connection, schema in ((integration.hubspot_connection, HUB), (integration.other_connection, CW)):
        connection.schema_cache = schema
        connection.save()
    return ObjectMappingFactory(integration=integration, hubspot_object="contacts", other_object="contacts")


def _fm(obj, hub, other, hub_type, other_type):
    return FieldMappingFactory(
        object_mapping=obj, hubspot_field=hub, other_field=other, hubspot_type=hub_type, other_type=other_type
    )


def _schema(obj, side, fields):
    connection = obj.integration.hubspot_connection if side == "hubspot" else obj.integration.other_connection
    connection.schema_cache = {"contacts": fields}
    connection.save()


def test_a_field_that_disappeared_marks_its_mapping_broken(contacts):
    fm = _fm(contacts, "birthdate", "since", "date", "date")
    _schema(contacts, "other", [{"name": "email", "type": "email"}])
    report = schema_checks.check_mappings(contacts.integration)
    fm.refresh_from_db()
    assert fm.type_check == "broken"
    assert "no longer has the field “since”" in fm.broken_reason
    assert report.broken and "since" in report.broken[0]


def test_a_type_change_that_no_longer_fits_is_broken_with_both_types_named(contacts):
    fm = _fm(contacts, "birthdate", "since", "date", "date")
    _schema(contacts, "other", [{"name": "since", "type": "bool"}])
    schema_checks.check_mappings(contacts.integration)
    fm.refresh_from_db()
    assert fm.type_check == "broken"
    assert "changed from date to yes/no" in fm.broken_reason


def test_a_type_change_that_still_fits_is_taken_over_and_a_fixed_field_mends(contacts):
    fm = _fm(contacts, "notes", "remark", "text", "string")
    fm.broken_reason = "ConnectWise contacts no longer has the field “remark”."
    fm.save()
    _schema(contacts, "other", [{"name": "remark", "type": "text"}])
    report = schema_checks.check_mappings(contacts.integration)
    fm.refresh_from_db()
    assert fm.type_check == "ok" and fm.other_type == "text"
    assert report.mended == 1


def test_a_missing_object_schema_is_reported(contacts):
    _schema(contacts, "other", [])
    contacts.integration.other_connection.schema_cache = {}
    contacts.integration.other_connection.save()
    report = schema_checks.check_mappings(contacts.integration)
    assert not report.complete and report.missing == [f"{contacts.integration.other_system_label} contacts"]


def test_an_unknown_type_is_unchecked_with_a_warning_in_the_api(api, contacts):
    fm = _fm(contacts, "email", "email", "email", "")
    body = api.admin.get(f"/api/field-mappings/{fm.pk}/").json()
    assert body["type_check"] == "unchecked"
    assert "Unchecked" in body["type_warning"] and "“email”" in body["type_warning"]


def test_a_known_compatible_mapping_is_ok_in_the_api(api, contacts):
    fm = _fm(contacts, "birthdate", "since", "date", "date")
    body = api.admin.get(f"/api/field-mappings/{fm.pk}/").json()
    assert body["type_check"] == "ok" and body["type_warning"] == ""


def test_refresh_fields_over_the_api_reports_broken_mappings(api, contacts, monkeypatch):
    fm = _fm(contacts, "birthdate", "since", "date", "date")

    def discover(connection, actor, **kwargs):
        if connection.system != "hubspot":
            connection.schema_cache = {"contacts": [{"name": "since", "type": "bool"}]}
            connection.save()
        return {"contacts": 1}

    monkeypatch.setattr(schema_checks.connector_actions, "refresh_schema", discover)
    response = api.admin.post(f"/api/integrations/{contacts.integration_id}/refresh-fields/")
    assert response.status_code == 200, response.json()
    assert response.json()["broken"] and "yes/no" in response.json()["broken"][0]
    assert FieldMapping.objects.get(pk=fm.pk).type_check == "broken"
    assert api.viewer.post(f"/api/integrations/{contacts.integration_id}/refresh-fields/").status_code == 403


def test_the_editor_shows_a_broken_mapping_and_offers_refresh_fields(team, monkeypatch):
    integration = IntegrationFactory(tenant=team.tenant)
    for connection, schema in ((integration.hubspot_connection, HUB), (integration.other_connection, CW)):
        connection.schema_cache = schema
        connection.save()
    obj = ObjectMappingFactory(integration=integration, hubspot_object="contacts", other_object="contacts")
    fm = _fm(obj, "birthdate", "since", "date", "date")

    def discover(connection, actor, **kwargs):
        if connection.system != "hubspot":
            connection.schema_cache = {"contacts": [{"name": "since", "type": "bool"}]}
            connection.save()
        return {"contacts": 1}

    monkeypatch.setattr(schema_checks.connector_actions, "refresh_schema", discover)
    editor = f"/integrations/{integration.pk}/mappings/{obj.pk}/"
    assert "Refresh fields" in team.admin.get(editor).content.decode()
    response = team.admin.post(f"/integrations/{integration.pk}/refresh-fields/", {"next": editor})
    assert response.status_code == 302 and response["Location"] == editor
    page = team.admin.get(editor).content.decode()
    assert "Broken:" in page and "changed from date to yes/no" in page
    assert FieldMapping.objects.get(pk=fm.pk).type_check == "broken"
    assert team.viewer.post(f"/integrations/{integration.pk}/refresh-fields/").status_code == 403
