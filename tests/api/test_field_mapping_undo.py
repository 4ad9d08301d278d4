"""A removed field mapping can be put back for a day through the API, as in the editor: the
same action (mappings.services.actions.restore_field_mapping), audited, tenant-scoped."""

import pytest

from tests.ui.factories import FieldMappingFactory, IntegrationFactory, ObjectMappingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def contacts(api):
    return ObjectMappingFactory(integration=IntegrationFactory(tenant=api.tenant))


def test_the_api_lists_undoable_removals_and_restores_one(api, contacts):
    fm = FieldMappingFactory(object_mapping=contacts, hubspot_field="jobtitle", other_field="title", is_default=False)
    assert api.admin.delete(f"/api/field-mappings/{fm.pk}/").status_code == 204
    listed = api.admin.get("/api/field-mappings/removed/").json()
    [removal] = listed
    assert (removal["hubspot_field"], removal["other_field"], removal["object_mapping"]) == ("jobtitle", "title", contacts.pk)
    assert api.viewer.post(f"/api/field-mappings/removed/{removal['id']}/restore/").status_code == 403
    assert api.outsider.post(f"/api/field-mappings/removed/{removal['id']}/restore/").status_code == 404
    restored = api.admin.post(f"/api/field-mappings/removed/{removal['id']}/restore/")
    assert restored.status_code == 201 and restored.json()["hubspot_field"] == "jobtitle"
    assert api.admin.get("/api/field-mappings/removed/").json() == []
    assert api.admin.post(f"/api/field-mappings/removed/{removal['id']}/restore/").status_code == 404
