"""Salesforce's published limits, in one place, with where they come from, and the client-side
policy built from them.

Sources (Salesforce developer documentation):
- "REST API Developer Guide > Query" and "Query Options Header": query results come in batches of
  2,000 records by default; `Sforce-Query-Options: batchSize=n` asks for 200 to 2,000.
- "sObject Collections": create / update / delete up to 200 records per call; retrieve up to 2,000 ids.
- "sObject Get Updated": results no more than 30 days back, at most 600,000 ids.
- "API Request Limits and Allocations" (Salesforce Developer Limits and Allocations Quick
  Reference): a rolling 24-hour total of API requests per org — Enterprise Edition 100,000 plus
  1,000 per Salesforce licence (Developer Edition 15,000); beyond it calls fail with 403
  REQUEST_LIMIT_EXCEEDED. Every REST response carries `Sforce-Limit-Info: api-usage=used/max`.
  There is no per-second limit; 25 concurrent long-running (>= 20 s) requests per org.
- "OAuth 2.0 JWT Bearer Flow": the assertion's `aud` is https://login.salesforce.com, or
  https://test.salesforce.com for a sandbox; `exp` at most 3 minutes ahead.
- SOQL: OFFSET at most 2,000; a WHERE clause at most 4,000 characters (100,000 for the whole
  query text); look-ups by IN therefore go in chunks that keep the query short.
"""

from __future__ import annotations

import re

import httpx

from connectors.ratelimit import Policy, shared_limiter

QUERY_BATCH_DEFAULT = 2000
QUERY_BATCH_MIN = 200
QUERY_BATCH_MAX = 2000
COLLECTION_WRITE_MAX = 200
COLLECTION_READ_MAX = 2000
GET_UPDATED_MAX_DAYS = 30
DAILY_REQUESTS_ENTERPRISE = 100_000
DAILY_REQUESTS_DEVELOPER = 15_000
CONCURRENT_LONG_RUNNING = 25
QUERY_TEXT_MAX = 100_000
WHERE_MAX = 4_000
LOGIN_URL = "https://login.salesforce.com"
TEST_URL = "https://test.salesforce.com"
LIMIT_HEADER = "Sforce-Limit-Info"
_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


def api_usage(response: httpx.Response) -> tuple[int, int] | None:
    """(used, max) from a response's Sforce-Limit-Info header, None when absent."""
    m = _USAGE.search(response.headers.get(LIMIT_HEADER, ""))
    return (int(m.group(1)), int(m.group(2))) if m else None


def daily_report(response: httpx.Response) -> tuple[int, int] | None:
    """(the org's allowance, what is left of it) from Sforce-Limit-Info, for the shared store."""
    usage = api_usage(response)
    return (usage[1], max(0, usage[1] - usage[0])) if usage else None


def salesforce_policy(daily: int):
    """No sliding window to respect (Salesforce publishes none), only the org's daily budget
    (`daily`: our share of the allowance the org reported in Sforce-Limit-Info, connectors/salesforce/budget.py).
    OAuth calls do not count."""
    return Policy(
        name=f"salesforce-{daily}",
        windows=((1000, 1000),),  # a generous guard: never more than 1,000 calls a second
        daily=daily,
        is_free=lambda request: request.url.path.startswith("/services/oauth2/"),
        daily_report=daily_report,
    )


def salesforce_limiter(account: str, daily: int):
    """One bucket per org (`account`: its budget key, e.g. 'salesforce:<org id>') and daily budget
    (a new allowance read from the header starts a new policy)."""
    return shared_limiter(account if account.startswith("salesforce:") else f"salesforce:{account}", salesforce_policy(daily))
