"""Shared fixtures: a tenant with an owner, an admin and a viewer, and an outsider who owns
another tenant. Every customer-facing view is tested against all four."""

from dataclasses import dataclass

import hypothesis
import pytest
from django.test import Client

from tenants.models import Membership
from tests.factories import MembershipFactory, TenantFactory, UserFactory

# The suite shares two cores with the PostgreSQL half, browsers and emulators: generating an
# example can be slow for reasons that say nothing about the code, so no property test fails on
# time (a test's own @settings still sets its example count).
hypothesis.settings.register_profile("suite", deadline=None, suppress_health_check=[hypothesis.HealthCheck.too_slow])
hypothesis.settings.load_profile("suite")


@dataclass
class Team:
    tenant: object
    other_tenant: object
    owner: Client
    admin: Client
    viewer: Client
    outsider: Client
    anonymous: Client
    users: dict


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user, backend="tenants.auth.EmailBackend")
    return client


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Fixtures hash passwords in most tests; PBKDF2's deliberate slowness is not under test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def team(db) -> Team:
    tenant = TenantFactory(name="Acme Corp")
    other = TenantFactory(name="Other Inc")
    users = {}
    for role in (Membership.Role.OWNER, Membership.Role.ADMIN, Membership.Role.VIEWER):
        users[role.value] = MembershipFactory(tenant=tenant, role=role, user=UserFactory(email=f"{role.value}@acme.example")).user
    users["outsider"] = MembershipFactory(
        tenant=other, role=Membership.Role.OWNER, user=UserFactory(email="owner@other.example")
    ).user
    return Team(
        tenant=tenant,
        other_tenant=other,
        owner=_client_for(users["owner"]),
        admin=_client_for(users["admin"]),
        viewer=_client_for(users["viewer"]),
        outsider=_client_for(users["outsider"]),
        anonymous=Client(),
        users=users,
    )
