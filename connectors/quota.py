"""Daily API budgets per vendor account, shared by every integration and tenant using the account.

Every vendor account SyncSmart calls — a HubSpot portal, a Dynamics 365 org, a ConnectWise company,
a Salesforce org, a NetSuite account — has a daily limit that other apps of the customer share, so
SyncSmart spends only its **budget**: QUOTA_BUDGET_PERCENT of the limit (50 % by default), or the
calls set in the connection's `config["daily_budget"]`. The shared limiter (connectors/ratelimit.py,
the daily counter `count_today` / `peek_today`) counts every call of the account against it and
refuses calls once it is spent (until midnight UTC).

Each connector owns its policy (`connectors/<system>/budget.py`, named by the system's row in
connectors/registry.py): the account key every connection to the same account shares, the limit
the vendor publishes (or, for a vendor that publishes none, SyncSmart's own ceiling), and whether
the vendor reports the limit in its answers. The limit used is, first, what the vendor reported
today (noted by the limiter at most once a minute: HubSpot's X-HubSpot-RateLimit-Daily,
Salesforce's Sforce-Limit-Info), else the connection's `config["daily_limit"]`, else
QUOTA_DAILY_LIMITS for the system, else the policy's default.

Inside the budget, QUOTA_LIVE_RESERVE_PERCENT (20 %) is kept for live traffic: low-priority work
(historical resyncs) pauses once the day's use reaches the budget less the reserve, while webhook,
scheduled and manual runs go on until the whole budget is spent (syncsmart/engine/slices.py).

The forecast projects today's use at the **recent** rate — the calls of the last hour (of the day,
when it began less than an hour ago), from the limiter's per-minute tallies — to the time the
budget runs out, so a rate that rose an hour ago shows now, not diluted by a quiet morning.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from connectors import registry
from connectors.ratelimit import calls_between, reported_today, used_today

RATE_WINDOW = dt.timedelta(hours=1)  # the forecast's "current rate": calls in the last hour
MIN_RATE_SECONDS = 60.0  # the shortest window a rate is read over (the day's first minute)


@dataclass(frozen=True)
class BudgetPolicy:
    """One system's budget policy, defined in its connector package (`connectors/<system>/budget.py`)."""

    vendor: str  # "HubSpot"
    account_kind: str  # "portal", "org", "company", "account"
    account: Callable[[Mapping[str, Any], Any], str]  # (connection config, connection pk) -> the shared key
    default_limit: Callable[[Mapping[str, Any]], int]  # the daily limit when nothing else says it
    limit_source: str  # where the default comes from, in words for the page and the docs
    reports_limit: bool = False  # the vendor reports the limit in its answers (the limiter notes it)


@dataclass(frozen=True)
class Budget:
    account: str  # the shared limiter's daily key: one per vendor account
    limit: int  # the vendor's daily limit
    budget: int  # our share of it
    reserve: int  # of the budget, kept for live traffic
    used: int  # calls made today (UTC), by every integration on the account
    remaining: int | None = None  # what the vendor last reported left today for every app, if it did
    vendor: str = ""
    account_kind: str = "account"
    recent_calls: int = 0  # calls in the rate window ending at `at`
    recent_seconds: float = 0.0  # that window's length
    at: dt.datetime | None = None  # when the use was read
    limit_source: str = ""  # where the limit comes from: "reported", "configured" or the policy's words

    @property
    def low_priority_ceiling(self) -> int:
        return self.budget - self.reserve

    @property
    def low_priority_paused(self) -> bool:
        return self.used >= self.low_priority_ceiling

    @property
    def spent(self) -> bool:
        return self.used >= self.budget

    @property
    def rate(self) -> float:
        """Calls per second at the current rate (the rate window's)."""
        return self.recent_calls / self.recent_seconds if self.recent_seconds > 0 else 0.0


@dataclass(frozen=True)
class Forecast:
    runs_out_at: dt.datetime | None  # None: the budget lasts the day at the current rate
    by_midnight: int  # calls projected for the whole day: today's use plus the current rate until midnight

    def words(self, budget: Budget) -> str:
        if budget.spent:
            return "Today's budget is used up; it returns at midnight UTC."
        if self.runs_out_at is None:
            return f"At the current rate about {self.by_midnight:,} calls by midnight UTC: the budget lasts the day."
        return f"At the current rate the budget runs out at {self.runs_out_at:%H:%M} UTC."


def now() -> dt.datetime:
    """The time budgets are read and forecasts made at (one place, so a test can hold it still)."""
    return dt.datetime.now(dt.UTC)


