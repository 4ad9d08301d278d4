"""The Dynamics credential form and client-credentials auth: bad org URLs, wrong secrets, a token
that expires mid-run (refreshed transparently), tokens kept encrypted on the Connection."""

from __future__ import annotations

import logging

import pytest
from django.db import connection as db

from connectors.base import ErrorKind
from connectors.dynamics.connector import DynamicsConnector
from connectors.dynamics.emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT, DynamicsEmulator
from connectors.dynamics.forms import DynamicsCredentialsForm
from tests.factories import ConnectionFactory

EMULATOR_URL = "http://127.0.0.1:8555"


@pytest.fixture(autouse=True)
def emulator_hosts(settings):
    settings.SYNCSMART_ALLOWED_EMULATOR_HOSTS = ["127.0.0.1", "localhost"]


@pytest.fixture
def emulator() -> DynamicsEmulator:
    return DynamicsEmulator(limits=False)


def form_data(**overrides) -> dict[str, str]:
    return {
        "org_url": EMULATOR_URL,
        "tenant_id": DEFAULT_TENANT,
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
        "token_url_base": EMULATOR_URL,
        **overrides,
    }


@pytest.mark.parametrize(
    "org_url, says",
    [
        ("", "Enter the organization URL"),
        ("contoso.crm.dynamics.com", "starting with https://"),
        ("http://contoso.crm.dynamics.com", "must start with https://"),
        ("ftp://contoso.crm.dynamics.com", "must start with https://"),
        ("https://contoso.crm.dynamics.com/main.aspx?appid=1234", "without a path such as /main.aspx"),
        ("https://contoso.crm.dynamics.com/api/data/v9.2", "without a path"),
        ("https://contoso.crm.dynamics.com:8443", "without a port"),
        ("https://user:pw@contoso.crm.dynamics.com", "user name or password"),
        ("https://contoso .crm.dynamics.com", "cannot contain spaces"),
        ("https://contoso.dynamics.com", "is not a Dynamics 365 address"),
        ("https://crm.dynamics.com", "is not a Dynamics 365 address"),
        ("https://contoso.crm.dynamics.com.evil.example", "is not a Dynamics 365 address"),
        ("https://contoso.crm99.dynamics.com", "is not a Dynamics 365 address"),
        ("https://10.0.0.5", "is not a Dynamics 365 address"),
        ("https://169.254.169.254", "is not a Dynamics 365 address"),
    ],
)
def test_bad_org_urls_are_refused_with_what_to_type(org_url, says):
    form = DynamicsCredentialsForm(form_data(org_url=org_url))
    assert not form.is_valid()
    assert says in " ".join(form.errors["org_url"])


def test_loopback_is_refused_when_not_an_allowed_emulator_host(settings):
    settings.SYNCSMART_ALLOWED_EMULATOR_HOSTS = []
    form = DynamicsCredentialsForm(form_data())
    assert not form.is_valid() and "org_url" in form.errors and "token_url_base" in form.errors


@pytest.mark.parametrize(
    "org_url, stored",
    [
        ("https://contoso.crm.dynamics.com/", "https://contoso.crm.dynamics.com"),
        ("https://Contoso.CRM4.dynamics.com", "https://contoso.crm4.dynamics.com"),
        ("https://fabrikam.crm11.dynamics.com", "https://fabrikam.crm11.dynamics.com"),
        (" https://org-1.crm21.dynamics.com ", "https://org-1.crm21.dynamics.com"),
        (EMULATOR_URL, EMULATOR_URL),
    ],
)
def test_dynamics_hosts_and_regional_variants_are_accepted(org_url, stored):
    form = DynamicsCredentialsForm(form_data(org_url=org_url, token_url_base=""))
    assert form.is_valid(), form.errors
    assert form.get_config()["org_url"] == stored
    assert form.get_config()["token_url_base"] == "https://login.microsoftonline.com"


