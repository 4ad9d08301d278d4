"""ConnectWise emulator behaviour from the developer guide and from what clients send: every
route with or without a trailing slash, API version negotiation, custom fields listed per
screen."""

from __future__ import annotations

import httpx
import pytest

from connectors.connectwise import API_PATH
from connectors.connectwise.emulator import DEMO_CLIENT_ID, DEMO_COMPANY, DEMO_PRIVATE_KEY, DEMO_PUBLIC_KEY, ConnectWiseEmulator


@pytest.fixture
def emulator() -> ConnectWiseEmulator:
    emulator = ConnectWiseEmulator(limits=False)
    company = emulator.add_company("Slash Co", "SlashCo")
    emulator.add_contact("Sam", "Slash", company_id=company["id"], email="sam@slash.example")
    return emulator


def client(emulator: ConnectWiseEmulator, accept: str = "application/json") -> httpx.Client:
    return httpx.Client(
        transport=emulator.transport(),
        base_url="http://connectwise.invalid" + API_PATH,
        auth=httpx.BasicAuth(f"{DEMO_COMPANY}+{DEMO_PUBLIC_KEY}", DEMO_PRIVATE_KEY),
        headers={"clientId": DEMO_CLIENT_ID, "Accept": accept},
    )


@pytest.mark.parametrize(
    "method, path, body, status",
    [
        ("GET", "/company/companies/", None, 200),
        ("GET", "/company/companies/count/", None, 200),
        ("GET", "/company/companies/1/", None, 200),
        ("PATCH", "/company/companies/1/", [{"op": "replace", "path": "city", "value": "Tampa"}], 200),
        ("GET", "/company/contacts/", None, 200),
        ("GET", "/sales/stages/", None, 200),
        ("GET", "/system/info/", None, 200),
        ("POST", "/system/callbacks/", {"url": "https://x.example/hook", "type": "company"}, 201),
        ("POST", "/company/companies/", {"identifier": "Slash2", "name": "Slash Two"}, 201),
        ("DELETE", "/company/contacts/1/", None, 204),
    ],
)
def test_every_route_answers_with_a_trailing_slash(emulator, method, path, body, status):
    answer = client(emulator).request(method, path, json=body)
    assert answer.status_code == status, answer.text
    assert client(emulator).get("/company/companies").status_code == 200  # and without one


def test_a_trailing_slash_does_not_open_unknown_paths(emulator):
    assert client(emulator).get("/company/nothing/").status_code == 404


@pytest.mark.parametrize("accept", ["application/vnd.connectwise.com+json; version=2022.1", "application/json, */*"])
def test_a_supported_or_absent_version_is_answered(emulator, accept):
    assert client(emulator, accept).get("/company/companies").status_code == 200


@pytest.mark.parametrize(
    "accept", ["application/vnd.connectwise.com+json; version=3.0.0", "application/vnd.connectwise.com+json; version=2018.6"]
)
def test_retired_versions_are_refused_in_connectwise_error_shape(emulator, accept):
    answer = client(emulator, accept).get("/company/companies")
    assert answer.status_code == 400
    assert answer.json()["code"] == "InvalidObject" and "no longer supported" in answer.json()["message"]


def test_records_list_every_custom_field_of_their_screen_null_when_unset(emulator):
    [company] = client(emulator).get("/company/companies", params={"conditions": 'identifier="SlashCo"'}).json()
    captions = {cf["caption"]: cf["value"] for cf in company["customFields"]}
    assert captions == {"Industry Segment": None, "Employees (estimate)": None}
