"""The HubSpot emulator's webhooks v3 management API: an app's settings and event subscriptions,
and the delivery of events to them.

After HubSpot's published webhooks v3 reference (developers.hubspot.com/docs/api/webhooks and
"Webhooks API" → settings / subscriptions):

- GET / PUT / DELETE /webhooks/v3/{appId}/settings — the app's one target URL and throttling
  ({targetUrl, throttling: {maxConcurrentRequests, period}, createdAt, updatedAt});
- GET / POST /webhooks/v3/{appId}/subscriptions — the app's event subscriptions
  ({id, eventType, propertyName?, active, createdAt, updatedAt}; propertyChange needs a
  propertyName; a duplicate subscription is a 400);
- GET / PATCH / DELETE /webhooks/v3/{appId}/subscriptions/{subscriptionId};
- POST /webhooks/v3/{appId}/subscriptions/batch/update {inputs: [{id, active}]} — the batch answer
  {status: COMPLETE, results, startedAt, completedAt};
- authentication with the app's developer API key (`?hapikey=`) or a developer bearer token; an
  unknown app id is a 404.

Delivery: every event the emulator raises (creation, deletion, propertyChange, merge, restore,
associationChange) goes to the app's target URL when an active subscription of its event type
(and, for propertyChange, its property) exists, signed v3 with the app's client secret and
batched by up to 100, with `subscriptionId` naming the subscription that matched. One app per
emulator, as the emulator is one portal with one installed app.

Not emulated: the newer date-versioned webhooks and journal APIs, throttling (deliveries are not
spaced by maxConcurrentRequests), the 1,000-subscriptions-per-app cap, privacyDeletion events and
conversation / ticket / product event types.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from connectors.emulation import Request, Response, iso, json_response, public
from connectors.hubspot.webhooks import compute_signature_v3

if TYPE_CHECKING:
    from connectors.hubspot.emulator import HubSpotEmulator

DEFAULT_APP_ID = 1234567
DEFAULT_DEVELOPER_KEY = "emulator-developer-api-key"
SUBJECTS = ("contact", "company", "deal")
EVENTS = ("creation", "deletion", "propertyChange", "merge", "restore", "associationChange")
EVENT_TYPES = tuple(f"{s}.{e}" for s in SUBJECTS for e in EVENTS)


@dataclass
class EventSubscription:
    id: int
    event_type: str
    property_name: str | None
    active: bool
    created_at: str
    updated_at: str

    def as_json(self) -> dict[str, Any]:
        body = {
            "id": str(self.id),
            "eventType": self.event_type,
            "active": self.active,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }
        if self.property_name:
            body["propertyName"] = self.property_name
        return body

    def matches(self, event: dict[str, Any]) -> bool:
        if not self.active or event.get("subscriptionType") != self.event_type:
            return False
        return not self.event_type.endswith(".propertyChange") or event.get("propertyName") == self.property_name


class AppWebhooks:
    """One HubSpot app's webhook settings and subscriptions, inside a HubSpot emulator."""

    def __init__(self, emulator: HubSpotEmulator, app_id: int = DEFAULT_APP_ID, developer_key: str = DEFAULT_DEVELOPER_KEY):
        self.emulator = emulator
        self.app_id = app_id
        self.developer_key = developer_key
        self.settings: dict[str, Any] | None = None
        self.subscriptions: dict[int, EventSubscription] = {}
        self.ids = itertools.count(510001)
        self.lock = threading.RLock()

    # --- routes ----------------------------------------------------------------------------------------
    def setup_routes(self) -> None:
        base = r"/webhooks/v3/(?P<app>[^/]+)"
        handlers = [
            ("GET", "/settings", self.get_settings, "webhooks/settings"),
            ("PUT", "/settings", self.put_settings, "webhooks/settings"),
            ("DELETE", "/settings", self.delete_settings, "webhooks/settings"),
            ("GET", "/subscriptions", self.list_subscriptions, "webhooks/subscriptions"),
            ("POST", "/subscriptions", self.create_subscription, "webhooks/subscriptions"),
            ("POST", "/subscriptions/batch/update", self.batch_update, "webhooks/subscriptions/batch"),
            ("GET", r"/subscriptions/(?P<sid>\d+)", self.get_subscription, "webhooks/subscription"),
            ("PATCH", r"/subscriptions/(?P<sid>\d+)", self.update_subscription, "webhooks/subscription"),
            ("DELETE", r"/subscriptions/(?P<sid>\d+)", self.delete_subscription, "webhooks/subscription"),
        ]
        # The batch route must be tried before the {subscriptionId} one; routes match in order.
        for method, path, handler, name in handlers:
            self.emulator.route(method, base + path, public(self._guarded(handler)), name=name)

    def _guarded(self, handler):
        """Developer-key authentication and the app-id check, then the handler."""

        def guarded(request: Request) -> Response:
            if not self._authorised(request):
                return self.emulator.error(
                    401,
                    "Authentication credentials not found: use the app's developer API key (hapikey).",
                )
            if request.params.get("app") != str(self.app_id):
                return self.emulator.error(404, f"No app with id {request.params.get('app')}", category="OBJECT_NOT_FOUND")
            try:
                body = request.json() if request.body else None
            except ValueError:
                return self.emulator.error(400, "Invalid input JSON on line 1, column 1")
            with self.lock:
                return handler(request, body)

        return guarded

    def _authorised(self, request: Request) -> bool:
        if request.arg("hapikey") == self.developer_key:
            return True
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and token == self.developer_key

    def _now(self) -> str:
        return iso(dt.datetime.fromtimestamp(self.emulator.now_ms() / 1000, dt.UTC))

    # --- settings --------------------------------------------------------------------------------------
    def get_settings(self, request: Request, body: Any) -> Response:
        if self.settings is None:
            return self.emulator.error(404, "No webhook settings exist for this app.", category="OBJECT_NOT_FOUND")
        return json_response(self.settings)

    def put_settings(self, request: Request, body: Any) -> Response:
        target = (body or {}).get("targetUrl") if isinstance(body, dict) else None
        if not isinstance(target, str) or not target.startswith(("http://", "https://")):
            return self.emulator.error(400, "targetUrl must be an absolute http(s) URL.", category="VALIDATION_ERROR")
        throttling = body.get("throttling") or {}
        if not isinstance(throttling, dict):
            return self.emulator.error(400, "throttling must be an object.", category="VALIDATION_ERROR")
        now = self._now()
        self.settings = {
            "targetUrl": target,
            "throttling": {
                "maxConcurrentRequests": int(throttling.get("maxConcurrentRequests") or 10),
                "period": str(throttling.get("period") or "SECONDLY"),
            },
            "createdAt": (self.settings or {}).get("createdAt", now),
            "updatedAt": now,
        }
        return json_response(self.settings)

    def delete_settings(self, request: Request, body: Any) -> Response:
        self.settings = None
        return Response(204)

    # --- subscriptions ---------------------------------------------------------------------------------
    def list_subscriptions(self, request: Request, body: Any) -> Response:
        return json_response({"results": [s.as_json() for s in sorted(self.subscriptions.values(), key=lambda s: s.id)]})

    def create_subscription(self, request: Request, body: Any) -> Response:
        if not isinstance(body, dict):
            return self.emulator.error(400, "The body must be a subscription object.", category="VALIDATION_ERROR")
        event_type, prop = body.get("eventType"), body.get("propertyName") or None
        if event_type not in EVENT_TYPES:
            return self.emulator.error(
                400, f"Unsupported eventType {event_type!r}; use one of {', '.join(EVENT_TYPES)}.", category="VALIDATION_ERROR"
            )
        if event_type.endswith(".propertyChange") and not prop:
            return self.emulator.error(400, "propertyChange subscriptions need a propertyName.", category="VALIDATION_ERROR")
        if not event_type.endswith(".propertyChange"):
            prop = None
        if any(s.event_type == event_type and s.property_name == prop for s in self.subscriptions.values()):
            return self.emulator.error(
                400, "A subscription for this event type and property already exists.", category="VALIDATION_ERROR"
            )
        now = self._now()
        sub = EventSubscription(next(self.ids), event_type, prop, bool(body.get("active", True)), now, now)
        self.subscriptions[sub.id] = sub
        return json_response(sub.as_json(), 201)

    def _subscription(self, request: Request) -> EventSubscription | None:
        return self.subscriptions.get(int(request.params["sid"]))

    def get_subscription(self, request: Request, body: Any) -> Response:
        sub = self._subscription(request)
        return json_response(sub.as_json()) if sub else self._missing(request)

    def update_subscription(self, request: Request, body: Any) -> Response:
        sub = self._subscription(request)
        if sub is None:
            return self._missing(request)
        if not isinstance(body, dict) or not isinstance(body.get("active"), bool):
            return self.emulator.error(400, "active (true or false) is required.", category="VALIDATION_ERROR")
        sub.active, sub.updated_at = body["active"], self._now()
        return json_response(sub.as_json())

    def delete_subscription(self, request: Request, body: Any) -> Response:
        if self.subscriptions.pop(int(request.params["sid"]), None) is None:
            return self._missing(request)
        return Response(204)

    def batch_update(self, request: Request, body: Any) -> Response:
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list):
            return self.emulator.error(400, "inputs is required.", category="VALIDATION_ERROR")
        started, results, errors = self._now(), [], []
        for item in inputs:
            sub = self.subscriptions.get(_int(item.get("id") if isinstance(item, dict) else None))
            if sub is None or not isinstance(item.get("active"), bool):
                errors.append({"status": "error", "category": "OBJECT_NOT_FOUND", "message": f"No subscription {item!r}"})
                continue
            sub.active, sub.updated_at = item["active"], self._now()
            results.append(sub.as_json())
        answer = {"status": "COMPLETE", "results": results, "startedAt": started, "completedAt": self._now()}
        if errors:
            answer |= {"errors": errors, "numErrors": len(errors)}
        return json_response(answer, 207 if errors else 200)

    def _missing(self, request: Request) -> Response:
        return self.emulator.error(404, f"No subscription {request.params['sid']}", category="OBJECT_NOT_FOUND")

    # --- delivery --------------------------------------------------------------------------------------
    def has_target(self) -> bool:
        with self.lock:
            return bool(self.settings) and any(s.active for s in self.subscriptions.values())

    def deliveries(self, events: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]] | None:
        """(target URL, the events some active subscription wants, stamped with its id), or None."""
        with self.lock:
            if not self.settings:
                return None
            subs = [s for s in self.subscriptions.values() if s.active]
            target = self.settings["targetUrl"]
        chosen = []
        for event in events:
            sub = next((s for s in subs if s.matches(event)), None)
            if sub is not None:
                chosen.append(event | {"subscriptionId": sub.id, "appId": self.app_id})
        return (target, chosen) if chosen else None

    def send(self, events: list[dict[str, Any]], change_source: str | None = None) -> None:
        wanted = self.deliveries(events)
        if wanted is None:
            return
        target, chosen = wanted
        if change_source:
            chosen = [e | {"changeSource": change_source} for e in chosen]
        for start in range(0, len(chosen), 100):
            body = json.dumps(chosen[start : start + 100]).encode()
            timestamp = str(self.emulator.now_ms())
            headers = {
                "Content-Type": "application/json",
                "X-HubSpot-Request-Timestamp": timestamp,
                "X-HubSpot-Signature-Version": "v3",
                "X-HubSpot-Signature-v3": compute_signature_v3(self.emulator.client_secret, "POST", target, body, timestamp),
            }
            self.emulator.webhooks.send(target, body, headers)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
