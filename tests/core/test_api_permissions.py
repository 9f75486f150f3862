"""Fail-closed API: every view under /api/v1/ declares what it needs, and a view
that declares nothing is denied."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView
from rest_framework.viewsets import ViewSetMixin

from core.api.permissions import AUTHENTICATED, DeclaredPermissions, Rule


def walk(patterns, prefix=""):
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route, entry


def api_views():
    found = []
    for route, pattern in walk(get_resolver("config.urls").url_patterns):
        if not route.lstrip("^").startswith("api/v1/"):
            continue
        callback = pattern.callback
        view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        found.append((route, view_class, callback))
    return found


API_VIEWS = api_views()


def test_the_walk_finds_the_api():
    routes = {route for route, _, _ in API_VIEWS}
    assert {"api/v1/me/", "api/v1/tokens/", "api/v1/schema/", "api/v1/docs/"} <= routes


def _declared_actions(view_class, callback) -> set[str]:
    if issubclass(view_class, ViewSetMixin):
        return set((getattr(callback, "actions", None) or {}).values())
    return {m for m in view_class.http_method_names if m not in ("options", "head") and hasattr(view_class, m)}


@pytest.mark.parametrize(("route", "view_class", "callback"), API_VIEWS, ids=[r for r, _, _ in API_VIEWS])
def test_every_api_view_declares_its_permissions(route, view_class, callback):
    assert view_class is not None, f"{route}: not a class-based DRF view, so its permissions cannot be checked"
    assert issubclass(view_class, APIView), f"{route}: {view_class.__name__} is not a DRF APIView"
    spec = getattr(view_class, "required_permissions", None)
    assert spec, f"{route}: {view_class.__name__} declares no required_permissions"
    assert DeclaredPermissions in view_class.permission_classes, (
        f"{route}: {view_class.__name__}.permission_classes drops DeclaredPermissions ({view_class.permission_classes})"
    )
    assert all(isinstance(rule, Rule) for rule in spec.values()), f"{route}: every declaration must be a core.api.permissions.Rule"
    undeclared = _declared_actions(view_class, callback) - set(spec)
    assert not undeclared, f"{route}: {view_class.__name__} handles {sorted(undeclared)} without declaring them (denied at run time)"


def test_public_api_views_are_few_and_known():
    public = sorted(
        route
        for route, view_class, _ in API_VIEWS
        if view_class is not None and any(rule.public for rule in (getattr(view_class, "required_permissions", None) or {}).values())
    )
    # Anything public must be a deliberate choice: intake endpoints authenticate with keys of their own.
    assert all("intake" in route or "ics" in route or "webhook" in route for route in public), public


class Undeclared(APIView):
    def get(self, request):
        return Response({"leak": True})

    def post(self, request):
        return Response({"leak": True})


class PartlyDeclared(APIView):
    required_permissions = {"get": AUTHENTICATED}

    def get(self, request):
        return Response({"ok": True})

    def post(self, request):
        return Response({"leak": True})


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_view_that_declares_nothing_is_denied_even_to_a_superuser(admin_user, method):
    request = getattr(APIRequestFactory(), method)("/api/v1/throwaway/")
    force_authenticate(request, user=admin_user)

    response = Undeclared.as_view()(request)

    assert response.status_code == 403
    assert b"leak" not in response.rendered_content


@pytest.mark.django_db
def test_a_view_that_declares_nothing_answers_anonymous_callers_401():
    response = Undeclared.as_view()(APIRequestFactory().get("/api/v1/throwaway/"))

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_an_undeclared_method_on_a_declared_view_is_denied(admin_user):
    factory = APIRequestFactory()
    allowed = factory.get("/api/v1/throwaway/")
    denied = factory.post("/api/v1/throwaway/")
    force_authenticate(allowed, user=admin_user)
    force_authenticate(denied, user=admin_user)

    assert PartlyDeclared.as_view()(allowed).status_code == 200
    assert PartlyDeclared.as_view()(denied).status_code == 403
