"""HubSpot ↔ NetSuite deletions on the emulators: a customer deleted in NetSuite (found through
SuiteQL's DeletedRecord table) archives its HubSpot company under the archive policy and leaves
it under ignore; a DeletedRecord read that fails removes nothing until a complete one."""

import json
import time

import pytest

from connectors.netsuite import webhooks as script
from connectors.netsuite.emulator import NetSuiteError
from mappings.models import ObjectMapping
from syncsmart.models import RecordEvent, RecordLink
from tests.engine.conftest import build_pair
from tests.engine.netsuite_support import SCRIPT_SECRET

pytestmark = pytest.mark.django_db
P = ObjectMapping.DeletePolicy


@pytest.fixture
def pair(settings):
    settings.SYNC_RECONCILE_MINUTES = 0  # every run asks NetSuite about the linked ids
    pair = build_pair("netsuite")
    yield pair
    pair.close()


def companies_mapping(pair) -> ObjectMapping:
    return pair.integration.object_mappings.get(hubspot_object="companies", other_object="customers")


def hub_state(pair, company_id: str) -> str:
    with pair.hubspot.lock:
        record = pair.hubspot.records["companies"].get(int(company_id))
    return "gone" if record is None else "archived" if record.archived else "live"


def linked_company(pair, policy: str) -> tuple[dict, str]:
    mapping = companies_mapping(pair)
    mapping.delete_to_hubspot = policy
    mapping.save()
    customer = pair.other.add_customer("Doomed Corp", url="https://doomed.example.com")
    run = pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    return customer, RecordLink.objects.get(object_mapping=mapping, other_id=str(customer["id"])).hubspot_id


@pytest.mark.parametrize(("policy", "expected"), [(P.ARCHIVE, "archived"), (P.IGNORE, "live")])
def test_a_customer_deleted_in_netsuite_follows_the_policy_in_hubspot(pair, policy, expected):
    customer, company = linked_company(pair, policy)
    pair.other.delete("customer", customer["id"])
    run = pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    assert hub_state(pair, company) == expected
    noticed = RecordEvent.objects.filter(source_side="other", source_id=str(customer["id"]), outcome=RecordEvent.Outcome.DELETED)
    if policy == P.ARCHIVE:
        assert noticed.get().message == "Deleted in NetSuite; to be archived in HubSpot."
        assert RecordEvent.objects.filter(source_id=str(customer["id"]), outcome=RecordEvent.Outcome.REMOVED).exists()
    else:
        assert not noticed.exists()
    pair.reset_counters()
    pair.sync()
    assert pair.writes() == (0, 0)  # nothing removed twice, nothing re-created


def test_a_failed_deletedrecord_read_archives_nothing_and_the_next_run_does(pair, monkeypatch):
    customer, company = linked_company(pair, P.ARCHIVE)
    pair.other.delete("customer", customer["id"])
    table = pair.other._table

    def deletedrecord_fails(name):  # only the deletion feed fails; every other read answers
        if name == "deletedrecord":
            raise NetSuiteError(500, "An unexpected error occurred.", "UNEXPECTED_ERROR")
        return table(name)

    monkeypatch.setattr(pair.other, "_table", deletedrecord_fails)
    run = pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    assert hub_state(pair, company) == "live"
    assert not RecordEvent.objects.filter(source_id=str(customer["id"]), outcome=RecordEvent.Outcome.DELETED).exists()
    monkeypatch.setattr(pair.other, "_table", table)
    run = pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    assert hub_state(pair, company) == "archived"


def test_a_customer_that_still_exists_is_never_archived(pair):
    customer, company = linked_company(pair, P.ARCHIVE)
    pair.other.edit("customer", customer["id"], {"phone": "+1 555 0100"})
    for _ in range(2):
        assert pair.sync().status == "succeeded"
    assert hub_state(pair, company) == "live"


def test_the_scripts_delete_notification_archives_without_waiting_for_the_reconcile(pair, settings, client):
    customer, company = linked_company(pair, P.ARCHIVE)
    settings.SYNC_RECONCILE_MINUTES = 10_000  # the reconcile has just run: only the notification can tell
    pair.other.delete("customer", customer["id"])
    body = json.dumps(
        {"type": "customer", "id": str(customer["id"]), "event": "delete", "occurredAt": "2026-12-07T10:00:00.000Z"}
    ).encode()
    signed = script.sign(SCRIPT_SECRET, body, int(time.time()))
    url = f"/webhooks/{pair.integration.pk}/other"
    assert client.post(url, data=body, content_type="application/json", headers=signed).status_code < 300
    run = pair.sync()
    assert run.status == "succeeded", (run.error, run.counts)
    assert hub_state(pair, company) == "archived"
