"""Conflict review (issue 20), end to end on the HubSpot and ConnectWise emulators: a field under
review that both sides changed is held with both values and written nowhere; accepting one side,
or a typed value, carries it across through the engine; the decision is audited; a conflict the
two sides settle by themselves leaves the queue."""

import pytest

from mappings.services import conflicts
from syncsmart.models import HeldConflict, RecordLink
from tenants.models import AuditLog

pytestmark = pytest.mark.django_db


def under_review(pair):
    fm = pair.integration.object_mappings.get(hubspot_object="contacts").field_mappings.get(hubspot_field="firstname")
    fm.conflict_review = True
    fm.save()
    return fm


def both_changed(pair, hub_first="Hubby", cw_first="Connie"):
    company = pair.other.add_company("Globex Corp", website="globex.example.com")
    contact = pair.other.add_contact("Ann", "Lee", company_id=company["id"], email="ann@globex.example.com")
    pair.sync()
    link = RecordLink.objects.get(hubspot_object="contacts", other_id=str(contact["id"]))
    pair.hubspot.advance_clock(5000)
    pair.hubspot.edit_record("contacts", link.hubspot_id, {"firstname": hub_first})
    pair.other.edit("contacts", str(contact["id"]), {"firstName": cw_first})
    pair.sync()
    return link.hubspot_id, str(contact["id"])


def carry(pair, run):
    """Execute the run a decision queued (a worker would), limited to its records."""
    return pair.sync(trigger=run.trigger, state=run.state)


def firstnames(pair, hub_id, cw_id):
    return pair.hubspot.get_record("contacts", hub_id)["firstname"], pair.other.get("contacts", cw_id)["firstName"]


def test_both_sides_changed_a_reviewed_field_it_is_held_with_both_values_and_written_nowhere(cw_pair):
    fm = under_review(cw_pair)
    hub_id, cw_id = both_changed(cw_pair)
    assert firstnames(cw_pair, hub_id, cw_id) == ("Hubby", "Connie")  # the system of record did not win
    [held] = HeldConflict.objects.filter(status="open")
    assert (held.field_mapping, held.hubspot_value, held.other_value) == (fm, "Hubby", "Connie")
    assert held.hubspot_id == hub_id and held.other_id == cw_id and "ann@globex.example.com" in held.label
    cw_pair.sync()  # another run holds it again, still one row, still nothing written
    assert HeldConflict.objects.filter(status="open").count() == 1
    assert firstnames(cw_pair, hub_id, cw_id) == ("Hubby", "Connie")


def test_accepting_the_other_systems_value_writes_it_to_hubspot_and_is_audited(cw_pair):
    under_review(cw_pair)
    hub_id, cw_id = both_changed(cw_pair)
    held = HeldConflict.objects.get(status="open")
    run = conflicts.resolve_conflict(held, None, "other")
    assert run.trigger == "retry" and run.state["records"] == [{"mapping": held.object_mapping_id, "side": "other", "id": cw_id}]
    carry(cw_pair, run)
    assert firstnames(cw_pair, hub_id, cw_id) == ("Connie", "Connie")
    held.refresh_from_db()
    assert (held.status, held.accepted) == ("resolved", "other")
    assert AuditLog.objects.filter(action="conflict.resolved", changes__accepted="other").exists()
    cw_pair.reset_counters()
    cw_pair.sync()
    assert cw_pair.writes() == (0, 0) and not HeldConflict.objects.filter(status="open").exists()


def test_accepting_hubspots_value_writes_it_to_connectwise(cw_pair):
    under_review(cw_pair)
    hub_id, cw_id = both_changed(cw_pair)
    carry(cw_pair, conflicts.resolve_conflict(HeldConflict.objects.get(status="open"), None, "hubspot"))
    assert firstnames(cw_pair, hub_id, cw_id) == ("Hubby", "Hubby")


def test_a_typed_value_is_written_to_both_sides(cw_pair):
    under_review(cw_pair)
    hub_id, cw_id = both_changed(cw_pair)
    carry(cw_pair, conflicts.resolve_conflict(HeldConflict.objects.get(status="open"), None, "value", "Annabel"))
    assert firstnames(cw_pair, hub_id, cw_id) == ("Annabel", "Annabel")


def test_a_resolved_conflict_cannot_be_resolved_again(cw_pair):
    under_review(cw_pair)
    both_changed(cw_pair)
    held = HeldConflict.objects.get(status="open")
    conflicts.resolve_conflict(held, None, "hubspot")
    with pytest.raises(conflicts.ValidationError, match="no longer waiting"):
        conflicts.resolve_conflict(held, None, "other")


def test_if_the_losing_side_changed_again_meanwhile_the_field_is_held_anew(cw_pair):
    under_review(cw_pair)
    hub_id, cw_id = both_changed(cw_pair)
    held = HeldConflict.objects.get(status="open")
    cw_pair.other.edit("contacts", cw_id, {"firstName": "Cornelia"})  # after the person looked
    carry(cw_pair, conflicts.resolve_conflict(held, None, "hubspot"))
    assert firstnames(cw_pair, hub_id, cw_id) == ("Hubby", "Cornelia")  # nobody's newer value overwritten unseen
    again = HeldConflict.objects.get(status="open")
    assert (again.hubspot_value, again.other_value) == ("Hubby", "Cornelia")


def test_a_conflict_the_two_sides_settle_themselves_leaves_the_queue(cw_pair):
    under_review(cw_pair)
    hub_id, cw_id = both_changed(cw_pair)
    cw_pair.other.edit("contacts", cw_id, {"firstName": "Hubby"})  # someone fixed it by hand
    cw_pair.sync()
    assert HeldConflict.objects.get().status == "settled"


def test_bulk_accept_takes_one_side_for_every_chosen_conflict_in_one_run(cw_pair):
    under_review(cw_pair)
    hub_id, cw_id = both_changed(cw_pair)
    integration = cw_pair.integration
    count, run = conflicts.resolve_conflicts(integration, list(HeldConflict.objects.filter(status="open")), None, "other")
    assert count == 1 and run.trigger == "retry"
    carry(cw_pair, run)
    assert firstnames(cw_pair, hub_id, cw_id) == ("Connie", "Connie")
    with pytest.raises(conflicts.ValidationError, match="one conflict at a time"):
        conflicts.resolve_conflicts(integration, [], None, "value")
