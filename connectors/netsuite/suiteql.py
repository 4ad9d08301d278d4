"""SuiteQL, the subset the emulator answers and the connector writes: a tokenizer, a recursive-
descent parser into a small syntax tree, and an evaluator over in-memory rows.

Grammar (keywords and identifiers are case-insensitive, as in NetSuite):

    query      := SELECT [DISTINCT] items FROM ident [alias] [WHERE expr] [ORDER BY order (, order)*]
    items      := '*' | item (',' item)*
    item       := expr [[AS] ident]
    order      := expr [ASC | DESC]
    expr       := and (OR and)*
    and        := not (AND not)*
    not        := NOT not | predicate
    predicate  := concat [ cmp concat | IS [NOT] NULL | [NOT] IN '(' expr (, expr)* ')'
                         | [NOT] LIKE concat | [NOT] BETWEEN concat AND concat ]
    concat     := primary ('||' primary)*
    primary    := NUMBER | 'string' | NULL | '(' expr ')' | func '(' [expr (, expr)*] ')' | column
    column     := ident ['.' ident]
    func       := TO_CHAR | TO_TIMESTAMP | TO_DATE | LOWER | UPPER | NVL | COUNT | BUILTIN.DF

Values in rows are Python values (str, int, float, Decimal, bool, date, datetime, None). Oracle's
format models are translated for TO_CHAR / TO_TIMESTAMP / TO_DATE (YYYY, MM, DD, HH24, HH, MI,
SS, AM/PM and "quoted text"). Anything outside the grammar is a `SuiteQLError` with a position,
which the emulator answers as a 400 — never a crash.
"""

from __future__ import annotations

import datetime as dt
import heapq
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

KEYWORDS = {
    "SELECT",
    "DISTINCT",
    "FROM",
    "WHERE",
    "ORDER",
    "BY",
    "ASC",
    "DESC",
    "AND",
    "OR",
    "NOT",
    "IS",
    "NULL",
    "IN",
    "LIKE",
    "BETWEEN",
    "AS",
}
MAX_QUERY_CHARS = 100_000
MAX_DEPTH = 200


class SuiteQLError(ValueError):
    def __init__(self, message: str, position: int | None = None):
        super().__init__(message + (f" (at character {position + 1})" if position is not None else ""))
        self.position = position


