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
