"""Named, atomic steps of the installer; each writes an audit row and never stores a secret in plaintext."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from connectors.models import Connection, Environment
from tenants import team
from tenants.actions import audit
from tenants.models import Membership, OnboardingProgress, Tenant
from tenants.onboarding import steps


def progress_for(tenant: Tenant, actor=None) -> OnboardingProgress:
    progress, created = OnboardingProgress.objects.get_or_create(tenant=tenant, defaults={"started_by": actor})
    if created:
        audit(tenant, actor, "onboarding.started", progress, summary="Started the installer")
    return progress


@transaction.atomic
def create_workspace(user, company_name: str) -> Tenant:
    """A logged-in user without a tenant (e.g. invited elsewhere and removed) installs for a new company."""
    tenant = Tenant.objects.create(name=company_name.strip(), slug=Tenant.unique_slug_for(company_name))
    Membership.objects.create(user=user, tenant=tenant, role=Membership.Role.OWNER)
    audit(tenant, user, "tenant.created", tenant, summary=f"{user.get_username()} created {tenant.name} from the installer")
    progress_for(tenant, user)
    return tenant


def reach(progress: OnboardingProgress, step: str) -> None:
    """Unlock `step` (never re-lock a later one: going back keeps what lies ahead)."""
    if steps.index_of(step) > steps.index_of(progress.reached):
        progress.reached = step
        progress.save(update_fields=["reached", "updated_at"])


@transaction.atomic
def connect_hubspot(progress: OnboardingProgress, actor, token_response: dict[str, Any]) -> Connection:
    """Store the install flow's OAuth tokens in the tenant's encrypted HubSpot connection."""
    portal_id = str(token_response.get("hub_id") or "")
    expires_in = int(token_response.get("expires_in") or 1800)
    tokens = {
        "access_token": token_response["access_token"],
        "refresh_token": token_response.get("refresh_token", ""),
        "token_type": token_response.get("token_type", "bearer"),
    }
    connection = progress.hubspot_connection or Connection(tenant=progress.tenant, system="hubspot")
    connection.environment = Environment.PRODUCTION
    connection.name = f"HubSpot {token_response.get('hub_domain') or portal_id}".strip()
    connection.config = {
        **(connection.config or {}),
        "base_url": settings.HUBSPOT_API_BASE,
        "portal_id": portal_id,
        "hub_domain": token_response.get("hub_domain", ""),
        "client_id": settings.SOCIAL_AUTH_HUBSPOT_KEY,
        "auth": "oauth",
    }
    connection.oauth_tokens = tokens
    connection.token_expires_at = timezone.now() + dt.timedelta(seconds=expires_in)
    connection.status = Connection.Status.OK
    connection.last_error = ""
    connection.last_checked_at = connection.last_ok_at = timezone.now()
    connection.save()
    progress.hubspot_connection = connection
    progress.answers = {
        **progress.answers,
        "hubspot": {
            "portal_id": portal_id,
            "hub_domain": token_response.get("hub_domain", ""),
            "installer": token_response.get("user", ""),
        },
    }
    progress.save(update_fields=["hubspot_connection", "answers", "updated_at"])
    tenant = progress.tenant
    if tenant.hubspot_portal_id != portal_id:
        tenant.hubspot_portal_id = portal_id
        tenant.save(update_fields=["hubspot_portal_id"])
    audit(
        tenant,
        actor,
        "onboarding.hubspot_connected",
        connection,
        summary=f"Connected HubSpot portal {portal_id} through OAuth",
        portal_id=portal_id,
        oauth_tokens="stored",
    )
    # Another tenant syncing the same portal: ask the staff console now (the installer warns).
    team.portal_approval_for(tenant, portal_id, actor)
    return connection


@transaction.atomic
def confirm_portal(progress: OnboardingProgress, actor) -> None:
    audit(
        progress.tenant,
        actor,
        "onboarding.portal_confirmed",
        progress.hubspot_connection,
        summary=f"Chose HubSpot portal {progress.tenant.hubspot_portal_id}",
    )
    reach(progress, steps.Step.SYSTEM)


@transaction.atomic
def choose_system(progress: OnboardingProgress, actor, system_key: str, environment: str) -> None:
    previous = progress.answers.get("system")
    progress.answers = {**progress.answers, "system": system_key, "environment": environment}
    if previous and previous != system_key:
        # A different system: its own connection (if it was entered before) comes back, so switching
        # back and forth between systems never loses what was typed; object choices start afresh.
        saved = progress.answers.get("connections", {}).get(system_key)
        progress.other_connection = Connection.objects.filter(pk=saved, tenant=progress.tenant).first() if saved else None
        progress.answers.pop("objects", None)
    progress.save(update_fields=["answers", "other_connection", "updated_at"])
    audit(
        progress.tenant,
        actor,
        "onboarding.system_chosen",
        progress,
        summary=f"Chose {system_key} ({environment})",
        system=system_key,
        environment=environment,
    )
    reach(progress, steps.Step.CREDENTIALS)


@transaction.atomic
def save_other_connection(progress: OnboardingProgress, actor, config: dict[str, Any], credentials: dict[str, Any]) -> Connection:
    """Create or update the other system's connection; blank secrets keep the stored ones."""
    system_key = progress.answers["system"]
    connection = progress.other_connection
    if connection is None or connection.system != system_key:
        connection = Connection(tenant=progress.tenant, system=system_key)
    stored = dict(connection.credentials or {}) if connection.pk else {}
    kept_secrets = {name: value for name, value in credentials.items() if value not in (None, "")}
    connection.environment = progress.answers.get("environment", Environment.SANDBOX)
    connection.config = config
    connection.credentials = {**stored, **kept_secrets}
    connection.status = Connection.Status.UNTESTED
    connection.name = connection.name or f"{connection.get_system_display()} ({connection.get_environment_display()})"
    connection.save()
    progress.other_connection = connection
    connections = {**progress.answers.get("connections", {}), system_key: str(connection.pk)}
    progress.answers = {**progress.answers, "config": config, "connections": connections}
    progress.save(update_fields=["other_connection", "answers", "updated_at"])
    audit(
        progress.tenant,
        actor,
        "onboarding.credentials_saved",
        connection,
        summary=f"Saved {connection.get_system_display()} credentials",
        config=config,
        credentials="changed" if kept_secrets else "kept",
    )
    return connection


@transaction.atomic
def choose_objects(progress: OnboardingProgress, actor, objects: list[str], options: dict[str, Any]) -> None:
    progress.answers = {**progress.answers, "objects": objects, "options": options}
    progress.save(update_fields=["answers", "updated_at"])
    audit(
        progress.tenant,
        actor,
        "onboarding.objects_chosen",
        progress,
        summary=f"Chose {', '.join(objects)}",
        objects=objects,
        options=options,
    )
    reach(progress, steps.Step.FINISH)
