"""The wizard's step order, and which step a tenant may open."""

from __future__ import annotations

from tenants.models import OnboardingProgress

Step = OnboardingProgress.Step
ORDER: list[str] = [Step.ACCOUNT, Step.HUBSPOT, Step.SYSTEM, Step.CREDENTIALS, Step.OBJECTS, Step.FINISH]


def index_of(step: str) -> int:
    return ORDER.index(step)


def next_step(step: str) -> str:
    return ORDER[min(index_of(step) + 1, len(ORDER) - 1)]


def previous_step(step: str) -> str | None:
    i = index_of(step)
    return ORDER[i - 1] if i > 0 else None


def may_open(progress: OnboardingProgress, step: str) -> bool:
    """Any step up to the furthest one reached: going back is always allowed, skipping ahead never."""
    return index_of(step) <= index_of(progress.reached)


def steps_for_display(progress: OnboardingProgress | None, current: str) -> list[dict]:
    reached = index_of(progress.reached) if progress else 0
    return [
        {
            "key": key,
            "label": Step(key).label,
            "number": i + 1,
            "current": key == current,
            "done": i < reached and key != current,
            "open": i <= reached,
        }
        for i, key in enumerate(ORDER)
    ]
