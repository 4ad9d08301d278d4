"""One record's way through a page: its link and counterpart, what to write, how it ended."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from connectors.base import ErrorKind, Record
from syncsmart.models import RecordEvent, RecordLink

Outcome = RecordEvent.Outcome
# Failures after which a create may or may not have happened (the answer was lost).
UNCERTAIN_KINDS = {ErrorKind.TIMEOUT.value, ErrorKind.NETWORK.value}


class DeferParent(Exception):
    """A reference field's parent is not linked yet: the record waits for it."""

    def __init__(self, message: str, waiting_for: dict[str, str]):
        super().__init__(message)
        self.waiting_for = waiting_for


class PartlyCarried(NamedTuple):
    """A value carried without some of its parts (the contacts of several that are not linked):
    the value to write and what the event says about the rest."""

    value: Any
    notes: list[str]


@dataclass
class Item:
    record: Record
    link: RecordLink | None = None
    target_id: str | None = None
    target: Record | None = None
    matched: bool = False  # linked in this page to a record found by match value
    writes: dict[str, Any] = field(default_factory=dict)
    source_base: dict[str, Any] = field(default_factory=dict)  # baseline updates, source terms
    target_base: dict[str, Any] = field(default_factory=dict)  # baseline updates, target terms
    conflicts: dict[str, Any] = field(default_factory=dict)
    held: dict[str, dict[str, Any]] = field(default_factory=dict)  # conflicts waiting for review (Plan.held)
    settled: list[int] = field(default_factory=list)  # field mappings under review with nothing to hold
    unmatched: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    outcome: str | None = None
    message: str = ""
    error: dict[str, Any] | None = None
    waiting_for: list[dict[str, str]] = field(default_factory=list)
    retry_later: bool = False
    baseline_saved: bool = False  # the link was stored right after the create
    # A record that belongs to a sibling mapping (linked or created through it): no event, no count here.
    elsewhere: bool = False
    # An ambiguous match: the candidates ({"id", "label"}) and the key that found them.
    candidates: list[dict[str, str]] = field(default_factory=list)
    match_key: str = ""
    match_value: str = ""

    @property
    def id(self) -> str:
        return str(self.record.id)

    @property
    def open(self) -> bool:
        """Still on its way (no outcome yet)."""
        return self.outcome is None

    def defer(self, message: str) -> None:
        self.outcome, self.message, self.retry_later = Outcome.DEFERRED, message, True
