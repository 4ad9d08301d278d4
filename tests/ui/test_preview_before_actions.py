"""Issue 16: a historical resync, turning an object mapping on and the sandbox → production
switch each show a preview's counts first (started, or a fresh one reused) and happen only when
the customer confirms a finished preview; destructive buttons say their consequence in words.

The previews here are not run (no worker in these tests): each test finishes one by hand with a
result, as previews.run_preview would store it (its real runs: tests/matching/test_preview.py)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from mappings import first_day
from mappings.services import actions as mapping_actions
from mappings.services import go_live
from syncsmart.models import Preview, SyncRun
from tenants.models import GoLiveSwitch
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db


def _finish(preview: Preview, *, linked: int = 7, created: int = 3) -> Preview:
    totals = {"link": linked, "create": created, "update": 0, "filtered": 2, "ambiguous": 1, "fail": 0, "unchanged": 0}
    flow = {
        "object_mapping": preview.object_mapping_id or 0,
        "source_side": "hubspot",
        "source_object": "contacts",
        "counts": totals,
        "samples": {c: [] for c in totals},
        "fields": {},
        "filters": {},
        "rules": {"E-mail": linked},
    }
    Preview.objects.filter(pk=preview.pk).update(
        status=Preview.Status.DONE, result={"flows": [flow], "totals": totals}, api_calls=41
    )
    preview.refresh_from_db()
    return preview


def test_a_historical_resync_shows_a_preview_first_and_starts_only_once_a_finished_one_is_confirmed(team, contacts):
    url = reverse("historical", args=[contacts.integration_id])
    form = {"scope": "all", "object_mapping": str(contacts.pk)}

    page = team.admin.post(url, form)
    assert page.status_code == 200 and "Start a historical sync?" in page.content.decode()
    preview = Preview.objects.get(integration=contacts.integration)
    assert (preview.purpose, preview.kind, preview.object_mapping_id) == ("resync", "historical", contacts.pk)
    assert not SyncRun.objects.filter(trigger="historical").exists()

    early = team.admin.post(url, {**form, "confirmed_preview": str(preview.pk)})
    assert "still reading both systems" in early.content.decode()
    assert not SyncRun.objects.filter(trigger="historical").exists()

    _finish(preview)
    again = team.admin.post(url, form).content.decode()  # the fresh preview is reused, not read twice
    assert Preview.objects.filter(integration=contacts.integration).count() == 1
    assert 'id="preview-counts"' in again and "E-mail (7)" in again and "41 vendor calls" in again
    assert f'name="confirmed_preview" value="{preview.pk}"' in again

    done = team.admin.post(url, {**form, "confirmed_preview": str(preview.pk)})
    assert done.status_code == 302
    assert SyncRun.objects.get(trigger="historical").object_mapping_id == contacts.pk


def test_a_confirmation_must_name_a_preview_of_that_action_and_integration(team, contacts, other_tenants_contacts):
    url = reverse("historical", args=[contacts.integration_id])
    foreign = _finish(Preview.objects.create(integration=other_tenants_contacts.integration, purpose="resync", kind="historical"))
    other_purpose = _finish(Preview.objects.create(integration=contacts.integration, purpose="mapping_on", kind="next_run"))
    for wrong in (str(foreign.pk), str(other_purpose.pk), "not-a-uuid", ""):
        response = team.admin.post(url, {"scope": "all", "confirmed_preview": wrong})
        assert response.status_code == 200 and "Start a historical sync?" in response.content.decode()
    assert not SyncRun.objects.filter(trigger="historical").exists()


def test_reloading_the_historical_sync_confirmation_shows_the_same_step(team, contacts):
    """QA: a reload forgot the preview and its confirm button. The step names its own address
    (put in the address bar by ui.js), and that address shows the same step until it is used."""
    url = reverse("historical", args=[contacts.integration_id])
    form = {"scope": "since", "since": "2026-11-01", "object_mapping": str(contacts.pk)}
    gate = team.admin.post(url, form).content.decode()
    preview = Preview.objects.get(integration=contacts.integration, purpose="resync")
    address = f"{url}?preview={preview.pk}"
    assert f'data-replace-url="{address}"' in gate

    running = team.admin.get(address).content.decode()  # the reload, while the preview reads
    assert "Start a historical sync?" in running and "changed since 2026-11-01" in running
    assert 'hx-trigger="every 2s"' in running
    _finish(preview)
    reloaded = team.admin.get(address).content.decode()  # the reload, once it is done
    assert "Start a historical sync?" in reloaded and 'id="preview-counts"' in reloaded
    for name, value in (*form.items(), ("confirmed_preview", str(preview.pk))):
        assert f'name="{name}" value="{value}"' in reloaded, name
    assert not SyncRun.objects.filter(trigger="historical").exists()

    assert team.admin.post(url, {**form, "confirmed_preview": str(preview.pk)}).status_code == 302
    run = SyncRun.objects.get(trigger="historical")
    assert run.object_mapping_id == contacts.pk and run.state["since"].startswith("2026-11-01")
    after = team.admin.get(address).content.decode()  # used: the page is the sync's progress again
    assert "Start a historical sync?" not in after


def test_turning_an_object_mapping_on_previews_what_it_would_do_before_it_is_on(team, contacts):
    contacts.enabled = False
    contacts.save()
    url = reverse("mapping_editor", args=[contacts.integration_id, contacts.pk])
    form = {"enabled": "on", "direction": "both", "system_of_record": "hubspot", "create_policy": "create"}

    page = team.admin.post(url, form).content.decode()
    assert "Turn Contacts on?" in page and "Confirm: turn Contacts on" in page
    contacts.refresh_from_db()
    assert contacts.enabled is False
    preview = Preview.objects.get(integration=contacts.integration, purpose="mapping_on")
    assert (preview.kind, preview.object_mapping_id) == ("next_run", contacts.pk)

    _finish(preview)
    assert team.admin.post(url, {**form, "confirmed_preview": str(preview.pk)}).status_code == 302
    contacts.refresh_from_db()
    assert contacts.enabled is True


def test_saving_a_mapping_that_is_already_on_needs_no_preview(team, contacts):
    url = reverse("mapping_editor", args=[contacts.integration_id, contacts.pk])
    form = {"enabled": "on", "direction": "to_other", "system_of_record": "hubspot", "create_policy": "create"}
    assert team.admin.post(url, form).status_code == 302
    assert not Preview.objects.exists()


@pytest.fixture
def prepared_switch(team, monkeypatch):
    monkeypatch.setattr(first_day, "discover_schemas", lambda integration, actor: {"discovered": {}, "broken": []})
    monkeypatch.setattr(first_day, "holds_records", lambda connection, object_type: False)
    hub = ConnectionFactory(tenant=team.tenant, system="hubspot")
    sandbox = ConnectionFactory(tenant=team.tenant, system="connectwise", environment="sandbox", status="ok")
    integration = mapping_actions.create_integration(team.tenant, None, hub, sandbox, test_mode=True, name="Acme CW")
    production = ConnectionFactory(tenant=team.tenant, system="connectwise", environment="production", status="ok")
    switch = go_live.prepare(integration, team.users["owner"])
    switch.production_connection = production
    switch.save()
    return switch


def test_the_switch_to_production_previews_against_production_and_switches_once_confirmed(team, prepared_switch):
    switch = prepared_switch
    url = reverse("go_live", args=[switch.integration_id])
    choices = {"action": "start_previewed", "mappings": "keep", "confirm": "on"}

    page = team.owner.post(url, choices).content.decode()
    assert "Switch to production?" in page and "You can undo the whole switch today." in page
    preview = Preview.objects.get(integration=switch.integration, purpose="go_live")
    assert (preview.kind, preview.other_connection_id) == ("first_run", switch.production_connection_id)
    switch.refresh_from_db()
    assert switch.status == GoLiveSwitch.Status.PREPARING

    _finish(preview, created=0)
    assert team.owner.post(url, {**choices, "confirmed_preview": str(preview.pk)}).status_code == 302
    switch.refresh_from_db()
    assert switch.status == GoLiveSwitch.Status.DONE
    assert switch.integration.other_connection_id == switch.production_connection_id


def test_destructive_buttons_say_what_will_happen(team, contacts):
    integration = contacts.integration
    integration.enabled = True
    integration.save()
    overview = team.admin.get(reverse("integration", args=[integration.pk])).content.decode()
    assert "Nothing syncs between HubSpot and ConnectWise Manage until you turn it on again" in overview
    editor = team.admin.get(reverse("mapping_editor", args=[integration.pk, contacts.pk])).content.decode()
    assert "This field stops syncing between HubSpot and ConnectWise Manage; values already copied stay" in editor
    assert "your own extra mappings stay" in editor
