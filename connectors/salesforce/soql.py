"""The subset of SOQL the emulator answers: a tokenizer, a recursive-descent parser and an
evaluator over plain dict rows.

Grammar (after the SOQL and SOSL Reference, "SOQL SELECT Syntax"):

    query      := SELECT select_list FROM name [WHERE cond] [ORDER BY order (, order)*]
                  [LIMIT n] [OFFSET n]
    select_list:= COUNT() | name (, name)*
    cond       := and_cond (OR and_cond)*
    and_cond   := unary (AND unary)*
    unary      := NOT unary | '(' cond ')' | name op value | name [NOT] IN '(' value (, value)* ')'
                  | name LIKE string
    op         := = | != | <> | < | <= | > | >=
    value      := 'string' | number | TRUE | FALSE | NULL | date | datetime | date literal
    date lit.  := TODAY | YESTERDAY | TOMORROW | LAST_N_DAYS:n | NEXT_N_DAYS:n | THIS_MONTH ...
    order      := name [ASC | DESC] [NULLS FIRST | NULLS LAST]

Semantics kept from Salesforce: string comparisons are case-insensitive, LIKE takes `%` and `_`
wildcards (case-insensitive), `= null` / `!= null` test for a missing value, date literals are
ranges (`CreatedDate = TODAY` is true for any time today, `> TODAY` means after today ends),
ORDER BY sorts nulls first ascending unless NULLS LAST, and mixing AND and OR without
parentheses is a MALFORMED_QUERY, as Salesforce requires.

Not parsed (a MALFORMED_QUERY): relationship fields (`Account.Name`), sub-queries, GROUP BY and
aggregate functions other than COUNT(), INCLUDES/EXCLUDES, FOR UPDATE, TYPEOF, WITH, USING SCOPE.
"""

from __future__ import annotations

import datetime as dt
import heapq
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

UTC = dt.UTC


class SoqlError(ValueError):
    """A query Salesforce would refuse; `code` is its errorCode (MALFORMED_QUERY, INVALID_FIELD...)."""

    def __init__(self, message: str, code: str = "MALFORMED_QUERY"):
        super().__init__(message)
        self.message = message
        self.code = code


# --- tokens -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    kind: str  # name, string, number, datetime, date, op, punct, end
    text: str
    value: Any = None
    pos: int = 0


KEYWORDS = {
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "IN",
    "LIKE",
    "ORDER",
    "BY",
    "ASC",
    "DESC",
    "NULLS",
    "FIRST",
    "LAST",
    "LIMIT",
    "OFFSET",
    "NULL",
    "TRUE",
    "FALSE",
    "COUNT",
}
_DATETIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})")
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?![\dT])")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*(:\d+)?")
_OPS = ("<=", ">=", "!=", "<>", "=", "<", ">")


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch == "'":
            value, i = _read_string(text, i)
            tokens.append(Token("string", value, value, i))
            continue
        if ch in "(),":
            tokens.append(Token("punct", ch, None, i))
            i += 1
            continue
        op = next((o for o in _OPS if text.startswith(o, i)), None)
        if op:
            tokens.append(Token("op", op, None, i))
            i += len(op)
            continue
        m = _DATETIME.match(text, i)
        if m:
            tokens.append(Token("datetime", m.group(0), _parse_datetime(m), i))
            i = m.end()
            continue
        m = _DATE.match(text, i)
        if m:
            try:
                value = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                raise SoqlError(f"invalid date: {m.group(0)}") from None
            tokens.append(Token("date", m.group(0), value, i))
            i = m.end()
            continue
        m = _NUMBER.match(text, i)
        if m and (ch.isdigit() or ch in "+-."):
            try:
                tokens.append(Token("number", m.group(0), Decimal(m.group(0)), i))
            except InvalidOperation:
                raise SoqlError(f"invalid number: {m.group(0)}") from None
            i = m.end()
            continue
        m = _NAME.match(text, i)
        if m:
            tokens.append(Token("name", m.group(0), None, i))
            i = m.end()
            continue
        raise SoqlError(f"unexpected token: '{text[i : i + 20]}'")
    tokens.append(Token("end", "", None, n))
    return tokens


