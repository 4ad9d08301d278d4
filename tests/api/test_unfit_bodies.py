"""Filters and match rules: their OpenAPI schemas say what the validation refuses, so a body the
schema refuses is a 400 and a schema-valid body is refused only by the tenant's configuration
(a field its system does not have, an operator that does not fit the type, a pair named twice),
answered 422 (documented on those operations)."""

import copy
import json

import jsonschema
import pytest

from mappings.filters import FilterError, validate_filter
from mappings.match_rules import MatchRuleError, parse_rules
from syncsmart.api.body_schemas import filter_components, match_rule_components
from tests.api.conftest import error_of
from tests.ui.factories import IntegrationFactory, ObjectMappingFactory

EMAIL = {"hubspot": "email", "other": "email", "normaliser": "email"}


def json_schema(name: str, components: dict) -> dict:
    """An OpenAPI 3.0 component as plain JSON Schema (refs into definitions, nullable as a type)."""
    text = json.dumps(components).replace("#/components/schemas/", "#/definitions/")
    definitions = json.loads(text)

    def plain(node):
        if isinstance(node, dict):
            if node.pop("nullable", False):
                node["type"] = [node["type"], "null"]
            for value in node.values():
                plain(value)
        elif isinstance(node, list):
            for value in node:
                plain(value)

    plain(definitions)
    return {"$ref": f"#/definitions/{name}", "definitions": definitions}


FILTER_SCHEMA = json_schema("FilterGroup", filter_components())
RULES_SCHEMA = json_schema("MatchRules", match_rule_components())


def condition(**fields):
    return {"field": "email", "operator": "eq", "value": "a@b.example", **fields}


def nested(depth: int) -> dict:
    group = {"conditions": [condition()]}
    for _ in range(depth):
        group = {"match": "any", "conditions": [group]}
    return group


FILTERS = [
    {},
    {"match": "all", "conditions": [condition(), {"field": "phone", "operator": "is_empty"}]},
    {"conditions": [condition(operator="in", value=["a", 1, None, True])]},
    {"conditions": [condition(value=None)]},
    nested(4),
    {"conditions": [{"field": "@hubspot_list", "operator": "in_list", "value": "VIPs", "list_id": "7"}]},
    # refused:
    {"conditions": [{"field": "@hubspot_list", "operator": "eq", "value": "VIPs"}]},
    {"conditions": [{"field": "email", "operator": "in_list", "value": "VIPs"}]},
    {"conditions": [{"field": "@hubspot_list", "operator": "in_list", "value": "  "}]},
    {"conditions": [condition(list_id="7")]},
    nested(5),
    {"match": "some"},
    {"conditions": [condition(label="x")]},  # a key conditions do not have
    {"conditions": [], "note": "x"},
    {"conditions": [{"field": "email", "operator": "eq"}]},  # no value
    {"conditions": [condition(operator="in", value="a")]},  # not a list
    {"conditions": [condition(operator="resembles")]},
    {"conditions": [condition(field="")]},
    {"conditions": [condition(value={"a": 1})]},
    {"conditions": [condition(value="x" * 1001)]},
    {"conditions": [condition()] * 51},
    {"conditions": [{}]},
]
RULES = [
    [],
    [{"fields": [EMAIL]}],
    [{"fields": [{"hubspot": "phone", "other": "phone", "normaliser": "phone", "country": "us"}]}],
    [{"fields": [{"hubspot": "dealname", "other": "name", "normaliser": "name"}, {**EMAIL, "normaliser": "link"}]}],
    # refused:
    [{"fields": [{**EMAIL, "normaliser": "link"}]}],  # links alone
    [{"fields": [{**EMAIL, "country": "US"}]}],  # a country on a non-phone field
    [{"fields": [{"hubspot": "phone", "other": "phone", "normaliser": "phone", "country": None}]}],
    [{"fields": [{"hubspot": "phone", "other": "phone", "normaliser": "phone", "country": "US\n"}]}],
    [{"fields": [{**EMAIL, "normaliser": "fuzzy"}]}],
    [{"fields": [{**EMAIL, "hubspot": "   "}]}],
    [{"fields": []}],
    [{"fields": [EMAIL], "name": "x"}],
    [{"fields": [EMAIL]}] * 6,
]


