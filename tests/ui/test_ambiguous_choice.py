"""The record log's one-click choice for an ambiguous match: the same action as the REST API
(mappings.matching_actions), writers only, tenant-scoped, refusals in words."""

from __future__ import annotations

import pytest
from django.urls import reverse

from syncsmart.models import AmbiguousMatch, RecordLink
from tenants.models import AuditLog
from tests.ui.factories import RecordEventFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def waiting(contacts):
    match = AmbiguousMatch.objects.create(
        integration=contacts.integration,
        object_mapping=contacts,
        source_side="hubspot",
        source_object="contacts",
        source_id="11",
        source_label="Ann Lee",
        key="email ↔ email (email)",
        value="ann@acme.example",
        candidates=[{"id": "501", "label": "Ann Lee (Sales)"}, {"id": "502", "label": "Ann Lee (Support)"}],
    )
    RecordEventFactory(
        integration=contacts.integration,
        object_mapping=contacts,
        source_side="hubspot",
        source_id="11",
        outcome="ambiguous",
        message="Two records match; nothing is created until you choose one.",
    )
    return match


def test_the_record_log_offers_one_button_per_candidate(team, waiting):
    body = team.viewer.get(reverse("record_log", args=[waiting.integration_id])).content.decode()
    assert f'id="match-{waiting.pk}"' in body and "Ann Lee (Sales)" in body and "Ann Lee (Support)" in body
    assert "Link to Ann Lee" not in body  # a viewer sees the candidates, not the buttons
    body = team.admin.get(reverse("record_log", args=[waiting.integration_id])).content.decode()
    assert body.count('name="target_id"') == 2 and "Link to Ann Lee (Support)" in body


def test_choosing_links_exactly_that_pair_and_is_audited(team, waiting):
    url = reverse("resolve_match", args=[waiting.integration_id, waiting.pk])
    response = team.admin.post(url, {"target_id": "502"})
    assert response.status_code == 302
    assert list(RecordLink.objects.values_list("hubspot_id", "other_id")) == [("11", "502")]
    assert AuditLog.objects.filter(action="match.resolved").count() == 1
    body = team.admin.get(reverse("record_log", args=[waiting.integration_id])).content.decode()
    assert f'id="match-{waiting.pk}"' not in body


def test_a_choice_outside_the_candidates_is_refused_in_words(team, waiting):
    url = reverse("resolve_match", args=[waiting.integration_id, waiting.pk])
    page = team.admin.post(url, {"target_id": "999"}, follow=True).content.decode()
    assert "Choose one of the candidates listed for this record." in page
    assert not RecordLink.objects.exists()


def test_viewers_and_other_tenants_cannot_choose(team, waiting):
    url = reverse("resolve_match", args=[waiting.integration_id, waiting.pk])
    assert team.viewer.post(url, {"target_id": "501"}).status_code == 403
    assert team.outsider.post(url, {"target_id": "501"}).status_code == 404
    assert not RecordLink.objects.exists()
