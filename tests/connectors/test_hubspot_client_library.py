"""HubSpot's official Python client (hubspot-api-client) against the HubSpot emulator on a real
port: create / read / update / search / page / delete / batch / associations / owners /
properties / OAuth, and the error cases. The client deserialises every answer into its generated
models (required fields checked), so a shape the emulator gets wrong fails here."""

from __future__ import annotations

import pytest
from hubspot import Client
from hubspot.crm.associations.v4 import BatchInputPublicDefaultAssociationMultiPost, PublicDefaultAssociationMultiPost
from hubspot.crm.contacts import (
    ApiException,
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchReadInputSimplePublicObjectId,
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
    SimplePublicObjectId,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.lists import ApiException as ListsApiException
from hubspot.crm.lists import ListCreateRequest, ListSearchRequest
from hubspot.crm.properties import OptionInput, PropertyCreate
from hubspot.oauth import ApiException as OAuthApiException

from connectors.hubspot.emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TOKEN, HubSpotEmulator


@pytest.fixture(scope="module")
def served():
    emulator = HubSpotEmulator(limits=False)
    emulator.add_owner("owner@example.com", "Olive", "Owner")
    emulator.add_owner("support@example.com", "Support", "Queue", queue=True)
    running = emulator.serve()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def hubspot(served) -> Client:
    return Client.create(access_token=DEFAULT_TOKEN, host=served.base_url)


def create_contact(hubspot: Client, email: str, **properties: str) -> str:
    created = hubspot.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(properties={"email": email, **properties}, associations=[])
    )
    return created.id


def test_create_read_update_and_archive_a_contact(hubspot):
    record_id = create_contact(hubspot, "ada@example.com", firstname="Ada")
    read = hubspot.crm.contacts.basic_api.get_by_id(record_id, properties=["email", "firstname"])
    assert read.properties["email"] == "ada@example.com" and read.properties["firstname"] == "Ada"
    assert read.created_at and read.updated_at and read.archived is False
    updated = hubspot.crm.contacts.basic_api.update(record_id, SimplePublicObjectInput(properties={"firstname": "Augusta"}))
    assert updated.properties["firstname"] == "Augusta"
    hubspot.crm.contacts.basic_api.archive(record_id)
    with pytest.raises(ApiException) as caught:
        hubspot.crm.contacts.basic_api.get_by_id(record_id)
    assert caught.value.status == 404


def test_pages_of_contacts_follow_paging_next_after(hubspot):
    made = {create_contact(hubspot, f"page{n}@example.com") for n in range(7)}
    seen, after = [], None
    while True:
        page = hubspot.crm.contacts.basic_api.get_page(limit=3, after=after)
        seen += [r.id for r in page.results]
        if page.paging is None:
            break
        after = page.paging.next.after
    assert made <= set(seen) and len(seen) == len(set(seen))


def test_search_by_email_and_by_id_keyset(hubspot):
    record_id = create_contact(hubspot, "search.me@example.com", lastname="Searched")
    for n in range(3):
        create_contact(hubspot, f"keyset{n}@example.com")
    found = hubspot.crm.contacts.search_api.do_search(
        PublicObjectSearchRequest(
            filter_groups=[FilterGroup(filters=[Filter(property_name="email", operator="EQ", value="search.me@example.com")])],
            properties=["email", "lastname"],
            limit=10,
        )
    )
    assert found.total == 1 and found.results[0].id == record_id
    keyset = hubspot.crm.contacts.search_api.do_search(
        PublicObjectSearchRequest(
            filter_groups=[FilterGroup(filters=[Filter(property_name="hs_object_id", operator="GT", value="0")])],
            sorts=["hs_object_id"],
            limit=2,
        )
    )
    assert len(keyset.results) == 2 and keyset.paging.next.after == "2"


