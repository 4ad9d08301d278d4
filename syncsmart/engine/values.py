"""Field values: comparable normal forms, type conversion, and the hashes of the echo check.

Vendors hand the same value back in different spellings (100 / "100.0", "2025-01-02" /
"2025-01-02T00:00:00Z", "Ann@X.com" / "ann@x.com"); comparing normal forms keeps the engine
from writing a value that is already there, which is what stops loops and vendor automation
re-triggering.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.base import FieldType

EMPTY = None
TRUE_WORDS = {"true", "yes", "y", "1", "on"}
FALSE_WORDS = {"false", "no", "n", "0", "off"}


class ConversionError(ValueError):
    """A value cannot become the target field's type; the message says which and why."""


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _number(value: Any) -> float | int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        number = value
    else:
        try:
            number = Decimal(str(value).strip().replace(",", ""))
        except InvalidOperation:
            raise ConversionError(f"{value!r} is not a number") from None
        number = float(number)
    if isinstance(number, float) and number.is_integer() and abs(number) < 2**53:
        return int(number)
    return number


def _datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip()
        if text.isdigit() and len(text) >= 12:  # epoch milliseconds (HubSpot's older format)
            return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ConversionError(f"{value!r} is not a date") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ConversionError(f"{value!r} is not yes/no")


def normal(value: Any, kind: str | FieldType | None) -> Any:
    """The comparable form of a value of a field type (JSON-safe). Empty is None."""
    if is_empty(value):
        return None
    try:
        if kind == FieldType.NUMBER:
            return _number(value)
        if kind == FieldType.BOOL:
            return _bool(value)
        if kind == FieldType.DATE:
            return _datetime(value).date().isoformat() if not _is_plain_date(value) else str(value)[:10]
        if kind == FieldType.DATETIME:
            return _datetime(value).strftime("%Y-%m-%dT%H:%M:%SZ")
    except ConversionError:
        pass  # an odd vendor value still compares as text
    if kind == FieldType.EMAIL:
        return str(value).strip().lower()
    if isinstance(value, (dict, list)):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip() if not isinstance(value, bool) else ("true" if value else "false")


def _is_plain_date(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-"


def convert(value: Any, target: str | FieldType | None) -> Any:
    """A value in the form the target field's type expects. Raises ConversionError."""
    if is_empty(value):
        return None
    if target == FieldType.NUMBER:
        return _number(value)
    if target == FieldType.BOOL:
        return _bool(value)
    if target == FieldType.DATE:
        return value[:10] if _is_plain_date(value) else _datetime(value).date().isoformat()
    if target == FieldType.DATETIME:
        return _datetime(value).strftime("%Y-%m-%dT%H:%M:%SZ")
    if target in (FieldType.STRING, FieldType.TEXT, FieldType.EMAIL, FieldType.PHONE, FieldType.ENUM):
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        if isinstance(value, (datetime, date)):
            return value.isoformat()
        return str(value)
    return value


def values_hash(values: Mapping[str, Any]) -> str:
    """Order-independent hash of normal-form values (the echo check compares these)."""
    text = json.dumps(values, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]
