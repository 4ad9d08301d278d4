"""The OData v4 `$filter` subset Dataverse clients use: a parser, an evaluator and a renderer.

    parse_filter("emailaddress1 eq 'a@b.com' or contains(name,'acme')") -> Or(...)
    matches(ast, row) -> bool             (the emulator filters rows with it)
    render(ast) -> "..."                  (the connector builds filters with it; parse(render(x)) == x)

Supported: comparison operators eq, ne, gt, ge, lt, le; logical and, or, not; parentheses;
the string functions contains, startswith, endswith; the Dataverse query function
Microsoft.Dynamics.CRM.In(PropertyName='x',PropertyValues=['a','b']); literals: 'strings'
(with '' as an escaped quote), integers, decimals, true, false, null, GUIDs and ISO dates /
date-times (unquoted, as OData writes them). Operator precedence as in the OData ABNF:
`not` binds tightest, then comparisons, then `and`, then `or`.

String comparisons are case-insensitive, because Dataverse's default SQL collation is; that is
why a look-up by `emailaddress1 eq 'A@B.COM'` finds `a@b.com` in the real service too.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

COMPARISONS = ("eq", "ne", "gt", "ge", "lt", "le")
STRING_FUNCTIONS = ("contains", "startswith", "endswith")
IN_FUNCTION = "Microsoft.Dynamics.CRM.In"


class ODataError(ValueError):
    """A query Dataverse would refuse with 400 (code 0x80060888, "Syntax error...")."""

    code = "0x80060888"


# --- the syntax tree ------------------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    name: str


@dataclass(frozen=True)
class Literal:
    value: Any  # str, int, Decimal, bool, None, uuid.UUID, dt.date, dt.datetime


@dataclass(frozen=True)
class Compare:
    op: str
    left: Field
    right: Literal


@dataclass(frozen=True)
class Call:
    name: str  # contains / startswith / endswith
    field: Field
    value: Literal


@dataclass(frozen=True)
class In:
    field: Field
    values: tuple[Literal, ...]


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class And:
    left: Node
    right: Node


@dataclass(frozen=True)
class Or:
    left: Node
    right: Node


Node = Compare | Call | In | Not | And | Or

# --- tokens ---------------------------------------------------------------------------------
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-]))
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\w:]))
  | (?P<number>-?\d+(?:\.\d+)?(?![\w.]))
  | (?P<name>[A-Za-z_][\w.]*(?:/[A-Za-z_][\w.]*)*)
  | (?P<punct>[(),=\[\]])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int


def tokenize(text: str) -> list[Token]:
    tokens, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ODataError(f"Syntax error at position {pos} in '{text}'.")
        if m.lastgroup != "ws":
            tokens.append(Token(m.lastgroup or "", m.group(), pos))
        pos = m.end()
    return tokens


# --- parsing: recursive descent, one function per precedence level ------------------------------
class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self, offset: int = 0) -> Token | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def fail(self, what: str) -> ODataError:
        token = self.peek()
        pos = token.pos if token else len(self.text)
        return ODataError(f"Syntax error at position {pos} in '{self.text}': expected {what}.")

    def take(self, kind: str | None = None, text: str | None = None) -> Token:
        token = self.peek()
        if token is None or (kind and token.kind != kind) or (text is not None and token.text != text):
            raise self.fail(repr(text) if text else kind or "more input")
        self.i += 1
        return token

    def at_word(self, word: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "name" and token.text == word

    def parse(self) -> Node:
        if not self.tokens:
            raise ODataError("The $filter expression is empty.")
        node = self.or_expr()
        if self.peek() is not None:
            raise self.fail("end of expression")
        return node

    def or_expr(self) -> Node:
        node = self.and_expr()
        while self.at_word("or"):
            self.i += 1
            node = Or(node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        node = self.unary()
        while self.at_word("and"):
            self.i += 1
            node = And(node, self.unary())
        return node

    def unary(self) -> Node:
        if self.at_word("not"):
            self.i += 1
            return Not(self.unary())
        return self.primary()

    def primary(self) -> Node:
        token = self.peek()
        if token is None:
            raise self.fail("an expression")
        if token.text == "(":
            self.i += 1
            node = self.or_expr()
            self.take("punct", ")")
            return node
        if token.kind == "name" and token.text in STRING_FUNCTIONS:
            return self.string_call()
        if token.kind == "name" and token.text == IN_FUNCTION:
            return self.in_call()
        return self.comparison()

    def comparison(self) -> Compare:
        name = self.take("name")
        if name.text in COMPARISONS + ("and", "or", "not"):
            raise ODataError(f"Syntax error at position {name.pos} in '{self.text}': expected a property name.")
        op = self.take("name")
        if op.text not in COMPARISONS:
            raise ODataError(
                f"Syntax error at position {op.pos} in '{self.text}': "
                f"'{op.text}' is not a comparison operator (use {', '.join(COMPARISONS)})."
            )
        return Compare(op.text, Field(name.text), self.literal())

    def string_call(self) -> Call:
        name = self.take("name").text
        self.take("punct", "(")
        field = Field(self.take("name").text)
        self.take("punct", ",")
        value = self.literal()
        if not isinstance(value.value, str):
            raise self.fail(f"a string as the second argument of {name}")
        self.take("punct", ")")
        return Call(name, field, value)

    def in_call(self) -> In:
        self.take("name")
        self.take("punct", "(")
        self.expect_param("PropertyName")
        prop = self.literal()
        if not isinstance(prop.value, str):
            raise self.fail("a quoted property name")
        self.take("punct", ",")
        self.expect_param("PropertyValues")
        self.take("punct", "[")
        values = [self.literal()]
        while self.peek() is not None and self.peek().text == ",":
            self.i += 1
            values.append(self.literal())
        self.take("punct", "]")
        self.take("punct", ")")
        return In(Field(prop.value), tuple(values))

    def expect_param(self, name: str) -> None:
        self.take("name", name)
        self.take("punct", "=")

    def literal(self) -> Literal:
        token = self.peek()
        if token is None:
            raise self.fail("a value")
        self.i += 1
        if token.kind == "string":
            return Literal(token.text[1:-1].replace("''", "'"))
        try:
            typed = _typed_literal(token.kind, token.text)
        except (ValueError, ArithmeticError) as exc:  # a well-formed token that is no value: 2020-13-45, 1e99999
            raise ODataError(
                f"Syntax error at position {token.pos} in '{self.text}': '{token.text}' is not a valid value."
            ) from exc
        if typed is not None:
            return typed
        if token.kind == "name" and token.text in ("true", "false"):
            return Literal(token.text == "true")
        if token.kind == "name" and token.text == "null":
            return Literal(None)
        raise ODataError(f"Syntax error at position {token.pos} in '{self.text}': '{token.text}' is not a value.")


def _typed_literal(kind: str, text: str) -> Literal | None:
    if kind == "number":
        return Literal(Decimal(text) if "." in text else int(text))
    if kind == "guid":
        return Literal(uuid.UUID(text))
    if kind == "datetime":
        return Literal(parse_datetime(text))
    if kind == "date":
        return Literal(dt.date.fromisoformat(text))
    return None


def parse_filter(text: str) -> Node:
    return _Parser(text).parse()


def parse_datetime(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


# --- rendering (the connector writes filters with these) -------------------------------------
def quote(value: Any) -> str:
    """An OData literal for `value`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    return "'" + str(value).replace("'", "''") + "'"