def test_batch_create_read_update_and_archive(hubspot):
    created = hubspot.crm.contacts.batch_api.create(
        BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[{"properties": {"email": f"batch{n}@example.com"}, "associations": []} for n in range(3)]
        )
    )
    assert created.status == "COMPLETE" and len(created.results) == 3
    ids = [r.id for r in created.results]
    read = hubspot.crm.contacts.batch_api.read(
        BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=i) for i in ids], properties=["email"], properties_with_history=[]
        )
    )
    assert sorted(r.properties["email"] for r in read.results) == [f"batch{n}@example.com" for n in range(3)]
    updated = hubspot.crm.contacts.batch_api.update(
        BatchInputSimplePublicObjectBatchInput(inputs=[{"id": i, "properties": {"lastname": "Batched"}} for i in ids])
    )
    assert {r.properties["lastname"] for r in updated.results} == {"Batched"}
    hubspot.crm.contacts.batch_api.archive({"inputs": [{"id": i} for i in ids]})
    live = {r.id for r in hubspot.crm.contacts.basic_api.get_page(limit=100).results}
    archived = {r.id for r in hubspot.crm.contacts.basic_api.get_page(limit=100, archived=True).results}
    assert not live & set(ids) and set(ids) <= archived


def test_a_batch_with_a_bad_input_is_a_207_with_per_input_errors(hubspot):
    answer = hubspot.crm.contacts.batch_api.create(
        BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                {"properties": {"email": "good.batch@example.com"}, "associations": []},
                {"properties": {"not_a_property": "x"}, "associations": []},
            ]
        )
    )
    assert answer.num_errors == 1 and answer.errors[0].category == "VALIDATION_ERROR"
    assert len(answer.results) == 1


def test_errors_come_back_as_hubspot_error_bodies(hubspot):
    with pytest.raises(ApiException) as caught:
        hubspot.crm.contacts.basic_api.create(SimplePublicObjectInputForCreate(properties={"lifecyclestage": "nope"}))
    assert caught.value.status == 400 and '"category": "VALIDATION_ERROR"' in caught.value.body
    create_contact(hubspot, "dupe@example.com")
    with pytest.raises(ApiException) as caught:
        create_contact(hubspot, "dupe@example.com")
    assert caught.value.status == 409


def test_associations_v4_default_create_and_page(hubspot):
    contact = create_contact(hubspot, "assoc@example.com")
    companies = [
        hubspot.crm.companies.basic_api.create({"properties": {"name": f"Assoc Co {n}"}, "associations": []}).id for n in range(3)
    ]
    for company in companies:
        made = hubspot.crm.associations.v4.basic_api.create_default("contacts", contact, "companies", company)
        assert made.status == "COMPLETE" and made.started_at and made.completed_at
    first = hubspot.crm.associations.v4.basic_api.get_page("contacts", contact, "companies", limit=2)
    assert len(first.results) == 2 and first.paging.next.after
    rest = hubspot.crm.associations.v4.basic_api.get_page(
        "contacts", contact, "companies", limit=2, after=first.paging.next.after
    )
    assert sorted(str(r.to_object_id) for r in first.results + rest.results) == sorted(companies)
    batch = hubspot.crm.associations.v4.batch_api.create_default(
        "contacts",
        "companies",
        BatchInputPublicDefaultAssociationMultiPost(
            inputs=[PublicDefaultAssociationMultiPost(_from={"id": contact}, to={"id": companies[0]})]
        ),
    )
    assert batch.status == "COMPLETE"


def test_properties_list_create_and_read(hubspot):
    names = {p.name for p in hubspot.crm.properties.core_api.get_all("contacts").results}
    assert {"email", "lifecyclestage", "hubspot_owner_id"} <= names
    created = hubspot.crm.properties.core_api.create(
        "contacts",
        PropertyCreate(
            name="syncsmart_tier",
            label="Tier",
            type="enumeration",
            field_type="select",
            group_name="contactinformation",
            options=[OptionInput(label="Gold", value="gold", display_order=0, hidden=False)],
        ),
    )
    assert created.name == "syncsmart_tier" and created.options[0].value == "gold"
    assert hubspot.crm.properties.core_api.get_by_name("contacts", "syncsmart_tier").label == "Tier"


