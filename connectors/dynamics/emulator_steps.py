"""The Dynamics emulator's webhook registration tables: service endpoints, SDK messages, message
filters and SDK message processing steps — what decides which changes a webhook receives.

After Microsoft's "Register a webhook" / "Use webhooks to create external handlers" and the Web
API reference of the tables serviceendpoint, sdkmessage, sdkmessagefilter and
sdkmessageprocessingstep:

- GET serviceendpoints(id), DELETE serviceendpoints(id) (a service endpoint with steps cannot be
  deleted: 400 with the dependency message, as Dataverse refuses it), alongside the emulator's
  existing POST / GET serviceendpoints;
- GET sdkmessages (name eq 'Create' | 'Update' | 'Delete'), GET sdkmessagefilters (per message and
  primaryobjecttypecode, for lead, contact, account and opportunity);
- POST / GET / DELETE sdkmessageprocessingsteps, bound with `sdkmessageid@odata.bind`,
  `sdkmessagefilterid@odata.bind` and `eventhandler_serviceendpoint@odata.bind`; stage 40
  (post-operation) and mode 1 (asynchronous) are what webhooks use; `$filter` on
  `_eventhandler_value` lists an endpoint's steps.

Delivery: a change reaches an endpoint through a step for its message and table. A webhook
registered with the in-process helper `register_webhook` (an admin in the Plug-in Registration
tool) comes with Create and Update steps on the four tables. Delete contexts carry the Target as an
EntityReference and no attributes, as Dataverse sends them.

Not emulated: filtering attributes of Update steps, pre/post images, synchronous steps, other
messages (Assign, SetState...), step configuration, impersonation and secure configuration.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from connectors.dynamics import odata
from connectors.dynamics import webhooks as hooks
from connectors.dynamics.schema_activities import WEBHOOK_ENTITIES
from connectors.emulation import Request, Response, json_response

if TYPE_CHECKING:
    from connectors.dynamics.emulator import DynamicsEmulator

API = "/api/data/v9.2"
MESSAGES = ("Create", "Update", "Delete")
GUID = r"[0-9a-fA-F-]{36}"


def _guid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"syncsmart-emulator:{name}"))


MESSAGE_IDS = {m: _guid(f"sdkmessage:{m}") for m in MESSAGES}
FILTER_IDS = {(m, e): _guid(f"sdkmessagefilter:{m}:{e}") for m in MESSAGES for e in WEBHOOK_ENTITIES}


@dataclass
class Step:
    id: str
    name: str
    message: str
    entity: str
    endpoint_id: str
    stage: int = 40
    mode: int = 1

    def as_json(self) -> dict[str, Any]:
        return {
            "sdkmessageprocessingstepid": self.id,
            "name": self.name,
            "stage": self.stage,
            "mode": self.mode,
            "rank": 1,
            "supporteddeployment": 0,
            "statecode": 0,
            "_sdkmessageid_value": MESSAGE_IDS[self.message],
            "_sdkmessagefilterid_value": FILTER_IDS[(self.message, self.entity)],
            "_eventhandler_value": self.endpoint_id,
        }


class Steps:
    """Which service endpoint hears which message of which table, inside a Dynamics emulator."""

    def __init__(self, emulator: DynamicsEmulator):
        self.emulator = emulator
        self.steps: dict[str, Step] = {}
        self.implicit: set[str] = set()  # endpoints registered by the helper: Create + Update of all four

    def setup_routes(self) -> None:
        """Routes go first: the emulator's generic `/{set}` and `/{set}(key)` routes would take them."""
        before = len(self.emulator.routes)
        route = self.emulator.route
        route("GET", API + rf"/serviceendpoints\((?P<id>{GUID})\)", self._wrap(self.get_endpoint), name="serviceendpoint")
        route("DELETE", API + rf"/serviceendpoints\((?P<id>{GUID})\)", self._wrap(self.delete_endpoint), name="serviceendpoint")
        route("GET", API + r"/sdkmessages", self._wrap(self.list_messages), name="sdkmessages")
        route("GET", API + r"/sdkmessagefilters", self._wrap(self.list_filters), name="sdkmessagefilters")
        route("GET", API + r"/sdkmessageprocessingsteps", self._wrap(self.list_steps), name="sdkmessageprocessingsteps")
        route("POST", API + r"/sdkmessageprocessingsteps", self._wrap(self.create_step), name="sdkmessageprocessingsteps")
        route(
            "DELETE",
            API + rf"/sdkmessageprocessingsteps\((?P<id>{GUID})\)",
            self._wrap(self.delete_step),
            name="sdkmessageprocessingstep",
        )
        mine = self.emulator.routes[before:]
        del self.emulator.routes[before:]
        self.emulator.routes[:0] = mine

    def _wrap(self, handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        def wrapped(request: Request) -> Response:
            try:
                with self.emulator.lock:
                    return handler(request)
            except odata.ODataError as exc:
                return self.emulator.error(400, str(exc), "0x80060888")
            except ValueError as exc:
                return self.emulator.error(400, f"The request is not valid: {exc}", "0x80060891")

        return wrapped

    # --- service endpoints ---------------------------------------------------------------------------
    def _endpoint(self, endpoint_id: str):
        return next((e for e in self.emulator.endpoints if e.id == endpoint_id.lower()), None)

    def get_endpoint(self, request: Request) -> Response:
        endpoint = self._endpoint(request.params["id"])
        if endpoint is None:
            return self._missing("serviceendpoint", request.params["id"])
        return json_response(
            {
                "serviceendpointid": endpoint.id,
                "name": endpoint.name,
                "url": endpoint.url,
                "contract": hooks.WEBHOOK_CONTRACT,
                "authtype": hooks.AUTH_TYPES[endpoint.auth_type],
            }
        )

    def delete_endpoint(self, request: Request) -> Response:
        endpoint = self._endpoint(request.params["id"])
        if endpoint is None:
            return self._missing("serviceendpoint", request.params["id"])
        if any(s.endpoint_id == endpoint.id for s in self.steps.values()):
            return self.emulator.error(
                400,
                "The object you tried to delete is associated with another object and cannot be deleted.",
                "0x8004f01f",
            )
        self.emulator.endpoints.remove(endpoint)
        self.implicit.discard(endpoint.id)
        return Response(204)

    # --- messages and filters ----------------------------------------------------------------------
    def list_messages(self, request: Request) -> Response:
        rows = [{"sdkmessageid": MESSAGE_IDS[m], "name": m} for m in MESSAGES]
        return self._collection(request, "sdkmessages", rows)

    def list_filters(self, request: Request) -> Response:
        rows = [
            {
                "sdkmessagefilterid": filter_id,
                "primaryobjecttypecode": entity,
                "_sdkmessageid_value": MESSAGE_IDS[message],
                "iscustomprocessingstepallowed": True,
            }
            for (message, entity), filter_id in FILTER_IDS.items()
        ]
        return self._collection(request, "sdkmessagefilters", rows)

    # --- steps -----------------------------------------------------------------------------------------
    def list_steps(self, request: Request) -> Response:
        return self._collection(request, "sdkmessageprocessingsteps", [s.as_json() for s in self.steps.values()])

    def create_step(self, request: Request) -> Response:
        body = request.json() or {}
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        message = _bound(body, "sdkmessageid", "sdkmessages", {v: k for k, v in MESSAGE_IDS.items()})
        filter_key = _bound(body, "sdkmessagefilterid", "sdkmessagefilters", {v: k for k, v in FILTER_IDS.items()})
        endpoint_id = _bind_id(body.get("eventhandler_serviceendpoint@odata.bind"), "serviceendpoints")
        if message is None or filter_key is None or endpoint_id is None or self._endpoint(endpoint_id) is None:
            return self.emulator.error(
                400,
                "A step needs sdkmessageid@odata.bind, sdkmessagefilterid@odata.bind and "
                "eventhandler_serviceendpoint@odata.bind naming existing rows.",
                "0x80040203",
            )
        if filter_key[0] != message:
            return self.emulator.error(400, "The message filter does not belong to the step's message.", "0x80040203")
        if int(body.get("mode", 1)) != 1 or int(body.get("stage", 40)) != 40:
            return self.emulator.error(
                400, "Webhook steps must be asynchronous (mode 1) post-operation (stage 40).", "0x80040203"
            )
        step = Step(
            str(uuid.uuid4()), str(body.get("name") or f"{message} of {filter_key[1]}"), message, filter_key[1], endpoint_id
        )
        self.steps[step.id] = step
        return Response(204, None, {"OData-EntityId": f"{self.emulator._api_root(request)}/sdkmessageprocessingsteps({step.id})"})

    def delete_step(self, request: Request) -> Response:
        if self.steps.pop(request.params["id"].lower(), None) is None:
            return self._missing("sdkmessageprocessingstep", request.params["id"])
        return Response(204)

    # --- delivery --------------------------------------------------------------------------------------
    def endpoints_for(self, message: str, logical: str) -> list:
        with self.emulator.lock:
            wanted = {s.endpoint_id for s in self.steps.values() if s.message == message and s.entity == logical}
            if message in ("Create", "Update"):
                wanted |= self.implicit
            return [e for e in self.emulator.endpoints if e.id in wanted]

    def fire_delete(self, logical: str, record_id: str) -> None:
        emulator = self.emulator
        context = hooks.remote_execution_context(
            message="Delete",
            logical_name=logical,
            record_id=record_id,
            attributes={},
            user_id=emulator._current_user or next(iter(emulator.app_user_ids.values())),
            organization_id=emulator.organization_id,
            organization_name=emulator.org_name,
            business_unit_id=emulator.business_unit_id,
            occurred_at=emulator.last_modified,
        )
        # Dataverse passes a Delete's Target as an EntityReference, not an Entity.
        context["InputParameters"] = [
            {
                "key": "Target",
                "value": {
                    "__type": "EntityReference:http://schemas.microsoft.com/xrm/2011/Contracts",
                    "Id": record_id,
                    "KeyAttributes": [],
                    "LogicalName": logical,
                    "Name": None,
                    "RowVersion": None,
                },
            }
        ]
        body = json.dumps(context).encode()
        for endpoint in self.endpoints_for("Delete", logical):
            url, auth_headers = hooks.delivery_url_and_headers(endpoint.url, endpoint.auth_type, endpoint.auth_value)
            emulator.webhook_sender.send(url, body, {**hooks.delivery_headers(context), **auth_headers})

    # --- helpers ---------------------------------------------------------------------------------------
    def _collection(self, request: Request, set_name: str, rows: list[dict[str, Any]]) -> Response:
        text = request.arg("$filter")
        if text:
            node = odata.parse_filter(text)
            rows = [r for r in rows if odata.matches(node, r)]
        return json_response({"@odata.context": f"{self.emulator._api_root(request)}/$metadata#{set_name}", "value": rows})

    def _missing(self, table: str, key: str) -> Response:
        return self.emulator.error(404, f"{table} With Id = {key} Does Not Exist", "0x80040217")


def _bind_id(value: Any, set_name: str) -> str | None:
    match = re.search(rf"{set_name}\(({GUID})\)", str(value or ""))
    return match.group(1).lower() if match else None


def _bound(body: dict[str, Any], nav: str, set_name: str, table: dict[str, Any]) -> Any:
    return table.get(_bind_id(body.get(f"{nav}@odata.bind"), set_name) or "")
