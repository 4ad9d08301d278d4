"""The filter builder: any / all groups per direction, the live count of current records
that pass (from a cached sample), and the standard options."""

import pytest
from django.urls import reverse

from mappings.filters import apply_op, as_groups, from_post, passes, to_stored
from mappings.services.samples import Sample, remember_sample
from tenants.models import AuditLog

pytestmark = pytest.mark.django_db

PEOPLE = [
    {"email": "ann@acme.example", "lifecyclestage": "customer", "jobtitle": "CTO"},
    {"email": "bob@gmail.com", "lifecyclestage": "customer", "jobtitle": "CEO"},
    {"email": "cy.ss.test@acme.example", "lifecyclestage": "lead", "jobtitle": ""},
    {"email": "dee@acme.example", "lifecyclestage": "evangelist", "jobtitle": "VP Sales"},
]


def builder_post(prefix="to_other", top="all", groups=(), op="save"):
    data = {"flow": prefix, "op": op, f"{prefix}-match": top}
    for g, (match, conditions) in enumerate(groups):
        data[f"{prefix}-g{g}-match"] = match
        for c, (field, operator, value) in enumerate(conditions):
            data.update(
                {f"{prefix}-g{g}-c{c}-field": field, f"{prefix}-g{g}-c{c}-op": operator, f"{prefix}-g{g}-c{c}-value": value}
            )
    return data


def test_the_builder_encodes_any_and_all_groups_as_declarative_filter_data():
    data = builder_post(
        top="any",
        groups=[
            ("all", [("lifecyclestage", "eq", "customer"), ("jobtitle", "is_not_empty", "")]),
            ("any", [("email", "ends_with", "acme.example"), ("jobtitle", "in", "CEO, CTO")]),
        ],
    )
    stored = to_stored(from_post(data, "to_other"))
    assert stored == {
        "match": "any",
        "conditions": [
            {
                "match": "all",
                "conditions": [
                    {"field": "lifecyclestage", "operator": "eq", "value": "customer"},
                    {"field": "jobtitle", "operator": "is_not_empty"},
                ],
            },
            {
                "match": "any",
                "conditions": [
                    {"field": "email", "operator": "ends_with", "value": "acme.example"},
                    {"field": "jobtitle", "operator": "in", "value": ["CEO", "CTO"]},
                ],
            },
        ],
    }
    assert [passes(stored, p) for p in PEOPLE] == [True, True, True, True]


def test_plain_top_level_conditions_show_as_one_group_with_the_same_meaning():
    stored = {
        "match": "any",
        "conditions": [
            {"field": "jobtitle", "operator": "eq", "value": "CEO"},
            {"field": "lifecyclestage", "operator": "eq", "value": "lead"},
        ],
    }
    regrouped = to_stored(as_groups(stored))
    assert [passes(regrouped, p) for p in PEOPLE] == [passes(stored, p) for p in PEOPLE] == [False, True, True, False]


def test_adding_and_removing_rows_and_groups():
    builder = from_post(builder_post(groups=[("all", [("email", "is_not_empty", "")])]), "to_other")
    apply_op(builder, "add-cond-0")
    apply_op(builder, "add-group")
    assert [len(g["conditions"]) for g in builder["conditions"]] == [2, 1]
    apply_op(builder, "del-1-0")
    assert len(builder["conditions"]) == 1
    assert to_stored(builder)["conditions"][0]["conditions"] == [{"field": "email", "operator": "is_not_empty"}]


def test_the_live_count_says_how_many_current_records_pass(team, contacts):
    remember_sample(contacts.integration.hubspot_connection, "contacts", Sample(records=PEOPLE))
    data = builder_post(groups=[("all", [("lifecyclestage", "eq", "customer")])])
    body = team.viewer.post(reverse("filter_count", args=[contacts.integration_id, contacts.pk]), data).content.decode()
    assert '<span class="passing">2</span> of 4 current records pass' in body


def test_the_count_applies_the_free_mail_block_and_test_mode(team, contacts):
    integration = contacts.integration
    integration.block_free_emails = True
    integration.save()
    remember_sample(integration.hubspot_connection, "contacts", Sample(records=PEOPLE))
    url = reverse("filter_count", args=[integration.pk, contacts.pk])
    body = team.admin.post(url, builder_post()).content.decode()
    assert '<span class="passing">3</span> of 4' in body and "free e-mail address (1)" in body
    integration.test_mode = True
    integration.save()
    body = team.admin.post(url, builder_post()).content.decode()
    assert '<span class="passing">1</span> of 4' in body


def test_saving_a_filter_stores_it_on_the_mapping_and_audits_it(team, contacts):
    data = builder_post(prefix="to_hubspot", groups=[("any", [("type", "eq", "2"), ("title", "contains", "sales")])])
    response = team.admin.post(reverse("filter_builder", args=[contacts.integration_id, contacts.pk]), data)
    assert response.status_code == 302
    contacts.refresh_from_db()
    assert contacts.filter_to_hubspot["conditions"][0]["match"] == "any"
    assert contacts.filter_to_other == {}
    assert AuditLog.objects.filter(action="object_mapping.changed", target_id=str(contacts.pk)).exists()


def test_a_list_operator_without_values_is_refused_with_a_message(team, contacts):
    data = builder_post(groups=[("all", [("jobtitle", "in", "")])])
    response = team.admin.post(reverse("filter_builder", args=[contacts.integration_id, contacts.pk]), data)
    assert response.status_code == 200
    assert "Give “jobtitle is one of” a value" in response.content.decode()
    contacts.refresh_from_db()
    assert contacts.filter_to_other == {}


def test_add_condition_re_renders_the_builder_with_a_new_row_without_saving(team, contacts):
    data = builder_post(groups=[("all", [("email", "is_not_empty", "")])], op="add-cond-0")
    body = team.admin.post(reverse("filter_builder", args=[contacts.integration_id, contacts.pk]), data).content.decode()
    assert 'name="to_other-g0-c1-field"' in body
    contacts.refresh_from_db()
    assert contacts.filter_to_other == {}


def test_standard_options_are_saved_from_the_filter_page(team, contacts):
    url = reverse("integration", args=[contacts.integration_id])
    back = reverse("filter_builder", args=[contacts.integration_id, contacts.pk])
    response = team.admin.post(
        url,
        {
            "block_free_emails": "on",
            "test_mode": "on",
            "test_email_marker": "qa.only",
            "test_name_marker": "SyncSmart",
            "schedule_minutes": "5",
            "next": back,
        },
    )
    assert response.status_code == 302 and response["Location"] == back
    contacts.integration.refresh_from_db()
    assert contacts.integration.block_free_emails and contacts.integration.test_email_marker == "qa.only"