@pytest.mark.parametrize(
    "field, value, says",
    [
        ("tenant_id", "not a tenant", "tenant ID is a GUID"),
        ("client_id", "my-app", "client ID is a GUID"),
        ("client_secret", "", "Enter the client secret"),
        ("client_secret", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "secret's ID"),
        ("token_url_base", "https://evil.example.com", "Azure AD login host"),
        ("token_url_base", "http://login.microsoftonline.com", "Azure AD login host"),
    ],
)
def test_other_fields_say_what_is_wrong(field, value, says):
    form = DynamicsCredentialsForm(form_data(**{field: value}))
    assert not form.is_valid()
    assert says in " ".join(form.errors[field])


def test_tenant_may_be_given_as_its_onmicrosoft_domain():
    form = DynamicsCredentialsForm(form_data(tenant_id="Contoso.onmicrosoft.com"))
    assert form.is_valid(), form.errors
    assert form.get_config()["tenant_id"] == "contoso.onmicrosoft.com"


@pytest.mark.django_db
def test_secret_is_write_only_and_blank_keeps_the_saved_one():
    saved = ConnectionFactory(
        system="dynamics",
        config=form_data(client_secret=None),
        credentials={"client_secret": "the-saved-secret", "webhook_key": "hook-key"},
    )
    form = DynamicsCredentialsForm(connection=saved)
    html = form.as_p()
    assert "the-saved-secret" not in html and "hook-key" not in html
    assert "saved; leave blank to keep" in html
    edited = DynamicsCredentialsForm(form_data(client_secret=""), connection=saved)
    assert edited.is_valid(), edited.errors
    edited.apply_to(saved)
    saved.save()
    saved.refresh_from_db()
    assert saved.credentials == {"client_secret": "the-saved-secret", "webhook_key": "hook-key"}
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT credentials FROM connectors_connection WHERE id = %s", [saved.pk.hex if db.vendor == "sqlite" else saved.pk]
        )
        raw = cursor.fetchone()[0]
    assert "the-saved-secret" not in str(raw)


def test_connection_test_passes_with_the_emulator_app(emulator):
    form = DynamicsCredentialsForm(form_data())
    assert form.is_valid(), form.errors
    result = form.test_connection(transport=emulator.transport())
    assert result.ok, result.message
    assert result.account == emulator.organization_id


@pytest.mark.parametrize(
    "overrides, says",
    [
        ({"client_secret": "wrong-secret"}, "client secret is wrong"),
        ({"client_id": "00000000-1111-2222-3333-444444444444"}, "Application (client) ID"),
        ({"tenant_id": "99999999-8888-7777-6666-555555555555"}, "Directory (tenant) ID"),
        ({"token_url_base": "http://localhost:8555"}, "org URL"),  # a token for another resource than the org
    ],
)
def test_connection_test_explains_each_azure_ad_refusal(emulator, overrides, says, caplog):
    caplog.set_level(logging.DEBUG)
    form = DynamicsCredentialsForm(form_data(**overrides))
    assert form.is_valid(), form.errors
    result = form.test_connection(transport=emulator.transport())
    assert not result.ok
    assert says in result.message
    assert "Traceback" not in result.message
    assert DEFAULT_CLIENT_SECRET not in caplog.text and "wrong-secret" not in caplog.text


def test_app_without_an_application_user_is_explained(emulator):
    emulator.app_user_ids[DEFAULT_CLIENT_ID] = None  # token issued, but no user behind it: Dataverse answers 401
    form = DynamicsCredentialsForm(form_data())
    assert form.is_valid()
    result = form.test_connection(transport=emulator.transport())
    assert not result.ok and "application user" in result.message


def test_unreachable_org_is_explained():
    form = DynamicsCredentialsForm(form_data(org_url="http://127.0.0.1:9", token_url_base="http://127.0.0.1:9"))
    assert form.is_valid()
    from connectors.http import default_retry

    result = form.test_connection(retry=default_retry(total=0))
    assert not result.ok and "Could not reach" in result.message


def connector_for(emulator, **kwargs) -> DynamicsConnector:
    return DynamicsConnector(
        EMULATOR_URL,
        DEFAULT_TENANT,
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        token_url_base=EMULATOR_URL,
        transport=emulator.transport(),
        **kwargs,
    )


