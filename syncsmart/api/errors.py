"""One error body for every failure the API returns:

    {"error": {"code": "invalid", "message": "…", "fields": {"name": ["…"]}}}

`code` is stable for programs, `message` is for people (the same words the UI shows, since
validation is the models' and actions' own), `fields` appears on validation errors only.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from mappings.models import UNFIT

logger = logging.getLogger(__name__)

NON_FIELD_KEYS = ("non_field_errors", "__all__")
ERROR_STATUSES = {
    "400": "The request or one of its fields is not valid.",
    "401": "No valid API token (or session) was sent.",
    "403": "Your token or role may read but not change this.",
    "404": "No such object in your tenant (in the path or named in the body), or no such endpoint.",
    "409": "The request conflicts with the object's current state (e.g. a match already resolved), or it needs a "
    "finished preview first (code preview_required: the message names the preview route to call, then send its id "
    "as confirmed_preview).",
    "429": "Too many requests for this token; retry after the Retry-After seconds.",
}


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF / Django error details as {"field" or "field.sub": [messages]}."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = key if not prefix or key in NON_FIELD_KEYS else f"{prefix}.{key}"
            for sub, messages in _flatten(value, name).items():
                flat.setdefault(sub, []).extend(messages)
        return flat
    if isinstance(detail, (list, tuple)):
        if all(not isinstance(item, (dict, list, tuple)) for item in detail):
            return {prefix: [str(item) for item in detail]}
        flat = {}
        for index, item in enumerate(detail):
            for sub, messages in _flatten(item, f"{prefix}.{index}" if prefix else str(index)).items():
                flat.setdefault(sub, []).extend(messages)
        return flat
    return {prefix: [str(detail)]}


def validation_body(detail: Any) -> dict[str, Any]:
    flat = _flatten(detail)
    general = [m for key in ("", *NON_FIELD_KEYS) for m in flat.pop(key, [])]
    if general:
        message = " ".join(general)
    else:
        message = " ".join(f"{name}: {messages[0]}" for name, messages in flat.items()) or "The request is not valid."
    body: dict[str, Any] = {"code": "invalid", "message": message}
    if flat:
        body["fields"] = flat
    return body


def error_response(code: str, message: str, http_status: int, headers: dict[str, str] | None = None) -> Response:
    return Response({"error": {"code": code, "message": message}}, status=http_status, headers=headers)


def django_validation_as_drf(exc: DjangoValidationError) -> exceptions.ValidationError:
    """The same messages, each keeping its code (so a `conflict` is still one, see `_refusal`)."""

    def details(errors: list[DjangoValidationError]) -> list[exceptions.ErrorDetail]:
        return [exceptions.ErrorDetail(message, code=e.code or "invalid") for e in errors for message in e]

    if hasattr(exc, "error_dict"):
        return exceptions.ValidationError({name: details(errors) for name, errors in exc.error_dict.items()})
    return exceptions.ValidationError({"non_field_errors": details(exc.error_list)})


# A well-formed request can still be refused by the tenant's data: it names an object the tenant
# does not have (404, like such an id in the path), it conflicts with the state of its objects (409:
# a match already resolved, a record already linked, a second mapping of one object pair), or it
# does not fit the tenant's configuration (422: a filter or match key on a field the system does
# not have, an operator or normaliser that does not fit the field's type, a pair named twice; see
# syncsmart.api.body_schemas). Only when every message says so, the first listed here winning;
# anything else is a request the schema does not allow (400).
REFUSAL_STATUSES = {
    "does_not_exist": (status.HTTP_404_NOT_FOUND, "not_found"),
    "conflict": (status.HTTP_409_CONFLICT, "conflict"),
    "unique_together": (status.HTTP_409_CONFLICT, "conflict"),
    UNFIT: (status.HTTP_422_UNPROCESSABLE_ENTITY, "unprocessable"),
}
# The operations whose bodies hold filters or match rules: the only ones that answer 422.
UNFIT_STATUS = (
    "The request is well formed but does not fit the tenant's configuration: a filter condition or match key "
    "names a field the system does not have, or an operator or normaliser that does not fit the field's type, "
    "or a key names a field pair twice."
)
UNFIT_OPERATIONS = {
    ("/api/object-mappings/", "post"),
    ("/api/object-mappings/{id}/", "put"),
    ("/api/object-mappings/{id}/", "patch"),
    ("/api/object-mappings/{id}/filters/", "patch"),
}


class PreviewRequired(exceptions.APIException):
    """409 preview_required: a historical sync or turning a mapping on waits for its finished preview."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "preview_required"
    default_detail = "Preview first: confirm after you have seen what this will do."


def _codes(codes: Any) -> set[str]:
    if isinstance(codes, dict):
        return set().union(*(_codes(value) for value in codes.values())) if codes else set()
    if isinstance(codes, (list, tuple)):
        return set().union(*(_codes(value) for value in codes)) if codes else set()
    return {str(codes)}


def _refusal(exc: exceptions.ValidationError) -> tuple[int, str]:
    codes = _codes(exc.get_codes())
    if codes and codes <= REFUSAL_STATUSES.keys():
        return next(answer for code, answer in REFUSAL_STATUSES.items() if code in codes)
    return status.HTTP_400_BAD_REQUEST, "invalid"


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        exc = django_validation_as_drf(exc)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        # A bug of ours: log it (with the traceback) and still answer in the documented shape.
        logger.error("Unhandled error in API view %s", context.get("view").__class__.__name__, exc_info=exc)
        set_rollback()
        return error_response(
            "server_error", "Something went wrong on our side. It has been logged.", status.HTTP_500_INTERNAL_SERVER_ERROR
        )
    if isinstance(exc, exceptions.ValidationError):
        response.status_code, code = _refusal(exc)
        response.data = {"error": {**validation_body(exc.detail), "code": code}}
    else:
        code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        response.data = {"error": {"code": code if isinstance(code, str) else "error", "message": str(exc.detail)}}
    return response


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@authentication_classes([])
@permission_classes([])
@throttle_classes([])
def unknown_endpoint(request, *args, **kwargs) -> Response:
    """Anything under /api/ that no route matched: a JSON 404, not the site's HTML page."""
    raise exceptions.NotFound("No such API endpoint. The list of endpoints is at /api/schema/ and /api/docs/.")


# --- OpenAPI ------------------------------------------------------------------------------

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "Stable machine-readable code, e.g. invalid, not_found."},
                "message": {"type": "string", "description": "What went wrong, in words a person reads."},
                "fields": {
                    "type": "object",
                    "description": "Validation messages per field (validation errors only).",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
        }
    },
}


def add_error_responses(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: every operation documents the shared error body."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for path, path_item in result.get("paths", {}).items():
        for method, operation in path_item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            statuses = dict(ERROR_STATUSES)
            if (path, method) in UNFIT_OPERATIONS:
                statuses["422"] = UNFIT_STATUS
            for code, description in statuses.items():
                responses.setdefault(code, {"content": {"application/json": {"schema": ref}}, "description": description})
            if "429" in responses:
                responses["429"].setdefault("headers", {})["Retry-After"] = {
                    "schema": {"type": "integer"},
                    "description": "Seconds to wait before the next request.",
                }
    return result
