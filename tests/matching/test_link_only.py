"""A link-only first run links every pair and writes nothing to either system; turning
creation on afterwards creates exactly the one-sided records."""

import pytest

from bench import twins
from mappings.models import ObjectMapping
from syncsmart.models import RecordEvent, RecordLink
from tests.engine.conftest import build_pair


@pytest.fixture(params=["connectwise", "dynamics"])
def seeded(request, db):
    pair = build_pair(request.param)
    pair.integration.object_mappings.filter(other_object="leads").delete()
    data = twins.dataset(companies=30, contacts=120, deals=20, one_sided=0.10, seed=3)
    twins.seed_pair(pair.hubspot, pair.other, request.param, data)
    pair.integration.object_mappings.update(create_policy=ObjectMapping.CreatePolicy.LINK_ONLY)
    yield pair, data, request.param
    pair.close()


def test_a_link_only_run_links_every_pair_and_writes_nothing(seeded):
    pair, data, system = seeded
    pair.reset_counters()
    run = pair.sync()

    assert run.status == "succeeded", run.error
    assert pair.writes() == (0, 0)
    expected = data.expected()
    assert RecordLink.objects.filter(integration=pair.integration).count() == sum(e["both"] for e in expected.values())
    assert run.counts.get("created", 0) == 0
    one_sided = sum(e["hubspot_only"] + e["other_only"] for e in expected.values())
    kept_out = RecordEvent.objects.filter(run=run, outcome="filtered", message__startswith="Link only")
    # A one-sided parent is looked at again as a deal's parent: count records, not events.
    assert kept_out.values("object_mapping", "source_side", "source_id").distinct().count() == one_sided


def test_turning_creation_on_then_creates_exactly_the_one_sided_records(seeded):
    pair, data, system = seeded
    pair.sync()
    pair.integration.object_mappings.update(create_policy=ObjectMapping.CreatePolicy.CREATE)
    run = pair.sync(trigger="historical")

    expected = data.expected()
    assert run.counts.get("created", 0) == sum(e["hubspot_only"] + e["other_only"] for e in expected.values())
    hub, other = twins.census_hubspot(pair.hubspot), twins.CENSUS[system](pair.other)
    for obj in ("companies", "contacts", "deals"):
        assert hub.count(obj) == other.count(obj) == expected[obj]["total"]
        assert hub.duplicates(obj) == other.duplicates(obj) == 0
