"""An e-mail campaign's burst (issue 19): thousands of activity notifications wait in the inbox
when a contact is edited. The edit is worked in the first inbox pass, before the burst is caught
up, not after every activity notified before it; the burst still arrives whole, once."""

import pytest

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
