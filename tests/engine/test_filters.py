"""Declarative filter evaluation (no code, no eval)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappings.filters import FilterError, fields_used, first_failure, passes, validate_filter


def cond(field, operator, value=None):
    return {"field": field, "operator": operator, **({"value": value} if value is not None else {})}


def test_empty_filter_lets_everything_through():
    assert passes({}, {"a": 1})
    assert passes({"match": "all", "conditions": []}, {})


@pytest.mark.parametrize(
    "condition, props, expected",
    [
        (cond("email", "contains", "SS.TEST"), {"email": "a+ss.test@x.com"}, True),
        (cond("email", "not_contains", "gmail"), {"email": "a@gmail.com"}, False),
        (cond("stage", "in", ["won", "lost"]), {"stage": "Won"}, True),
        (cond("stage", "not_in", ["won"]), {"stage": "open"}, True),
        (cond("amount", "gt", 100), {"amount": "250"}, True),
        (cond("amount", "lte", 100), {"amount": 250}, False),
        (cond("amount", "gt", 100), {"amount": None}, False),
        (cond("title", "is_empty"), {"title": ""}, True),
        (cond("title", "is_not_empty"), {}, False),
        (cond("name", "starts_with", "acme"), {"name": "ACME Corp"}, True),
        (cond("name", "ends_with", "inc"), {"name": "Acme Corp"}, False),
        (cond("closedate", "gte", "2025-01-01"), {"closedate": "2025-03-01T00:00:00Z"}, True),
    ],
)
def test_operators(condition, props, expected):
    assert passes({"match": "all", "conditions": [condition]}, props) is expected


def test_any_and_all_groups_nest_and_explain_the_failure():
    group = {
        "match": "all",
        "conditions": [cond("country", "eq", "US"), {"match": "any", "conditions": [cond("a", "eq", "1"), cond("b", "eq", "2")]}],
    }
    assert passes(group, {"country": "us", "b": "2"})
    assert first_failure(group, {"country": "DE", "b": "2"}) == "“country is US” is not true for this record"
    assert first_failure(group, {"country": "DE"}, {"country": "Country"}) == "“Country is US” is not true for this record"
    assert first_failure(group, {"country": "US"}).startswith("none of")
    assert fields_used(group) == {"country", "a", "b"}


@pytest.mark.parametrize(
    "bad",
    [
        {"match": "some", "conditions": []},
        {"conditions": [{"operator": "eq", "value": 1}]},
        {"conditions": [cond("a", "__import__", "os")]},
        {"conditions": [cond("a", "in", "not a list")]},
        {"conditions": [{"field": "a", "operator": "eq"}]},
    ],
)
def test_malformed_filters_are_refused(bad):
    with pytest.raises(FilterError):
        validate_filter(bad)


@given(
    st.dictionaries(st.sampled_from(["a", "b", "c"]), st.one_of(st.none(), st.text(max_size=5), st.integers())),
    st.sampled_from(["eq", "neq", "contains", "gt", "lt", "is_empty", "is_not_empty", "in"]),
    st.one_of(st.text(max_size=5), st.integers()),
)
def test_evaluation_never_raises_on_any_record(props, operator, value):
    condition = cond("a", operator, [value] if operator == "in" else value)
    validate_filter({"conditions": [condition]})
    assert passes({"conditions": [condition]}, props) in (True, False)
