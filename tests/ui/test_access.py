"""Every page of the integrations UI is scoped to the user's tenant (another tenant's id is a
404), read-only for viewers (403 on every write), and costs a fixed number of queries
whatever the row count."""

import pytest
from django.urls import reverse

from mappings.services import previewed
from syncsmart.models import Preview, RecordEvent
from tenants.models import AuditLog
from tests.ui.factories import (
    DeferredRecordFactory,
    FieldMappingFactory,
    IntegrationFactory,
    ObjectMappingFactory,
    RecordEventFactory,
    RecordLinkFactory,
    SyncRunFactory,
)

pytestmark = pytest.mark.django_db


def page_urls(mapping, run=None):
    i, m = mapping.integration_id, mapping.pk
    urls = [
        reverse("integration", args=[i]),
        reverse("mapping_editor", args=[i, m]),
        reverse("filter_builder", args=[i, m]),
        reverse("field_search", args=[i, m]) + "?side=hubspot&q=name",
        reverse("pair_check", args=[i, m]) + "?hubspot_field=firstname&other_field=firstName",
        reverse("runs", args=[i]),
        reverse("record_log", args=[i]),
        reverse("historical", args=[i]),
    ]
    if run is not None:
        urls.append(reverse("historical_progress", args=[i, run.pk]))
    return urls


def _seen_preview(integration) -> str:
    # A finished preview of exactly the question the page asks (the whole integration, no start date).
    preview = Preview.objects.create(integration=integration, **previewed.resync(None).matching(), status="done")
    return str(preview.pk)


def write_requests(mapping, event, run):
    i, m = mapping.integration_id, mapping.pk
    fm = mapping.field_mappings.first()
    return [
        # First: switching the integration off cancels queued runs, leaving nothing to cancel.
        (reverse("historical_cancel", args=[i, run.pk]), {}),
        # A historical sync starts once a finished preview of it is confirmed (test_preview_before_actions.py).
        (reverse("historical", args=[i]), {"scope": "all", "confirmed_preview": _seen_preview(mapping.integration)}),
        (
            reverse("integration", args=[i]),
            {"test_mode": "on", "test_email_marker": "ss.test", "test_name_marker": "SyncSmart", "schedule_minutes": "5"},
        ),
        (reverse("main_switch", args=[i]), {"on": "0"}),
        (reverse("sync_now", args=[i]), {}),
        (
            reverse("mapping_editor", args=[i, m]),
            {"enabled": "on", "direction": "to_other", "system_of_record": "hubspot", "create_policy": "create"},
        ),
        (reverse("field_add", args=[i, m]), {"hubspot_field": "jobtitle", "other_field": "title", "direction": "both"}),
        (reverse("field_update", args=[i, m, fm.pk]), {f"fm{fm.pk}-direction": "to_hubspot", f"fm{fm.pk}-enabled": "on"}),
        (reverse("field_delete", args=[i, m, fm.pk]), {}),
        (reverse("restore_defaults", args=[i, m]), {}),
        (
            reverse("filter_builder", args=[i, m]),
            {
                "flow": "to_other",
                "op": "save",
                "to_other-match": "all",
                "to_other-g0-match": "all",
                "to_other-g0-c0-field": "email",
                "to_other-g0-c0-op": "is_not_empty",
            },
        ),
        (reverse("retry_event", args=[i, event.pk]), {}),
    ]


@pytest.fixture
def world(team, contacts, other_tenants_contacts):
    mine = {
        "mapping": contacts,
        "event": RecordEventFactory(
            integration=contacts.integration, object_mapping=contacts, outcome="failed", message="Property values were not valid"
        ),
        "run": SyncRunFactory(
            integration=contacts.integration, trigger="historical", status="queued", progress_done=0, progress_total=10
        ),
    }
    theirs = {
        "mapping": other_tenants_contacts,
        "event": RecordEventFactory(
            integration=other_tenants_contacts.integration, object_mapping=other_tenants_contacts, outcome="failed"
        ),
        "run": SyncRunFactory(integration=other_tenants_contacts.integration, trigger="historical", status="running"),
    }
    return mine, theirs


