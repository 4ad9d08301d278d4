"""Log-in throttling (django-axes): the 6th wrong password within 15 minutes is refused without
checking the password, the account's owner is told, staff see the lock-out and lift it; API
tokens and the installer's OAuth callback are behind the same lock-out."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import check_password as real_check_password
from django.core import mail
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from syncsmart.api.tokens import issue_token
from tenants.models import AuditLog, Membership
from tests.factories import PASSWORD, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    return MembershipFactory(user=UserFactory(email="ann@acme.example"), role=Membership.Role.OWNER)


@pytest.fixture
def password_checks(monkeypatch):
    calls = []

    def counting(password, encoded, *args, **kwargs):
        calls.append(password)
        return real_check_password(password, encoded, *args, **kwargs)

    monkeypatch.setattr("django.contrib.auth.base_user.check_password", counting)
    return calls


def _log_in(client, email, password):
    return client.post(reverse("login"), {"username": email, "password": password})


def test_the_sixth_wrong_password_is_refused_unchecked_and_the_owner_is_told(account, password_checks):
    client = Client()
    statuses = [_log_in(client, "ann@acme.example", "wrong-password-1").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]  # the 5th failure locks
    checked = len(password_checks)
    sixth = _log_in(client, "ANN@acme.example", "wrong-password-1")
    assert sixth.status_code == 429
    right = _log_in(Client(REMOTE_ADDR="10.9.9.9"), "ann@acme.example", PASSWORD)  # another address, same account
    assert right.status_code == 429
    assert len(password_checks) == checked  # neither attempt reached a password check
    assert [m.to for m in mail.outbox] == [["ann@acme.example"]]
    assert AuditLog.objects.filter(tenant=account.tenant, action="login.locked_out").exists()


def test_one_address_is_locked_across_accounts(account):
    client = Client(REMOTE_ADDR="10.1.1.1")
    for n in range(5):
        _log_in(client, f"guess{n}@acme.example", "nope-nope-1")
    assert _log_in(client, "ann@acme.example", PASSWORD).status_code == 429


def test_staff_see_the_lockout_and_unlock_it(account):
    for _ in range(5):
        _log_in(Client(), "ann@acme.example", "wrong-password-1")
    staff = Client()
    staff.force_login(UserFactory(email="staff@syncsmart.example", is_staff=True), backend="tenants.auth.EmailBackend")
    page = staff.get(reverse("staff_lockouts"))
    assert b"ann@acme.example" in page.content
    attempt_id = page.context["attempts"][0].pk
    assert staff.post(reverse("staff_unlock", args=[attempt_id])).status_code == 302
    assert _log_in(Client(), "ann@acme.example", PASSWORD).status_code == 302


def test_wrong_api_tokens_lock_the_address_out(account):
    _, good = issue_token(account.tenant, None, "cron", Membership.Role.ADMIN)
    client = APIClient(REMOTE_ADDR="10.2.2.2")
    statuses = []
    for n in range(6):
        client.credentials(HTTP_AUTHORIZATION=f"Bearer ss_guess{n}")
        statuses.append(client.get("/api/integrations/").status_code)
    assert statuses == [401, 401, 401, 401, 429, 429]  # the 5th failure locks
    locked = client.get("/api/integrations/")
    assert locked.json()["error"]["code"] == "throttled"
    other = APIClient(REMOTE_ADDR="10.3.3.3")
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {good}")
    assert other.get("/api/integrations/").status_code == 200


def test_failed_oauth_callbacks_lock_the_address_out(account):
    client = Client(REMOTE_ADDR="10.4.4.4")
    client.force_login(account.user, backend="tenants.auth.EmailBackend")
    for _ in range(5):
        client.get("/oauth/complete/hubspot/?code=x&state=forged")
    assert client.get("/oauth/complete/hubspot/?code=x&state=forged").status_code == 429
