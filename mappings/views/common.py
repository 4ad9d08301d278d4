"""What every page of mappings/views needs: the tenant's integration by id (another tenant's id
is a 404), and a validation error as one line of text."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest

from mappings.models import Integration
from tenants.access import tenant_object_or_404


def integration_or_404(request: HttpRequest, pk: int) -> Integration:
    queryset = Integration.objects.select_related("hubspot_connection", "other_connection", "tenant")
    return tenant_object_or_404(request, queryset, pk=pk)


def validation_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)
