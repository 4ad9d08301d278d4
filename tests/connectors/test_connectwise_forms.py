"""The ConnectWise credential form: every bad way to type the site gets a message saying what to
type; the private key is write-only; "Test connection" explains wrong keys, company, client id
and unreachable sites against the emulator."""

from __future__ import annotations

import pytest
from django.test import override_settings

from connectors.connectwise.emulator import DEMO_CLIENT_ID, DEMO_COMPANY, DEMO_PRIVATE_KEY, DEMO_PUBLIC_KEY, ConnectWiseEmulator
from connectors.connectwise.forms import ConnectWiseCredentialsForm, base_url_for
from tests.factories import ConnectionFactory

GOOD = {
    "company_id": DEMO_COMPANY,
    "site": "na.myconnectwise.net",
    "public_key": DEMO_PUBLIC_KEY,
    "private_key": DEMO_PRIVATE_KEY,
    "client_id": DEMO_CLIENT_ID,
}
LOOPBACK_ONLY = override_settings(SYNCSMART_ALLOWED_EMULATOR_HOSTS=["127.0.0.1"])
NOTHING_ALLOWED = override_settings(SYNCSMART_ALLOWED_EMULATOR_HOSTS=[])


def site_errors(site: str) -> list[str]:
    form = ConnectWiseCredentialsForm(data={**GOOD, "site": site})
    assert not form.is_valid()
    return form.errors["site"]


# --- the site -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "site, words",
    [
        ("https://na.myconnectwise.net", ["without https://", "na.myconnectwise.net"]),
        ("http://na.myconnectwise.net", ["without https://", "na.myconnectwise.net"]),
        ("HTTPS://na.myconnectwise.net/", ["without https://", "na.myconnectwise.net"]),
        ("https:/na.myconnectwise.net", ["without https://", "na.myconnectwise.net"]),
        ("//na.myconnectwise.net", ["without https://", "na.myconnectwise.net"]),
        ("na.myconnectwise.net/v4_6_release/apis/3.0", ["without a path", "e.g. na.myconnectwise.net"]),
        ("na.myconnectwise.net/", ["without a path"]),
        ("na.myconnectwise.net?company=x", ["without a path"]),
        ("na.myconnectwise.net:443", ["without a port (:443)"]),
        ("na.myconnectwise.net:8443", ["without a port (:8443)"]),
        ("na.myconnectwise.net:http", ["is not a port"]),
        ("na.myconnectwise .net", ["cannot contain spaces"]),
        ("na myconnectwise net", ["cannot contain spaces"]),
        ("", ["Enter your ConnectWise site", "na.myconnectwise.net"]),
        ("   ", ["Enter your ConnectWise site"]),
        ("me@na.myconnectwise.net", ["not an e-mail"]),
        ("myconnectwise", ["is not a host name"]),
        ("na..myconnectwise.net", ["is not a host name"]),
        ("-na.myconnectwise.net", ["is not a host name"]),
    ],
)
def test_bad_site_forms_say_exactly_what_to_type(site, words):
    errors = " ".join(site_errors(site))
    for word in words:
        assert word in errors, errors


@NOTHING_ALLOWED
@pytest.mark.parametrize("site", ["10.0.0.5", "192.168.1.20", "169.254.169.254", "127.0.0.1", "[::1]", "0.0.0.0"])
def test_private_loopback_and_link_local_hosts_are_refused_by_the_connection_test(site):
    """The form takes the address; the HTTP seam refuses it when connecting, and says why."""
    form = ConnectWiseCredentialsForm(data={**GOOD, "site": site})
    assert form.is_valid(), form.errors
    result = form.test_connection()
    assert not result.ok
    assert "private, local or reserved network address" in result.message


@LOOPBACK_ONLY
def test_allowed_emulator_host_may_have_a_port_and_gets_plain_http():
    form = ConnectWiseCredentialsForm(data={**GOOD, "site": "127.0.0.1:8123"})
    assert form.is_valid(), form.errors
    assert form.get_config()["base_url"] == "http://127.0.0.1:8123"


@LOOPBACK_ONLY
def test_localhost_is_refused_when_only_the_loopback_ip_is_allowed():
    assert "is not a host name" in " ".join(site_errors("localhost"))
    assert "without a port" in " ".join(site_errors("localhost:8000"))


