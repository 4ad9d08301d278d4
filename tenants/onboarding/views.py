"""The installer wizard's pages. Each step reads and writes OnboardingProgress, so progress survives
a closed browser, and every step can be reopened with its answers filled in."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from connectors.registry import system
from mappings.services import previewed
from mappings.views.gate import CONFIRMED
from mappings.views.preview import preview_rows
from syncsmart.engine import previews
from tenants import signup, team
from tenants.access import current_membership, require_write, tenant_required
from tenants.forms import SignUpForm
from tenants.models import OnboardingProgress
from tenants.onboarding import actions, steps
from tenants.onboarding.credentials import build_credential_form, run_connection_test, split_credential_form
from tenants.onboarding.finish import finish_onboarding, integration_to_preview, object_choices
from tenants.onboarding.forms import SCHEDULE_CHOICES, ObjectsForm, SystemForm, WorkspaceForm

Step = OnboardingProgress.Step


def install(request: HttpRequest) -> HttpResponse:
    """The public page a marketplace listing's "Install" button points to."""
    return render(request, "onboarding/install.html")


def resume(request: HttpRequest) -> HttpResponse:
    """Open the furthest step this customer has reached (or the account step)."""
    membership = current_membership(request)
    if membership is None:
        return redirect("onboarding_step", step=Step.ACCOUNT)
    progress = OnboardingProgress.objects.filter(tenant=membership.tenant).first()
    if progress is not None and progress.is_complete:
        return redirect("onboarding_done")
    if not membership.can_write or getattr(request, "read_only", False):
        messages.info(request, "Only an owner or admin of this workspace can run the installer.")
        return redirect("home")
    progress = progress or actions.progress_for(membership.tenant, request.user)
    return redirect("onboarding_step", step=progress.reached)


def step_view(request: HttpRequest, step: str) -> HttpResponse:
    if step == Step.ACCOUNT:
        return account(request)
    if step not in STEP_VIEWS:
        raise Http404("No such step.")
    return STEP_VIEWS[step](request)


def account(request: HttpRequest) -> HttpResponse:
    """(a) Create the account, or continue as the logged-in user."""
    if request.user.is_authenticated and current_membership(request) is not None:
        if request.method == "POST":
            membership = current_membership(request)
            require_write(request)
            progress = actions.progress_for(membership.tenant, request.user)
            return redirect("onboarding_step", step=progress.reached)
        return _render(request, None, Step.ACCOUNT, "onboarding/account.html", {})
    if request.user.is_authenticated:
        return _new_workspace(request)
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # The account exists once its e-mail is confirmed; the link continues at the HubSpot step.
        data = form.cleaned_data
        next_url = reverse("onboarding_step", args=[Step.HUBSPOT])
        signup.request_sign_up(data["email"], data["password"], data["company_name"], next_url=next_url)
        return redirect("signup_sent")
    return _render(request, None, Step.ACCOUNT, "onboarding/account.html", {"form": form})


def _new_workspace(request: HttpRequest) -> HttpResponse:
    """Logged in but in no tenant yet: only the company name is missing."""
    form = WorkspaceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        tenant = actions.create_workspace(request.user, form.cleaned_data["company_name"])
        request.session["tenant_id"] = tenant.pk
        return redirect("onboarding_step", step=Step.HUBSPOT)
    return _render(request, None, Step.ACCOUNT, "onboarding/account.html", {"workspace_form": form})


def _wizard_step(step: str):
    """Log-in, a tenant, a write role, and the step unlocked; hands the view its progress row."""

    def decorate(view):
        @tenant_required
        def wrapper(request: HttpRequest) -> HttpResponse:
            require_write(request)
            progress = actions.progress_for(request.tenant, request.user)
            if not steps.may_open(progress, step):
                messages.info(request, "Finish this step first.")
                return redirect("onboarding_step", step=progress.reached)
            return view(request, progress)

        wrapper.__name__ = view.__name__
        return wrapper

    return decorate


