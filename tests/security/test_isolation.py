"""Tenant isolation across every URL pattern and API route, walked from the URL resolver so a
new route is covered the day it is added: another tenant's ids as owner, admin and viewer, a
member of a suspended workspace, a logged-in outsider and an API token — never a 2xx, never a
5xx, never a change."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from mappings.services import actions
from syncsmart.api.tokens import issue_token
from syncsmart.engine.tasks import scheduled_run
from syncsmart.models import AmbiguousMatch, Preview, RecordEvent, SyncRun
from tenants.models import ApiToken, AuditLog, Invitation, Membership, Tenant
from tests.factories import HeldConflictFactory, MembershipFactory, TenantFactory, UserFactory
from tests.ui.factories import FieldMappingFactory, IntegrationFactory, ObjectMappingFactory, RecordEventFactory, SyncRunFactory

pytestmark = pytest.mark.django_db

# Routes that take no tenant's ids and serve no tenant data (or have their own tests).
NOT_TENANT_ROUTES = re.compile(
    r"^(healthz|metrics|staff/|oauth/|webhooks/|login/|logout/|signup/|password-reset|reset/|install/|onboarding/|"
    r"invitations/|api/$|api/schema/|api/docs/|api/redoc/|api/\^\.\*\$)"
)
API_OBJECTS = {
    "integrations": "integration",
    "object-mappings": "mapping",
    "field-mappings": "field",
    "runs": "run",
    "events": "event",
    "connections": "connection",
    "ambiguous-matches": "ambiguous",
    "previews": "preview",
    "conflicts": "conflict",
    "held-deletions": "mapping",  # a list only: no id in its path
}


def _routes(patterns=None, prefix=""):
    for p in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(p, URLResolver):
            yield from _routes(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern) and p.name:
            yield prefix + str(p.pattern), p


def _world(tenant):
    integration = IntegrationFactory(tenant=tenant)
    mapping = ObjectMappingFactory(integration=integration)
    field = FieldMappingFactory(object_mapping=mapping)
    removed = FieldMappingFactory(object_mapping=mapping, hubspot_field="jobtitle", other_field="title")
    token, _ = issue_token(tenant, None, "script", Membership.Role.ADMIN)
    member = MembershipFactory(tenant=tenant, role=Membership.Role.VIEWER)
    return {
        "member": member,
        "invitation": Invitation.objects.create(tenant=tenant, email=f"invitee-{tenant.pk}@example.com"),
        "tenant": tenant,
        "integration": integration,
        "mapping": mapping,
        "field": field,
        # A removal the editor's Undo (and its API route) can put back.
        "removal": actions.delete_field_mapping(removed, None),
        "event": RecordEventFactory(integration=integration, object_mapping=mapping, outcome="failed"),
        "run": SyncRunFactory(integration=integration, status="queued"),
        "connection": integration.other_connection,
        "token": token,
        "preview": Preview.objects.create(integration=integration),
        "conflict": HeldConflictFactory(
            field_mapping=FieldMappingFactory(
                object_mapping=mapping, hubspot_field="lastname", other_field="lastName", conflict_review=True
            )
        ),
        "ambiguous": AmbiguousMatch.objects.create(
            integration=integration,
            object_mapping=mapping,
            source_side="hubspot",
            source_object="contacts",
            source_id="101",
            candidates=[{"id": "1", "label": "One"}, {"id": "2", "label": "Two"}],
        ),
    }


def _url_for(route: str, pattern: URLPattern, objects: dict) -> str | None:
    """The route filled with `objects`' ids (None when it takes no id at all)."""
    names = list(pattern.pattern.regex.groupindex)
    if not names:
        return None
    if route.startswith("api/"):
        kind = route.split("/")[1].strip("^")
        assert kind in API_OBJECTS, f"new API route {route}: add its object to the isolation walk"
        api_values = {"pk": objects[API_OBJECTS[kind]].pk, "removal": objects["removal"].pk}
        unknown = [name for name in names if name not in api_values]
        assert not unknown, f"new URL parameter {unknown} in {route}: add it to the isolation walk"
        return reverse(pattern.name, kwargs={name: api_values[name] for name in names})
    first = route.split("/")[0]
    pk_of = {"api-tokens": "token", "team": "member" if "/members/" in route else "invitation"}
    values = {
        "pk": objects[pk_of.get(first, "integration")].pk,
        "integration_id": objects["integration"].pk,
        "mapping_pk": objects["mapping"].pk,
        "field_pk": objects["field"].pk,
        "event_pk": objects["event"].pk,
        "run_pk": objects["run"].pk,
        "preview_pk": objects["preview"].pk,
        "match_pk": objects["ambiguous"].pk,
        "conflict_pk": objects["conflict"].pk,
        "removal_pk": objects["removal"].pk,
        "tenant_id": objects["tenant"].pk,
        "connection_pk": objects["connection"].pk,
        "object_type": "contacts",
        "record_id": "1",
        "cause": "rate_limited",
        "side": "hubspot",
    }
    unknown = [name for name in names if name not in values]
    assert not unknown, f"new URL parameter {unknown} in {route}: add it to the isolation walk"
    return reverse(pattern.name, kwargs={name: values[name] for name in names})


