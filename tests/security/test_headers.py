"""A strict Content-Security-Policy on every page (scripts only from our static files: no inline
script, no on*/hx-on handlers in any page we render) and a Permissions-Policy."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory
from tests.security.test_isolation import _tenant_urls, _world

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*\bnonce=)[^>]*>", re.I)
HANDLER_ATTRIBUTE = re.compile(r"\s(on[a-z]+|hx-on[:\w-]*)\s*=", re.I)


def _script_src(policy: str) -> str:
    return next(part for part in policy.split(";") if part.strip().startswith("script-src"))


def _pages(team):
    mine = _world(team.tenant)
    urls = [u for u in _tenant_urls(mine) if not u.startswith("/api/") and "{" not in u]
    return urls + ["/api/docs/", "/api/redoc/"]


def test_every_page_has_a_strict_policy_and_no_inline_script(team):
    owner = Client()
    owner.force_login(team.users["owner"], backend="tenants.auth.EmailBackend")
    staff = Client()
    staff.force_login(
        UserFactory(email="ops@syncsmart.example", is_staff=True, is_superuser=True), backend="tenants.auth.EmailBackend"
    )
    checked = 0
    for client, url in [
        *((owner, u) for u in _pages(team)),
        (Client(), reverse("login")),
        (Client(), reverse("signup")),
        (staff, reverse("staff_index")),
        (staff, reverse("staff_lockouts")),
        (staff, reverse("staff_tenant", args=[team.tenant.pk])),
        (staff, "/staff/admin/"),
    ]:
        response = client.get(url)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        checked += 1
        policy = response["Content-Security-Policy"]
        script_src = _script_src(policy)
        assert "'self'" in script_src and "unsafe-inline" not in script_src and "unsafe-eval" not in script_src, url
        assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
        assert "camera=()" in response["Permissions-Policy"]
        body = response.content.decode()
        assert not INLINE_SCRIPT.findall(body), (url, INLINE_SCRIPT.findall(body))
        assert not HANDLER_ATTRIBUTE.findall(body), (url, HANDLER_ATTRIBUTE.findall(body))
    assert checked >= 12
