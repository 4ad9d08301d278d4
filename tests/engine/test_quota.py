"""Daily API budgets (connectors/quota.py, each connector's budget.py): with a small budget for a
vendor account — the HubSpot portal, or the other side's Dynamics org, ConnectWise company,
Salesforce org or NetSuite account — a historical resync pauses where the budget's reserve for
live traffic begins, a webhook edit still syncs, and the integration page shows today's use and the
forecast computed from the recorded use at the current (last hour's) rate.

Runs execute inline (SYNC_RUN_INLINE) through the real connectors, so every vendor call of the
manual and webhook runs is counted by the account's shared limiter, as in production. Each test
has a shared store of its own, so nothing counted by another test or run counts.
"""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
import pytest
from django.test import Client

from connectors import quota, ratelimit
from connectors.dynamics.limits import dynamics_limiter
from connectors.hubspot import limits
from connectors.ratelimit import calls_between, record_calls, used_today
from mappings.models import FieldMapping
from syncsmart.alerts import evaluate_alerts
from syncsmart.engine import previews, run_requests
from syncsmart.engine.historical import start_historical_sync
from syncsmart.engine.slices import run_slice
from syncsmart.models import Alert, RecordLink, SyncRun
from tenants.models import Membership
from tests.connectors.hubspot_harness import fast_retry
from tests.engine.conftest import CollectingSender, build_pair
from tests.factories import MembershipFactory, NoLimit

pytestmark = pytest.mark.django_db
BUDGET = 400  # calls a day for the account; a quarter kept for live changes: historical work stops at 300
OTHER_SYSTEMS = ["dynamics", "connectwise", "salesforce", "netsuite"]


@pytest.fixture(autouse=True)
def own_store(tmp_path, monkeypatch):
    """A shared store (a SQLite file, whether or not REDIS_URL is set) and limiter registry of the
    test's own, so no call counted by another test or an earlier run counts here."""
    store = ratelimit.SQLiteStore(tmp_path / "ratelimits.sqlite3")
    monkeypatch.setattr(ratelimit, "default_store", lambda: store)
    monkeypatch.setattr(ratelimit, "_limiters", {})
    monkeypatch.setattr(ratelimit, "_inflight_limiters", {})


@pytest.fixture
def inline(settings):
    settings.SYNC_RUN_INLINE, settings.SYNC_WEBHOOK_LINGER_SECONDS = True, 0
    settings.QUOTA_LIVE_RESERVE_PERCENT = 25


def give_budget(connection, calls: int = BUDGET) -> None:
    connection.config = {**connection.config, "daily_budget": calls}
    connection.save(update_fields=["config"])


def account(connection) -> str:
    return quota.budget_of(connection).account


def add_company(pair, name: str) -> None:
    """A company created in the other system, as a user would."""
    system, other = pair.integration.other_connection.system, pair.other
    if system == "connectwise":
        other.add_company(name, website="globex.example.com")
    elif system == "netsuite":
        other.add_customer(name, url="https://globex.example.com")
    elif system == "salesforce":
        other.create_record("Account", {"Name": name, "Website": "globex.example.com"})
    else:
        other.create_record("accounts", {"name": name, "websiteurl": "globex.example.com"})


def other_name(pair, hubspot_id: str) -> str:
    """The company's name on the other side, read back through its connector."""
    link = RecordLink.objects.get(integration=pair.integration, hubspot_object="companies", hubspot_id=hubspot_id)
    field = FieldMapping.objects.get(object_mapping=link.object_mapping, hubspot_field="name").other_field
    connector = pair.integration.other_connection.connector(limiter=NoLimit(), retry=fast_retry())
    try:
        (record,) = connector.read_by_ids(link.other_object, [link.other_id])
    finally:
        connector.close()
    return record.properties[field]


def expected_forecast(budget_calls: int, used: int, recent: int, seconds: float, at: dt.datetime) -> str:
    """The forecast worked out by hand from the recorded use: the recent rate carried on from `at`."""
    rate = recent / seconds
    midnight = at.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
    if used >= budget_calls:
        return "Today's budget is used up; it returns at midnight UTC."
    by_midnight = used + int(rate * (midnight - at).total_seconds())
    if rate == 0 or by_midnight < budget_calls:
        return f"At the current rate about {by_midnight:,} calls by midnight UTC: the budget lasts the day."
    return f"At the current rate the budget runs out at {at + dt.timedelta(seconds=(budget_calls - used) / rate):%H:%M} UTC."


