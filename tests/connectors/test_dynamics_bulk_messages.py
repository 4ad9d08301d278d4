"""The Dynamics emulator's bulk messages (CreateMultiple / UpdateMultiple / UpsertMultiple) and
its paging cookies, as Microsoft documents them for standard tables."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.connectors.test_dynamics_emulator import api, emulator  # noqa: F401 - fixtures

CONTACT = "Microsoft.Dynamics.CRM.contact"


def bulk(api, set_name: str, message: str, targets: list[dict]):  # noqa: F811
    return api.post(f"/{set_name}/Microsoft.Dynamics.CRM.{message}", json={"Targets": targets})


def test_create_multiple_answers_the_new_ids_in_target_order(api, emulator):  # noqa: F811
    response = bulk(api, "contacts", "CreateMultiple", [{"@odata.type": CONTACT, "lastname": f"Bulk {n}"} for n in range(3)])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@odata.context"].endswith("$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse")
    assert [emulator.record("contacts", i)["lastname"] for i in body["Ids"]] == ["Bulk 0", "Bulk 1", "Bulk 2"]


def test_create_multiple_keeps_ids_the_client_chose(api, emulator):  # noqa: F811
    chosen = str(uuid.uuid4())
    response = bulk(api, "contacts", "CreateMultiple", [{"@odata.type": CONTACT, "contactid": chosen, "lastname": "Mine"}])
    assert response.json()["Ids"] == [chosen]
    again = bulk(api, "contacts", "CreateMultiple", [{"@odata.type": CONTACT, "contactid": chosen, "lastname": "Twice"}])
    assert again.status_code == 412 and "Targets[0]" in again.json()["error"]["message"]
    assert emulator.record("contacts", chosen)["lastname"] == "Mine"


def test_a_failing_target_rolls_back_the_whole_request_and_names_its_index(api, emulator):  # noqa: F811
    before = emulator.count("contacts")
    targets = [
        {"@odata.type": CONTACT, "lastname": "Fine"},
        {"@odata.type": CONTACT, "lastname": "x" * 500},  # longer than lastname's 50 characters
        {"@odata.type": CONTACT, "lastname": "Also fine"},
    ]
    response = bulk(api, "contacts", "CreateMultiple", targets)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "0x80044331" and error["message"].startswith("Targets[1]:")
    assert emulator.count("contacts") == before


def test_update_multiple_updates_and_answers_204_and_never_creates(api, emulator):  # noqa: F811
    first = emulator.create_record("contacts", {"lastname": "One"})
    second = emulator.create_record("contacts", {"lastname": "Two"})
    ok = bulk(
        api,
        "contacts",
        "UpdateMultiple",
        [
            {"@odata.type": CONTACT, "contactid": first, "firstname": "A"},
            {"@odata.type": CONTACT, "contactid": second, "firstname": "B"},
        ],
    )
    assert ok.status_code == 204
    assert (emulator.record("contacts", first)["firstname"], emulator.record("contacts", second)["firstname"]) == ("A", "B")
    missing = str(uuid.uuid4())
    refused = bulk(
        api,
        "contacts",
        "UpdateMultiple",
        [
            {"@odata.type": CONTACT, "contactid": first, "firstname": "C"},
            {"@odata.type": CONTACT, "contactid": missing, "firstname": "D"},
        ],
    )
    assert refused.status_code == 404 and refused.json()["error"]["message"].startswith("Targets[1]:")
    assert emulator.record("contacts", first)["firstname"] == "A"  # rolled back
    assert emulator.record("contacts", missing) is None


def test_update_multiple_refuses_the_same_record_twice(api, emulator):  # noqa: F811
    record = emulator.create_record("contacts", {"lastname": "One"})
    twice = [{"@odata.type": CONTACT, "contactid": record, "firstname": n} for n in ("A", "B")]
    assert bulk(api, "contacts", "UpdateMultiple", twice).status_code == 400


def test_upsert_multiple_creates_missing_rows_and_updates_present_ones_by_id_or_odata_id(api, emulator):  # noqa: F811
    present = emulator.create_record("contacts", {"lastname": "Here"})
    missing = str(uuid.uuid4())
    response = bulk(
        api,
        "contacts",
        "UpsertMultiple",
        [
            {"@odata.type": CONTACT, "@odata.id": f"contacts({present})", "firstname": "Updated"},
            {"@odata.type": CONTACT, "contactid": missing, "lastname": "Created"},
        ],
    )
    assert response.status_code == 204 and not response.content
    assert emulator.record("contacts", present)["firstname"] == "Updated"
    assert emulator.record("contacts", missing)["lastname"] == "Created"


@pytest.mark.parametrize(
    "body",
    [
        {"Targets": []},
        {"Targets": "x"},
        {},
        {"Targets": [{"lastname": "no type"}]},
        {"Targets": [{"@odata.type": "Microsoft.Dynamics.CRM.account"}]},
    ],
)
def test_bulk_messages_refuse_malformed_targets(api, body):  # noqa: F811
    response = api.post("/contacts/Microsoft.Dynamics.CRM.CreateMultiple", json=body)
    assert response.status_code == 400 and response.json()["error"]["message"]


def test_tables_without_bulk_messages_say_so(api):  # noqa: F811
    response = bulk(api, "systemusers", "CreateMultiple", [{"@odata.type": "Microsoft.Dynamics.CRM.systemuser"}])
    assert response.status_code == 400 and "not supported" in response.json()["error"]["message"]


def test_bulk_messages_fire_create_and_update_webhooks_per_record(api, emulator):  # noqa: F811
    fired = []
    emulator._fire = lambda message, logical, record_id: fired.append((message, logical, record_id))
    ids = bulk(api, "contacts", "CreateMultiple", [{"@odata.type": CONTACT, "lastname": n} for n in ("A", "B")]).json()["Ids"]
    bulk(api, "contacts", "UpdateMultiple", [{"@odata.type": CONTACT, "contactid": ids[0], "firstname": "X"}])
    emulator.endpoints.append(object())  # any registered endpoint makes the emulator queue events
    fired.clear()
    bulk(api, "contacts", "UpdateMultiple", [{"@odata.type": CONTACT, "contactid": i, "firstname": "Y"} for i in ids])
    assert fired == [("Update", "contact", ids[0]), ("Update", "contact", ids[1])]


def page_through(api, url: str, page_size: int, between_pages=None) -> tuple[list[str], list[str]]:  # noqa: F811
    ids, links = [], []
    while url:
        response = api.get(url, headers={"Prefer": f"odata.maxpagesize={page_size}"})
        assert response.status_code == 200, response.text
        assert response.headers["Preference-Applied"] == f"odata.maxpagesize={page_size}"
        body = response.json()
        ids += [row["accountid"] for row in body["value"]]
        url = body.get("@odata.nextLink")
        if url:
            links.append(url)
            if between_pages:
                between_pages()
    return ids, links


def test_next_links_carry_a_paging_cookie_with_the_last_rows_key(api, emulator):  # noqa: F811
    for n in range(5):
        emulator.create_record("accounts", {"name": f"Paged {n}"})
    ids, links = page_through(api, "/accounts?$select=name&$orderby=name desc", 2)
    skiptoken = parse_qs(urlsplit(links[0]).query)["$skiptoken"][0]
    assert skiptoken.startswith('<cookie pagenumber="2" pagingcookie="%3Ccookie%20page%3D%221%22%3E%3Cname%20last%3D')
    assert ids[1] in skiptoken
    assert len(ids) == len(set(ids)) == emulator.count("accounts")


def test_rows_added_before_the_position_do_not_shift_later_pages(api, emulator):  # noqa: F811
    """With an offset, a row inserted on an earlier page would push a row onto a page already
    read twice; the paging cookie resumes after the last row read, so every row that existed
    is read once."""
    existing = {emulator.create_record("accounts", {"name": f"Account {n:02d}"}) for n in range(9)}
    ids, _ = page_through(
        api,
        "/accounts?$select=name&$orderby=name",
        3,
        between_pages=lambda: emulator.create_record("accounts", {"name": "AAA new"}),
    )
    assert existing <= set(ids)
    assert len(ids) == len(set(ids))


def test_a_malformed_paging_cookie_is_a_400(api):  # noqa: F811
    response = api.get("/accounts", params={"$skiptoken": '<cookie pagenumber="2" pagingcookie="%3Cnot-xml" />'})
    assert response.status_code == 400


def test_formatted_values_come_with_option_sets_and_lookups(api, emulator):  # noqa: F811
    account = emulator.create_record("accounts", {"name": "Formatted"})
    contact = emulator.create_record("contacts", {"lastname": "F", "parentcustomerid": account})
    row = api.get(
        f"/contacts({contact})?$select=statecode,_parentcustomerid_value",
        headers={"Prefer": 'odata.include-annotations="OData.Community.Display.V1.FormattedValue"'},
    ).json()
    assert row["statecode@OData.Community.Display.V1.FormattedValue"] == "Active"
    assert row["_parentcustomerid_value@OData.Community.Display.V1.FormattedValue"] == "Formatted"


@pytest.mark.parametrize(
    "prefer, params",
    [("odata.maxpagesize=0", {}), ("odata.maxpagesize=-1", {}), ("odata.maxpagesize=abc", {}), ("", {"$top": "-1"})],
)
def test_page_sizes_and_top_below_their_minimum_are_a_400(api, emulator, prefer, params):  # noqa: F811
    emulator.create_record("accounts", {"name": "Any"})
    response = api.get("/accounts", params=params, headers={"Prefer": prefer})
    assert response.status_code == 400 and response.json()["error"]["message"].startswith("Invalid value")
