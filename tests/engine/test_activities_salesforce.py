"""Activity sync HubSpot <-> Salesforce (issue 23): calls, e-mails and tasks <-> Task by
TaskSubtype, meetings <-> Event, on the right Contact or Lead (WhoId) and Account (WhatId), parents
first, never orphaned, and a re-run writes nothing."""

import pytest

from connectors.hubspot.emulator_engagements import orphans
from mappings.models import ObjectMapping
from syncsmart.models import DeferredRecord, RecordEvent, RecordLink

pytestmark = pytest.mark.django_db
WHEN = "2026-03-02T10:00:00Z"


def other_id(hubspot_object, hubspot_id):
    return RecordLink.objects.get(hubspot_object=hubspot_object, hubspot_id=str(hubspot_id)).other_id


def hubspot_id(other_object, other_id):
    return RecordLink.objects.get(other_object=other_object, other_id=str(other_id)).hubspot_id


def assert_rerun_writes_nothing(pair):
    pair.hubspot.advance_clock(5000)
    pair.reset_counters()
    run = pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    # Salesforce's own count of writes: a retrieve by ids is a POST to /composite/sobjects/{sObject} that reads
    assert (pair.writes()[0], pair.other.counters()["writes"]) == (0, 0), (
        pair.hubspot.counters()["calls"],
        pair.other.counters()["calls"],
    )


def salesforce_orphans(pair):
    return [r for sobject in ("Task", "Event") for r in pair.other.rows[sobject].values() if not r.get("WhoId")]


def test_a_hubspot_call_on_a_contact_that_is_a_lead_becomes_a_completed_call_task_on_the_lead(sf_pair):
    contact = sf_pair.hubspot.create_record("contacts", {"email": "kim@contoso.example.com", "lastname": "Lee"})
    call = sf_pair.hubspot.create_record(
        "calls",
        {"hs_call_title": "Intro call", "hs_call_body": "<p>Wants <b>pricing</b></p>", "hs_call_status": "COMPLETED"}
        | {"hs_call_direction": "OUTBOUND", "hs_timestamp": WHEN},
        associations={"contacts": [contact]},
    )
    run = sf_pair.sync()  # the contact (a Lead) first, then its call, in one run
    assert run.status == "succeeded", (run.error, run.counts)
    task = sf_pair.other.record("Task", other_id("calls", call))
    assert task["WhoId"] == other_id("contacts", contact) and task["WhoId"].startswith("00Q")
    assert (task["TaskSubtype"], task["Status"], task["CallType"], task["Subject"]) == (
        "Call",
        "Completed",
        "Outbound",
        "Intro call",
    )
    assert task["Description"] == "Wants pricing" and str(task["ActivityDate"]) == "2026-03-02"
    assert not RecordEvent.objects.filter(run=run, outcome__in=("failed", "deferred")).exists()
    assert_rerun_writes_nothing(sf_pair)
    assert salesforce_orphans(sf_pair) == []


def test_a_hubspot_task_on_a_contact_and_company_lands_on_the_contact_and_its_account(sf_pair):
    person = sf_pair.other.create_record("Contact", {"LastName": "Ray", "Email": "dana@fabrikam.example.com"})
    company = sf_pair.hubspot.create_record("companies", {"name": "Fabrikam", "domain": "fabrikam.example.com"})
    contact = sf_pair.hubspot.create_record("contacts", {"email": "dana@fabrikam.example.com", "lastname": "Ray"})
    task = sf_pair.hubspot.create_record(
        "tasks",
        {"hs_task_subject": "Send quote", "hs_task_status": "NOT_STARTED", "hs_task_priority": "HIGH", "hs_timestamp": WHEN},
        associations={"contacts": [contact], "companies": [company]},
    )
    assert sf_pair.sync().status == "succeeded"
    row = sf_pair.other.record("Task", other_id("tasks", task))
    assert (row["WhoId"], row["WhatId"]) == (person, other_id("companies", company))
    assert (row["TaskSubtype"], row["Status"], row["Priority"], row["Subject"]) == ("Task", "Not Started", "High", "Send quote")
    sf_pair.other.edit_record("Task", row["Id"], {"Status": "Completed"})
    assert sf_pair.sync().status == "succeeded"
    assert sf_pair.hubspot.get_record("tasks", task)["hs_task_status"] == "COMPLETED"
    assert sf_pair.other.count("Task") == 1 and sf_pair.hubspot.count("tasks") == 1
    assert_rerun_writes_nothing(sf_pair)


