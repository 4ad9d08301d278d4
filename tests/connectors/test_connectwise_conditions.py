"""The ConnectWise conditions language: generated expressions evaluate as the reference
semantics say, and malformed ones are ConnectWise's 400 — never a crash."""

from __future__ import annotations

import contextlib
import datetime as dt
import re

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.connectwise import API_PATH
from connectors.connectwise.conditions import ConditionError, parse, quote
from connectors.connectwise.emulator import DEMO_CLIENT_ID, DEMO_COMPANY, DEMO_PRIVATE_KEY, DEMO_PUBLIC_KEY, ConnectWiseEmulator

# --- the reference semantics, written independently of the module under test -----------------------
UTC = dt.UTC
# Small alphabets so generated literals often hit generated values (in any letter case).
TEXT = st.text(alphabet="aAbB '\"\\*%", max_size=4)
SAFE_TEXT = st.text(alphabet="aAbB .", max_size=3)
DATES = st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 1, 1)).map(
    lambda d: d.replace(microsecond=0, tzinfo=UTC)
)


def lookup(record: dict, path: str):
    value = record
    for step in path.split("/"):
        value = value.get(step) if isinstance(value, dict) else None
    return value


def like_reference(pattern: str, text: str) -> bool:
    """Whole-string match where * and % stand for any run of characters (dynamic programming)."""
    p, t = pattern.casefold(), text.casefold()
    row = [True] + [False] * len(t)
    for ch in p:
        wild = ch in "*%"
        new = [row[0] and wild] + [False] * len(t)
        for j in range(1, len(t) + 1):
            new[j] = (new[j - 1] or row[j]) if wild else (row[j - 1] and t[j - 1] == ch)
        row = new
    return row[-1]


def as_instant(value):
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def reference_compare(value, op, literal) -> bool:
    if op == "in":
        return any(reference_compare(value, "=", item) for item in literal)
    if literal is None:
        return {"=": value is None, "!=": value is not None}.get(op, False)
    if value is None:
        return False
    if op == "contains":
        return literal.casefold() in str(value).casefold()
    if op == "like":
        return like_reference(literal, str(value))
    if isinstance(literal, bool):
        left, right = value, literal
    elif isinstance(literal, dt.datetime):
        left, right = as_instant(value), literal
        if left is None:
            return False
    elif isinstance(literal, (int, float)):
        left, right = float(value), float(literal)
    else:
        left, right = str(value).casefold(), literal.casefold()
    return {
        "=": left == right,
        "!=": left != right,
        "<": left < right,
        "<=": left <= right,
        ">": left > right,
        ">=": left >= right,
    }[op]


def reference_eval(tree, record) -> bool:
    kind = tree[0]
    if kind == "and":
        return all(reference_eval(t, record) for t in tree[1])
    if kind == "or":
        return any(reference_eval(t, record) for t in tree[1])
    if kind == "not":
        return not reference_eval(tree[1], record)
    _, path, op, literal, negated = tree
    result = reference_compare(lookup(record, path), op, literal)
    return not result if negated else result


