"""The installer wizard through Django's test client: each step, going back, resuming, failures."""

from __future__ import annotations

import html
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.test import Client, override_settings
from django.urls import reverse

from connectors.connectwise.emulator import DEMO_CLIENT_ID, DEMO_COMPANY, DEMO_PRIVATE_KEY, DEMO_PUBLIC_KEY
from connectors.models import Connection
from mappings.models import Integration
from syncsmart.models import Preview, SyncRun
from tenants.models import AuditLog, OnboardingProgress, Tenant
from tests.mail_links import confirm_sign_up
from tests.onboarding.conftest import CW_SITE

PASSWORD = "a-long-test-password-42"


def finish(client):
    """Finish: the first press shows the first sync's preview, confirming it finishes. A preview
    no worker ran here (SYNC_RUN_INLINE off) is marked done; run inline, it reads the emulators."""
    first = client.post(step("finish"))
    preview = Preview.objects.filter(purpose="install").order_by("-created_at").first()
    if first.status_code != 200 or preview is None:
        return first
    assert "What the first sync will do" in first.content.decode()
    Preview.objects.filter(pk=preview.pk, status__in=["queued", "running"]).update(status="done")
    return client.post(step("finish"), {"confirmed_preview": str(preview.pk)})


def step(name: str) -> str:
    return reverse("onboarding_step", args=[name])


