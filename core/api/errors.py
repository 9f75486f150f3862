"""One JSON error shape for the whole API: RFC 9457 problem details with field errors."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_handler

from core.errors import ApplicationError

logger = logging.getLogger(__name__)

PROBLEM_TYPE = "https://firebreak.example.org/problems/"


def problem(status_code: int, title: str, detail: str, errors: dict | None = None, **extra) -> Response:
    body = {
        "type": PROBLEM_TYPE + title.lower().replace(" ", "-"),
        "title": title,
        "status": status_code,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    response = Response(body, status=status_code)
    response.content_type = "application/problem+json"
    return response


def _flatten(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            if isinstance(value, dict):
                for sub, msgs in _flatten(value).items():
                    out[f"{key}.{sub}"] = msgs
            elif isinstance(value, list):
                flat: list[str] = []
                for i, v in enumerate(value):
                    if isinstance(v, dict):
                        for sub, msgs in _flatten(v).items():
                            out[f"{key}[{i}].{sub}"] = msgs
                    else:
                        flat.append(str(v))
                if flat:
                    out[key] = flat
            else:
                out[key] = [str(value)]
        return out
    if isinstance(detail, list):
        return {"non_field_errors": [str(d) for d in detail]}
    return {"non_field_errors": [str(detail)]}


def problem_exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        return problem(exc.status_code, exc.title, exc.message, exc.errors or None, **exc.extra)
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return problem(400, "Invalid input", "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()), errors)
    if isinstance(exc, Http404):
        return problem(404, "Not found", "Not found.")
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django log it and answer 500
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        first = next(iter(errors.items()))
        detail = f"{first[0]}: {first[1][0]}" if first[0] != "non_field_errors" else first[1][0]
        out = problem(400, "Invalid input", detail, errors)
    else:
        titles = {
            400: "Invalid input",
            401: "Not authenticated",
            403: "Not allowed",
            404: "Not found",
            405: "Method not allowed",
            406: "Not acceptable",
            409: "Conflict",
            415: "Unsupported media type",
            429: "Too many requests",
        }
        code = response.status_code
        detail = exc.detail if isinstance(getattr(exc, "detail", None), str) else str(getattr(exc, "detail", ""))
        out = problem(code, titles.get(code, "Error"), detail or titles.get(code, "Error"))
    for header in ("WWW-Authenticate", "Retry-After", "Allow"):
        if header in response:
            out[header] = response[header]
    if response.status_code == status.HTTP_401_UNAUTHORIZED and "WWW-Authenticate" not in out:
        out["WWW-Authenticate"] = 'Bearer realm="api"'
    return out
