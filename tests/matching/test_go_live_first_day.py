"""Go-live onto systems that already hold the same records (the demo's journey: switch to a
"production" connection pointing at the same emulators): both schemas are discovered, the first
production run links instead of creating, and nothing is duplicated."""

import pytest

from bench import twins
from connectors.models import Connection
from mappings.models import ObjectMapping
from mappings.services import go_live
from syncsmart.models import RecordLink
from tests.engine.conftest import build_pair
from tests.factories import UserFactory


@pytest.fixture(params=["connectwise", "dynamics"])
def live_sandbox(request, db):
    pair = build_pair(request.param)
    pair.integration.object_mappings.filter(other_object="leads").delete()
    twins.seed_pair(pair.hubspot, pair.other, request.param, twins.dataset(companies=20, contacts=80, deals=15, seed=4))
    assert pair.sync().status == "succeeded"  # the sandbox synced: both sides hold every record
    yield pair
    pair.close()


def _production_twin(connection: Connection) -> Connection:
    production = Connection(tenant=connection.tenant, system=connection.system, environment="production", status="ok")
    production.config, production.credentials = dict(connection.config), dict(connection.credentials)
    production.name = "Production (the same emulator)"
    production.save()
    return production


def test_the_switch_to_production_discovers_both_schemas_and_creates_nothing(live_sandbox):
    pair = live_sandbox
    actor = UserFactory()
    production = _production_twin(pair.integration.other_connection)
    before = {"hubspot": pair.hubspot.counters(), "counts": twins.census_hubspot(pair.hubspot).summary()}

    switch = go_live.prepare(pair.integration, actor)
    switch.production_connection = production
    switch.save()
    switch = go_live.start(switch, actor, mappings="keep", keep_test_mode=False)
    switch = go_live.resume(switch, actor)
    assert switch.status == "done", switch.steps_done

    production.refresh_from_db()
    pair.integration.hubspot_connection.refresh_from_db()
    assert production.schema_cache and pair.integration.hubspot_connection.schema_cache
    assert production.schema_refreshed_at is not None
    effects = {step["name"]: step["effect"] for step in go_live.describe(switch)}
    assert "fields discovered" in effects["discover_schemas"] and "links cleared" in effects["clear_test_state"]
    twin_objects = ObjectMapping.objects.filter(
        integration=pair.integration, hubspot_object__in=["companies", "contacts", "deals"]
    )
    # Objects holding records on both sides go link only; others (no records on one side) may create.
    assert set(twin_objects.values_list("create_policy", flat=True)) == {"link_only"}

    pair.reset_counters()
    run = pair.sync()
    assert run.status == "succeeded", run.error
    assert run.counts.get("created", 0) == 0
    assert pair.writes() == (0, 0)
    assert twins.census_hubspot(pair.hubspot).summary() == before["counts"]
    assert RecordLink.objects.filter(integration=pair.integration).count() > 0


def test_the_switch_refuses_to_go_on_while_a_production_schema_is_missing(live_sandbox):
    pair = live_sandbox
    actor = UserFactory()
    production = _production_twin(pair.integration.other_connection)
    production.credentials = {name: "not-the-secret" for name in production.credentials}  # the emulator refuses it
    production.save()
    switch = go_live.prepare(pair.integration, actor)
    switch.production_connection = production
    switch.save()
    switch = go_live.start(switch, actor, mappings="keep", keep_test_mode=False)
    with pytest.raises(go_live.GoLiveError, match="could not be discovered"):
        go_live.resume(switch, actor)
    switch.refresh_from_db()
    assert switch.status == "in_progress" and "discover_schemas" not in switch.steps_done
    pair.integration.refresh_from_db()
    assert not pair.integration.enabled  # nothing syncs until both schemas are known