# --- tokens -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    kind: str  # KEYWORD IDENT NUMBER STRING OP EOF
    value: str
    position: int


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<string>'(?:[^']|'')*')
  | (?P<quoted>"(?:[^"]|"")*")
  | (?P<ident>[A-Za-z_][A-Za-z0-9_$#]*)
  | (?P<op><>|!=|<=|>=|\|\||[=<>(),.*])
    """,
    re.VERBOSE,
)


def tokenize(text: str) -> list[Token]:
    if len(text) > MAX_QUERY_CHARS:
        raise SuiteQLError(f"The query is longer than {MAX_QUERY_CHARS:,} characters")
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise SuiteQLError(f"Unexpected character {text[position]!r}", position)
        kind = match.lastgroup or ""
        value = match.group()
        if kind == "number":
            tokens.append(Token("NUMBER", value, position))
        elif kind == "string":
            tokens.append(Token("STRING", value[1:-1].replace("''", "'"), position))
        elif kind == "quoted":
            tokens.append(Token("IDENT", value[1:-1].replace('""', '"').lower(), position))
        elif kind == "ident":
            upper = value.upper()
            tokens.append(Token("KEYWORD", upper, position) if upper in KEYWORDS else Token("IDENT", value.lower(), position))
        elif kind == "op":
            tokens.append(Token("OP", "<>" if value == "!=" else value, position))
        position = match.end()
    tokens.append(Token("EOF", "", len(text)))
    return tokens


# --- syntax tree ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class Column:
    name: str  # lower case, without the table alias


@dataclass(frozen=True)
class Call:
    name: str  # upper case, e.g. TO_CHAR, BUILTIN.DF
    args: tuple[Any, ...]


@dataclass(frozen=True)
class Star:
    pass


@dataclass(frozen=True)
class Binary:
    op: str  # = <> < <= > >= || AND OR LIKE
    left: Any
    right: Any


@dataclass(frozen=True)
class Not:
    operand: Any


@dataclass(frozen=True)
class IsNull:
    operand: Any
    negated: bool


@dataclass(frozen=True)
class InList:
    operand: Any
    values: tuple[Any, ...]
    negated: bool


@dataclass(frozen=True)
class Between:
    operand: Any
    low: Any
    high: Any
    negated: bool


@dataclass(frozen=True)
class SelectItem:
    expr: Any
    alias: str


@dataclass(frozen=True)
class Query:
    items: tuple[SelectItem, ...] | None  # None = *
    table: str
    where: Any | None
    order: tuple[tuple[Any, bool], ...]  # (expr, descending)
    distinct: bool = False


class Parser:
    def __init__(self, text: str):
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0

    # helpers
    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def accept(self, kind: str, value: str | None = None) -> Token | None:
        token = self.current
        if token.kind == kind and (value is None or token.value == value):
            return self.advance()
        return None

    def expect(self, kind: str, value: str | None = None) -> Token:
        token = self.accept(kind, value)
        if token is None:
            found = self.current.value or "the end of the query"
            raise SuiteQLError(f"Expected {value or kind.lower()} but found {found!r}", self.current.position)
        return token

    # grammar
    def parse(self) -> Query:
        self.expect("KEYWORD", "SELECT")
        distinct = bool(self.accept("KEYWORD", "DISTINCT"))
        items = None if self.accept("OP", "*") else self.select_items()
        self.expect("KEYWORD", "FROM")
        table = self.expect("IDENT").value
        alias = self.accept("IDENT")
        where = self.expr() if self.accept("KEYWORD", "WHERE") else None
        order: list[tuple[Any, bool]] = []
        if self.accept("KEYWORD", "ORDER"):
            self.expect("KEYWORD", "BY")
            order.append(self.order_item())
            while self.accept("OP", ","):
                order.append(self.order_item())
        if self.current.kind != "EOF":
            raise SuiteQLError(f"Unexpected {self.current.value!r}", self.current.position)
        query = Query(tuple(items) if items is not None else None, table, where, tuple(order), distinct)
        return _strip_alias(query, alias.value if alias else None)

    def select_items(self) -> list[SelectItem]:
        items = [self.select_item()]
        while self.accept("OP", ","):
            items.append(self.select_item())
        return items

    def select_item(self) -> SelectItem:
        start = self.current
        expr = self.expr()
        alias = None
        if self.accept("KEYWORD", "AS"):
            alias = self.expect("IDENT").value
        elif self.current.kind == "IDENT":
            alias = self.advance().value
        if alias is None:
            alias = expr.name.rsplit(".", 1)[-1] if isinstance(expr, Column) else f"expr{start.position}"
        return SelectItem(expr, alias)

    def order_item(self) -> tuple[Any, bool]:
        expr = self.expr()
        if self.accept("KEYWORD", "DESC"):
            return expr, True
        self.accept("KEYWORD", "ASC")
        return expr, False

    def expr(self) -> Any:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise SuiteQLError("The query nests too deeply", self.current.position)
        try:
            node = self.and_expr()
            while self.accept("KEYWORD", "OR"):
                node = Binary("OR", node, self.and_expr())
            return node
        finally:
            self.depth -= 1

    def and_expr(self) -> Any:
        node = self.not_expr()
        while self.accept("KEYWORD", "AND"):
            node = Binary("AND", node, self.not_expr())
        return node

    def not_expr(self) -> Any:
        if self.accept("KEYWORD", "NOT"):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise SuiteQLError("The query nests too deeply", self.current.position)
            try:
                return Not(self.not_expr())
            finally:
                self.depth -= 1
        return self.predicate()

    def predicate(self) -> Any:
        left = self.concat()
        token = self.current
        if token.kind == "OP" and token.value in ("=", "<>", "<", "<=", ">", ">="):
            self.advance()
            return Binary(token.value, left, self.concat())
        if self.accept("KEYWORD", "IS"):
            negated = bool(self.accept("KEYWORD", "NOT"))
            self.expect("KEYWORD", "NULL")
            return IsNull(left, negated)
        negated = bool(self.accept("KEYWORD", "NOT"))
        if self.accept("KEYWORD", "IN"):
            self.expect("OP", "(")
            values = [self.expr()]
            while self.accept("OP", ","):
                values.append(self.expr())
            self.expect("OP", ")")
            return InList(left, tuple(values), negated)
        if self.accept("KEYWORD", "LIKE"):
            node = Binary("LIKE", left, self.concat())
            return Not(node) if negated else node
        if self.accept("KEYWORD", "BETWEEN"):
            low = self.concat()
            self.expect("KEYWORD", "AND")
            return Between(left, low, self.concat(), negated)
        if negated:
            raise SuiteQLError("Expected IN, LIKE or BETWEEN after NOT", self.current.position)
        return left

    def concat(self) -> Any:
        node = self.primary()
        while self.accept("OP", "||"):
            node = Binary("||", node, self.primary())
        return node

    def primary(self) -> Any:
        token = self.current
        if self.accept("NUMBER"):
            return Literal(Decimal(token.value) if "." in token.value else int(token.value))
        if self.accept("STRING"):
            return Literal(token.value)
        if self.accept("KEYWORD", "NULL"):
            return Literal(None)
        if self.accept("OP", "("):
            node = self.expr()
            self.expect("OP", ")")
            return node
        if token.kind == "IDENT":
            self.advance()
            name = token.value
            if self.accept("OP", "."):
                name = f"{name}.{self.expect('IDENT').value}"
            if self.accept("OP", "("):
                return self.call(name.upper(), token.position)
            return Column(name)
        raise SuiteQLError(f"Unexpected {token.value or 'end of the query'!r}", token.position)

    def call(self, name: str, position: int) -> Call:
        if name not in FUNCTIONS:
            raise SuiteQLError(f"Unknown function {name}", position)
        args: list[Any] = []
        if name == "COUNT" and self.accept("OP", "*"):
            args.append(Star())
        elif not (self.current.kind == "OP" and self.current.value == ")"):
            args.append(self.expr())
            while self.accept("OP", ","):
                args.append(self.expr())
        self.expect("OP", ")")
        return Call(name, tuple(args))


def _strip_alias(query: Query, alias: str | None) -> Query:
    """`c.email` and `email` name the same column of the one table."""
    prefixes = {query.table + "."} | ({alias + "."} if alias else set())

    def strip(node: Any) -> Any:
        if isinstance(node, Column):
            for prefix in prefixes:
                if node.name.startswith(prefix):
                    return Column(node.name[len(prefix) :])
            if "." in node.name:
                raise SuiteQLError(f"Unknown table alias in {node.name}")
            return node
        if isinstance(node, Binary):
            return Binary(node.op, strip(node.left), strip(node.right))
        if isinstance(node, Not):
            return Not(strip(node.operand))
        if isinstance(node, IsNull):
            return IsNull(strip(node.operand), node.negated)
        if isinstance(node, InList):
            return InList(strip(node.operand), tuple(strip(v) for v in node.values), node.negated)
        if isinstance(node, Between):
            return Between(strip(node.operand), strip(node.low), strip(node.high), node.negated)
        if isinstance(node, Call):
            return Call(node.name, tuple(strip(a) for a in node.args))
        return node

    items = tuple(SelectItem(strip(i.expr), i.alias) for i in query.items) if query.items is not None else None
    return Query(
        items,
        query.table,
        strip(query.where) if query.where is not None else None,
        tuple((strip(e), d) for e, d in query.order),
        query.distinct,
    )


def parse(text: str) -> Query:
    return Parser(text).parse()


# --- Oracle format models --------------------------------------------------------------------------
_FORMAT_TOKEN = re.compile(r'"[^"]*"|YYYY|HH24|HH12|HH|MI|SS|MM|DD|AM|PM|.', re.IGNORECASE | re.DOTALL)


def format_datetime(value: dt.date, model: str) -> str:
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    out = []
    for part in _FORMAT_TOKEN.findall(model):
        upper = part.upper()
        if part.startswith('"'):
            out.append(part[1:-1])
        elif upper == "YYYY":
            out.append(f"{value.year:04d}")
        elif upper == "MM":
            out.append(f"{value.month:02d}")
        elif upper == "DD":
            out.append(f"{value.day:02d}")
        elif upper == "HH24":
            out.append(f"{value.hour:02d}")
        elif upper in ("HH", "HH12"):
            out.append(f"{(value.hour % 12) or 12:02d}")
        elif upper == "MI":
            out.append(f"{value.minute:02d}")
        elif upper == "SS":
            out.append(f"{value.second:02d}")
        elif upper in ("AM", "PM"):
            out.append("AM" if value.hour < 12 else "PM")
        else:
            out.append(part)
    return "".join(out)


def parse_datetime(text: str, model: str) -> dt.datetime:
    pattern, fields = [], []
    for part in _FORMAT_TOKEN.findall(model):
        upper = part.upper()
        if part.startswith('"'):
            pattern.append(re.escape(part[1:-1]))
        elif upper in ("YYYY",):
            pattern.append(r"(\d{4})")
            fields.append("year")
        elif upper in ("MM", "DD", "HH24", "HH", "HH12", "MI", "SS"):
            pattern.append(r"(\d{1,2})")
            fields.append({"MM": "month", "DD": "day", "HH24": "hour", "HH": "hour12", "HH12": "hour12"}.get(upper, upper))
        elif upper in ("AM", "PM"):
            pattern.append(r"([AaPp][Mm])")
            fields.append("meridian")
        else:
            pattern.append(re.escape(part))
    match = re.fullmatch("".join(pattern), str(text).strip())
    if match is None:
        raise SuiteQLError(f"{text!r} does not match the format {model!r}")
    values = dict(zip(fields, match.groups(), strict=True))  # one group per field
    hour = int(values.get("hour", 0))
    if "hour12" in values:
        hour = int(values["hour12"]) % 12 + (12 if str(values.get("meridian", "AM")).upper() == "PM" else 0)
    try:
        return dt.datetime(
            int(values.get("year", 1970)),
            int(values.get("month", 1)),
            int(values.get("day", 1)),
            hour,
            int(values.get("MI", 0)),
            int(values.get("SS", 0)),
            tzinfo=dt.UTC,
        )
    except ValueError as exc:
        raise SuiteQLError(f"{text!r} is not a valid date: {exc}") from None


# --- evaluation -------------------------------------------------------------------------------------
def _to_char(value: Any, model: Any = None) -> Any:
    if value is None:
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        return format_datetime(value, str(model or "MM/DD/YYYY"))
    return str(value)


def _to_timestamp(value: Any, model: Any = None) -> Any:
    if value is None:
        return None
    return parse_datetime(str(value), str(model or "YYYY-MM-DD HH24:MI:SS"))


def _to_date(value: Any, model: Any = None) -> Any:
    parsed = _to_timestamp(value, model or "MM/DD/YYYY")
    return parsed.date() if parsed else None


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "TO_CHAR": _to_char,
    "TO_TIMESTAMP": _to_timestamp,
    "TO_DATE": _to_date,
    "LOWER": lambda v: None if v is None else str(v).lower(),
    "UPPER": lambda v: None if v is None else str(v).upper(),
    "NVL": lambda v, default: default if v is None else v,
    "COUNT": None,  # aggregate: handled by the executor
    "BUILTIN.DF": None,  # display value of a reference: handled by the executor
}


def _comparable(left: Any, right: Any) -> tuple[Any, Any]:
    """Oracle-style implicit conversion: numbers with numbers, dates with dates, else text."""
    if isinstance(left, bool) or isinstance(right, bool):
        return _bool_text(left), _bool_text(right)
    if isinstance(left, dt.datetime) or isinstance(right, dt.datetime):
        return _as_datetime(left), _as_datetime(right)
    if isinstance(left, dt.date) or isinstance(right, dt.date):
        return _as_date(left), _as_date(right)
    if isinstance(left, (int, float, Decimal)) or isinstance(right, (int, float, Decimal)):
        try:
            return Decimal(str(left)), Decimal(str(right))
        except ArithmeticError:
            return str(left), str(right)
    return str(left), str(right)


def _bool_text(value: Any) -> str:
    if isinstance(value, bool):
        return "T" if value else "F"
    return str(value)


def _as_datetime(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    return parse_datetime(str(value), "MM/DD/YYYY")


def _as_date(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return parse_datetime(str(value), "MM/DD/YYYY").date()


def _like(value: Any, pattern: Any) -> bool:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in str(pattern))
    return re.fullmatch(regex, str(value), re.DOTALL) is not None


class Evaluator:
    """Evaluates expressions against one row. `display` gives BUILTIN.DF's text for a column."""

    def __init__(self, columns: Iterable[str], display: Callable[[str, Any], Any] | None = None):
        self.columns = set(columns)
        self.display = display or (lambda column, value: value)

    def check(self, node: Any) -> None:
        """Refuse unknown columns before touching any row (NetSuite names the field)."""
        if isinstance(node, Column) and node.name not in self.columns:
            raise SuiteQLError(f"Unknown identifier '{node.name}'")
        for child in _children(node):
            self.check(child)

    def value(self, node: Any, row: Mapping[str, Any]) -> Any:
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, Column):
            return row.get(node.name)
        if isinstance(node, Call):
            if node.name == "BUILTIN.DF":
                if len(node.args) != 1 or not isinstance(node.args[0], Column):
                    raise SuiteQLError("BUILTIN.DF takes one field")
                return self.display(node.args[0].name, row.get(node.args[0].name))
            if node.name == "COUNT":
                raise SuiteQLError("COUNT is only allowed as the only selected item")
            args = [self.value(a, row) for a in node.args]
            try:
                return FUNCTIONS[node.name](*args)
            except TypeError:
                raise SuiteQLError(f"Wrong number of arguments to {node.name}") from None
        if isinstance(node, Binary) and node.op == "||":
            return "".join(str(v) for v in (self.value(node.left, row), self.value(node.right, row)) if v is not None)
        return self.test(node, row)

    def test(self, node: Any, row: Mapping[str, Any]) -> bool | None:
        """Three-valued logic: None is SQL's UNKNOWN."""
        if isinstance(node, Binary) and node.op in ("AND", "OR"):
            left, right = self.test(node.left, row), self.test(node.right, row)
            return _and3(left, right) if node.op == "AND" else _or3(left, right)
        if isinstance(node, Not):
            inner = self.test(node.operand, row)
            return None if inner is None else not inner
        if isinstance(node, IsNull):
            return self._is_null(node, row)
        if isinstance(node, InList):
            return self._in_list(node, row)
        if isinstance(node, Between):
            return self._between(node, row)
        if isinstance(node, Binary):
            return self._compare(node, row)
        value = self.value(node, row)
        return None if value is None else bool(value)

    def _is_null(self, node: IsNull, row: Mapping[str, Any]) -> bool:
        value = self.value(node.operand, row)
        return (value is not None and value != "") if node.negated else (value is None or value == "")

    def _in_list(self, node: InList, row: Mapping[str, Any]) -> bool | None:
        value = self.value(node.operand, row)
        if value is None:
            return None
        found = any(_equal(value, self.value(v, row)) for v in node.values)
        return not found if node.negated else found

    def _between(self, node: Between, row: Mapping[str, Any]) -> bool | None:
        value, low, high = (self.value(n, row) for n in (node.operand, node.low, node.high))
        if value is None or low is None or high is None:
            return None
        a, b = _comparable(value, low)
        c, d = _comparable(value, high)
        inside = a >= b and c <= d
        return not inside if node.negated else inside

    def _compare(self, node: Binary, row: Mapping[str, Any]) -> bool | None:
        left, right = self.value(node.left, row), self.value(node.right, row)
        if left is None or right is None:
            return None
        if node.op == "LIKE":
            return _like(left, right)
        a, b = _comparable(left, right)
        return {
            "=": a == b,
            "<>": a != b,
            "<": a < b,
            "<=": a <= b,
            ">": a > b,
            ">=": a >= b,
        }[node.op]


def _and3(left: bool | None, right: bool | None) -> bool | None:
    """SQL's AND: False wins, then UNKNOWN."""
    if left is False or right is False:
        return False
    return None if left is None or right is None else True


def _or3(left: bool | None, right: bool | None) -> bool | None:
    """SQL's OR: True wins, then UNKNOWN."""
    if left is True or right is True:
        return True
    return None if left is None or right is None else False


# --- compiled evaluation (what execute uses): one closure per node, built once per query ----------------
Compiled = Callable[[Mapping[str, Any]], Any]
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "<>": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _member_key(value: Any) -> Any:
    """What IN compares: numbers as numbers, booleans as T/F, everything else as text (dates: None)."""
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, (dt.date, dt.datetime)):
        return None
    if isinstance(value, (int, Decimal, float)):
        return Decimal(str(value))
    text = str(value)
    try:
        return Decimal(text) if text.strip() and text.strip()[0] in "+-.0123456789" else text
    except ArithmeticError:
        return text


