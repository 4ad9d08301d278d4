"""API clients of the `team` fixture's tenant: a read-write token, a read-only token, and an
outsider's token (read-write, but in another tenant)."""

from dataclasses import dataclass

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from syncsmart.api import tokens
from syncsmart.api.throttling import throttle_cache
from tenants.models import ApiToken


@dataclass
class ApiTeam:
    team: object
    tenant: object
    other_tenant: object
    admin: APIClient
    viewer: APIClient
    outsider: APIClient
    anonymous: APIClient
    plaintexts: dict


def token_client(plaintext: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    # Counters outlive a test's database rollback. Token counters are keyed by the token's
    # hash (new every test); only the in-process cache is cleared, never a shared Redis.
    if throttle_cache() is cache:
        cache.clear()


@pytest.fixture
def api(team) -> ApiTeam:
    owner = team.users["owner"]
    _, admin_plain = tokens.issue_token(team.tenant, owner, "Read-write script", ApiToken.ROLE_CHOICES[0][0])
    _, viewer_plain = tokens.issue_token(team.tenant, owner, "Read-only report", ApiToken.ROLE_CHOICES[1][0])
    _, outsider_plain = tokens.issue_token(team.other_tenant, team.users["outsider"], "Theirs", ApiToken.ROLE_CHOICES[0][0])
    return ApiTeam(
        team=team,
        tenant=team.tenant,
        other_tenant=team.other_tenant,
        admin=token_client(admin_plain),
        viewer=token_client(viewer_plain),
        outsider=token_client(outsider_plain),
        anonymous=APIClient(),
        plaintexts={"admin": admin_plain, "viewer": viewer_plain, "outsider": outsider_plain},
    )


def error_of(response) -> dict:
    """The one error body every failure has; asserts its shape."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["code"], str) and isinstance(body["error"]["message"], str), body
    return body["error"]


def queued_tasks() -> list[dict]:
    """Every task package waiting in django-q2's broker (ORM or Redis): no worker runs in tests."""
    from django_q.brokers import get_broker
    from django_q.models import OrmQ
    from django_q.signing import SignedPackage

    broker = get_broker()
    if broker.__class__.__name__ == "Redis":
        payloads = broker.connection.lrange(broker.list_key, 0, -1)
    else:
        payloads = OrmQ.objects.filter(key=broker.list_key).values_list("payload", flat=True)
    return [SignedPackage.loads(payload) for payload in payloads]


def run_is_queued(run_id) -> bool:
    return any(
        task.get("func") == "syncsmart.engine.tasks.execute_run" and list(task.get("args", ())) == [str(run_id)]
        for task in queued_tasks()
    )
