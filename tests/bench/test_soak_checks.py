"""The soak's record-by-record check can fail: a duplicate, a one-sided record, a lost edit, a
mismatched value, a deletion that did not travel and a merge that left two links are each counted
(so a clean soak result means something)."""

import pytest

from bench import lab as labs
from bench import soak_checks as checks
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
    email = checks.snapshot(synced_lab).hub.live[0]["email"]
    synced_lab.hubspot.emulator.create_record("contacts", {"email": email, "firstname": "Twin"}, validate=False)
    result = verify(synced_lab)
    assert result["duplicates"] >= 1
    assert f"hubspot contact {email}: 2" in result["examples"]["duplicates"]


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
    return sum(checks.lost_edits(checks.snapshot(lab), log)[0].values())


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
    checked = checks.check_calls(calls_lab, log, checks.snapshot(calls_lab))  # before the check's own re-run syncs it
    assert checked["lost"] == 1 and checked["orphans"] == 1


def test_a_call_on_another_person_than_its_twin_is_misplaced(calls_lab):
    log = EditLog()
    log_call(calls_lab, log, "hubspot", "Soak call 3", calls_lab.hub_ids[0])
    sync_here(calls_lab.integration)
    [activity] = [a for a in calls_lab.other.emulator.records("activities") if a["name"] == "Soak call 3"]
    calls_lab.other.emulator.store["activities"][activity["id"]]["contact"] = {"id": int(calls_lab.cw_ids[3])}
    assert verify(calls_lab, log)["activities"]["misplaced"] == 1


# --- the record lifecycle (issue 18): deletions, merges and re-associations ----------------------------
@pytest.fixture
def lifecycle_lab(settings):
    settings.SYNC_RECONCILE_MINUTES = 0  # every run reconciles linked ids, as the soak's runs do within a minute
    lab = labs.build_lab("connectwise", latency_ms=(0, 0), limits=False, objects=("companies", "contacts"))
    mapping = lab.integration.object_mappings.get(hubspot_object="contacts")
    mapping.delete_to_other, mapping.delete_to_hubspot = checks.DELETE_TO_OTHER, checks.DELETE_TO_HUBSPOT
    mapping.save()
    lab.cw_ids = labs.seed_other(lab, 5, prefix="cw")
    lab.hub_ids = labs.seed_hubspot(lab, 5, prefix="hub")
    sync_here(lab.integration)
    yield lab
    lab.stop()


def hub_email(lab, record_id):
    return lab.hubspot.emulator.get_record("contacts", record_id)["email"].lower()


def test_a_hubspot_deletion_the_sync_archived_on_the_other_side_is_clean(lifecycle_lab):
    log = EditLog()
    record_id = lifecycle_lab.hub_ids[4]
    log.deletions.append(checks.Deletion("hubspot", record_id, hub_email(lifecycle_lab, record_id), linked=True))
    lifecycle_lab.hubspot.emulator.delete_record("contacts", record_id)
    sync_here(lifecycle_lab.integration)
    assert checks.deletion_errors(lifecycle_lab, checks.snapshot(lifecycle_lab), log) == []
    assert verify(lifecycle_lab, log)["deletes_not_propagated"] == 0


def test_a_deletion_that_never_reached_the_other_side_is_counted(lifecycle_lab):
    log = EditLog()
    record_id = lifecycle_lab.hub_ids[4]
    log.deletions.append(checks.Deletion("hubspot", record_id, hub_email(lifecycle_lab, record_id), linked=True))
    lifecycle_lab.hubspot.emulator.delete_record("contacts", record_id)  # and no run afterwards
    [error] = checks.deletion_errors(lifecycle_lab, checks.snapshot(lifecycle_lab), log)
    assert "live in other" in error
    assert verify(lifecycle_lab, log)["deletes_not_propagated"] == 1


def test_a_counterpart_deleted_where_the_policy_says_archive_is_counted(lifecycle_lab):
    log = EditLog()
    record_id = lifecycle_lab.hub_ids[4]
    email = hub_email(lifecycle_lab, record_id)
    log.deletions.append(checks.Deletion("hubspot", record_id, email, linked=True))
    lifecycle_lab.hubspot.emulator.delete_record("contacts", record_id)
    [twin] = [r["_id"] for r in checks.snapshot(lifecycle_lab).other.live if r["email"] == email]
    lifecycle_lab.other.emulator.delete("contacts", int(twin))  # gone, where the archive policy keeps it inactive
    [error] = checks.deletion_errors(lifecycle_lab, checks.snapshot(lifecycle_lab), log)
    assert "policy archive on other, counterpart []" in error


