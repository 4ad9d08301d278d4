"""HubSpot emulator behaviour from the published reference that the client-library and schema
tests do not reach: limits per kind of app, the associations batch exemption, property type
validation, owners' archived flag and paging."""

from __future__ import annotations

import httpx
import pytest

from connectors.hubspot.emulator import DEFAULT_TOKEN, HubSpotEmulator


def client(emulator: HubSpotEmulator, token: str = DEFAULT_TOKEN) -> httpx.Client:
    return httpx.Client(
        transport=emulator.transport(), base_url="http://hubspot.invalid", headers={"Authorization": f"Bearer {token}"}
    )


def test_private_apps_get_100_per_10_seconds_and_the_daily_headers():
    emulator = HubSpotEmulator()
    answer = client(emulator).get("/crm/v3/objects/contacts")
    assert answer.headers["X-HubSpot-RateLimit-Max"] == "100"
    assert answer.headers["X-HubSpot-RateLimit-Daily"] == "250000"


def test_oauth_apps_get_110_per_10_seconds_no_daily_limit_and_no_daily_headers():
    emulator = HubSpotEmulator(daily=1)
    oauth = client(emulator, emulator.issue_oauth_tokens()["access_token"])
    answers = [oauth.get("/crm/v3/objects/contacts") for _ in range(111)]
    assert [a.status_code for a in answers[:110]] == [200] * 110  # the daily limit of 1 does not apply
    assert answers[110].status_code == 429 and answers[110].json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert answers[0].headers["X-HubSpot-RateLimit-Max"] == "110"
    assert "X-HubSpot-RateLimit-Daily" not in answers[0].headers
    assert "X-HubSpot-RateLimit-Daily-Remaining" not in answers[0].headers


def test_associations_v4_batch_endpoints_are_exempt_from_the_ten_second_limit():
    emulator = HubSpotEmulator(per_10s=2)
    contact = emulator.create_record("contacts", {"email": "a@example.com"})
    http = client(emulator)
    batch = [
        http.post("/crm/v4/associations/contacts/companies/batch/read", json={"inputs": [{"id": str(contact)}]}) for _ in range(5)
    ]
    assert {a.status_code for a in batch} == {200}
    assert [http.get("/crm/v3/objects/contacts").status_code for _ in range(3)] == [200, 200, 429]


@pytest.mark.parametrize(
    "body",
    [
        {"type": "text", "fieldType": "text"},  # not a HubSpot property type
        {"type": "number", "fieldType": "select"},  # a field type the type does not take
        {"type": "enumeration", "fieldType": "select", "options": [{"label": "A"}]},  # option without value
    ],
)
def test_property_create_refuses_types_hubspot_does_not_document(body):
    answer = client(HubSpotEmulator()).post(
        "/crm/v3/properties/contacts", json={"name": "x_prop", "label": "X", "groupName": "contactinformation", **body}
    )
    assert answer.status_code == 400 and answer.json()["category"] == "VALIDATION_ERROR"


def test_property_create_answers_201_with_a_location():
    answer = client(HubSpotEmulator()).post(
        "/crm/v3/properties/companies",
        json={"name": "vip", "label": "VIP", "type": "bool", "fieldType": "booleancheckbox", "groupName": "companyinformation"},
    )
    assert answer.status_code == 201 and answer.headers["Location"] == "/crm/v3/properties/companies/vip"


def test_archived_owners_are_listed_and_found_only_with_archived_true():
    emulator = HubSpotEmulator()
    owner = emulator.add_owner("gone@example.com", "Gone", "Away")
    emulator.archive_owner(owner)
    http = client(emulator)
    assert owner not in [o["id"] for o in http.get("/crm/v3/owners").json()["results"]]
    assert [o["id"] for o in http.get("/crm/v3/owners", params={"archived": "true"}).json()["results"]] == [owner]
    assert http.get(f"/crm/v3/owners/{owner}").status_code == 404
    assert http.get(f"/crm/v3/owners/{owner}", params={"archived": "true"}).json()["archived"] is True
    assert http.get(f"/crm/v3/owners/{owner}", params={"idProperty": "email"}).status_code == 400


def test_owners_page_with_limit_and_after():
    emulator = HubSpotEmulator()
    ids = [emulator.add_owner(f"o{n}@example.com") for n in range(5)]
    http = client(emulator)
    seen, after = [], None
    while True:
        page = http.get("/crm/v3/owners", params={"limit": 2, **({"after": after} if after else {})}).json()
        seen += [o["id"] for o in page["results"]]
        if "paging" not in page:
            break
        after = page["paging"]["next"]["after"]
    assert seen == ids


@pytest.mark.parametrize("params", [{"limit": "abc"}, {"after": "abc"}, {"limit": "0"}])
def test_associations_v4_paging_parameters_are_checked(params):
    emulator = HubSpotEmulator()
    contact = emulator.create_record("contacts", {"email": "p@example.com"})
    answer = client(emulator).get(f"/crm/v4/objects/contacts/{contact}/associations/companies", params=params)
    assert answer.status_code == 400 and answer.json()["category"] == "VALIDATION_ERROR"