def page_of(pair) -> str:
    member = MembershipFactory(tenant=pair.integration.tenant, role=Membership.Role.VIEWER).user
    client = Client()
    client.force_login(member, backend="tenants.auth.EmailBackend")
    return client.get(f"/integrations/{pair.integration.pk}/").content.decode()


def deliver_hubspot_edit(pair, hub_company: str, name: str, capture) -> SyncRun:
    """A HubSpot edit, delivered by HubSpot's webhook; returns the webhook run it starts."""
    pair.hubspot.webhooks = CollectingSender()
    pair.hubspot.subscribe(f"http://testserver/webhooks/{pair.integration.pk}/hubspot")
    pair.hubspot.advance_clock(5_000)
    pair.hubspot.edit_record("companies", hub_company, {"name": name})
    with capture(execute=True):
        assert [r.status_code for r in pair.hubspot.webhooks.deliver(Client())] == [200]
    return SyncRun.objects.get(trigger="webhook")


def spend_up_to_reserve(connection) -> int:
    """Other integrations on the account spend the rest, up to where the reserve begins (300)."""
    key = account(connection)
    used = used_today(key)
    assert 0 < used < 300, used  # the live run's calls were counted against the account
    record_calls(key, 300 - used)
    assert quota.budget_of(connection).low_priority_paused
    return used


def assert_paused_before_any_call(pair, capture, emulator, vendor: str) -> SyncRun:
    calls_before = emulator.counters()["total"]
    with capture(execute=True):
        historical = start_historical_sync(pair.integration, None)
    historical.refresh_from_db()
    assert historical.status == "queued"  # paused before any call, due again later
    assert historical.queued_at > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)
    assert f"Paused: 300 of today's 400-call {vendor} budget used" in historical.log[-1][2]
    assert emulator.counters()["total"] == calls_before
    return historical


@pytest.fixture
def hub_budgeted(inline):
    pair = build_pair("connectwise")
    give_budget(pair.integration.hubspot_connection)
    yield pair
    pair.close()


def test_a_small_hubspot_budget_pauses_a_historical_resync_and_a_webhook_edit_still_syncs(
    hub_budgeted, monkeypatch, django_capture_on_commit_callbacks
):
    pair = hub_budgeted
    hub_connection = pair.integration.hubspot_connection
    add_company(pair, "Globex Corp")
    with django_capture_on_commit_callbacks(execute=True):
        first = run_requests.request_run(pair.integration, None, trigger="manual")
    first.refresh_from_db()
    assert first.status == "succeeded", first.error
    spend_up_to_reserve(hub_connection)
    historical = assert_paused_before_any_call(pair, django_capture_on_commit_callbacks, pair.hubspot, "HubSpot")

    # A webhook edit is live traffic: it syncs, from the reserve.
    (hub_company,) = pair.hubspot.find_records("companies", "name", "Globex Corp")
    webhook_run = deliver_hubspot_edit(pair, hub_company, "Globex Renamed", django_capture_on_commit_callbacks)
    assert webhook_run.status == "succeeded", webhook_run.error
    assert pair.other.records("companies")[0]["name"] == "Globex Renamed"
    used = used_today(account(hub_connection))
    assert 300 < used <= BUDGET

    # The historical resync's next slice (the sweep hands it out when due) still waits.
    assert run_slice(str(historical.pk)) == {"skipped": "budget reserve"}
    historical.refresh_from_db()
    assert historical.status == "queued"

    # The page shows today's use and the forecast made from the recorded use at this moment.
    at = quota.now()
    monkeypatch.setattr(quota, "now", lambda: at)
    start, seconds = quota.rate_window(at)
    page = page_of(pair)
    assert f"Today: <strong>{used}</strong> of 400 calls used" in page
    recent = calls_between(account(hub_connection), start, at)
    assert expected_forecast(BUDGET, used, recent, seconds, at) in page
    assert "Historical resyncs are paused" in page
    remaining = quota.budget_of(hub_connection).remaining  # read from HubSpot's headers
    assert remaining is not None and f"HubSpot last reported {remaining:,} calls left today" in page


