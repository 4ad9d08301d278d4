"""The last step: turn the installer's answers into a running integration, through the engine's actions."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

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


@transaction.atomic
def finish_onboarding(progress: OnboardingProgress, actor) -> Integration:
    """Create the integration with default mappings, keep only the chosen objects, switch it on.

    Switching on creates the django-q2 schedule and queues the first run once this commits, so the
    first sync starts at once instead of at the first scheduled tick."""
    progress = OnboardingProgress.objects.select_for_update().get(pk=progress.pk)
    if progress.integration is not None:
        return progress.integration  # a double-clicked "Finish" makes one integration, not two
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
    mapping_actions.set_main_switch(integration, actor, on=True)
    progress.integration = integration
    progress.completed_at = timezone.now()
    progress.save(update_fields=["integration", "completed_at", "updated_at"])
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
