"""Daily API budgets (connectors/quota.py): with a small budget for the HubSpot portal, a historical
resync pauses where the budget's reserve for live traffic begins, a webhook edit still syncs, and
the integration page shows today's use and the forecast computed from it.

Runs execute inline (SYNC_RUN_INLINE) through the real connectors, so every HubSpot call of the
manual and webhook runs is counted by the portal's shared limiter, as in production."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
import pytest
from django.test import Client

from connectors import quota
from connectors.hubspot import limits
from connectors.ratelimit import used_today
from syncsmart.engine import run_requests
from syncsmart.engine.historical import start_historical_sync
from syncsmart.engine.slices import run_slice
from syncsmart.models import SyncRun
from tenants.models import Membership
from tests.engine.conftest import CollectingSender
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db
BUDGET = 400  # calls a day for this portal; a quarter kept for live changes: historical work stops at 300


@pytest.fixture
def budgeted(cw_pair, settings):
    settings.SYNC_RUN_INLINE, settings.SYNC_WEBHOOK_LINGER_SECONDS = True, 0
    settings.QUOTA_LIVE_RESERVE_PERCENT = 25
    connection = cw_pair.integration.hubspot_connection
    # Without the emulator's portal id (the same in every test, and counted all day in the shared
    # store), the limiter counts this connection's own account, which starts the day at zero.
    config = {k: v for k, v in connection.config.items() if k != "portal_id"}
    connection.config = {**config, "daily_budget": BUDGET}
    connection.save(update_fields=["config"])
    return cw_pair


def account(pair) -> str:
    connection = pair.integration.hubspot_connection
    return quota.hubspot_account(connection.config, connection.pk)


def test_a_small_budget_pauses_a_historical_resync_and_a_webhook_edit_still_syncs(
    budgeted, monkeypatch, django_capture_on_commit_callbacks
):
    pair = budgeted
    pair.other.add_company("Globex Corp", website="globex.example.com")
    with django_capture_on_commit_callbacks(execute=True):
        first = run_requests.request_run(pair.integration, None, trigger="manual")
    first.refresh_from_db()
    assert first.status == "succeeded", first.error
    used_by_first_run = used_today(account(pair))
    assert 0 < used_by_first_run < 300  # the live run's calls were counted against the portal
    # Other integrations on the same portal spend the rest, up to where the reserve begins.
    portal = limits.hubspot_limiter(account(pair).removeprefix("hubspot:"), daily=BUDGET)
    for _ in range(300 - used_by_first_run):
        portal.store.count_today(portal.key)
    assert quota.budget_of(pair.integration.hubspot_connection).low_priority_paused

    calls_before = pair.hubspot.counters()["total"]
    with django_capture_on_commit_callbacks(execute=True):
        historical = start_historical_sync(pair.integration, None)
    historical.refresh_from_db()
    assert historical.status == "queued"  # paused before any call, due again later
    assert historical.queued_at > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)
    assert "Paused: 300 of today's 400-call HubSpot budget used" in historical.log[-1][2]
    assert pair.hubspot.counters()["total"] == calls_before

    # A webhook edit is live traffic: it syncs, from the reserve.
    pair.hubspot.webhooks = CollectingSender()
    pair.hubspot.subscribe(f"http://testserver/webhooks/{pair.integration.pk}/hubspot")
    (hub_company,) = pair.hubspot.find_records("companies", "name", "Globex Corp")
    pair.hubspot.advance_clock(5_000)
    pair.hubspot.edit_record("companies", hub_company, {"name": "Globex Renamed"})
    with django_capture_on_commit_callbacks(execute=True):
        assert [r.status_code for r in pair.hubspot.webhooks.deliver(Client())] == [200]
    webhook_run = SyncRun.objects.get(trigger="webhook")
    assert webhook_run.status == "succeeded", webhook_run.error
    assert pair.other.records("companies")[0]["name"] == "Globex Renamed"
    used = used_today(account(pair))
    assert 300 < used <= BUDGET

    # The historical resync's next slice (the sweep hands it out when due) still waits.
    assert run_slice(str(historical.pk)) == {"skipped": "budget reserve"}
    historical.refresh_from_db()
    assert historical.status == "queued"

    # The page shows today's use and the forecast made from it: at 00:10 UTC, `used` calls in
    # 600 seconds run the 400-call budget out after 400 * 600 / used seconds.
    midnight = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    monkeypatch.setattr(quota, "now", lambda: midnight + dt.timedelta(minutes=10))
    runs_out = midnight + dt.timedelta(seconds=BUDGET * 600 / used)
    member = MembershipFactory(tenant=pair.integration.tenant, role=Membership.Role.VIEWER).user
    client = Client()
    client.force_login(member, backend="tenants.auth.EmailBackend")
    page = client.get(f"/integrations/{pair.integration.pk}/").content.decode()
    assert f"Today: <strong>{used}</strong> of 400 calls used" in page
    assert f"At the current rate the budget runs out at {runs_out:%H:%M} UTC." in page
    assert "Historical resyncs are paused" in page
    remaining = quota.budget_of(pair.integration.hubspot_connection).remaining  # read from HubSpot's headers
    assert remaining is not None and f"HubSpot last reported {remaining:,} calls left today" in page


def test_the_daily_limit_hubspot_reports_replaces_the_configured_tier(settings):
    settings.QUOTA_BUDGET_PERCENT = 50
    portal = f"reported-{uuid.uuid4().hex[:8]}"
    config = {"portal_id": portal, "rate_tier": "starter"}
    assert quota.hubspot_budget(config, None).limit == 250_000  # nothing reported yet: the tier's
    headers = {"X-HubSpot-RateLimit-Daily": "1000000", "X-HubSpot-RateLimit-Daily-Remaining": "990000"}
    limits.hubspot_limiter(portal).observe(httpx.Response(200, headers=headers))
    budget = quota.hubspot_budget(config, None)
    assert (budget.limit, budget.budget, budget.remaining) == (1_000_000, 500_000, 990_000)


def test_the_forecast_projects_todays_average_rate():
    budget = quota.Budget("hubspot:1", limit=250_000, budget=125_000, reserve=25_000, used=50_000)
    midnight = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)
    at_eight = quota.forecast(budget, midnight + dt.timedelta(hours=8))  # 6,250 an hour: 150,000 a day
    assert at_eight.runs_out_at == midnight + dt.timedelta(hours=20)
    assert at_eight.words(budget) == "At the current rate the budget runs out at 20:00 UTC."
    at_noon = quota.forecast(budget, midnight + dt.timedelta(hours=12))  # 100,000 a day: it lasts
    assert at_noon.runs_out_at is None
    assert at_noon.by_midnight == 100_000


def test_the_budget_is_a_share_of_the_portal_limit_unless_the_connection_sets_one(settings):
    settings.QUOTA_BUDGET_PERCENT = 50
    assert quota.daily_budget(250_000, {}) == 125_000
    assert quota.daily_budget(250_000, {"daily_budget": 1000}) == 1000
    assert quota.daily_budget(250_000, {"daily_budget": 10**9}) == 250_000  # never above the vendor's limit
    assert quota.daily_budget(250_000, {"daily_budget": "lots"}) == 125_000
