"""The conflict review page (issue 20): every held conflict with both values by their labels,
accept one side or several at once, tenant-scoped (another tenant's conflict is a 404), viewers
read only; the words of a refusal are the service's, the same the API returns."""

import pytest
from django.urls import reverse

from mappings.services import conflicts
from syncsmart.models import HeldConflict, RecordLink, SyncRun
from tenants.models import AuditLog
from tests.factories import HeldConflictFactory
from tests.ui.factories import FieldMappingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(contacts):
    fm = contacts.field_mappings.get(hubspot_field="firstname")
    fm.conflict_review = True
    fm.save()
    return HeldConflictFactory(field_mapping=fm, label="ann@acme.example")


def page(client, integration) -> str:
    return client.get(reverse("conflict_queue", args=[integration.pk])).content.decode()


def test_the_queue_shows_each_conflict_with_both_values_and_the_fields_labels(team, held):
    body = page(team.owner, held.integration)
    assert f'id="conflict-{held.pk}"' in body and "ann@acme.example" in body
    assert "Hubby" in body and "Connie" in body
    assert "First name" in body  # the field by its label, as the schema names it
    assert reverse("conflict_resolve", args=[held.integration.pk, held.pk]) in body


def test_keeping_the_other_systems_value_resolves_it_and_queues_the_record(team, held):
    response = team.admin.post(reverse("conflict_resolve", args=[held.integration.pk, held.pk]), {"accept": "other"}, follow=True)
    label = held.integration.other_system_label
    assert f"Accepted {label}&#x27;s value for ann@acme.example" in response.content.decode()
    held.refresh_from_db()
    assert (held.status, held.accepted, held.resolved_by) == ("resolved", "other", "admin@acme.example")
    run = SyncRun.objects.get(integration=held.integration, trigger="retry")
    assert run.state["records"] == [{"mapping": held.object_mapping_id, "side": "other", "id": held.other_id}]
    link = RecordLink.objects.get(pk=held.link_id)
    # The accepted side reads as changed, HubSpot's as it was when held: the run writes it over HubSpot's.
    assert link.other_values["firstName"] == conflicts.CHOSEN
    assert link.hubspot_values["firstname"] == conflicts.comparable(held.field_mapping, "hubspot", "Hubby")
    assert AuditLog.objects.filter(action="conflict.resolved", actor_label="admin@acme.example").exists()
    assert f'id="conflict-{held.pk}"' not in page(team.owner, held.integration)


def test_bulk_accept_keeps_one_side_for_every_ticked_conflict(team, held):
    second = HeldConflictFactory(field_mapping=held.field_mapping, label="bob@acme.example")
    url = reverse("conflicts_bulk", args=[held.integration.pk])
    response = team.owner.post(url, {"accept": "hubspot", "ids": [held.pk, second.pk]}, follow=True)
    assert "for 2 conflicts" in response.content.decode()
    assert set(HeldConflict.objects.values_list("status", "accepted")) == {("resolved", "hubspot")}


def test_a_bulk_typed_value_is_refused_in_the_services_words(team, held):
    url = reverse("conflicts_bulk", args=[held.integration.pk])
    body = team.owner.post(url, {"accept": "value", "ids": [held.pk]}, follow=True).content.decode()
    assert "Type a value one conflict at a time" in body
    assert HeldConflict.objects.get().status == "open"


def test_another_tenants_conflict_is_a_404_and_viewers_cannot_decide(team, held):
    outsider = team.outsider.post(reverse("conflict_resolve", args=[held.integration.pk, held.pk]), {"accept": "other"})
    assert outsider.status_code == 404
    assert team.outsider.get(reverse("conflict_queue", args=[held.integration.pk])).status_code == 404
    viewer = team.viewer.post(reverse("conflict_resolve", args=[held.integration.pk, held.pk]), {"accept": "other"})
    assert viewer.status_code == 403
    assert "Keep HubSpot" not in page(team.viewer, held.integration)
    assert HeldConflict.objects.get().status == "open"


def test_turning_review_on_for_a_one_way_field_is_refused_next_to_it(team, contacts):
    fm = FieldMappingFactory(object_mapping=contacts, hubspot_field="lastname", other_field="lastName", direction="to_other")
    url = reverse("field_update", args=[contacts.integration.pk, contacts.pk, fm.pk])
    data = {f"fm{fm.pk}-direction": "to_other", f"fm{fm.pk}-enabled": "on", f"fm{fm.pk}-conflict_review": "on"}
    body = team.owner.post(url, data, HTTP_HX_REQUEST="true").content.decode()
    assert "Conflict review needs the field to sync both ways" in body
    fm.refresh_from_db()
    assert fm.conflict_review is False


def test_the_mapping_table_turns_review_on_for_a_two_way_field(team, contacts):
    fm = contacts.field_mappings.get(hubspot_field="firstname")
    url = reverse("field_update", args=[contacts.integration.pk, contacts.pk, fm.pk])
    data = {f"fm{fm.pk}-direction": "both", f"fm{fm.pk}-enabled": "on", f"fm{fm.pk}-conflict_review": "on"}
    team.owner.post(url, data, HTTP_HX_REQUEST="true")
    fm.refresh_from_db()
    assert fm.conflict_review is True
