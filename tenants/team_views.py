"""The team page: who is in the workspace and with which role; owners invite by e-mail, change
roles and remove members. Every change goes through tenants.actions, which writes the audit log.

Mounted in tenants/urls.py; the invitation link (/invitations/<token>/) is public."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model, login, password_validation
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from tenants import actions, team
from tenants.access import SESSION_KEY, tenant_object_or_404, tenant_required
from tenants.models import Invitation, Membership

ROLE_HELP = "Owners manage the team; admins change integrations; viewers only look."


class InviteForm(forms.Form):
    email = forms.EmailField(label="E-mail of the person to invite", widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(
        label="Their role", choices=Membership.Role.choices, initial=Membership.Role.ADMIN, help_text=ROLE_HELP
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=Membership.Role.choices)


class NewAccountForm(forms.Form):
    password = forms.CharField(
        label="Choose a password",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 10 characters; not only digits; not a common password.",
    )

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        password_validation.validate_password(password, get_user_model()(username=self.email, email=self.email))
        return password


def _require_owner(request: HttpRequest) -> None:
    if not team.is_owner(request.membership) or getattr(request, "read_only", False):
        raise PermissionDenied("Only an owner of this workspace can change the team.")


def _page(request: HttpRequest, invite_form: InviteForm | None = None, status: int = 200) -> HttpResponse:
    members = request.tenant.memberships.select_related("user").order_by("user__email")
    rows = [{"membership": m, "form": RoleForm(initial={"role": m.role}, prefix=f"m{m.pk}")} for m in members]
    invitations = Invitation.objects.filter(tenant=request.tenant, accepted_at=None, revoked_at=None)
    context = {
        "rows": rows,
        "invitations": invitations,
        "invite_form": invite_form or InviteForm(),
        "is_owner": team.is_owner(request.membership) and not getattr(request, "read_only", False),
        "max_age_days": team.INVITATION_MAX_AGE.days,
        "me": request.membership,
    }
    return render(request, "tenants/team.html", context, status=status)


@never_cache
@tenant_required
def team_page(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@tenant_required
def invite(request: HttpRequest) -> HttpResponse:
    _require_owner(request)
    form = InviteForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=422)
    try:
        invitation = team.invite(request.tenant, request.user, form.cleaned_data["email"], form.cleaned_data["role"])
    except actions.TeamError as exc:
        form.add_error("email", str(exc))
        return _page(request, form, status=422)
    messages.success(
        request, f"Invitation sent to {invitation.email}. The link works once, for {team.INVITATION_MAX_AGE.days} days."
    )
    return redirect("team")


@require_POST
@tenant_required
def change_role(request: HttpRequest, pk: int) -> HttpResponse:
    _require_owner(request)
    membership = tenant_object_or_404(request, Membership.objects.select_related("user"), pk=pk)
    form = RoleForm(request.POST, prefix=f"m{membership.pk}")
    if not form.is_valid():
        messages.error(request, "Choose Owner, Admin or Viewer.")
        return redirect("team")
    try:
        membership = actions.change_role(membership, request.user, form.cleaned_data["role"])
    except actions.TeamError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{membership.user.email} is now {membership.get_role_display()}.")
    return redirect("team")


@require_POST
@tenant_required
def remove(request: HttpRequest, pk: int) -> HttpResponse:
    _require_owner(request)
    membership = tenant_object_or_404(request, Membership.objects.select_related("user"), pk=pk)
    try:
        actions.remove_member(membership, request.user)
    except actions.TeamError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{membership.user.email} no longer has access to {request.tenant.name}.")
    return redirect("team")


@require_POST
@tenant_required
def alert_emails(request: HttpRequest) -> HttpResponse:
    """Each member (not only owners) switches their own alert e-mails; view-as staff cannot."""
    if request.membership is None or getattr(request, "read_only", False):
        raise PermissionDenied("Only the member themselves can change their alert e-mails.")
    wanted = request.POST.get("alert_emails") == "1"
    actions.set_alert_emails(request.membership, request.user, wanted)
    messages.success(request, f"Alert e-mails are {'on' if wanted else 'off'} for you.")
    return redirect("team")


@require_POST
@tenant_required
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    _require_owner(request)
    invitation = tenant_object_or_404(request, Invitation, pk=pk)
    actions.revoke_invitation(invitation, request.user)
    messages.success(request, f"Invitation of {invitation.email} withdrawn; its link no longer works.")
    return redirect("team")


@never_cache
def accept(request: HttpRequest, token: str) -> HttpResponse:
    """The e-mailed link: join with the invitation's role, creating an account when there is none."""
    try:
        invitation = team.invitation_from_token(token)
    except team.InvalidInvitation as exc:
        return render(request, "tenants/invitation.html", {"problem": str(exc)}, status=400)
    context: dict = {"invitation": invitation}
    User = get_user_model()
    if request.user.is_authenticated:
        if request.user.email.lower() != invitation.email.lower():
            context["problem"] = (
                f"This invitation is for {invitation.email}, and you are logged in as {request.user.email}. "
                "Log out, then open the link again."
            )
            return render(request, "tenants/invitation.html", context, status=403)
        if request.method == "POST":
            return _join(request, invitation, request.user)
        return render(request, "tenants/invitation.html", context)
    if User.objects.filter(email__iexact=invitation.email).exists():
        context["login_url"] = reverse("login") + "?next=" + request.path
        return render(request, "tenants/invitation.html", context)
    form = NewAccountForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        user = User.objects.create_user(username=invitation.email, email=invitation.email, password=form.cleaned_data["password"])
        login(request, user, backend="tenants.auth.EmailBackend")
        return _join(request, invitation, user)
    context["form"] = form
    return render(request, "tenants/invitation.html", context, status=422 if form.errors else 200)


def _join(request: HttpRequest, invitation: Invitation, user) -> HttpResponse:
    try:
        membership = actions.accept_invitation(invitation, user)
    except actions.TeamError as exc:
        return render(request, "tenants/invitation.html", {"problem": str(exc)}, status=400)
    request.session[SESSION_KEY] = membership.tenant_id
    messages.success(request, f"Welcome to {membership.tenant.name}. Your role: {membership.get_role_display()}.")
    return redirect("home")


urlpatterns = [
    path("team/", team_page, name="team"),
    path("team/invite/", invite, name="team_invite"),
    path("team/alert-emails/", alert_emails, name="team_alert_emails"),
    path("team/members/<int:pk>/role/", change_role, name="team_change_role"),
    path("team/members/<int:pk>/remove/", remove, name="team_remove"),
    path("team/invitations/<int:pk>/revoke/", revoke, name="team_revoke"),
    path("invitations/<str:token>/", accept, name="invitation"),
]
