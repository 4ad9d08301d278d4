"""The one HTTP seam: retries with backoff honouring Retry-After, no blind retry of a write whose
outcome is unknown, every attempt through the shared limiter, errors classified once."""

from __future__ import annotations

import httpx
import httpx_retries.retry
import pytest
from httpx_retries import Retry

from connectors.base import ConnectorError, ErrorKind
from connectors.http import VendorHttp, default_retry, mount, unmount
from connectors.hubspot.connector import hubspot_error


class Script:
    """A vendor that answers from a script: statuses, or exceptions to raise."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if self.answers else 200
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return httpx.Response(
            answer,
            json={
                "status": "error" if answer >= 400 else "ok",
                "message": f"answer {answer}",
                "correlationId": "c",
                "category": "VALIDATION_ERROR" if answer == 400 else "X",
            },
        )


class CountingLimiter:
    def __init__(self):
        self.calls = 0

    def acquire(self, request) -> None:
        self.calls += 1


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """Record the back-off sleeps instead of sleeping (no timing in tests)."""
    recorded: list[float] = []
    monkeypatch.setattr(httpx_retries.retry.time, "sleep", recorded.append)
    return recorded


def seam(script: Script, limiter=None, retry: Retry | None = None) -> VendorHttp:
    return VendorHttp(
        "https://vendor.test",
        system="Vendor",
        transport=httpx.MockTransport(script),
        limiter=limiter,
        error_parser=hubspot_error,
        retry=retry or default_retry(total=4, backoff_factor=0.5),
    )


def test_server_errors_are_retried_with_growing_backoff_until_success(sleeps):
    script = Script(503, 502, 500, 200)
    assert seam(script).request("GET", "/thing").status_code == 200
    assert len(script.requests) == 4
    assert len(sleeps) == 3 and all(s > 0 for s in sleeps)


def test_retry_after_is_honoured(sleeps):
    script = Script(
        httpx.Response(429, headers={"Retry-After": "7"}, json={"message": "slow down", "policyName": "TEN_SECONDLY_ROLLING"}),
        200,
    )
    seam(script).request("GET", "/thing")
    assert sleeps == [7.0]


def test_exhausted_retries_surface_a_retryable_error_with_the_vendor_message(sleeps):
    script = Script(*[429] * 10)
    with pytest.raises(ConnectorError) as caught:
        seam(script).request("GET", "/thing")
    assert caught.value.kind == ErrorKind.RATE_LIMITED and caught.value.retryable and caught.value.message == "answer 429"
    assert len(script.requests) == 5


@pytest.mark.parametrize(
    "status, kind",
    [
        (400, ErrorKind.VALIDATION),
        (401, ErrorKind.AUTH),
        (403, ErrorKind.AUTH),
        (404, ErrorKind.NOT_FOUND),
        (409, ErrorKind.CONFLICT),
    ],
)
def test_permanent_errors_are_not_retried(sleeps, status, kind):
    script = Script(status)
    with pytest.raises(ConnectorError) as caught:
        seam(script).request("GET", "/thing")
    assert caught.value.kind == kind and not caught.value.retryable and caught.value.status == status
    assert len(script.requests) == 1 and sleeps == []


def test_idempotent_calls_are_retried_after_timeouts_and_drops(sleeps):
    script = Script(httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("dropped"), 200)
    assert seam(script).request("GET", "/thing").status_code == 200
    assert len(script.requests) == 3


def test_a_write_whose_outcome_is_unknown_is_not_retried_blindly(sleeps):
    script = Script(httpx.ReadTimeout("slow"), 200)
    with pytest.raises(ConnectorError) as caught:
        seam(script).request("POST", "/create", idempotent=False, json={})
    assert caught.value.kind == ErrorKind.TIMEOUT and caught.value.retryable
    assert len(script.requests) == 1


def test_a_refused_write_is_retried(sleeps):
    script = Script(503, 201)
    assert seam(script).request("POST", "/create", idempotent=False, json={}).status_code == 201


def test_every_attempt_including_retries_takes_a_limiter_token(sleeps):
    limiter = CountingLimiter()
    seam(Script(503, 503, 200), limiter=limiter).request("GET", "/thing")
    assert limiter.calls == 3


def test_unreachable_vendor_is_a_retryable_network_error(sleeps):
    http = VendorHttp("http://127.0.0.1:9", system="Vendor", retry=default_retry(total=1, backoff_factor=0.01))
    with pytest.raises(ConnectorError) as caught:
        http.request("GET", "/thing")
    assert caught.value.kind == ErrorKind.NETWORK and caught.value.retryable and "Could not reach Vendor" in caught.value.message


def test_multi_status_is_accepted_when_asked_for(sleeps):
    assert seam(Script(207)).request("POST", "/batch", ok_statuses=(207,)).status_code == 207


def test_mounted_base_url_is_served_in_process():
    script = Script(200)
    mount("https://mounted.test", httpx.MockTransport(script))
    try:
        assert VendorHttp("https://mounted.test/api", system="Vendor").request("GET", "/x").status_code == 200
    finally:
        unmount("https://mounted.test")
    assert script.requests[0].url == "https://mounted.test/api/x"


def test_hubspot_error_bodies_carry_message_category_and_existing_id():
    response = httpx.Response(
        409,
        json={
            "status": "error",
            "message": "Contact already exists. Existing ID: 123",
            "correlationId": "c",
            "category": "CONFLICT",
        },
    )
    error = hubspot_error(response)
    assert error.kind == ErrorKind.CONFLICT and error.existing_id == "123" and error.vendor_code == "CONFLICT"
    scopes = hubspot_error(
        httpx.Response(403, json={"message": "This app hasn't been granted all required scopes", "category": "MISSING_SCOPES"})
    )
    assert scopes.kind == ErrorKind.AUTH and "reconnect HubSpot" in scopes.message
