"""HubSpot-specific connector behaviour beyond the shared contract: fields and references,
dropdown options, associations, owners, deals with pipelines, idempotent creates under faults."""

from __future__ import annotations

import collections

import pytest

from connectors.base import ConnectorError, ErrorKind, FieldType, WriteInput
from connectors.hubspot.connector import WRITE_ID_PROPERTY, HubSpotConnector
from connectors.hubspot.emulator import DEFAULT_TOKEN
from tests.connectors.hubspot_harness import fast_retry


def fields_of(connector, object_type):
    return {f.name: f for f in connector.discover_fields(object_type)}


def test_associations_and_owners_are_reference_fields(connector):
    contact = fields_of(connector, "contacts")
    deal = fields_of(connector, "deals")
    assert contact["company"].type == FieldType.REFERENCE and contact["company"].reference_to == "companies"
    assert deal["company"].reference_to == "companies" and deal["contact"].reference_to == "contacts"
    assert contact["hubspot_owner_id"].type == FieldType.OWNER and contact["hubspot_owner_id"].reference_to == "owners"
    assert contact["email"].type == FieldType.EMAIL and contact["lastmodifieddate"].read_only
    owners = connector.object_type("owners")
    assert owners.read_only and owners.email_field == "email"


def test_deal_stage_options_come_from_the_pipelines(connector):
    stage = fields_of(connector, "deals")["dealstage"]
    assert stage.type == FieldType.ENUM
    assert stage.option_by_value("closedwon").label == "Closed Won"
    assert stage.option_by_value("renewalopen").label == "Renewal Open"
    assert {p["id"] for p in connector.pipelines()} == {"default", "renewals"}


def test_write_id_property_is_hidden_from_fields_and_records(connector, hubspot):
    [result] = connector.create("companies", [WriteInput({"name": "Hidden Co"}, ref="h")])
    assert WRITE_ID_PROPERTY not in fields_of(connector, "companies")
    assert WRITE_ID_PROPERTY not in connector.read_by_ids("companies", [result.id])[0].properties
    assert hubspot.get_record("companies", result.id)[WRITE_ID_PROPERTY]  # but HubSpot stores it


def test_add_option_appends_a_dropdown_option_that_writes_then_accept(connector, hubspot):
    option = connector.add_option("companies", "industry", "Space Tourism", "Space Tourism")
    assert (option.value, option.label) == ("Space Tourism", "Space Tourism")
    industry = fields_of(connector, "companies")["industry"]
    assert industry.option_by_value("Space Tourism") and industry.option_by_value("RETAIL")  # existing options kept
    [result] = connector.create("companies", [WriteInput({"name": "Orbit", "industry": "Space Tourism"}, ref="o")])
    assert result.ok
    again = connector.add_option("companies", "industry", "Whatever", "RETAIL")
    assert again.label == "Retail"  # an existing value is not duplicated


def test_invalid_dropdown_value_is_a_permanent_validation_error_naming_the_field(connector):
    [result] = connector.create("companies", [WriteInput({"name": "Bad", "industry": "SPACE_PIRACY"}, ref="b")])
    assert not result.ok and result.error.kind == ErrorKind.VALIDATION and not result.error.retryable
    assert "industry" in result.error.fields and "SPACE_PIRACY was not one of the allowed options" in result.error.message


def test_creating_a_contact_whose_email_exists_is_a_conflict_with_the_existing_id(connector, hubspot):
    existing = hubspot.create_record("contacts", {"email": "taken@example.com"})
    [result] = connector.create("contacts", [WriteInput({"email": "taken@example.com"}, ref="t")])
    assert result.error.kind == ErrorKind.CONFLICT and result.error.existing_id == existing


