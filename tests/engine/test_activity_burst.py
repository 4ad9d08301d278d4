"""An e-mail campaign's burst (issue 19): thousands of activity notifications wait in the inbox
when a contact is edited. The edit is worked in the first inbox pass, before the burst is caught
up, not after every activity notified before it; the burst still arrives whole, once."""

import pytest

from mappings.models import ObjectMapping
from syncsmart.engine import run as engine_run
from syncsmart.models import InboxItem, RecordEvent, RecordLink
from tests.engine.test_webhook_latency_path import linked_contact
from tests.engine.test_webhooks import deliver, hooked  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db
BATCH = 20  # the inbox pass size for this test (INBOX_BATCH), so that a small burst is several passes


@pytest.mark.parametrize("trigger", ["webhook", "manual"])
def test_a_contact_edit_notified_behind_an_activity_burst_is_worked_before_the_burst_is_caught_up(
    hooked,  # noqa: F811
    django_capture_on_commit_callbacks,
    monkeypatch,
    trigger,
):
    monkeypatch.setattr(engine_run, "INBOX_BATCH", BATCH)
    cw_id, hub_id = linked_contact(hooked)
    burst = 3 * BATCH + 5
    for n in range(burst):
        hooked.other.add_activity(f"Spring campaign {n}", type="Email", contact_id=cw_id, dateStart="2026-03-02T10:00:00Z")
    deliver(hooked.other, django_capture_on_commit_callbacks)
    hooked.other.edit("contacts", cw_id, {"firstName": "Annie"})
    deliver(hooked.other, django_capture_on_commit_callbacks)  # the edit's notification comes after the whole burst
    assert InboxItem.objects.filter(status="pending").count() == burst + 1

    run = hooked.sync(trigger=trigger)

    assert run.status == "succeeded", (run.error, run.counts)
    assert hooked.hubspot.get_record("contacts", hub_id)["firstname"] == "Annie"
    edit = RecordEvent.objects.get(run=run, source_side="other", source_id=str(cw_id), outcome="updated")
    created = RecordEvent.objects.filter(run=run, source_side="other", outcome="created")
    assert created.count() == burst
    # Worked in the first pass (parents first), not behind the burst's earlier notifications.
    assert created.filter(pk__lt=edit.pk).count() == 0
    assert hooked.hubspot.count("emails") == burst
    assert RecordLink.objects.filter(other_object="email_activities").count() == burst
    assert not InboxItem.objects.filter(status="pending").exists()


def test_a_steady_stream_of_contact_edits_does_not_hold_back_an_activity_backfill(
    hooked,  # noqa: F811
    django_capture_on_commit_callbacks,
    monkeypatch,
):
    """Every inbox pass brings the next edit's notification (edits arriving as fast as they are
    worked). The run works one pass between the change feed's page parts, so the backfill's
    activities are created while the edits go on; each edit is still worked in the pass after it
    arrived. Counted in the record log's order, not timed."""
    monkeypatch.setattr(engine_run, "PAGE_PART", 10)
    # The campaign's flows only (as the bench): each flow's pages also serve the stream.
    ObjectMapping.objects.filter(integration=hooked.integration).exclude(
        other_object__in=("companies", "contacts", "email_activities")
    ).delete()
    cw_id, hub_id = linked_contact(hooked)
    burst = 30
    for n in range(burst):
        hooked.other.add_activity(f"Spring campaign {n}", type="Email", contact_id=cw_id, dateStart="2026-03-02T10:00:00Z")
    hooked.other.webhooks.deliveries.clear()  # the campaign is found by the change feed
    stream = 8
    edits = iter(range(stream))

    def next_edit() -> None:
        n = next(edits, None)
        if n is not None:
            hooked.other.edit("contacts", cw_id, {"firstName": f"Edit{n}"})
            deliver(hooked.other, django_capture_on_commit_callbacks)

    passes = engine_run.Engine._inbox_pages

    def pass_then_next_edit(engine, items, **options):
        pages = passes(engine, items, **options)
        if options.get("finish_unmapped", True):  # a pass, not its read-ahead of what came meanwhile
            next_edit()  # it waits in the inbox while this pass is worked
        return pages

    monkeypatch.setattr(engine_run.Engine, "_inbox_pages", pass_then_next_edit)
    next_edit()

    run = hooked.sync()

    assert run.status == "succeeded", (run.error, run.counts)
    created = RecordEvent.objects.filter(run=run, source_side="other", outcome="created")
    assert created.count() == burst
    last_edit = RecordEvent.objects.filter(run=run, source_side="other", source_id=str(cw_id), outcome="updated").latest("pk")
    # The backfill went on while the edits did: activities were created before the last edit was worked.
    assert created.filter(pk__lt=last_edit.pk).count() >= 10
    assert hooked.hubspot.count("emails") == burst
    assert hooked.hubspot.get_record("contacts", hub_id)["firstname"] == f"Edit{stream - 1}"
    assert not InboxItem.objects.filter(status="pending").exists()