def _midnight(at: dt.datetime) -> dt.datetime:
    return at.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _whole_minute(at: dt.datetime) -> dt.datetime:
    return at.replace(second=0, microsecond=0)


def rate_window(at: dt.datetime) -> tuple[dt.datetime, float]:
    """The current rate's window ending at `at`: from the start of the minute an hour back (or of
    the day, if later), since the limiter tallies whole minutes; its start and length in seconds."""
    start = _whole_minute(max(at - RATE_WINDOW, _midnight(at)))
    return start, max((at - start).total_seconds(), MIN_RATE_SECONDS)


def positive_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def daily_budget(limit: int, config: Mapping[str, Any]) -> int:
    """Our share of a vendor's daily limit: the connection's own number, else the configured percentage."""
    own = positive_int(config.get("daily_budget"))
    if own:
        return min(own, limit)
    return max(1, int(limit * settings.QUOTA_BUDGET_PERCENT / 100))


def policy_for(system: str) -> BudgetPolicy | None:
    return registry.system(system).budget_policy


def daily_limit(system: str, account: str, config: Mapping[str, Any]) -> tuple[int, tuple[int, int] | None, str]:
    """The account's daily limit, the vendor's report of it today (limit, remaining) if any, and
    where the limit comes from: the vendor's report today, else the connection's
    `config["daily_limit"]`, else QUOTA_DAILY_LIMITS[system], else the connector's default."""
    policy = policy_for(system)
    reported = reported_today(account) if policy is not None and policy.reports_limit else None
    if reported:
        return reported[0], reported, f"reported by {policy.vendor} today"
    own = positive_int(config.get("daily_limit"))
    if own:
        return own, None, "set on this connection"
    configured = positive_int(settings.QUOTA_DAILY_LIMITS.get(system))
    if configured:
        return configured, None, "set in QUOTA_DAILY_LIMITS"
    if policy is None:
        raise LookupError(f"{system} has no budget policy")
    return policy.default_limit(config), None, policy.limit_source


def account_budget(system: str, config: Mapping[str, Any], connection_pk: Any) -> tuple[str, int]:
    """What a connector's limiter needs: the account's daily key and our budget of calls today."""
    policy = policy_for(system)
    if policy is None:
        raise LookupError(f"{system} has no budget policy")
    account = policy.account(config, connection_pk)
    limit, _, _ = daily_limit(system, account, config)
    return account, daily_budget(limit, config)


def budget_for(system: str, config: Mapping[str, Any], connection_pk: Any, at: dt.datetime | None = None) -> Budget | None:
    """Today's budget and use of a vendor account (as of `at`, now by default)."""
    policy = policy_for(system)
    if policy is None:
        return None
    at = at or now()
    account = policy.account(config, connection_pk)
    limit, reported, source = daily_limit(system, account, config)
    budget = daily_budget(limit, config)
    start, seconds = rate_window(at)
    return Budget(
        account,
        limit,
        budget,
        int(budget * settings.QUOTA_LIVE_RESERVE_PERCENT / 100),
        used_today(account, at),
        reported[1] if reported else None,
        vendor=policy.vendor,
        account_kind=policy.account_kind,
        recent_calls=calls_between(account, start, at),
        recent_seconds=seconds,
        at=at,
        limit_source=source,
    )


def budget_of(connection: Any, at: dt.datetime | None = None) -> Budget | None:
    """Today's budget and use of a connection's vendor account; None for a system without a policy."""
    return budget_for(connection.system, connection.config or {}, connection.pk, at)


def forecast(budget: Budget, at: dt.datetime | None = None) -> Forecast:
    """When today's budget runs out if calls go on at the current (last hour's) rate."""
    at = at or budget.at or now()
    next_midnight = _midnight(at) + dt.timedelta(days=1)
    rate = budget.rate
    by_midnight = budget.used + int(rate * (next_midnight - at).total_seconds())
    if rate <= 0 or by_midnight < budget.budget:
        return Forecast(None, by_midnight)
    return Forecast(at + dt.timedelta(seconds=max(0, budget.budget - budget.used) / rate), by_midnight)


# --- account keys, shared by the connectors' policies ----------------------------------------------
def host_of(url: str) -> str:
    """The lower-cased host (and port) of a URL: one account, however its URL is spelled."""
    parts = urlsplit(str(url or "").strip())
    return (parts.netloc or parts.path).lower().rstrip("/")


def fallback_account(system: str, connection_pk: Any) -> str:
    """A connection whose account is not known yet counts on its own."""
    return f"{system}:connection-{connection_pk}"
