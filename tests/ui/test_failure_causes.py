"""Sync health: records that still fail, grouped by cause with the explanation and the fix;
a later success clears a failure (and its Retry button); retry per cause; attempts are not records."""

import pytest

from mappings.services import health
from syncsmart.models import RecordEvent, SyncRun
from tests.ui.factories import RecordEventFactory

pytestmark = pytest.mark.django_db


# --- records that fail, grouped by cause -----------------------------------------------------


def failed(integration, mapping, record_id: str, message: str, **error) -> RecordEvent:
    details = {"error": {"message": message, **error}} if error else {}
    return RecordEventFactory(
        integration=integration,
        object_mapping=mapping,
        source_id=record_id,
        outcome=RecordEvent.Outcome.FAILED,
        message=message,
        details=details,
    )


CAUSE_EXAMPLES = [
    ("duplicate", "Contact already exists. Existing ID: 2553", {"kind": "conflict", "status": 409, "existing_id": "2553"}),
    ("invalid_value", "firstName: is required", {"kind": "validation", "status": 400, "fields": ["firstName"]}),
    ("permission", "You do not have permission to update this record", {"kind": "auth", "status": 403}),
    ("rate_limit", "Too many requests", {"kind": "rate_limited", "status": 429}),
    ("connection", "The server did not answer in 30 s", {"kind": "timeout"}),
    ("missing_parent", "Gave up after 10 tries: Waiting for a parent: company is not synced yet", {}),
]


@pytest.mark.parametrize(("cause", "message", "error"), CAUSE_EXAMPLES, ids=[c[0] for c in CAUSE_EXAMPLES])
def test_each_vendor_error_is_told_by_its_cause(integration, contacts, cause, message, error):
    event = failed(integration, contacts, "1", message, **error)
    assert health.cause_of(event) == cause


def test_the_sync_health_page_groups_failing_records_by_cause_with_the_fix(team, integration, contacts):
    for n, (_cause, message, error) in enumerate(CAUSE_EXAMPLES):
        failed(integration, contacts, str(100 + n), message, **error)
    failed(integration, contacts, "200", "Contact already exists. Existing ID: 9", kind="conflict", status=409)
    body = team.owner.get(f"/integrations/{integration.pk}/runs/").content.decode()
    duplicate = body.split('id="cause-duplicate"', 1)[1].split("</article>", 1)[0]
    assert "Already exists in the other system" in duplicate and "2 records" in duplicate
    assert "How to fix:" in duplicate and "link or merge it" in duplicate
    for cause in ("invalid_value", "permission", "rate_limit", "connection", "missing_parent"):
        assert f'id="cause-{cause}"' in body, cause
    assert body.index('id="cause-duplicate"') < body.index('id="cause-permission"')  # the biggest group first


def test_a_record_that_syncs_later_leaves_the_groups_and_loses_its_retry_button(team, integration, contacts):
    old = failed(integration, contacts, "301", "firstName: is required", kind="validation", status=400)
    failed(integration, contacts, "301", "firstName: is required", kind="validation", status=400)  # a second try
    assert [g.count for g in health.failure_groups(integration)] == [1]  # attempts are not records
    RecordEventFactory(integration=integration, object_mapping=contacts, source_id="301", outcome=RecordEvent.Outcome.UPDATED)
    assert health.failure_groups(integration) == []
    body = team.owner.get(f"/integrations/{integration.pk}/runs/").content.decode()
    assert "No record is failing now." in body
    log = team.owner.get(f"/integrations/{integration.pk}/records/?outcome=failed").content.decode()
    assert f'id="event-{old.pk}"' in log
    assert f"/records/{old.pk}/retry/" not in log  # fixed since: nothing to retry


def test_retrying_one_cause_queues_one_run_with_exactly_its_records(team, integration, contacts):
    failed(integration, contacts, "401", "Contact already exists.", kind="conflict", status=409)
    failed(integration, contacts, "402", "Contact already exists.", kind="conflict", status=409)
    failed(integration, contacts, "403", "firstName: is required", kind="validation", status=400)
    response = team.owner.post(f"/integrations/{integration.pk}/health/retry/duplicate/")
    assert response.status_code == 302
    run = SyncRun.objects.get(integration=integration, trigger=SyncRun.Trigger.RETRY)
    assert sorted(r["id"] for r in run.state["records"]) == ["401", "402"]
    assert team.viewer.post(f"/integrations/{integration.pk}/health/retry/duplicate/").status_code == 403
    assert team.owner.post(f"/integrations/{integration.pk}/health/retry/no-such-cause/").status_code == 404


def test_the_overview_counts_failing_records_not_attempts(team, integration, contacts):
    failed(integration, contacts, "501", "firstName: is required", kind="validation", status=400)
    failed(integration, contacts, "501", "firstName: is required", kind="validation", status=400)
    failed(integration, contacts, "502", "Contact already exists.", kind="conflict", status=409)
    RecordEventFactory(integration=integration, object_mapping=contacts, source_id="502", outcome=RecordEvent.Outcome.LINKED)
    body = team.owner.get("/").content.decode()
    tile = body.split('data-testid="failing-now">', 1)[1].split("</dd>", 1)[0]
    assert ">1</a>" in tile  # 501 twice is one record; 502 synced since


# --- a required field left empty, in plain words -----------------------------------------------


def test_a_salesforce_required_field_failure_reads_in_plain_words_naming_the_field(team, integration, contacts):
    other = integration.other_connection
    other.system = "salesforce"
    other.schema_cache = {contacts.other_object: [{"name": "StageName", "label": "Stage", "type": "enum"}]}
    other.save()
    raw = "REQUIRED_FIELD_MISSING: Required fields are missing: [StageName]"
    event = failed(
        integration,
        contacts,
        "401",
        raw,
        kind="validation",
        status=None,
        fields=["StageName"],
        vendor_code="REQUIRED_FIELD_MISSING",
    )
    assert health.cause_of(event) == "required_field"
    [group] = health.failure_groups(integration)
    assert group.sample[0].plain == (
        "Salesforce needs a value in Stage (StageName), and this record leaves it empty, so Salesforce did not save it."
    )
    body = team.owner.get(f"/integrations/{integration.pk}/runs/").content.decode()
    section = body.split('id="cause-required_field"', 1)[1].split("</article>", 1)[0]
    assert "A required field is empty" in section and "Stage (StageName)" in section
    assert "REQUIRED_FIELD_MISSING" not in section  # the vendor's code stays on the record page


def test_a_required_field_named_only_in_the_vendor_message_is_still_named():
    event = RecordEvent(source_side="hubspot", message="Required fields are missing: [StageName, CloseDate]", details={})
    assert health.cause_of(event) == "required_field"
    assert "StageName, CloseDate" in health.plain_message(IntegrationStub(), event, "required_field")


class IntegrationStub:
    other_system_label = "Salesforce"
