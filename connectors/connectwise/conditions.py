"""The ConnectWise Manage `conditions` language: a parser, an evaluator, and literal builders.

The emulator uses `parse()` + `Node.matches()` to filter records exactly as the reference
semantics below say; the connector uses `quote()`, `datetime_literal()` and `in_list()` to build
conditions safely (values are always quoted, never pasted).

Grammar (keywords are case-insensitive, as ConnectWise's are):

    expr       := and_expr ( "or" and_expr )*
    and_expr   := unary ( "and" unary )*
    unary      := "not" unary | "(" expr ")" | comparison
    comparison := path op literal
                | path ["not"] ( "contains" | "like" ) string
                | path ["not"] "in" "(" literal ( "," literal )* ")"
    op         := "=" | "!=" | "<" | "<=" | ">" | ">="
    path       := name ( "/" name )*            e.g. company/id, status/name, _info/lastUpdated
    literal    := "quoted string" | number | [datetime] | true | false | null
                  (\" escapes a quote; single quotes are accepted too, leniently)

Reference semantics (what `matches` computes; the property tests check it):
- a path walks nested objects; a missing step gives null; a list on the way is searched for
  any element that satisfies the comparison;
- `= null` / `!= null` test for absence; every other comparison with a null value is false
  (SQL semantics: `not (x = 1)` is true when x is null, as `not` negates the whole comparison);
- strings compare case-insensitively (ConnectWise runs on SQL Server's case-insensitive
  collation); `contains` is a substring test; `like` matches the whole value where `*` (or `%`)
  stands for any run of characters;
- numbers compare numerically, [datetimes] as instants (a value that does not parse as the
  literal's type never matches), true/false as booleans.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

COMPARISON_OPS = ("=", "!=", "<", "<=", ">", ">=")
KEYWORDS = {"and", "or", "not", "in", "like", "contains", "true", "false", "null"}


class ConditionError(ValueError):
    """A malformed conditions string: the emulator answers it with ConnectWise's 400 body."""

    def __init__(self, message: str, position: int | None = None):
        super().__init__(message if position is None else f"{message} (at character {position + 1})")
        self.position = position


# --- tokens -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    kind: str  # name, op, string, number, datetime, keyword, lparen, rparen, comma, end
    value: Any
    position: int


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


PUNCTUATION = {"(": "lparen", ")": "rparen", ",": "comma"}


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        token, i = _token_at(text, i)
        tokens.append(token)
    tokens.append(Token("end", None, n))
    return tokens


def _token_at(text: str, i: int) -> tuple[Token, int]:
    """The token starting at `i` and where the next one may start."""
    ch = text[i]
    if ch in PUNCTUATION:
        return Token(PUNCTUATION[ch], ch, i), i + 1
    if ch in "=!<>":
        return _operator_at(text, i)
    if ch in "\"'":
        value, end = _read_string(text, i)
        return Token("string", value, i), end
    if ch == "[":
        end = text.find("]", i)
        if end < 0:
            raise ConditionError("unterminated [datetime]", i)
        return Token("datetime", _parse_datetime(text[i + 1 : end], i), i), end + 1
    if ch == "-" or ch.isdigit():
        m = _NUMBER.match(text, i)
        if not m:
            raise ConditionError(f"unexpected character {ch!r}", i)
        return Token("number", _number(m.group()), i), m.end()
    if ch.isascii() and (ch.isalpha() or ch == "_"):
        return _word_at(text, i)
    raise ConditionError(f"unexpected character {ch!r}", i)


def _operator_at(text: str, i: int) -> tuple[Token, int]:
    two = text[i : i + 2]
    if two in ("!=", "<=", ">="):
        return Token("op", two, i), i + 2
    if text[i] == "!":
        raise ConditionError("'!' must be followed by '='", i)
    return Token("op", text[i], i), i + 1


def _word_at(text: str, i: int) -> tuple[Token, int]:
    """A keyword or a field name (a path like company/name); a path cannot end with '/'."""
    m = _NAME.match(text, i)
    assert m is not None
    word = m.group()
    token = Token("keyword", word.lower(), i) if word.lower() in KEYWORDS else Token("name", word, i)
    if m.end() < len(text) and text[m.end()] == "/":
        raise ConditionError("a field path cannot end with '/'", m.end())
    return token, m.end()


def _read_string(text: str, start: int) -> tuple[str, int]:
    quote_char = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
        elif ch == quote_char:
            return "".join(out), i + 1
        else:
            out.append(ch)
            i += 1
    raise ConditionError("unterminated string", start)


def _parse_datetime(raw: str, position: int) -> dt.datetime:
    value = raw.strip()
    try:
        if value.endswith("Z"):
            value = value[:-1] + "+00:00"
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ConditionError(f"[{raw}] is not a date and time like [2025-01-31T00:00:00Z]", position) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _number(text: str) -> int | float:
    return float(text) if "." in text else int(text)


