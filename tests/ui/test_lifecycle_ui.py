"""The customer's side of deletions and webhooks: the deletion policy per direction in the mapping
editor with its consequences, the held deletions on the integration page with a person's decision,
and each side's webhook state."""

from __future__ import annotations

import pytest
from django.urls import reverse

from syncsmart.models import PendingDeletion, WebhookRegistration
from tenants.models import AuditLog

pytestmark = pytest.mark.django_db


def editor(mapping) -> str:
    return reverse("mapping_editor", args=[mapping.integration_id, mapping.pk])


def test_the_editor_shows_each_directions_deletion_policy_with_its_consequences(team, contacts):
    page = team.admin.get(editor(contacts)).content.decode()
    assert "When a linked record is deleted in HubSpot" in page
    assert "Every deletion is logged first" in page and "wait for your confirmation" in page
    response = team.admin.post(
        editor(contacts),
        {
            "enabled": "on",
            "direction": "both",
            "system_of_record": "hubspot",
            "create_policy": "create",
            "delete_to_other": "archive",
        },
    )
    assert response.status_code == 302
    contacts.refresh_from_db()
    assert (contacts.delete_to_other, contacts.delete_to_hubspot) == ("archive", "ignore")


def test_held_deletions_are_listed_and_confirmed_by_a_person(team, contacts, monkeypatch):
    monkeypatch.setattr("syncsmart.engine.queue.enqueue_run", lambda run_id: None)
    integration = contacts.integration
    for n in range(6):
        PendingDeletion.objects.create(
            integration=integration,
            object_mapping=contacts,
            source_side="hubspot",
            source_id=str(n),
            target_id=f"t{n}",
            policy="delete",
            status=PendingDeletion.Status.HELD,
        )
    WebhookRegistration.objects.create(
        integration=integration,
        side="hubspot",
        state="active",
        subscriptions=[{"id": "1", "event": "contact.deletion", "active": True}],
    )
    page = team.admin.get(reverse("integration", args=[integration.pk])).content.decode()
    assert "Deletions waiting for you" in page and "Confirm 6" in page
    assert "contact.deletion" in page
    url = reverse("held_deletions", args=[integration.pk, contacts.pk])
    assert team.viewer.post(url, {"decision": "confirm"}).status_code == 403
    assert team.admin.post(url, {"decision": "confirm"}).status_code == 302
    assert PendingDeletion.objects.filter(status=PendingDeletion.Status.CONFIRMED).count() == 6
    assert AuditLog.objects.filter(action="deletions.confirmed").exists()