def compile_value(node: Any, evaluator: Evaluator) -> Compiled:
    if isinstance(node, Literal):
        constant = node.value
        return lambda row: constant
    if isinstance(node, Column):
        name = node.name
        return lambda row: row.get(name)
    if isinstance(node, Call):
        if node.name in ("BUILTIN.DF", "COUNT"):
            return lambda row: evaluator.value(node, row)
        function = FUNCTIONS[node.name]
        args = [compile_value(a, evaluator) for a in node.args]
        return lambda row: function(*(a(row) for a in args))
    if isinstance(node, Binary) and node.op == "||":
        left, right = compile_value(node.left, evaluator), compile_value(node.right, evaluator)
        return lambda row: "".join(str(v) for v in (left(row), right(row)) if v is not None)
    test = compile_test(node, evaluator)
    return test


def compile_test(node: Any, evaluator: Evaluator) -> Compiled:
    """A predicate with SQL's three-valued logic (None = UNKNOWN)."""
    if isinstance(node, Binary) and node.op in ("AND", "OR"):
        left, right = compile_test(node.left, evaluator), compile_test(node.right, evaluator)
        if node.op == "AND":

            def both(row: Mapping[str, Any]) -> bool | None:
                a = left(row)
                if a is False:
                    return False
                b = right(row)
                return False if b is False else (None if a is None or b is None else True)

            return both

        def either(row: Mapping[str, Any]) -> bool | None:
            a = left(row)
            if a is True:
                return True
            b = right(row)
            return True if b is True else (None if a is None or b is None else False)

        return either
    if isinstance(node, Not):
        inner = compile_test(node.operand, evaluator)
        return lambda row: None if (v := inner(row)) is None else not v
    if isinstance(node, IsNull):
        operand, negated = compile_value(node.operand, evaluator), node.negated
        return lambda row: ((v := operand(row)) is not None and v != "") if negated else ((v := operand(row)) is None or v == "")
    if isinstance(node, InList) and all(isinstance(v, Literal) for v in node.values):
        keys = {_member_key(v.value) for v in node.values if v.value is not None}
        if None not in keys:  # no dates among the values: set membership
            operand, negated = compile_value(node.operand, evaluator), node.negated

            def member(row: Mapping[str, Any]) -> bool | None:
                value = operand(row)
                if value is None:
                    return None
                key = _member_key(value)
                if key is None:
                    return evaluator.test(node, row)
                return (key not in keys) if negated else (key in keys)

            return member
    if isinstance(node, Binary) and node.op in _COMPARE and isinstance(node.right, Literal) and node.right.value is not None:
        left, constant, compare = compile_value(node.left, evaluator), node.right.value, _COMPARE[node.op]

        def compare_to_constant(row: Mapping[str, Any]) -> bool | None:
            value = left(row)
            if value is None:
                return None
            a, b = _comparable(value, constant)
            return compare(a, b)

        return compare_to_constant
    return lambda row: evaluator.test(node, row)


