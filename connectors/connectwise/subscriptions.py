"""ConnectWise callbacks (`system/callbacks`) as webhook subscriptions: one callback per record type
(company, contact, opportunity, activity) at the owner level, delivering added / updated / deleted."""

from __future__ import annotations

from connectors.base import Connector
from connectors.connectwise import MAX_PAGE_SIZE
from connectors.connectwise import callbacks as cb
from connectors.connectwise.conditions import quote
from connectors.connectwise.connector import ACTIVITY_OBJECT_TYPES
from connectors.subscriptions import Subscription, Wanted

CALLBACK_TYPES = {ours: theirs for theirs, ours in cb.OBJECT_TYPES.items()}  # "companies" -> "company"
CALLBACK_TYPES.update({name: cb.ACTIVITY for name in ACTIVITY_OBJECT_TYPES.values()})  # "call_activities" -> "activity"


class CallbackRegistrar:
    def __init__(self, connector: Connector):
        self.connector = connector

    def _callbacks(self, target: str) -> list[dict]:
        return self.connector._get_all(  # type: ignore[attr-defined]
            "system/callbacks", {"conditions": f"url = {quote(target)}", "pageSize": MAX_PAGE_SIZE}
        )

    def list(self, target: str) -> list[Subscription]:
        return [
            Subscription(str(c["id"]), f"{c.get('type')} callback", target, not c.get("inactiveFlag"))
            for c in self._callbacks(target)
            if c.get("url") == target
        ]

    def ensure(self, target: str, wanted: Wanted) -> list[Subscription]:
        have = {str(s.event).split(" ")[0] for s in self.list(target) if s.active}
        for object_type in wanted.object_types:
            type_ = CALLBACK_TYPES.get(object_type)
            if type_ and type_ not in have:
                body = {"url": target, "type": type_, "level": "owner", "objectId": 1, "description": "SyncSmart"}
                self.connector.http.request("POST", "system/callbacks", json=body, idempotent=False)  # type: ignore[attr-defined]
                have.add(type_)
        return self.list(target)

    def remove(self, target: str) -> int:
        subs = self.list(target)
        for sub in subs:
            self.connector.http.request("DELETE", f"system/callbacks/{int(sub.id)}", ok_statuses=(404,))  # type: ignore[attr-defined]
        return len(subs)
