"""Two possible counterparts are never guessed: the record waits as an ambiguous match, in the
record log and the REST API, with its candidates; choosing one links exactly that pair."""

import pytest
from rest_framework.test import APIClient

from mappings.models import ObjectMapping
from syncsmart.api import tokens
from syncsmart.models import AmbiguousMatch, RecordEvent, RecordLink
from tenants.models import ApiToken, Membership
from tests.engine.conftest import build_pair
from tests.factories import MembershipFactory, UserFactory


@pytest.fixture
def cw(db):
    pair = build_pair("connectwise")
    ObjectMapping.objects.filter(integration=pair.integration).exclude(hubspot_object="companies").delete()
    yield pair
    pair.close()


@pytest.fixture
def api_of(cw):
    user = MembershipFactory(tenant=cw.integration.tenant, role=Membership.Role.OWNER, user=UserFactory()).user
    _, plain = tokens.issue_token(cw.integration.tenant, user, "script", ApiToken.ROLE_CHOICES[0][0])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    return client


def _two_acmes(cw):
    hub_id = cw.hubspot.create_record("companies", {"name": "Acme", "domain": "acme-amb.example.com"}, notify=False)
    a = str(cw.other.add_company("Acme Holdings", website="https://acme-amb.example.com")["id"])
    b = str(cw.other.add_company("Acme Retail", website="www.acme-amb.example.com/shop")["id"])
    return hub_id, a, b


def test_two_candidates_wait_as_ambiguous_and_nothing_is_created(cw):
    hub_id, a, b = _two_acmes(cw)
    run = cw.sync()

    assert cw.hubspot.count("companies") == 1 and cw.other.count("companies") == 2
    assert not RecordLink.objects.filter(integration=cw.integration).exists()
    event = RecordEvent.objects.get(run=run, source_side="hubspot", source_id=hub_id)
    assert event.outcome == "ambiguous"
    assert {c["id"] for c in event.details["candidates"]} == {a, b}
    assert "Nothing is created until you choose one" in event.message
    waiting = AmbiguousMatch.objects.get(source_side="hubspot", source_id=hub_id)
    assert set(waiting.candidate_ids()) == {a, b} and waiting.key.startswith("domain ↔ website")
    # Seen from ConnectWise, each Acme's one candidate is claimed by the other Acme too.
    assert RecordEvent.objects.filter(run=run, source_side="other", outcome="ambiguous").count() == 2


def test_a_second_run_still_waits_and_creates_nothing(cw):
    _two_acmes(cw)
    cw.sync()
    cw.sync()
    assert cw.hubspot.count("companies") == 1 and cw.other.count("companies") == 2


def test_ambiguous_matches_are_listed_and_resolved_over_the_api(cw, api_of):
    hub_id, a, b = _two_acmes(cw)
    cw.sync()
    listed = api_of.get("/api/ambiguous-matches/", {"resolved": "false", "integration": cw.integration.pk})
    assert listed.status_code == 200
    rows = {(r["source_side"], r["source_id"]): r for r in listed.json()["results"]}
    mine = rows[("hubspot", hub_id)]
    assert {c["id"] for c in mine["candidates"]} == {a, b} and mine["resolved"] is False

    refused = api_of.post(f"/api/ambiguous-matches/{mine['id']}/resolve/", {"target_id": "999"}, format="json")
    assert refused.status_code == 409  # well formed, but no candidate of this match
    assert not RecordLink.objects.exists()

    chosen = api_of.post(f"/api/ambiguous-matches/{mine['id']}/resolve/", {"target_id": a}, format="json")
    assert chosen.status_code == 200, chosen.json()
    assert chosen.json()["resolved"] is True and chosen.json()["chosen_id"] == a
    assert list(RecordLink.objects.values_list("hubspot_id", "other_id")) == [(hub_id, a)]
    assert AmbiguousMatch.objects.get(source_side="other", source_id=a).chosen_id == hub_id


def test_after_the_choice_a_run_links_exactly_that_pair(cw, api_of):
    hub_id, a, b = _two_acmes(cw)
    cw.sync()
    match = AmbiguousMatch.objects.get(source_side="hubspot", source_id=hub_id)
    api_of.post(f"/api/ambiguous-matches/{match.pk}/resolve/", {"target_id": a}, format="json")
    run = cw.sync()

    assert run.status == "succeeded", run.error
    link = RecordLink.objects.get(hubspot_id=hub_id)
    assert link.other_id == a and link.hubspot_values  # the pair synced: its baseline is stored
    assert not RecordLink.objects.filter(other_id=a).exclude(hubspot_id=hub_id).exists()
    assert cw.other.count("companies") == 2  # the chosen pair was linked, not a new record created


def test_another_tenant_cannot_see_or_resolve_a_match(cw, api_of, db):
    hub_id, a, _b = _two_acmes(cw)
    cw.sync()
    match = AmbiguousMatch.objects.get(source_side="hubspot", source_id=hub_id)
    stranger = build_pair("connectwise")
    try:
        user = MembershipFactory(tenant=stranger.integration.tenant, role=Membership.Role.OWNER, user=UserFactory()).user
        _, plain = tokens.issue_token(stranger.integration.tenant, user, "theirs", ApiToken.ROLE_CHOICES[0][0])
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
        assert client.get(f"/api/ambiguous-matches/{match.pk}/").status_code == 404
        assert client.post(f"/api/ambiguous-matches/{match.pk}/resolve/", {"target_id": a}, format="json").status_code == 404
    finally:
        stranger.close()
    assert not RecordLink.objects.exists()
