"""The record log shows real changes and real decisions: runs reading unchanged linked records
again (a cursor's overlap window) log nothing for them, while the run still counts them."""

from syncsmart.models import RecordEvent, SyncCursor, SyncRun


def _linked_and_settled(cw_pair):
    """Records linked both ways, and our own writes come back once (said as "Our own change")."""
    company = cw_pair.other.add_company("Globex Corp", website="globex.example.com")
    cw_pair.other.add_contact("Ann", "Lee", company_id=company["id"], email="ann@globex.example.com")
    initech = cw_pair.hubspot.create_record("companies", {"name": "Initech", "domain": "initech.example.com"})
    cw_pair.hubspot.create_record(
        "contacts", {"email": "peter@initech.example.com", "firstname": "Peter"}, associations={"companies": [initech]}
    )
    first = cw_pair.sync()
    assert first.status == "succeeded", first.error
    assert first.counts.get("created", 0) == 4, first.counts
    cw_pair.sync(trigger=SyncRun.Trigger.SCHEDULE)


def _scheduled_run_reading_everything_again(cw_pair) -> SyncRun:
    """The overlap window, at its widest: the run reads every record again."""
    SyncCursor.objects.filter(kind=SyncCursor.Kind.INCREMENTAL).delete()
    run = cw_pair.sync(trigger=SyncRun.Trigger.SCHEDULE)
    assert run.status == "succeeded", run.error
    return run


def test_two_scheduled_runs_with_no_edits_add_no_record_events(cw_pair):
    _linked_and_settled(cw_pair)
    before = RecordEvent.objects.count()
    runs = [_scheduled_run_reading_everything_again(cw_pair) for _ in range(2)]
    assert all(r.counts.get("echo", 0) >= 8 for r in runs), [r.counts for r in runs]  # every record read again
    assert RecordEvent.objects.count() == before, list(
        RecordEvent.objects.order_by("-created_at").values_list("outcome", "source_side", "source_id", "message")[:10]
    )


def test_an_edit_after_quiet_runs_is_still_logged(cw_pair):
    _linked_and_settled(cw_pair)
    _scheduled_run_reading_everything_again(cw_pair)
    contact = RecordEvent.objects.filter(source_side="other", source_object="contacts", outcome="created").get()
    cw_pair.other.edit("contacts", contact.source_id, {"firstName": "Annie"})
    run = cw_pair.sync(trigger=SyncRun.Trigger.SCHEDULE)
    assert RecordEvent.objects.filter(run=run, outcome="updated", source_id=contact.source_id).exists()
