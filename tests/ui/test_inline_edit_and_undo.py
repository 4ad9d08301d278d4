"""The mapping table edited in place (issue 20): a row saved from htmx answers with the row
alone — no reload, so the page keeps its scroll position — and a refusal sits next to the field
that caused it; a removal can be undone for a day, in the page and through the API, audited."""

from datetime import timedelta

import pytest
from django.urls import reverse

from mappings.models import FieldMapping
from tenants.models import AuditLog
from tests.ui.factories import FieldMappingFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name, mapping, *extra):
    return reverse(name, args=[mapping.integration_id, mapping.pk, *extra])


def row_post(fm, **values):
    data = {f"fm{fm.pk}-{name}": value for name, value in values.items()}
    data.setdefault(f"fm{fm.pk}-enabled", "on")
    return data


@pytest.fixture
def title_into_first_name(contacts):
    """ConnectWise's First Name fills HubSpot's job title, one way only (First Name is a source there)."""
    return FieldMappingFactory(
        object_mapping=contacts, hubspot_field="jobtitle", other_field="firstName", direction="to_hubspot", is_default=False
    )


def test_a_row_saved_from_htmx_answers_with_that_row_only(team, contacts):
    fm = contacts.field_mappings.get(hubspot_field="firstname")
    response = team.admin.post(url("field_update", contacts, fm.pk), row_post(fm, direction="to_hubspot"), **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith(f'<tr id="fm-{fm.pk}"') and "<html" not in body
    assert 'role="status">Saved: ConnectWise Manage to HubSpot only.</p>' in body
    fm.refresh_from_db()
    assert fm.direction == "to_hubspot"
    assert AuditLog.objects.filter(action="field_mapping.changed", target_id=str(fm.pk)).exists()


def test_a_refused_row_save_shows_the_reason_next_to_the_field_that_caused_it(team, contacts, title_into_first_name):
    fm = title_into_first_name
    response = team.admin.post(url("field_update", contacts, fm.pk), row_post(fm, direction="both"), **HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and "Saved" not in body
    other_cell = body[body.index('data-label="ConnectWise Manage field"') : body.index('data-label="Transform"')]
    assert "ConnectWise Manage field “First Name” already receives HubSpot “First name”." in other_cell
    assert f'aria-describedby="fm{fm.pk}-other-error" aria-invalid="true"' in body
    fm.refresh_from_db()
    assert fm.direction == "to_hubspot"


def test_without_javascript_a_row_save_still_reloads_the_page(team, contacts):
    fm = contacts.field_mappings.get(hubspot_field="firstname")
    assert team.admin.post(url("field_update", contacts, fm.pk), row_post(fm, direction="to_other")).status_code == 302


def test_a_removal_is_undone_in_place_as_it_was_and_both_are_audited(team, contacts, title_into_first_name):
    fm = title_into_first_name
    fm.only_if_target_empty, fm.system_of_record, fm.value_map = True, "other", {"Bob": "Robert"}
    fm.save()
    removed = team.admin.post(url("field_delete", contacts, fm.pk), **HTMX).content.decode()
    assert f'<tr id="fm-{fm.pk}" class="removed">' in removed
    assert "Removed Job title ↔ First Name: it no longer syncs. You can undo this until" in removed
    assert not FieldMapping.objects.filter(pk=fm.pk).exists()
    deletion = AuditLog.objects.get(action="field_mapping.deleted", target_id=str(fm.pk))
    assert f"/fields/removed/{deletion.pk}/restore/" in removed

    back = team.admin.post(url("field_restore", contacts, deletion.pk), {"row": fm.pk}, **HTMX).content.decode()
    restored = FieldMapping.objects.get(object_mapping=contacts, hubspot_field="jobtitle", other_field="firstName")
    assert f'<tr id="fm-{restored.pk}"' in back and "Back as it was before its removal." in back
    assert (restored.direction, restored.only_if_target_empty, restored.system_of_record, restored.value_map) == (
        "to_hubspot",
        True,
        "other",
        {"Bob": "Robert"},
    )
    assert AuditLog.objects.filter(action="field_mapping.restored", changes__undoes=deletion.pk).exists()
    again = team.admin.post(url("field_restore", contacts, deletion.pk), {"row": fm.pk}, **HTMX).content.decode()
    assert "can no longer be undone" in again
    assert FieldMapping.objects.filter(object_mapping=contacts, hubspot_field="jobtitle").count() == 1


def test_the_editor_lists_removals_of_the_last_day_with_undo_and_not_older_ones(team, contacts, title_into_first_name):
    fm = title_into_first_name
    response = team.admin.post(url("field_delete", contacts, fm.pk))
    assert response.status_code == 302
    page = team.admin.get(url("mapping_editor", contacts)).content.decode()
    assert "Removed in the last day" in page and 'aria-label="Undo the removal of Job title ↔ First Name"' in page
    deletion = AuditLog.objects.get(action="field_mapping.deleted", target_id=str(fm.pk))
    AuditLog.objects.filter(pk=deletion.pk).update(created_at=deletion.created_at - timedelta(hours=25))
    assert "Removed in the last day" not in team.admin.get(url("mapping_editor", contacts)).content.decode()
    late = team.admin.post(url("field_restore", contacts, deletion.pk), follow=True).content.decode()
    assert "can no longer be undone" in late
    assert not FieldMapping.objects.filter(object_mapping=contacts, hubspot_field="jobtitle").exists()


def test_a_viewer_cannot_undo_and_another_tenant_cannot_see_the_removal(team, contacts, title_into_first_name):
    team.admin.post(url("field_delete", contacts, title_into_first_name.pk))
    deletion = AuditLog.objects.get(action="field_mapping.deleted")
    assert team.viewer.post(url("field_restore", contacts, deletion.pk)).status_code == 403
    assert team.outsider.post(url("field_restore", contacts, deletion.pk)).status_code == 404
    assert not FieldMapping.objects.filter(hubspot_field="jobtitle").exists()


@pytest.fixture
def stage_row(contacts):
    """A custom dropdown mapping HubSpot lifecycle stage → ConnectWise contact type, saved with
    the explicit choice: "Evangelist" matches no option and went unmapped."""
    return FieldMappingFactory(
        object_mapping=contacts,
        hubspot_field="lifecyclestage",
        other_field="type",
        hubspot_type="enumeration",
        other_type="enumeration",
        direction="to_other",
        transform="dropdown",
        accept_unmatched=True,
        is_default=False,
    )


def test_an_existing_dropdown_row_maps_its_unmatched_values_by_hand_in_place(team, contacts, stage_row):
    page = team.admin.get(url("mapping_editor", contacts)).content.decode()
    assert f'name="map:evangelist" id="fm{stage_row.pk}_accept_unmatched_vm1"' in page
    table = {"value_table": "1", "map:evangelist": "3"}  # → "Vendor", and the rest no longer left as is
    saved = team.admin.post(
        url("field_update", contacts, stage_row.pk), {**row_post(stage_row, direction="to_other"), **table}, **HTMX
    )
    assert "Saved" in saved.content.decode()
    stage_row.refresh_from_db()
    assert stage_row.value_map == {"evangelist": "3"} and not stage_row.accept_unmatched
    # Emptied again without the explicit choice: refused, beside the table, nothing saved.
    refused = team.admin.post(
        url("field_update", contacts, stage_row.pk),
        {**row_post(stage_row, direction="to_other"), "value_table": "1", "map:evangelist": ""},
        **HTMX,
    ).content.decode()
    table_part = refused[refused.index('class="value-map') :]
    assert "1 dropdown value has no matching option: “Evangelist”." in table_part and "Saved" not in refused
    stage_row.refresh_from_db()
    assert stage_row.value_map == {"evangelist": "3"}
