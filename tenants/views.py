from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from syncsmart.redirects import redirect_to_next
from tenants import actions
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
        user, tenant = actions.sign_up(
            form.cleaned_data["email"], form.cleaned_data["password"], form.cleaned_data["company_name"]
        )
        login(request, user, backend="tenants.auth.EmailBackend")
        request.session["tenant_id"] = tenant.pk
        messages.success(request, f"Welcome! Your workspace “{tenant.name}” is ready.")
        return redirect_to_next(request, reverse("home"))
    return render(request, "registration/signup.html", {"form": form, "next": request.GET.get("next", "")})


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