def sign_up(client: Client, email: str = "installer@acme.example") -> Tenant:
    """The account step, then the e-mailed confirmation link, which continues at the HubSpot step."""
    response = client.post(step("account"), {"email": email, "company_name": "Acme Install", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("signup_sent")
    confirmed = confirm_sign_up(client, email)
    assert confirmed.status_code == 302 and confirmed["Location"] == step("hubspot")
    return Tenant.objects.get(name="Acme Install")


def approve_in_hubspot(client: Client) -> str:
    """Follow social-auth to the emulator's consent page, click "Connect app", come back with the code."""
    begin = client.post(reverse("social:begin", args=["hubspot"]) + "?next=" + step("hubspot"))
    assert begin.status_code == 302
    consent = httpx.get(begin["Location"])
    assert consent.status_code == 200 and "Connect SyncSmart to HubSpot" in consent.text
    query = {k: v[0] for k, v in parse_qs(urlsplit(begin["Location"]).query).items()}
    approved = httpx.post(begin["Location"].split("?")[0], data={**query, "decision": "approve"})
    assert approved.status_code == 302
    callback = urlsplit(approved.headers["Location"])
    response = client.get(callback.path + "?" + callback.query)
    assert response.status_code == 302
    return response["Location"]


def cw_form(**overrides) -> dict:
    return {
        "company_id": DEMO_COMPANY,
        "site": CW_SITE,
        "public_key": DEMO_PUBLIC_KEY,
        "private_key": DEMO_PRIVATE_KEY,
        "client_id": DEMO_CLIENT_ID,
        **overrides,
    }


def test_the_install_page_is_public_and_its_install_link_starts_the_wizard(client, db):
    page = client.get(reverse("install"))
    assert page.status_code == 200 and 'href="/onboarding/"' in page.content.decode()
    assert client.get("/onboarding/")["Location"] == step("account")
    assert client.get(step("hubspot"))["Location"].startswith("/login/")


@pytest.mark.django_db
def test_connecting_hubspot_stores_the_tokens_encrypted_on_the_tenants_connection_only(client, hubspot):
    from social_django.models import UserSocialAuth

    tenant = sign_up(client)
    assert approve_in_hubspot(client) == step("hubspot")
    connection = Connection.objects.get(tenant=tenant, system="hubspot")
    tokens = connection.oauth_tokens
    assert tokens["access_token"] in hubspot.access_tokens and tokens["refresh_token"]
    assert connection.config["portal_id"] == str(hubspot.portal_id) and connection.token_expires_at is not None
    tenant.refresh_from_db()
    assert tenant.hubspot_portal_id == str(hubspot.portal_id)
    assert not UserSocialAuth.objects.exists()  # no plaintext extra_data anywhere
    from django.db import connection as db

    with db.cursor() as cursor:
        cursor.execute("SELECT oauth_tokens FROM connectors_connection WHERE id = %s", [connection.pk.hex])
        raw = cursor.fetchone()[0]
    assert tokens["access_token"] not in raw and tokens["refresh_token"] not in raw
    page = client.get(step("hubspot")).content.decode()
    assert f'Connected to HubSpot portal <strong id="portal-id">{hubspot.portal_id}</strong>' in page
    assert tokens["access_token"] not in page
    assert AuditLog.objects.filter(tenant=tenant, action="onboarding.hubspot_connected").exists()


@pytest.mark.django_db
def test_a_refused_hubspot_authorization_says_what_to_do(client, hubspot):
    sign_up(client)
    begin = client.post(reverse("social:begin", args=["hubspot"]))
    state = parse_qs(urlsplit(begin["Location"]).query)["state"][0]
    response = client.get(reverse("social:complete", args=["hubspot"]) + f"?error=access_denied&state={state}", follow=True)
    assert response.redirect_chain[-1][0] == step("hubspot")
    assert "Connect HubSpot" in response.content.decode()
    assert not Connection.objects.filter(system="hubspot").exists()
    messages = [str(m) for m in response.context["messages"]]
    assert messages, "the customer is told what happened"


@pytest.mark.django_db
def test_steps_cannot_be_skipped(client, hubspot):
    sign_up(client)
    for later in ("system", "credentials", "objects", "finish"):
        assert client.get(step(later))["Location"] == step("hubspot")
    assert client.post(step("hubspot"))["Location"] == step("hubspot")  # "Use this portal" before connecting


@pytest.mark.django_db
def test_the_connectwise_site_with_https_is_refused_with_what_to_type(client, hubspot, connectwise):
    sign_up(client)
    approve_in_hubspot(client)
    client.post(step("hubspot"))
    client.post(step("system"), {"system": "connectwise", "environment": "sandbox"})
    page = client.post(step("credentials"), cw_form(site=f"https://{CW_SITE}/v4_6_release", then="test")).content.decode()
    assert "without https://" in page
    assert "Do not type https://" in page  # the inline help under the field
    assert not Connection.objects.filter(system="connectwise").exists()


@pytest.mark.django_db
def test_a_wrong_key_fails_the_test_with_the_reason_and_blocks_the_next_step(client, hubspot, connectwise):
    sign_up(client)
    approve_in_hubspot(client)
    client.post(step("hubspot"))
    client.post(step("system"), {"system": "connectwise", "environment": "sandbox"})
    response = client.post(step("credentials"), cw_form(private_key="wrong-key-123", then="continue"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Connection failed." in page
    connection = Connection.objects.get(system="connectwise")
    assert connection.status == Connection.Status.ERROR and connection.last_error in html.unescape(page)
    assert "wrong-key-123" not in page
    assert client.get(step("objects"))["Location"] == step("credentials")

    # Going back and forth keeps what was typed: every value but the secret is shown again.
    client.get(step("system"))
    again = client.get(step("credentials")).content.decode()
    assert f'value="{CW_SITE}"' in again and f'value="{DEMO_PUBLIC_KEY}"' in again and "wrong-key-123" not in again

    response = client.post(step("credentials"), cw_form(then="continue"))
    assert response["Location"] == step("objects")
    connection.refresh_from_db()
    assert connection.status == Connection.Status.OK and connection.credentials["private_key"] == DEMO_PRIVATE_KEY


@pytest.mark.django_db
def test_progress_survives_a_closed_browser_and_earlier_answers_stay(client, hubspot, connectwise):
    sign_up(client)
    approve_in_hubspot(client)
    client.post(step("hubspot"))
    client.post(step("system"), {"system": "connectwise", "environment": "sandbox"})
    client.post(step("credentials"), cw_form(then="continue"))

    fresh = Client()  # a new browser: log in, and the installer opens where it stopped
    fresh.post(reverse("login"), {"username": "installer@acme.example", "password": PASSWORD})
    assert fresh.get("/onboarding/")["Location"] == step("objects")
    system_page = fresh.get(step("system")).content.decode()
    assert "checked" in system_page.split('value="connectwise"')[1].split(">")[0]
    assert f'value="{CW_SITE}"' in fresh.get(step("credentials")).content.decode()


@pytest.mark.django_db
def test_finishing_installs_defaults_creates_the_schedule_and_runs_the_first_sync(
    client, hubspot, connectwise, django_capture_on_commit_callbacks
):
    from django_q.models import Schedule

    company = hubspot.create_record("companies", {"name": "SyncSmart Test Co", "domain": "synctest.example"})
    hubspot.create_record(
        "contacts",
        {"email": "ada.ss.test@synctest.example", "firstname": "Ada", "lastname": "Lovelace"},
        associations={"companies": [company]},
    )
    hubspot.create_record("contacts", {"email": "bob@synctest.example", "firstname": "Bob", "lastname": "Untested"})
    tenant = sign_up(client)
    approve_in_hubspot(client)
    client.post(step("hubspot"))
    client.post(step("system"), {"system": "connectwise", "environment": "sandbox"})
    client.post(step("credentials"), cw_form(then="continue"))
    objects = client.get(step("objects")).content.decode()
    assert 'name="test_mode"' in objects and "checked" in objects.split('name="test_mode"')[1].split(">")[0]
    client.post(
        step("objects"), {"objects": ["companies:companies", "contacts:contacts"], "block_free_emails": "on", "test_mode": "on"}
    )
    with override_settings(SYNC_RUN_INLINE=True), django_capture_on_commit_callbacks(execute=True):
        first = client.post(step("finish"))  # first what the first sync would do: a preview
    assert "What the first sync will do" in first.content.decode()
    seen = Preview.objects.get(purpose="install")  # read from the emulators, inline
    assert seen.status == "done" and seen.write_calls == 0 and seen.result["totals"]["create"] > 0, seen.error
    assert not SyncRun.objects.filter(integration__tenant=tenant).exists()  # nothing synced yet
    with override_settings(SYNC_RUN_INLINE=True), django_capture_on_commit_callbacks(execute=True):
        response = client.post(step("finish"), {"confirmed_preview": str(seen.pk)})
    assert response["Location"] == reverse("onboarding_done")

    integration = Integration.objects.get(tenant=tenant)
    assert integration.enabled and integration.test_mode and integration.block_free_emails
    assert integration.object_mappings.filter(enabled=True).count() == 2
    assert integration.object_mappings.get(hubspot_object="contacts").field_mappings.exists()
    assert Schedule.objects.filter(name=integration.schedule_name).exists()
    run = SyncRun.objects.get(integration=integration)
    assert run.status in (SyncRun.Status.SUCCEEDED, SyncRun.Status.PARTIAL), run.error
    emails = {c.get("email") for c in connectwise.records("contacts")} | {
        item.get("value") for c in connectwise.records("contacts") for item in c.get("communicationItems", [])
    }
    assert "ada.ss.test@synctest.example" in emails  # the test-marked contact synced...
    assert "bob@synctest.example" not in emails  # ...and test mode kept the other one back
    progress = OnboardingProgress.objects.get(tenant=tenant)
    assert progress.is_complete and progress.integration == integration
    done_page = client.get(reverse("onboarding_done")).content.decode()
    assert "First sync" in done_page
    assert "written to ConnectWise" in done_page and "writes_other" not in done_page  # counts in words
    # A double-submitted Finish does not make a second integration.
    client.post(step("finish"), {"confirmed_preview": str(seen.pk)})
    assert Integration.objects.filter(tenant=tenant).count() == 1


@pytest.mark.django_db
def test_a_logged_in_member_continues_and_a_user_without_a_tenant_only_names_the_company(team, client):
    page = team.owner.get(step("account")).content.decode()
    assert "You are signed in as <strong>owner@acme.example</strong>" in page
    assert team.owner.post(step("account"))["Location"] == step("hubspot")
    assert team.viewer.post(step("account")).status_code == 403  # a read-only member cannot install

    from tests.factories import UserFactory

    loner = UserFactory(email="loner@example.com")
    client.force_login(loner, backend="tenants.auth.EmailBackend")
    assert "Which company is SyncSmart for?" in client.get(step("account")).content.decode()
    assert client.post(step("account"), {"company_name": "Loner Ltd"})["Location"] == step("hubspot")
    assert Tenant.objects.get(name="Loner Ltd").memberships.get().user == loner
    assert client.get(step("hubspot")).status_code == 200


@pytest.mark.django_db
def test_switching_the_other_system_back_and_forth_keeps_each_systems_entries(client, hubspot, connectwise):
    sign_up(client)
    approve_in_hubspot(client)
    client.post(step("hubspot"))
    client.post(step("system"), {"system": "connectwise", "environment": "sandbox"})
    client.post(step("credentials"), cw_form(then="test"))
    client.post(step("system"), {"system": "dynamics", "environment": "sandbox"})
    dynamics_page = client.get(step("credentials")).content.decode()
    assert "Organization URL" in dynamics_page and CW_SITE not in dynamics_page
    client.post(step("system"), {"system": "connectwise", "environment": "sandbox"})
    page = client.get(step("credentials")).content.decode()
    assert f'value="{CW_SITE}"' in page and "saved; leave blank to keep" in page
    assert Connection.objects.filter(system="connectwise").count() == 1


def test_the_demo_environment_points_every_hubspot_oauth_setting_at_the_emulator(tmp_path):
    """A fresh interpreter with the demo runner's variables ends up with settings aimed at the emulator."""
    import json
    import os
    import subprocess
    import sys

    from tenants.onboarding.demo import hubspot_oauth_env

    env = {**os.environ, **hubspot_oauth_env("http://127.0.0.1:8101/"), "SYNCSMART_LOCAL_DIR": str(tmp_path)}
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; print(json.dumps([s.SOCIAL_AUTH_HUBSPOT_"
        "AUTHORIZATION_URL, s.SOCIAL_AUTH_HUBSPOT_ACCESS_TOKEN_URL, s.SOCIAL_AUTH_HUBSPOT_USER_DATA_URL, s.HUBSPOT_API_BASE, "
        "s.SOCIAL_AUTH_HUBSPOT_KEY]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "DJANGO_SETTINGS_MODULE": "syncsmart.settings"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(out) == [
        "http://127.0.0.1:8101/oauth/authorize",
        "http://127.0.0.1:8101/oauth/v1/token",
        "http://127.0.0.1:8101/oauth/v1/access-tokens/",
        "http://127.0.0.1:8101",
        "emulator-client-id",
    ]


@pytest.mark.django_db
def test_a_read_only_member_opening_the_installer_changes_nothing(team):
    assert team.viewer.get("/onboarding/")["Location"] == reverse("home")
    assert not OnboardingProgress.objects.exists()
    assert team.viewer.get(step("hubspot")).status_code == 403