def test_a_salesforce_event_becomes_a_hubspot_meeting_on_the_contact_and_edits_go_both_ways(sf_pair):
    person = sf_pair.other.create_record("Contact", {"LastName": "Ray", "Email": "dana@fabrikam.example.com"})
    event = sf_pair.other.create_record(
        "Event",
        {"Subject": "Demo", "StartDateTime": "2026-03-02T10:00:00Z", "DurationInMinutes": 45, "WhoId": person}
        | {"Location": "Zoom"},
    )
    assert sf_pair.sync().status == "succeeded"
    meeting_id = hubspot_id("Event", event)
    meeting = sf_pair.hubspot.get_record("meetings", meeting_id)
    assert (meeting["hs_meeting_title"], meeting["hs_meeting_location"]) == ("Demo", "Zoom")
    assert meeting["hs_meeting_end_time"].startswith("2026-03-02T10:45")  # derived from the duration
    assert sf_pair.hubspot.associated_ids("meetings", meeting_id, "contacts") == [hubspot_id("Contact", person)]
    sf_pair.hubspot.advance_clock(5000)
    sf_pair.hubspot.edit_record("meetings", meeting_id, {"hs_meeting_end_time": "2026-03-02T11:30:00Z"})
    assert sf_pair.sync().status == "succeeded"
    assert sf_pair.other.record("Event", event)["DurationInMinutes"] == 90
    assert_rerun_writes_nothing(sf_pair)


def test_salesforce_call_and_email_tasks_become_hubspot_calls_and_emails_by_their_subtype(sf_pair):
    person = sf_pair.other.create_record("Contact", {"LastName": "Ray", "Email": "dana@fabrikam.example.com"})
    call = sf_pair.other.create_record("Task", {"Subject": "Rang", "TaskSubtype": "Call", "Status": "Completed", "WhoId": person})
    mail = sf_pair.other.create_record("Task", {"Subject": "Sent terms", "TaskSubtype": "Email", "WhoId": person})
    todo = sf_pair.other.create_record("Task", {"Subject": "Follow up", "WhoId": person, "ActivityDate": "2026-04-01"})
    run = sf_pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    assert sf_pair.hubspot.get_record("calls", hubspot_id("Task.Call", call))["hs_call_title"] == "Rang"
    assert sf_pair.hubspot.get_record("emails", hubspot_id("Task.Email", mail))["hs_email_subject"] == "Sent terms"
    assert sf_pair.hubspot.get_record("tasks", hubspot_id("Task", todo))["hs_task_subject"] == "Follow up"
    assert (sf_pair.hubspot.count("calls"), sf_pair.hubspot.count("emails"), sf_pair.hubspot.count("tasks")) == (1, 1, 1)
    assert RecordLink.objects.filter(other_object__startswith="Task").count() == 3  # each task once
    assert sf_pair.sync().status == "succeeded"  # a task without a due date gets the activity date HubSpot gave it
    assert str(sf_pair.other.record("Task", call)["ActivityDate"]) == str(sf_pair.other.record("Task", call)["CreatedDate"])[:10]
    assert_rerun_writes_nothing(sf_pair)