def _read_string(text: str, start: int) -> tuple[str, int]:
    out: list[str] = []
    i = start + 1
    escapes = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\", "%": "\\%", "_": "\\_"}
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 >= len(text) or text[i + 1] not in escapes:
                raise SoqlError("Invalid string literal: unknown escape sequence")
            out.append(escapes[text[i + 1]])
            i += 2
            continue
        if ch == "'":
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise SoqlError("unexpected end of query: unterminated string literal")


def _parse_datetime(m: re.Match) -> dt.datetime:
    year, month, day, hour, minute, second = (int(m.group(k)) for k in range(1, 7))
    micro = int(float(m.group(7)) * 1_000_000) if m.group(7) else 0
    zone = m.group(8)
    if zone == "Z":
        tz = UTC
    else:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        tz = dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        return dt.datetime(year, month, day, hour, minute, second, micro, tzinfo=tz).astimezone(UTC)
    except ValueError:
        raise SoqlError(f"invalid datetime: {m.group(0)}") from None


# --- syntax tree --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DateRange:
    """A date literal such as TODAY or LAST_N_DAYS:7: [start, end) in UTC."""

    name: str
    start: dt.datetime
    end: dt.datetime


@dataclass
class Comparison:
    field: str
    op: str  # = != < <= > >= IN NOT IN LIKE
    value: Any
    compiled: Any = field(default=None, repr=False, compare=False)  # LIKE's regex, IN's key set (per query)


@dataclass
class BoolOp:
    op: str  # AND / OR
    items: list[Any]


@dataclass
class Not:
    item: Any


@dataclass
class Order:
    field: str
    descending: bool = False
    nulls_last: bool = False


@dataclass
class Query:
    sobject: str
    fields: list[str]
    count: bool = False
    where: Any = None
    order: list[Order] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0

    def field_names(self) -> set[str]:
        """Every field the query names (select list, filters, ordering), for validation."""
        names = {f for f in self.fields}
        names.update(o.field for o in self.order)
        stack = [self.where] if self.where is not None else []
        while stack:
            node = stack.pop()
            if isinstance(node, Comparison):
                names.add(node.field)
            elif isinstance(node, BoolOp):
                stack.extend(node.items)
            elif isinstance(node, Not):
                stack.append(node.item)
        return names