def test_every_page_opens_for_owner_and_viewer_and_needs_a_log_in(team, world):
    mine, _ = world
    home = reverse("home")
    for url in [home, *page_urls(mine["mapping"], mine["run"])]:
        assert team.owner.get(url).status_code == 200, url
        assert team.viewer.get(url).status_code == 200, url
        assert team.anonymous.get(url).status_code == 302, url


def test_another_tenants_ids_are_404_on_every_page(team, world):
    _, theirs = world
    for url in page_urls(theirs["mapping"], theirs["run"]):
        assert team.owner.get(url).status_code == 404, url
    for url, data in write_requests(theirs["mapping"], theirs["event"], theirs["run"]):
        assert team.owner.post(url, data).status_code == 404, url


def test_a_viewer_gets_403_on_every_write_and_nothing_changes(team, world):
    mine, _ = world
    audit_rows = AuditLog.objects.count()
    for url, data in write_requests(mine["mapping"], mine["event"], mine["run"]):
        assert team.viewer.post(url, data).status_code == 403, url
    assert AuditLog.objects.count() == audit_rows
    assert mine["mapping"].field_mappings.count() == 2


def test_an_admin_can_make_every_write_and_each_leaves_an_audit_row(team, world):
    mine, _ = world
    for url, data in write_requests(mine["mapping"], mine["event"], mine["run"]):
        before = AuditLog.objects.filter(tenant=team.tenant).count()
        response = team.admin.post(url, data)
        assert response.status_code == 302, (url, response.content.decode()[:2000])
        assert AuditLog.objects.filter(tenant=team.tenant).count() > before, url


def test_the_viewer_sees_no_write_buttons(team, contacts):
    body = team.viewer.get(reverse("mapping_editor", args=[contacts.integration_id, contacts.pk])).content.decode()
    assert "Add mapping" not in body and "Restore defaults" not in body and "Sync now" not in body
    assert "Read-only" in body


def _grow(mapping, n):
    """n more of every row type a page lists."""
    integration = mapping.integration
    for k in range(n):
        more = IntegrationFactory(tenant=integration.tenant, name=f"More {k}")  # the overview lists every one
        RecordEventFactory(integration=more, outcome="created")
        other = ObjectMappingFactory(integration=integration, name=f"Extra {k}", hubspot_object=f"extra{k}", other_object=f"x{k}")
        FieldMappingFactory(object_mapping=other)
        FieldMappingFactory(object_mapping=mapping, hubspot_field=f"h{k}", other_field=f"o{k}")
        run = SyncRunFactory(integration=integration)
        link = RecordLinkFactory(integration=integration, object_mapping=mapping, hubspot_values={"email": f"p{k}@acme.example"})
        RecordEventFactory(
            integration=integration,
            run=run,
            object_mapping=mapping,
            source_id=link.hubspot_id,
            outcome="failed",
            message="bad value",
            fields=["phone"],
        )
        RecordEventFactory(
            integration=integration,
            run=run,
            object_mapping=mapping,
            outcome=RecordEvent.Outcome.CONFLICT,
            details={"firstname": {"kept": "Ann", "lost": "Anne", "winner": "hubspot"}},
        )
        deferred = RecordEventFactory(integration=integration, run=run, object_mapping=mapping, outcome="deferred")
        DeferredRecordFactory(
            integration=integration,
            object_mapping=mapping,
            record_id=deferred.source_id,
            waiting_for=[{"object": "companies", "id": str(k)}],
        )


MAX_QUERIES = 20


@pytest.mark.parametrize("rows", [1, 25])
def test_no_page_costs_more_queries_as_rows_grow(team, contacts, django_assert_max_num_queries, rows):
    _grow(contacts, rows)
    run = SyncRunFactory(integration=contacts.integration, trigger="historical", status="running", progress_total=9)
    for url in [
        reverse("home"),
        *page_urls(contacts, run),
        reverse("record_log", args=[contacts.integration_id]) + "?q=acme",
        reverse("record_log", args=[contacts.integration_id]) + "?outcome=failed",
    ]:
        with django_assert_max_num_queries(MAX_QUERIES):
            assert team.owner.get(url).status_code == 200, url
