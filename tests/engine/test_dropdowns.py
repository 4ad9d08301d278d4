"""Dropdowns by label (the documented algorithm), every case, both directions; unit and end to end."""

import pytest

from connectors.base import FieldInfo, FieldType, Option
from mappings.models import FieldMapping
from mappings.services import actions
from syncsmart.engine.transform import Unmatched, dropdown_to_hubspot, dropdown_to_other
from syncsmart.models import RecordEvent, RecordLink


def enum(name, *options):
    return FieldInfo(name, name.title(), FieldType.ENUM, options=tuple(Option(value, label) for value, label in options))


HUB = enum("lead_status", ("NEW", "New"), ("Qualified", "Sales ready"), ("HOT", "Hot lead"))
OTHER = enum("rating", ("1", "Qualified"), ("2", "Hot lead"), ("3", "Cold"), ("4", "NEW"))


class TestHubSpotToOther:
    def test_other_label_equal_to_the_hubspot_value_wins_first(self):
        # "Qualified" is the HubSpot value; the other system has an option labelled "Qualified".
        assert dropdown_to_other("Qualified", HUB, OTHER) == "1"

    def test_else_other_label_equal_to_the_hubspot_label(self):
        assert dropdown_to_other("HOT", HUB, OTHER) == "2"

    def test_value_match_is_preferred_over_label_match(self):
        # HubSpot value "NEW" equals the other label "NEW" (option 4); its label "New" matches nothing.
        assert dropdown_to_other("NEW", HUB, OTHER) == "4"

    def test_unmatched_value_is_not_sent_and_reported_as_property_and_value(self):
        with pytest.raises(Unmatched) as caught:
            dropdown_to_other("Hott", HUB, OTHER)
        assert caught.value.detail == {"property": "lead_status", "value": "Hott"}


class TestOtherToHubSpot:
    def added(self):
        calls = []

        def add(label):
            calls.append(label)
            return Option(label, label)

        return calls, add

    def test_hubspot_label_equal_to_the_other_label(self):
        calls, add = self.added()
        assert dropdown_to_hubspot("2", OTHER, HUB, add) == "HOT"  # "Hot lead" label on both sides
        assert calls == []

    def test_else_hubspot_value_equal_to_the_other_label(self):
        calls, add = self.added()
        assert dropdown_to_hubspot("1", OTHER, HUB, add) == "Qualified"  # no HubSpot label "Qualified"; a value is
        assert calls == []

    def test_else_a_new_hubspot_option_with_label_and_value_of_the_other_label(self):
        calls, add = self.added()
        assert dropdown_to_hubspot("3", OTHER, HUB, add) == "Cold"
        assert calls == ["Cold"]


# --- end to end: HubSpot company "type" <-> ConnectWise company "type" ---------------------------------
pytestmark = pytest.mark.django_db


@pytest.fixture
def typed_pair(cw_pair):
    companies = cw_pair.integration.object_mappings.get(hubspot_object="companies")
    actions.save_field_mapping(
        FieldMapping(
            object_mapping=companies,
            hubspot_field="type",
            other_field="type",
            hubspot_type="enumeration",
            other_type="enumeration",
        ),
        None,
    )
    connectors = cw_pair.connectors()
    # A HubSpot option whose value is a ConnectWise label but whose label is not.
    connectors["hubspot"].add_option("companies", "type", "Paying customer", "Customer")
    connectors["hubspot"].close()
    connectors["other"].close()
    return cw_pair


def cw_type_label(pair, company_id):
    record = pair.other.get("companies", company_id)
    type_id = record["types"][0]["id"] if record.get("types") else None
    return next((t["name"] for t in pair.other.store["company_types"].values() if t["id"] == type_id), None)


