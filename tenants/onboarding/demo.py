"""Point the installer's HubSpot OAuth at a running HubSpot emulator (the demo runner's web server).

Settings read these variables at start-up (see syncsmart/settings.py), so a runner merges them into
the web server's environment:

    env.update(hubspot_oauth_env(running_hubspot.base_url))
"""

from __future__ import annotations

from connectors.hubspot.emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from connectors.salesforce.emulator import DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET


def hubspot_oauth_env(base_url: str) -> dict[str, str]:
    base = base_url.rstrip("/")
    return {
        "HUBSPOT_CLIENT_ID": DEFAULT_CLIENT_ID,
        "HUBSPOT_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
        "HUBSPOT_API_BASE": base,
        "HUBSPOT_APP_BASE": base,  # the emulator serves the consent page itself
        "HUBSPOT_AUTHORIZATION_URL": base + "/oauth/authorize",
        "HUBSPOT_ACCESS_TOKEN_URL": base + "/oauth/v1/token",
        "HUBSPOT_USER_DATA_URL": base + "/oauth/v1/access-tokens/",
    }


def salesforce_oauth_env(base_url: str) -> dict[str, str]:
    """The installer's "Sign in with Salesforce" pointed at the Salesforce emulator (its consent page)."""
    return {
        "SALESFORCE_CLIENT_ID": DEFAULT_CONSUMER_KEY,
        "SALESFORCE_CLIENT_SECRET": DEFAULT_CONSUMER_SECRET,
        "SALESFORCE_LOGIN_URL": base_url.rstrip("/"),
    }
