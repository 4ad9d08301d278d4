"""The webhook fast path: one inbox pass that holds notifications of both sides syncs them all,
and a record notified on both sides in one pass never gets an old value written back (the page
that works it second must read it after the first page's write, however the pass reads)."""

import pytest

from syncsmart.models import InboxItem, RecordLink
from tests.engine.test_webhooks import deliver, hooked  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


def linked_contact(pair, first: str = "Ann", last: str = "Lee", email: str = "ann@globex.example.com") -> tuple[int, str]:
    """A ConnectWise contact (with its company) synced to HubSpot: (ConnectWise id, HubSpot id)."""
    company = pair.other.add_company(f"{last} Corp", website=email.split("@")[1])
    contact = pair.other.add_contact(first, last, company_id=company["id"], email=email)
    pair.sync()
    link = RecordLink.objects.get(integration=pair.integration, other_object="contacts", other_id=str(contact["id"]))
    pair.hubspot.webhooks.deliveries.clear()
    pair.other.webhooks.deliveries.clear()
    return contact["id"], link.hubspot_id


@pytest.mark.parametrize("first_side", ["hubspot", "other"])
def test_a_record_edited_on_both_sides_in_one_pass_keeps_both_edits(
    hooked,  # noqa: F811
    django_capture_on_commit_callbacks,
    first_side,
):
    cw_id, hub_id = linked_contact(hooked)
    hooked.hubspot.edit_record("contacts", hub_id, {"firstname": "Annie"})
    hooked.other.edit("contacts", cw_id, {"lastName": "Leigh"})
    senders = [hooked.hubspot, hooked.other] if first_side == "hubspot" else [hooked.other, hooked.hubspot]
    for emulator in senders:  # both notifications wait in the inbox for the same pass
        deliver(emulator, django_capture_on_commit_callbacks)
    assert InboxItem.objects.filter(status="pending").count() == 2
    run = hooked.sync(trigger="webhook")
    assert run.status == "succeeded", run.error
    cw_contact, hub_contact = hooked.other.get("contacts", cw_id), hooked.hubspot.get_record("contacts", hub_id)
    assert (cw_contact["firstName"], cw_contact["lastName"]) == ("Annie", "Leigh")
    assert (hub_contact["firstname"], hub_contact["lastname"]) == ("Annie", "Leigh")
    assert not InboxItem.objects.filter(status="pending").exists()


def test_one_pass_with_notifications_from_both_sides_syncs_every_notified_record(
    hooked,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    ann_cw, ann_hub = linked_contact(hooked)
    bob_cw, bob_hub = linked_contact(hooked, "Bob", "Stone", "bob@stone.example.com")
    hooked.hubspot.edit_record("contacts", ann_hub, {"firstname": "Annie"})
    hooked.other.edit("contacts", bob_cw, {"firstName": "Robert"})
    deliver(hooked.hubspot, django_capture_on_commit_callbacks)
    deliver(hooked.other, django_capture_on_commit_callbacks)
    hooked.reset_counters()
    run = hooked.sync(trigger="webhook")
    assert run.status == "succeeded", run.error
    assert hooked.other.get("contacts", ann_cw)["firstName"] == "Annie"
    assert hooked.hubspot.get_record("contacts", bob_hub)["firstname"] == "Robert"
    assert run.counts.get("updated") == 2, run.counts
    assert not InboxItem.objects.filter(status="pending").exists()


def test_the_engines_own_writes_notified_back_in_the_next_pass_write_nothing(
    hooked,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    cw_id, hub_id = linked_contact(hooked)
    hooked.hubspot.edit_record("contacts", hub_id, {"firstname": "Annie"})
    deliver(hooked.hubspot, django_capture_on_commit_callbacks)
    hooked.sync(trigger="webhook")
    deliver(hooked.other, django_capture_on_commit_callbacks)  # ConnectWise tells us about our own write
    hooked.reset_counters()
    run = hooked.sync(trigger="webhook")
    assert hooked.writes() == (0, 0), run.counts
    assert hooked.other.get("contacts", cw_id)["firstName"] == "Annie"