# --- parser -------------------------------------------------------------------------------------------
class Parser:
    def __init__(self, text: str, now: dt.datetime | None = None):
        self.tokens = tokenize(text)
        self.i = 0
        self.now = now or dt.datetime.now(UTC)

    # token helpers
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def _keyword(self, word: str) -> bool:
        return self.tok.kind == "name" and self.tok.text.upper() == word

    def _accept(self, word: str) -> bool:
        if self._keyword(word) or (self.tok.kind in ("punct", "op") and self.tok.text == word):
            self.i += 1
            return True
        return False

    def _expect(self, word: str) -> None:
        if not self._accept(word):
            found = self.tok.text or "end of query"
            raise SoqlError(f"unexpected token: '{found}' (expecting '{word}')")

    def _name(self) -> str:
        tok = self.tok
        if tok.kind != "name" or tok.text.upper() in KEYWORDS:
            raise SoqlError(f"unexpected token: '{tok.text or 'end of query'}' (expecting a field or object name)")
        if "." in tok.text:
            raise SoqlError(f"Didn't understand relationship '{tok.text.split('.')[0]}' in field path", "INVALID_FIELD")
        self.i += 1
        return tok.text

    def _integer(self) -> int:
        tok = self.tok
        if tok.kind != "number" or "." in tok.text or tok.text.startswith(("+", "-")):
            raise SoqlError(f"unexpected token: '{tok.text or 'end of query'}' (expecting a non-negative integer)")
        self.i += 1
        return int(tok.text)

    # grammar
    def parse(self) -> Query:
        self._expect("SELECT")
        count, fields = False, []
        if self._keyword("COUNT"):
            self.i += 1
            self._expect("(")
            self._expect(")")
            count = True
        else:
            fields.append(self._name())
            while self._accept(","):
                fields.append(self._name())
        self._expect("FROM")
        query = Query(sobject=self._name(), fields=fields, count=count)
        if self._accept("WHERE"):
            query.where = self._condition()
        if self._accept("ORDER"):
            self._expect("BY")
            query.order.append(self._order())
            while self._accept(","):
                query.order.append(self._order())
        if self._accept("LIMIT"):
            query.limit = self._integer()
        if self._accept("OFFSET"):
            query.offset = self._integer()
            if query.offset > 2000:
                raise SoqlError("Maximum SOQL offset allowed is 2000", "NUMBER_OUTSIDE_VALID_RANGE")
        if self.tok.kind != "end":
            raise SoqlError(f"unexpected token: '{self.tok.text}'")
        return query

    def _order(self) -> Order:
        order = Order(self._name())
        if self._accept("DESC"):
            order.descending = True
        else:
            self._accept("ASC")
        order.nulls_last = order.descending  # Salesforce: nulls first ascending, last descending
        if self._accept("NULLS"):
            if self._accept("LAST"):
                order.nulls_last = True
            else:
                self._expect("FIRST")
                order.nulls_last = False
        return order

    def _condition(self) -> Any:
        items = [self._unary()]
        op = None
        while self._keyword("AND") or self._keyword("OR"):
            word = self.tok.text.upper()
            if op and word != op:
                raise SoqlError("unexpected token: '" + self.tok.text + "': use parentheses to mix AND and OR")
            op = word
            self.i += 1
            items.append(self._unary())
        return items[0] if op is None else BoolOp(op, items)

    def _unary(self) -> Any:
        if self._accept("NOT"):
            return Not(self._unary())
        if self._accept("("):
            inner = self._condition()
            self._expect(")")
            return inner
        name = self._name()
        if self._accept("NOT"):
            self._expect("IN")
            return Comparison(name, "NOT IN", self._value_list())
        if self._accept("IN"):
            return Comparison(name, "IN", self._value_list())
        if self._accept("LIKE"):
            if self.tok.kind != "string":
                raise SoqlError("LIKE needs a string literal")
            value = self.tok.value
            self.i += 1
            return Comparison(name, "LIKE", value)
        if self.tok.kind != "op":
            raise SoqlError(f"unexpected token: '{self.tok.text or 'end of query'}' (expecting an operator)")
        op = "!=" if self.tok.text == "<>" else self.tok.text
        self.i += 1
        return Comparison(name, op, self._value())

    def _value_list(self) -> list[Any]:
        self._expect("(")
        values = [self._value()]
        while self._accept(","):
            values.append(self._value())
        self._expect(")")
        return values

    def _value(self) -> Any:
        tok = self.tok
        self.i += 1
        if tok.kind in ("string", "number", "datetime", "date"):
            return tok.value
        if tok.kind == "name":
            word = tok.text.upper()
            if word == "NULL":
                return None
            if word in ("TRUE", "FALSE"):
                return word == "TRUE"
            return date_literal(word, self.now)
        raise SoqlError(f"unexpected token: '{tok.text or 'end of query'}' (expecting a value)")


def parse(text: str, now: dt.datetime | None = None) -> Query:
    return Parser(text, now).parse()


def _day(now: dt.datetime, offset: int = 0) -> dt.datetime:
    return dt.datetime.combine(now.date(), dt.time(), UTC) + dt.timedelta(days=offset)