def _equal(left: Any, right: Any) -> bool:
    if right is None:
        return False
    a, b = _comparable(left, right)
    return a == b


def _children(node: Any) -> Sequence[Any]:
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, (Not, IsNull)):
        return (node.operand,)
    if isinstance(node, InList):
        return (node.operand, *node.values)
    if isinstance(node, Between):
        return (node.operand, node.low, node.high)
    if isinstance(node, Call):
        return node.args
    return ()


def _sort_key(value: Any) -> tuple:
    # Oracle sorts NULLs last in ascending order.
    if value is None:
        return (1, 0, "")
    if isinstance(value, bool):
        return (0, 0, "T" if value else "F")
    if isinstance(value, (int, float, Decimal)):
        return (0, 1, Decimal(str(value)))
    if isinstance(value, dt.datetime):
        return (0, 2, value.timestamp())
    if isinstance(value, dt.date):
        return (0, 2, dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC).timestamp())
    return (0, 3, str(value))


def fold(node: Any) -> Any:
    """Constant folding: a function of literals (TO_TIMESTAMP('…', '…')) is computed once per
    query, not once per row."""
    if isinstance(node, Call):
        args = tuple(fold(a) for a in node.args)
        if node.name not in ("COUNT", "BUILTIN.DF") and all(isinstance(a, Literal) for a in args):
            try:
                return Literal(FUNCTIONS[node.name](*(a.value for a in args)))
            except TypeError:
                raise SuiteQLError(f"Wrong number of arguments to {node.name}") from None
        return Call(node.name, args)
    if isinstance(node, Binary):
        return Binary(node.op, fold(node.left), fold(node.right))
    if isinstance(node, Not):
        return Not(fold(node.operand))
    if isinstance(node, IsNull):
        return IsNull(fold(node.operand), node.negated)
    if isinstance(node, InList):
        return InList(fold(node.operand), tuple(fold(v) for v in node.values), node.negated)
    if isinstance(node, Between):
        return Between(fold(node.operand), fold(node.low), fold(node.high), node.negated)
    return node


