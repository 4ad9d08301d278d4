"""The team page: invitations by e-mail with a signed, expiring, single-use link; owners change
roles and remove members; every change audited; viewers and admins cannot change the team."""

from __future__ import annotations

import re
import time

import pytest
from django.core import mail
from django.test import Client

from tenants import team as team_module
from tenants.models import AuditLog, Invitation, Membership
from tests.factories import MembershipFactory, UserFactory

PASSWORD = "a-long-new-password-42"


def invitation_link(message) -> str:
    return re.search(r"https?://\S+(/invitations/\S+/)", message.body).group(1)


def invite(client: Client, email: str = "new.person@acme.example", role: str = "viewer"):
    return client.post("/team/invite/", {"email": email, "role": role})


@pytest.mark.django_db
def test_an_owner_invites_by_email_and_the_link_creates_an_account_with_that_role(team):
    response = invite(team.owner)
    assert response.status_code == 302
    [message] = mail.outbox
    assert message.to == ["new.person@acme.example"] and "Acme Corp" in message.subject
    assert "works once, for 7 days" in message.body
    link = invitation_link(message)
    page = Client().get(link)
    assert "Join Acme Corp" in page.content.decode() and "Viewer" in page.content.decode()
    newcomer = Client()
    response = newcomer.post(link, {"password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    membership = Membership.objects.get(tenant=team.tenant, user__email="new.person@acme.example")
    assert membership.role == "viewer"
    assert "Acme Corp" in newcomer.get("/").content.decode()
    actions = list(AuditLog.objects.filter(tenant=team.tenant).values_list("action", flat=True))
    assert "invitation.sent" in actions and "membership.added" in actions


@pytest.mark.django_db
def test_an_invitation_link_works_once(team):
    invite(team.owner)
    link = invitation_link(mail.outbox[0])
    assert Client().post(link, {"password": PASSWORD}).status_code == 302
    again = Client().post(link, {"password": PASSWORD})
    assert again.status_code == 400 and "already been used" in again.content.decode()


@pytest.mark.django_db
def test_an_expired_invitation_link_is_refused(team, monkeypatch):
    invite(team.owner)
    link = invitation_link(mail.outbox[0])
    later = time.time() + team_module.INVITATION_MAX_AGE.total_seconds() + 60
    monkeypatch.setattr("django.core.signing.time.time", lambda: later)
    response = Client().get(link)
    assert response.status_code == 400 and "expired" in response.content.decode()
    assert not Membership.objects.filter(user__email="new.person@acme.example").exists()


@pytest.mark.django_db
def test_a_tampered_or_withdrawn_link_is_refused(team):
    invite(team.owner)
    link = invitation_link(mail.outbox[0])
    tampered = link[:-3] + ("A" if link[-3] != "A" else "B") + link[-2:]
    assert Client().get(tampered).status_code == 400
    invitation = Invitation.objects.get()
    assert team.owner.post(f"/team/invitations/{invitation.pk}/revoke/").status_code == 302
    response = Client().get(link)
    assert response.status_code == 400 and "withdrawn" in response.content.decode()


@pytest.mark.django_db
def test_someone_with_an_account_logs_in_then_joins(team):
    existing = UserFactory(email="has.account@acme.example")
    invite(team.owner, email="has.account@acme.example", role="admin")
    link = invitation_link(mail.outbox[0])
    assert "Log in to accept" in Client().get(link).content.decode()
    client = Client()
    client.force_login(existing, backend="tenants.auth.EmailBackend")
    assert client.post(link).status_code == 302
    assert Membership.objects.get(tenant=team.tenant, user=existing).role == "admin"


@pytest.mark.django_db
def test_an_invitation_for_someone_else_is_refused_to_a_logged_in_user(team):
    invite(team.owner)
    link = invitation_link(mail.outbox[0])
    response = team.outsider.post(link)
    assert response.status_code == 403 and "This invitation is for new.person@acme.example" in response.content.decode()
    assert not Membership.objects.filter(tenant=team.tenant, user=team.users["outsider"]).exists()


@pytest.mark.django_db
def test_inviting_a_member_already_in_the_team_says_so(team):
    response = invite(team.owner, email="viewer@acme.example")
    assert response.status_code == 422 and "already in the team" in response.content.decode()
    assert not mail.outbox


@pytest.mark.django_db
def test_only_an_owner_changes_the_team(team):
    target = Membership.objects.get(tenant=team.tenant, user=team.users["viewer"])
    for client in (team.admin, team.viewer):
        assert invite(client).status_code == 403
        assert client.post(f"/team/members/{target.pk}/role/", {f"m{target.pk}-role": "owner"}).status_code == 403
        assert client.post(f"/team/members/{target.pk}/remove/").status_code == 403
    assert team.outsider.post(f"/team/members/{target.pk}/remove/").status_code == 404  # not in their tenant
    assert Membership.objects.filter(pk=target.pk, role="viewer").exists()
    assert "Only an owner can invite" in team.admin.get("/team/").content.decode()


@pytest.mark.django_db
def test_an_owner_changes_a_role_and_removes_a_member_audited(team):
    viewer = Membership.objects.get(tenant=team.tenant, user=team.users["viewer"])
    team.owner.post(f"/team/members/{viewer.pk}/role/", {f"m{viewer.pk}-role": "admin"})
    viewer.refresh_from_db()
    assert viewer.role == "admin"
    entry = AuditLog.objects.filter(tenant=team.tenant, action="membership.changed").latest("created_at")
    assert entry.changes == {"role": "admin", "was": "viewer"} and entry.actor == team.users["owner"]
    team.owner.post(f"/team/members/{viewer.pk}/remove/")
    assert not Membership.objects.filter(pk=viewer.pk).exists()
    assert AuditLog.objects.filter(tenant=team.tenant, action="membership.removed").exists()
    assert team.viewer.get("/").status_code == 404  # no tenant left for the removed user


@pytest.mark.django_db
def test_the_last_owner_can_be_neither_demoted_nor_removed(team):
    owner = Membership.objects.get(tenant=team.tenant, user=team.users["owner"])
    team.owner.post(f"/team/members/{owner.pk}/role/", {f"m{owner.pk}-role": "viewer"})
    team.owner.post(f"/team/members/{owner.pk}/remove/")
    owner.refresh_from_db()
    assert owner.role == "owner"
    page = team.owner.get("/team/").content.decode()
    assert "only owner" in page
    second = MembershipFactory(tenant=team.tenant, role="owner", user=UserFactory(email="second.owner@acme.example"))
    team.owner.post(f"/team/members/{owner.pk}/role/", {f"m{owner.pk}-role": "admin"})
    owner.refresh_from_db()
    assert owner.role == "admin" and second.role == "owner"
