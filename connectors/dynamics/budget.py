"""Dynamics 365's daily budget policy (connectors/quota.py): one budget per org (environment).

Dataverse has two kinds of limit (Microsoft Learn, "Dataverse API limits overview"):
- service protection limits, per user and web server in a 5-minute sliding window (6,000
  requests, 20 minutes of execution time, 52 concurrent): connectors/dynamics/limits.py spaces
  calls under them. The answers' `x-ms-ratelimit-burst-remaining-xrm-requests` and
  `x-ms-ratelimit-time-remaining-xrm-requests` headers report what is left of *that* window
  (requests, and execution milliseconds), not of a day: Dataverse reports no daily number.
- Power Platform request entitlements, per 24 hours ("Requests limits and allocations"). An
  application user (the app registration SyncSmart signs in as) is a non-licensed user: it draws
  on the tenant's pooled base request capacity, 100,000 requests per 24 hours with Dynamics 365
  Enterprise licences (the figure Microsoft published when the pool was introduced; larger
  allocations and capacity add-ons raise it). That is the default here; a customer whose
  allocation differs sets the connection's `config["daily_limit"]` (or QUOTA_DAILY_LIMITS).

The budget's account is the org URL: every integration and tenant using the org shares it, whichever
app registration they sign in with. Microsoft pools the entitlement per Microsoft tenant, so
several orgs of one tenant share one allocation: give each org's connection its share then.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.quota import BudgetPolicy, fallback_account, host_of

NON_LICENSED_BASE_REQUESTS_PER_24H = 100_000


def account(config: Mapping[str, Any], connection_pk: Any) -> str:
    org = host_of(config.get("org_url") or "")
    return f"dynamics:{org}" if org else fallback_account("dynamics", connection_pk)


POLICY = BudgetPolicy(
    vendor="Dynamics 365",
    account_kind="org",
    account=account,
    default_limit=lambda config: NON_LICENSED_BASE_REQUESTS_PER_24H,
    limit_source="Microsoft's base request capacity for application users (100,000 per 24 hours)",
)
