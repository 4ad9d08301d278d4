"""The NetSuite credential form: account ids as customers type them, TBA or OAuth 2.0 client
credentials, write-only secrets, a live connection test against the emulator."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from connectors import http
from connectors.netsuite.emulator import (
    DEMO_CONSUMER_KEY,
    DEMO_CONSUMER_SECRET,
    DEMO_TOKEN_ID,
    DEMO_TOKEN_SECRET,
    NetSuiteEmulator,
)
from connectors.netsuite.forms import NetSuiteCredentialsForm, clean_account_id

pytestmark = pytest.mark.django_db

API = "https://1234567-sb1.suitetalk.api.netsuite.com"


@pytest.fixture
def emulator():
    emulator = NetSuiteEmulator(limits=False)
    http.mount(API, emulator.transport())
    yield emulator
    http.unmount(API)


def tba_data(**overrides):
    data = {
        "account_id": "1234567_SB1",
        "auth_method": "tba",
        "consumer_key": DEMO_CONSUMER_KEY,
        "consumer_secret": DEMO_CONSUMER_SECRET,
        "token_id": DEMO_TOKEN_ID,
        "token_secret": DEMO_TOKEN_SECRET,
        "default_subsidiary": "1",
    }
    return data | overrides


@pytest.mark.parametrize(
    "typed, account",
    [
        ("1234567", "1234567"),
        ("1234567_sb1", "1234567_SB1"),
        ("https://1234567-sb1.app.netsuite.com/app/center", "1234567_SB1"),
        ("tstdrv1234567", "TSTDRV1234567"),
    ],
)
def test_account_ids_are_accepted_as_customers_type_them(typed, account):
    assert clean_account_id(typed) == account


@pytest.mark.parametrize("typed", ["", "acme", "12", "1234567_XX1", "1234567 SB1"])
def test_anything_else_asks_for_the_account_id_in_plain_words(typed):
    with pytest.raises(Exception) as caught:
        clean_account_id(typed)
    assert "account ID" in " ".join(caught.value.messages)


def test_tba_credentials_test_live_against_the_emulator_and_secrets_stay_write_only(emulator):
    form = NetSuiteCredentialsForm(tba_data())
    assert form.is_valid(), form.errors
    result = form.test_connection()
    assert result.ok and "1234567_SB1" in result.message and "sandbox" in result.message
    connection = form.apply_to(SimpleNamespace(config={}, credentials={}))
    assert connection.config["base_url"] == API and connection.credentials["token_secret"] == DEMO_TOKEN_SECRET
    assert connection.credentials["webhook_secret"]
    again = NetSuiteCredentialsForm(tba_data(consumer_secret="", token_secret=""), connection=connection)
    assert again.is_valid(), again.errors
    assert DEMO_TOKEN_SECRET not in again.as_p() and DEMO_CONSUMER_SECRET not in again.as_p()
    assert again.get_credentials()["token_secret"] == DEMO_TOKEN_SECRET


def test_a_wrong_token_secret_fails_the_test_with_what_to_check(emulator):
    form = NetSuiteCredentialsForm(tba_data(token_secret="0" * 64))
    assert form.is_valid(), form.errors
    result = form.test_connection()
    assert not result.ok and "token" in result.message.lower()


def test_missing_tba_pieces_and_a_foreign_api_address_are_refused():
    form = NetSuiteCredentialsForm(tba_data(token_id="short", token_secret="", api_url="https://evil.example.com"))
    assert not form.is_valid()
    assert set(form.errors) >= {"token_id", "token_secret", "api_url"}


def test_oauth2_client_credentials_need_a_certificate_id_and_a_pem_key():
    form = NetSuiteCredentialsForm(tba_data(auth_method="oauth2_m2m", private_key="not a key"))
    assert not form.is_valid()
    assert set(form.errors) >= {"certificate_id", "private_key"}
