"""The SOQL subset the Salesforce emulator answers: tokenizer, parser and evaluator."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from connectors.salesforce import soql

UTC = dt.UTC
NOW = dt.datetime(2026, 12, 7, 15, 0, 0, tzinfo=UTC)
KINDS = {
    "Name": "string",
    "Email": "string",
    "Amount": "number",
    "IsWon": "boolean",
    "CloseDate": "date",
    "SystemModstamp": "datetime",
}


def kind_of(name: str) -> str:
    return KINDS[name]


def run(text: str, rows: list[dict]) -> list[dict]:
    query = soql.parse(text, NOW)
    soql.check_types(query.where, kind_of)
    hits = [r for r in rows if soql.matches(query.where, r, kind_of)]
    return soql.sort_rows(hits, query.order, kind_of) if query.order else hits


ROWS = [
    {
        "Name": "Acme",
        "Email": "a@acme.com",
        "Amount": 10.0,
        "IsWon": True,
        "CloseDate": dt.date(2026, 12, 7),
        "SystemModstamp": NOW,
    },
    {
        "Name": "beta",
        "Email": None,
        "Amount": 5.5,
        "IsWon": False,
        "CloseDate": None,
        "SystemModstamp": NOW - dt.timedelta(days=2),
    },
    {
        "Name": "O'Brien",
        "Email": "ob@x.io",
        "Amount": None,
        "IsWon": False,
        "CloseDate": dt.date(2025, 1, 1),
        "SystemModstamp": NOW - dt.timedelta(days=40),
    },
]


def test_select_list_object_order_limit_and_offset_are_parsed():
    query = soql.parse("select Id, Name from Contact order by Name desc nulls last, Id limit 10 offset 5")
    assert (query.sobject, query.fields, query.limit, query.offset) == ("Contact", ["Id", "Name"], 10, 5)
    assert [(o.field, o.descending, o.nulls_last) for o in query.order] == [("Name", True, True), ("Id", False, False)]


def test_string_comparisons_ignore_case_and_escapes_are_read():
    assert [r["Name"] for r in run("SELECT Name FROM X WHERE Name = 'ACME'", ROWS)] == ["Acme"]
    assert [r["Name"] for r in run(r"SELECT Name FROM X WHERE Name = 'o\'brien'", ROWS)] == ["O'Brien"]


def test_in_not_in_and_like_with_wildcards():
    assert {r["Name"] for r in run("SELECT Name FROM X WHERE Email IN ('A@ACME.COM', 'ob@x.io')", ROWS)} == {"Acme", "O'Brien"}
    assert {r["Name"] for r in run("SELECT Name FROM X WHERE Name NOT IN ('acme')", ROWS)} == {"beta", "O'Brien"}
    assert {r["Name"] for r in run("SELECT Name FROM X WHERE Email LIKE '%@ACME._om'", ROWS)} == {"Acme"}


def test_and_or_with_parentheses_and_not():
    text = "SELECT Name FROM X WHERE (Amount > 6 OR Amount = null) AND NOT Name = 'acme'"
    assert [r["Name"] for r in run(text, ROWS)] == ["O'Brien"]


def test_mixing_and_or_without_parentheses_is_malformed():
    with pytest.raises(soql.SoqlError) as caught:
        soql.parse("SELECT Id FROM X WHERE Name = 'a' AND Email = 'b' OR Amount = 1")
    assert caught.value.code == "MALFORMED_QUERY"


def test_null_comparisons_test_for_missing_values():
    assert [r["Name"] for r in run("SELECT Name FROM X WHERE Email = null", ROWS)] == ["beta"]
    assert len(run("SELECT Name FROM X WHERE Email != null", ROWS)) == 2


def test_datetime_literals_and_date_literals_are_ranges():
    since = "SELECT Name FROM X WHERE SystemModstamp >= 2026-12-06T00:00:00Z"
    assert [r["Name"] for r in run(since, ROWS)] == ["Acme"]
    offset = "SELECT Name FROM X WHERE SystemModstamp > 2026-12-07T15:00:00.000+01:00"
    assert [r["Name"] for r in run(offset, ROWS)] == ["Acme"]
    assert [r["Name"] for r in run("SELECT Name FROM X WHERE SystemModstamp = TODAY", ROWS)] == ["Acme"]
    assert {r["Name"] for r in run("SELECT Name FROM X WHERE SystemModstamp = LAST_N_DAYS:7", ROWS)} == {"Acme", "beta"}
    assert [r["Name"] for r in run("SELECT Name FROM X WHERE CloseDate < 2026-01-01", ROWS)] == ["O'Brien"]


def test_literals_of_the_wrong_type_are_refused_like_salesforce():
    for text in (
        "SELECT Id FROM X WHERE SystemModstamp > 2026-01-01",  # a date for a datetime field
        "SELECT Id FROM X WHERE Amount = '10'",
        "SELECT Id FROM X WHERE Name = 10",
        "SELECT Id FROM X WHERE IsWon = 'true'",
    ):
        with pytest.raises(soql.SoqlError) as caught:
            soql.check_types(soql.parse(text, NOW).where, kind_of)
        assert caught.value.code == "INVALID_FIELD", text


def test_order_by_sorts_nulls_first_ascending_and_numbers_numerically():
    names = [r["Name"] for r in run("SELECT Name FROM X ORDER BY Amount", ROWS)]
    assert names == ["O'Brien", "beta", "Acme"]
    names = [r["Name"] for r in run("SELECT Name FROM X ORDER BY Amount DESC", ROWS)]
    assert names == ["Acme", "beta", "O'Brien"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "SELECT FROM Contact",
        "SELECT Id Contact",
        "SELECT Id FROM Contact WHERE",
        "SELECT Id FROM Contact WHERE Name = 'unterminated",
        "SELECT Id FROM Contact WHERE Name == 'x'",
        "SELECT Id FROM Contact LIMIT -1",
        "SELECT Id FROM Contact WHERE Name IN ()",
        "SELECT Account.Name FROM Contact",
        "SELECT Id FROM Contact WHERE Name = 'a\\q'",
        "SELECT Id FROM Contact WHERE CreatedDate = NEXT_WEEKISH",
        "SELECT Id FROM Contact WHERE CreatedDate > 2026-13-45T00:00:00Z",
        "SELECT Id FROM Contact OFFSET 2001",
        "SELECT Id FROM Contact ;",
    ],
)
def test_malformed_queries_raise_soql_errors_not_crashes(text):
    with pytest.raises(soql.SoqlError):
        soql.parse(text, NOW)


def test_quote_round_trips_through_the_tokenizer():
    nasty = "it's a \\ back\nslash 'quoted' \"double\""
    tokens = soql.tokenize(soql.quote(nasty))
    assert tokens[0].kind == "string" and tokens[0].value == nasty


def test_numbers_are_decimals_and_count_is_parsed():
    query = soql.parse("SELECT COUNT() FROM Lead WHERE Amount >= 10.50")
    assert query.count and query.where.value == Decimal("10.50")


def test_lower_bound_of_a_keyset_filter_and_none_when_any_branch_is_unbounded():
    keyset = soql.parse(
        "SELECT Id FROM X WHERE (SystemModstamp > 2026-12-07T10:00:00Z OR (SystemModstamp = 2026-12-07T10:00:00Z AND Id > 'a'))"
    )
    assert soql.lower_bound(keyset.where, "SystemModstamp") == dt.datetime(2026, 12, 7, 10, tzinfo=UTC)
    both = soql.parse("SELECT Id FROM X WHERE SystemModstamp >= 2026-01-01T00:00:00Z AND SystemModstamp > 2026-02-01T00:00:00Z")
    assert soql.lower_bound(both.where, "SystemModstamp") == dt.datetime(2026, 2, 1, tzinfo=UTC)
    loose = soql.parse("SELECT Id FROM X WHERE SystemModstamp > 2026-01-01T00:00:00Z OR Name = 'x'")
    assert soql.lower_bound(loose.where, "SystemModstamp") is None
    assert (
        soql.lower_bound(soql.parse("SELECT Id FROM X WHERE NOT SystemModstamp > 2026-01-01T00:00:00Z").where, "SystemModstamp")
        is None
    )