def render(node: Node) -> str:
    if isinstance(node, Compare):
        return f"{node.left.name} {node.op} {quote(node.right.value)}"
    if isinstance(node, Call):
        return f"{node.name}({node.field.name},{quote(node.value.value)})"
    if isinstance(node, In):
        values = ",".join(quote(v.value) for v in node.values)
        return f"{IN_FUNCTION}(PropertyName={quote(node.field.name)},PropertyValues=[{values}])"
    if isinstance(node, Not):
        return f"not ({render(node.operand)})"
    if isinstance(node, And):
        return f"({render(node.left)}) and ({render(node.right)})"
    if isinstance(node, Or):
        return f"({render(node.left)}) or ({render(node.right)})"
    raise TypeError(node)


def any_of(field_name: str, values: list[Any]) -> str:
    """`field eq 'a' or field eq 'b' ...`: the look-up of many values in one query."""
    return " or ".join(f"{field_name} eq {quote(v)}" for v in values)


# --- evaluation (the emulator filters with this) -----------------------------------------------
def equality_set(node: Node) -> tuple[str, set[str]] | None:
    """For `f eq 'a' or f eq 'b' ...` (or In on one field): (f, {casefolded values}); else None.
    The emulator answers such look-ups from a set instead of evaluating the tree per row."""
    if isinstance(node, Compare) and node.op == "eq" and isinstance(node.right.value, (str, uuid.UUID)):
        return node.left.name, {str(node.right.value).casefold()}
    if isinstance(node, In) and all(isinstance(v.value, (str, uuid.UUID)) for v in node.values):
        return node.field.name, {str(v.value).casefold() for v in node.values}
    if isinstance(node, Or):
        left, right = equality_set(node.left), equality_set(node.right)
        if left and right and left[0] == right[0]:
            return left[0], left[1] | right[1]
    return None