def _tenant_urls(objects: dict) -> list[str]:
    urls = []
    for route, pattern in _routes():
        if NOT_TENANT_ROUTES.match(route):
            continue
        url = _url_for(route, pattern, objects)
        urls.append(url if url is not None else "/" + route.replace("^", "").replace("$", ""))
    return urls


def _fingerprint(tenant) -> tuple:
    return (
        AuditLog.objects.filter(tenant=tenant).count(),
        SyncRun.objects.filter(integration__tenant=tenant).count(),
        RecordEvent.objects.filter(integration__tenant=tenant).count(),
        ApiToken.objects.filter(tenant=tenant, revoked_at__isnull=True).count(),
        list(SyncRun.objects.filter(integration__tenant=tenant).values_list("status", flat=True)),
        tenant.integrations.filter(enabled=True).count(),
        sorted(tenant.memberships.values_list("user_id", "role")),
        Invitation.objects.filter(tenant=tenant, revoked_at__isnull=True).count(),
    )


def _requests(client, url: str):
    is_api = url.startswith("/api/")
    for method in ("get", "post", "patch", "delete") if is_api else ("get", "post"):
        kwargs = {"content_type": "application/json", "data": "{}"} if is_api and method != "get" else {}
        yield method, getattr(client, method)(url, **kwargs)


@pytest.fixture
def parties(team):
    suspended = TenantFactory(name="Paused Ltd", status=Tenant.Status.SUSPENDED)
    member = MembershipFactory(tenant=suspended, role=Membership.Role.OWNER, user=UserFactory(email="owner@paused.example")).user
    outsider = UserFactory(email="nobody@example.com")
    clients = {}
    for name, user in [
        *((r, team.users[r]) for r in ("owner", "admin", "viewer")),
        ("suspended", member),
        ("outsider", outsider),
    ]:
        client = Client(raise_request_exception=False)
        client.force_login(get_user_model().objects.get(pk=user.pk), backend="tenants.auth.EmailBackend")
        clients[name] = client
    return {
        "clients": clients,
        "theirs": _world(team.other_tenant),
        "suspended": _world(suspended),
        "mine": _world(team.tenant),
    }


def test_the_walk_covers_pages_and_api_routes(parties):
    urls = _tenant_urls(parties["theirs"])
    assert any(u.startswith("/api/integrations/") for u in urls) and any("/mappings/" in u for u in urls)
    assert len(urls) >= 40


@pytest.mark.parametrize("role", ["owner", "admin", "viewer", "outsider"])
def test_another_tenants_ids_are_refused_on_every_route(parties, role):
    theirs = parties["theirs"]
    client = parties["clients"][role]
    before = _fingerprint(theirs["tenant"])
    for url in _tenant_urls(theirs):
        if "{" in url or not re.search(r"\d", url):
            continue  # no id in it: another tenant cannot be named
        for method, response in _requests(client, url):
            assert response.status_code in (403, 404, 405), (role, method, url, response.status_code)
    assert _fingerprint(theirs["tenant"]) == before