def filter_accepted(group) -> bool:
    try:
        validate_filter(copy.deepcopy(group))
    except FilterError:
        return False
    return True


def rules_accepted(rules) -> bool:
    try:
        parse_rules(copy.deepcopy(rules))
    except MatchRuleError:
        return False
    return True


@pytest.mark.parametrize("group", FILTERS, ids=range(len(FILTERS)))
def test_the_filter_schema_refuses_exactly_what_the_filter_validation_refuses(group):
    assert jsonschema.Draft4Validator(FILTER_SCHEMA).is_valid(group) == filter_accepted(group)


@pytest.mark.parametrize("rules", RULES, ids=range(len(RULES)))
def test_the_match_rule_schema_refuses_exactly_what_the_rule_validation_refuses(rules):
    assert jsonschema.Draft4Validator(RULES_SCHEMA).is_valid(rules) == rules_accepted(rules)


def test_the_one_rule_no_schema_says_a_pair_named_twice_is_schema_valid_and_refused():
    twice = [{"fields": [EMAIL, {**EMAIL, "normaliser": "text"}]}]
    assert jsonschema.Draft4Validator(RULES_SCHEMA).is_valid(twice) and not rules_accepted(twice)


@pytest.fixture
def contacts(api):
    """A mapping whose systems' fields are discovered (tests/ui/factories.py)."""
    return ObjectMappingFactory(integration=IntegrationFactory(tenant=api.tenant))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"filter_to_other": {"conditions": [condition(label="x")]}}, 400, "not 'label'"),
        ({"filter_to_other": nested(5)}, 400, "at most 4 groups deep"),
        ({"filter_to_other": {"conditions": [condition(field="emial")]}}, 422, "HubSpot has no field “emial”"),
        ({"filter_to_other": {"conditions": [condition(field="firstname", operator="gt")]}}, 422, "does not fit"),
        ({"filter_to_other": {"conditions": [condition()]}}, 200, ""),
    ],
)
def test_a_filter_the_schema_refuses_is_a_400_and_one_the_tenants_fields_refuse_a_422(api, contacts, body, status, words):
    response = api.admin.patch(f"/api/object-mappings/{contacts.pk}/filters/", body, format="json")
    assert response.status_code == status, response.json()
    if status != 200:
        assert words in error_of(response)["message"]
        assert error_of(response)["code"] == ("unprocessable" if status == 422 else "invalid")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("rules", "status", "words"),
    [
        ([{"fields": [{**EMAIL, "country": None}]}], 400, "only for phone fields"),
        ([{"fields": [{**EMAIL, "normaliser": "link"}]}], 400, "does not identify a record"),
        ([{"fields": [EMAIL, {**EMAIL, "normaliser": "text"}]}], 422, "a field pair appears twice"),
        ([{"fields": [{**EMAIL, "other": "mail"}]}], 422, "has no field “mail”"),
        ([{"fields": [EMAIL]}], 200, ""),
    ],
)
def test_match_rules_the_schema_refuses_are_a_400_and_ones_that_do_not_fit_a_422(api, contacts, rules, status, words):
    response = api.admin.patch(f"/api/object-mappings/{contacts.pk}/", {"match_rules": rules}, format="json")
    assert response.status_code == status, response.json()
    if status != 200:
        assert words in error_of(response)["message"]


def test_the_schema_documents_the_422_on_the_operations_that_take_these_bodies(client):
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]
    assert "422" in paths["/api/object-mappings/{id}/filters/"]["patch"]["responses"]
    assert "422" in paths["/api/object-mappings/"]["post"]["responses"]
    assert "422" not in paths["/api/field-mappings/"]["post"]["responses"]
    body = paths["/api/object-mappings/{id}/filters/"]["patch"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/PatchedFiltersRequest"}
