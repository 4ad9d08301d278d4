"""The inclusion-list condition as data (mappings/filters.py): it passes a record only when the
engine says the record is in that list, combines with field conditions, and is refused malformed."""

import pytest

from mappings.filters import LIST_FIELD, FilterError, first_failure, lists_used, passes, to_stored, validate_filter


def in_list(name="VIP", list_id="7"):
    return {"field": LIST_FIELD, "operator": "in_list", "value": name, **({"list_id": list_id} if list_id else {})}


def test_a_record_passes_a_list_condition_only_when_it_is_in_that_list():
    group = {"match": "all", "conditions": [in_list()]}
    assert passes(group, {LIST_FIELD: {"7"}})
    assert first_failure(group, {LIST_FIELD: {"8"}}) == "not in the HubSpot list “VIP”"
    assert first_failure(group, {}) == "not in the HubSpot list “VIP”"
    assert lists_used(group) == {"7": "VIP"}


def test_a_list_never_resolved_to_an_id_lets_nothing_through():
    group = {"conditions": [in_list(list_id=None)]}
    validate_filter(group)
    assert not passes(group, {LIST_FIELD: {"7"}})
    assert lists_used(group) == {}


def test_a_list_combines_with_field_conditions_in_any_and_all_groups():
    group = {"match": "any", "conditions": [in_list(), {"field": "lifecyclestage", "operator": "eq", "value": "customer"}]}
    assert passes(group, {LIST_FIELD: set(), "lifecyclestage": "Customer"})
    assert passes(group, {LIST_FIELD: {"7"}, "lifecyclestage": "lead"})
    assert not passes(group, {LIST_FIELD: set(), "lifecyclestage": "lead"})


@pytest.mark.parametrize(
    "bad",
    [
        {"field": "email", "operator": "in_list", "value": "VIP"},
        {"field": LIST_FIELD, "operator": "eq", "value": "VIP"},
        {"field": LIST_FIELD, "operator": "in_list", "value": ""},
        {"field": LIST_FIELD, "operator": "in_list", "value": ["VIP"]},
        {"field": LIST_FIELD, "operator": "in_list", "value": "VIP", "list_id": 7},
    ],
)
def test_malformed_list_conditions_are_refused(bad):
    with pytest.raises(FilterError):
        validate_filter({"conditions": [bad]})


def test_the_builder_keeps_a_list_row_as_a_list_condition():
    builder = {
        "match": "all",
        "conditions": [{"match": "all", "conditions": [{"field": LIST_FIELD, "operator": "in_list", "value": "VIP"}]}],
    }
    assert to_stored(builder)["conditions"][0]["conditions"] == [{"field": LIST_FIELD, "operator": "in_list", "value": "VIP"}]
