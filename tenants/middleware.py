from django.conf import settings
from django.utils.functional import SimpleLazyObject

from tenants.access import current_membership


class CurrentTenantMiddleware:
    """Makes `request.membership` available lazily to templates and views."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.lazy_membership = SimpleLazyObject(lambda: current_membership(request))
        return self.get_response(request)


class PermissionsPolicyMiddleware:
    """Sends settings.PERMISSIONS_POLICY: browser features (camera, geolocation …) no page uses."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = getattr(settings, "PERMISSIONS_POLICY", "")

    def __call__(self, request):
        response = self.get_response(request)
        if self.policy:
            response.headers.setdefault("Permissions-Policy", self.policy)
        return response
