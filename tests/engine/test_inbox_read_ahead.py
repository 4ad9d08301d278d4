"""Inbox read-ahead: notifications that arrive while an inbox pass reads are read while it
writes, so the next pass starts with their answers (syncsmart/engine/run.py `InboxReadAhead`).
Never at the price of a lost update: a record notified again after it was read ahead is read
again, and a record the running pass writes (or whose counterpart it writes) is never read ahead.
Counted, not timed: which thread read which record, and in what order against the pass's pages."""

import threading

import pytest

from connectors.connectwise.connector import ConnectWiseConnector
from syncsmart.engine.run import Engine, InboxReadAhead
from syncsmart.models import InboxItem
from tests.engine.test_webhook_latency_path import linked_contact
from tests.engine.test_webhooks import deliver, hooked  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def journal(monkeypatch):
    """What the run did, in order: ConnectWise contact reads by id (ids, read ahead or not) and pages worked."""
    entries: list[tuple] = []
    read = ConnectWiseConnector.read_by_ids

    def read_by_ids(self, object_type, ids):
        if object_type == "contacts":
            entries.append(("read", tuple(str(i) for i in ids), threading.current_thread().name.startswith("inbox-ahead")))
        return read(self, object_type, ids)

    page = Engine.page

    def engine_page(self, mapping, side, records, **kwargs):
        entries.append(("page", side, tuple(str(r.id) for r in records)))
        return page(self, mapping, side, records, **kwargs)

    monkeypatch.setattr(ConnectWiseConnector, "read_by_ids", read_by_ids)
    monkeypatch.setattr(Engine, "page", engine_page)
    return entries


def during_first_read(monkeypatch, action):
    """Run `action` once, right after the first inbox pass's early reads (as if its notification
    arrived while the pass read): the pass looks for newer notifications next, before it writes."""
    original = Engine._read_early
    calls = []

    def read_early(self, pages, ahead=None):
        answer = original(self, pages, ahead)
        if not calls:
            calls.append(1)
            action()
        return answer

    monkeypatch.setattr(Engine, "_read_early", read_early)


def reads_of(journal, record_id) -> list[bool]:
    """Each read of this ConnectWise contact: True when it was a read-ahead."""
    return [ahead for kind, *rest in journal if kind == "read" for ids, ahead in [rest] if str(record_id) in ids]


def test_a_notification_arriving_while_a_pass_reads_is_read_before_that_pass_writes_and_only_once(
    hooked,  # noqa: F811
    django_capture_on_commit_callbacks,
    monkeypatch,
    journal,
):
    ann_cw, ann_hub = linked_contact(hooked)
    bob_cw, bob_hub = linked_contact(hooked, "Bob", "Stone", "bob@stone.example.com")
    hooked.hubspot.edit_record("contacts", ann_hub, {"firstname": "Annie"})
    deliver(hooked.hubspot, django_capture_on_commit_callbacks)

    def bob_edited_in_connectwise():
        hooked.other.edit("contacts", bob_cw, {"firstName": "Robert"})
        deliver(hooked.other, django_capture_on_commit_callbacks)

    during_first_read(monkeypatch, bob_edited_in_connectwise)
    journal.clear()  # the set-up's syncs are not the run under test
    run = hooked.sync(trigger="webhook")
    assert run.status == "succeeded", run.error
    assert reads_of(journal, bob_cw) == [True]  # read once, by the read-ahead
    first_page = next(n for n, entry in enumerate(journal) if entry[0] == "page")
    bob_read = next(n for n, entry in enumerate(journal) if entry[0] == "read" and str(bob_cw) in entry[1])
    assert bob_read < first_page  # sent before the first pass wrote anything
    assert ("page", "other", (str(bob_cw),)) in journal  # and worked by the next pass
    assert hooked.hubspot.get_record("contacts", bob_hub)["firstname"] == "Robert"
    assert hooked.other.get("contacts", ann_cw)["firstName"] == "Annie"
    assert not InboxItem.objects.filter(status="pending").exists()


def test_a_record_notified_again_after_it_was_read_ahead_is_read_again(
    hooked,  # noqa: F811
    django_capture_on_commit_callbacks,
    monkeypatch,
    journal,
):
    _, ann_hub = linked_contact(hooked)
    bob_cw, bob_hub = linked_contact(hooked, "Bob", "Stone", "bob@stone.example.com")
    hooked.hubspot.edit_record("contacts", ann_hub, {"firstname": "Annie"})
    deliver(hooked.hubspot, django_capture_on_commit_callbacks)

    def bob_edited_in_connectwise():
        hooked.other.edit("contacts", bob_cw, {"firstName": "Robert"})
        deliver(hooked.other, django_capture_on_commit_callbacks)

    during_first_read(monkeypatch, bob_edited_in_connectwise)
    original = Engine._read_ahead

    def read_ahead(self, items, touched):
        ahead = original(self, items, touched)
        if ahead is not None:
            ahead._answered()  # the read-ahead has answered ("Robert") ...
            hooked.other.edit("contacts", bob_cw, {"firstName": "Bobby"})  # ... when Bob is edited again
            deliver(hooked.other, django_capture_on_commit_callbacks)
        return ahead

    monkeypatch.setattr(Engine, "_read_ahead", read_ahead)
    journal.clear()  # the set-up's syncs are not the run under test
    run = hooked.sync(trigger="webhook")
    assert run.status == "succeeded", run.error
    assert reads_of(journal, bob_cw)[0] is True
    assert len(reads_of(journal, bob_cw)) == 2  # the older answer is not used for the newer notification
    assert hooked.hubspot.get_record("contacts", bob_hub)["firstname"] == "Bobby"
    assert not InboxItem.objects.filter(status="pending").exists()


def test_a_record_whose_counterpart_the_running_pass_writes_is_not_read_ahead(
    hooked,  # noqa: F811
    django_capture_on_commit_callbacks,
    monkeypatch,
    journal,
):
    ann_cw, ann_hub = linked_contact(hooked)
    hooked.hubspot.edit_record("contacts", ann_hub, {"firstname": "Annie"})
    deliver(hooked.hubspot, django_capture_on_commit_callbacks)

    def ann_edited_in_connectwise_too():  # the pass is about to write Ann's ConnectWise record
        hooked.other.edit("contacts", ann_cw, {"lastName": "Leigh"})
        deliver(hooked.other, django_capture_on_commit_callbacks)

    during_first_read(monkeypatch, ann_edited_in_connectwise_too)
    taken = []
    take = InboxReadAhead.take

    def spy(self, page):
        answer = take(self, page)
        taken.extend(answer[0])
        return answer

    monkeypatch.setattr(InboxReadAhead, "take", spy)
    journal.clear()  # the set-up's syncs are not the run under test
    run = hooked.sync(trigger="webhook")
    assert run.status == "succeeded", run.error
    assert True not in reads_of(journal, ann_cw) and taken == []  # read after the write, never ahead
    cw_contact, hub_contact = hooked.other.get("contacts", ann_cw), hooked.hubspot.get_record("contacts", ann_hub)
    assert (cw_contact["firstName"], cw_contact["lastName"]) == ("Annie", "Leigh")
    assert (hub_contact["firstname"], hub_contact["lastname"]) == ("Annie", "Leigh")
    assert not InboxItem.objects.filter(status="pending").exists()
