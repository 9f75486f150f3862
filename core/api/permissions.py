"""Fail-closed API permissions.

Every API view declares, per action (viewsets) or HTTP method (APIViews), what a
caller needs::

    required_permissions = {
        "list": Rule(perm="incidents.view_incident"),          # scope "read" implied
        "create": Rule(perm="incidents.add_incident"),          # scope "write" implied
        "post": Rule(perm=None, scope="intake"),               # any caller with the scope
    }

A view that declares nothing, or an action missing from its declaration, is denied.
Token callers also need the scope; session callers have every scope but admin-only
actions still require the role's permission.
"""

from __future__ import annotations

from dataclasses import dataclass

from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

SAFE = {"get", "head", "options"}
SCOPES = ("read", "write", "intake", "admin")


@dataclass(frozen=True)
class Rule:
    perm: str | None = None
    scope: str | None = None  # defaults: read for safe methods, write otherwise
    public: bool = False  # no authentication at all (health, schema)


PUBLIC = Rule(public=True)
AUTHENTICATED = Rule()


def _lookup(view, request) -> Rule | None:
    spec = getattr(view, "required_permissions", None)
    if not spec:
        return None
    method = request.method.lower()
    if method == "head":
        method = "get"
    action = getattr(view, "action", None)
    if action and action in spec:
        return spec[action]
    if method == "options":
        return spec.get("options", AUTHENTICATED)
    return spec.get(method)


class DeclaredPermissions(BasePermission):
    def has_permission(self, request, view) -> bool:
        if request.method.lower() not in ("head", "options") and not hasattr(view, request.method.lower()):
            return True  # nothing handles it: DRF answers 405 with Allow, which protects nothing and helps clients
        rule = _lookup(view, request)
        if rule is None:
            return False
        if rule.public:
            return True
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        scope = rule.scope or ("read" if request.method.lower() in SAFE else "write")
        token = getattr(request, "auth", None)
        scopes = getattr(token, "scope_list", None)
        if scopes is not None and scope not in scopes and "admin" not in scopes:
            raise PermissionDenied(f"This token lacks the '{scope}' scope needed here.")
        if rule.perm and not user.has_perm(rule.perm):
            raise PermissionDenied(f"Your role does not allow this (needs {rule.perm}).")
        return True
