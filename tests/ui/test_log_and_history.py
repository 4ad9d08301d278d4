"""Sync health, the record log (search, outcome filter, failure details, retry, deferred,
conflicts), the historical sync's progress, and the overview's state and chart."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from syncsmart.models import Preview, SyncRun
from tests.factories import ConnectionFactory
from tests.ui.factories import (
    DeferredRecordFactory,
    IntegrationFactory,
    ObjectMappingFactory,
    RecordEventFactory,
    RecordLinkFactory,
    SyncRunFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def log(contacts):
    integration = contacts.integration
    ann = RecordLinkFactory(
        integration=integration,
        object_mapping=contacts,
        hubspot_id="101",
        other_id="9",
        hubspot_values={"email": "ann@acme.example", "firstname": "Ann"},
    )
    run = SyncRunFactory(integration=integration)
    return {
        "ann": RecordEventFactory(
            integration=integration, run=run, object_mapping=contacts, source_id="101", target_id="9", outcome="updated"
        ),
        "failed": RecordEventFactory(
            integration=integration,
            run=run,
            object_mapping=contacts,
            source_id="202",
            outcome="failed",
            message="Property values were not valid: phone 'abc' is not a number",
            fields=["phone"],
            details={"label": "Bob Jones"},
        ),
        "deferred": RecordEventFactory(
            integration=integration,
            run=run,
            object_mapping=contacts,
            source_id="303",
            outcome="deferred",
            message="Waiting for its company",
        ),
        "conflict": RecordEventFactory(
            integration=integration,
            run=run,
            object_mapping=contacts,
            source_id="101",
            outcome="conflict",
            details={"conflicts": {"jobtitle": {"kept": "CTO", "lost": "CIO", "winner": "hubspot"}}},
        ),
        "waiting": DeferredRecordFactory(
            integration=integration,
            object_mapping=contacts,
            record_id="303",
            waiting_for=[{"object": "companies", "id": "77"}],
            attempts=2,
        ),
        "link": ann,
        "run": run,
    }


def anchor(event) -> str:
    """The id attribute the log gives an event's row."""
    return f'id="event-{event.pk}"'


def records(team, contacts, **query):
    return team.owner.get(reverse("record_log", args=[contacts.integration_id]), query).content.decode()


def test_the_rate_and_time_left_come_from_the_runs_own_clock():
    from mappings.services.queries import run_rate

    start = timezone.now()
    run = SyncRun(status="running", started_at=start, progress_done=40, progress_total=100)
    rate, left = run_rate(run, now=start + timedelta(seconds=10))
    assert rate == 4.0 and left == timedelta(seconds=15)


def test_the_log_finds_a_record_by_email_name_or_id(team, contacts, log):
    assert anchor(log["ann"]) in records(team, contacts, q="ann@acme")
    assert anchor(log["failed"]) not in records(team, contacts, q="ann@acme")
    assert anchor(log["failed"]) in records(team, contacts, q="Bob Jones")
    assert anchor(log["deferred"]) in records(team, contacts, q="303")


def test_the_log_filters_by_outcome(team, contacts, log):
    body = records(team, contacts, outcome="failed")
    assert anchor(log["failed"]) in body and anchor(log["ann"]) not in body


def test_a_failure_shows_the_vendors_message_the_fields_and_retry(team, contacts, log):
    body = records(team, contacts, outcome="failed")
    assert "phone &#x27;abc&#x27; is not a number" in body and "<code>phone</code>" in body
    assert reverse("retry_event", args=[contacts.integration_id, log["failed"].pk]) in body


def test_a_deferred_record_says_what_it_waits_for(team, contacts, log):
    body = records(team, contacts, outcome="deferred")
    assert "Waits for: companies <code>77</code>" in body and "tried 2×" in body


def test_a_conflict_shows_both_values_and_who_won(team, contacts, log):
    body = records(team, contacts, outcome="conflict")
    assert '<td data-label="Kept">CTO</td><td data-label="Lost"><s>CIO</s></td><td data-label="Winner">hubspot</td>' in body


def test_retry_queues_a_run_for_exactly_that_record(team, contacts, log):
    response = team.admin.post(reverse("retry_event", args=[contacts.integration_id, log["failed"].pk]))
    assert response.status_code == 302
    run = SyncRun.objects.filter(integration=contacts.integration, trigger="retry").get()
    assert run.state["records"] == [{"mapping": contacts.pk, "side": "hubspot", "id": "202"}]


def test_runs_show_their_counts(team, contacts, log):
    body = team.owner.get(reverse("runs", args=[contacts.integration_id])).content.decode()
    assert "2 created" in body and "1 failed" in body


