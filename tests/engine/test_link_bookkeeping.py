"""A page's links: a baseline that did not change is not written again; one that did is upserted
with only its changed columns, and the link keeps the time it last changed."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from connectors.emulation import utcnow
from syncsmart.engine.flow.gate import Gate
from syncsmart.models import RecordEvent, RecordLink, SyncRun
from tests.engine.test_idle_run import settled

pytestmark = pytest.mark.django_db


def link_writes(queries) -> list[str]:
    return [q["sql"] for q in queries if "syncsmart_recordlink" in q["sql"] and not q["sql"].lstrip().startswith("SELECT")]


def touch_a_second_later(pair, contact: str) -> None:
    """Edit the contact to the same value as a user would, in a later second than the settled runs:
    ConnectWise stamps lastUpdated to the second, and a run that settled within the same second
    would not see the edit as new."""
    pair.other.clock = lambda: utcnow() + dt.timedelta(seconds=2)
    pair.other.edit("contacts", contact, {"firstName": "Ann0"})


def test_a_record_read_again_unchanged_does_not_rewrite_its_link(cw_pair, monkeypatch):
    contact = settled(cw_pair)[0]
    monkeypatch.setattr(Gate, "is_echo", lambda self, item: False)  # judged in full, not stopped as our own write
    touch_a_second_later(cw_pair, contact)  # touched, same value
    with CaptureQueriesContext(connection) as queries:
        run = cw_pair.sync(trigger=SyncRun.Trigger.SCHEDULE)
    outcomes = set(RecordEvent.objects.filter(run=run, source_id=contact).values_list("outcome", flat=True))
    assert outcomes == {"unchanged"}
    assert link_writes(queries) == []


def test_a_changed_baseline_is_upserted_with_only_its_changed_columns(cw_pair):
    contact = settled(cw_pair)[0]
    link = RecordLink.objects.get(other_object="contacts", other_id=contact)
    RecordLink.objects.filter(pk=link.pk).update(other_hash="")  # e.g. a field mapped since: the hash is unknown
    touch_a_second_later(cw_pair, contact)
    with CaptureQueriesContext(connection) as queries:
        run = cw_pair.sync(trigger=SyncRun.Trigger.SCHEDULE)
    assert set(RecordEvent.objects.filter(run=run, source_id=contact).values_list("outcome", flat=True)) == {"unchanged"}
    [write] = link_writes(queries)
    assert 'DO UPDATE SET "other_hash" = EXCLUDED."other_hash"' in write
    assert "hubspot_values" not in write.split("DO UPDATE SET")[1]
    stored = RecordLink.objects.get(pk=link.pk)
    assert stored.other_hash == link.other_hash  # the hash is known again
    assert (stored.hubspot_values, stored.other_values, stored.hubspot_hash) == (
        link.hubspot_values,
        link.other_values,
        link.hubspot_hash,
    )
    assert stored.updated_at == link.updated_at  # the link itself did not change
