"""HubSpot's company `domain` ↔ NetSuite's customer `url`, by the default mapping's domain
transform: HubSpot gets the bare domain, NetSuite `https://<domain>`, and a pair already naming
the same domain in two spellings is in sync (no flip-flop)."""

import pytest

from connectors.base import FieldType
from mappings.compat import flow_problem
from mappings.models import FieldMapping
from syncsmart.engine.flow.plan import domain_value
from syncsmart.models import RecordLink

pytestmark = pytest.mark.django_db


def counterpart(hubspot_id=None, other_id=None) -> RecordLink:
    links = RecordLink.objects.filter(hubspot_object="companies", other_object="customers")
    return links.get(hubspot_id=str(hubspot_id)) if hubspot_id is not None else links.get(other_id=str(other_id))


@pytest.mark.parametrize(
    ("value", "to_hubspot", "expected"),
    [
        ("https://www.Acme.com/about?x=1", True, "acme.com"),
        ("http://acme.com", True, "acme.com"),
        ("acme.com", False, "https://acme.com"),
        ("www.acme.com/", False, "https://acme.com"),
        ("", True, None),
    ],
)
def test_domain_value_strips_scheme_www_and_path_toward_hubspot_and_adds_https_toward_netsuite(value, to_hubspot, expected):
    assert domain_value(value, to_hubspot=to_hubspot) == expected


def test_the_default_companies_mapping_carries_domain_to_url_by_the_domain_transform(ns_pair):
    fm = FieldMapping.objects.get(object_mapping__other_object="customers", hubspot_field="domain", other_field="url")
    assert fm.transform == FieldMapping.Transform.DOMAIN


def test_a_netsuite_url_reaches_hubspot_as_a_bare_domain_and_a_rerun_writes_nothing(ns_pair):
    customer = ns_pair.other.add_customer("Acme", url="https://www.acme.example.com/about")
    run = ns_pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    hub_company = counterpart(other_id=customer["id"]).hubspot_id
    assert ns_pair.hubspot.get_record("companies", hub_company)["domain"] == "acme.example.com"
    assert ns_pair.other.get("customer", customer["id"])["url"] == "https://www.acme.example.com/about"  # kept: same domain
    ns_pair.sync()
    ns_pair.reset_counters()
    ns_pair.sync()
    assert ns_pair.writes() == (0, 0)


def test_a_hubspot_domain_reaches_netsuite_as_an_https_url_and_a_rerun_writes_nothing(ns_pair):
    company = ns_pair.hubspot.create_record("companies", {"name": "Contoso", "domain": "contoso.example.com"})
    run = ns_pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    customer_id = counterpart(hubspot_id=company).other_id
    assert ns_pair.other.get("customer", customer_id)["url"] == "https://contoso.example.com"
    assert ns_pair.hubspot.get_record("companies", company)["domain"] == "contoso.example.com"
    ns_pair.sync()
    ns_pair.reset_counters()
    ns_pair.sync()
    assert ns_pair.writes() == (0, 0)


def test_a_changed_domain_travels_both_ways_in_each_sides_terms(ns_pair):
    company = ns_pair.hubspot.create_record("companies", {"name": "Contoso", "domain": "contoso.example.com"})
    ns_pair.sync()
    customer_id = counterpart(hubspot_id=company).other_id
    ns_pair.other.edit("customer", customer_id, {"url": "http://www.contoso-new.example.com/home"})
    ns_pair.sync()
    assert ns_pair.hubspot.get_record("companies", company)["domain"] == "contoso-new.example.com"
    ns_pair.hubspot.advance_clock(5000)
    ns_pair.hubspot.edit_record("companies", company, {"domain": "www.contoso.example.org"})
    ns_pair.sync()
    assert ns_pair.other.get("customer", customer_id)["url"] == "https://contoso.example.org"
    ns_pair.sync()
    ns_pair.reset_counters()
    ns_pair.sync()
    assert ns_pair.writes() == (0, 0)


def test_the_domain_transform_is_refused_unless_both_fields_are_text():
    assert flow_problem(FieldType.STRING, FieldType.STRING, source_name="domain", target_name="url", transform="domain") is None
    problem = flow_problem(FieldType.NUMBER, FieldType.STRING, source_name="employees", target_name="url", transform="domain")
    assert problem is not None and "needs a text field on both sides" in problem
    assert flow_problem(FieldType.STRING, FieldType.EMAIL, source_name="domain", target_name="email", transform="domain")
