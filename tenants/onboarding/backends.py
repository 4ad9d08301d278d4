"""social-auth's HubSpot backend, with its one hard-coded URL made a setting.

social_core.backends.hubspot.HubSpotOAuth2 reads AUTHORIZATION_URL and ACCESS_TOKEN_URL from settings
but fetches the token's metadata (portal id, hub domain, user) from a fixed api.hubapi.com address.
The demo and the tests point all three at the HubSpot emulator, so this subclass reads
SOCIAL_AUTH_HUBSPOT_USER_DATA_URL too. Everything else is social-auth's.
"""

from __future__ import annotations

from typing import Any

from social_core.backends.hubspot import HubSpotOAuth2


class HubSpotInstallOAuth2(HubSpotOAuth2):
    name = "hubspot"

    def user_data(self, access_token: str, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        base = self.setting("USER_DATA_URL", self.USER_DATA_URL)
        response = self.get_json(base + access_token, headers={"Authorization": f"Bearer {access_token}"})
        if response and response.get("hub_id") not in (None, "") and response.get("user_id") not in (None, ""):
            response["hubspot_identity"] = f"{response['hub_id']}:{response['user_id']}"
        return response
