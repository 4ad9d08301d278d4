"""Cursor pagination: stable under inserts (new runs and events arrive all the time), and
cheap on big tables because it seeks by an indexed column instead of counting offsets."""

import re

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination

_POSITIVE_INT = re.compile(r"[0-9]{1,6}")


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

    def get_page_size(self, request) -> int:
        """page_size as the schema states it (1–max_page_size); anything else is a 400, not
        silently the default."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not _POSITIVE_INT.fullmatch(raw) or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: [f"A whole number from 1 to {self.max_page_size}."]})
        return int(raw)

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
        return parameters