def execute(
    query: Query,
    rows: Iterable[Mapping[str, Any]],
    columns: Iterable[str],
    display: Callable[[str, Any], Any] | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Run a parsed query over rows (dicts keyed by lower-case column). Returns the result rows
    from `offset` (at most `limit` of them) and the total number of results. Only the returned
    rows are projected, and ordering keeps just the first offset + limit rows it needs."""
    evaluator = Evaluator(columns, display)
    _check_columns(query, evaluator)
    where = fold(query.where) if query.where is not None else None
    order = [(fold(e), d) for e, d in query.order]
    matched = _matching(where, rows, evaluator)
    if _counts_only(query):
        return [{query.items[0].alias: len(matched)}][offset : offset + (limit or 1)], 1
    total = len(matched)
    wanted = None if (limit is None or query.distinct) else offset + limit
    matched = _ordered(matched, order, evaluator, wanted)
    window = slice(offset, None if limit is None else offset + limit)
    if query.distinct:
        projected = _unique([_project(query, evaluator, row) for row in matched])
        return projected[window], len(projected)
    return [_project(query, evaluator, row) for row in matched[window]], total


def _check_columns(query: Query, evaluator: Evaluator) -> None:
    """Every expression of the query names known columns and functions (raises SuiteQLError)."""
    for node in [query.where, *(e for e, _ in query.order), *(i.expr for i in query.items or ())]:
        if node is not None:
            evaluator.check(node)


def _matching(where: Any, rows: Iterable[Mapping[str, Any]], evaluator: Evaluator) -> list[Mapping[str, Any]]:
    """The rows the WHERE clause is TRUE for (UNKNOWN does not match)."""
    test = compile_test(where, evaluator) if where is not None else None
    return [row for row in rows if test is None or test(row) is True]


def _counts_only(query: Query) -> bool:
    """SELECT COUNT(*) alone: the answer is one row with the number of matches."""
    items = query.items
    return bool(items) and len(items) == 1 and isinstance(items[0].expr, Call) and items[0].expr.name == "COUNT"


def _ordered(rows: list[Mapping[str, Any]], order: list[tuple[Any, bool]], evaluator: Evaluator, wanted: int | None) -> list:
    if not order:
        return rows
    if len({d for _, d in order}) == 1:
        parts = [compile_value(e, evaluator) for e, _ in order]

        def key(row: Mapping[str, Any]) -> tuple:
            return tuple(_sort_key(part(row)) for part in parts)

        descending = order[0][1]
        if wanted is not None and wanted < len(rows):
            pick = heapq.nlargest if descending else heapq.nsmallest
            return pick(wanted, rows, key=key)
        return sorted(rows, key=key, reverse=descending)
    for expr, descending in reversed(order):
        rows = sorted(rows, key=lambda row: _sort_key(evaluator.value(expr, row)), reverse=descending)
    return rows


def _project(query: Query, evaluator: Evaluator, row: Mapping[str, Any]) -> dict[str, Any]:
    if query.items is None:
        return dict(row)
    return {item.alias: evaluator.value(fold(item.expr), row) for item in query.items}


def _unique(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen, unique = set(), []
    for row in rows:
        key = tuple(sorted((k, str(v)) for k, v in row.items()))
        if key not in seen:
            seen.add(key)
            unique.append(row)
    return unique


# --- writing SuiteQL (the connector) ------------------------------------------------------------------
def literal(value: Any) -> str:
    """A value as a SuiteQL literal: numbers bare, everything else a quoted string."""
    if isinstance(value, bool):
        return "'T'" if value else "'F'"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


TIMESTAMP_MODEL = "YYYY-MM-DD HH24:MI:SS"


def timestamp_literal(value: dt.datetime) -> str:
    value = value.astimezone(dt.UTC) if value.tzinfo else value
    return f"TO_TIMESTAMP('{value.strftime('%Y-%m-%d %H:%M:%S')}', '{TIMESTAMP_MODEL}')"
