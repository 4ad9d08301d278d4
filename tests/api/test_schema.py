"""The OpenAPI schema is served and tells the truth: schemathesis generates requests for every
operation from the served schema, sends them to the WSGI app, and checks each response."""

import itertools
import os
import re

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test
from schemathesis.checks import CHECKS as CHECK_REGISTRY
from schemathesis.checks import load_all_checks
from schemathesis.config import PositiveDataAcceptanceConfig
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode

from connectors import http
from connectors.hubspot.emulator import DEFAULT_TOKEN, HubSpotEmulator
from syncsmart.models import AmbiguousMatch, Preview, RecordEvent
from syncsmart.wsgi import application
from tests.api.factories import FieldMappingFactory, IntegrationFactory, ObjectMappingFactory, RecordEventFactory, SyncRunFactory

EMULATED_HUBSPOT = "https://hubspot-api.schema-tests.test"
# Most generated ids are swapped for ids of real rows, so the success paths are exercised too;
# every fourth keeps the generated id, which exercises the 404 paths.
_swap = itertools.cycle([True, True, True, False])


def test_schema_is_served_as_openapi_3(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    paths = set(schema["paths"])
    assert {
        "/api/integrations/",
        "/api/integrations/{id}/switch/",
        "/api/integrations/{id}/sync/",
        "/api/integrations/{id}/historical-sync/",
        "/api/object-mappings/{id}/filters/",
        "/api/field-mappings/",
        "/api/runs/{id}/progress/",
        "/api/events/{id}/retry/",
        "/api/connections/{id}/test/",
    } <= paths
    assert schema["components"]["securitySchemes"]["ApiToken"]["scheme"] == "bearer"
    assert schema["components"]["schemas"]["Error"]["required"] == ["error"]


@pytest.mark.django_db
def test_docs_pages_are_served_with_local_assets(client):
    for url in ("/api/docs/", "/api/redoc/"):
        page = client.get(url)
        assert page.status_code == 200
        html = page.content.decode()
        # Swagger UI's split view names the schema in its start-up script (no inline script).
        script = client.get("/api/docs/?script=").content.decode() if url == "/api/docs/" else ""
        assert "/api/schema/" in html + script
        assert "cdn." not in html and "unpkg" not in html, "assets must not come from the internet"
        scripts = re.findall(r'src="(/static/[^"]+)"', html)
        assert scripts and all(client.get(src).status_code == 200 for src in scripts)
    assert client.get("/api/").status_code == 302


@pytest.fixture
def world(api, settings):
    """One tenant's data for every endpoint, and a HubSpot emulator for the connection test."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": "100000/min"}}
    # The ignored-auth check sends wrong tokens on purpose: the log-in lock-out would answer 429s.
    settings.AXES_ENABLED = False
    emulator = HubSpotEmulator(limits=False)
    http.mount(EMULATED_HUBSPOT, emulator.transport())
    integration = IntegrationFactory(tenant=api.tenant, enabled=False)
    connection = integration.hubspot_connection
    connection.config = {"base_url": EMULATED_HUBSPOT}
    connection.credentials = {"token": DEFAULT_TOKEN}
    connection.save()
    mapping = ObjectMappingFactory(integration=integration)
    run = SyncRunFactory(integration=integration)
    ids = {
        "integrations": integration.pk,
        "object-mappings": mapping.pk,
        "field-mappings": FieldMappingFactory(object_mapping=mapping).pk,
        "runs": str(run.pk),
        "events": RecordEventFactory(run=run, object_mapping=mapping, outcome=RecordEvent.Outcome.FAILED).pk,
        "connections": str(connection.pk),
        "previews": str(Preview.objects.create(integration=integration, status="done").pk),
        "ambiguous-matches": AmbiguousMatch.objects.create(
            integration=integration,
            object_mapping=mapping,
            source_side="hubspot",
            source_object=mapping.hubspot_object,
            source_id="1",
            candidates=[{"id": "7", "label": "Seven"}, {"id": "8", "label": "Eight"}],
        ).pk,
    }
    # Like Django's test client: a request through the raw WSGI app must not close the test's
    # database connection (PostgreSQL would lose the test transaction).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield api, ids
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)
    http.unmount(EMULATED_HUBSPOT)


# Loaded once at collection, straight from the WSGI app (no network): generating the schema
# touches no database. (schemathesis.pytest.from_fixture would load it per test, but its lazy
# loader does not work with pytest 9.)
# The coverage phase would also send every method an operation lacks: 405s are proven in
# test_errors_throttling.py, and skipping them halves the run.
PHASES = {"coverage": {"unexpected-methods": []}}
documented = schemathesis.openapi.from_wsgi("/api/schema/", application, config=schemathesis.Config.from_dict({"phases": PHASES}))
# A body the schema allows may still not fit the tenant's configuration: a filter or match key on a
# field its system does not have, an operator or normaliser unfit for the field's type, a field
# pair named twice (syncsmart/api/body_schemas.py says what JSON Schema can). The operations that
# take such bodies document that answer, 422, and positive_data_acceptance accepts it there, as
# schemathesis' documentation says to declare "a rejection the schema can't express, such as a
# cross-field rule" (its ST202); every other rejection of a schema-valid request still fails.
UNFIT_OPERATIONS = sorted(
    f"{method.upper()} {path}"
    for path, item in documented.raw_schema["paths"].items()
    for method, operation in item.items()
    if isinstance(operation, dict) and "422" in operation.get("responses", {})
)
ACCEPTED = [*PositiveDataAcceptanceConfig().expected_statuses, "422"]
CONFIG = schemathesis.Config.from_dict(
    {
        "phases": PHASES,
        "operations": [
            {"include-name": name, "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED}}}
            for name in UNFIT_OPERATIONS
        ],
    }
)
schema = schemathesis.openapi.from_wsgi("/api/schema/", application, config=CONFIG)


# Every check schemathesis has (server errors, status codes, content types, headers, response
# schemas, negative data rejected, positive data accepted, missing headers, unsupported methods,
# Allow headers, use after free, resource availability, ignored auth, object-level authorization),
# on every operation.
load_all_checks()
ALL_CHECKS = list(CHECK_REGISTRY.get_all())


def test_only_the_bodies_with_filters_or_match_rules_may_not_fit_the_tenants_configuration():
    assert UNFIT_OPERATIONS == [
        "PATCH /api/object-mappings/{id}/",
        "PATCH /api/object-mappings/{id}/filters/",
        "POST /api/object-mappings/",
    ]


def negative(case, location: ParameterLocation) -> bool:
    """Whether schemathesis made this part of the request violate the schema on purpose."""
    component = case._meta.components.get(location) if case._meta is not None else None
    return component is not None and component.mode == GenerationMode.NEGATIVE


@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_operation_answers_as_its_schema_says(case, world):
    api, ids = world
    resource = case.path.split("/")[2]
    # A schema-valid id is mostly swapped for a real row's, so the success paths run too; an id
    # made invalid on purpose is kept (swapping it would make the request valid behind the check's back).
    if case.path_parameters and "id" in case.path_parameters and not negative(case, ParameterLocation.PATH) and next(_swap):
        case.path_parameters["id"] = ids[resource]
    # Likewise the token: a wrong Authorization header generated on purpose is sent as it is.
    headers = {} if negative(case, ParameterLocation.HEADER) else {"Authorization": f"Bearer {api.plaintexts['admin']}"}
    if os.environ.get("SCHEMA_EXAMPLES_LOG"):  # counting the examples: SCHEMA_EXAMPLES_LOG=<file>
        with open(os.environ["SCHEMA_EXAMPLES_LOG"], "a") as log:
            log.write(f"{case.method} {case.path} {'negative' if negative(case, ParameterLocation.BODY) else 'positive'}\n")
    case.call_and_validate(headers=headers, checks=ALL_CHECKS)


def test_linked_workflows_answer_as_the_schema_says(world):
    """Stateful: schemathesis chains operations through the links it infers between them (an id
    one answer gives, the next request uses) and runs every check on every step."""
    api, _ = world
    token = api.plaintexts["admin"]

    calls: list[str] = []

    class Workflow(schema.as_state_machine()):
        # Each scenario starts from the same data: what one scenario created or resolved would
        # change the links the next one can follow, and Hypothesis replays a scenario expecting the
        # same choices (FlakyStrategyDefinition, seen once under load).
        def setup(self):
            self.savepoint = transaction.savepoint()

        def teardown(self):
            transaction.savepoint_rollback(self.savepoint)

        def call(self, case, **kwargs):
            calls.append(f"{case.method} {case.path}")
            return super().call(case, **kwargs)

        def get_call_kwargs(self, case):
            return {"headers": {"Authorization": f"Bearer {token}"}}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(
                response, checks=ALL_CHECKS, headers={"Authorization": f"Bearer {token}"}, recorder=self.recorder
            )

    run_state_machine_as_test(
        Workflow,
        settings=settings(
            max_examples=25, stateful_step_count=6, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
        ),
    )
    # Measured: 25 scenarios, 186 calls over 20 operations; every check held.
    assert len(calls) >= 50 and len(set(calls)) >= 5, calls
