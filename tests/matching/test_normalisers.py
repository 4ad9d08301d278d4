"""The normalisers turn two spellings of one e-mail, domain, phone or name into one key, never
raise on any input, and give a key back unchanged (so a key compares equal run after run)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappings import normalisers as n

LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)
HOST = st.lists(LABEL, min_size=1, max_size=3).map(lambda parts: ".".join(parts) + ".com")
WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzéü", min_size=1, max_size=10).filter(
    lambda w: w not in n.LEGAL_SUFFIXES and w not in {"and", "und"}
)
ANYTHING = st.one_of(st.none(), st.text(), st.integers(), st.floats(allow_nan=True), st.binary().map(repr))


@pytest.mark.parametrize("normaliser", sorted(n.NORMALISERS))
@given(value=ANYTHING)
def test_every_normaliser_accepts_any_value_and_is_idempotent(normaliser, value):
    key = n.normalise(normaliser, value)
    assert key is None or (isinstance(key, str) and key)
    if key is not None:
        assert n.normalise(normaliser, key) == key


@given(value=ANYTHING, country=st.sampled_from([None, "US", "GB", "DE", "xx", ""]))
def test_phone_keys_are_stable_for_every_country(value, country):
    key = n.phone(value, country)
    if key is not None:
        assert n.phone(key, country) == key


@given(local=LABEL, host=HOST, pad=st.text(alphabet=" \t", max_size=3))
def test_email_ignores_case_and_surrounding_spaces(local, host, pad):
    assert n.email(f"{pad}{local.upper()}@{host.upper()}{pad}") == f"{local}@{host}"


@given(
    host=HOST,
    scheme=st.sampled_from(["", "http://", "https://", "HTTPS://"]),
    www=st.sampled_from(["", "www.", "WWW."]),
    path=st.sampled_from(["", "/", "/about", "/a/b?x=1#top", ":8080/x"]),
)
def test_domain_ignores_scheme_www_path_port_and_case(host, scheme, www, path):
    assert n.domain(f"{scheme}{www}{host.upper()}{path}") == host


@given(
    words=st.lists(WORD, min_size=1, max_size=4),
    suffix=st.sampled_from(["", " Inc.", ", Inc", " LLC", " Ltd", " Ltd.", " GmbH", " GmbH & Co. KG", " S.A.", " Pty Ltd"]),
    spaces=st.sampled_from([" ", "  ", "\t"]),
)
def test_name_ignores_case_spacing_punctuation_and_legal_form(words, suffix, spaces):
    plain = " ".join(words)
    assert n.name(f"  {spaces.join(w.upper() for w in words)}{suffix} ") == n.name(plain) == plain.casefold()


@pytest.mark.parametrize(
    "written",
    ["(617) 555-1234", "617.555.1234", "+1 617 555 1234", "1-617-555-1234", "+1 (617) 555-1234"],
)
def test_phone_formats_of_one_number_share_the_e164_key_when_the_country_is_known(written):
    assert n.phone(written, "US") == "+16175551234"


def test_phone_without_a_country_keeps_digits_unless_it_carries_a_country_code():
    assert n.phone("(617) 555-1234") == "6175551234"
    assert n.phone("+44 20 7946 0958") == "+442079460958"
    assert n.phone("ext") is None


def test_a_name_that_is_only_a_legal_form_keeps_it():
    assert n.name("Inc.") == "inc"
    assert n.name("Acme Inc.") == n.name("ACME") == "acme"


@pytest.mark.parametrize("empty", [None, "", "   ", "\t\n", [], {}])
def test_empty_values_give_no_key(empty):
    for normaliser in n.NORMALISERS:
        assert n.normalise(normaliser, empty) is None


def test_dates_compare_by_day_whatever_the_spelling():
    assert n.date("2026-03-04") == n.date("2026-03-04T17:00:00Z") == n.date("2026-03-04T00:00:00.000+00:00") == "2026-03-04"
    assert n.date(str(1772582400000)) == "2026-03-04"
    assert n.date("next week") is None
