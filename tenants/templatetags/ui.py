"""Template helpers shared by every customer page: one colour (tone) per meaning of a status."""

from __future__ import annotations

from django import template

register = template.Library()

# One tone per meaning, whatever model the status comes from (runs, record events, connections,
# the go-live switch): green worked, amber worked but needs a look, red failed, blue is under
# way, grey is neither. "Finished with failures" (partial) is amber, never grey.
TONES: dict[str, str] = {
    "succeeded": "ok",
    "created": "ok",
    "updated": "ok",
    "linked": "ok",
    "ok": "ok",
    "done": "ok",
    "on": "ok",
    "partial": "warn",
    "deferred": "warn",
    "conflict": "warn",
    "warn": "warn",
    "in_progress": "warn",
    "failed": "bad",
    "error": "bad",
    "bad": "bad",
    "reconnect_needed": "bad",
    "queued": "active",
    "running": "active",
    "pending": "active",
}


@register.filter
def tone(status: object) -> str:
    """The colour class of a status value: badge-tone-ok / warn / bad / active / neutral."""
    return f"badge-tone-{TONES.get(str(status), 'neutral')}"
