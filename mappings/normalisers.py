"""Normalisers: how two spellings of the same e-mail, domain, phone number or name become one
match key. Pure functions of a value (and, for phones, a country); each returns None when the
value carries nothing to match on, so an empty field never matches another empty field.

Every normaliser is idempotent (normalising a key gives the key back): a key stored on one
run compares equal to the same key computed on the next. docs/matching.md lists what each one
does, for customers choosing a match rule.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import phonenumbers

# Legal-form words a company name may end with ("Acme Inc." and "Acme" are one company).
# Compared after case-folding and removing dots, so "S.A." is "sa" and "Co." is "co".
LEGAL_SUFFIXES = frozenset(
    {
        "inc",
        "incorporated",
        "llc",
        "llp",
        "lp",
        "ltd",
        "limited",
        "plc",
        "corp",
        "corporation",
        "co",
        "company",
        "gmbh",
        "mbh",
        "ag",
        "kg",
        "ug",
        "sa",
        "sas",
        "sarl",
        "srl",
        "spa",
        "bv",
        "nv",
        "oy",
        "ab",
        "as",
        "aps",
        "pty",
        "pte",
        "kk",
    }
)
# "Acme GmbH & Co. KG": once the legal forms are gone, a joining word left at the end goes too.
_JOINERS = frozenset({"&", "and", "und"})
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")
_NOT_DIGIT = re.compile(r"\D")
_WORD = re.compile(r"[\w&]+")
_SPACES = re.compile(r"\s+")


def _text(value: Any) -> str:
    if value is None or isinstance(value, (dict, list, tuple, set)):
        return ""
    return unicodedata.normalize("NFKC", str(value)).strip()


def email(value: Any) -> str | None:
    """Trim and case-fold: " Ada@Example.COM " and "ada@example.com" are one address."""
    text = _text(value).casefold()
    if text.startswith("mailto:"):
        text = text[len("mailto:") :].strip()
    return text or None


def domain(value: Any) -> str | None:
    """The host of a web address: no scheme, user, port, path, query, "www." or case, so
    "https://www.Acme.com/about" and "acme.com" are one domain. An e-mail gives its domain."""
    text = _text(value).casefold()
    text = _SCHEME.sub("", text)
    text = text.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    text = text.rpartition("@")[2]  # user info, or an e-mail address typed into the field
    text = text.split(":", 1)[0].strip().strip(".")
    while text.startswith("www."):
        text = text[4:]
    return text or None


def phone(value: Any, country: str | None = None) -> str | None:
    """E.164 ("+16175551234") when the number is valid for `country` (or carries its country
    code), else its digits only. Extensions and punctuation do not count."""
    text = _text(value)
    digits = _NOT_DIGIT.sub("", text)
    if not digits:
        return None
    plain = ("+" if text.lstrip().startswith("+") else "") + digits
    region = (country or "").strip().upper() or None
    try:
        parsed = phonenumbers.parse(plain, region)
    except phonenumbers.NumberParseException:
        return digits
    if phonenumbers.is_valid_number(parsed):
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return digits


def name(value: Any) -> str | None:
    """Trim, case-fold, collapse spaces and punctuation, and drop legal-form words at the end:
    "  ACME,  Inc. " and "Acme" are one name (a name that is only a legal form keeps it)."""
    text = _text(value).casefold().replace(".", "").replace("'", "").replace("’", "")
    words = _WORD.findall(text)
    while len(words) > 1 and (words[-1] in LEGAL_SUFFIXES or words[-1] in _JOINERS):
        words.pop()
    return " ".join(words) or None


def text(value: Any) -> str | None:
    """Trim, case-fold and collapse whitespace; nothing else."""
    return _SPACES.sub(" ", _text(value).casefold()) or None


def exact(value: Any) -> str | None:
    """The value as the vendor holds it, trimmed."""
    return _text(value) or None


def date(value: Any) -> str | None:
    """The calendar date (YYYY-MM-DD) of a date or date-time, however it is written."""
    text_value = _text(value)
    match = re.match(r"^(\d{4})-(\d{2})-(\d{2})", text_value)
    if match:
        return "-".join(match.groups())
    if text_value.isascii() and text_value.isdigit() and 12 <= len(text_value) <= 14:  # HubSpot's epoch milliseconds
        try:
            return datetime.fromtimestamp(int(text_value) / 1000, tz=UTC).date().isoformat()
        except (OverflowError, ValueError, OSError):  # past year 9999
            return None
    return None


def minute(value: Any) -> str | None:
    """The UTC minute (YYYY-MM-DDTHH:MM) of a date-time, however it is written. Match keys with it
    also meet the minute before and after (match_rules.key_values): the same call logged by hand
    on both sides is seldom stamped to the same second."""
    if isinstance(value, datetime):
        moment = value
    else:
        text_value = _text(value)
        if text_value.isascii() and text_value.isdigit() and 12 <= len(text_value) <= 14:  # HubSpot's epoch milliseconds
            try:
                moment = datetime.fromtimestamp(int(text_value) / 1000, tz=UTC)
            except (OverflowError, ValueError, OSError):
                return None
        else:
            try:
                moment = datetime.fromisoformat(text_value.replace(" ", "T", 1))
            except ValueError:
                return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def neighbouring_minutes(key: str) -> list[str]:
    """A `minute` key and the minutes either side of it."""
    moment = datetime.strptime(key, "%Y-%m-%dT%H:%M").replace(tzinfo=UTC)
    return [(moment + timedelta(minutes=step)).strftime("%Y-%m-%dT%H:%M") for step in (-1, 0, 1)]


NORMALISERS: dict[str, Callable[..., str | None]] = {
    "email": email,
    "domain": domain,
    "phone": phone,
    "name": name,
    "text": text,
    "exact": exact,
    "date": date,
    "minute": minute,
}
# Not a function of one value: the linked parent (e.g. a deal's company) must be the same
# pair of records, compared through the integration's links. See mappings/match_rules.py.
LINK = "link"
NORMALISER_CHOICES: dict[str, str] = {
    "email": "E-mail (trim, ignore case)",
    "domain": "Web domain (no https://, www., path or case)",
    "phone": "Phone (digits; E.164 where the country is known)",
    "name": "Name (ignore case, spaces, punctuation and Inc/LLC/Ltd/GmbH…)",
    "text": "Text (ignore case and spaces)",
    "exact": "Exact value",
    "date": "Date (the day only)",
    "minute": "Date and time (to the minute, a minute either way)",
    LINK: "The same linked record (e.g. the deal's company)",
}


def normalise(normaliser: str, value: Any, *, country: str | None = None) -> str | None:
    """One field's key part under a named normaliser (not `link`, which needs the links)."""
    if normaliser == "phone":
        return phone(value, country)
    return NORMALISERS[normaliser](value)