@pytest.fixture(params=OTHER_SYSTEMS)
def other_budgeted(request, inline):
    pair = build_pair(request.param)
    give_budget(pair.integration.other_connection)
    yield pair
    pair.close()


def test_a_small_budget_on_the_other_vendor_account_pauses_a_historical_resync_and_a_webhook_edit_still_syncs(
    other_budgeted, monkeypatch, django_capture_on_commit_callbacks
):
    pair = other_budgeted
    connection = pair.integration.other_connection
    vendor = quota.budget_of(connection).vendor
    add_company(pair, "Globex Corp")
    with django_capture_on_commit_callbacks(execute=True):
        first = run_requests.request_run(pair.integration, None, trigger="manual")
    first.refresh_from_db()
    assert first.status == "succeeded", first.error
    (hub_company,) = pair.hubspot.find_records("companies", "name", "Globex Corp")
    spend_up_to_reserve(connection)
    historical = assert_paused_before_any_call(pair, django_capture_on_commit_callbacks, pair.other, vendor)

    # The HubSpot edit reaches the other system through its budget's reserve.
    webhook_run = deliver_hubspot_edit(pair, hub_company, "Globex Renamed", django_capture_on_commit_callbacks)
    assert webhook_run.status == "succeeded", webhook_run.error
    assert other_name(pair, hub_company) == "Globex Renamed"
    used = used_today(account(connection))
    assert 300 < used <= BUDGET
    assert run_slice(str(historical.pk)) == {"skipped": "budget reserve"}

    # Both sides' budgets on the page, each with its forecast from its own recorded use.
    at = quota.now()
    monkeypatch.setattr(quota, "now", lambda: at)
    start, seconds = quota.rate_window(at)
    page = page_of(pair)
    for side, shown in (("hubspot", pair.integration.hubspot_connection), ("other", connection)):
        budget = quota.budget_of(shown, at)
        recent = calls_between(budget.account, start, at)
        words = expected_forecast(budget.budget, budget.used, recent, seconds, at)
        assert f'<p id="budget-forecast-{side}">{words}</p>' in page
    assert f"Today: <strong>{used}</strong> of 400 calls used, by every integration on this {vendor}" in page


def test_the_forecast_projects_the_last_hours_rate_not_the_days_average():
    portal = f"rate-{uuid.uuid4().hex[:8]}"
    config = {"portal_id": portal, "daily_budget": 20_000}
    day = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    for hour in range(11):  # a quiet morning: 500 calls an hour ...
        record_calls(f"hubspot:{portal}", 500, day + dt.timedelta(hours=hour, minutes=30))
    for minute in range(60):  # ... then 3,000 in the last hour
        record_calls(f"hubspot:{portal}", 50, day + dt.timedelta(hours=11, minutes=minute, seconds=20))
    noon = day + dt.timedelta(hours=12)
    budget = quota.budget_for("hubspot", config, None, at=noon)
    assert (budget.used, budget.recent_calls, budget.recent_seconds) == (8_500, 3_000, 3_600)
    # 11,500 calls left at 3,000 an hour: 3 h 50 min. The day's average (8,500 in 12 h) would
    # have said 17,000 by midnight: the budget lasts.
    assert quota.forecast(budget).runs_out_at == noon + dt.timedelta(hours=3, minutes=50)
    assert quota.forecast(budget).words(budget) == "At the current rate the budget runs out at 15:50 UTC."
    # An hour and a half later, nothing more called: the rate is the last hour's, 0, and the budget lasts.
    quiet = quota.budget_for("hubspot", config, None, at=day + dt.timedelta(hours=13, minutes=30))
    assert (quiet.used, quiet.recent_calls) == (8_500, 0)
    assert (
        quota.forecast(quiet).words(quiet) == "At the current rate about 8,500 calls by midnight UTC: the budget lasts the day."
    )


