"""Daily API budgets per vendor account, shared by every integration and tenant using the account.

A HubSpot portal's daily limit (250,000 to 1,000,000 calls, by tier) is shared with every other
app the customer runs, so SyncSmart spends only its budget: QUOTA_BUDGET_PERCENT of the limit
(50 % by default), or the calls set in the connection's `config["daily_budget"]`. The shared
limiter (connectors/ratelimit.py, the daily counter `count_today` / `peek_today`) counts every
call of the account against it and refuses calls once it is spent (until midnight UTC). The limit
is the one HubSpot reports in its answers (X-HubSpot-RateLimit-Daily, noted by the limiter at
most once a minute) once it has, else the configured tier's published limit.

Inside the budget, QUOTA_LIVE_RESERVE_PERCENT (20 %) is kept for live traffic: low-priority work
(historical resyncs) pauses once the day's use reaches the budget less the reserve, while webhook,
scheduled and manual runs go on until the whole budget is spent (syncsmart/engine/slices.py).

The forecast projects today's recorded use at today's average rate (calls so far / time since
midnight UTC) to the time the budget runs out. Only HubSpot reports a daily limit among the
systems whose limiters count one here; other systems have no budget (None).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from connectors.hubspot import limits as hubspot_limits
from connectors.ratelimit import reported_today, used_today


@dataclass(frozen=True)
class Budget:
    account: str  # the shared limiter's key: one per vendor account
    limit: int  # the vendor's daily limit
    budget: int  # our share of it
    reserve: int  # of the budget, kept for live traffic
    used: int  # calls made today (UTC), by every integration on the account
    remaining: int | None = None  # what the vendor last reported left today for every app, if it did

    @property
    def low_priority_ceiling(self) -> int:
        return self.budget - self.reserve

    @property
    def low_priority_paused(self) -> bool:
        return self.used >= self.low_priority_ceiling

    @property
    def spent(self) -> bool:
        return self.used >= self.budget


@dataclass(frozen=True)
class Forecast:
    runs_out_at: dt.datetime | None  # None: the budget lasts the day at the current rate
    by_midnight: int  # calls projected for the whole day at the current rate

    def words(self, budget: Budget) -> str:
        if budget.spent:
            return "Today's budget is used up; it returns at midnight UTC."
        if self.runs_out_at is None:
            return f"At the current rate about {self.by_midnight:,} calls by midnight UTC: the budget lasts the day."
        return f"At the current rate the budget runs out at {self.runs_out_at:%H:%M} UTC."


def hubspot_account(config: dict[str, Any], connection_pk: Any) -> str:
    """The HubSpot limiter's key for a connection: its portal, shared by every connection to it."""
    return f"hubspot:{config.get('portal_id') or f'connection-{connection_pk}'}"


def daily_budget(limit: int, config: dict[str, Any]) -> int:
    """Our share of a vendor's daily limit: the connection's own number, else the configured percentage."""
    own = config.get("daily_budget")
    if isinstance(own, int) and not isinstance(own, bool) and own > 0:
        return min(own, limit)
    return max(1, int(limit * settings.QUOTA_BUDGET_PERCENT / 100))


def hubspot_limit(account: str, config: dict[str, Any]) -> tuple[int, tuple[int, int] | None]:
    """The portal's daily limit: the one HubSpot reported today in its answers' headers (its real
    tier) when it has, else the configured tier's published limit; and that report."""
    reported = reported_today(account)
    return (reported[0] if reported else hubspot_limits.daily_limit(config.get("rate_tier", "starter"))), reported


def hubspot_budget(config: dict[str, Any], connection_pk: Any) -> Budget:
    account = hubspot_account(config, connection_pk)
    limit, reported = hubspot_limit(account, config)
    budget = daily_budget(limit, config)
    reserve = int(budget * settings.QUOTA_LIVE_RESERVE_PERCENT / 100)
    return Budget(account, limit, budget, reserve, used_today(account), reported[1] if reported else None)


def budget_of(connection: Any) -> Budget | None:
    """Today's budget and use of a connection's vendor account; None for a system without one."""
    if connection.system != "hubspot":
        return None
    return hubspot_budget(connection.config or {}, connection.pk)


def now() -> dt.datetime:
    """The time forecasts are made at (one place, so a test can hold it still)."""
    return dt.datetime.now(dt.UTC)


def forecast(budget: Budget, now: dt.datetime) -> Forecast:
    """When today's budget runs out if calls go on at today's average rate so far."""
    midnight = now.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    elapsed = max((now - midnight).total_seconds(), 1.0)
    rate = budget.used / elapsed  # calls per second, today
    by_midnight = int(rate * 86400)
    if rate <= 0 or by_midnight < budget.budget:
        return Forecast(None, by_midnight)
    return Forecast(midnight + dt.timedelta(seconds=budget.budget / rate), by_midnight)