def test_references_are_written_on_create_and_read_back(connector, hubspot):
    company = hubspot.create_record("companies", {"name": "Parent Co"})
    contact = hubspot.create_record("contacts", {"email": "kid@example.com"})
    [deal] = connector.create(
        "deals",
        [
            WriteInput(
                {"dealname": "Big", "pipeline": "default", "dealstage": "qualifiedtobuy", "company": company, "contact": contact},
                ref="d",
            )
        ],
    )
    assert deal.ok
    assert hubspot.associated_ids("deals", deal.id, "companies") == [company]
    assert hubspot.associated_ids("deals", deal.id, "contacts") == [contact]
    [read] = connector.read_by_ids("deals", [deal.id])
    assert read.properties["company"] == company and read.properties["contact"] == contact


def test_updating_a_reference_moves_the_association(connector, hubspot):
    old = hubspot.create_record("companies", {"name": "Old Co"})
    new = hubspot.create_record("companies", {"name": "New Co"})
    contact = hubspot.create_record("contacts", {"email": "mover@example.com"}, associations={"companies": [old]})
    [result] = connector.update("contacts", [WriteInput({"company": new, "jobtitle": "CTO"}, id=contact, ref="m")])
    assert result.ok
    assert hubspot.associated_ids("contacts", contact, "companies") == [new]
    assert hubspot.get_record("contacts", contact)["jobtitle"] == "CTO"
    connector.update("contacts", [WriteInput({"company": None}, id=contact, ref="m")])
    assert hubspot.associated_ids("contacts", contact, "companies") == []


def test_changed_records_carry_their_references(connector, hubspot):
    company = hubspot.create_record("companies", {"name": "Ref Co"})
    contact = hubspot.create_record("contacts", {"email": "ref@example.com"}, associations={"companies": [company]})
    page = connector.read_changes("contacts", None)
    assert {r.id: r.properties["company"] for r in page.records} == {contact: company}


def test_owners_are_read_and_found_by_email(connector):
    owners = connector.read_changes("owners", None).records
    assert {o.properties["email"] for o in owners} == {"sam.rivera@example.com", "alex.kim@example.com"}
    found = connector.find_by("owners", "email", ["ALEX.KIM@example.com"])
    assert [o.properties["firstName"] for o in found["alex.kim@example.com"]] == ["Alex"]
    with pytest.raises(ConnectorError):
        connector.create("owners", [WriteInput({"email": "x@example.com"})])


def test_find_by_a_non_unique_field_uses_search_and_returns_every_match(connector, hubspot):
    first = hubspot.create_record("companies", {"name": "Twin", "domain": "twin.example.com"})
    second = hubspot.create_record("companies", {"name": "Twin 2", "domain": "TWIN.example.com"})
    found = connector.find_by("companies", "domain", ["twin.example.com", "none.example.com"])
    assert sorted(r.id for r in found["twin.example.com"]) == sorted([first, second])
    assert found["none.example.com"] == []


def test_find_by_domain_asks_for_500_values_in_one_search_of_five_filter_groups(connector, hubspot):
    hits = [hubspot.create_record("companies", {"name": f"Co {n}", "domain": f"co{n}.example.com"}) for n in (3, 250, 499)]
    domains = [f"co{n}.example.com" for n in range(500)]
    assert connector.match_chunk_size("companies", "domain") == 500
    assert connector.match_chunk_size("contacts", "email") == 100  # unique: batch read by idProperty
    before = hubspot.calls("search")
    found = connector.find_by("companies", "domain", domains)
    assert hubspot.calls("search") - before == 1
    assert sorted(r.id for v in domains for r in found[v]) == sorted(hits)


def test_writes_are_sent_in_batches_of_at_most_100(connector, hubspot):
    connector.create("companies", [WriteInput({"name": f"Batch {n}"}, ref=str(n)) for n in range(250)])
    assert hubspot.calls("batch/create") == 3


