"""Errors a service raises; views map them once (HTML and API) to 400/403/404/409."""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    status_code = 400
    title = "Request could not be completed"

    def __init__(self, message: str, *, errors: dict[str, list[str]] | None = None, extra: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        self.extra = extra or {}


class ValidationError(ApplicationError):
    status_code = 400
    title = "Invalid input"

    @classmethod
    def for_field(cls, field: str, message: str) -> ValidationError:
        return cls(message, errors={field: [message]})


class NotFound(ApplicationError):
    """Missing and forbidden objects get the same answer, so nobody learns what exists."""

    status_code = 404
    title = "Not found"


class Forbidden(ApplicationError):
    """The caller may see the object but lacks the role or scope for this action."""

    status_code = 403
    title = "Not allowed"


class Conflict(ApplicationError):
    """A stale write or an illegal state change; `extra` carries the current state."""

    status_code = 409
    title = "Conflict"