def test_a_deletion_in_connectwise_deleted_in_hubspot_and_unlinked_is_clean(lifecycle_lab):
    log = EditLog()
    record_id = lifecycle_lab.cw_ids[4]
    log.deletions.append(checks.Deletion("other", record_id, checks.other_contact_email(lifecycle_lab, record_id), True))
    lifecycle_lab.other.emulator.delete("contacts", int(record_id))
    sync_here(lifecycle_lab.integration)
    assert checks.deletion_errors(lifecycle_lab, checks.snapshot(lifecycle_lab), log) == []


def merge_pair(lab):
    survivor, merged = lab.hub_ids[1], lab.hub_ids[3]  # one company's contacts, both linked
    m = checks.Merge(survivor, merged, hub_email(lab, survivor), hub_email(lab, merged))
    lab.hubspot.emulator.lifecycle.merge_records("contacts", survivor, merged)
    log = EditLog()
    log.merges.append(m)
    return log


def test_a_merge_the_sync_followed_leaves_one_link_and_is_clean(lifecycle_lab):
    log = merge_pair(lifecycle_lab)
    sync_here(lifecycle_lab.integration)
    assert checks.merge_errors(lifecycle_lab, checks.snapshot(lifecycle_lab), log) == []
    result = verify(lifecycle_lab, log)
    assert (result["merge_errors"], result["missing_on_one_side"], result["duplicates"]) == (0, 0, 0)


def test_a_merge_that_left_two_links_is_counted(lifecycle_lab):
    log = merge_pair(lifecycle_lab)  # and no run: the merged-away record's link is still there
    errors = checks.merge_errors(lifecycle_lab, checks.snapshot(lifecycle_lab), log)
    assert any("a link to the merged-away record" in e for e in errors)
    assert verify(lifecycle_lab, log)["merge_errors"] == 1


def test_a_contact_moved_on_one_side_only_is_a_lost_reassociation_and_a_mismatch(lifecycle_lab):
    log = EditLog()
    record_id = lifecycle_lab.cw_ids[0]
    target = lifecycle_lab.other.emulator.records("companies")[-1]
    lifecycle_lab.other.emulator.edit("contacts", int(record_id), {"company": {"id": target["id"]}})
    log.accept("other", record_id, {"company": target["website"].lower()})
    snap = checks.snapshot(lifecycle_lab)
    assert checks.lost_edits(snap, log)[0]["company"] == 1
    assert checks.mismatched(snap) == (1, 1)
    sync_here(lifecycle_lab.integration)
    assert checks.lost_edits(checks.snapshot(lifecycle_lab), log)[0]["company"] == 0


# --- Dynamics calls (issue 19): HubSpot calls <-> phone calls --------------------------------------------
@pytest.fixture
def dynamics_calls_lab():
    lab = labs.build_lab("dynamics", latency_ms=(0, 0), limits=False, objects=("accounts", "contacts", "phonecalls"))
    lab.dyn_ids = labs.seed_other(lab, 5, prefix="dyn")
    lab.hub_ids = labs.seed_hubspot(lab, 5, prefix="hub")
    sync_here(lab.integration)
    yield lab
    lab.stop()


def test_dynamics_phone_calls_synced_both_ways_are_clean(dynamics_calls_lab):
    lab, log = dynamics_calls_lab, EditLog()
    lab.hubspot.emulator.create_record(
        "calls",
        {"hs_call_title": "Soak call 1", "hs_timestamp": "2026-03-02T10:00:00Z"},
        associations={"contacts": [lab.hub_ids[0]]},
    )
    lab.other.emulator.create_record(
        "phonecalls", {"subject": "Soak call 2", "regardingobjectid": lab.dyn_ids[0], "actualend": "2026-03-02T10:00:00Z"}
    )
    log.calls = {"Soak call 1": ("hubspot", lab.hub_ids[0]), "Soak call 2": ("other", lab.dyn_ids[0])}
    sync_here(lab.integration)
    result = verify(lab, log)
    assert result["activities"] == {"logged": 2, "lost": 0, "duplicates": 0, "misplaced": 0, "orphans": 0}
    assert (result["lost"], result["duplicates"], result["mismatched"]) == (0, 0, 0)


def test_a_dynamics_phone_call_with_no_regarding_record_or_party_is_an_orphan(dynamics_calls_lab):
    lab = dynamics_calls_lab
    lab.other.emulator.create_record("phonecalls", {"subject": "Loose", "actualend": "2026-03-02T10:00:00Z"})
    assert checks.check_calls(lab, EditLog(), checks.snapshot(lab))["orphans"] == 1