def test_a_suspended_workspace_refuses_its_own_members_everywhere(parties):
    """Pages and the API with a session: a 403 that says why, and nothing changes."""
    own = parties["suspended"]
    client = parties["clients"]["suspended"]
    before = _fingerprint(own["tenant"])
    for url in _tenant_urls(own):
        if url.startswith("/tenants/"):
            continue  # switching to another workspace stays possible
        for method, response in _requests(client, url):
            assert response.status_code in (403, 405), (method, url, response.status_code)
            if response.status_code == 403 and method == "get":
                assert b"suspended" in response.content, url
    assert _fingerprint(own["tenant"]) == before


def test_a_suspended_workspaces_token_is_refused_on_every_api_route(parties):
    own = parties["suspended"]
    _, plaintext = issue_token(own["tenant"], None, "cron", Membership.Role.ADMIN)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    for url in (u for u in _tenant_urls(own) if u.startswith("/api/")):
        assert client.get(url).status_code == 403, url
        assert client.post(url, {}, format="json").status_code in (403, 405), url


def test_a_token_cannot_reach_another_tenants_ids(parties):
    _, plaintext = issue_token(parties["mine"]["tenant"], None, "cron", Membership.Role.ADMIN)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    theirs = parties["theirs"]
    before = _fingerprint(theirs["tenant"])
    for url in (u for u in _tenant_urls(theirs) if u.startswith("/api/") and re.search(r"\d", u)):
        for method in ("get", "post", "patch", "delete"):
            assert getattr(client, method)(url, {}, format="json").status_code in (404, 405), (method, url)
    assert _fingerprint(theirs["tenant"]) == before


def test_a_removed_member_and_a_disabled_user_lose_access_at_once(team, parties):
    mine = parties["mine"]
    url = reverse("integration", args=[mine["integration"].pk])
    api_url = reverse("api-integration-detail", kwargs={"pk": mine["integration"].pk})
    viewer, admin = parties["clients"]["viewer"], parties["clients"]["admin"]
    assert viewer.get(url).status_code == 200 and viewer.get(api_url).status_code == 200
    Membership.objects.filter(user=team.users["viewer"], tenant=team.tenant).delete()
    assert viewer.get(url).status_code == 404 and viewer.get(api_url).status_code in (403, 404)
    get_user_model().objects.filter(pk=team.users["admin"].pk).update(is_active=False)
    assert admin.get(url).status_code == 302  # the session no longer authenticates: to the log-in page
    assert admin.get(api_url).status_code in (401, 403)


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "https:evil.example",
        "///evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
    ],
)
def test_tenant_switch_never_redirects_off_site(team, target):
    client = Client()
    client.force_login(team.users["owner"], backend="tenants.auth.EmailBackend")
    response = client.post(reverse("tenant_switch", args=[team.tenant.pk]), {"next": target})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"])
def test_buttons_with_next_never_redirect_off_site(team, target):
    integration = IntegrationFactory(tenant=team.tenant)
    client = Client()
    client.force_login(team.users["owner"], backend="tenants.auth.EmailBackend")
    response = client.post(reverse("main_switch", args=[integration.pk]), {"on": "0", "next": target})
    assert response.status_code == 302
    assert response["Location"] == reverse("integration", args=[integration.pk])


def test_a_suspended_workspaces_schedule_runs_nothing_and_says_so_once(parties):
    integration = parties["suspended"]["integration"]
    type(integration).objects.filter(pk=integration.pk).update(enabled=True)
    runs = SyncRun.objects.filter(integration=integration).count()
    scheduled_run(integration.pk)
    scheduled_run(integration.pk)
    assert SyncRun.objects.filter(integration=integration).count() == runs
    notes = AuditLog.objects.filter(tenant=parties["suspended"]["tenant"], action="sync.skipped")
    assert notes.count() == 1 and "suspended" in notes.get().summary