@_wizard_step(Step.HUBSPOT)
def hubspot(request: HttpRequest, progress: OnboardingProgress) -> HttpResponse:
    """(b) Connect HubSpot through OAuth; then confirm the portal the tokens belong to."""
    if request.method == "POST":
        if progress.hubspot_connection is None:
            messages.error(request, "Connect HubSpot first: click “Connect HubSpot” and approve access.")
            return redirect("onboarding_step", step=Step.HUBSPOT)
        actions.confirm_portal(progress, request.user)
        return redirect("onboarding_step", step=Step.SYSTEM)
    connect_url = reverse("social:begin", args=["hubspot"]) + "?next=" + reverse("onboarding_step", args=[Step.HUBSPOT])
    response = _render(
        request,
        progress,
        Step.HUBSPOT,
        "onboarding/hubspot.html",
        {
            "connect_url": connect_url,
            "hubspot": progress.answers.get("hubspot"),
            "connection": progress.hubspot_connection,
            "approval": _portal_approval(progress, request.user),
        },
    )
    return allow_form_redirect_to(response, settings.SOCIAL_AUTH_HUBSPOT_AUTHORIZATION_URL)


@_wizard_step(Step.SYSTEM)
def choose_system(request: HttpRequest, progress: OnboardingProgress) -> HttpResponse:
    """(c) Choose the other system, and whether its first account is a sandbox."""
    initial = {k: progress.answers[k] for k in ("system", "environment") if k in progress.answers}
    form = SystemForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        actions.choose_system(progress, request.user, form.cleaned_data["system"], form.cleaned_data["environment"])
        return redirect("onboarding_step", step=Step.CREDENTIALS)
    return _render(request, progress, Step.SYSTEM, "onboarding/system.html", {"form": form})


@_wizard_step(Step.CREDENTIALS)
def credentials(request: HttpRequest, progress: OnboardingProgress) -> HttpResponse:
    """(d) Credentials with inline help, saved (secrets encrypted) and tested live before going on."""
    connection = progress.other_connection
    result = None
    if request.method == "POST":
        form = build_credential_form(progress, data=request.POST)
        if form.is_valid():
            config, secrets = split_credential_form(form)
            connection = actions.save_other_connection(progress, request.user, config, secrets)
            result = run_connection_test(request.user, connection)
            if result.ok:
                actions.reach(progress, Step.OBJECTS)
                if request.POST.get("then") == "continue":
                    return redirect("onboarding_step", step=Step.OBJECTS)
            form = build_credential_form(progress)
        else:
            messages.error(request, "Some values need fixing; see the messages under each field.")
    else:
        form = build_credential_form(progress)
    tested_ok = connection is not None and connection.status == connection.Status.OK
    return _render(
        request,
        progress,
        Step.CREDENTIALS,
        "onboarding/credentials.html",
        {
            "form": form,
            "system": system(progress.answers["system"]),
            "connection": connection,
            "result": result,
            "tested_ok": tested_ok,
        },
    )


@_wizard_step(Step.OBJECTS)
def choose_objects(request: HttpRequest, progress: OnboardingProgress) -> HttpResponse:
    """(e) Objects to sync and the standard options; test mode is on unless the customer turns it off."""
    choices = object_choices(progress.answers["system"])
    options = progress.answers.get("options", {})
    initial = {
        "objects": progress.answers.get("objects", [key for key, _ in choices]),
        "block_free_emails": options.get("block_free_emails", True),
        "test_mode": options.get("test_mode", True),
        "link_only": options.get("link_only", True),
        "schedule_minutes": options.get("schedule_minutes", 5),
    }
    form = ObjectsForm(request.POST or None, initial=initial, object_choices=choices)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        actions.choose_objects(
            progress,
            request.user,
            list(data["objects"]),
            {
                "block_free_emails": data["block_free_emails"],
                "test_mode": data["test_mode"],
                "link_only": data["link_only"],
                "schedule_minutes": data["schedule_minutes"],
            },
        )
        return redirect("onboarding_step", step=Step.FINISH)
    return _render(request, progress, Step.OBJECTS, "onboarding/objects.html", {"form": form})