def test_hubspot_to_connectwise_by_value_by_label_and_unmatched(typed_pair):
    by_value = typed_pair.hubspot.create_record("companies", {"name": "A Co", "domain": "a.example.com", "type": "Customer"})
    by_label = typed_pair.hubspot.create_record("companies", {"name": "B Co", "domain": "b.example.com", "type": "PROSPECT"})
    unmatched = typed_pair.hubspot.create_record("companies", {"name": "C Co", "domain": "c.example.com", "type": "RESELLER"})
    run = typed_pair.sync()
    link = {h: o for h, o in RecordLink.objects.filter(hubspot_object="companies").values_list("hubspot_id", "other_id")}
    assert cw_type_label(typed_pair, link[by_value]) == "Customer"
    assert cw_type_label(typed_pair, link[by_label]) == "Prospect"
    event = RecordEvent.objects.get(run=run, source_side="hubspot", source_object="companies", source_id=unmatched)
    assert event.outcome == "created"
    assert event.details["unmatched"] == [{"property": "type", "value": "RESELLER"}]
    assert "type" not in event.fields


def test_connectwise_to_hubspot_by_label_by_value_and_new_option(typed_pair):
    vendor = typed_pair.other.add_company("Vendor Co", website="v.example.com", type="Vendor")
    customer = typed_pair.other.add_company("Customer Co", website="cu.example.com", type="Customer")
    typed_pair.sync()
    link = {o: h for h, o in RecordLink.objects.filter(hubspot_object="companies").values_list("hubspot_id", "other_id")}
    assert typed_pair.hubspot.get_record("companies", link[str(vendor["id"])])["type"] == "VENDOR"
    assert typed_pair.hubspot.get_record("companies", link[str(customer["id"])])["type"] == "Customer"


def test_connectwise_value_without_hubspot_option_adds_one(cw_pair):
    contacts = cw_pair.integration.object_mappings.get(hubspot_object="contacts")
    actions.save_field_mapping(
        FieldMapping(
            object_mapping=contacts,
            hubspot_field="hs_lead_status",
            other_field="type",
            direction="to_hubspot",
            hubspot_type="enumeration",
            other_type="enumeration",
        ),
        None,
    )
    company = cw_pair.other.add_company("Globex Corp", website="globex.example.com")
    cw_pair.other.add_contact(
        "Ann",
        "Lee",
        company_id=company["id"],
        email="ann@globex.example.com",
        types=[
            {"id": next(t["id"] for t in cw_pair.other.store["contact_types"].values() if t["description"] == "Decision Maker")}
        ],
    )
    run = cw_pair.sync()
    [hub_id] = cw_pair.hubspot.find_records("contacts", "email", "ann@globex.example.com")
    assert cw_pair.hubspot.get_record("contacts", hub_id)["hs_lead_status"] == "Decision Maker"
    assert run.counts["options_added"] == 1
    cw_pair.reset_counters()
    cw_pair.sync()
    assert cw_pair.writes() == (0, 0)


def test_a_value_mapped_by_hand_is_written_instead_of_being_reported_unmatched(typed_pair):
    """The editor's value-map table: HubSpot "RESELLER" matches no ConnectWise type by label; the
    customer mapped it to "Partner", and the run writes that."""
    partner = next(t["id"] for t in typed_pair.other.store["company_types"].values() if t["name"] == "Partner")
    type_mapping = FieldMapping.objects.get(object_mapping__hubspot_object="companies", hubspot_field="type", other_field="type")
    type_mapping.value_map = {"RESELLER": str(partner)}
    actions.save_field_mapping(type_mapping, None)
    reseller = typed_pair.hubspot.create_record("companies", {"name": "R Co", "domain": "r.example.com", "type": "RESELLER"})
    run = typed_pair.sync()
    other_id = RecordLink.objects.get(hubspot_object="companies", hubspot_id=reseller).other_id
    assert cw_type_label(typed_pair, other_id) == "Partner"
    event = RecordEvent.objects.get(run=run, source_side="hubspot", source_object="companies", source_id=reseller)
    assert "unmatched" not in event.details and "type" in event.fields
