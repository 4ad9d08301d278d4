"""Change Data Capture for the Salesforce emulator, delivered the way an external subscriber gets it
from the Streaming API: CometD (Bayeux 1.0) long-polling at `/cometd/{version}`.

Why this path and not the Pub/Sub API (gRPC): CometD is plain HTTP + JSON, which every Salesforce
streaming client speaks (the CometD Java client and EMP Connector, aiosfstream in Python, jsforce),
and which this project's HTTP seam can carry without a gRPC stack. Salesforce documents both for
CDC; the channels, replay ids and event bodies are the same.

What it does, after the Streaming API and Change Data Capture developer guides:
- `/meta/handshake` (clientId, advice {timeout, interval, reconnect}, supportedConnectionTypes
  long-polling, ext {replay: true}), `/meta/subscribe` to `/data/ChangeEvents` (every entity
  selected for CDC) or `/data/{Entity}ChangeEvent`, with `ext.replay` {channel: -1 (new events only),
  -2 (every retained event) or a replayId (events after it)}; `/meta/connect` long-polls until
  events arrive or `advice.timeout` passes; `/meta/unsubscribe`, `/meta/disconnect`; an unknown
  clientId is answered `403::Unknown client` with advice reconnect=handshake; an unknown channel
  `400::The channel you requested to subscribe to does not exist`; a replayId older than retention
  `400::The replayId {n} you provided was invalid`.
- Events: `{"channel", "data": {"schema", "payload": {"ChangeEventHeader": {entityName, recordIds,
  changeType CREATE/UPDATE/DELETE, changeOrigin, transactionKey, sequenceNumber, commitTimestamp,
  commitNumber, commitUser, changedFields, nulledFields, diffFields}, ...changed fields}, "event":
  {"replayId"}}}`: a create carries every non-null field, an update the changed ones, a delete the
  header only. Events are published when the write commits (an allOrNone rollback publishes none).

Not emulated: event retention by time (the newest `retention` events are kept instead of 72 hours),
gap and overflow events, enriched fields, custom channels and PushTopics, the 2,000-client and
daily-delivery allocations, message batching across transactions (one event per record).
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from connectors.emulation import Request, Response, json_response
from connectors.salesforce.schema import CDC_OBJECTS

CHANGE_EVENTS_CHANNEL = "/data/ChangeEvents"
BAYEUX_VERSION = "1.0"


def entity_channel(sobject: str) -> str:
    return f"/data/{sobject}ChangeEvent"


@dataclass
class StreamClient:
    session: str
    subscriptions: dict[str, int] = field(default_factory=dict)  # channel -> last replayId delivered
    last_seen: float = field(default_factory=time.time)


class ChangeDataCapture:
    """The org's change events and its CometD clients. Writes call `publish`; the emulator's lock guards both."""

    def __init__(self, lock: threading.RLock, retention: int = 50_000, poll_timeout_s: float = 110.0):
        self.lock = lock
        self.arrived = threading.Condition(lock)
        self.events: list[dict[str, Any]] = []  # each: {"channel", "data"} with data.event.replayId
        self.next_replay = 1
        self.retention = retention
        self.poll_timeout_s = poll_timeout_s
        self.clients: dict[str, StreamClient] = {}
        self.schema_ids = {name: secrets.token_urlsafe(16) for name in CDC_OBJECTS}
        self.enabled = set(CDC_OBJECTS)

    # --- publishing (the emulator holds the lock) --------------------------------------------------
    def publish(self, sobject: str, change: str, record_id: str, fields: dict[str, Any], user: str, origin: str) -> None:
        if sobject not in self.enabled:
            return
        replay = self.next_replay
        self.next_replay += 1
        header = {
            "entityName": sobject,
            "recordIds": [record_id],
            "changeType": change,
            "changeOrigin": origin,
            "transactionKey": secrets.token_hex(12),
            "sequenceNumber": 1,
            "commitTimestamp": int(time.time() * 1000),
            "commitNumber": replay,
            "commitUser": user,
            "changedFields": sorted(fields) if change == "UPDATE" else [],
            "nulledFields": sorted(k for k, v in fields.items() if v is None) if change == "UPDATE" else [],
            "diffFields": [],
        }
        payload = {"ChangeEventHeader": header} | ({k: v for k, v in fields.items()} if change != "DELETE" else {})
        self.events.append(
            {
                "channel": entity_channel(sobject),
                "data": {"schema": self.schema_ids[sobject], "payload": payload, "event": {"replayId": replay}},
            }
        )
        if len(self.events) > self.retention:
            del self.events[: len(self.events) - self.retention]

    def mark(self) -> int:
        return len(self.events)

    def rollback_to(self, mark: int) -> None:
        """Drop the events of writes that were rolled back (allOrNone): they never committed."""
        del self.events[mark:]
        self.next_replay = (self.events[-1]["data"]["event"]["replayId"] + 1) if self.events else self.next_replay

    def notify(self) -> None:
        self.arrived.notify_all()

    # --- Bayeux ----------------------------------------------------------------------------------------
    def handle(self, request: Request, session: str) -> Response:
        try:
            messages = request.json()
        except ValueError:
            return json_response([{"successful": False, "error": "400::Invalid JSON"}], 400)
        if isinstance(messages, dict):
            messages = [messages]
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
            return json_response([{"successful": False, "error": "400::Bayeux messages must be a JSON array of objects"}], 400)
        out: list[dict[str, Any]] = []
        for message in messages:
            out.extend(self._message(message, session))
        return json_response(out)

    def _message(self, message: dict[str, Any], session: str) -> list[dict[str, Any]]:
        channel = str(message.get("channel") or "")
        reply: dict[str, Any] = {"channel": channel}
        if "id" in message:
            reply["id"] = message["id"]
        if channel == "/meta/handshake":
            return [self._handshake(reply, session)]
        client_id = str(message.get("clientId") or "")
        with self.lock:
            client = self.clients.get(client_id)
        if client is None or client.session != session:
            return [
                reply
                | {
                    "clientId": client_id,
                    "successful": False,
                    "error": "403::Unknown client",
                    "advice": {"reconnect": "handshake"},
                }
            ]
        reply["clientId"] = client_id
        client.last_seen = time.time()
        if channel == "/meta/subscribe":
            return [self._subscribe(reply, client, message)]
        if channel == "/meta/unsubscribe":
            with self.lock:
                client.subscriptions.pop(str(message.get("subscription") or ""), None)
            return [reply | {"subscription": message.get("subscription"), "successful": True}]
        if channel == "/meta/connect":
            return self._connect(reply, client, message)
        if channel == "/meta/disconnect":
            with self.lock:
                self.clients.pop(client_id, None)
            return [reply | {"successful": True}]
        return [reply | {"successful": False, "error": f"400::Unknown channel {channel[:80]}"}]

    def _handshake(self, reply: dict[str, Any], session: str) -> dict[str, Any]:
        client_id = secrets.token_urlsafe(18)
        with self.lock:
            self.clients[client_id] = StreamClient(session)
        return reply | {
            "version": BAYEUX_VERSION,
            "minimumVersion": BAYEUX_VERSION,
            "supportedConnectionTypes": ["long-polling"],
            "clientId": client_id,
            "successful": True,
            "advice": {"interval": 0, "timeout": int(self.poll_timeout_s * 1000), "reconnect": "retry"},
            "ext": {"replay": True, "payload.format": True},
        }

    def _subscribe(self, reply: dict[str, Any], client: StreamClient, message: dict[str, Any]) -> dict[str, Any]:
        subscription = str(message.get("subscription") or "")
        reply["subscription"] = subscription
        known = subscription == CHANGE_EVENTS_CHANNEL or any(subscription == entity_channel(n) for n in self.enabled)
        if not known:
            return reply | {
                "successful": False,
                "error": f"400::The channel you requested to subscribe to does not exist {{{subscription}}}",
            }
        replay = ((message.get("ext") or {}).get("replay") or {}).get(subscription, -1)
        with self.lock:
            oldest = self.events[0]["data"]["event"]["replayId"] if self.events else self.next_replay
            if replay == -1:
                start = self.next_replay - 1
            elif replay == -2:
                start = oldest - 1
            elif isinstance(replay, int) and oldest - 1 <= replay < self.next_replay:
                start = replay
            else:
                return reply | {"successful": False, "error": f"400::The replayId {{{replay}}} you provided was invalid"}
            client.subscriptions[subscription] = start
        return reply | {"successful": True}

    def _pending(self, client: StreamClient) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for subscription, after in client.subscriptions.items():
            for event in self.events:
                replay = event["data"]["event"]["replayId"]
                if replay > after and (subscription == CHANGE_EVENTS_CHANNEL or event["channel"] == subscription):
                    out.append((subscription, event))
        return out

    def _connect(self, reply: dict[str, Any], client: StreamClient, message: dict[str, Any]) -> list[dict[str, Any]]:
        deadline = time.monotonic() + self.poll_timeout_s
        with self.lock:
            while True:
                pending = self._pending(client)
                remaining = deadline - time.monotonic()
                if pending or remaining <= 0 or not client.subscriptions:
                    break
                self.arrived.wait(timeout=min(remaining, 1.0))
            delivered = []
            for subscription, event in pending:
                client.subscriptions[subscription] = max(client.subscriptions[subscription], event["data"]["event"]["replayId"])
                delivered.append({"channel": event["channel"], "data": event["data"]})
        advice = {"interval": 0, "timeout": int(self.poll_timeout_s * 1000), "reconnect": "retry"}
        return delivered + [reply | {"successful": True, "advice": advice}]
