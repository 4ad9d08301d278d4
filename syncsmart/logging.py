"""Secrets never reach a log line, whichever logger writes it.

Two layers, both installed by `configure` (settings.LOGGING_CONFIG):
- a log-record factory: every record any logger makes (Django's dev server request lines,
  django.request, third-party libraries, ours) is redacted once, when it is made, so a handler
  configured elsewhere (Django's own "django.server" handler) cannot print it unredacted;
- `RedactSecretsFilter` on our handlers, for records made before the factory was installed.

What is redacted: Authorization / Cookie / signature and API-key header values, secret-named
query-string and form parameters (`?password=`, `client_secret=`, Dynamics' `?code=<webhook
key>`, `token=`, `key=` …), `name: value` / `name=value` pairs with secret names, and our
encrypted-secret envelopes.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import logging.config
import re
from collections.abc import Iterator
from typing import Any

# The ids of what is being worked on (tenant, integration, run, record), set by the engine when a
# run starts (`log_ids`); every record made meanwhile carries them as attributes, which the JSON
# format (settings.LOG_FORMAT=json) writes as keys. Vendor calls made on the engine's worker
# threads carry them when the thread was started with a copy of the context.
# No default (a shared mutable default could leak between contexts): read it with `.get({})`.
_ids: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("syncsmart_log_ids")


@contextlib.contextmanager
def log_ids(**ids: Any) -> Iterator[None]:
    """Add ids to every log record made inside the block (nested blocks add to the outer ones)."""
    token = _ids.set({**_ids.get({}), **{k: str(v) for k, v in ids.items() if v is not None}})
    try:
        yield
    finally:
        _ids.reset(token)


def current_log_ids() -> dict[str, str]:
    return dict(_ids.get({}))


_SECRET_NAMES = (
    r"access_?token|refresh_?token|id_?token|client_?secret|private_?key|public_?key|password|passwd|api_?key|"
    r"secret|token|code|key|signature|sig|session(?:id)?|csrftoken|csrfmiddlewaretoken|auth"
)
# Each pattern keeps its first group (the label) and replaces the rest with [redacted].
_SECRET_PATTERNS = [
    re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?(?:bearer|basic|token)\s+)[^\s'\",]+"),
    re.compile(r"(?i)((?:^|[\s\"'{,])(?:cookie|set-cookie)[\"']?\s*[:=]\s*[\"']?)[^\"'\n]+"),
    re.compile(
        r"(?i)((?:x-hubspot-signature(?:-v3)?|x-content-signature|x-api-key|clientid|ocp-apim-subscription-key)[\"']?\s*[:=]\s*[\"']?)[^\s'\",}]+"
    ),
    # query strings and form bodies: ?name=value&…
    re.compile(rf"(?i)([?&;](?:[a-z0-9_.-]*(?:{_SECRET_NAMES}))=)[^&\s'\"#;]*"),
    # name: value / "name": "value" / name=value in free text and dict reprs
    re.compile(
        r"(?i)((?:access_?token|refresh_?token|client_?secret|private_?key|password|api_?key|secret|webhook_key)[\"']?\s*[:=]\s*[\"']?)[^\s'\",}&]+"
    ),
    re.compile(r"()ss1:\d+:[A-Za-z0-9+/=]+"),
]


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + "[redacted]", text)
    return text


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: leave it to logging's own error report
        return
    cleaned = redact(message)
    if cleaned != message:
        record.msg, record.args = cleaned, None


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record)
        return True


_factory_installed = False


def install_record_factory() -> None:
    """Redact every record at creation, for every logger (idempotent)."""
    global _factory_installed
    if _factory_installed:
        return
    previous = logging.getLogRecordFactory()

    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _redact_record(record)
        for name, value in _ids.get({}).items():
            setattr(record, name, value)
        return record

    logging.setLogRecordFactory(make_record)
    _factory_installed = True


def configure(config: dict) -> None:
    """settings.LOGGING_CONFIG: Django's dictConfig plus the redacting record factory."""
    logging.config.dictConfig(config)
    install_record_factory()
