"""Ambiguous matches over the REST API: listed per tenant with their candidates; resolving one
links exactly the chosen pair and settles the same conflict seen from the other side."""

import pytest

from syncsmart.models import AmbiguousMatch, DeferredRecord, RecordLink
from tests.api.factories import IntegrationFactory, ObjectMappingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def waiting(api):
    integration = IntegrationFactory(tenant=api.tenant)
    mapping = ObjectMappingFactory(integration=integration, hubspot_object="companies", other_object="companies")
    match = AmbiguousMatch.objects.create(
        integration=integration,
        object_mapping=mapping,
        source_side="hubspot",
        source_object="companies",
        source_id="11",
        source_label="Acme",
        key="domain ↔ website (domain)",
        value="acme.example.com",
        candidates=[{"id": "501", "label": "Acme Holdings"}, {"id": "502", "label": "Acme Retail"}],
    )
    reverse = AmbiguousMatch.objects.create(
        integration=integration,
        object_mapping=mapping,
        source_side="other",
        source_object="companies",
        source_id="501",
        candidates=[{"id": "11", "label": "Acme"}],
    )
    return match, reverse


def test_open_matches_are_listed_with_their_candidates(api, waiting):
    match, _ = waiting
    body = api.viewer.get("/api/ambiguous-matches/", {"resolved": "false"}).json()
    row = next(r for r in body["results"] if r["id"] == match.pk)
    assert [c["id"] for c in row["candidates"]] == ["501", "502"]
    assert row["target_object"] == "companies" and row["target_side"] == "other" and row["resolved"] is False


def test_resolving_links_exactly_the_chosen_pair(api, waiting):
    match, reverse = waiting
    response = api.admin.post(f"/api/ambiguous-matches/{match.pk}/resolve/", {"target_id": "502"}, format="json")
    assert response.status_code == 200, response.json()
    assert list(RecordLink.objects.values_list("hubspot_id", "other_id")) == [("11", "502")]
    assert response.json()["resolved"] is True and response.json()["chosen_id"] == "502"
    assert DeferredRecord.objects.filter(source_side="hubspot", record_id="11").exists()  # the next run syncs it
    reverse.refresh_from_db()
    assert reverse.resolved_at is None  # 501 was not chosen: it still waits


def test_resolving_settles_the_reverse_view_of_the_same_pair(api, waiting):
    match, reverse = waiting
    api.admin.post(f"/api/ambiguous-matches/{match.pk}/resolve/", {"target_id": "501"}, format="json")
    reverse.refresh_from_db()
    assert reverse.chosen_id == "11" and reverse.resolved_at is not None


@pytest.mark.parametrize(("target_id", "status"), [("999", 409), ("", 400), ("11", 409)])
def test_only_a_listed_candidate_can_be_chosen(api, waiting, target_id, status):
    match, _ = waiting
    response = api.admin.post(f"/api/ambiguous-matches/{match.pk}/resolve/", {"target_id": target_id}, format="json")
    # A blank id is not a valid request (400); a well-formed id that is no candidate conflicts with the match (409).
    assert response.status_code == status
    assert not RecordLink.objects.exists()


def test_a_candidate_linked_meanwhile_is_refused(api, waiting):
    match, _ = waiting
    RecordLink.objects.create(
        integration=match.integration,
        object_mapping=match.object_mapping,
        hubspot_object="companies",
        other_object="companies",
        hubspot_id="77",
        other_id="501",
    )
    response = api.admin.post(f"/api/ambiguous-matches/{match.pk}/resolve/", {"target_id": "501"}, format="json")
    assert response.status_code == 409 and "already linked" in response.json()["error"]["message"]


def test_read_only_tokens_and_other_tenants_cannot_resolve(api, waiting):
    match, _ = waiting
    assert api.viewer.post(f"/api/ambiguous-matches/{match.pk}/resolve/", {"target_id": "501"}, format="json").status_code == 403
    assert api.outsider.get(f"/api/ambiguous-matches/{match.pk}/").status_code == 404
    assert (
        api.outsider.post(f"/api/ambiguous-matches/{match.pk}/resolve/", {"target_id": "501"}, format="json").status_code == 404
    )
    assert not RecordLink.objects.exists()
