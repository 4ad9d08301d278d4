"""Match rules: an ordered list of keys per object mapping, validated in the one layer the
editor and the REST API share; defaults for every object of both pairs."""

import pytest
from django.core.exceptions import ValidationError

from connectors.hubspot.activities import ACTIVITY_TYPES
from mappings import defaults
from mappings.match_rules import DEFAULT_RULES, MatchRuleError, key_value, parse_rules
from mappings.models import ObjectMapping
from tests.api.conftest import error_of
from tests.api.factories import IntegrationFactory, ObjectMappingFactory

HUB_SCHEMA = {
    "contacts": [{"name": "email", "type": "email"}, {"name": "phone", "type": "phone"}, {"name": "odd", "type": "blob"}],
    "deals": [{"name": "dealname", "type": "string"}, {"name": "company", "type": "reference"}],
}
CW_SCHEMA = {
    "contacts": [
        {"name": "email", "type": "email"},
        {"name": "phone", "type": "phone"},
        {"name": "inactiveFlag", "type": "bool"},
    ],
    "opportunities": [{"name": "name", "type": "string"}, {"name": "company", "type": "reference"}],
}
EMAIL_KEY = {"fields": [{"hubspot": "email", "other": "email", "normaliser": "email"}]}


@pytest.fixture
def contacts(db):
    integration = IntegrationFactory()
    for connection, schema in ((integration.hubspot_connection, HUB_SCHEMA), (integration.other_connection, CW_SCHEMA)):
        connection.schema_cache = schema
        connection.save()
    return ObjectMappingFactory(integration=integration, hubspot_object="contacts", other_object="contacts")


@pytest.mark.parametrize(
    "rules, message",
    [
        ({"fields": []}, "list of keys"),
        ([{"fields": []}], "1 to 3 fields"),
        ([{"fields": [{"hubspot": "email", "other": "email", "normaliser": "soundex"}]}], "normaliser must be one of"),
        ([{"fields": [{"hubspot": "", "other": "email", "normaliser": "email"}]}], "must name a field"),
        ([{"fields": [{"hubspot": "x" * 201, "other": "email", "normaliser": "email"}]}], "longer than 200"),
        ([EMAIL_KEY] * 6, "At most 5"),
        ([{"fields": [{"hubspot": "company", "other": "company", "normaliser": "link"}]}], "alone does not identify"),
        ([{"fields": [{"hubspot": "email", "other": "email", "normaliser": "email", "country": "US"}]}], "only for phone"),
        ([{"fields": [{"hubspot": "email", "other": "email", "normaliser": "email", "eval": "1"}]}], "unknown setting"),
        ([{"fields": [EMAIL_KEY["fields"][0], EMAIL_KEY["fields"][0]]}], "appears twice"),
    ],
)
def test_malformed_rules_are_refused_with_a_reason(rules, message):
    with pytest.raises(MatchRuleError, match=message):
        parse_rules(rules)


def test_a_field_the_schema_lacks_or_a_type_the_normaliser_cannot_read_is_refused(contacts):
    contacts.match_rules = [{"fields": [{"hubspot": "email", "other": "mail", "normaliser": "email"}]}]
    with pytest.raises(ValidationError, match="has no field “mail”"):
        contacts.full_clean()
    contacts.match_rules = [{"fields": [{"hubspot": "email", "other": "inactiveFlag", "normaliser": "email"}]}]
    with pytest.raises(ValidationError, match="bool field"):
        contacts.full_clean()


def test_an_unknown_type_is_saved_unchecked_with_a_warning(contacts):
    contacts.match_rules = [{"fields": [{"hubspot": "odd", "other": "email", "normaliser": "text"}]}]
    contacts.full_clean()
    assert contacts.match_rule_warnings() == ["Key 1: the type of HubSpot “odd” is unknown; it is unchecked."]


def test_rules_of_an_undiscovered_schema_are_unchecked_not_passed(contacts):
    connection = contacts.integration.other_connection
    connection.schema_cache = {}
    connection.save()
    contacts.match_rules = [EMAIL_KEY]
    contacts.full_clean()
    assert any("not discovered yet" in w for w in contacts.match_rule_warnings())


