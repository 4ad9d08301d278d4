"""OAuth install and refresh, connections built from the database, and the named connection
actions (test_connection, refresh_schema) recording their outcome on the Connection."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from connectors.base import ConnectorError, ErrorKind
from connectors.http import VendorHttp, mount, unmount
from connectors.hubspot import oauth
from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TOKEN
from connectors.hubspot.forms import HubSpotCredentialsForm
from connectors.models import Connection
from tenants import connections as actions
from tests.connectors.conftest import IN_PROCESS_BASE
from tests.connectors.hubspot_harness import fast_retry
from tests.factories import ConnectionFactory, NoLimit


def oauth_connector(hubspot, tokens: oauth.OAuthTokens, **kwargs) -> HubSpotConnector:
    return HubSpotConnector(
        IN_PROCESS_BASE,
        tokens=tokens,
        client_id=DEFAULT_CLIENT_ID,
        client_secret=DEFAULT_CLIENT_SECRET,
        transport=hubspot.transport(),
        retry=fast_retry(),
        **kwargs,
    )


@pytest.fixture
def mounted(hubspot):
    """Route the emulator's base URL in-process, as the demo and engine tests do."""
    mount(IN_PROCESS_BASE, hubspot.transport())
    yield IN_PROCESS_BASE
    unmount(IN_PROCESS_BASE)


def test_authorize_url_points_at_the_app_host_with_scopes_and_state():
    url = oauth.authorize_url(
        "https://app.hubspot.com", "cid", "https://sync.example.com/cb", ("oauth", "crm.objects.contacts.read"), "s1"
    )
    assert url.startswith("https://app.hubspot.com/oauth/authorize?client_id=cid&")
    assert (
        "redirect_uri=https%3A%2F%2Fsync.example.com%2Fcb" in url
        and "scope=oauth+crm.objects.contacts.read" in url
        and "state=s1" in url
    )


