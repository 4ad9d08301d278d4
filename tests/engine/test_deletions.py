"""Deletions, safety first: each policy in each direction on every pair, nothing removed on a read
that fails part-way, and the mass-deletion guard holding a run until a person confirms."""

from __future__ import annotations

import httpx
import pytest

from connectors.hubspot.emulator import DEFAULT_TOKEN
from mappings.models import ObjectMapping
from mappings.services.deletions import confirm_held_deletions, discard_held_deletions
from syncsmart.models import PendingDeletion, RecordEvent, RecordLink
from tests.engine.conftest import build_pair

pytestmark = pytest.mark.django_db
P = ObjectMapping.DeletePolicy


class Sides:
    """Create a linked contact on one side, delete it, and look at what the other side has."""

    def __init__(self, pair):
        self.pair = pair
        self.system = pair.integration.other_connection.system
        self.mapping = pair.integration.object_mappings.get(hubspot_object="contacts", other_object="contacts")
        self.label = {"connectwise": "ConnectWise", "dynamics": "Dynamics 365", "netsuite": "NetSuite"}[self.system]

    # --- HubSpot --------------------------------------------------------------------------------
    def hub_contact(self, n: int) -> str:
        company = self.pair.hubspot.create_record("companies", {"name": f"SyncSmart Co {n}", "domain": f"co{n}.example.com"})
        return self.pair.hubspot.create_record(
            "contacts",
            {"email": f"p{n}@co{n}.example.com", "firstname": f"P{n}", "lastname": "Lee"},
            associations={"companies": [company]},
        )

    def hub_delete(self, record_id: str) -> None:
        http = httpx.Client(transport=self.pair.hubspot.transport(), base_url="https://hubspot.test")
        assert (
            http.delete(f"/crm/v3/objects/contacts/{record_id}", headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"}).status_code
            == 204
        )

    def hub_state(self, record_id: str) -> str:
        with self.pair.hubspot.lock:
            record = self.pair.hubspot.records["contacts"].get(int(record_id))
        return "gone" if record is None else "archived" if record.archived else "live"

    # --- the other system ----------------------------------------------------------------------------
    def other_contact(self, n: int) -> str:
        other = self.pair.other
        if self.system == "netsuite":
            customer = other.add_customer(f"SyncSmart Co {n}", url=f"https://co{n}.example.com")
            return str(other.add_contact(f"P{n}", "Lee", f"p{n}@co{n}.example.com", customer["id"])["id"])
        if self.system == "connectwise":
            company = other.add_company(f"SyncSmart Co {n}", website=f"co{n}.example.com")
            return str(other.add_contact(f"P{n}", "Lee", company_id=company["id"], email=f"p{n}@co{n}.example.com")["id"])
        account = other.create_record("accounts", {"name": f"SyncSmart Co {n}", "websiteurl": f"co{n}.example.com"})
        return other.create_record(
            "contacts",
            {"firstname": f"P{n}", "lastname": "Lee", "emailaddress1": f"p{n}@co{n}.example.com", "parentcustomerid": account},
        )

    def other_delete(self, record_id: str) -> None:
        if self.system == "netsuite":
            self.pair.other.delete("contact", record_id)  # SuiteQL's DeletedRecord gets its row
        elif self.system == "connectwise":
            self.pair.other.delete("contacts", record_id)
        else:
            self.pair.other.delete_record("contacts", record_id)

    def other_state(self, record_id: str) -> str:
        if self.system == "netsuite":
            row = self.pair.other.get("contact", record_id)
            return "gone" if row is None else "archived" if row.get("isInactive") else "live"
        if self.system == "connectwise":
            row = self.pair.other.store["contacts"].get(int(record_id))
            return "gone" if row is None else "archived" if row.get("inactiveFlag") else "live"
        row = self.pair.other.record("contacts", record_id)
        return "gone" if row is None else "archived" if row.get("statecode") == 1 else "live"

    def link(self, **ids) -> RecordLink | None:
        return RecordLink.objects.filter(object_mapping=self.mapping, **ids).first()


@pytest.fixture(params=["connectwise", "dynamics", "netsuite"])
def sides(request, settings):
    settings.SYNC_RECONCILE_MINUTES = 0  # every run reconciles linked ids (HubSpot, ConnectWise, NetSuite)
    pair = build_pair(request.param)
    yield Sides(pair)
    pair.close()


def synced(sides: Sides, run_check: bool = True):
    run = sides.pair.sync()
    if run_check:
        assert run.status == "succeeded", (run.error, run.counts)
    return run


@pytest.mark.parametrize("policy", [P.IGNORE, P.ARCHIVE, P.DELETE])
def test_a_hubspot_deletion_follows_the_policy_on_the_other_side(sides, policy):
    sides.mapping.delete_to_other = policy
    sides.mapping.save()
    contact = sides.hub_contact(1)
    synced(sides)
    other_id = sides.link(hubspot_id=contact).other_id
    sides.hub_delete(contact)
    synced(sides)
    expected = {P.IGNORE: "live", P.ARCHIVE: "archived", P.DELETE: "gone"}[policy]
    assert sides.other_state(other_id) == expected
    if policy != P.IGNORE:  # (a kept record is not even looked for: no reconcile when deletions are not synced)
        noticed = RecordEvent.objects.get(source_side="hubspot", source_id=contact, outcome=RecordEvent.Outcome.DELETED)
        assert noticed.message == f"Deleted in HubSpot; to be {policy}d in {sides.label}."
        assert RecordEvent.objects.filter(source_id=contact, outcome=RecordEvent.Outcome.REMOVED).exists()
    assert (sides.link(hubspot_id=contact) is None) == (policy == P.DELETE)
    sides.pair.reset_counters()
    synced(sides)
    assert sides.pair.writes() == (0, 0)  # nothing removed twice


@pytest.mark.parametrize("policy", [P.IGNORE, P.ARCHIVE, P.DELETE])
def test_a_deletion_in_the_other_system_follows_the_policy_in_hubspot(sides, policy):
    sides.mapping.delete_to_hubspot = policy
    sides.mapping.save()
    contact = sides.other_contact(2)
    synced(sides)
    hub_id = sides.link(other_id=contact).hubspot_id
    sides.other_delete(contact)
    synced(sides)
    expected = {P.IGNORE: "live", P.ARCHIVE: "archived", P.DELETE: "archived"}[policy]  # HubSpot's delete is an archive
    assert sides.hub_state(hub_id) == expected
    if policy != P.IGNORE:
        noticed = RecordEvent.objects.get(source_side="other", source_id=contact, outcome=RecordEvent.Outcome.DELETED)
        assert noticed.message.startswith(f"Deleted in {sides.label}; ")


def test_a_confirmation_read_that_fails_deletes_nothing_and_the_next_run_finishes_the_job(sides):
    sides.mapping.delete_to_other = P.DELETE
    sides.mapping.save()
    contacts = [sides.hub_contact(10 + n) for n in range(3)]
    synced(sides)
    other_ids = [sides.link(hubspot_id=c).other_id for c in contacts]
    for contact in contacts:
        sides.hub_delete(contact)
    sides.pair.hubspot.set_knobs(faults={"500": 1.0})  # every HubSpot read fails, half-way or not
    synced(sides, run_check=False)
    assert [sides.other_state(i) for i in other_ids] == ["live"] * 3
    sides.pair.hubspot.set_knobs(faults={})
    synced(sides)
    assert [sides.other_state(i) for i in other_ids] == ["gone"] * 3


def test_the_guard_holds_a_mass_deletion_until_a_person_confirms_it(sides):
    sides.mapping.delete_to_other = P.ARCHIVE
    sides.mapping.save()
    contacts = [sides.hub_contact(20 + n) for n in range(8)]
    synced(sides)
    other_ids = [sides.link(hubspot_id=c).other_id for c in contacts]
    for contact in contacts[:7]:  # 7 of 8 linked: more than the 5 one run may remove alone
        sides.hub_delete(contact)
    run = synced(sides)
    assert run.counts.get("deletions_held") == 7
    assert [sides.other_state(i) for i in other_ids] == ["live"] * 8
    assert PendingDeletion.objects.filter(status=PendingDeletion.Status.HELD).count() == 7
    assert confirm_held_deletions(sides.pair.integration, None, sides.mapping) == 7
    synced(sides)
    assert [sides.other_state(i) for i in other_ids] == ["archived"] * 7 + ["live"]


def test_discarded_held_deletions_remove_nothing(sides):
    sides.mapping.delete_to_other = P.DELETE
    sides.mapping.save()
    contacts = [sides.hub_contact(40 + n) for n in range(7)]
    synced(sides)
    other_ids = [sides.link(hubspot_id=c).other_id for c in contacts]
    for contact in contacts:
        sides.hub_delete(contact)
    synced(sides)
    assert discard_held_deletions(sides.pair.integration, None, sides.mapping) == 7
    synced(sides)
    assert [sides.other_state(i) for i in other_ids] == ["live"] * 7
