"""One error envelope for every API answer that is not a success.

``{"error": {"code": ..., "message": ..., "fields": {...}, "details": {...}}}``: ``code`` is
stable for programs, ``message`` is in the request's language for people, ``fields`` lists
per-field problems (each with its own code) and ``details`` carries extra machine-readable facts.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from odr.cache import REDIS_DOWN, CacheUnavailable
from odr.errors import DomainError, envelope

# A service the answer needs cannot be reached (Redis): 503, try again shortly, never a 500.
UNAVAILABLE = (CacheUnavailable, *REDIS_DOWN)
RETRY_UNAVAILABLE_SECONDS = 30


def _field_errors(detail, prefix: str = "") -> dict[str, list[dict]]:
    """Flatten DRF's nested error detail into {"field" or "list.0.field": [{code, message}]}."""
    fields: dict[str, list[dict]] = {}
    if isinstance(detail, dict):
        for name, value in detail.items():
            fields.update(_field_errors(value, f"{prefix}{name}."))
    elif isinstance(detail, list):
        if all(isinstance(item, exceptions.ErrorDetail | str) for item in detail):
            key = prefix.rstrip(".") or "non_field_errors"
            fields[key] = [
                {"code": getattr(item, "code", "invalid"), "message": str(item)} for item in detail
            ]
        else:
            for index, item in enumerate(detail):
                if item:
                    fields.update(_field_errors(item, f"{prefix}{index}."))
    else:
        key = prefix.rstrip(".") or "non_field_errors"
        fields[key] = [{"code": getattr(detail, "code", "invalid"), "message": str(detail)}]
    return fields


def _django_validation_fields(exc: DjangoValidationError) -> dict[str, list[dict]]:
    if hasattr(exc, "error_dict"):
        items = exc.error_dict.items()
    else:
        items = [("non_field_errors", exc.error_list)]
    return {
        name: [
            {"code": error.code or "invalid", "message": " ".join(error.messages)}
            for error in errors
        ]
        for name, errors in items
    }


# The codes an error answer may carry, by HTTP status: the OpenAPI schema lists them (api/schema.py)
# and schemathesis checks every answer against them. Field problems carry codes of their own.
ERROR_CODES: dict[int, list[str]] = {
    400: [
        "invalid",  # see "fields"
        "parse_error",  # the body is not valid JSON or multipart
        "bad_request",
        "invalid_idempotency_key",
        "required",
        "problem_types_required",
        "amount_negative",
        "date_in_future",
        "evidence_total_too_large",
    ],
    401: ["not_authenticated"],  # details.reason: missing_api_key or invalid_api_key
    403: ["missing_scope", "permission_denied", "actor_not_allowed", "not_allowed"],
    404: ["not_found"],
    405: ["method_not_allowed"],
    406: ["not_acceptable"],
    409: ["illegal_transition", "dispute_closed", "out_of_scope", "domain_error"],
    415: ["unsupported_media_type"],
    422: ["idempotency_key_reused"],
    429: ["throttled"],
    500: ["internal_error"],
    503: ["temporarily_unavailable"],
}
# Answers any operation may give, whatever it does.
ERROR_STATUSES_OF_EVERY_OPERATION = (401, 406, 429, 503)

CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.NotFound: "not_found",
    exceptions.Throttled: "throttled",
}


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        set_rollback()
        return Response(
            envelope(exc.code, exc.message, details=exc.details), status=exc.http_status
        )
    if isinstance(exc, DjangoValidationError):
        set_rollback()
        return Response(
            envelope(
                "invalid",
                _("The request is not valid; see the fields."),
                fields=_django_validation_fields(exc),
            ),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, UNAVAILABLE):
        set_rollback()
        return Response(
            envelope(
                "temporarily_unavailable",
                _("The service is briefly unavailable; please try again shortly."),
                details={"retry_after": RETRY_UNAVAILABLE_SECONDS},
            ),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_UNAVAILABLE_SECONDS)},
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(_("Not found."))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: let Django answer 500 and log it

    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait + 0.999))
    set_rollback()

    if isinstance(exc, exceptions.ValidationError):
        body = envelope(
            "invalid",
            _("The request is not valid; see the fields."),
            fields=_field_errors(exc.detail),
        )
    else:
        detail = exc.detail
        code = CODES.get(type(exc)) or getattr(detail, "code", None) or exc.default_code
        details = {}
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            # One code for every 401; why is in the details.
            code = "not_authenticated"
            details["reason"] = (
                "missing_api_key"
                if isinstance(exc, exceptions.NotAuthenticated)
                else "invalid_api_key"
            )
        if isinstance(exc, exceptions.Throttled):
            details["retry_after"] = int(exc.wait + 0.999) if exc.wait else 1
            message = _("Too many requests; try again in %(seconds)s seconds.") % {
                "seconds": details["retry_after"]
            }
        else:
            message = (
                str(detail) if not isinstance(detail, dict | list) else str(exc.default_detail)
            )
        body = envelope(code, message, details=details)
    return Response(body, status=exc.status_code, headers=headers)