def date_literal(word: str, now: dt.datetime) -> DateRange:
    """TODAY, YESTERDAY, TOMORROW, LAST_N_DAYS:n, NEXT_N_DAYS:n, THIS_MONTH, LAST_MONTH, THIS_YEAR (UTC)."""
    name, _, arg = word.partition(":")
    fixed: dict[str, tuple[int, int]] = {"TODAY": (0, 1), "YESTERDAY": (-1, 0), "TOMORROW": (1, 2)}
    if name in fixed:
        start, end = fixed[name]
        return DateRange(word, _day(now, start), _day(now, end))
    if name in ("LAST_N_DAYS", "NEXT_N_DAYS") and arg.isdigit():
        n = int(arg)
        if name == "LAST_N_DAYS":  # Salesforce: starts n days ago at 00:00, continues up to now (today included)
            return DateRange(word, _day(now, -n), _day(now, 1))
        return DateRange(word, _day(now, 1), _day(now, n + 1))
    if name == "THIS_MONTH":
        start = dt.datetime(now.year, now.month, 1, tzinfo=UTC)
        end = dt.datetime(now.year + (now.month == 12), now.month % 12 + 1, 1, tzinfo=UTC)
        return DateRange(word, start, end)
    if name == "LAST_MONTH":
        end = dt.datetime(now.year, now.month, 1, tzinfo=UTC)
        start = dt.datetime(end.year - (end.month == 1), (end.month - 2) % 12 + 1, 1, tzinfo=UTC)
        return DateRange(word, start, end)
    if name == "THIS_YEAR":
        return DateRange(word, dt.datetime(now.year, 1, 1, tzinfo=UTC), dt.datetime(now.year + 1, 1, 1, tzinfo=UTC))
    raise SoqlError(f"unexpected token: '{word}' (expecting a value or a date literal)")


# --- evaluation ---------------------------------------------------------------------------------------
FieldKind = Callable[[str], str]  # field name -> "string", "datetime", "date", "number", "boolean"


def matches(node: Any, row: dict[str, Any], kind_of: FieldKind) -> bool:
    if node is None:
        return True
    if isinstance(node, BoolOp):
        results = (matches(item, row, kind_of) for item in node.items)
        return all(results) if node.op == "AND" else any(results)
    if isinstance(node, Not):
        return not matches(node.item, row, kind_of)
    return _compare(node, row.get(node.field), kind_of(node.field))


def check_types(node: Any, kind_of: FieldKind) -> None:
    """Refuse literals of the wrong type for their field, as Salesforce does before running a query."""
    if node is None:
        return
    if isinstance(node, BoolOp):
        for item in node.items:
            check_types(item, kind_of)
        return
    if isinstance(node, Not):
        check_types(node.item, kind_of)
        return
    kind = kind_of(node.field)
    values = node.value if isinstance(node.value, list) else [node.value]
    for value in values:
        if value is None or isinstance(value, DateRange):
            if isinstance(value, DateRange) and kind not in ("date", "datetime"):
                raise SoqlError(f"value of filter criterion for field '{node.field}' must be of type {kind}", "INVALID_FIELD")
            continue
        expected = {
            "datetime": dt.datetime,
            "date": dt.date,
            "number": Decimal,
            "boolean": bool,
        }.get(kind, str)
        ok = isinstance(value, expected) and not (expected is dt.date and isinstance(value, dt.datetime))
        if not ok:
            quoting = "should be enclosed in quotes" if expected is str else "should not be enclosed in quotes"
            raise SoqlError(
                f"value of filter criterion for field '{node.field}' must be of type {kind} and {quoting}", "INVALID_FIELD"
            )
    if node.op == "LIKE" and kind not in ("string",):
        raise SoqlError(f"invalid operator on {kind} field: LIKE", "INVALID_FIELD")


def _compare(node: Comparison, actual: Any, kind: str) -> bool:
    op, value = node.op, node.value
    if op in ("IN", "NOT IN"):
        found = _in(node, actual, kind)
        return found if op == "IN" else not found
    if op == "LIKE":
        if node.compiled is None:
            node.compiled = _like(str(value))  # once per query, not once per row
        return actual is not None and node.compiled.fullmatch(str(actual)) is not None
    if isinstance(value, DateRange):
        return _compare_range(op, actual, value, kind)
    if op == "=":
        return _equal(actual, value, kind)
    if op == "!=":
        return not _equal(actual, value, kind)
    if actual is None or value is None:
        return False
    left, right = _key(actual, kind), _key(value, kind)
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


