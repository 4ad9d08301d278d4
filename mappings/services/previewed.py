"""Actions that show a preview first (issue 16): the installer's Finish, the sandbox →
production switch, turning an object mapping on and a historical resync each start a dry run
(or reuse a fresh one asking the same question) and go ahead only once the customer has seen
its counts and confirmed. The UI and the REST API ask the same questions through this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from mappings.models import Integration, ObjectMapping
from mappings.services import actions
from syncsmart.engine import historical, previews
from syncsmart.models import Preview, SyncRun

# A preview older than this is read again: the systems change under it.
FRESH_FOR = timedelta(minutes=30)


@dataclass(frozen=True)
class Question:
    """What a preview is asked, for one action: the same question reuses a fresh answer."""

    purpose: str
    kind: str
    object_mapping: ObjectMapping | None = None
    other_connection: Any = None
    with_creates: bool = True
    since: datetime | None = None  # a historical resync's "changed since"

    def matching(self) -> dict[str, Any]:
        """The previews that answer this question exactly (the same mapping, connection, start)."""
        return {
            "purpose": self.purpose,
            "kind": self.kind,
            "object_mapping": self.object_mapping,
            "other_connection": self.other_connection,
            "with_creates": self.with_creates,
            "since": self.since,
        }


class PreviewRequired(ValidationError):
    """The action waits for a confirmed, finished preview of `question` (the REST API: 409)."""

    def __init__(self, message: str, question: Question):
        super().__init__(message, code="preview_required")
        self.question = question


def resync(mapping: ObjectMapping | None, since: date | None = None) -> Question:
    """A resync writes as the mappings say (link only stays link only): the preview counts the same."""
    start = historical.since_start(since)
    return Question("resync", Preview.Kind.HISTORICAL, object_mapping=mapping, with_creates=False, since=start)


def mapping_on(mapping: ObjectMapping) -> Question:
    return Question("mapping_on", Preview.Kind.NEXT_RUN, object_mapping=mapping)


def go_live(production_connection) -> Question:
    return Question("go_live", Preview.Kind.FIRST_RUN, other_connection=production_connection)


def install() -> Question:
    return Question("install", Preview.Kind.FIRST_RUN)


def preview_for(integration: Integration, actor, question: Question) -> Preview:
    """A fresh preview of `question` (running, or done since the integration last changed), else a new one."""
    reusable = _fresh(integration, question)
    if reusable is not None:
        return reusable
    preview = previews.request_preview(
        integration,
        actor,
        kind=question.kind,
        purpose=question.purpose,
        object_mapping=question.object_mapping,
        other_connection=question.other_connection,
        with_creates=question.with_creates,
        since=question.since,
    )
    preview.refresh_from_db()  # run at once where previews run inline (the demo's embedded worker)
    return preview


def _fresh(integration: Integration, question: Question) -> Preview | None:
    since = max(timezone.now() - FRESH_FOR, integration.updated_at)
    return (
        Preview.objects.filter(
            integration=integration,
            **question.matching(),
            created_at__gte=since,
            status__in=[Preview.Status.QUEUED, Preview.Status.RUNNING, Preview.Status.DONE],
        )
        .order_by("-created_at")
        .first()
    )


def confirmed_preview(integration: Integration, question: Question, preview_id: Any) -> Preview:
    """The preview the customer confirmed: of this integration, asking exactly this question
    (the same mapping, connection and start date), finished. Raises PreviewRequired in the
    customer's words otherwise (the action does not happen)."""
    preview = None
    if preview_id:
        try:
            preview = Preview.objects.filter(integration=integration, **question.matching(), pk=preview_id).first()
        except (ValueError, ValidationError):
            preview = None
    if preview is None:
        raise PreviewRequired("Preview first: confirm after you have seen what this will do.", question)
    if preview.status in (Preview.Status.QUEUED, Preview.Status.RUNNING):
        raise PreviewRequired("The preview is still reading both systems; confirm once it shows its counts.", question)
    if preview.status != Preview.Status.DONE:
        raise PreviewRequired("That preview did not finish; start a new one before you confirm.", question)
    return preview


# --- the actions a preview guards (the UI and the REST API both call these) ------------------------


def start_resync(
    integration: Integration, actor, *, object_mapping: ObjectMapping | None, since: date | None, preview_id: Any
) -> SyncRun:
    """A historical resync, once `preview_id` names its finished preview (same objects, same date).
    One already under way is returned as it is (it writes nothing new, so it needs no preview)."""
    if (existing := historical.under_way(integration, object_mapping)) is not None:
        return existing
    confirmed_preview(integration, resync(object_mapping, since), preview_id)
    return historical.start_historical_sync(integration, actor, since=since, object_mapping=object_mapping, estimate=True)


def save_mapping(mapping: ObjectMapping, actor, *, was_on: bool, preview_id: Any) -> ObjectMapping:
    """Save an object mapping's settings; turning it on needs the finished preview of doing so."""
    if mapping.enabled and not was_on:
        confirmed_preview(mapping.integration, mapping_on(mapping), preview_id)
    return actions.save_object_mapping(mapping, actor)


def summary(preview: Preview) -> dict[str, Any]:
    """The counts a confirmation shows: totals by outcome, links by match key, and the vendor calls."""
    result = preview.result or {}
    rules: dict[str, int] = {}
    for flow in result.get("flows", []):
        for rule, n in (flow.get("rules") or {}).items():
            rules[rule] = rules.get(rule, 0) + n
    return {
        "status": preview.status,
        "totals": result.get("totals", {}),
        "linked_by": rules,
        "api_calls": preview.api_calls,
        "write_calls": preview.write_calls,
    }
