"""connectpyse (a maintained ConnectWise Manage client, on PyPI) against the ConnectWise emulator
on a real port: create / read / count / update (JSON patch) / search with conditions,
childConditions, customFieldConditions, orderBy and fields / page / delete, and the error cases.
connectpyse asks for list URLs with a trailing slash (`/company/companies/`), as ConnectWise allows.

Forward-only paging (`pagination-type: forward-only`, `pageId`, the `Link` header) is not in
connectpyse, so it is driven here with requests, the library connectpyse itself uses."""

from __future__ import annotations

import base64

import pytest
import requests
from connectpyse.company.companies_api import CompaniesAPI
from connectpyse.company.company import Company
from connectpyse.company.contact import Contact
from connectpyse.company.contacts_api import ContactsAPI
from connectpyse.restapi import ApiError
from connectpyse.system.callback import Callback
from connectpyse.system.callbacks_api import CallbacksAPI

from connectors.connectwise import API_PATH
from connectors.connectwise.emulator import DEMO_CLIENT_ID, DEMO_COMPANY, DEMO_PRIVATE_KEY, DEMO_PUBLIC_KEY, ConnectWiseEmulator

ACCEPT = "application/vnd.connectwise.com+json; version=2022.1"


def auth_headers(private_key: str = DEMO_PRIVATE_KEY) -> dict[str, str]:
    token = base64.b64encode(f"{DEMO_COMPANY}+{DEMO_PUBLIC_KEY}:{private_key}".encode()).decode()
    return {"Authorization": f"Basic {token}", "clientId": DEMO_CLIENT_ID, "Accept": ACCEPT}


@pytest.fixture(scope="module")
def served():
    running = ConnectWiseEmulator(limits=False).serve()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def api_url(served) -> str:
    return served.base_url + API_PATH


@pytest.fixture
def companies(api_url) -> CompaniesAPI:
    return CompaniesAPI(url=api_url, auth=auth_headers())


@pytest.fixture
def contacts(api_url) -> ContactsAPI:
    return ContactsAPI(url=api_url, auth=auth_headers())


def new_company(companies: CompaniesAPI, identifier: str, name: str, **fields) -> Company:
    return companies.create_company(Company({"identifier": identifier, "name": name, **fields}))


def test_create_read_update_and_delete_a_company(companies):
    created = new_company(companies, "Acme1", "Acme One", website="acme.example.com")
    assert created.id and created.identifier == "Acme1" and created.status["name"] == "Active"
    read = companies.get_company_by_id(created.id)
    assert read.name == "Acme One" and read._info["lastUpdated"]
    updated = companies.update_company(created.id, "name", "Acme Uno")
    assert updated.name == "Acme Uno"
    both = companies.update_company_multiple_keys(created.id, {"city": "Tampa", "phoneNumber": "555-0100"})
    assert (both.city, both.phoneNumber) == ("Tampa", "555-0100")
    companies.delete_company_by_id(created.id)
    with pytest.raises(ApiError) as caught:
        companies.get_company_by_id(created.id)
    assert "404" in str(caught.value)


def test_search_with_conditions_order_fields_and_count(companies):
    for n in range(4):
        new_company(companies, f"Srch{n}", f"Search Co {n}", city="Denver" if n % 2 else "Austin")
    companies.conditions = 'name like "Search Co*" and city = "Denver"'
    companies.orderBy = "name desc"
    companies.fields = "id,name,city"
    found = list(companies.get_companies())
    assert [c.name for c in found] == ["Search Co 3", "Search Co 1"]
    assert {k for k, v in found[0].__dict__.items() if v is not None} == {"id", "name", "city"}  # partial response
    assert companies.get_companies_count() == 2