def test_owners_have_a_type_and_are_found_by_user_id(hubspot):
    owners = hubspot.crm.owners.owners_api.get_page(limit=100).results
    assert {o.type for o in owners} == {"PERSON", "QUEUE"}
    person = next(o for o in owners if o.type == "PERSON")
    assert hubspot.crm.owners.owners_api.get_by_id(person.user_id, id_property="userId").id == person.id
    assert hubspot.crm.owners.owners_api.get_page(archived=True).results == []


def test_oauth_tokens_and_their_metadata(hubspot, served):
    code = served.emulator.authorize_code("https://syncsmart.example/callback")
    tokens = hubspot.oauth.tokens_api.create(
        grant_type="authorization_code",
        code=code,
        redirect_uri="https://syncsmart.example/callback",
        client_id=DEFAULT_CLIENT_ID,
        client_secret=DEFAULT_CLIENT_SECRET,
    )
    assert tokens.access_token and tokens.refresh_token and tokens.expires_in == 1800 and tokens.token_type == "bearer"
    info = hubspot.oauth.access_tokens_api.get(tokens.access_token)
    assert info.hub_id == served.emulator.portal_id and "oauth" in info.scopes
    refresh = hubspot.oauth.refresh_tokens_api.get(tokens.refresh_token)
    assert refresh.client_id == DEFAULT_CLIENT_ID and refresh.user_id and refresh.scopes
    with pytest.raises(OAuthApiException) as caught:
        hubspot.oauth.tokens_api.create(
            grant_type="refresh_token",
            refresh_token="na1-unknown",
            client_id=DEFAULT_CLIENT_ID,
            client_secret=DEFAULT_CLIENT_SECRET,
        )
    assert caught.value.status == 400 and '"category"' in caught.value.body


def test_lists_v3_create_search_fetch_by_name_and_page_memberships(hubspot, served):
    ids = [create_contact(hubspot, f"member{n}@lists.example.com") for n in range(3)]
    created = hubspot.crm.lists.lists_api.create(
        ListCreateRequest(name="Client-library VIP", object_type_id="0-1", processing_type="MANUAL")
    )
    list_id = created.list.list_id
    assert created.list.processing_type == "MANUAL" and created.list.object_type_id == "0-1"
    added = hubspot.crm.lists.memberships_api.add(list_id, ids)
    assert sorted(added.records_ids_added) == sorted(ids) and added.record_ids_missing == []
    first = hubspot.crm.lists.memberships_api.get_page(list_id, limit=2)
    assert [m.record_id for m in first.results] == sorted(ids, key=int)[:2] and first.paging.next.after
    rest = hubspot.crm.lists.memberships_api.get_page(list_id, limit=2, after=first.paging.next.after)
    assert [m.record_id for m in rest.results] == sorted(ids, key=int)[2:] and rest.paging is None
    of_record = hubspot.crm.lists.memberships_api.get_lists("0-1", ids[1])
    assert [m.list_id for m in of_record.results] == [list_id]
    removed = hubspot.crm.lists.memberships_api.remove(list_id, [ids[0], "999999"])
    assert removed.record_ids_removed == [ids[0]] and removed.record_ids_missing == ["999999"]
    found = hubspot.crm.lists.lists_api.get_by_name("Client-library VIP", "0-1")
    assert found.list.list_id == list_id
    searched = hubspot.crm.lists.lists_api.do_search(ListSearchRequest(query="client-library", processing_types=["MANUAL"]))
    assert [x.list_id for x in searched.lists] == [list_id] and searched.lists[0].additional_properties["hs_list_size"] == "2"
    with pytest.raises(ListsApiException) as caught:
        hubspot.crm.lists.lists_api.get_by_id("987654")
    assert caught.value.status == 404
