"""Cursor pagination: stable under inserts (new runs and events arrive all the time), and
cheap on big tables because it seeks by an indexed column instead of counting offsets."""

from rest_framework.pagination import CursorPagination


class ApiCursorPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    # Each view sets `ordering` to an indexed, (nearly) unique column.
    ordering = "-id"
