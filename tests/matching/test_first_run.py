"""The first run between two systems that already hold the same records, spelled differently:
every pair is linked, exactly the one-sided records are created, and no normalised key is held
by two records on either side afterwards."""

import pytest

from bench import twins
from syncsmart.models import AmbiguousMatch, RecordEvent, RecordLink
from tests.engine.conftest import build_pair

OBJECTS = {"connectwise": ("companies", "contacts", "opportunities"), "dynamics": ("accounts", "contacts", "opportunities")}


@pytest.fixture(params=["connectwise", "dynamics"])
def seeded(request, db):
    pair = build_pair(request.param)
    # Leads have their own test; here the three objects both systems share.
    pair.integration.object_mappings.filter(other_object="leads").delete()
    data = twins.dataset(companies=60, contacts=240, deals=50, one_sided=0.10, seed=5)
    twins.seed_pair(pair.hubspot, pair.other, request.param, data)
    yield pair, data, request.param
    pair.close()


def test_first_run_links_every_pair_and_creates_exactly_the_one_sided_records(seeded):
    pair, data, system = seeded
    run = pair.sync()
    assert run.status == "succeeded", run.error

    expected = data.expected()
    hub, other = twins.census_hubspot(pair.hubspot), twins.CENSUS[system](pair.other)
    for obj in ("companies", "contacts", "deals"):
        want = expected[obj]
        assert hub.count(obj) == other.count(obj) == want["total"], (obj, hub.summary(), other.summary())
        assert hub.duplicates(obj) == other.duplicates(obj) == 0, (obj, hub.summary(), other.summary())
    by_mapping = {m.other_object: m for m in pair.integration.object_mappings.all()}
    for obj, other_obj in zip(("companies", "contacts", "deals"), OBJECTS[system], strict=True):
        mapping = by_mapping[other_obj]
        assert RecordLink.objects.filter(object_mapping=mapping).count() == expected[obj]["total"], obj
        events = RecordEvent.objects.filter(run=run, object_mapping=mapping)
        assert events.filter(outcome="linked").count() == expected[obj]["both"], obj
        assert events.filter(outcome="created").count() == expected[obj]["hubspot_only"] + expected[obj]["other_only"], obj
    assert not AmbiguousMatch.objects.exists()


def test_a_second_run_writes_nothing(seeded):
    pair, _data, _system = seeded
    pair.sync()
    pair.reset_counters()
    pair.sync()
    assert pair.writes() == (0, 0)