def test_a_historical_sync_since_a_date_starts_and_its_progress_survives_a_reload(team, contacts):
    url = reverse("historical", args=[contacts.integration_id])
    assert "Start a historical sync?" in team.admin.post(url, {"scope": "since", "since": "2026-01-15"}).content.decode()
    preview = Preview.objects.get(integration=contacts.integration, purpose="resync")
    Preview.objects.filter(pk=preview.pk).update(status="done")  # seen: the customer confirms it
    response = team.admin.post(url, {"scope": "since", "since": "2026-01-15", "confirmed_preview": str(preview.pk)})
    assert response.status_code == 302
    run = SyncRun.objects.get(integration=contacts.integration, trigger="historical")
    assert run.state["since"].startswith("2026-01-15T00:00:00")
    SyncRun.objects.filter(pk=run.pk).update(
        status="running", started_at=timezone.now() - timedelta(seconds=10), progress_done=40, progress_total=100
    )
    body = team.owner.get(url).content.decode()  # a reload: the page finds the run in the database
    assert 'value="40"' in body and "40%" in body and "records/s" in body and "left" in body
    assert 'hx-trigger="every 1s"' in body
    partial = team.owner.get(reverse("historical_progress", args=[contacts.integration_id, run.pk])).content.decode()
    assert "40 / 100 records" in partial


def test_a_since_scope_needs_a_date(team, contacts):
    response = team.admin.post(reverse("historical", args=[contacts.integration_id]), {"scope": "since"})
    assert "Pick the date to start from." in response.content.decode()
    assert not SyncRun.objects.filter(trigger="historical").exists()


def test_cancel_stops_a_historical_sync(team, contacts):
    run = SyncRunFactory(integration=contacts.integration, trigger="historical", status="running", progress_total=10)
    response = team.admin.post(reverse("historical_cancel", args=[contacts.integration_id, run.pk]))
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.cancel_requested


def test_the_overview_shows_state_counts_today_and_the_hourly_chart(team, contacts, log):
    body = team.owner.get(reverse("home")).content.decode()
    assert "Sync on" in body or ">On<" in body
    assert 'data-testid="synced-today">2<' in body  # updated + conflict resolved today
    assert '<svg class="chart"' in body and "synced and 1 failed in the last 72 hours" in body


def test_the_main_switch_turns_the_integration_off_and_on(team, contacts):
    url = reverse("main_switch", args=[contacts.integration_id])
    team.admin.post(url, {"on": "0"})
    contacts.integration.refresh_from_db()
    assert not contacts.integration.enabled
    team.admin.post(url, {"on": "1"})
    contacts.integration.refresh_from_db()
    assert contacts.integration.enabled


def test_sync_now_queues_a_manual_run(team, contacts):
    assert team.admin.post(reverse("sync_now", args=[contacts.integration_id])).status_code == 302
    assert SyncRun.objects.filter(integration=contacts.integration, trigger="manual").count() == 1


def test_the_log_filters_by_object(team, contacts, log):
    from tests.ui.factories import ObjectMappingFactory

    companies = ObjectMappingFactory(
        integration=contacts.integration, name="Companies", hubspot_object="companies", other_object="companies"
    )
    company_event = RecordEventFactory(integration=contacts.integration, object_mapping=companies, source_object="companies")
    body = records(team, contacts, mapping=str(companies.pk))
    assert f'id="event-{company_event.pk}"' in body and f'id="event-{log["ann"].pk}"' not in body


def test_record_log_labels_a_company_and_a_contact_with_the_same_vendor_id_apart(team, contacts):
    """ConnectWise numbers contacts and companies separately: id 2 of each keeps its own name."""
    integration = contacts.integration
    companies = ObjectMappingFactory(
        integration=integration,
        name="Companies",
        hubspot_object="companies",
        other_object="companies",
        hubspot_match_field="domain",
        other_match_field="website",
        order=10,
    )
    RecordLinkFactory(
        integration=integration,
        object_mapping=companies,
        hubspot_object="companies",
        other_object="companies",
        hubspot_id="1001",
        other_id="2",
        hubspot_values={"name": "Initech"},
    )
    RecordLinkFactory(
        integration=integration,
        object_mapping=contacts,
        hubspot_id="1004",
        other_id="2",
        hubspot_values={"email": "peter@initech.example.com"},
    )
    for mapping in (companies, contacts):
        RecordEventFactory(integration=integration, object_mapping=mapping, source_side="other", source_id="2", outcome="echo")
    body = records(team, contacts)
    assert body.count("Initech</") == 1 and body.count("peter@initech.example.com</") == 1


def test_the_since_date_says_which_side_reads_every_record(team):
    connectwise = IntegrationFactory(tenant=team.tenant)
    salesforce = IntegrationFactory(
        tenant=team.tenant, other_connection=ConnectionFactory(tenant=team.tenant, system="salesforce")
    )
    page = team.admin.get(reverse("historical", args=[connectwise.pk])).content.decode()
    assert "HubSpot and ConnectWise Manage read only records changed since this date." in page
    page = team.admin.get(reverse("historical", args=[salesforce.pk])).content.decode()
    assert "Salesforce cannot start at a date and reads every record." in page
