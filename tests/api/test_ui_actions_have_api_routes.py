"""The REST API can do what the UI does (issue 20): every action a customer page posts to is
walked here and must name its API route, which must exist in the OpenAPI schema with that method.

Actions are found in the templates themselves (a form's action= or an htmx hx-post/put/patch/
delete), plus the forms that post back to their own page; a new UI action without an API route
fails this test until it gets one or a stated reason it is not an API's business."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from drf_spectacular.generators import SchemaGenerator

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
TARGET = re.compile(r"""(?:action|hx-post|hx-put|hx-patch|hx-delete)="\{% url '([a-z_:]+)'""")
SAME_PAGE_FORM = re.compile(r"""<form\b(?![^>]*\baction=)[^>]*\bmethod="post\"""")

# Templates whose forms post back to their own page: the page's URL name.
SAME_PAGE = {
    "mappings/integration.html": "integration",
    "mappings/editor.html": "mapping_editor",
    "mappings/historical.html": "historical",
    "mappings/sandbox_record.html": "sandbox_record",
    "go_live/page.html": "go_live",
    "mappings/preview.html": "preview",
    "tenants/api_tokens.html": "api_tokens",
    "tenants/invitation.html": "invitation",
    "registration/login.html": "login",
    "registration/signup.html": "signup",
    "registration/signup_confirm.html": "signup_confirm",
    "registration/password_reset_form.html": "password_reset",
    "registration/password_reset_confirm.html": "password_reset_confirm",
    "onboarding/account.html": "onboarding_step",
    "onboarding/hubspot.html": "onboarding_step",
    "onboarding/system.html": "onboarding_step",
    "onboarding/credentials.html": "onboarding_step",
    "onboarding/objects.html": "onboarding_step",
    "onboarding/finish.html": "onboarding_step",
}

# UI action -> the API route doing the same through the same action ("METHOD /api/path").
API_ROUTE = {
    "integration": "PATCH /api/integrations/{id}/",
    "main_switch": "POST /api/integrations/{id}/switch/",
    "sync_now": "POST /api/integrations/{id}/sync/",
    "mapping_editor": "PATCH /api/object-mappings/{id}/",
    "field_add": "POST /api/field-mappings/",
    "field_update": "PATCH /api/field-mappings/{id}/",
    "field_delete": "DELETE /api/field-mappings/{id}/",
    "field_restore": "POST /api/field-mappings/removed/{removal}/restore/",
    "restore_defaults": "POST /api/integrations/{id}/restore-defaults/",
    "default_upgrades_apply": "POST /api/integrations/{id}/default-upgrades/apply/",
    "filter_builder": "PATCH /api/object-mappings/{id}/filters/",
    "filter_count": "GET /api/object-mappings/{id}/filters/",
    "historical": "POST /api/integrations/{id}/historical-sync/",
    "historical_cancel": "POST /api/runs/{id}/cancel/",
    "retry_event": "POST /api/events/{id}/retry/",
    "retry_cause": "POST /api/integrations/{id}/sync/",
    "preview": "POST /api/integrations/{id}/preview/",
    "refresh_fields": "POST /api/integrations/{id}/refresh-fields/",
    "preview_cancel": "POST /api/previews/{id}/cancel/",
    "resolve_match": "POST /api/ambiguous-matches/{id}/resolve/",
    # The go-live page's preview and switch (its roll-back: POST /api/integrations/{id}/go-live/roll-back/).
    "go_live": "POST /api/integrations/{id}/go-live/switch/",
    "held_deletions": "POST /api/object-mappings/{id}/held-deletions/confirm/",
    "record_retry": "POST /api/object-mappings/{id}/records/retry/",
    "record_resync": "POST /api/object-mappings/{id}/records/resync/",
    "record_unlink": "POST /api/object-mappings/{id}/records/unlink/",
    "conflict_resolve": "POST /api/conflicts/{id}/resolve/",
    "conflicts_bulk": "POST /api/conflicts/resolve/",
}

# Not an API's business, each with why.
NOT_API = {
    "login": "signing in to the web UI; the API authenticates each request with a token",
    "logout": "signing out of the web UI",
    "signup": "creating a person's account needs the person",
    "signup_confirm": "confirming a person's e-mail address needs the person",
    "password_reset": "a person's password",
    "password_reset_confirm": "a person's password",
    "invitation": "accepting an invitation is the invited person's own act",
    "api_tokens": "tokens are created in person: a token never mints another token",
    "api_token_revoke": "tokens are revoked in person (a leaked token must not revoke the others)",
    "team_invite": "team changes need an owner; API tokens act as admin or viewer, never owner",
    "team_change_role": "team changes need an owner; API tokens act as admin or viewer, never owner",
    "team_remove": "team changes need an owner; API tokens act as admin or viewer, never owner",
    "team_revoke": "team changes need an owner; API tokens act as admin or viewer, never owner",
    "onboarding_step": "the installer's HubSpot OAuth consent needs a person; its result is POST /api/integrations/",
    "sandbox_record": "edits a record inside the demo's emulator, not SyncSmart's configuration",
    "tenant_switch": "which tenant the web session shows; a token belongs to one tenant",
    "team_alert_emails": "a person's own choice to receive alert e-mails; a token is not a person",
}
# Known gaps, listed so they are visible rather than silently missing.
NOT_YET: dict[str, str] = {}
STAFF = "staff_"  # the staff console is for SyncSmart staff, not the customer API


def ui_actions() -> set[str]:
    found: set[str] = set()
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        found |= set(TARGET.findall(text))
        relative = path.relative_to(TEMPLATES).as_posix()
        if SAME_PAGE_FORM.search(text):
            assert relative in SAME_PAGE, f"{relative} posts to its own page: name that page in SAME_PAGE"
            found.add(SAME_PAGE[relative])
    return {name for name in found if not name.startswith(STAFF)}


def schema_routes() -> set[str]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {f"{method.upper()} {path}" for path, ops in schema["paths"].items() for method in ops}


def test_every_ui_action_has_an_api_route_or_a_stated_reason():
    unaccounted = sorted(ui_actions() - set(API_ROUTE) - set(NOT_API) - set(NOT_YET))
    assert unaccounted == [], f"UI actions with no API route: {unaccounted}"


@pytest.mark.parametrize("ui_name", sorted(API_ROUTE))
def test_each_named_api_route_exists_with_its_method(ui_name):
    assert API_ROUTE[ui_name] in schema_routes()


# Pages with more than one action behind one URL name: each action's API route.
MORE_ROUTES = [
    "POST /api/integrations/{id}/go-live/preview/",
    "POST /api/integrations/{id}/go-live/roll-back/",
    "GET /api/integrations/{id}/go-live/",
    "GET /api/held-deletions/",
    "POST /api/object-mappings/{id}/held-deletions/reject/",
]


@pytest.mark.parametrize("route", MORE_ROUTES)
def test_the_pages_other_actions_have_their_routes_too(route):
    assert route in schema_routes()


def test_the_walk_finds_the_actions_it_should():
    found = ui_actions()
    assert {"main_switch", "field_add", "field_delete", "retry_event", "filter_builder", "integration"} <= found
