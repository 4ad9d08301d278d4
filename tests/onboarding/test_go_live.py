"""Sandbox -> production: the steps in order, interruption after each step, resume, and rollback."""

from __future__ import annotations

import pytest
from django.urls import reverse

from connectors.models import Connection
from mappings import first_day
from mappings.models import FieldMapping
from mappings.services import actions as mapping_actions
from mappings.services import go_live
from syncsmart.core.choices import Direction
from syncsmart.models import DeferredRecord, InboxItem, Preview, RecordLink, SyncCursor
from tenants.models import AuditLog, GoLiveSwitch
from tests.factories import ConnectionFactory


@pytest.fixture(autouse=True)
def _vendors_answer():
    """These connections are not reachable: discovery finds every field, and neither side holds
    records (so the first run may create). The real calls are proven in tests/matching/test_go_live_first_day.py.
    A patch of its own: tests that undo their `monkeypatch` keep this one."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(first_day, "discover_schemas", lambda integration, actor: {"discovered": {}, "broken": []})
        patch.setattr(first_day, "holds_records", lambda connection, object_type: False)
        yield


@pytest.fixture
def sandbox(team):
    """An integration that has been syncing against a ConnectWise sandbox, in test mode."""
    hub = ConnectionFactory(tenant=team.tenant, system="hubspot")
    cw_sandbox = ConnectionFactory(tenant=team.tenant, system="connectwise", environment="sandbox", status="ok")
    integration = mapping_actions.create_integration(team.tenant, None, hub, cw_sandbox, test_mode=True, name="Acme CW")
    integration.enabled = True
    integration.save()
    companies = integration.object_mappings.get(hubspot_object="companies")
    RecordLink.objects.create(
        integration=integration,
        object_mapping=companies,
        hubspot_object="companies",
        other_object="companies",
        hubspot_id="11",
        other_id="201",
    )
    SyncCursor.objects.create(integration=integration, object_mapping=companies, side="hubspot", cursor={"after": "x"})
    DeferredRecord.objects.create(integration=integration, object_mapping=companies, source_side="hubspot", record_id="12")
    InboxItem.objects.create(integration=integration, side="hubspot", event_id="ev-1", object_type="companies", record_id="13")
    production = ConnectionFactory(tenant=team.tenant, system="connectwise", environment="production", status="ok")
    return integration, cw_sandbox, production


def _start(integration, production, actor, mappings="keep"):
    switch = go_live.prepare(integration, actor)
    switch.production_connection = production
    switch.save()
    return go_live.start(switch, actor, mappings=mappings, keep_test_mode=False)


def _state(integration):
    integration.refresh_from_db()
    return {
        "enabled": integration.enabled,
        "environment": integration.environment,
        "test_mode": integration.test_mode,
        "other_connection": integration.other_connection_id,
        "paused": go_live.webhook_intake_paused(integration),
        "links": sorted(RecordLink.objects.filter(integration=integration).values_list("pk", flat=True)),
        "cursors": sorted(SyncCursor.objects.filter(integration=integration).values_list("pk", flat=True)),
        "deferred": sorted(DeferredRecord.objects.filter(integration=integration).values_list("pk", flat=True)),
        "inbox": sorted(InboxItem.objects.filter(integration=integration).values_list("pk", flat=True)),
    }


def _expected_after(steps_done: int, before: dict, production) -> dict:
    """What the integration looks like once the first `steps_done` steps have committed."""
    expected = dict(before)
    if steps_done >= 1:
        expected["enabled"] = False
    if steps_done >= 2:
        expected["paused"] = True
    if steps_done >= 3:
        expected.update(links=[], cursors=[], deferred=[], inbox=[])
    if steps_done >= 4:
        expected.update(environment="production", test_mode=False, other_connection=production.pk)
    if steps_done >= len(go_live.STEPS):
        expected.update(enabled=True, paused=False)
    return expected


@pytest.mark.django_db
def test_the_switch_runs_every_step_in_order_and_ends_on_production(team, sandbox):
    integration, _, production = sandbox
    actor = team.users["owner"]
    before = _state(integration)
    switch = go_live.resume(_start(integration, production, actor), actor)
    assert switch.status == GoLiveSwitch.Status.DONE and switch.steps_done == go_live.STEP_NAMES
    assert _state(integration) == _expected_after(len(go_live.STEPS), before, production)
    steps_in_log = list(
        AuditLog.objects.filter(tenant=team.tenant, action__startswith="go_live.step.")
        .order_by("created_at", "id")
        .values_list("action", flat=True)
    )
    assert steps_in_log == [f"go_live.step.{name}" for name in go_live.STEP_NAMES]
    assert AuditLog.objects.filter(action="go_live.finished", actor=actor).exists()


@pytest.mark.django_db
def test_the_switch_refuses_to_start_before_the_production_connection_passed_its_test(team, sandbox):
    integration, _, production = sandbox
    Connection.objects.filter(pk=production.pk).update(status=Connection.Status.ERROR)
    production.refresh_from_db()
    switch = go_live.prepare(integration, team.users["owner"])
    switch.production_connection = production
    switch.save()
    with pytest.raises(go_live.GoLiveError, match="Test the production connection"):
        go_live.start(switch, team.users["owner"], mappings="keep", keep_test_mode=False)
    integration.refresh_from_db()
    assert integration.enabled and integration.environment == "sandbox"


def _interrupt_at(monkeypatch, step_index: int):
    """Make step `step_index` do its work and then crash, as a killed worker or lost connection would."""
    name = go_live.STEP_NAMES[step_index]
    original = go_live.STEP_FUNCTIONS[name]

    def crash(switch, integration, actor):
        original(switch, integration, actor)
        raise RuntimeError("worker died")

    monkeypatch.setitem(go_live.STEP_FUNCTIONS, name, crash)


@pytest.mark.django_db
@pytest.mark.parametrize("steps_done", range(0, len(go_live.STEPS)))
def test_an_interrupted_switch_stops_cleanly_after_each_step_and_resumes_to_the_end(team, sandbox, monkeypatch, steps_done):
    integration, _, production = sandbox
    actor = team.users["admin"]
    before = _state(integration)
    switch = _start(integration, production, actor)
    _interrupt_at(monkeypatch, steps_done)
    with pytest.raises(RuntimeError):
        go_live.resume(switch, actor)
    switch.refresh_from_db()
    assert switch.status == GoLiveSwitch.Status.IN_PROGRESS
    assert switch.steps_done == go_live.STEP_NAMES[:steps_done]
    assert _state(integration) == _expected_after(steps_done, before, production)  # the crashed step left nothing behind

    monkeypatch.undo()
    switch = go_live.resume(switch, actor)
    assert switch.status == GoLiveSwitch.Status.DONE
    assert _state(integration) == _expected_after(len(go_live.STEPS), before, production)
    for name in go_live.STEP_NAMES:
        assert AuditLog.objects.filter(tenant=team.tenant, action=f"go_live.step.{name}").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("steps_done", range(0, len(go_live.STEPS) + 1))
def test_a_switch_rolls_back_from_any_step_to_the_sandbox_exactly_as_it_was(team, sandbox, monkeypatch, steps_done):
    integration, cw_sandbox, production = sandbox
    actor = team.users["owner"]
    before = _state(integration)
    switch = _start(integration, production, actor)
    if steps_done < len(go_live.STEPS):
        _interrupt_at(monkeypatch, steps_done)
        with pytest.raises(RuntimeError):
            go_live.resume(switch, actor)
        monkeypatch.undo()
    else:
        go_live.resume(switch, actor)
    switch = go_live.roll_back(switch, actor)
    assert switch.status == GoLiveSwitch.Status.ROLLED_BACK and switch.steps_done == []
    assert _state(integration) == before
    assert integration.other_connection_id == cw_sandbox.pk
    undone = list(
        AuditLog.objects.filter(tenant=team.tenant, action__startswith="go_live.undo.")
        .order_by("created_at", "id")
        .values_list("action", flat=True)
    )
    assert undone == [f"go_live.undo.{name}" for name in reversed(go_live.STEP_NAMES[:steps_done])]
    assert AuditLog.objects.filter(action="go_live.rolled_back").count() == 1


@pytest.mark.django_db
def test_reinstalling_mappings_restores_defaults_and_a_rollback_brings_the_customers_mappings_back(team, sandbox):
    integration, _, production = sandbox
    actor = team.users["owner"]
    contacts = integration.object_mappings.get(hubspot_object="contacts")
    phone = contacts.field_mappings.get(hubspot_field="phone")
    phone.delete()
    firstname = contacts.field_mappings.get(hubspot_field="firstname")
    firstname.direction = Direction.TO_OTHER
    firstname.save()
    custom = FieldMapping.objects.create(
        object_mapping=contacts,
        hubspot_field="hs_lead_status",
        other_field="custom_7",
        hubspot_type="string",
        other_type="string",
    )

    switch = go_live.resume(_start(integration, production, actor, mappings="reinstall"), actor)
    assert contacts.field_mappings.filter(hubspot_field="phone").exists()
    assert contacts.field_mappings.get(hubspot_field="firstname").direction == Direction.BOTH
    assert FieldMapping.objects.filter(pk=custom.pk).exists()  # custom mappings are never touched

    go_live.roll_back(switch, actor)
    assert not contacts.field_mappings.filter(hubspot_field="phone").exists()
    assert contacts.field_mappings.get(hubspot_field="firstname").direction == Direction.TO_OTHER
    assert FieldMapping.objects.filter(pk=custom.pk).exists()


@pytest.mark.django_db
def test_the_page_resumes_or_rolls_back_for_writers_only_and_is_tenant_scoped(team, sandbox, monkeypatch):
    integration, _, production = sandbox
    switch = _start(integration, production, team.users["owner"])
    _interrupt_at(monkeypatch, 2)
    with pytest.raises(RuntimeError):
        go_live.resume(switch, team.users["owner"])
    monkeypatch.undo()
    url = reverse("go_live", args=[integration.pk])

    page = team.owner.get(url).content.decode()
    assert f"stopped after 2 of {len(go_live.STEPS)} steps" in page and "Resume the switch" in page
    assert team.outsider.get(url).status_code == 404
    assert team.viewer.post(url, {"action": "resume"}).status_code == 403
    assert team.outsider.post(url, {"action": "resume"}).status_code == 404
    switch.refresh_from_db()
    assert switch.steps_done == go_live.STEP_NAMES[:2]

    response = team.admin.post(url, {"action": "resume"})
    assert response.status_code == 302
    switch.refresh_from_db()
    assert switch.status == GoLiveSwitch.Status.DONE
    assert "now syncs with production" in team.admin.get(url).content.decode()


@pytest.mark.django_db
def test_sandbox_notifications_arriving_during_the_switch_are_not_replayed_against_production(team, sandbox, monkeypatch):
    integration, _, production = sandbox
    actor = team.users["owner"]
    switch = _start(integration, production, actor)
    _interrupt_at(monkeypatch, 3)  # stops after the inbox was cleared, before production is used
    with pytest.raises(RuntimeError):
        go_live.resume(switch, actor)
    monkeypatch.undo()
    late_sandbox = InboxItem.objects.create(
        integration=integration, side="other", event_id="cw-late", object_type="contacts", record_id="55"
    )
    late_hubspot = InboxItem.objects.create(
        integration=integration, side="hubspot", event_id="hs-late", object_type="contacts", record_id="77"
    )
    switch = go_live.resume(switch, actor)
    assert not InboxItem.objects.filter(pk=late_sandbox.pk).exists()
    assert InboxItem.objects.filter(pk=late_hubspot.pk).exists()  # same portal before and after: still wanted
    go_live.roll_back(switch, actor)
    assert InboxItem.objects.filter(pk=late_sandbox.pk).exists()  # a rollback returns to the sandbox with it


@pytest.mark.django_db
def test_the_guided_page_tests_the_production_connection_then_switches_after_confirmation(team, sandbox, connectwise):
    from connectors.connectwise.emulator import DEMO_CLIENT_ID, DEMO_COMPANY, DEMO_PRIVATE_KEY, DEMO_PUBLIC_KEY
    from tests.onboarding.conftest import CW_SITE

    integration, _, _ = sandbox
    url = reverse("go_live", args=[integration.pk])
    form = {"company_id": DEMO_COMPANY, "site": CW_SITE, "public_key": DEMO_PUBLIC_KEY, "client_id": DEMO_CLIENT_ID}

    page = team.admin.post(url, {**form, "private_key": "not-the-key", "action": "test"}).content.decode()
    assert "Connection failed." in page and "not-the-key" not in page
    switch = GoLiveSwitch.objects.get(integration=integration)
    assert switch.status == GoLiveSwitch.Status.PREPARING and switch.production_connection.status == "error"

    page = team.admin.post(url, {**form, "private_key": DEMO_PRIVATE_KEY, "action": "start"}).content.decode()
    assert "Tick the confirmation to switch." in page
    integration.refresh_from_db()
    assert integration.enabled and integration.environment == "sandbox"  # nothing changed without the confirmation

    # Confirmed: first a preview against production, its counts and the switch's consequence in words.
    page = team.admin.post(url, {**form, "private_key": "", "action": "start", "confirm": "on", "mappings": "keep"})
    assert "Switch to production?" in page.content.decode() and DEMO_PRIVATE_KEY not in page.content.decode()
    preview = Preview.objects.get(integration=integration, purpose="go_live")
    Preview.objects.filter(pk=preview.pk).update(status=Preview.Status.DONE)
    confirmed = {"action": "start_previewed", "confirm": "on", "mappings": "keep", "confirmed_preview": str(preview.pk)}
    response = team.admin.post(url, confirmed)
    assert response.status_code == 302
    switch.refresh_from_db()
    integration.refresh_from_db()
    assert switch.status == GoLiveSwitch.Status.DONE
    assert integration.environment == "production" and integration.other_connection == switch.production_connection
    assert switch.production_connection.environment == "production"
    assert switch.production_connection.credentials["private_key"] == DEMO_PRIVATE_KEY  # kept when left blank
    assert "now syncs with production" in team.admin.get(url).content.decode()
