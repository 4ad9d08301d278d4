"""Dataverse webhooks as subscriptions: one service endpoint (contract 8, WebhookKey auth) at the
target URL and one SDK message processing step per message (Create, Update, Delete) and mapped
table, asynchronous and post-operation, as Microsoft's "Register a webhook" describes — through
the Web API, so no admin needs the Plug-in Registration tool."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.base import Connector, ConnectorError, ErrorKind
from connectors.dynamics import odata
from connectors.dynamics import webhooks as hooks
from connectors.subscriptions import Subscription, Wanted

MESSAGES = ("Create", "Update", "Delete")
AUTH_WEBHOOK_KEY = 4
STAGE_POST_OPERATION = 40
MODE_ASYNCHRONOUS = 1


class StepRegistrar:
    def __init__(self, connector: Connector, credentials: Mapping[str, Any]):
        self.connector = connector
        self.http = connector.http  # type: ignore[attr-defined]
        self.key = str(credentials.get("webhook_key") or "")

    def _get(self, path: str, filter_: str) -> list[dict[str, Any]]:
        return self.http.request("GET", path, params={"$filter": filter_}).json().get("value", [])

    def _endpoints(self, target: str) -> list[dict[str, Any]]:
        return [e for e in self._get("serviceendpoints", f"url eq {odata.quote(target)}") if e.get("url") == target]

    def _steps(self, endpoint_id: str) -> list[dict[str, Any]]:
        return self._get("sdkmessageprocessingsteps", f"_eventhandler_value eq {endpoint_id}")

    def list(self, target: str) -> list[Subscription]:
        names = {v: k for k, v in self._message_ids().items()}
        filters = {
            f["sdkmessagefilterid"]: f["primaryobjecttypecode"]
            for f in self._get("sdkmessagefilters", "iscustomprocessingstepallowed eq true")
        }
        subs = []
        for endpoint in self._endpoints(target):
            for step in self._steps(endpoint["serviceendpointid"]):
                message = names.get(step.get("_sdkmessageid_value"), "?")
                table = filters.get(step.get("_sdkmessagefilterid_value"), "?")
                subs.append(
                    Subscription(
                        step["sdkmessageprocessingstepid"], f"{message} of {table}", target, step.get("statecode", 0) == 0
                    )
                )
        return subs

    def ensure(self, target: str, wanted: Wanted) -> list[Subscription]:
        if not self.key:
            raise ConnectorError(
                "The Dynamics connection has no webhook key to register its service endpoint with", ErrorKind.CONFIG
            )
        endpoints = self._endpoints(target)
        endpoint_id = endpoints[0]["serviceendpointid"] if endpoints else self._create_endpoint(target)
        have = {s.event for s in self.list(target)}
        message_ids = self._message_ids()
        for object_type in wanted.object_types:
            table = self.connector._table(object_type).logical  # type: ignore[attr-defined]
            for message in MESSAGES:
                if f"{message} of {table}" in have:
                    continue
                filter_id = self._filter_id(message_ids[message], table)
                self.http.request(
                    "POST",
                    "sdkmessageprocessingsteps",
                    idempotent=False,
                    json={
                        "name": f"SyncSmart: {message} of {table}",
                        "stage": STAGE_POST_OPERATION,
                        "mode": MODE_ASYNCHRONOUS,
                        "rank": 1,
                        "supporteddeployment": 0,
                        "sdkmessageid@odata.bind": f"/sdkmessages({message_ids[message]})",
                        "sdkmessagefilterid@odata.bind": f"/sdkmessagefilters({filter_id})",
                        "eventhandler_serviceendpoint@odata.bind": f"/serviceendpoints({endpoint_id})",
                    },
                )
        return self.list(target)

    def remove(self, target: str) -> int:
        removed = 0
        for endpoint in self._endpoints(target):
            for step in self._steps(endpoint["serviceendpointid"]):
                self.http.request(
                    "DELETE", f"sdkmessageprocessingsteps({step['sdkmessageprocessingstepid']})", ok_statuses=(404,)
                )
                removed += 1
            self.http.request("DELETE", f"serviceendpoints({endpoint['serviceendpointid']})", ok_statuses=(404,))
        return removed

    def _create_endpoint(self, target: str) -> str:
        response = self.http.request(
            "POST",
            "serviceendpoints",
            idempotent=False,
            json={
                "name": "SyncSmart",
                "url": target,
                "contract": hooks.WEBHOOK_CONTRACT,
                "authtype": AUTH_WEBHOOK_KEY,
                "authvalue": self.key,
            },
        )
        entity_id = response.headers.get("OData-EntityId", "")
        return entity_id.rsplit("(", 1)[-1].rstrip(")")

    def _message_ids(self) -> dict[str, str]:
        rows = self._get("sdkmessages", " or ".join(f"name eq {odata.quote(m)}" for m in MESSAGES))
        return {r["name"]: r["sdkmessageid"] for r in rows}

    def _filter_id(self, message_id: str, table: str) -> str:
        rows = self._get(
            "sdkmessagefilters", f"_sdkmessageid_value eq {message_id} and primaryobjecttypecode eq {odata.quote(table)}"
        )
        if not rows:
            raise ConnectorError(f"Dataverse offers no {table} filter for that message", ErrorKind.CONFIG)
        return rows[0]["sdkmessagefilterid"]
