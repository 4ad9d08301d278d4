"""A preview reads what a run would read, writes nothing to either system, can be cancelled,
and its counts equal what the following real run does, object mapping by object mapping."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from bench import twins
from mappings.models import Integration
from syncsmart.api import tokens
from syncsmart.engine import previews
from syncsmart.engine.slices import run_slice
from syncsmart.models import Preview, RecordLink, SyncRun
from tenants.models import ApiToken, Membership
from tests.engine.conftest import build_pair
from tests.factories import MembershipFactory, UserFactory


@pytest.fixture(params=["connectwise", "dynamics"])
def seeded(request, db):
    pair = build_pair(request.param)
    pair.integration.object_mappings.filter(other_object="leads").delete()
    data = twins.dataset(companies=40, contacts=160, deals=30, one_sided=0.10, seed=9)
    twins.seed_pair(pair.hubspot, pair.other, request.param, data)
    yield pair
    pair.close()


def _preview(pair, **kwargs):
    preview = previews.request_preview(pair.integration, None, enqueue=False, **kwargs)
    return previews.run_preview(str(preview.pk), connectors=pair.connectors())


def test_a_preview_makes_no_write_call_and_leaves_nothing_behind(seeded):
    pair = seeded
    pair.reset_counters()
    preview = _preview(pair)

    assert preview.status == "done", preview.error
    assert pair.writes() == (0, 0)
    assert pair.hubspot.writes == pair.other.writes == 0  # the emulators' own write counters
    assert preview.write_calls == 0 and preview.api_calls > 0
    assert preview.result["totals"]["link"] > 0 and preview.result["totals"]["create"] > 0
    assert not RecordLink.objects.exists()
    assert Integration.all_objects.count() == 1  # the copy it ran on is gone
    assert not SyncRun.objects.exists()


def test_preview_counts_equal_the_following_real_run(seeded):
    pair = seeded
    preview = _preview(pair)
    run = pair.sync()

    assert previews.counts_of_preview(preview) == previews.counts_of_run(run)


def test_a_preview_shows_samples_fields_and_rules(seeded):
    preview = _preview(seeded)
    flows = preview.result["flows"]
    links = [f for f in flows if f["counts"]["link"]]
    assert links and all(len(f["samples"]["link"]) == min(20, f["counts"]["link"]) for f in links)
    assert any(rule.startswith("domain") for f in links for rule in f["rules"])
    assert any(f["fields"] for f in flows if f["counts"]["update"] or f["counts"]["link"])


def test_a_cancelled_preview_stops_and_writes_nothing(seeded, monkeypatch):
    pair = seeded
    preview = previews.request_preview(pair.integration, None, enqueue=False)
    real_slice = previews.run_slice

    def cancel_then_slice(run_id, **kwargs):
        previews.cancel_preview(Preview.objects.get(pk=preview.pk))
        return real_slice(run_id, **kwargs)

    monkeypatch.setattr(previews, "run_slice", cancel_then_slice)
    pair.reset_counters()
    done = previews.run_preview(str(preview.pk), connectors=pair.connectors())
    assert done.status == "cancelled"
    assert pair.writes() == (0, 0)
    assert Integration.all_objects.count() == 1


def test_a_copy_run_started_without_the_preview_still_writes_nothing(seeded):
    """A worker that picks up a preview copy's run builds its own connectors: they are dry too."""
    pair = seeded
    shadow, _ = previews._shadow(previews.request_preview(pair.integration, None, enqueue=False))
    pair.reset_counters()
    run = SyncRun.objects.create(integration=shadow, trigger="manual")
    for _ in range(50):
        run_slice(str(run.pk), connectors=pair.connectors())
        run.refresh_from_db()
        if run.status in SyncRun.FINISHED:
            break
    assert run.status == "succeeded", run.error
    assert run.counts.get("created", 0) > 0
    assert pair.writes() == (0, 0)


def test_a_preview_over_the_api_is_queued_polled_and_cancelled(seeded, monkeypatch):
    pair = seeded
    queued = []
    monkeypatch.setattr(previews, "_enqueue", queued.append)
    user = MembershipFactory(tenant=pair.integration.tenant, role=Membership.Role.OWNER, user=UserFactory()).user
    _, plain = tokens.issue_token(pair.integration.tenant, user, "script", ApiToken.ROLE_CHOICES[0][0])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")

    with pytest.MonkeyPatch.context() as m:
        m.setattr("django.db.transaction.on_commit", lambda fn: fn())
        started = client.post(f"/api/integrations/{pair.integration.pk}/preview/", {"kind": "first_run"}, format="json")
    assert started.status_code == 202, started.json()
    assert started.json()["status"] == "queued" and len(queued) == 1
    previews.run_preview(started.json()["id"], connectors=pair.connectors())
    done = client.get(f"/api/previews/{started.json()['id']}/").json()
    assert done["status"] == "done" and done["write_calls"] == 0
    assert done["result"]["totals"]["link"] > 0

    again = client.post(f"/api/integrations/{pair.integration.pk}/preview/", {}, format="json").json()
    cancelled = client.post(f"/api/previews/{again['id']}/cancel/").json()
    assert cancelled["status"] == "queued"  # asked to stop: the run stops at its first page
    assert previews.run_preview(again["id"], connectors=pair.connectors()).status == "cancelled"


def test_the_preview_page_starts_one_shows_its_counts_and_cancels(seeded, monkeypatch):
    pair = seeded
    queued = []
    monkeypatch.setattr(previews, "_enqueue", queued.append)
    user = MembershipFactory(tenant=pair.integration.tenant, role=Membership.Role.ADMIN, user=UserFactory()).user
    client = Client()
    client.force_login(user, backend="tenants.auth.EmailBackend")
    url = f"/integrations/{pair.integration.pk}/preview/"
    with pytest.MonkeyPatch.context() as m:
        m.setattr("django.db.transaction.on_commit", lambda fn: fn())
        started = client.post(url, {"kind": "first_run"})
    assert started.status_code == 302 and len(queued) == 1
    running = client.get(started["Location"]).content.decode()
    assert "Cancel preview" in running and 'hx-trigger="every 2s"' in running
    previews.run_preview(str(queued[0]), connectors=pair.connectors())
    page = client.get(started["Location"]).content.decode()
    # The rules are listed in the order records met them, which the database decides.
    assert 'id="preview-counts"' in page and "Linked by: " in page and "(domain) (" in page and "0 writes" in page
    assert Client().get(url).status_code in (302, 403)  # not without logging in