def test_pages_with_page_and_page_size(companies):
    for n in range(5):
        new_company(companies, f"Page{n}", f"Paged Co {n}")
    companies.conditions = 'name like "Paged Co*"'
    companies.orderBy = "id"
    companies.pageSize = 2
    seen = []
    for page in (1, 2, 3):
        companies.page = page
        seen += [c.name for c in companies.get_companies()]
    assert seen == [f"Paged Co {n}" for n in range(5)]


def test_contacts_by_child_and_custom_field_conditions(companies, contacts):
    company = new_company(companies, "Kids1", "Kids Co", customFields=[{"id": 1, "value": "Enterprise"}])
    email_type = 1  # the seeded "Email" communication type
    created = contacts.create_contact(
        Contact(
            {
                "firstName": "Grace",
                "lastName": "Hopper",
                "company": {"id": company.id},
                "communicationItems": [{"type": {"id": email_type}, "value": "grace@kids.example.com", "defaultFlag": True}],
            }
        )
    )
    assert created.company["identifier"] == "Kids1"
    contacts.childconditions = 'communicationItems/value = "grace@kids.example.com"'
    assert [c.id for c in contacts.get_contacts()] == [created.id]
    companies.customfieldconditions = 'caption = "Industry Segment" and value = "Enterprise"'
    assert [c.id for c in companies.get_companies()] == [company.id]


def test_validation_errors_and_bad_credentials_are_errors(api_url, companies, contacts):
    with pytest.raises(ApiError) as caught:
        contacts.create_contact(Contact({"lastName": "No first name or company"}))
    assert "400" in str(caught.value) and "InvalidObject" in str(caught.value)
    new_company(companies, "Dupe1", "Dupe")
    with pytest.raises(ApiError) as duplicate:
        new_company(companies, "Dupe1", "Dupe again")
    assert "already in use" in str(duplicate.value)
    stranger = CompaniesAPI(url=api_url, auth=auth_headers(private_key="wrong"))
    with pytest.raises(ApiError) as refused:
        list(stranger.get_companies())
    assert "401" in str(refused.value)


def test_callbacks_are_created_listed_and_deleted(api_url):
    callbacks = CallbacksAPI(url=api_url, auth=auth_headers())
    made = callbacks.create_callback(Callback({"url": "https://syncsmart.example/hook", "type": "contact", "level": "owner"}))
    assert made.id and made.type == "contact"
    assert made.id in [c.id for c in callbacks.get_callbacks()]
    callbacks.delete_callback_by_id(made.id)
    assert made.id not in [c.id for c in callbacks.get_callbacks()]


def test_forward_only_paging_follows_the_link_header(api_url, companies):
    for n in range(5):
        new_company(companies, f"Fwd{n}", f"Forward Co {n}")
    url = f"{api_url}/company/companies/"
    params = {"conditions": 'name like "Forward Co*"', "pageSize": 2}
    names = []
    while url:
        answer = requests.get(url, params=params, headers={**auth_headers(), "pagination-type": "forward-only"})
        assert answer.status_code == 200
        names += [c["name"] for c in answer.json()]
        assert "prev" not in answer.links and "last" not in answer.links
        url, params = answer.links.get("next", {}).get("url"), None
    assert names == [f"Forward Co {n}" for n in range(5)]


@pytest.mark.parametrize(
    "accept, status",
    [
        ("application/vnd.connectwise.com+json; version=2019.1", 200),
        ("application/vnd.connectwise.com+json; version=2099.4", 200),  # newer than the server: its newest
        ("application/vnd.connectwise.com+json; version=3.0.0", 400),  # the retired numbering
        ("application/vnd.connectwise.com+json; version=latest", 400),
        ("application/json", 200),
    ],
)
def test_the_accept_header_negotiates_the_api_version(api_url, accept, status):
    answer = requests.get(f"{api_url}/system/info", headers={**auth_headers(), "Accept": accept})
    assert answer.status_code == status, answer.text
    if status == 400:
        assert answer.json()["code"] == "InvalidObject" and "version" in answer.json()["message"]
