"""Secrets in query strings and headers never reach a log line: the dev server's request log,
django.request and any other logger."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from syncsmart.logging import redact

ROOT = Path(__file__).resolve().parents[2]
SECRETS = ["hunter2-pass", "cs-very-secret", "dyn-webhook-key", "pat-na1-abcdef", "sig-value-123"]


def test_any_logger_redacts_query_strings_and_headers(caplog):
    caplog.set_level(logging.INFO)
    logging.getLogger("some.library").info(
        "GET %s headers=%s",
        "/cb?password=hunter2-pass&client_secret=cs-very-secret&code=dyn-webhook-key",
        {"Authorization": "Bearer pat-na1-abcdef"},
    )
    logging.getLogger("django.server").info('"%s" %s %s', "POST /webhooks/1/other?code=dyn-webhook-key HTTP/1.1", "401", "20")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "[redacted]" in text
    assert not [s for s in SECRETS if s in text]


@pytest.mark.parametrize(
    "line",
    [
        "x-hubspot-signature-v3: sig-value-123",
        "'x-content-signature': 'sig-value-123'",
        "cookie: sessionid=hunter2-pass; csrftoken=cs-very-secret",
        "?access_token=pat-na1-abcdef&page=2",
    ],
)
def test_header_and_parameter_shapes_are_redacted(line):
    assert not [s for s in SECRETS if s in redact(line)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_the_dev_servers_request_log_has_no_secrets(tmp_path):
    port = _free_port()
    env = {**os.environ, "SYNCSMART_LOCAL_DIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", "--skip-checks", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/nothing-here?password=hunter2-pass&client_secret=cs-very-secret", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        httpx.post(
            f"http://127.0.0.1:{port}/webhooks/1/other?code=dyn-webhook-key",
            headers={"Authorization": "Bearer pat-na1-abcdef", "x-content-signature": "sig-value-123"},
            content=b"{}",
            timeout=5,
        )
        time.sleep(0.5)
    finally:
        server.terminate()
        output = server.communicate(timeout=10)[0].decode()
    assert "nothing-here" in output and "/webhooks/1/other" in output  # the request lines were logged
    assert not [s for s in SECRETS if s in output], output