def test_faults_at_30_percent_still_create_5000_records_exactly_once(hubspot):
    hubspot.set_knobs(faults={"500": 0.07, "502": 0.04, "503": 0.04, "429": 0.03, "timeout": 0.06, "drop": 0.06}, seed=11)
    connector = HubSpotConnector(
        "https://api.hubapi.test", token=DEFAULT_TOKEN, transport=hubspot.transport(), retry=fast_retry(total=8)
    )
    inputs = [WriteInput({"email": f"bulk{n}@example.com", "firstname": f"Bulk{n}"}, ref=str(n)) for n in range(5000)]
    results = connector.create("contacts", inputs)
    hubspot.set_knobs(faults={})
    assert [r.ref for r in results] == [str(n) for n in range(5000)]
    assert all(r.ok for r in results), collections.Counter(r.error.kind for r in results if not r.ok)
    assert hubspot.count("contacts") == 5000
    emails = collections.Counter(hubspot.get_record("contacts", r.id)["email"] for r in results)
    assert emails == collections.Counter(f"bulk{n}@example.com" for n in range(5000))  # each input its own record, once
    faults = hubspot.counters()["faults"]
    assert faults.get("timeout after", 0) + faults.get("drop after", 0) > 0, faults  # writes whose answer was lost happened


def test_a_whole_batch_refusal_is_isolated_to_the_bad_input(connector, hubspot, monkeypatch):
    """If HubSpot rejects a batch as a whole (it does for some validation errors), inputs are retried one by one."""
    original = hubspot.batch_create

    def strict(request):
        inputs = (request.json() or {}).get("inputs", [])
        if len(inputs) > 1 and any(i["properties"].get("industry") == "NOPE" for i in inputs):
            return hubspot.error(400, "Property values were not valid", category="VALIDATION_ERROR")
        return original(request)

    monkeypatch.setattr(hubspot.routes[[r.name for r in hubspot.routes].index("batch/create")], "handler", strict)
    results = connector.create(
        "companies", [WriteInput({"name": "Fine"}, ref="a"), WriteInput({"name": "X", "industry": "NOPE"}, ref="b")]
    )
    assert [r.ok for r in results] == [True, False]
    assert hubspot.count("companies") == 1


def test_contact_company_name_text_is_exposed_as_company_name_beside_the_company_reference(connector, hubspot):
    fields = fields_of(connector, "contacts")
    names = [f.name for f in connector.discover_fields("contacts")]
    assert len(names) == len(set(names))
    assert fields["company"].type == FieldType.REFERENCE and fields["company_name"].label == "Company Name"
    company = hubspot.create_record("companies", {"name": "Real Co"})
    [result] = connector.create(
        "contacts", [WriteInput({"email": "cn@example.com", "company_name": "Typed Co", "company": company}, ref="c")]
    )
    assert hubspot.get_record("contacts", result.id)["company"] == "Typed Co"
    [read] = connector.read_by_ids("contacts", [result.id])
    assert read.properties["company_name"] == "Typed Co" and read.properties["company"] == company
    assert [r.id for r in connector.find_by("contacts", "company_name", ["typed co"])["typed co"]] == [result.id]


def test_search_pages_with_filters_sorts_and_after(connector, hubspot):
    for n in range(5):
        hubspot.create_record("companies", {"name": f"Searchable {n}", "numberofemployees": str(n * 10)})
    groups = [{"filters": [{"propertyName": "numberofemployees", "operator": "GTE", "value": "10"}]}]
    sorts = [{"propertyName": "numberofemployees", "direction": "DESCENDING"}]
    first, after = connector.search("companies", groups, sorts, limit=3)
    rest, end = connector.search("companies", groups, sorts, limit=3, after=after)
    assert [r.properties["name"] for r in first + rest] == [f"Searchable {n}" for n in (4, 3, 2, 1)]
    assert after == "3" and end is None


def test_connector_talks_https_to_the_emulator_with_its_generated_ca(hubspot, tmp_path):
    ca_file = tmp_path / "ca.pem"
    running = hubspot.serve("127.0.0.1", 0, tls=True, ca_file=ca_file)
    try:
        assert running.base_url.startswith("https://")
        secure = HubSpotConnector(running.base_url, token=DEFAULT_TOKEN, retry=fast_retry(), verify=str(ca_file))
        assert secure.test_connection().ok
        untrusting = HubSpotConnector(running.base_url, token=DEFAULT_TOKEN, retry=fast_retry(total=0))
        result = untrusting.test_connection()
        assert not result.ok and "Could not reach HubSpot" in result.message
    finally:
        running.stop()
