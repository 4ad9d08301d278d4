"""The plan is pure (values in, decisions out): each field rule without a database or a vendor."""

from mappings.models import FieldMapping
from syncsmart.engine.flow.items import DeferParent
from syncsmart.engine.flow.plan import Sides, parents_blocking, plan_fields
from syncsmart.engine.flow.setup import FieldPlan
from syncsmart.engine.transform import Unmatched

HUB, OTHER = "hubspot", "other"


def field(source="firstname", target="firstName", kind="string", winner=HUB, **options) -> FieldPlan:
    mapping = FieldMapping(hubspot_field=source, other_field=target, system_of_record=winner, **options)
    return FieldPlan(mapping, source, target, kind, kind)


def sides(props, target_props=None, source_base=None, target_base=None, *, creating=False, matched=False) -> Sides:
    return Sides(HUB, props, target_props or {}, source_base or {}, target_base or {}, creating=creating, matched=matched)


def no_transform(f, value):
    raise AssertionError("plain text needs no transform")


def test_a_new_record_writes_every_non_empty_value_and_takes_them_as_its_baseline():
    plan = plan_fields(
        [field(), field("lastname", "lastName")], sides({"firstname": "Ada", "lastname": None}, creating=True), no_transform
    )
    assert plan.writes == {"firstName": "Ada"}
    assert plan.source_base == {"firstname": "Ada", "lastname": None} and plan.target_base == {
        "firstName": "Ada",
        "lastName": None,
    }


def test_a_field_the_source_did_not_send_is_never_blanked():
    plan = plan_fields([field()], sides({}, {"firstName": "Ada"}), no_transform)
    assert plan.writes == {} and plan.source_base == {}


def test_a_source_change_is_written():
    plan = plan_fields(
        [field()], sides({"firstname": "Ada"}, {"firstName": "Old"}, {"firstname": "Old"}, {"firstName": "Old"}), no_transform
    )
    assert plan.writes == {"firstName": "Ada"} and not plan.conflicts and not plan.reverse


def test_equal_values_write_nothing_and_refresh_the_baseline():
    plan = plan_fields(
        [field()], sides({"firstname": "Ada"}, {"firstName": "Ada"}, {"firstname": "A"}, {"firstName": "A"}), no_transform
    )
    assert plan.writes == {} and plan.target_base == {"firstName": "Ada"}


def test_both_sides_changed_the_system_of_record_wins_and_the_loss_is_recorded():
    before = ({"firstname": "Old"}, {"firstName": "Old"})
    won = plan_fields([field(winner=HUB)], sides({"firstname": "Ada"}, {"firstName": "Eve"}, *before), no_transform)
    assert won.writes == {"firstName": "Ada"} and won.conflicts["firstName"]["lost"] == "Eve"
    lost = plan_fields([field(winner=OTHER)], sides({"firstname": "Ada"}, {"firstName": "Eve"}, *before), no_transform)
    assert lost.writes == {} and lost.conflicts["firstName"]["kept"] == "Eve" and lost.reverse


def test_only_the_target_changed_flows_the_other_way():
    plan = plan_fields(
        [field()], sides({"firstname": "Old"}, {"firstName": "Eve"}, {"firstname": "Old"}, {"firstName": "Old"}), no_transform
    )
    assert plan.writes == {} and not plan.conflicts


def test_only_if_target_empty_leaves_a_filled_target_alone():
    plan = plan_fields([field(only_if_target_empty=True)], sides({"firstname": "Ada"}, {"firstName": "Eve"}), no_transform)
    assert plan.writes == {}


def test_a_matched_record_asks_for_the_reverse_flow():
    plan = plan_fields([field()], sides({"firstname": "Ada"}, {"firstName": ""}, matched=True), no_transform)
    assert plan.reverse and plan.writes == {"firstName": "Ada"}


def test_transform_failures_leave_the_field_out_with_a_note():
    def transform(f, value):
        if f.source_name == "stage":
            raise Unmatched("No option matches", {"property": "stage", "value": value})
        raise DeferParent("companies 7 is not synced yet", {"object": "companies", "id": "7", "target_object": "company"})

    fields = [field("stage", "stage", kind="enumeration"), field("company", "company", kind="reference")]
    plan = plan_fields(fields, sides({"stage": "x", "company": "7"}, creating=True), transform)
    assert plan.writes == {} and plan.unmatched == [{"property": "stage", "value": "x"}]
    assert plan.waiting_for == [{"object": "companies", "id": "7", "target_object": "company"}] and len(plan.notes) == 2


def test_a_new_record_waits_for_any_missing_parent_an_update_only_for_a_needed_one():
    waiting = [{"object": "companies", "id": "7", "target_object": "company"}]
    assert parents_blocking(waiting, set(), creating=True) == waiting
    assert parents_blocking(waiting, set(), creating=False) == []
    assert parents_blocking(waiting, {"company"}, creating=False) == waiting


def test_a_field_under_conflict_review_both_sides_changed_is_held_and_nothing_written():
    before = ({"firstname": "Old"}, {"firstName": "Old"})
    plan = plan_fields(
        [field(winner=HUB, conflict_review=True)], sides({"firstname": "Ada"}, {"firstName": "Eve"}, *before), no_transform
    )
    assert plan.writes == {} and not plan.conflicts and not plan.reverse
    assert plan.source_base == {} and plan.target_base == {}  # the baseline stays: the next run holds it again
    held = plan.held["firstName"]
    assert (held["source_value"], held["target_value"]) == ("Ada", "Eve")


def test_a_field_under_conflict_review_changed_on_one_side_flows_and_settles():
    reviewed = field(winner=OTHER, conflict_review=True)
    plan = plan_fields(
        [reviewed], sides({"firstname": "Ada"}, {"firstName": "Old"}, {"firstname": "Old"}, {"firstName": "Old"}), no_transform
    )
    assert plan.writes == {"firstName": "Ada"} and not plan.held and plan.settled == [reviewed.mapping.pk]
