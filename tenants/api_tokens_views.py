"""API tokens in the UI: list them (name, role, prefix, last use), create one (its value shown
exactly once, on the response to the POST, never stored or logged), revoke one.

Mounted with one line in tenants/urls.py: path("api-tokens/", include("tenants.api_tokens_views")).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from syncsmart.api import tokens
from tenants.access import tenant_object_or_404, tenant_required, writes_need_role
from tenants.models import ApiToken


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label="Name",
        help_text="What will use it, e.g. “Nightly report”.",
        error_messages={"required": "Give the token a name, so you can tell it apart later."},
    )
    role = forms.ChoiceField(
        choices=ApiToken.ROLE_CHOICES, initial=ApiToken.ROLE_CHOICES[1][0], label="Access", widget=forms.RadioSelect
    )


def _page(request: HttpRequest, form: ApiTokenForm, new_token: str = "", status: int = 200) -> HttpResponse:
    rows = ApiToken.objects.filter(tenant=request.tenant).select_related("created_by", "revoked_by")
    return render(request, "tenants/api_tokens.html", {"tokens": rows, "form": form, "new_token": new_token}, status=status)


@never_cache
@tenant_required
@writes_need_role
def api_tokens(request: HttpRequest) -> HttpResponse:
    """GET lists the tenant's tokens; POST creates one and shows its value this once."""
    if request.method != "POST":
        return _page(request, ApiTokenForm())
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=422)
    try:
        token, plaintext = tokens.issue_token(request.tenant, request.user, form.cleaned_data["name"], form.cleaned_data["role"])
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return _page(request, form, status=422)
    # Rendered, not redirected: the value must not travel through the session or messages.
    return _page(request, ApiTokenForm(), new_token=plaintext, status=201)


@require_POST
@tenant_required
@writes_need_role
def api_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = tenant_object_or_404(request, ApiToken, pk=pk)
    tokens.revoke_token(token, request.user)
    messages.success(request, f"API token “{token.name}” revoked. Requests using it are refused from now on.")
    return redirect("api_tokens")


urlpatterns = [
    path("", api_tokens, name="api_tokens"),
    path("<int:pk>/revoke/", api_token_revoke, name="api_token_revoke"),
]