# --- the tree -----------------------------------------------------------------------------------
Resolver = Callable[[Any, str], list[Any]]


Getter = Callable[[Any], list[Any]]


def default_getter(path: str) -> Getter:
    return lambda record: resolve_path(record, path)


class Node:
    def matches(self, record: Any, resolve: Resolver | None = None) -> bool:
        raise NotImplementedError

    def compile(self, getter_for: Callable[[str], Getter] = default_getter) -> Callable[[Any], bool]:
        """A predicate with the same answers as `matches`, built once for filtering many records
        (the emulator filters whole tables per call)."""
        raise NotImplementedError

    def paths(self) -> Iterable[str]:
        raise NotImplementedError


@dataclass(frozen=True)
class And(Node):
    parts: tuple[Node, ...]

    def matches(self, record, resolve=None):
        return all(p.matches(record, resolve) for p in self.parts)

    def compile(self, getter_for=default_getter):
        tests = [p.compile(getter_for) for p in self.parts]
        return lambda record: all(t(record) for t in tests)

    def paths(self):
        for p in self.parts:
            yield from p.paths()


@dataclass(frozen=True)
class Or(Node):
    parts: tuple[Node, ...]

    def matches(self, record, resolve=None):
        return any(p.matches(record, resolve) for p in self.parts)

    def compile(self, getter_for=default_getter):
        tests = [p.compile(getter_for) for p in self.parts]
        return lambda record: any(t(record) for t in tests)

    def paths(self):
        for p in self.parts:
            yield from p.paths()


@dataclass(frozen=True)
class Not(Node):
    part: Node

    def matches(self, record, resolve=None):
        return not self.part.matches(record, resolve)

    def compile(self, getter_for=default_getter):
        test = self.part.compile(getter_for)
        return lambda record: not test(record)

    def paths(self):
        return self.part.paths()


@dataclass(frozen=True)
class Comparison(Node):
    path: str
    op: str  # one of COMPARISON_OPS, "contains", "like", "in"
    value: Any  # a literal, or a tuple of literals for "in"

    def matches(self, record, resolve=None):
        values = (resolve or resolve_path)(record, self.path)
        return any(compare(v, self.op, self.value) for v in values)

    def compile(self, getter_for=default_getter):
        get, test = getter_for(self.path), _fast_comparator(self.op, self.value)
        return lambda record: any(test(v) for v in get(record))

    def paths(self):
        yield self.path


def parse(text: str) -> Node:
    """Parse a conditions string; raise ConditionError with a position on any mistake."""
    if not text or not text.strip():
        raise ConditionError("conditions are empty")
    parser = _Parser(tokenize(text))
    node = parser.expr()
    if parser.peek().kind != "end":
        tok = parser.peek()
        raise ConditionError(f"unexpected {_describe(tok)}", tok.position)
    return node


class _Parser:
    MAX_DEPTH = 64  # nesting of parentheses / not: deeper is refused, never a RecursionError

    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def is_keyword(self, word: str) -> bool:
        tok = self.peek()
        return tok.kind == "keyword" and tok.value == word

    def expr(self) -> Node:
        parts = [self.and_expr()]
        while self.is_keyword("or"):
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def and_expr(self) -> Node:
        parts = [self.unary()]
        while self.is_keyword("and"):
            self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def unary(self) -> Node:
        tok = self.peek()
        if self.is_keyword("not") or tok.kind == "lparen":
            self.depth += 1
            if self.depth > self.MAX_DEPTH:
                raise ConditionError(f"conditions nest deeper than {self.MAX_DEPTH} levels", tok.position)
            try:
                self.take()
                if tok.kind == "keyword":
                    return Not(self.unary())
                node = self.expr()
                self.expect("rparen", "')'")
                return node
            finally:
                self.depth -= 1
        return self.comparison()

    def comparison(self) -> Node:
        tok = self.take()
        if tok.kind != "name":
            raise ConditionError(f"expected a field name, found {_describe(tok)}", tok.position)
        path = tok.value
        negate = False
        if self.is_keyword("not"):
            self.take()
            negate = True
        op_tok = self.take()
        if op_tok.kind == "op" and not negate:
            node: Node = Comparison(path, op_tok.value, self.literal())
        elif op_tok.kind == "keyword" and op_tok.value in ("contains", "like"):
            value = self.take()
            if value.kind != "string":
                raise ConditionError(f"{op_tok.value} needs a quoted string, found {_describe(value)}", value.position)
            node = Comparison(path, op_tok.value, value.value)
        elif op_tok.kind == "keyword" and op_tok.value == "in":
            self.expect("lparen", "'(' after in")
            items = [self.literal()]
            while self.peek().kind == "comma":
                self.take()
                items.append(self.literal())
            self.expect("rparen", "')' closing the in list")
            node = Comparison(path, "in", tuple(items))
        else:
            expected = "contains, like or in" if negate else "an operator (=, !=, <, <=, >, >=, contains, like, in)"
            raise ConditionError(f"expected {expected} after {path}, found {_describe(op_tok)}", op_tok.position)
        return Not(node) if negate else node

    def literal(self) -> Any:
        tok = self.take()
        if tok.kind in ("string", "number", "datetime"):
            return tok.value
        if tok.kind == "keyword" and tok.value in ("true", "false"):
            return tok.value == "true"
        if tok.kind == "keyword" and tok.value == "null":
            return None
        raise ConditionError(f"expected a value, found {_describe(tok)}", tok.position)

    def expect(self, kind: str, what: str) -> Token:
        tok = self.take()
        if tok.kind != kind:
            raise ConditionError(f"expected {what}, found {_describe(tok)}", tok.position)
        return tok


