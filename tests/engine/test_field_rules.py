"""Per-field rules (system of record per field, "only if target empty"), retrying one record,
cancelling a running historical sync."""

import pytest

from mappings.models import FieldMapping
from syncsmart.engine import historical, run_requests
from syncsmart.engine.slices import run_slice
from syncsmart.models import RecordEvent, RecordLink

pytestmark = pytest.mark.django_db


def synced(pair):
    company = pair.other.add_company("Globex Corp", website="globex.example.com")
    contact = pair.other.add_contact("Ann", "Lee", company_id=company["id"], email="ann@globex.example.com", title="CEO")
    pair.sync()
    link = RecordLink.objects.get(hubspot_object="contacts", other_id=str(contact["id"]))
    return link.hubspot_id, str(contact["id"])


def test_a_field_can_have_its_own_system_of_record(cw_pair):
    hub_id, cw_id = synced(cw_pair)
    FieldMapping.objects.filter(object_mapping__hubspot_object="contacts", hubspot_field="jobtitle").update(
        system_of_record="other"
    )
    cw_pair.hubspot.advance_clock(5000)
    cw_pair.hubspot.edit_record("contacts", hub_id, {"jobtitle": "Hub title", "firstname": "Hub name"})
    cw_pair.other.edit("contacts", cw_id, {"title": "CW title", "firstName": "CW name"})
    cw_pair.sync()
    hub = cw_pair.hubspot.get_record("contacts", hub_id)
    assert hub["jobtitle"] == "CW title"  # the field's own system of record: ConnectWise
    assert hub["firstname"] == "Hub name"  # the object's: HubSpot
    assert cw_pair.other.get("contacts", cw_id)["title"] == "CW title"


def test_only_if_target_empty_never_overwrites(cw_pair):
    contacts = cw_pair.integration.object_mappings.get(hubspot_object="contacts")
    FieldMapping.objects.filter(object_mapping=contacts, hubspot_field="jobtitle").update(
        only_if_target_empty=True, direction="to_other"
    )
    company = cw_pair.hubspot.create_record("companies", {"name": "Initech", "domain": "initech.example.com"})
    empty = cw_pair.hubspot.create_record(
        "contacts",
        {"email": "a@initech.example.com", "firstname": "A", "jobtitle": "Boss"},
        associations={"companies": [company]},
    )
    cw_company = cw_pair.other.add_company("Initech CW", website="initech.example.com")
    cw_pair.other.add_contact("B", "B", company_id=cw_company["id"], email="b@initech.example.com", title="Keep me")
    full = cw_pair.hubspot.create_record(
        "contacts",
        {"email": "b@initech.example.com", "firstname": "B", "jobtitle": "Overwrite?"},
        associations={"companies": [company]},
    )
    cw_pair.sync()
    title = {
        h: cw_pair.other.get("contacts", o)["title"]
        for h, o in RecordLink.objects.filter(hubspot_object="contacts").values_list("hubspot_id", "other_id")
    }
    assert title[empty] == "Boss"
    assert title[full] == "Keep me"


def test_retry_of_one_record_runs_just_that_record(cw_pair, monkeypatch):
    monkeypatch.setattr("syncsmart.engine.queue.enqueue_run", lambda run_id: None)
    contacts = cw_pair.integration.object_mappings.get(hubspot_object="contacts")
    company = cw_pair.hubspot.create_record("companies", {"name": "Initech", "domain": "initech.example.com"})
    contact = cw_pair.hubspot.create_record(
        "contacts", {"email": "p@initech.example.com", "firstname": "P"}, associations={"companies": [company]}
    )
    first = cw_pair.sync()
    event = RecordEvent.objects.get(run=first, source_side="hubspot", source_object="contacts", source_id=contact)
    retry = run_requests.retry_record(event, None)
    assert retry.trigger == "retry" and retry.state["records"] == [{"mapping": contacts.pk, "side": "hubspot", "id": contact}]
    run_slice(str(retry.pk), connectors=cw_pair.connectors())
    retry.refresh_from_db()
    assert retry.status == "succeeded"
    assert list(RecordEvent.objects.filter(run=retry).values_list("source_id", flat=True)) == [contact]


def test_cancelling_a_running_historical_sync_stops_it_after_the_page(cw_pair, monkeypatch):
    monkeypatch.setattr("syncsmart.engine.queue.enqueue_run", lambda run_id: None)
    companies = cw_pair.integration.object_mappings.get(hubspot_object="companies")
    companies.direction, companies.create_policy = "to_other", "match_only"
    companies.save()
    for i in range(450):
        cw_pair.hubspot.create_record("companies", {"name": f"Co {i}"}, notify=False)
    run = historical.start_historical_sync(cw_pair.integration, None)
    from syncsmart.engine.context import RunContext

    original = RunContext.heartbeat

    # The press lands while the first page is committed. (Not from inside read_changes: the next
    # page is read in a background thread, which must never touch the database.)
    def heartbeat_then_cancel(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if self.run.pages == 1:
            run_requests.cancel_run(run, None)  # a user presses "cancel" while the run works

    monkeypatch.setattr(RunContext, "heartbeat", heartbeat_then_cancel)
    run_slice(str(run.pk), connectors=cw_pair.connectors(), max_seconds=600)
    run.refresh_from_db()
    assert run.status == "cancelled"
    assert run.pages < 3
