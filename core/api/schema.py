"""OpenAPI post-processing: every operation documents the problem+json errors it can answer.

Views declare their success bodies with drf-spectacular; the error answers come from one
place (``core.api.errors.problem_exception_handler``) for every view, so they are added
here once instead of on each view. Without them the document claims that an operation
answers only 2xx, which a client generated from it (or schemathesis) rightly rejects.
"""

from __future__ import annotations

from typing import Any

PROBLEM_COMPONENT = "Problem"
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details; `errors` names the fields that failed validation.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
    "required": ["type", "title", "status", "detail"],
    "additionalProperties": True,
}
# Answers any operation can give: bad input (parameters or body), no or bad credentials, a
# role or scope that does not allow it, an object that is missing or not visible, a state
# that forbids it, and the rate limits on tokens.
ERRORS_EVERY_OPERATION = {
    "400": "Invalid input: the field errors say which.",
    "401": "Not authenticated.",
    "403": "The role or token scope does not allow this.",
    "404": "Not found, or not visible to the caller.",
    "409": "Conflict with the object's current state.",
    "429": "Too many requests.",
}
ERRORS_WITH_BODY = {"415": "Unsupported media type."}
METHODS = {"get", "put", "patch", "post", "delete", "head", "options"}


def add_problem_responses(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    result.setdefault("components", {}).setdefault("schemas", {})[PROBLEM_COMPONENT] = PROBLEM_SCHEMA
    problem = {"application/problem+json": {"schema": {"$ref": f"#/components/schemas/{PROBLEM_COMPONENT}"}}}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            errors = dict(ERRORS_EVERY_OPERATION)
            if "requestBody" in operation:
                errors.update(ERRORS_WITH_BODY)
            for code, description in errors.items():
                responses.setdefault(code, {"description": description, "content": problem})
    return result