def _in(node: Comparison, actual: Any, kind: str) -> bool:
    """IN by a set of the values' keys, built once per query (a look-up of 100 e-mails over a large table)."""
    if node.compiled is None:
        plain = [v for v in node.value if v is not None and not isinstance(v, DateRange)]
        node.compiled = ({_key(v, kind) for v in plain}, [v for v in node.value if v is None or isinstance(v, DateRange)])
    keys, others = node.compiled
    if actual is not None:
        try:
            if _key(actual, kind) in keys:
                return True
        except (TypeError, ArithmeticError):
            pass
    return any(_equal(actual, v, kind) for v in others)


def _compare_range(op: str, actual: Any, value: DateRange, kind: str) -> bool:
    if actual is None:
        return op == "!="
    moment = actual if isinstance(actual, dt.datetime) else dt.datetime.combine(actual, dt.time(), UTC)
    inside = value.start <= moment < value.end
    return {
        "=": inside,
        "!=": not inside,
        "<": moment < value.start,
        "<=": moment < value.end,
        ">": moment >= value.end,
        ">=": moment >= value.start,
    }[op]


def _equal(actual: Any, value: Any, kind: str) -> bool:
    if value is None or actual is None:
        return actual is None and value is None
    if isinstance(value, DateRange):
        return _compare_range("=", actual, value, kind)
    return _key(actual, kind) == _key(value, kind)


def _key(value: Any, kind: str) -> Any:
    if kind == "string":
        return str(value).lower()
    if kind == "number":
        return Decimal(str(value))
    return value


def _like(pattern: str) -> re.Pattern:
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def lower_bound(node: Any, field_name: str) -> dt.datetime | None:
    """The least value of `field_name` any matching row can have, when the filter implies one (a
    change feed's `SystemModstamp > t OR (SystemModstamp = t AND Id > x)`), else None. Lets the
    emulator read an index instead of every row, as Salesforce's SystemModstamp index does."""
    if isinstance(node, Comparison):
        if node.field == field_name and node.op in (">", ">=", "=") and isinstance(node.value, dt.datetime):
            return node.value
        return None
    if isinstance(node, BoolOp):
        bounds = [lower_bound(item, field_name) for item in node.items]
        if node.op == "AND":
            known = [b for b in bounds if b is not None]
            return max(known) if known else None
        return None if any(b is None for b in bounds) else min(bounds)
    return None


def sort_rows(
    rows: list[dict[str, Any]], order: list[Order], kind_of: FieldKind, first: int | None = None
) -> list[dict[str, Any]]:
    """Rows in ORDER BY order; with `first`, only the first `first` of them are needed (LIMIT + OFFSET).
    Ascending keys sort on one composite key (a heap when only the first rows are needed: a change
    feed's page of 2,000 out of a large table); descending keys take stable sorts, last key first."""
    if all(not key.descending for key in order):
        kinds = [(key.field, kind_of(key.field), key.nulls_last) for key in order]

        def composite(row: dict[str, Any]) -> tuple:
            parts: list[Any] = []
            for name, kind, nulls_last in kinds:
                value = row.get(name)
                missing = value is None
                parts.append((missing if nulls_last else not missing, None if missing else _key(value, kind)))
            return tuple(parts)

        if first is not None and first < len(rows):
            return heapq.nsmallest(first, rows, key=composite)  # stable: ties keep their order, as sorted() does
        return sorted(rows, key=composite)
    for key in reversed(order):
        kind = kind_of(key.field)
        present = [r for r in rows if r.get(key.field) is not None]
        missing = [r for r in rows if r.get(key.field) is None]
        present.sort(key=lambda r: _key(r[key.field], kind), reverse=key.descending)
        rows = present + missing if key.nulls_last else missing + present
    return rows


def quote(value: str) -> str:
    """A SOQL string literal for `value` (the escapes the SOQL reference lists)."""
    escaped = (
        str(value)
        .replace("\\", "\\\\")
        .replace("'", "\\'")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
        .replace("\b", "\\b")
        .replace("\f", "\\f")
        .replace('"', '\\"')
    )
    return f"'{escaped}'"


def datetime_literal(value: dt.datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
