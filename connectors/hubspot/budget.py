"""HubSpot's daily budget policy (connectors/quota.py): one budget per portal.

The portal's daily limit is published per tier (connectors/hubspot/limits.py: 250,000 Free /
Starter, 625,000 Professional, 1,000,000 Enterprise) and reported in every answer's
X-HubSpot-RateLimit-Daily (with -Remaining, counting every app of the portal), which the shared
limiter notes at most once a minute; until HubSpot has answered today the connection's
`config["rate_tier"]` says it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.hubspot import limits
from connectors.quota import BudgetPolicy, fallback_account


def account(config: Mapping[str, Any], connection_pk: Any) -> str:
    """The portal: every connection to it, of any tenant, shares one budget."""
    portal = str(config.get("portal_id") or "").strip()
    return f"hubspot:{portal}" if portal else fallback_account("hubspot", connection_pk)


POLICY = BudgetPolicy(
    vendor="HubSpot",
    account_kind="portal",
    account=account,
    default_limit=lambda config: limits.daily_limit(str(config.get("rate_tier") or "starter")),
    limit_source="HubSpot's published limit for the portal's tier",
    reports_limit=True,
)
