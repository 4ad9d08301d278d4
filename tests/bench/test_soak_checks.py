"""The soak's record-by-record check can fail: a duplicate, a one-sided record, a lost edit and a
mismatched value are each counted (so a clean soak result means something)."""

import pytest

from bench import lab as labs
from bench.runs import sync_here
from bench.soak import EditLog, SoakOptions, _verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def synced_lab():
    lab = labs.build_lab("connectwise", latency_ms=(0, 0), limits=False, objects=("companies", "contacts"))
    lab.cw_ids = labs.seed_other(lab, 5, prefix="cw")
    lab.hub_ids = labs.seed_hubspot(lab, 5, prefix="hub")
    sync_here(lab.integration)
    yield lab
    lab.stop()


def verify(lab, log=None):
    return _verify(lab, log or EditLog(), SoakOptions(records=10, kills=0), 0, 0.0, say=lambda line: None)


def test_a_converged_pair_is_clean(synced_lab):
    result = verify(synced_lab)
    assert (result["lost"], result["duplicates"], result["mismatched"], result["rerun_writes"]) == (0, 0, 0, 0)
    assert result["contacts"] == 10 and result["companies"] == 2


def test_a_second_copy_of_a_contact_is_a_duplicate(synced_lab):
    from bench.soak import _hub_contacts

    email = _hub_contacts(synced_lab)[0]["email"]
    synced_lab.hubspot.emulator.create_record("contacts", {"email": email, "firstname": "Twin"}, validate=False)
    assert verify(synced_lab)["duplicates"] >= 1


def test_an_edit_that_never_reached_the_other_side_is_lost(synced_lab):
    log = EditLog()
    record_id = synced_lab.cw_ids[0]
    synced_lab.other.emulator.edit("contacts", int(record_id), {"firstName": "Changed"})
    log.accept("connectwise", record_id, {"firstname": "Changed"})
    assert _lost_only(synced_lab, log) == 1


def test_an_edit_the_log_accepted_but_no_side_holds_is_lost(synced_lab):
    log = EditLog()
    log.accept("hubspot", synced_lab.hub_ids[1], {"firstname": "Never applied"})
    assert _lost_only(synced_lab, log) == 1


def test_a_contact_on_one_side_only_is_counted_missing(synced_lab):
    company = next(iter(synced_lab.other.emulator.store["companies"]))
    synced_lab.other.emulator.add_contact("Late", "Comer", company_id=company, email="late@cw-late.example.com")
    result = verify(synced_lab)
    assert result["missing_on_one_side"] == 1 and result["lost"] >= 1


def test_different_values_on_the_two_sides_are_mismatched(synced_lab):
    synced_lab.hubspot.emulator.edit_record("contacts", synced_lab.hub_ids[2], {"lastname": "Different"})
    assert verify(synced_lab)["mismatched"] == 1


def _lost_only(lab, log):
    """Count lost edits before the check's own re-run repairs them."""
    from bench.soak import _cw_contacts, _hub_contacts, _lost_edits

    hub_by_email, cw_by_email = {}, {}
    for row in _hub_contacts(lab):
        hub_by_email.setdefault(str(row.get("email") or "").lower(), []).append(row)
    for row in _cw_contacts(lab):
        cw_by_email.setdefault(row["email"], []).append(row)
    return _lost_edits(lab, log, hub_by_email, cw_by_email)[0]


@pytest.fixture
def calls_lab():
    lab = labs.build_lab("connectwise", latency_ms=(0, 0), limits=False, objects=("companies", "contacts", "call_activities"))
    lab.cw_ids = labs.seed_other(lab, 5, prefix="cw")
    lab.hub_ids = labs.seed_hubspot(lab, 5, prefix="hub")
    sync_here(lab.integration)
    yield lab
    lab.stop()


def log_call(lab, log, side, subject, contact):
    if side == "hubspot":
        lab.hubspot.emulator.create_record(
            "calls", {"hs_call_title": subject, "hs_timestamp": "2026-03-02T10:00:00Z"}, associations={"contacts": [contact]}
        )
    else:
        lab.other.emulator.add_activity(subject, type="Call", contact_id=int(contact), dateStart="2026-03-02T10:00:00Z")
    log.calls[subject] = (side, contact)


def test_calls_synced_both_ways_are_clean_and_counted(calls_lab):
    log = EditLog()
    log_call(calls_lab, log, "hubspot", "Soak call 1", calls_lab.hub_ids[0])
    log_call(calls_lab, log, "other", "Soak call 2", calls_lab.cw_ids[0])
    sync_here(calls_lab.integration)
    result = verify(calls_lab, log)
    assert result["activities"] == {"logged": 2, "lost": 0, "duplicates": 0, "misplaced": 0, "orphans": 0}
    assert (result["lost"], result["duplicates"], result["mismatched"], result["orphans"]) == (0, 0, 0, 0)


def test_a_call_on_one_side_only_is_lost_and_one_without_a_record_is_an_orphan(calls_lab):
    log = EditLog()
    log_call(calls_lab, log, "other", "Never synced", calls_lab.cw_ids[1])
    calls_lab.hubspot.emulator.create_record("calls", {"hs_call_title": "Loose", "hs_timestamp": "2026-03-02T10:00:00Z"})
    from bench.soak import _check_calls, _cw_contacts

    cw_by_email = {}
    for row in _cw_contacts(calls_lab):
        cw_by_email.setdefault(row["email"], []).append(row)
    checked = _check_calls(calls_lab, log, {}, cw_by_email)  # before the check's own re-run syncs it
    assert checked["lost"] == 1 and checked["orphans"] == 1


def test_a_call_on_another_person_than_its_twin_is_misplaced(calls_lab):
    log = EditLog()
    log_call(calls_lab, log, "hubspot", "Soak call 3", calls_lab.hub_ids[0])
    sync_here(calls_lab.integration)
    [activity] = [a for a in calls_lab.other.emulator.records("activities") if a["name"] == "Soak call 3"]
    calls_lab.other.emulator.store["activities"][activity["id"]]["contact"] = {"id": int(calls_lab.cw_ids[3])}
    assert verify(calls_lab, log)["activities"]["misplaced"] == 1
