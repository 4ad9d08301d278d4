"""Sign-up, log-in, roles and tenant scoping of the account pages."""

import pytest
from django.core import mail

from tenants.models import AuditLog, Membership, Tenant
from tests.factories import PASSWORD, MembershipFactory, TenantFactory, UserFactory
from tests.mail_links import confirm_sign_up


@pytest.mark.django_db
def test_sign_up_creates_a_tenant_with_its_owner_and_logs_in_once_the_email_is_confirmed(client):
    response = client.post("/signup/", {"email": "New@Example.com", "company_name": "Widgets Ltd", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/signup/sent/"
    assert not Membership.objects.exists()  # nothing exists before the address is confirmed
    assert confirm_sign_up(client, "new@example.com").status_code == 302
    membership = Membership.objects.get(user__email="new@example.com")
    assert membership.role == "owner" and membership.tenant.name == "Widgets Ltd"
    assert client.get("/").status_code == 200
    assert AuditLog.objects.filter(tenant=membership.tenant, action="tenant.created").exists()


@pytest.mark.django_db
def test_sign_up_with_a_weak_password_says_what_is_wrong_but_not_that_the_email_is_taken(client):
    UserFactory(email="taken@example.com")
    response = client.post("/signup/", {"email": "taken@example.com", "company_name": "X", "password": "123"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "too short" in body and "already exists" not in body  # tests/security/test_signup_silence.py
    assert Tenant.objects.filter(name="X").count() == 0


@pytest.mark.django_db
def test_log_in_with_email_and_password_and_log_out(client):
    UserFactory(email="someone@example.com")
    response = client.post("/login/", {"username": "SOMEONE@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_a_wrong_password_gets_a_clear_message(client):
    UserFactory(email="someone@example.com")
    response = client.post("/login/", {"username": "someone@example.com", "password": "wrong-password"})
    assert "do not match an account" in response.content.decode()


@pytest.mark.django_db
def test_password_reset_sends_an_email_with_a_working_link(client):
    UserFactory(email="forgetful@example.com")
    client.post("/password-reset/", {"email": "forgetful@example.com"})
    assert len(mail.outbox) == 1
    link = next(line for line in mail.outbox[0].body.splitlines() if "/reset/" in line).strip()
    path = link[link.index("/reset/") :]
    response = client.get(path, follow=True)
    assert response.status_code == 200
    response = client.post(
        response.redirect_chain[-1][0], {"new_password1": "another-good-pass-42", "new_password2": "another-good-pass-42"}
    )
    assert response.status_code == 302
    login = client.post("/login/", {"username": "forgetful@example.com", "password": "another-good-pass-42"})
    assert login.status_code == 302


@pytest.mark.django_db
def test_anonymous_users_are_sent_to_log_in(team):
    for path in ("/", "/audit/"):
        response = team.anonymous.get(path)
        assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.django_db
def test_a_user_in_several_tenants_switches_between_them(team):
    second = TenantFactory(name="Second Co")
    MembershipFactory(tenant=second, user=team.users["owner"], role="viewer")
    assert "Acme Corp" in team.owner.get("/").content.decode()
    assert team.owner.post(f"/tenants/{second.pk}/switch/").status_code == 302
    assert "Second Co" in team.owner.get("/").content.decode()


@pytest.mark.django_db
def test_switching_to_a_tenant_one_is_not_a_member_of_is_a_404(team):
    assert team.owner.post(f"/tenants/{team.other_tenant.pk}/switch/").status_code == 404


@pytest.mark.django_db
def test_the_audit_log_shows_only_the_current_tenant(team):
    AuditLog.objects.create(tenant=team.tenant, actor_label="a", action="mine.happened")
    AuditLog.objects.create(tenant=team.other_tenant, actor_label="b", action="theirs.happened")
    body = team.viewer.get("/audit/").content.decode()
    assert "Mine happened" in body and "Theirs happened" not in body  # the action in words, not its internal name


@pytest.mark.django_db
def test_staff_console_is_for_staff_only(team, admin_client):
    assert admin_client.get("/staff/").status_code == 200
    assert team.owner.get("/staff/").status_code == 403  # the console (tests/staff/ covers every page)
    for path in ("/staff/admin/", "/staff/admin/tenants/tenant/", "/staff/admin/django_q/schedule/"):
        response = team.owner.get(path)
        assert response.status_code == 302 and "/staff/admin/login/" in response["Location"]
    assert admin_client.get("/staff/admin/django_q/schedule/").status_code == 200
    assert admin_client.get("/staff/admin/tenants/auditlog/").status_code == 200


def test_audit_rows_never_keep_a_secret_value():
    from tenants.actions import _scrub

    assert _scrub({"client_secret": "s3cr3t", "name": "x", "config": {"private_key": "k", "site": "a"}}) == {
        "client_secret": "(changed)",
        "name": "x",
        "config": {"private_key": "(changed)", "site": "a"},
    }
