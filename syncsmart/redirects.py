"""The one way a view follows a `next` parameter: only to a path on this site.

    return redirect_to_next(request, reverse("home"))

Built on Django's `url_has_allowed_host_and_scheme` (which knows the tricks: `//evil`, `/\\evil`,
`https:evil`, `///evil`, control characters, `javascript:`), allowing no host at all, so `next`
can only name a local path. Anything else falls back to the given URL.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next_url(request: HttpRequest, fallback: str) -> str:
    """`next` from the form (or the query string) when it is a local path, else `fallback`."""
    return local_path_or(request.POST.get("next") or request.GET.get("next") or "", fallback)


def local_path_or(target: str, fallback: str) -> str:
    """`target` when it is a path on this site, else `fallback` (for a `next` kept elsewhere)."""
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts=set(), require_https=False):
        return target
    return fallback


def redirect_to_next(request: HttpRequest, fallback: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(safe_next_url(request, fallback))
