"""HubSpot's published limits, in one place, with where they come from.

Sources (HubSpot developer documentation, read 2025):
- "API usage guidelines and limits" (developers.hubspot.com/docs/guides/apps/api-usage/usage-details):
  private apps 100 requests / 10 s on Free and Starter, 190 / 10 s on Professional and Enterprise;
  daily 250,000 (Free/Starter), 625,000 (Professional), 1,000,000 (Enterprise) per account;
  public (OAuth) apps 110 requests / 10 s per installed account;
  rate-limit response headers X-HubSpot-RateLimit-Daily / -Daily-Remaining / -Interval-Milliseconds /
  -Max / -Remaining; 429 bodies carry policyName TEN_SECONDLY_ROLLING or DAILY.
- "CRM search" (developers.hubspot.com/docs/api/crm/search): 5 requests per second per account,
  at most 200 records per page, at most 10,000 results per query (paging further is a 400),
  at most 5 filterGroups of at most 6 filters (18 filters in all); search responses carry no
  standard rate-limit headers.
- "CRM objects batch" (developers.hubspot.com/docs/api/crm/contacts): batch read / create /
  update / upsert / archive take at most 100 inputs.
- "Webhooks v3 signature" (developers.hubspot.com/docs/api/webhooks/validating-requests):
  X-HubSpot-Signature-v3 = base64(HMAC-SHA256(client secret, method + uri + body + timestamp));
  reject requests whose X-HubSpot-Request-Timestamp is older than 5 minutes.
- OAuth (developers.hubspot.com/docs/api/oauth-quickstart-guide): access tokens live 30 minutes.

The shared-limiter policy built from them (`hubspot_policy`, `hubspot_limiter`) is at the end.
"""

from connectors.ratelimit import Policy, SharedLimiter, scaled, shared_limiter

TEN_SECOND_WINDOW_MS = 10_000
PRIVATE_APP_PER_10S = 100  # Free / Starter; Professional / Enterprise allow 190
PRIVATE_APP_PER_10S_PRO = 190
OAUTH_APP_PER_10S = 110
DAILY_LIMIT = 250_000  # Free / Starter; 625,000 Professional, 1,000,000 Enterprise
DAILY_LIMIT_PRO = 625_000
DAILY_LIMIT_ENTERPRISE = 1_000_000
SEARCH_PER_SECOND = 5

BATCH_LIMIT = 100
SEARCH_PAGE_LIMIT = 200
SEARCH_RESULT_CAP = 10_000
SEARCH_MAX_FILTER_GROUPS = 5
SEARCH_MAX_FILTERS_PER_GROUP = 6
SEARCH_MAX_FILTERS = 18
SEARCH_MAX_IN_VALUES = 100

WEBHOOK_MAX_AGE_MS = 5 * 60 * 1000
ACCESS_TOKEN_SECONDS = 1800


def daily_limit(tier: str = "starter") -> int:
    return {"professional": DAILY_LIMIT_PRO, "enterprise": DAILY_LIMIT_ENTERPRISE}.get(tier, DAILY_LIMIT)


def hubspot_policy(tier: str = "starter", oauth_app: bool = False, daily: int | None = None) -> Policy:
    """The client-side policy: the 10-second window for the app type and tier (a little under the
    published number), the daily budget (`daily`: our share, connectors/quota.py; else the tier's
    whole limit), and search's own 5 per second."""
    if oauth_app:
        per_10s = OAUTH_APP_PER_10S
    else:
        per_10s = PRIVATE_APP_PER_10S_PRO if tier in ("professional", "enterprise") else PRIVATE_APP_PER_10S
    daily = daily or daily_limit(tier)
    return Policy(
        name=f"hubspot-{tier}-{daily}",
        windows=((scaled(per_10s), TEN_SECOND_WINDOW_MS),),
        daily=daily,
        search_windows=((SEARCH_PER_SECOND, 1000),),
        is_search=lambda request: request.url.path.endswith("/search"),
        is_free=lambda request: request.url.path.startswith("/oauth/v1/token"),
        daily_headers=("X-HubSpot-RateLimit-Daily", "X-HubSpot-RateLimit-Daily-Remaining"),
    )


def hubspot_limiter(account: str, tier: str = "starter", oauth_app: bool = False, daily: int | None = None) -> SharedLimiter:
    """One bucket per HubSpot account, shared by every worker calling it."""
    return shared_limiter(f"hubspot:{account}", hubspot_policy(tier, oauth_app, daily))
