"""The last step: turn the installer's answers into a running integration, through the engine's actions."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from mappings import first_day
from mappings.defaults import default_set_for
from mappings.models import DEFAULT_SCHEDULE_MINUTES, Integration
from mappings.services import actions as mapping_actions
from tenants.actions import audit
from tenants.models import OnboardingProgress


def object_key(spec) -> str:
    return f"{spec.hubspot}:{spec.other}"


def object_choices(system_key: str) -> list[tuple[str, str]]:
    """The default set's object pairs the customer can pick, e.g. ("contacts:leads", "Leads → contacts")."""
    return [(object_key(spec), spec.name) for spec in default_set_for(system_key)]


def _answers_key(progress: OnboardingProgress) -> dict:
    """What the integration is made from: when any of it changes, the previewed one is made anew."""
    answers = progress.answers
    return {
        "hubspot": str(progress.hubspot_connection_id),
        "other": str(progress.other_connection_id),
        "environment": answers.get("environment", "sandbox"),
        "objects": sorted(answers.get("objects", [])),
        "options": answers.get("options", {}),
    }


def _create_switched_off(progress: OnboardingProgress, actor) -> Integration:
    answers = progress.answers
    options = answers.get("options", {})
    integration = mapping_actions.create_integration(
        progress.tenant,
        actor,
        progress.hubspot_connection,
        progress.other_connection,
        environment=answers.get("environment", "sandbox"),
        test_mode=bool(options.get("test_mode", True)),
        block_free_emails=bool(options.get("block_free_emails", True)),
        schedule_minutes=int(options.get("schedule_minutes", DEFAULT_SCHEDULE_MINUTES)),
    )
    chosen = set(answers.get("objects", []))
    for mapping in integration.object_mappings.all():
        if f"{mapping.hubspot_object}:{mapping.other_object}" not in chosen and mapping.enabled:
            mapping.enabled = False
            mapping_actions.save_object_mapping(mapping, actor)
    if options.get("link_only"):
        # Both systems already hold records of an object: its first sync links, creates nothing.
        first_day.link_only_where_both_hold_records(integration)
    return integration


@transaction.atomic
def integration_to_preview(progress: OnboardingProgress, actor) -> Integration:
    """The integration the answers make, still switched off, for the preview shown before Finish.
    The same answers reuse it; changed answers (the customer went back) make it anew."""
    progress = OnboardingProgress.objects.select_for_update().get(pk=progress.pk)
    if progress.is_complete and progress.integration is not None:
        return progress.integration
    key = _answers_key(progress)
    if progress.integration is not None and progress.answers.get("previewed") == key:
        return progress.integration
    if progress.integration is not None:
        mapping_actions.delete_integration(progress.integration, actor)
    progress.integration = _create_switched_off(progress, actor)
    progress.answers = {**progress.answers, "previewed": key}
    progress.save(update_fields=["integration", "answers", "updated_at"])
    return progress.integration


@transaction.atomic
def finish_onboarding(progress: OnboardingProgress, actor) -> Integration:
    """Make the integration (or take the one previewed from the same answers) and switch it on.

    Switching on creates the django-q2 schedule and queues the first run once this commits, so the
    first sync starts at once instead of at the first scheduled tick."""
    progress = OnboardingProgress.objects.select_for_update().get(pk=progress.pk)
    if progress.is_complete and progress.integration is not None:
        return progress.integration  # a double-clicked "Finish" makes one integration, not two
    integration = integration_to_preview(progress, actor)
    progress.refresh_from_db()
    chosen = set(progress.answers.get("objects", []))
    mapping_actions.set_main_switch(integration, actor, on=True)
    progress.completed_at = timezone.now()
    progress.save(update_fields=["completed_at", "updated_at"])
    tenant = progress.tenant
    if tenant.status == tenant.Status.ONBOARDING:
        tenant.status = tenant.Status.ACTIVE
        tenant.save(update_fields=["status"])
    audit(
        tenant,
        actor,
        "onboarding.finished",
        integration,
        summary=f"Installer finished: {integration} on, first sync queued",
        objects=sorted(chosen),
    )
    return integration
