"""ConnectWise Manage's daily budget policy (connectors/quota.py): one budget per company.

ConnectWise publishes no daily (nor per-second) limit for its cloud REST API and reports none in
its answers. A company's API is still shared with the MSP's other tools (RMM, quoting, billing),
so SyncSmart keeps to a ceiling of its own — DEFAULT_DAILY_CALLS, not a vendor number — of which
the budget is the usual share; set the connection's `config["daily_limit"]` (or
QUOTA_DAILY_LIMITS) to the company's real headroom when it is known.

The account is the site and the company id: every integration and tenant on the company shares it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.quota import BudgetPolicy, account_budget, fallback_account, host_of
from connectors.ratelimit import Policy, SharedLimiter, shared_limiter

DEFAULT_DAILY_CALLS = 1_000_000  # SyncSmart's own ceiling: ConnectWise publishes none


def account(config: Mapping[str, Any], connection_pk: Any) -> str:
    site, company = host_of(config.get("base_url") or ""), str(config.get("company_id") or "").strip().lower()
    return f"connectwise:{site}:{company}" if site and company else fallback_account("connectwise", connection_pk)


POLICY = BudgetPolicy(
    vendor="ConnectWise",
    account_kind="company",
    account=account,
    default_limit=lambda config: DEFAULT_DAILY_CALLS,
    limit_source="SyncSmart's default ceiling (ConnectWise publishes no daily limit)",
)


def budget_limiter(config: Mapping[str, Any], connection_pk: Any) -> SharedLimiter:
    """The company's limiter: no window (none is published), only the daily budget, shared by
    every worker and every connection to the company."""
    key, daily = account_budget("connectwise", config, connection_pk)
    return shared_limiter(key, Policy(name=f"connectwise-budget-{daily}", windows=(), daily=daily))