def test_a_real_site_is_lower_cased_and_gets_https():
    form = ConnectWiseCredentialsForm(data={**GOOD, "site": "  NA.MyConnectWise.net "})
    assert form.is_valid(), form.errors
    assert form.get_config() == {
        "site": "na.myconnectwise.net",
        "company_id": DEMO_COMPANY,
        "client_id": DEMO_CLIENT_ID,
        "public_key": DEMO_PUBLIC_KEY,
        "base_url": "https://na.myconnectwise.net",
    }
    assert form.get_credentials() == {"private_key": DEMO_PRIVATE_KEY}
    assert base_url_for("api-eu.myconnectwise.net") == "https://api-eu.myconnectwise.net"


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("company_id", "my company", "one word"),
        ("public_key", "abc def", "no spaces"),
        ("client_id", "a b", "no spaces"),
        ("private_key", "", "Enter the private key"),
    ],
)
def test_other_fields_explain_their_mistakes(field, value, words):
    form = ConnectWiseCredentialsForm(data={**GOOD, field: value})
    assert not form.is_valid()
    assert words in " ".join(form.errors[field])


# --- the private key is write-only ------------------------------------------------------------------------
@pytest.mark.django_db
def test_saved_private_key_is_never_rendered_and_blank_keeps_it():
    connection = ConnectionFactory(
        system="connectwise",
        config={**{k: GOOD[k] for k in ("company_id", "site", "public_key", "client_id")}},
        credentials={"private_key": "s3cret-private-key"},
    )
    form = ConnectWiseCredentialsForm(connection=connection)
    html = form.as_p()
    assert "s3cret-private-key" not in html
    assert DEMO_PUBLIC_KEY in html  # the public key may be shown
    edit = ConnectWiseCredentialsForm(data={**GOOD, "private_key": "", "public_key": "newPublic"}, connection=connection)
    assert edit.is_valid(), edit.errors
    edit.apply_to(connection)
    connection.save()
    connection.refresh_from_db()
    assert connection.credentials == {"private_key": "s3cret-private-key"}
    assert connection.config["public_key"] == "newPublic" and connection.config["base_url"] == "https://na.myconnectwise.net"


@pytest.mark.django_db
def test_a_new_private_key_replaces_the_saved_one_and_is_not_echoed_on_errors():
    connection = ConnectionFactory(system="connectwise", config={}, credentials={"private_key": "old-key"})
    bad = ConnectWiseCredentialsForm(
        data={**GOOD, "private_key": "brand-new-key", "site": "https://x.example"}, connection=connection
    )
    assert not bad.is_valid()
    assert "brand-new-key" not in bad.as_p()
    good = ConnectWiseCredentialsForm(data={**GOOD, "private_key": "brand-new-key"}, connection=connection)
    assert good.is_valid()
    assert good.get_credentials() == {"private_key": "brand-new-key"}


# --- test connection against the emulator ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def running():
    server = ConnectWiseEmulator(limits=False).serve("127.0.0.1", 0)
    yield server
    server.stop()


def connection_test_with(running, **changes):
    site = running.base_url.removeprefix("http://")
    with LOOPBACK_ONLY:
        form = ConnectWiseCredentialsForm(data={**GOOD, "site": site, **changes})
        assert form.is_valid(), form.errors
        return form.test_connection()


def test_test_connection_succeeds_with_the_emulators_credentials(running):
    result = connection_test_with(running)
    assert result.ok and DEMO_COMPANY in result.message and result.account == DEMO_COMPANY


def test_wrong_private_key_is_explained(running):
    result = connection_test_with(running, private_key="not-it")
    assert not result.ok
    assert "refused the API credentials" in result.message and "public and private key" in result.message
    assert "not-it" not in result.message


def test_wrong_public_key_is_explained(running):
    result = connection_test_with(running, public_key="otherPublic")
    assert not result.ok and "public and private key" in result.message


def test_wrong_company_is_explained(running):
    result = connection_test_with(running, company_id="someoneelse")
    assert not result.ok and "does not know the company ID 'someoneelse'" in result.message


def test_wrong_client_id_is_explained(running):
    result = connection_test_with(running, client_id="not-registered")
    assert not result.ok and "clientId" in result.message


def test_unreachable_site_is_explained():
    server = ConnectWiseEmulator().serve("127.0.0.1", 0)
    site = server.base_url.removeprefix("http://")
    server.stop()  # nothing listens there any more
    with LOOPBACK_ONLY:
        form = ConnectWiseCredentialsForm(data={**GOOD, "site": site})
        assert form.is_valid()
        result = form.test_connection()
    assert not result.ok and "Could not reach the ConnectWise site" in result.message
