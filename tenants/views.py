from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from syncsmart.redirects import local_path_or, redirect_to_next, safe_next_url
from tenants import signup as signup_flow
from tenants.access import switch_tenant, tenant_required
from tenants.forms import EmailAuthenticationForm, SignUpForm
from tenants.models import AuditLog


class EmailLoginView(LoginView):
    form_class = EmailAuthenticationForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True


def signup(request):
    if request.user.is_authenticated and request.method == "GET" and not request.GET.get("next"):
        return redirect("home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        next_url = safe_next_url(request, "")
        signup_flow.request_sign_up(data["email"], data["password"], data["company_name"], next_url=next_url)
        return redirect("signup_sent")
    return render(request, "registration/signup.html", {"form": form, "next": request.GET.get("next", "")})


def signup_sent(request):
    """The one answer to every valid sign-up, whether or not the address has an account."""
    return render(request, "registration/signup_sent.html", {"max_age_days": signup_flow.SIGN_UP_MAX_AGE.days})


def signup_confirm(request, token: str):
    """The e-mailed link: a button (a GET only shows it, so mail scanners that open links confirm
    nothing), then the account, its workspace and a logged-in session."""
    try:
        pending = signup_flow.pending_from_token(token)
        if request.method != "POST":
            return render(request, "registration/signup_confirm.html", {"pending": pending})
        user, tenant = signup_flow.confirm(pending)
    except signup_flow.InvalidSignUpLink as exc:
        return render(request, "registration/signup_confirm.html", {"problem": str(exc)}, status=400)
    login(request, user, backend="tenants.auth.EmailBackend")
    request.session["tenant_id"] = tenant.pk
    messages.success(request, f"Welcome! Your workspace “{tenant.name}” is ready.")
    return HttpResponseRedirect(local_path_or(pending.next_url, reverse("home")))


@require_POST
@login_required  # not tenant_required: a member of a suspended workspace must be able to switch away
def switch(request, tenant_id: int):
    membership = switch_tenant(request, tenant_id)
    messages.info(request, f"Now working in {membership.tenant.name}.")
    return redirect_to_next(request, reverse("home"))


@tenant_required
def audit_log(request):
    entries = AuditLog.objects.filter(tenant=request.tenant).select_related("actor")[:200]
    return render(request, "tenants/audit_log.html", {"entries": entries})
