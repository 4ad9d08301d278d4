"""HubSpot webhook subscriptions through the webhooks v3 API of the product's HubSpot app.

HubSpot webhooks belong to an app, not to a portal: one target URL (`/webhooks/v3/{appId}/settings`)
and one set of event subscriptions (`/webhooks/v3/{appId}/subscriptions`) serve every portal that
installed the app, and each event names its portal (`portalId`). The calls authenticate with the
app's developer API key (`hapikey`), never with a portal's token. The app id comes from the
connection's config `app_id` (the emulator's) or settings.HUBSPOT_APP_ID; the key from its
credentials `developer_api_key` or settings.HUBSPOT_DEVELOPER_API_KEY.

Events subscribed per object type: creation, deletion, merge, restore, associationChange, and
propertyChange for each wanted property.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings

from connectors.base import Connector, ConnectorError, ErrorKind
from connectors.subscriptions import Subscription, Wanted

SINGULAR = {"contacts": "contact", "companies": "company", "deals": "deal"}
OBJECT_EVENTS = ("creation", "deletion", "merge", "restore", "associationChange")


class AppRegistrar:
    def __init__(self, connector: Connector, config: Mapping[str, Any], credentials: Mapping[str, Any]):
        self.http = connector.http  # type: ignore[attr-defined]
        self.app_id = str(config.get("app_id") or getattr(settings, "HUBSPOT_APP_ID", "") or "")
        self.key = str(credentials.get("developer_api_key") or getattr(settings, "HUBSPOT_DEVELOPER_API_KEY", "") or "")
        if not self.app_id or not self.key:
            raise ConnectorError(
                "HubSpot webhooks need the app id and developer API key (HUBSPOT_APP_ID, HUBSPOT_DEVELOPER_API_KEY)",
                ErrorKind.CONFIG,
            )

    def _call(self, method: str, path: str, **kwargs: Any):
        # The key goes as a query parameter, which VendorHttp never logs (it logs the path only).
        return self.http.request(method, f"/webhooks/v3/{self.app_id}{path}", params={"hapikey": self.key}, auth=None, **kwargs)

    def _target(self) -> str | None:
        try:
            return self._call("GET", "/settings").json().get("targetUrl")
        except ConnectorError as exc:
            if exc.kind == ErrorKind.NOT_FOUND or exc.status == 404:
                return None
            raise

    def _all(self) -> list[dict[str, Any]]:
        return self._call("GET", "/subscriptions").json().get("results", [])

    @staticmethod
    def _as_subscription(item: dict[str, Any], target: str) -> Subscription:
        event = item["eventType"] + (f":{item['propertyName']}" if item.get("propertyName") else "")
        return Subscription(str(item["id"]), event, target, bool(item.get("active")))

    def list(self, target: str) -> list[Subscription]:
        if self._target() != target:
            return []
        return [self._as_subscription(i, target) for i in self._all()]

    def ensure(self, target: str, wanted: Wanted) -> list[Subscription]:
        if self._target() != target:
            self._call(
                "PUT", "/settings", json={"targetUrl": target, "throttling": {"maxConcurrentRequests": 10, "period": "SECONDLY"}}
            )
        have = {(i["eventType"], i.get("propertyName") or None): i for i in self._all()}
        inactive = []
        for event_type, prop in _wanted_events(wanted):
            current = have.get((event_type, prop))
            if current is None:
                body = {"eventType": event_type, "active": True} | ({"propertyName": prop} if prop else {})
                have[(event_type, prop)] = self._call("POST", "/subscriptions", json=body, idempotent=False).json()
            elif not current.get("active"):
                inactive.append(current["id"])
        if inactive:
            self._call(
                "POST",
                "/subscriptions/batch/update",
                json={"inputs": [{"id": int(i), "active": True} for i in inactive]},
                ok_statuses=(207,),
            )
        return self.list(target)

    def remove(self, target: str) -> int:
        if self._target() != target:
            return 0
        subs = self._all()
        for item in subs:
            self._call("DELETE", f"/subscriptions/{int(item['id'])}", ok_statuses=(404,))
        self._call("DELETE", "/settings", ok_statuses=(404,))
        return len(subs)


def _wanted_events(wanted: Wanted) -> list[tuple[str, str | None]]:
    events: list[tuple[str, str | None]] = []
    for object_type in wanted.object_types:
        singular = SINGULAR.get(object_type)
        if singular is None:
            continue
        events += [(f"{singular}.{e}", None) for e in OBJECT_EVENTS]
        events += [(f"{singular}.propertyChange", p) for p in sorted(set(wanted.properties.get(object_type, ())))]
    return events
