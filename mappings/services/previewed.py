"""Actions that show a preview first (issue 16): the installer's Finish, the sandbox →
production switch, turning an object mapping on and a historical resync each start a dry run
(or reuse a fresh one asking the same question) and go ahead only once the customer has seen
its counts and confirmed. The UI and the REST API ask the same questions through this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from mappings.models import Integration, ObjectMapping
from syncsmart.engine import previews
from syncsmart.models import Preview

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


def resync(mapping: ObjectMapping | None) -> Question:
    return Question("resync", Preview.Kind.HISTORICAL, object_mapping=mapping)


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
    )
    preview.refresh_from_db()  # run at once where previews run inline (the demo's embedded worker)
    return preview


def _fresh(integration: Integration, question: Question) -> Preview | None:
    since = max(timezone.now() - FRESH_FOR, integration.updated_at)
    return (
        Preview.objects.filter(
            integration=integration,
            purpose=question.purpose,
            kind=question.kind,
            object_mapping=question.object_mapping,
            other_connection=question.other_connection,
            with_creates=question.with_creates,
            created_at__gte=since,
            status__in=[Preview.Status.QUEUED, Preview.Status.RUNNING, Preview.Status.DONE],
        )
        .order_by("-created_at")
        .first()
    )


def confirmed_preview(integration: Integration, question: Question, preview_id: Any) -> Preview:
    """The preview the customer confirmed: of this integration, asking this question, finished.
    Raises ValidationError in the customer's words otherwise (the action does not happen)."""
    preview = None
    if preview_id:
        try:
            preview = Preview.objects.filter(integration=integration, purpose=question.purpose, pk=preview_id).first()
        except (ValueError, ValidationError):
            preview = None
    if preview is None:
        raise ValidationError("Preview first: confirm after you have seen what this will do.")
    if preview.status in (Preview.Status.QUEUED, Preview.Status.RUNNING):
        raise ValidationError("The preview is still reading both systems; confirm once it shows its counts.")
    if preview.status != Preview.Status.DONE:
        raise ValidationError("That preview did not finish; start a new one before you confirm.")
    return preview


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
