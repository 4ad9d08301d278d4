"""/api/conflicts/ (issue 20): the conflict review queue through the API — listed with both
values, one accepted (202 with the run that writes it across), several accepted for one side,
through the service the page calls (same refusals, same words); another tenant's conflict is a
404, a read-only token may list but not decide; turning review on for a one-way field is refused."""

from __future__ import annotations

import pytest

from syncsmart.models import HeldConflict
from tests.api.conftest import error_of
from tests.api.factories import FieldMappingFactory, IntegrationFactory, ObjectMappingFactory
from tests.factories import HeldConflictFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(api):
    mapping = ObjectMappingFactory(integration=IntegrationFactory(tenant=api.tenant))
    fm = FieldMappingFactory(object_mapping=mapping, hubspot_field="firstname", other_field="firstName", conflict_review=True)
    return HeldConflictFactory(field_mapping=fm, label="ann@acme.example")


@pytest.fixture
def theirs(api):
    mapping = ObjectMappingFactory(integration=IntegrationFactory(tenant=api.other_tenant))
    return HeldConflictFactory(field_mapping=FieldMappingFactory(object_mapping=mapping, conflict_review=True))


def test_the_queue_lists_open_conflicts_with_both_values_of_this_tenant_only(api, held, theirs):
    body = api.viewer.get("/api/conflicts/").json()
    rows = body["results"] if isinstance(body, dict) else body
    assert [r["id"] for r in rows] == [held.pk]
    assert (rows[0]["hubspot_value"], rows[0]["other_value"], rows[0]["hubspot_field"]) == ("Hubby", "Connie", "firstname")
    assert api.admin.get(f"/api/conflicts/{theirs.pk}/").status_code == 404


def test_accepting_one_side_answers_202_with_the_run_and_resolves_it(api, held):
    response = api.admin.post(f"/api/conflicts/{held.pk}/resolve/", {"accept": "other"}, format="json")
    assert response.status_code == 202, response.json()
    assert response.json()["trigger"] == "retry"
    held.refresh_from_db()
    assert (held.status, held.accepted) == ("resolved", "other")
    again = api.admin.post(f"/api/conflicts/{held.pk}/resolve/", {"accept": "hubspot"}, format="json")
    assert again.status_code == 409 and "no longer waiting" in error_of(again)["message"]


def test_another_tenants_conflict_is_a_404_and_a_read_only_token_cannot_decide(api, held, theirs):
    assert api.admin.post(f"/api/conflicts/{theirs.pk}/resolve/", {"accept": "other"}, format="json").status_code == 404
    assert api.viewer.post(f"/api/conflicts/{held.pk}/resolve/", {"accept": "other"}, format="json").status_code == 403
    bulk = {"integration": theirs.integration_id, "ids": [theirs.pk], "accept": "other"}
    assert api.admin.post("/api/conflicts/resolve/", bulk, format="json").status_code == 404
    assert set(HeldConflict.objects.values_list("status", flat=True)) == {"open"}


def test_bulk_accept_takes_one_side_for_each_named_conflict(api, held):
    second = HeldConflictFactory(field_mapping=held.field_mapping)
    body = {"integration": held.integration_id, "ids": [held.pk, second.pk], "accept": "hubspot"}
    response = api.admin.post("/api/conflicts/resolve/", body, format="json")
    assert response.status_code == 202, response.json()
    assert response.json()["resolved"] == 2
    assert set(HeldConflict.objects.values_list("accepted", flat=True)) == {"hubspot"}


def test_a_bad_choice_is_a_400_naming_it(api, held):
    response = api.admin.post(f"/api/conflicts/{held.pk}/resolve/", {"accept": "both"}, format="json")
    assert response.status_code == 400 and "accept" in error_of(response)["fields"]
    bulk = api.admin.post(
        "/api/conflicts/resolve/", {"integration": held.integration_id, "ids": [], "accept": "x"}, format="json"
    )
    assert bulk.status_code == 400


def test_review_on_a_one_way_field_is_refused_with_the_pages_words(api, held):
    fm = FieldMappingFactory(object_mapping=held.object_mapping, direction="to_other")
    response = api.admin.patch(f"/api/field-mappings/{fm.pk}/", {"conflict_review": True}, format="json")
    assert response.status_code == 400
    assert "Conflict review needs the field to sync both ways" in str(error_of(response))
