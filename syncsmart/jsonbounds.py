"""JSON from strangers, bounded: nesting depth and the values json accepts by default but no
vendor or client sends (NaN, Infinity).

    loads(body)               -> the value, or ValueError saying why not
    check_depth(value)        -> ValueError when nested deeper than MAX_DEPTH
    depth(value)              -> how deep a parsed value is (iterative: no recursion to exhaust)

Webhook bodies and JSON fields of the API and the UI go through here, so a 10,000-deep body
is a clean 4xx rather than a RecursionError in the parser, the validator or the template.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 20


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def depth(value: Any) -> int:
    """Containers nested inside each other: 0 for a scalar, 1 for [] or {}, 2 for [[]] …"""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        level += 1
        deepest = max(deepest, level)
        stack.extend((child, level) for child in children)
    return deepest


def check_depth(value: Any, max_depth: int = MAX_DEPTH) -> None:
    if depth(value) > max_depth:
        raise ValueError(f"JSON nested deeper than {max_depth} levels")


def loads(data: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """json.loads for untrusted input: ValueError (never RecursionError or a decode error of
    another kind) for anything that is not plain JSON at most `max_depth` deep."""
    try:
        value = json.loads(data, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    except (TypeError, OverflowError) as exc:
        raise ValueError(f"not JSON: {exc}") from None
    check_depth(value, max_depth)
    return value