def fields_of(node: Node) -> set[str]:
    if isinstance(node, (Compare,)):
        return {node.left.name}
    if isinstance(node, (Call, In)):
        return {node.field.name}
    if isinstance(node, Not):
        return fields_of(node.operand)
    return fields_of(node.left) | fields_of(node.right)  # type: ignore[union-attr]


def matches(node: Node, row: dict[str, Any]) -> bool:
    if isinstance(node, Compare):
        return _compare(node.op, row.get(node.left.name), node.right.value)
    if isinstance(node, Call):
        actual = row.get(node.field.name)
        if actual is None:
            return False
        text, needle = str(actual).casefold(), str(node.value.value).casefold()
        return {"contains": needle in text, "startswith": text.startswith(needle), "endswith": text.endswith(needle)}[node.name]
    if isinstance(node, In):
        return any(_compare("eq", row.get(node.field.name), v.value) for v in node.values)
    if isinstance(node, Not):
        return not matches(node.operand, row)
    if isinstance(node, And):
        return matches(node.left, row) and matches(node.right, row)
    if isinstance(node, Or):
        return matches(node.left, row) or matches(node.right, row)
    raise TypeError(node)


def _compare(op: str, actual: Any, expected: Any) -> bool:
    if expected is None or actual is None:
        # SQL semantics as Dataverse applies them: only eq/ne null are meaningful.
        if op == "eq":
            return actual is None and expected is None
        if op == "ne":
            return not (actual is None and expected is None)
        return False
    left, right = _comparable(actual, expected)
    if left is None:
        return op == "ne"
    return {
        "eq": left == right,
        "ne": left != right,
        "gt": left > right,
        "ge": left >= right,
        "lt": left < right,
        "le": left <= right,
    }[op]


def _comparable(actual: Any, expected: Any) -> tuple[Any, Any]:
    """Bring a stored value and a literal to one comparable type (None, None when they cannot be)."""
    try:
        if isinstance(expected, bool):
            return bool(actual), expected
        if isinstance(expected, (int, Decimal)):
            return Decimal(str(actual)), Decimal(expected)
        if isinstance(expected, uuid.UUID):
            return uuid.UUID(str(actual)), expected
        if isinstance(expected, dt.datetime):
            return (actual if isinstance(actual, dt.datetime) else parse_datetime(str(actual))), expected
        if isinstance(expected, dt.date):
            value = (
                actual
                if isinstance(actual, dt.date)
                else parse_datetime(str(actual))
                if "T" in str(actual)
                else dt.date.fromisoformat(str(actual))
            )
            return (value.date() if isinstance(value, dt.datetime) else value), expected
    except (ValueError, ArithmeticError):
        return None, None
    return str(actual).casefold(), str(expected).casefold()


# --- $orderby / $select -------------------------------------------------------------------------
def parse_orderby(text: str) -> list[tuple[str, bool]]:
    """'name asc, modifiedon desc' -> [('name', False), ('modifiedon', True)] (True = descending)."""
    keys = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        bits = part.split()
        if len(bits) > 2 or (len(bits) == 2 and bits[1] not in ("asc", "desc")):
            raise ODataError(f"Syntax error in $orderby '{text}'.")
        keys.append((bits[0], len(bits) == 2 and bits[1] == "desc"))
    return keys


def parse_select(text: str | None) -> list[str] | None:
    if not text:
        return None
    return [s.strip() for s in text.split(",") if s.strip()]