def test_keys_normalise_each_field_and_need_every_part():
    key = parse_rules(
        [
            {
                "fields": [
                    {"hubspot": "dealname", "other": "name", "normaliser": "name"},
                    {"hubspot": "company", "other": "company", "normaliser": "link"},
                ]
            }
        ]
    )[0]

    def link_of(field, value):
        return {"7": "pair-1"}.get(str(value))

    assert key_value(key, "hubspot", {"dealname": " ACME  –  Pilot ", "company": "7"}, link_of) == ("acme pilot", "pair-1")
    assert key_value(key, "hubspot", {"dealname": "Acme – Pilot", "company": "8"}, link_of) is None
    assert key_value(key, "hubspot", {"dealname": "", "company": "7"}, link_of) is None


@pytest.mark.parametrize("system", ["connectwise", "dynamics"])
def test_every_default_object_mapping_has_match_rules_that_parse(system):
    for spec in defaults.default_set_for(system):
        if spec.hubspot in ACTIVITY_TYPES:
            continue  # activities are recognised by their links only (seed 001): no match key
        rules = DEFAULT_RULES[(system, spec.hubspot, spec.other)]
        assert parse_rules(rules), spec.name


@pytest.mark.django_db
@pytest.mark.parametrize("system", ["connectwise", "dynamics"])
def test_installing_defaults_stores_the_default_rules(system):
    integration = IntegrationFactory(other_connection__system=system)
    defaults.install_default_set(integration)
    for mapping in ObjectMapping.objects.filter(integration=integration).exclude(hubspot_object__in=ACTIVITY_TYPES):
        assert mapping.match_rules == DEFAULT_RULES[(system, mapping.hubspot_object, mapping.other_object)]
        assert mapping.match_keys()


# --- over the REST API --------------------------------------------------------------------


@pytest.fixture
def api_contacts(api):
    integration = IntegrationFactory(tenant=api.tenant)
    for connection, schema in ((integration.hubspot_connection, HUB_SCHEMA), (integration.other_connection, CW_SCHEMA)):
        connection.schema_cache = schema
        connection.save()
    return ObjectMappingFactory(integration=integration, hubspot_object="contacts", other_object="contacts")


def test_the_api_saves_and_returns_match_rules(api, api_contacts):
    rules = [EMAIL_KEY, {"fields": [{"hubspot": "phone", "other": "phone", "normaliser": "phone", "country": "us"}]}]
    response = api.admin.patch(f"/api/object-mappings/{api_contacts.pk}/", {"match_rules": rules}, format="json")
    assert response.status_code == 200, response.json()
    api_contacts.refresh_from_db()
    assert api_contacts.match_rules[1]["fields"][0]["country"] == "US"
    assert response.json()["match_rules"] == api_contacts.match_rules
    assert response.json()["match_rule_warnings"] == []


def test_the_api_refuses_bad_rules_with_the_same_message_and_keeps_the_old_ones(api, api_contacts):
    api_contacts.match_rules = [EMAIL_KEY]
    api_contacts.save()
    bad = [{"fields": [{"hubspot": "email", "other": "mail", "normaliser": "email"}]}]
    response = api.admin.patch(f"/api/object-mappings/{api_contacts.pk}/", {"match_rules": bad}, format="json")
    assert response.status_code == 422  # well formed: the schema allows it, the tenant's fields do not
    assert "has no field “mail”" in error_of(response)["message"]
    api_contacts.refresh_from_db()
    assert api_contacts.match_rules == [EMAIL_KEY]


def test_the_api_says_when_a_rule_is_unchecked(api, api_contacts):
    rules = [{"fields": [{"hubspot": "odd", "other": "email", "normaliser": "text"}]}]
    response = api.admin.patch(f"/api/object-mappings/{api_contacts.pk}/", {"match_rules": rules}, format="json")
    assert response.status_code == 200
    assert response.json()["match_rule_warnings"] == ["Key 1: the type of HubSpot “odd” is unknown; it is unchecked."]
