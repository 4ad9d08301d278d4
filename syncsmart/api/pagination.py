"""Cursor pagination: stable under inserts (new runs and events arrive all the time), and
cheap on big tables because it seeks by an indexed column instead of counting offsets."""

from rest_framework.pagination import CursorPagination


class ApiCursorPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-id"

    def get_ordering(self, request, queryset, view):
        # Each view names its own indexed, (nearly) unique column: runs and connections have
        # UUID keys, whose order means nothing.
        ordering = getattr(view, "ordering", None) or self.ordering
        return (ordering,) if isinstance(ordering, str) else tuple(ordering)
