from django.shortcuts import render

from tenants.access import tenant_required


@tenant_required
def home(request):
    return render(request, "mappings/home.html", {})
