"""Near real time from Salesforce: a Change Data Capture subscriber on the Streaming API (CometD /
Bayeux 1.0 long-polling at `{instance}/cometd/{version}`), as an external client subscribes.

    stream = ChangeEventStream(connector, replay_id=stored_or_minus_1)
    events = stream.poll()          # one /meta/connect: WebhookEvents for the engine's inbox
    store(stream.replay_id)         # resume after a restart with no event lost (within retention)

Each change event becomes one WebhookEvent per record id (CREATE -> created, UPDATE -> updated,
DELETE -> deleted; the replayId is the event id, so a replayed event is stored once). When the
server forgets the client (`403::Unknown client`, e.g. after a restart) the stream hands shakes
again and resubscribes from the last replayId it delivered. Polling by SystemModstamp stays the
fallback: the engine reads the change feed on its schedule whatever the stream does.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

import httpx

from connectors.base import ConnectorError, ErrorKind, WebhookEvent
from connectors.salesforce.connector import SOBJECTS, SalesforceConnector

CHANGE_EVENTS = "/data/ChangeEvents"
CHANGES = {"CREATE": "created", "UPDATE": "updated", "DELETE": "deleted", "UNDELETE": "created"}
POLL_MARGIN_S = 20  # the HTTP timeout of a long poll: the server's advice plus this


class ChangeEventStream:
    def __init__(self, connector: SalesforceConnector, *, channel: str = CHANGE_EVENTS, replay_id: int = -1):
        self.connector = connector
        self.channel = channel
        self.replay_id = replay_id
        self.path = f"/cometd/{connector.api_version}"
        self.client_id: str | None = None
        self.poll_timeout_s = 110.0
        self._next_id = 0

    def _send(self, messages: list[dict[str, Any]], timeout: float = 30.0) -> list[dict[str, Any]]:
        for message in messages:
            self._next_id += 1
            message["id"] = str(self._next_id)
        answer = self.connector.http.request(
            "POST", self.path, json=messages, timeout=httpx.Timeout(timeout, connect=10.0), idempotent=True
        ).json()
        if not isinstance(answer, list):
            raise ConnectorError("The Streaming API answered something that is not a Bayeux message list.", ErrorKind.SERVER)
        return [m for m in answer if isinstance(m, dict)]

    def open(self) -> None:
        """Handshake and subscribe, replaying from `replay_id` (-1: new events only, -2: all retained)."""
        [shake] = [m for m in self._send([self._handshake()]) if m.get("channel") == "/meta/handshake"] or [{}]
        if not shake.get("successful"):
            raise ConnectorError(f"Streaming API handshake refused: {shake.get('error', 'no answer')}", ErrorKind.AUTH)
        self.client_id = shake["clientId"]
        self.poll_timeout_s = float((shake.get("advice") or {}).get("timeout", 110_000)) / 1000
        subscribe = {
            "channel": "/meta/subscribe",
            "clientId": self.client_id,
            "subscription": self.channel,
            "ext": {"replay": {self.channel: self.replay_id}},
        }
        [answer] = [m for m in self._send([subscribe]) if m.get("channel") == "/meta/subscribe"] or [{}]
        if not answer.get("successful") and "replayId" in str(answer.get("error")) and self.replay_id >= 0:
            # Our position is older than the org's retention: take every event it still has (some were lost
            # to retention; the SystemModstamp change feed still reads those records on the next run).
            self.replay_id = -2
            subscribe["ext"] = {"replay": {self.channel: -2}}
            [answer] = [m for m in self._send([subscribe]) if m.get("channel") == "/meta/subscribe"] or [{}]
        if not answer.get("successful"):
            raise ConnectorError(f"Subscribing to {self.channel} was refused: {answer.get('error')}", ErrorKind.CONFIG)

    @staticmethod
    def _handshake() -> dict[str, Any]:
        return {
            "channel": "/meta/handshake",
            "version": "1.0",
            "minimumVersion": "1.0",
            "supportedConnectionTypes": ["long-polling"],
            "ext": {"replay": True},
        }

    def poll(self) -> list[WebhookEvent]:
        """One long poll: the change events that arrived (possibly none, after the server's timeout)."""
        if self.client_id is None:
            self.open()
        connect = {"channel": "/meta/connect", "clientId": self.client_id, "connectionType": "long-polling"}
        messages = self._send([connect], timeout=self.poll_timeout_s + POLL_MARGIN_S)
        meta = next((m for m in messages if m.get("channel") == "/meta/connect"), {})
        events = [e for m in messages if str(m.get("channel", "")).startswith("/data/") for e in self._events(m)]
        if not meta.get("successful") and (meta.get("advice") or {}).get("reconnect") == "handshake":
            self.client_id = None  # forgotten by the server: the next poll hands shakes again from replay_id
        return events

    def close(self) -> None:
        if self.client_id is not None:
            with contextlib.suppress(ConnectorError):  # the server forgets idle clients anyway
                self._send([{"channel": "/meta/disconnect", "clientId": self.client_id}])
            self.client_id = None

    def _events(self, message: dict[str, Any]) -> list[WebhookEvent]:
        data = message.get("data") or {}
        payload = data.get("payload") or {}
        header = payload.get("ChangeEventHeader") or {}
        replay = (data.get("event") or {}).get("replayId")
        if isinstance(replay, int):
            self.replay_id = max(self.replay_id, replay)
        entity = str(header.get("entityName") or "")
        types = _object_types(entity, payload.get("TaskSubtype"))
        if not types:
            return []
        when = header.get("commitTimestamp")
        occurred = dt.datetime.fromtimestamp(when / 1000, dt.UTC) if isinstance(when, (int, float)) else None
        return [
            WebhookEvent(
                object_type=object_type,
                record_id=str(record_id),
                change=CHANGES.get(str(header.get("changeType")), "updated"),
                occurred_at=occurred,
                event_id=f"cdc:{replay}:{record_id}" + ("" if object_type == entity else f":{object_type}"),
                payload={"replayId": replay, "changedFields": list(header.get("changedFields") or [])},
            )
            for record_id in header.get("recordIds") or []
            for object_type in types
        ]


def _object_types(entity: str, subtype: Any) -> list[str]:
    """The object types a change of `entity` may concern: a Task's by its TaskSubtype when the
    event names it (a create does), else every Task type (reading the others finds nothing)."""
    types = [name for name, sobject in SOBJECTS.items() if sobject.sobject == entity]
    if subtype:
        types = [name for name in types if SOBJECTS[name].subtype in ("", subtype)]
    return types