@_wizard_step(Step.FINISH)
def finish(request: HttpRequest, progress: OnboardingProgress) -> HttpResponse:
    """(f) Install default mappings, create the schedule, queue the first run at once."""
    labels = dict(object_choices(progress.answers["system"]))
    shown: dict = {}
    if request.method == "POST":
        problems = finish_problems(progress)
        if not problems:
            integration = integration_to_preview(progress, request.user)
            try:
                previewed.confirmed_preview(integration, previewed.install(), request.POST.get(CONFIRMED))
            except ValidationError as exc:
                shown = _finish_preview(request, integration, exc)
            else:
                finish_onboarding(progress, request.user)
                return redirect("onboarding_done")
        for problem in problems:
            messages.error(request, problem)
    return _render(
        request,
        progress,
        Step.FINISH,
        "onboarding/finish.html",
        {
            **shown,
            "chosen": [labels.get(key, key) for key in progress.answers.get("objects", [])],
            "options": progress.answers.get("options", {}),
            "schedule_label": dict(SCHEDULE_CHOICES).get(
                progress.answers.get("options", {}).get("schedule_minutes", 5), "5 minutes"
            ),
            "system": system(progress.answers["system"]),
            "problems": finish_problems(progress),
        },
    )


def _finish_preview(request: HttpRequest, integration, refused: ValidationError) -> dict:
    """Finish first shows what the first sync would do (a preview, read from both systems)."""
    preview = previewed.preview_for(integration, request.user, previewed.install())
    return {
        "integration": integration,
        "preview": preview,
        "rows": preview_rows(integration, preview),
        "categories": previews.CATEGORIES,
        "confirmed_name": CONFIRMED,
        "gate_error": " ".join(refused.messages) if request.POST.get(CONFIRMED) else "",
    }


def finish_problems(progress: OnboardingProgress) -> list[str]:
    """What still stands between the customer and a working integration, in words they can act on."""
    problems = []
    if progress.hubspot_connection is None:
        problems.append("HubSpot is not connected: go back to “Connect HubSpot”.")
    other = progress.other_connection
    if other is None or other.status != other.Status.OK:
        problems.append("The other system's connection has not passed “Test connection”: go back to “Connect it”.")
    if not progress.answers.get("objects"):
        problems.append("No object is chosen: go back to “What to sync”.")
    approval = _portal_approval(progress)
    if approval is not None and approval.status == approval.Status.PENDING:
        problems.append(
            f"HubSpot portal {approval.portal_id} is already synced by another workspace; our staff must approve "
            "a second one first. We have asked them; this page lets you finish once they have."
        )
    elif approval is not None and approval.status == approval.Status.REFUSED:
        problems.append(
            f"Our staff did not approve syncing HubSpot portal {approval.portal_id} from a second workspace. "
            "Connect a different portal, or contact support."
        )
    return problems


def _portal_approval(progress: OnboardingProgress, actor=None):
    """The staff approval this tenant needs when another tenant already syncs its HubSpot portal."""
    portal_id = (progress.answers.get("hubspot") or {}).get("portal_id", "")
    return team.portal_approval_for(progress.tenant, portal_id, actor)


@tenant_required
def done(request: HttpRequest) -> HttpResponse:
    progress = OnboardingProgress.objects.filter(tenant=request.tenant).select_related("tenant").first()
    if progress is None or not progress.is_complete:
        return redirect("onboarding_resume")
    integration = progress.tenant.integrations.order_by("-created_at").first()
    run = integration.runs.order_by("-queued_at").first() if integration else None
    return render(request, "onboarding/done.html", {"integration": integration, "run": run})


STEP_VIEWS = {
    Step.HUBSPOT: hubspot,
    Step.SYSTEM: choose_system,
    Step.CREDENTIALS: credentials,
    Step.OBJECTS: choose_objects,
    Step.FINISH: finish,
}


def _render(request, progress, step: str, template: str, context: dict) -> HttpResponse:
    previous = steps.previous_step(step)
    context.update(
        progress=progress,
        step=step,
        steps=steps.steps_for_display(progress, step),
        previous_url=reverse("onboarding_step", args=[previous]) if previous and previous != Step.ACCOUNT else None,
    )
    return render(request, template, context)


def allow_form_redirect_to(response: HttpResponse, url: str) -> HttpResponse:
    """Let this page's "Connect" form land on the vendor's consent page: browsers apply the CSP
    form-action directive to every redirect a form submission follows, and the consent page's
    origin is a setting read per request (the emulator's in the demo and tests)."""
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        response._csp_update = {"form-action": [f"{parts.scheme}://{parts.netloc}"]}
    return response
