"""NetSuite's daily budget policy (connectors/quota.py): one budget per account.

NetSuite governs web services by concurrency (requests in flight per account, shared by every
integration: connectors/ratelimit.py's in-flight limiter), not by a daily count, and reports none
in its answers. The account's concurrency is shared with the customer's other integrations all
day, so SyncSmart keeps to a daily ceiling of its own — DEFAULT_DAILY_CALLS, not a vendor number —
of which the budget is the usual share; set the connection's `config["daily_limit"]` (or
QUOTA_DAILY_LIMITS) to change it.

The account is NetSuite's account id (its realm: '1234567_SB1'), shared by every connection to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.netsuite.auth import realm_for
from connectors.quota import BudgetPolicy, fallback_account

DEFAULT_DAILY_CALLS = 1_000_000  # SyncSmart's own ceiling: NetSuite publishes none


def account(config: Mapping[str, Any], connection_pk: Any) -> str:
    realm = realm_for(str(config.get("account_id") or ""))
    return f"netsuite:{realm}" if realm else fallback_account("netsuite", connection_pk)


POLICY = BudgetPolicy(
    vendor="NetSuite",
    account_kind="account",
    account=account,
    default_limit=lambda config: DEFAULT_DAILY_CALLS,
    limit_source="SyncSmart's default ceiling (NetSuite limits concurrency, not calls a day)",
)
