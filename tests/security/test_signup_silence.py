"""Sign-up does not tell whether an address has an account: a taken address gets exactly the
answer a new one gets, and only the address's owner learns, by e-mail, that someone tried. No
account exists (nothing can log in) until the e-mailed, signed, expiring link is confirmed."""

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from tenants.models import Membership, SignUpRequest, Tenant
from tests.factories import PASSWORD, UserFactory
from tests.mail_links import confirm_sign_up, link_path

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a-long-test-password-42"
VARYING = re.compile(r'"X-CSRFToken": "[^"]*"|(nonce|value)="[^"]*"')  # CSRF tokens and CSP nonces differ per response


def sign_up(client: Client, email: str, path: str = "/signup/", company: str = "Widgets Ltd"):
    return client.post(path, {"email": email, "company_name": company, "password": NEW_PASSWORD})


def answer(response, client: Client) -> tuple:
    """Everything a person (or a script) sees of a sign-up's answer, the page it leads to included."""
    page = client.get(response["Location"])
    return (
        response.status_code,
        response["Location"],
        sorted(response.cookies),
        page.status_code,
        VARYING.sub("", page.content.decode()),
    )


@pytest.mark.parametrize("path", ["/signup/", "/onboarding/account/"])
def test_a_taken_address_gets_exactly_the_answer_a_new_one_gets(path):
    UserFactory(email="taken@example.com")
    new_client, taken_client = Client(), Client()
    new = answer(sign_up(new_client, "new@example.com", path), new_client)
    taken = answer(sign_up(taken_client, "Taken@Example.com", path), taken_client)
    assert new == taken
    assert new[0] == 302 and new[1] == "/signup/sent/"
    assert "Check your e-mail to confirm" in new[4]
    assert "exists" not in new[4]


def test_the_owner_of_a_taken_address_is_told_and_nothing_changes():
    owner = UserFactory(email="taken@example.com")
    sign_up(Client(), "taken@example.com", company="Intruder Ltd")
    [message] = mail.outbox
    assert message.to == ["taken@example.com"]
    assert "tried to sign up" in message.subject and "/signup/confirm/" not in message.body
    assert "/login/" in message.body and "/password-reset/" in message.body
    assert not Tenant.objects.filter(name="Intruder Ltd").exists() and not SignUpRequest.objects.exists()
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD) and not owner.check_password(NEW_PASSWORD)


def test_a_weak_password_is_still_named_for_a_taken_address_and_a_new_one_alike():
    UserFactory(email="taken@example.com")
    pages = [
        Client().post("/signup/", {"email": email, "company_name": "X", "password": "123"}).content.decode()
        for email in ("taken@example.com", "new@example.com")
    ]
    assert all("too short" in page and "exists" not in page for page in pages)
    assert not mail.outbox and not Tenant.objects.filter(name="X").exists()


def test_nothing_can_log_in_before_the_address_is_confirmed():
    client = Client()
    sign_up(client, "new@example.com")
    assert not get_user_model().objects.filter(email="new@example.com").exists()
    assert SignUpRequest.objects.get().password != NEW_PASSWORD  # kept hashed while it waits
    login = client.post("/login/", {"username": "new@example.com", "password": NEW_PASSWORD})
    assert login.status_code == 200 and "do not match an account" in login.content.decode()


def test_opening_the_link_confirms_nothing_until_its_button_is_pressed():
    client = Client()
    sign_up(client, "new@example.com")
    page = client.get(link_path(mail.outbox[0], "/signup/confirm/"))
    assert page.status_code == 200 and "Confirm and continue" in page.content.decode()
    assert not get_user_model().objects.filter(email="new@example.com").exists()


def test_the_confirmed_link_creates_the_account_and_workspace_and_logs_in_once():
    client = Client()
    sign_up(client, "new@example.com")
    response = confirm_sign_up(client, "new@example.com")
    assert response.status_code == 302 and response["Location"] == "/"
    membership = Membership.objects.get(user__email="new@example.com")
    assert membership.role == "owner" and membership.tenant.name == "Widgets Ltd"
    assert client.get("/").status_code == 200
    again = confirm_sign_up(Client(), "new@example.com")
    assert again.status_code == 400 and "already used" in again.content.decode()
    assert Membership.objects.filter(user__email="new@example.com").count() == 1
    assert Client().post("/login/", {"username": "new@example.com", "password": NEW_PASSWORD}).status_code == 302


def test_two_waiting_sign_ups_of_one_address_make_one_account():
    sign_up(Client(), "new@example.com", company="First Ltd")
    sign_up(Client(), "new@example.com", company="Second Ltd")
    first, second = (link_path(m, "/signup/confirm/") for m in mail.outbox)
    assert Client().post(second).status_code == 302
    assert Client().post(first).status_code == 400
    assert list(Tenant.objects.values_list("name", flat=True)) == ["Second Ltd"]


def test_an_expired_or_altered_link_is_refused(monkeypatch):
    sign_up(Client(), "new@example.com")
    path = link_path(mail.outbox[0], "/signup/confirm/")
    token = path.rstrip("/").rsplit("/", 1)[1]
    altered = path.replace(token, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    refused = Client().post(altered)
    assert refused.status_code == 400 and "not valid" in refused.content.decode()
    monkeypatch.setattr("tenants.signup.SIGN_UP_MAX_AGE", dt.timedelta(seconds=-1))
    expired = Client().post(path)
    assert expired.status_code == 400 and "expired" in expired.content.decode()
    assert not get_user_model().objects.filter(email="new@example.com").exists()


@pytest.mark.parametrize(("next_url", "lands_on"), [("/team/", "/team/"), ("https://evil.example/", "/")])
def test_the_link_continues_where_the_sign_up_asked_only_on_this_site(next_url, lands_on):
    client = Client()
    client.post(f"/signup/?next={next_url}", {"email": "new@example.com", "company_name": "W", "password": NEW_PASSWORD})
    assert confirm_sign_up(client, "new@example.com")["Location"] == lands_on