def test_an_activity_without_a_parent_is_never_created_as_an_orphan(sf_pair):
    loose = sf_pair.hubspot.create_record("calls", {"hs_call_title": "Nobody", "hs_timestamp": WHEN})
    task = sf_pair.other.create_record("Task", {"Subject": "Loose", "TaskSubtype": "Call"})
    run = sf_pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    assert sf_pair.other.count("Task") == 1 and sf_pair.hubspot.count("calls") == 1  # nothing created either way
    messages = {e.source_id: e.message for e in RecordEvent.objects.filter(run=run, outcome="filtered")}
    assert "orphan" in messages[str(loose)] and "orphan" in messages[task]
    assert orphans(sf_pair.hubspot, "calls") == [str(loose)]  # only the one HubSpot had already


def test_a_call_on_a_contact_not_yet_synced_waits_then_lands_on_its_lead(sf_pair):
    people = ObjectMapping.objects.filter(integration=sf_pair.integration, hubspot_object="contacts")
    people.update(enabled=False)  # contacts are switched on later
    contact = sf_pair.hubspot.create_record("contacts", {"email": "late@late.example.com", "lastname": "Late"})
    call = sf_pair.hubspot.create_record(
        "calls", {"hs_call_title": "Early call", "hs_timestamp": WHEN}, associations={"contacts": [contact]}
    )
    assert sf_pair.sync().status == "succeeded"
    assert sf_pair.other.count("Task") == 0
    waiting = RecordEvent.objects.filter(source_id=call, outcome=RecordEvent.Outcome.DEFERRED).latest("pk")
    assert waiting.message == f"Waiting for its contact {contact} to be synced first."
    assert DeferredRecord.objects.filter(record_id=call).exists()
    people.update(enabled=True)
    run = sf_pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    assert sf_pair.other.record("Task", other_id("calls", call))["WhoId"] == other_id("contacts", contact)
    assert_rerun_writes_nothing(sf_pair)
    assert salesforce_orphans(sf_pair) == []


def test_a_hubspot_call_on_a_deal_lands_on_the_linked_opportunity_and_its_account(sf_pair):
    person = sf_pair.other.create_record("Contact", {"LastName": "Ray", "Email": "dana@fabrikam.example.com"})
    company = sf_pair.hubspot.create_record("companies", {"name": "Fabrikam", "domain": "fabrikam.example.com"})
    contact = sf_pair.hubspot.create_record("contacts", {"email": "dana@fabrikam.example.com", "lastname": "Ray"})
    deal = sf_pair.hubspot.create_record(
        "deals",
        {"dealname": "Fabrikam renewal", "dealstage": "appointmentscheduled", "closedate": "2026-06-30T00:00:00Z"},
        associations={"companies": [company]},
    )
    call = sf_pair.hubspot.create_record(
        "calls",
        {"hs_call_title": "Pricing", "hs_call_status": "COMPLETED", "hs_timestamp": WHEN},
        associations={"contacts": [contact], "companies": [company], "deals": [deal]},
    )
    run = sf_pair.sync()
    assert run.status == "succeeded", (run.error, list(RecordEvent.objects.filter(run=run).values_list("outcome", "message")))
    opportunity, account = other_id("deals", deal), other_id("companies", company)
    task = sf_pair.other.record("Task", other_id("calls", call))
    assert opportunity.startswith("006") and task["WhatId"] == opportunity  # the deal wins over the company
    assert (task["WhoId"], task["AccountId"]) == (person, account)  # Salesforce derives the account from it
    assert_rerun_writes_nothing(sf_pair)


