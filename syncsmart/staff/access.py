"""Who may open the staff console: staff users only. Anonymous visitors are sent to log in;
customers (logged in, not staff) get a 403 rather than a log-in page they cannot pass."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied


def staff_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not (request.user.is_active and request.user.is_staff):
            raise PermissionDenied("The staff console is for SyncSmart staff.")
        return view(request, *args, **kwargs)

    return wrapper
