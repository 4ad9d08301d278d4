"""Issue 16 / 20 in Chromium: turning an object mapping on shows the preview's counts first and
happens on the confirm button; removing a field mapping and switching sync off ask in words
that say the consequence, and a dismissed question changes nothing."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from mappings.models import FieldMapping, ObjectMapping
from syncsmart.models import Preview, SyncRun

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_turning_a_mapping_on_shows_the_preview_then_the_confirm_button_turns_it_on(signed_in, live_server, world, screenshot):
    page = signed_in
    contacts = ObjectMapping.objects.get(integration=world.integration, hubspot_object="contacts")
    ObjectMapping.objects.filter(pk=contacts.pk).update(enabled=False)
    page.goto(f"{live_server.url}/integrations/{world.integration.pk}/mappings/{contacts.pk}/")
    page.get_by_label("Sync this object").check()
    page.get_by_role("button", name="Save object settings").click()

    expect(page.locator("#gate-h")).to_have_text(f"Turn {contacts} on?")
    expect(page.locator("#preview-counts")).to_be_visible()
    expect(page.locator("#preview-result")).to_contain_text("vendor calls")
    screenshot(page, "mapping-on-preview")
    preview = Preview.objects.get(integration=world.integration, purpose="mapping_on")
    assert preview.status == "done" and preview.write_calls == 0 and preview.object_mapping_id == contacts.pk
    contacts.refresh_from_db()
    assert contacts.enabled is False  # nothing changed yet

    page.get_by_role("button", name=f"Confirm: turn {contacts} on").click()
    expect(page.get_by_text(f"{contacts} saved")).to_be_visible()
    contacts.refresh_from_db()
    assert contacts.enabled is True


def test_removing_a_field_mapping_asks_in_words_and_a_dismissal_keeps_it(signed_in, live_server, world):
    page = signed_in
    contacts = ObjectMapping.objects.get(integration=world.integration, hubspot_object="contacts")
    field = contacts.field_mappings.order_by("id").first()
    page.goto(f"{live_server.url}/integrations/{world.integration.pk}/mappings/{contacts.pk}/")
    asked: list[str] = []

    def answer(accept: bool):
        def handler(dialog):
            asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        return handler

    page.once("dialog", answer(False))
    page.get_by_role("button", name=f"Remove {field}").click()
    page.wait_for_timeout(300)  # a dismissed confirm sends nothing; give a stray request time to show
    assert asked and f"Remove the mapping {field}? This field stops syncing" in asked[0]
    assert FieldMapping.objects.filter(pk=field.pk).exists()

    page.once("dialog", answer(True))
    page.get_by_role("button", name=f"Remove {field}").click()
    expect(page.get_by_role("button", name=f"Remove {field}")).to_have_count(0)
    assert not FieldMapping.objects.filter(pk=field.pk).exists()


def test_switching_sync_off_says_what_stops(signed_in, live_server, world):
    page = signed_in
    world.integration.enabled = True
    world.integration.save()
    page.goto(f"{live_server.url}/integrations/{world.integration.pk}/")
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Main switch On").click()
    page.wait_for_timeout(300)
    assert asked and "Nothing syncs between HubSpot and ConnectWise Manage until you turn it on again" in asked[0]
    world.integration.refresh_from_db()
    assert world.integration.enabled is True


def test_reloading_the_historical_sync_confirmation_shows_the_same_step(signed_in, live_server, world):
    """QA: a reload of the confirmation forgot the finished preview and its confirm button."""
    page = signed_in
    page.goto(f"{live_server.url}/integrations/{world.integration.pk}/historical/")
    page.get_by_role("button", name="Start historical sync").click()
    expect(page.locator("#preview-counts")).to_be_visible()
    preview = Preview.objects.get(integration=world.integration, purpose="resync")
    assert page.url.endswith(f"/historical/?preview={preview.pk}")

    page.reload()
    expect(page.locator("#gate-h")).to_have_text("Start a historical sync?")
    expect(page.locator("#preview-counts")).to_be_visible()
    assert Preview.objects.filter(integration=world.integration).count() == 1  # the same preview, not read again
    page.get_by_role("button", name="Confirm: start the historical sync").click()
    expect(page.locator("#hist-bar")).to_be_visible()
    assert SyncRun.objects.filter(integration=world.integration, trigger="historical").count() == 1