def test_a_salesforce_task_on_an_opportunity_becomes_a_hubspot_task_on_the_deal_and_a_new_opportunity_follows(sf_pair):
    account = sf_pair.other.create_record("Account", {"Name": "Fabrikam"})
    person = sf_pair.other.create_record(
        "Contact", {"LastName": "Ray", "Email": "dana@fabrikam.example.com", "AccountId": account}
    )
    first = sf_pair.other.create_record(
        "Opportunity", {"Name": "First", "StageName": "Prospecting", "CloseDate": "2026-06-30", "AccountId": account}
    )
    second = sf_pair.other.create_record(
        "Opportunity", {"Name": "Second", "StageName": "Prospecting", "CloseDate": "2026-07-31", "AccountId": account}
    )
    todo = sf_pair.other.create_record("Task", {"Subject": "Send terms", "WhoId": person, "WhatId": first})
    run = sf_pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    task_id = hubspot_id("Task", todo)
    assert sf_pair.hubspot.associated_ids("tasks", task_id, "deals") == [hubspot_id("Opportunity", first)]
    sf_pair.hubspot.advance_clock(5000)
    sf_pair.other.edit_record("Task", todo, {"WhatId": second})  # moved to the other opportunity in Salesforce
    assert sf_pair.sync().status == "succeeded"
    assert sf_pair.hubspot.associated_ids("tasks", task_id, "deals") == [hubspot_id("Opportunity", second)]
    assert sf_pair.other.record("Task", todo)["AccountId"] == account
    assert_rerun_writes_nothing(sf_pair)


def test_a_salesforce_task_related_to_an_account_only_gives_hubspot_no_deal_and_never_waits(sf_pair):
    account = sf_pair.other.create_record("Account", {"Name": "Fabrikam"})
    person = sf_pair.other.create_record(
        "Contact", {"LastName": "Ray", "Email": "dana@fabrikam.example.com", "AccountId": account}
    )
    todo = sf_pair.other.create_record(
        "Task", {"Subject": "Check in", "WhoId": person, "WhatId": account, "ActivityDate": "2026-04-01"}
    )
    run = sf_pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    assert sf_pair.hubspot.associated_ids("tasks", hubspot_id("Task", todo), "deals") == []
    assert not DeferredRecord.objects.exists()
    assert_rerun_writes_nothing(sf_pair)


def test_a_company_change_in_hubspot_keeps_the_task_on_its_opportunity_and_a_removed_deal_falls_back_to_the_account(sf_pair):
    account = sf_pair.other.create_record("Account", {"Name": "Fabrikam", "Website": "https://fabrikam.example.com"})
    other_account = sf_pair.other.create_record("Account", {"Name": "Tailspin", "Website": "https://tailspin.example.com"})
    person = sf_pair.other.create_record(
        "Contact", {"LastName": "Ray", "Email": "dana@fabrikam.example.com", "AccountId": account}
    )
    opportunity = sf_pair.other.create_record(
        "Opportunity", {"Name": "Renewal", "StageName": "Prospecting", "CloseDate": "2026-06-30", "AccountId": account}
    )
    todo = sf_pair.other.create_record("Task", {"Subject": "Send terms", "WhoId": person, "WhatId": opportunity})
    assert sf_pair.sync().status == "succeeded"
    task_id, deal = hubspot_id("Task", todo), hubspot_id("Opportunity", opportunity)
    sf_pair.hubspot.advance_clock(5000)
    sf_pair.hubspot.lifecycle.reassociate("tasks", task_id, "companies", hubspot_id("Account", other_account))
    sf_pair.hubspot.edit_record("tasks", task_id, {"hs_task_subject": "Send new terms"})
    sf_pair.reset_counters()
    assert sf_pair.sync().status == "succeeded"
    assert sf_pair.other.record("Task", todo)["WhatId"] == opportunity  # the company alone never unlinks the opportunity
    sf_pair.hubspot.advance_clock(5000)
    sf_pair.hubspot.lifecycle.reassociate("tasks", task_id, "deals", None)
    sf_pair.hubspot.edit_record("tasks", task_id, {"hs_task_subject": "Send final terms"})
    assert sf_pair.hubspot.associated_ids("tasks", task_id, "deals") == [], "the emulator did not drop the deal"
    assert sf_pair.sync().status == "succeeded"
    assert sf_pair.other.record("Task", todo)["WhatId"] == account  # back to the account it had through the deal
    assert sf_pair.hubspot.associated_ids("tasks", task_id, "deals") == []  # and HubSpot is not given the deal again
    assert sf_pair.other.record("Opportunity", opportunity)["AccountId"] == account and deal
