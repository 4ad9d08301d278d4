"""Dataverse's published service protection limits, and the client-side policy built from them.

Source: Microsoft Learn, "Service protection API limits" (Dataverse): per user (here: the
application user of the app registration) and per web server, within a sliding 5-minute window,
at most 6,000 requests, 20 minutes of combined execution time, and 52 concurrent requests;
beyond them the Web API answers 429 with Retry-After. Also "Execute batch operations using the
Web API": at most 1,000 requests in one $batch; and "Page results": odata.maxpagesize <= 5,000.
"""

from __future__ import annotations

from connectors.ratelimit import Policy, scaled, shared_limiter

REQUESTS_PER_WINDOW = 6000
WINDOW_SECONDS = 300
MAX_CONCURRENT = 52
EXECUTION_TIME_SECONDS = 20 * 60  # combined execution time per window (not enforced by the emulator)
MAX_BATCH_OPERATIONS = 1000
MAX_PAGE_SIZE = 5000


def dynamics_policy(daily: int | None = None):
    """The shared-limiter policy: the request window, a little under the published number, and
    the org's daily budget (`daily`: our share of its 24-hour entitlement, connectors/dynamics/budget.py)."""
    return Policy(
        name=f"dynamics-{daily}",
        windows=((scaled(REQUESTS_PER_WINDOW), WINDOW_SECONDS * 1000),),
        daily=daily,
        is_free=lambda request: "/oauth2/" in request.url.path,
    )


def dynamics_limiter(org_url: str, client_id: str, daily: int | None = None, account: str | None = None):
    """One bucket per application user (the org and the app that signs in) for the 5-minute window;
    the daily budget (`daily` calls) counted per `account` (the org), shared by every app user."""
    return shared_limiter(f"dynamics:{org_url}:{client_id}", dynamics_policy(daily), daily_key=account)
