"""The OData $filter parser the Dynamics emulator filters with (and the connector writes with)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.dynamics import odata
from connectors.dynamics.odata import And, Call, Compare, Field, In, Literal, Not, ODataError, Or

FIELDS = ["name", "emailaddress1", "numberofemployees", "revenue", "statecode", "modifiedon", "_ownerid_value", "donotemail"]

strings = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
guids = st.uuids()
datetimes = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2040, 1, 1), timezones=st.just(dt.UTC)).map(
    lambda d: d.replace(microsecond=0)
)
literals = st.one_of(
    strings,
    st.integers(-(10**6), 10**6),
    st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False),
    st.booleans(),
    st.none(),
    guids,
    datetimes,
    st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2040, 1, 1)),
).map(Literal)
fields = st.sampled_from(FIELDS).map(Field)
comparisons = st.builds(Compare, st.sampled_from(odata.COMPARISONS), fields, literals)
calls = st.builds(Call, st.sampled_from(odata.STRING_FUNCTIONS), fields, strings.map(Literal))
ins = st.builds(In, fields, st.lists(literals, min_size=1, max_size=4).map(tuple))
trees = st.recursive(
    st.one_of(comparisons, calls, ins),
    lambda inner: st.one_of(st.builds(And, inner, inner), st.builds(Or, inner, inner), st.builds(Not, inner)),
    max_leaves=8,
)

row_values = {
    "name": st.one_of(st.none(), strings),
    "emailaddress1": st.one_of(st.none(), strings),
    "numberofemployees": st.one_of(st.none(), st.integers(-100, 100)),
    "revenue": st.one_of(st.none(), st.decimals(min_value=-100, max_value=100, places=2, allow_nan=False)),
    "statecode": st.one_of(st.none(), st.integers(0, 2)),
    "modifiedon": st.one_of(st.none(), datetimes.map(lambda d: d.isoformat().replace("+00:00", "Z"))),
    "_ownerid_value": st.one_of(st.none(), guids.map(str)),
    "donotemail": st.one_of(st.none(), st.booleans()),
}
rows = st.fixed_dictionaries(row_values)


@settings(max_examples=300, deadline=None)
@given(trees)
def test_rendered_filter_parses_back_to_the_same_tree(tree):
    text = odata.render(tree)
    parsed = odata.parse_filter(text)
    assert odata.render(parsed) == text
    assert _eq(parsed, tree)


def _eq(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, Literal):
        if isinstance(a.value, Decimal) or isinstance(b.value, Decimal):
            return Decimal(str(a.value)) == Decimal(str(b.value)) and not isinstance(a.value, bool)
        return a.value == b.value and type(a.value) is type(b.value)
    if isinstance(a, (Field,)):
        return a == b
    if isinstance(a, Compare):
        return a.op == b.op and a.left == b.left and _eq(a.right, b.right)
    if isinstance(a, Call):
        return a.name == b.name and a.field == b.field and _eq(a.value, b.value)
    if isinstance(a, In):
        return (
            a.field == b.field
            and len(a.values) == len(b.values)
            and all(_eq(x, y) for x, y in zip(a.values, b.values, strict=True))
        )
    if isinstance(a, Not):
        return _eq(a.operand, b.operand)
    return _eq(a.left, b.left) and _eq(a.right, b.right)


def reference(node, row) -> bool:
    """An independent statement of the semantics: SQL-style nulls, case-insensitive strings."""
    if isinstance(node, And):
        return reference(node.left, row) and reference(node.right, row)
    if isinstance(node, Or):
        return reference(node.left, row) or reference(node.right, row)
    if isinstance(node, Not):
        return not reference(node.operand, row)
    if isinstance(node, In):
        return any(reference(Compare("eq", node.field, v), row) for v in node.values)
    if isinstance(node, Call):
        actual = row.get(node.field.name)
        if actual is None:
            return False
        a, n = str(actual).casefold(), node.value.value.casefold()
        return {"contains": n in a, "startswith": a.startswith(n), "endswith": a.endswith(n)}[node.name]
    actual, expected = row.get(node.left.name), node.right.value
    if actual is None or expected is None:
        both = actual is None and expected is None
        return both if node.op == "eq" else (not both) if node.op == "ne" else False
    return odata._compare(node.op, actual, expected)


@settings(max_examples=300, deadline=None)
@given(trees, rows)
def test_parsed_filter_matches_rows_as_the_tree_means(tree, row):
    assert odata.matches(odata.parse_filter(odata.render(tree)), row) == reference(tree, row)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_any_input_parses_or_fails_with_an_odata_error(text):
    try:
        odata.parse_filter(text)
    except ODataError as error:
        assert "position" in str(error) or "empty" in str(error)


def test_and_binds_tighter_than_or():
    tree = odata.parse_filter("statecode eq 0 or statecode eq 1 and name eq 'x'")
    assert isinstance(tree, Or) and isinstance(tree.right, And)
    assert odata.matches(tree, {"statecode": 0, "name": "y"})


def test_parentheses_and_not_change_grouping():
    tree = odata.parse_filter("not (statecode eq 0 or statecode eq 1) and name ne null")
    assert odata.matches(tree, {"statecode": 2, "name": "a"})
    assert not odata.matches(tree, {"statecode": 1, "name": "a"})
    assert not odata.matches(tree, {"statecode": 2, "name": None})


def test_strings_compare_case_insensitively_like_dataverse():
    tree = odata.parse_filter("emailaddress1 eq 'Ada@Example.COM' and startswith(name,'NORTH')")
    assert odata.matches(tree, {"emailaddress1": "ada@example.com", "name": "Northwind"})


def test_doubled_quote_is_an_escaped_quote():
    tree = odata.parse_filter("name eq 'O''Brien'")
    assert tree == Compare("eq", Field("name"), Literal("O'Brien"))
    assert odata.quote("O'Brien") == "'O''Brien'"


def test_guid_date_and_datetime_literals_are_typed():
    owner = uuid.uuid4()
    tree = odata.parse_filter(f"_ownerid_value eq {owner} and modifiedon ge 2024-05-01T10:00:00Z and createdon lt 2025-01-01")
    assert tree.left.left.right.value == owner
    assert tree.left.right.right.value == dt.datetime(2024, 5, 1, 10, tzinfo=dt.UTC)
    assert tree.right.right.value == dt.date(2025, 1, 1)
    assert odata.matches(
        tree, {"_ownerid_value": str(owner).upper(), "modifiedon": "2024-06-01T00:00:00Z", "createdon": "2024-12-31"}
    )


def test_dataverse_in_function_matches_any_listed_value():
    tree = odata.parse_filter("Microsoft.Dynamics.CRM.In(PropertyName='emailaddress1',PropertyValues=['a@x.com','B@X.COM'])")
    assert odata.matches(tree, {"emailaddress1": "b@x.com"})
    assert not odata.matches(tree, {"emailaddress1": "c@x.com"})


def test_null_compares_only_with_eq_and_ne():
    assert odata.matches(odata.parse_filter("name eq null"), {})
    assert not odata.matches(odata.parse_filter("numberofemployees gt 5"), {"numberofemployees": None})
    assert odata.matches(odata.parse_filter("numberofemployees ne 5"), {"numberofemployees": None})


@pytest.mark.parametrize(
    "text",
    [
        "name eq",
        "name equals 'x'",
        "eq 'x'",
        "(name eq 'x'",
        "name eq 'x')",
        "contains(name)",
        "name eq 'unterminated",
        "name eq 'x' and",
        "name eq 'x' or or name eq 'y'",
        "contains(name,5)",
        "",
        "modifiedon ge 2020-13-45T00:00:00Z",  # well-formed tokens that are no date or time
        "birthdate eq 2020-02-30",
    ],
)
def test_malformed_filters_are_refused_with_a_position(text):
    with pytest.raises(ODataError) as caught:
        odata.parse_filter(text)
    assert caught.value.code == "0x80060888"


def test_orderby_and_select_parse():
    assert odata.parse_orderby("name asc, modifiedon desc,statecode") == [
        ("name", False),
        ("modifiedon", True),
        ("statecode", False),
    ]
    with pytest.raises(ODataError):
        odata.parse_orderby("name sideways")
    assert odata.parse_select("name, websiteurl") == ["name", "websiteurl"]
