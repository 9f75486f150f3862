"""Helpers shared by the incident pages: htmx detection, visibility-first lookups,
role checks after visibility (so an uncleared user always gets 404), and rendering of
refused forms (htmx swaps only what the page's response handling allows: 409 and 422)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from core.errors import Forbidden
from incidents.models import Incident
from incidents.selectors import incident_get_visible

FORM_ERROR_STATUS = 422


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def visible_incident(request: HttpRequest, pk: Any) -> Incident:
    return incident_get_visible(user=request.user, pk=pk)


def require_perm(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise Forbidden(f"Your role does not allow this (needs {perm}).")


def assignable_users() -> QuerySet:
    """Active people whose role lets them see incidents: the candidates for commander."""
    user_model = get_user_model()
    return (
        user_model.objects.filter(
            is_active=True, groups__permissions__codename="view_incident", groups__permissions__content_type__app_label="incidents"
        )
        .distinct()
        .order_by("username")
        .only("id", "username", "display_name")
    )


def render_partial(request: HttpRequest, template: str, context: dict, *, status: int = 200, trigger: str | None = None) -> HttpResponse:
    response = render(request, template, context, status=status)
    if trigger:
        response["HX-Trigger"] = trigger
    return response