def test_code_exchange_returns_tokens_with_expiry(hubspot):
    code = hubspot.authorize_code("https://sync.example.com/cb")
    http = VendorHttp(IN_PROCESS_BASE, system="HubSpot", transport=hubspot.transport(), retry=fast_retry())
    tokens = oauth.exchange_code(http, code, "https://sync.example.com/cb", DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
    assert tokens.access_token and tokens.refresh_token
    assert tokens.expires_at > timezone.now() + dt.timedelta(minutes=29)
    with pytest.raises(ConnectorError) as caught:  # a code works once
        oauth.exchange_code(http, code, "https://sync.example.com/cb", DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
    assert caught.value.vendor_code == "invalid_grant" and not caught.value.retryable


def test_expiring_access_token_is_refreshed_before_the_call(hubspot):
    issued = hubspot.issue_oauth_tokens()
    saved = []
    tokens = oauth.OAuthTokens(issued["access_token"], issued["refresh_token"], timezone.now() + dt.timedelta(minutes=2))
    connector = oauth_connector(hubspot, tokens, on_tokens=saved.append)
    assert connector.test_connection().ok
    assert (
        len(saved) == 1 and saved[0].access_token != issued["access_token"] and saved[0].refresh_token == issued["refresh_token"]
    )
    assert hubspot.calls("oauth/token") == 1


def test_a_401_refreshes_once_and_retries(hubspot):
    issued = hubspot.issue_oauth_tokens(expires_in=60)
    hubspot.advance_clock(120_000)  # HubSpot considers it expired; our copy of the expiry says it is fine
    tokens = oauth.OAuthTokens(issued["access_token"], issued["refresh_token"], timezone.now() + dt.timedelta(hours=1))
    connector = oauth_connector(hubspot, tokens)
    assert connector.read_by_ids("contacts", ["1"]) == []
    assert hubspot.calls("oauth/token") == 1


@pytest.mark.django_db
def test_invalid_grant_marks_the_connection_reconnect_needed_instead_of_crashing(hubspot, mounted):
    issued = hubspot.issue_oauth_tokens()
    connection = ConnectionFactory(
        config={"base_url": mounted, "portal_id": str(hubspot.portal_id), "client_id": DEFAULT_CLIENT_ID},
        credentials={"client_secret": DEFAULT_CLIENT_SECRET},
        oauth_tokens=issued,
        token_expires_at=timezone.now() - dt.timedelta(minutes=1),
    )
    hubspot.revoke_refresh_token(issued["refresh_token"])  # the customer uninstalled the app
    result = actions.test_connection(connection, limiter=NoLimit())
    assert not result.ok and "Reconnect HubSpot" in result.message
    connection.refresh_from_db()
    assert connection.status == Connection.Status.RECONNECT_NEEDED and "Reconnect" in connection.last_error
    with pytest.raises(ConnectorError) as caught:
        connection.connector(limiter=NoLimit()).read_by_ids("contacts", ["1"])
    assert caught.value.kind == ErrorKind.AUTH and not caught.value.retryable
    assert hubspot.calls("oauth/token") == 2  # one refresh attempt per call, no retry loop


@pytest.mark.django_db
def test_refreshed_tokens_are_saved_encrypted_on_the_connection(hubspot, mounted):
    issued = hubspot.issue_oauth_tokens()
    connection = ConnectionFactory(
        config={"base_url": mounted, "client_id": DEFAULT_CLIENT_ID},
        credentials={"client_secret": DEFAULT_CLIENT_SECRET},
        oauth_tokens=issued,
        token_expires_at=timezone.now() + dt.timedelta(seconds=30),
    )
    assert actions.test_connection(connection, limiter=NoLimit()).ok
    stored = Connection.objects.get(pk=connection.pk)
    assert stored.oauth_tokens["access_token"] != issued["access_token"]
    assert stored.token_expires_at > timezone.now() + dt.timedelta(minutes=25)
    raw = Connection.objects.filter(pk=connection.pk).values_list("oauth_tokens", flat=True).query
    from django.db import connection as db

    with db.cursor() as cursor:
        cursor.execute(*raw.sql_with_params())
        assert stored.oauth_tokens["access_token"] not in str(cursor.fetchone()[0])


@pytest.mark.django_db
def test_test_connection_records_success_with_the_portal(hubspot, mounted):
    connection = ConnectionFactory(config={"base_url": mounted}, credentials={"token": DEFAULT_TOKEN})
    result = actions.test_connection(connection, limiter=NoLimit())
    assert result.ok and result.account == str(hubspot.portal_id)
    connection.refresh_from_db()
    assert connection.status == Connection.Status.OK and connection.last_ok_at


@pytest.mark.django_db
def test_bad_private_app_token_fails_with_a_human_message(mounted):
    connection = ConnectionFactory(config={"base_url": mounted}, credentials={"token": "pat-na1-wrong"})
    result = actions.test_connection(connection, limiter=NoLimit())
    assert not result.ok and "private-app access token" in result.message
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ERROR and connection.last_error == result.message


@pytest.mark.django_db
def test_token_of_another_portal_is_refused(mounted):
    connection = ConnectionFactory(config={"base_url": mounted, "portal_id": "999"}, credentials={"token": DEFAULT_TOKEN})
    result = actions.test_connection(connection, limiter=NoLimit())
    assert not result.ok and "not 999" in result.message


@pytest.mark.django_db
def test_refresh_schema_caches_the_fields_of_every_object_type(hubspot, mounted):
    connection = ConnectionFactory(config={"base_url": mounted}, credentials={"token": DEFAULT_TOKEN})
    counts = actions.refresh_schema(connection, limiter=NoLimit())
    assert set(counts) == {"contacts", "companies", "deals", "owners", "notes", "calls", "tasks", "emails", "meetings"}
    connection.refresh_from_db()
    stage = next(f for f in connection.schema_cache["contacts"] if f["name"] == "lifecyclestage")
    assert stage["type"] == "enumeration" and {"value": "lead", "label": "Lead"} in stage["options"]
    company = next(f for f in connection.schema_cache["deals"] if f["name"] == "company")
    assert company["type"] == "reference" and company["reference_to"] == "companies"
    assert connection.schema_refreshed_at and connection.status == Connection.Status.OK


@pytest.mark.django_db
def test_refresh_schema_tolerates_an_unreachable_vendor_and_keeps_the_old_cache():
    connection = ConnectionFactory(
        config={"base_url": "http://127.0.0.1:9"},
        credentials={"token": DEFAULT_TOKEN},
        schema_cache={"contacts": [{"name": "email", "type": "email"}]},
    )
    counts = actions.refresh_schema(connection, limiter=NoLimit(), retry=fast_retry(total=1))
    assert "contacts" not in (counts or {})
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ERROR and "Could not reach HubSpot" in connection.last_error
    assert connection.schema_cache["contacts"] == [{"name": "email", "type": "email"}]


@pytest.mark.django_db
def test_actions_write_an_audit_row_when_given_an_actor(mounted, team):
    connection = ConnectionFactory(tenant=team.tenant, config={"base_url": mounted}, credentials={"token": DEFAULT_TOKEN})
    actions.test_connection(connection, actor=team.users["owner"], limiter=NoLimit())
    row = team.tenant.audit_entries.get(action="connection.tested")
    assert row.actor == team.users["owner"] and row.target_id == str(connection.pk) and "OK" in row.summary


@pytest.mark.django_db
def test_from_connection_uses_the_shared_limiter_for_the_portal(mounted, hubspot):
    connection = ConnectionFactory(
        config={"base_url": mounted, "portal_id": f"{uuid.uuid4().int % 10**9}"}, credentials={"token": DEFAULT_TOKEN}
    )
    connector = connection.connector()
    limiter = connector.limiter
    before = limiter.used_today()
    connector.read_by_ids("contacts", ["1"])
    assert limiter.used_today() == before + 2  # the properties list and the batch read, counted in the shared budget


def test_credentials_form_checks_the_token_shape_and_never_renders_it_back():
    form = HubSpotCredentialsForm(data={"token": "my api key", "portal_id": "abc"})
    assert not form.is_valid()
    assert "no spaces" in form.errors["token"][0] and "number" in form.errors["portal_id"][0]
    good = HubSpotCredentialsForm(data={"token": "pat-na1-11112222-3333", "portal_id": "62515"})
    assert good.is_valid() and good.get_credentials() == {"token": "pat-na1-11112222-3333"}
    assert "pat-na1-11112222-3333" not in str(good["token"])


def test_credentials_form_test_connection_explains_a_bad_token(hubspot):
    form = HubSpotCredentialsForm(data={"token": "pat-na1-not-the-one"})
    assert form.is_valid()
    result = form.test_connection(transport=hubspot.transport(), retry=fast_retry())
    assert not result.ok and "private-app access token" in result.message