def test_the_page_shows_each_sides_forecast_from_the_recorded_use_when_the_rate_rose_recently(cw_pair, monkeypatch):
    hub, other = cw_pair.integration.hubspot_connection, cw_pair.integration.other_connection
    give_budget(hub, 20_000)
    give_budget(other, 10_000)
    day = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    noon = day + dt.timedelta(hours=12)
    for hour in range(11):
        record_calls(account(hub), 500, day + dt.timedelta(hours=hour, minutes=30))
        record_calls(account(other), 100, day + dt.timedelta(hours=hour, minutes=30))
    for minute in range(60):  # the rate rose in the last hour on both sides
        record_calls(account(hub), 50, day + dt.timedelta(hours=11, minutes=minute))
        record_calls(account(other), 40, day + dt.timedelta(hours=11, minutes=minute))
    monkeypatch.setattr(quota, "now", lambda: noon)
    page = page_of(cw_pair)
    # HubSpot: 8,500 used, 3,000 in the last hour: 11,500 left run out in 3 h 50 min.
    assert '<p id="budget-forecast-hubspot">At the current rate the budget runs out at 15:50 UTC.</p>' in page
    # ConnectWise: 1,100 + 2,400 = 3,500 used, 2,400 in the last hour: 6,500 left run out in 2 h 42.5 min.
    assert '<p id="budget-forecast-other">At the current rate the budget runs out at 14:42 UTC.</p>' in page
    assert "Today: <strong>3,500</strong> of 10,000 calls used, by every integration on this ConnectWise company" in page


def test_every_connection_to_one_vendor_account_shares_its_budget():
    same = {
        "hubspot": ({"portal_id": "123"}, {"portal_id": " 123 "}),
        "dynamics": ({"org_url": "https://contoso.crm.dynamics.com"}, {"org_url": "https://Contoso.crm.dynamics.com/"}),
        "connectwise": (
            {"base_url": "https://api-na.myconnectwise.net/v4_6_release", "company_id": "Acme"},
            {"base_url": "https://API-NA.myconnectwise.net/v4_6_release", "company_id": "acme"},
        ),
        "salesforce": ({"instance_url": "https://acme.my.salesforce.com"}, {"instance_url": "https://acme.my.salesforce.com/"}),
        "netsuite": ({"account_id": "1234567_sb1"}, {"account_id": "1234567-SB1"}),
    }
    for system, (one, two) in same.items():
        assert quota.budget_for(system, one, 1).account == quota.budget_for(system, two, 2).account, system
    other_company = {"base_url": "https://api-na.myconnectwise.net/v4_6_release", "company_id": "Globex"}
    assert (
        quota.budget_for("connectwise", other_company, 3).account
        != quota.budget_for("connectwise", same["connectwise"][0], 1).account
    )
    # An account not known yet counts on the connection's own.
    assert quota.budget_for("dynamics", {}, 7).account == "dynamics:connection-7"


def test_a_limit_comes_from_the_vendors_report_else_the_connection_else_the_setting_else_the_connectors_default(settings):
    settings.QUOTA_BUDGET_PERCENT = 50
    org = {"org_url": f"https://{uuid.uuid4().hex[:8]}.crm.dynamics.com"}
    assert quota.budget_for("dynamics", org, None).limit == 100_000  # Microsoft's base capacity for app users
    settings.QUOTA_DAILY_LIMITS = {"dynamics": 500_000}
    assert quota.budget_for("dynamics", org, None).limit == 500_000
    assert quota.budget_for("dynamics", {**org, "daily_limit": 250_000}, None).budget == 125_000
    # Dataverse's x-ms-ratelimit-* headers count its 5-minute window, not the day: never taken as the limit.
    key = quota.budget_for("dynamics", org, None).account
    limiter = dynamics_limiter(org["org_url"], "app", daily=1000, account=key)
    limiter.observe(httpx.Response(200, headers={"x-ms-ratelimit-burst-remaining-xrm-requests": "5999"}))
    assert ratelimit.reported_today(key) is None
    assert quota.budget_for("dynamics", org, None).limit == 500_000


