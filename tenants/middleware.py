from django.utils.functional import SimpleLazyObject

from tenants.access import current_membership


class CurrentTenantMiddleware:
    """Makes `request.membership` available lazily to templates and views."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.lazy_membership = SimpleLazyObject(lambda: current_membership(request))
        return self.get_response(request)