# --- generating expressions and rendering them the way a client would type them --------------------
def render_literal(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return "[" + value.strftime("%Y-%m-%dT%H:%M:%SZ") + "]"
    if isinstance(value, (int, float)):
        return str(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def keyword(draw, word: str) -> str:
    return draw(st.sampled_from([word, word.upper(), word.capitalize()]))


@st.composite
def comparisons(draw):
    field = draw(st.sampled_from(["name", "count", "score", "active", "updated", "company/id", "company/name"]))
    if draw(st.integers(0, 5)) == 0:
        return ("cmp", field, draw(st.sampled_from(["=", "!="])), None, False)
    if field in ("name", "company/name"):
        op = draw(st.sampled_from(["=", "!=", "<", ">", "contains", "like", "in"]))
        if op == "in":
            return ("cmp", field, op, tuple(draw(st.lists(TEXT, min_size=1, max_size=4))), draw(st.booleans()))
        if op == "like":
            return ("cmp", field, op, draw(st.text(alphabet="aAbB*%", max_size=4)), draw(st.booleans()))
        return ("cmp", field, op, draw(TEXT), op in ("contains",) and draw(st.booleans()))
    if field in ("count", "company/id"):
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">=", "in"]))
        if op == "in":
            return ("cmp", field, op, tuple(draw(st.lists(st.integers(-5, 5), min_size=1, max_size=4))), draw(st.booleans()))
        return ("cmp", field, op, draw(st.integers(-5, 5)), False)
    if field == "score":
        return ("cmp", field, draw(st.sampled_from(["<", "<=", ">", ">=", "="])), float(draw(st.integers(-400, 400))) / 4, False)
    if field == "active":
        return ("cmp", field, draw(st.sampled_from(["=", "!="])), draw(st.booleans()), False)
    return ("cmp", field, draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="])), draw(DATES), False)


def trees():
    return st.recursive(
        comparisons(),
        lambda children: st.one_of(
            st.tuples(st.just("and"), st.lists(children, min_size=2, max_size=3)),
            st.tuples(st.just("or"), st.lists(children, min_size=2, max_size=3)),
            st.tuples(st.just("not"), children),
        ),
        max_leaves=8,
    )


@st.composite
def rendered(draw, tree):
    kind = tree[0]
    if kind in ("and", "or"):
        joiner = f" {keyword(draw, kind)} "
        return joiner.join("(" + draw(rendered(t)) + ")" for t in tree[1])
    if kind == "not":
        return f"{keyword(draw, 'not')} (" + draw(rendered(tree[1])) + ")"
    _, path, op, literal, negated = tree
    space = draw(st.sampled_from([" ", "  ", ""])) if op in ("=", "!=", "<", "<=", ">", ">=") else " "
    op_text = keyword(draw, op) if op.isalpha() else op
    neg = f"{keyword(draw, 'not')} " if negated else ""
    if op == "in":
        return f"{path} {neg}{op_text} (" + ", ".join(render_literal(v) for v in literal) + ")"
    return f"{path}{space}{neg}{op_text}{space}{render_literal(literal)}"


def maybe(strategy):
    """Mostly a value, sometimes null (absent)."""
    return st.one_of(st.none(), strategy, strategy, strategy)


@st.composite
def records(draw):
    return {
        "name": draw(maybe(TEXT)),
        "count": draw(maybe(st.integers(-5, 5))),
        "score": draw(maybe(st.integers(-400, 400).map(lambda n: n / 4))),
        "active": draw(maybe(st.booleans())),
        "updated": draw(maybe(DATES.map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")))),
        "company": draw(maybe(st.fixed_dictionaries({"id": st.integers(-5, 5), "name": SAFE_TEXT}))),
    }


@st.composite
def expression_and_tree(draw):
    tree = draw(trees())
    return draw(rendered(tree)), tree


# --- properties ---------------------------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(comparisons(), records(), st.data())
def test_every_generated_comparison_evaluates_as_the_reference_says(tree, row, data):
    text = data.draw(rendered(tree))
    node, expected = parse(text), reference_eval(tree, row)
    assert node.matches(row) == expected, (text, row)
    assert node.compile()(row) == expected, (text, row)  # the emulator's fast path agrees


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expression_and_tree(), st.lists(records(), min_size=1, max_size=5))
def test_generated_expressions_evaluate_as_the_reference_semantics_say(case, rows):
    text, tree = case
    node = parse(text)
    compiled = node.compile()
    for row in rows:
        expected = reference_eval(tree, row)
        assert node.matches(row) == expected, (text, row)
        assert compiled(row) == expected, (text, row)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="aAbBcC xyZ'\"\\", min_size=1, max_size=8), st.data())
def test_string_operators_ignore_letter_case_like_sql_server(value, data):
    start = data.draw(st.integers(0, len(value)))
    end = data.draw(st.integers(start, len(value)))
    piece = value[start:end].swapcase()
    row = {"name": value}
    assert parse(f"name contains {render_literal(piece)}").matches(row)
    assert parse(f"name = {render_literal(value.swapcase())}").matches(row)
    assert parse(f"name in ({render_literal('zzz-none')}, {render_literal(value.upper())})").matches(row)
    pattern = value[:start].swapcase().replace("*", "").replace("%", "") + "*"
    assert parse(f"name like {render_literal(pattern)}").matches(row) == like_reference(pattern, value)
    assert parse(f"name like {render_literal('*' + piece + '*')}").matches(row)


@settings(max_examples=200, deadline=None)
@given(comparisons(), comparisons(), comparisons(), records())
def test_and_binds_tighter_than_or_without_parentheses(a, b, c, row):
    text = " or ".join([render_plain(a), render_plain(b) + " and " + render_plain(c)])
    expected = reference_eval(a, row) or (reference_eval(b, row) and reference_eval(c, row))
    assert parse(text).matches(row) == expected


