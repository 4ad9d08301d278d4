"""Salesforce's daily budget policy (connectors/quota.py): one budget per org.

An org's API requests are limited per rolling 24 hours (connectors/salesforce/limits.py:
Enterprise 100,000 plus 1,000 per licence), shared by every app of the org, and every REST answer
reports the org's count and allowance in `Sforce-Limit-Info: api-usage=N/M`; the connector notes
the allowance M at most once a minute, so the budget is a share of the org's real allowance once
Salesforce has answered today (before that: `config["daily_limit"]`, else Enterprise's base).
The connector also stops calls when the org's own count N reaches M (every app's calls).

The account is the org id when the connection knows it, else its instance host.
Our counter is per UTC day while Salesforce's window rolls over 24 hours.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.quota import BudgetPolicy, fallback_account, host_of
from connectors.salesforce import limits


def account(config: Mapping[str, Any], connection_pk: Any) -> str:
    org = str(config.get("org_id") or "").strip() or host_of(config.get("instance_url") or "")
    return f"salesforce:{org}" if org else fallback_account("salesforce", connection_pk)


POLICY = BudgetPolicy(
    vendor="Salesforce",
    account_kind="org",
    account=account,
    default_limit=lambda config: limits.DAILY_REQUESTS_ENTERPRISE,
    limit_source="Salesforce's Enterprise Edition base allocation (100,000 per 24 hours)",
    reports_limit=True,
)