def test_the_daily_limit_hubspot_reports_replaces_the_configured_tier(settings):
    settings.QUOTA_BUDGET_PERCENT = 50
    portal = f"reported-{uuid.uuid4().hex[:8]}"
    config = {"portal_id": portal, "rate_tier": "starter"}
    assert quota.budget_for("hubspot", config, None).limit == 250_000  # nothing reported yet: the tier's
    headers = {"X-HubSpot-RateLimit-Daily": "1000000", "X-HubSpot-RateLimit-Daily-Remaining": "990000"}
    limits.hubspot_limiter(portal).observe(httpx.Response(200, headers=headers))
    budget = quota.budget_for("hubspot", config, None)
    assert (budget.limit, budget.budget, budget.remaining) == (1_000_000, 500_000, 990_000)


def test_the_salesforce_orgs_reported_allowance_sets_its_budget(sf_pair, settings):
    settings.QUOTA_BUDGET_PERCENT = 50
    pair = sf_pair
    pair.other.daily_limit = 15_000  # a Developer Edition org
    connection = pair.integration.other_connection
    connector = connection.connector(retry=fast_retry())
    try:
        connector.discover_fields("Contact")  # its answer says api-usage=N/15000
        assert connector.budget.inner.daily.daily == 7_500  # the limiter stops at our share
    finally:
        connector.close()
    budget = quota.budget_of(connection)
    assert (budget.limit, budget.budget, budget.limit_source) == (15_000, 7_500, "reported by Salesforce today")
    assert budget.remaining == 15_000 - pair.other.api_usage


def test_the_budget_is_a_share_of_the_limit_unless_the_connection_sets_one(settings):
    settings.QUOTA_BUDGET_PERCENT = 50
    assert quota.daily_budget(250_000, {}) == 125_000
    assert quota.daily_budget(250_000, {"daily_budget": 1000}) == 1000
    assert quota.daily_budget(250_000, {"daily_budget": 10**9}) == 250_000  # never above the vendor's limit
    assert quota.daily_budget(250_000, {"daily_budget": "lots"}) == 125_000


def test_a_preview_is_low_priority_work_and_stops_at_the_budgets_reserve(hub_budgeted, django_capture_on_commit_callbacks):
    pair = hub_budgeted
    add_company(pair, "Globex Corp")
    with django_capture_on_commit_callbacks(execute=True):
        first = run_requests.request_run(pair.integration, None, trigger="manual")
    first.refresh_from_db()
    assert first.status == "succeeded", first.error
    spend_up_to_reserve(pair.integration.hubspot_connection)
    calls_before = pair.hubspot.counters()["total"], pair.other.counters()["total"]
    preview = previews.request_preview(pair.integration, None, enqueue=False)
    preview = previews.run_preview(str(preview.pk))
    assert preview.status == "failed"
    assert preview.error.startswith("Paused: 300 of today's 400-call HubSpot budget used")
    assert "Run the preview again when the budget returns at midnight UTC." in preview.error
    assert (pair.hubspot.counters()["total"], pair.other.counters()["total"]) == calls_before
    # Below the reserve, the same preview runs to its end.
    give_budget(pair.integration.hubspot_connection, 4_000)
    again = previews.run_preview(str(previews.request_preview(pair.integration, None, enqueue=False).pk))
    assert again.status == "done", again.error


def test_the_other_sides_budget_running_out_raises_an_alert_of_its_own(cw_pair, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.ALERT_QUOTA_PERCENT = 80
    other = cw_pair.integration.other_connection
    give_budget(other, 10)
    record_calls(account(other), 9)  # 90 % of the ConnectWise company's budget
    with django_capture_on_commit_callbacks(execute=True):
        evaluate_alerts()
    (alert,) = Alert.objects.filter(rule=Alert.Rule.QUOTA, resolved_at=None)
    assert alert.key == f"quota:{cw_pair.integration.pk}:other"
    assert alert.title.endswith("the daily ConnectWise API budget is running out")
    assert alert.message.startswith("9 of 10 calls used today.")
    give_budget(other, 1_000)
    with django_capture_on_commit_callbacks(execute=True):
        assert evaluate_alerts()["resolved"] == 1