def render_plain(tree) -> str:
    _, path, op, literal, negated = tree
    neg = "not " if negated else ""
    if op == "in":
        return f"{path} {neg}in (" + ", ".join(render_literal(v) for v in literal) + ")"
    return f"{path} {neg}{op} {render_literal(literal)}"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_text_parses_or_raises_condition_error_never_anything_else(text):
    try:
        parse(text)
    except ConditionError as error:
        assert str(error)


@settings(max_examples=150, deadline=None)
@given(expression_and_tree(), st.data())
def test_mutilated_expressions_parse_or_raise_condition_error(case, data):
    text, _tree = case
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    junk = data.draw(st.text(alphabet="()[]\"',=!<> andornot", max_size=3))
    with contextlib.suppress(ConditionError):
        parse(text[:start] + junk + text[end:])


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet='abnamecidt/ ()[]"=!<>,0129-:TZ*', max_size=30))
def test_emulator_answers_any_conditions_with_a_page_or_connectwise_400(text):
    with _client(_emulator()) as api:
        response = api.get("/company/companies", params={"conditions": text})
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        body = response.json()
        assert body["code"] and body["message"]
        assert body["errors"][0]["field"] == "conditions"


_EMULATOR: list[ConnectWiseEmulator] = []


def _emulator() -> ConnectWiseEmulator:
    if not _EMULATOR:
        emulator = ConnectWiseEmulator(limits=False)
        emulator.add_company("Acme", "Acme")
        _EMULATOR.append(emulator)
    return _EMULATOR[0]


def _client(emulator) -> httpx.Client:
    return httpx.Client(
        transport=emulator.transport(),
        base_url="http://cw.test" + API_PATH,
        auth=httpx.BasicAuth(f"{DEMO_COMPANY}+{DEMO_PUBLIC_KEY}", DEMO_PRIVATE_KEY),
        headers={"clientId": DEMO_CLIENT_ID},
    )


@given(st.one_of(st.none(), st.booleans(), st.integers(-(10**6), 10**6), TEXT, DATES))
def test_quote_builds_literals_that_parse_back_to_the_same_value(value):
    assert parse("name = " + quote(value)).value == value


# --- examples that pin the documented behaviour ----------------------------------------------------------
@pytest.mark.parametrize(
    "text, expected",
    [
        ('name like "Ac*"', True),
        ('name like "*ME"', True),
        ('name like "c*"', False),
        ('name contains "cm"', True),
        ('name = "ACME"', True),
        ("company/id in (3, 4)", True),
        ("company/id not in (3, 4)", False),
        ('status/name = "Active" and not (company/id = 4)', True),
        ("lastUpdated > [2025-01-01T00:00:00Z]", True),
        ("lastUpdated >= [2025-06-01T00:00:00Z]", False),
        ("missing = null", True),
        ("missing != null", False),
        ("missing > 3", False),
        ("not missing > 3", True),
        ('types/name = "Customer"', True),
    ],
)
def test_documented_examples(text, expected):
    row = {
        "name": "Acme",
        "company": {"id": 3},
        "status": {"name": "Active"},
        "lastUpdated": "2025-02-01T10:00:00Z",
        "types": [{"name": "Prospect"}, {"name": "Customer"}],
    }
    assert parse(text).matches(row) is expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        ("name =", "expected a value"),
        ('name = "open', "unterminated string"),
        ("(name = 1", "expected ')'"),
        ("name = 1)", "unexpected ')'"),
        ("name ! 1", "'!' must be followed by '='"),
        ("name like 3", "like needs a quoted string"),
        ("lastUpdated > [yesterday]", "is not a date and time"),
        ("name in ()", "expected a value"),
        ("name not = 1", "expected contains, like or in"),
        ("company/ = 1", "cannot end with '/'"),
        ("not " * 100 + "a = 1", "nest deeper"),
    ],
)
def test_malformed_conditions_say_what_is_wrong_and_where(text, message):
    with pytest.raises(ConditionError, match=re.escape(message)):
        parse(text)


def test_strings_with_quotes_and_backslashes_round_trip():
    value = 'O"Brien \\ Sons'
    assert parse("name = " + quote(value)).matches({"name": value})