def _describe(tok: Token) -> str:
    if tok.kind == "end":
        return "the end of the conditions"
    return f"{tok.value!r}" if tok.kind != "string" else f'"{tok.value}"'


# --- evaluation ---------------------------------------------------------------------------------
def resolve_path(record: Any, path: str) -> list[Any]:
    """Every value `path` reaches in `record` ([None] when it reaches nothing)."""
    current: list[Any] = [record]
    for step in path.split("/"):
        following: list[Any] = []
        for item in current:
            for element in item if isinstance(item, list) else [item]:
                if isinstance(element, dict) and element.get(step) is not None:
                    following.append(element[step])
        current = following
        if not current:
            return [None]
    flat: list[Any] = []
    for item in current:
        flat.extend(item if isinstance(item, list) else [item])
    return flat or [None]


def compare(value: Any, op: str, literal: Any) -> bool:
    """One value against one literal, per the reference semantics in the module docstring."""
    if op == "in":
        return any(compare(value, "=", item) for item in literal)
    if literal is None:
        if op == "=":
            return value is None
        if op == "!=":
            return value is not None
        return False
    if value is None:
        return False
    if op == "contains":
        return str(literal).casefold() in _text(value)
    if op == "like":
        return like(str(literal), _text(value))
    left, right = _coerce(value, literal)
    if left is None:
        return False
    try:
        return {
            "=": left == right,
            "!=": left != right,
            "<": left < right,
            "<=": left <= right,
            ">": left > right,
            ">=": left >= right,
        }[op]
    except TypeError:
        return False


_OPS = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
_CANONICAL_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def _fast_comparator(op: str, literal: Any) -> Callable[[Any], bool]:
    """compare(value, op, literal) with shortcuts for the common cases, same answers."""
    slow = lambda value: compare(value, op, literal)  # noqa: E731
    if op in _OPS and isinstance(literal, dt.datetime):
        # Canonical UTC stamps (what ConnectWise stores) order like the instants they name.
        canonical, operator = literal.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), _OPS[op]
        if literal.microsecond == 0:
            return lambda value: (
                operator(value, canonical) if type(value) is str and _CANONICAL_INSTANT.match(value) else slow(value)
            )
    if op in _OPS and type(literal) in (int, float):
        operator = _OPS[op]
        return lambda value: operator(value, literal) if type(value) in (int, float) else slow(value)
    if op == "in" and literal and all(type(item) is int for item in literal):
        members = set(literal)
        return lambda value: value in members if type(value) is int else slow(value)
    return slow


def like(pattern: str, text: str) -> bool:
    regex = "".join(".*" if ch in "*%" else re.escape(ch) for ch in pattern.casefold())
    return re.fullmatch(regex, text, flags=re.DOTALL) is not None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).casefold()


def _coerce(value: Any, literal: Any) -> tuple[Any, Any]:
    """Bring a stored value to the literal's type; (None, _) when it cannot be."""
    if isinstance(literal, bool):
        if isinstance(value, bool):
            return value, literal
        text = _text(value)
        return (text == "true" if text in ("true", "false") else None), literal
    if isinstance(literal, dt.datetime):
        parsed = _as_datetime(value)
        return parsed, literal
    if isinstance(literal, (int, float)):
        if isinstance(value, bool):
            return None, literal
        try:
            return float(value), float(literal)
        except (TypeError, ValueError):
            return None, literal
    return _text(value), str(literal).casefold()


def _as_datetime(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if not isinstance(value, str):
        return None
    try:
        return _parse_datetime(value, 0)
    except ConditionError:
        return None


# --- building conditions safely (the connector's side) -----------------------------------------------
def quote(value: Any) -> str:
    """A literal for `value`: strings double-quoted with \\ escapes, numbers and booleans bare."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dt.datetime):
        return datetime_literal(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def datetime_literal(value: dt.datetime) -> str:
    value = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return "[" + value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") + "]"


def in_list(path: str, values: Sequence[Any]) -> str:
    return f"{path} in ({', '.join(quote(v) for v in values)})"