def test_token_expired_mid_run_is_refreshed_transparently(emulator):
    ids = [emulator.create_record("contacts", {"lastname": f"C{n}"}) for n in range(3)]
    connector = connector_for(emulator)
    try:
        assert len(connector.read_by_ids("contacts", ids)) == 3
        assert emulator.token_requests == 1
        emulator.expire_tokens()  # the hour ran out between two calls of one run
        assert len(connector.read_by_ids("contacts", ids)) == 3
        assert emulator.token_requests == 2
        assert connector.auth.refreshes == 2
    finally:
        connector.close()


def test_cached_token_is_used_until_close_to_expiry(emulator):
    connector = connector_for(emulator)
    try:
        for _ in range(5):
            connector.discover_fields("accounts")
            connector.find_by("accounts", "name", ["x"])
        assert emulator.token_requests == 1
    finally:
        connector.close()


def test_bad_secret_is_a_permanent_auth_error_on_operations(emulator):
    connector = DynamicsConnector(
        EMULATOR_URL, DEFAULT_TENANT, DEFAULT_CLIENT_ID, "nope", token_url_base=EMULATOR_URL, transport=emulator.transport()
    )
    try:
        with pytest.raises(Exception) as caught:
            connector.read_changes("contacts", None)
        assert caught.value.kind == ErrorKind.AUTH and not caught.value.retryable
        assert caught.value.vendor_code == "AADSTS7000215"
    finally:
        connector.close()


@pytest.mark.django_db
def test_tokens_are_kept_encrypted_on_the_connection_and_reused_by_the_next_run(emulator):
    connection = ConnectionFactory(
        system="dynamics", config=form_data(client_secret=None), credentials={"client_secret": DEFAULT_CLIENT_SECRET}
    )
    transport = emulator.transport()
    first = connection.connector(transport=transport)
    try:
        first.discover_fields("contacts")
    finally:
        first.close()
    connection.refresh_from_db()
    token = connection.oauth_tokens["access_token"]
    assert connection.token_expires_at is not None
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT oauth_tokens FROM connectors_connection WHERE id = %s",
            [connection.pk.hex if db.vendor == "sqlite" else connection.pk],
        )
        assert token not in str(cursor.fetchone()[0])
    second = connection.connector(transport=transport)
    try:
        second.read_changes("contacts", None)
    finally:
        second.close()
    assert emulator.token_requests == 1


@pytest.mark.django_db
def test_incomplete_connection_is_a_config_error():
    connection = ConnectionFactory(system="dynamics", config={"org_url": EMULATOR_URL}, credentials={})
    with pytest.raises(Exception) as caught:
        connection.connector()
    assert caught.value.kind == ErrorKind.CONFIG


@pytest.mark.django_db
def test_connection_actions_record_status_and_cache_the_schema(emulator):
    from tenants import connections as actions

    connection = ConnectionFactory(
        system="dynamics", config=form_data(client_secret=None), credentials={"client_secret": DEFAULT_CLIENT_SECRET}
    )
    result = actions.test_connection(connection, transport=emulator.transport())
    assert result.ok, result.message
    connection.refresh_from_db()
    assert connection.status == connection.Status.OK
    counts = actions.refresh_schema(connection, transport=emulator.transport())
    assert set(counts) == {
        "leads",
        "contacts",
        "accounts",
        "opportunities",
        "systemusers",
        "annotations",
        "phonecalls",
        "tasks",
        "emails",
        "appointments",
    }
    connection.refresh_from_db()
    industry = next(f for f in connection.schema_cache["accounts"] if f["name"] == "industrycode")
    assert {"value": "7", "label": "Consulting"} in industry["options"]
    wrong = ConnectionFactory(system="dynamics", config=form_data(client_secret=None), credentials={"client_secret": "wrong"})
    assert not actions.test_connection(wrong, transport=emulator.transport()).ok
    wrong.refresh_from_db()
    assert wrong.status != wrong.Status.OK and "client secret is wrong" in wrong.last_error
