"""A logging filter that keeps secrets out of log lines, whatever a caller passes in."""

from __future__ import annotations

import logging
import re

# Each pattern keeps its first group (the label) and replaces the rest with [redacted].
_SECRET_PATTERNS = [
    re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?(?:bearer|basic)\s+)[^\s'\"]+"),
    re.compile(
        r"(?i)((?:access_token|refresh_token|client_secret|private_?key|password|api_?key|secret)[\"']?\s*[:=]\s*[\"']?)[^\s'\",}&]+"
    ),
    re.compile(r"()ss1:\d+:[A-Za-z0-9+/=]+"),
]


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + "[redacted]", text)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
