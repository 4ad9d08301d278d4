"""Which address a log-in failure counts against: REMOTE_ADDR unless the deployment says how many
reverse proxies stand in front of it (TRUSTED_PROXY_COUNT); then the address the outermost proxy
saw, from the right of X-Forwarded-For, never what a client writes into that header itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
PROXY = "10.0.0.1"  # every request reaches the app from the reverse proxy


@pytest.fixture
def behind_one_proxy(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}  # what TRUSTED_PROXY_COUNT=1 sets


def fail_five_times(forwarded_for: str | None) -> None:
    """Five wrong passwords for five different accounts from one client (the per-address limit)."""
    for n in range(5):
        headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
        Client(REMOTE_ADDR=PROXY).post(
            reverse("login"), {"username": f"guess{n}@acme.example", "password": "no"}, headers=headers
        )


def log_in(forwarded_for: str | None) -> int:
    UserFactory(email="ann@acme.example")
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    response = Client(REMOTE_ADDR=PROXY).post(
        reverse("login"), {"username": "ann@acme.example", "password": PASSWORD}, headers=headers
    )
    return response.status_code


def test_without_trusted_proxies_x_forwarded_for_is_ignored():
    # A client writing a new X-Forwarded-For on every attempt is still one address.
    for n in range(5):
        Client(REMOTE_ADDR="198.51.100.9").post(
            reverse("login"),
            {"username": f"guess{n}@acme.example", "password": "no"},
            headers={"X-Forwarded-For": f"203.0.113.{n}"},
        )
    UserFactory(email="ann@acme.example")
    locked = Client(REMOTE_ADDR="198.51.100.9").post(
        reverse("login"), {"username": "ann@acme.example", "password": PASSWORD}, headers={"X-Forwarded-For": "203.0.113.77"}
    )
    assert locked.status_code == 429


def test_behind_a_trusted_proxy_each_client_is_counted_by_its_own_address(behind_one_proxy):
    fail_five_times("198.51.100.1")
    assert log_in("198.51.100.2") == 302  # another client behind the same proxy is not locked out
    assert log_in("198.51.100.1") == 429


def test_behind_a_trusted_proxy_a_forged_x_forwarded_for_does_not_dodge_the_lock(behind_one_proxy):
    fail_five_times("198.51.100.1")
    # The client sends its own header; the proxy appends the address it saw, right-most.
    assert log_in("203.0.113.50, 198.51.100.1") == 429
    assert log_in("198.51.100.2, 7.7.7.7, 198.51.100.1") == 429


def test_the_setting_comes_from_the_environment():
    def read(count: str | None) -> str:
        env = {k: v for k, v in os.environ.items() if k != "TRUSTED_PROXY_COUNT"}
        if count is not None:
            env["TRUSTED_PROXY_COUNT"] = count
        code = (
            "import syncsmart.settings as s; "
            "print(s.TRUSTED_PROXY_COUNT, s.REST_FRAMEWORK['NUM_PROXIES'], s.AXES_CLIENT_IP_CALLABLE)"
        )
        return subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        ).stdout.split()

    assert read(None) == ["0", "0", "tenants.throttle.client_address"]
    assert read("2") == ["2", "2", "tenants.throttle.client_address"]
