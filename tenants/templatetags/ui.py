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


@register.filter
def percent_of(part: int | None, whole: int | None) -> str:
    """part/whole as a percentage a person can trust: never "0%" when part is not zero
    (2 failures in 900 show "0.2%", 1 in 5,000 shows "<0.1%")."""
    if not whole:
        return "—"
    share = 100 * (part or 0) / whole
    if part and share < 0.1:
        return "<0.1%"
    if share < 10 and share != int(share):
        return f"{share:.1f}%"
    return f"{round(share)}%"


ARROWS = {"both": "↔", "to_other": "→", "to_hubspot": "←"}


@register.filter
def arrow(direction: str) -> str:
    """The direction of a mapping as an arrow read left (HubSpot) to right (the other system)."""
    return ARROWS.get(str(direction), "")


@register.simple_tag
def direction_words(direction: str, other_label: str) -> str:
    """What an arrow means, for screen readers and the option text."""
    return {
        "both": "both ways",
        "to_other": f"HubSpot to {other_label} only",
        "to_hubspot": f"{other_label} to HubSpot only",
    }.get(str(direction), str(direction))


# A run's count names in words ("3 waiting for a parent", not "3 deferred").
COUNT_WORDS = {
    "created": "created",
    "updated": "updated",
    "linked": "linked to existing records",
    "unchanged": "unchanged",
    "filtered": "filtered out",
    "echo": "our own changes",
    "deferred": "waiting for a parent",
    "conflict": "conflicts resolved",
    "failed": "failed",
}


@register.filter
def count_words(name: str) -> str:
    return COUNT_WORDS.get(str(name), str(name).replace("_", " "))


@register.simple_tag
def counts_in_words(counts: object, other_label: str = "the other system") -> str:
    """A run's counts as one line in the customer run page's words ("2 created, 748 waiting for
    a parent, 748 written to ConnectWise"); the engine's internal tallies (match lookups, index
    sizes) are left out, as on the customer page."""
    if not isinstance(counts, dict):
        return ""
    parts = [f"{counts[name]} {words}" for name, words in COUNT_WORDS.items() if counts.get(name)]
    writes = {"writes_hubspot": "HubSpot", "writes_other": other_label}
    parts += [f"{counts[key]} written to {side}" for key, side in writes.items() if counts.get(key)]
    return ", ".join(parts)
