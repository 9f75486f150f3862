"""Reads of policies, escalations and pages, scoped to what the caller may see."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from core.errors import NotFound
from escalations.models import Escalation, EscalationPolicy, Page
from incidents.models import Incident


def _pk(pk: Any) -> int:
    try:
        value = int(pk)
    except (TypeError, ValueError) as exc:
        raise NotFound("No such page.") from exc
    if not 0 < value < 2**63:
        raise NotFound("No such page.")
    return value


def page_can_see_all(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.has_perm("escalations.view_page"))


def page_list_visible(*, user: Any) -> QuerySet[Page]:
    """Your own pages; managers also every page of an incident they can see."""
    qs = Page.objects.select_related("incident", "recipient", "acknowledged_by", "escalation")
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if page_can_see_all(user):
        visible = Incident.objects.visible_to(user).values("pk")
        return qs.filter(incident_id__in=visible) | qs.filter(recipient=user)
    return qs.filter(recipient=user)


def page_get_visible(*, user: Any, pk: Any) -> Page:
    try:
        return page_list_visible(user=user).get(pk=_pk(pk))
    except Page.DoesNotExist as exc:
        raise NotFound("No such page.") from exc


def page_may_acknowledge(*, user: Any, page: Page) -> bool:
    return page.recipient_id == user.pk or user.has_perm("escalations.change_page")


def page_list_open_for_user(*, user: Any, limit: int = 50) -> list[Page]:
    """The bell: pages waiting for this person, newest first, one per escalation step."""
    pages = (
        Page.objects.filter(recipient=user, channel="in_app", state__in=["pending", "sent"], escalation__state="active")
        .select_related("incident")
        .order_by("-created_at", "-id")[:limit]
    )
    return list(pages)


def policy_list() -> QuerySet[EscalationPolicy]:
    return EscalationPolicy.objects.prefetch_related("steps__targets", "rules__harm_category").order_by("name")


def policy_get(*, pk: Any) -> EscalationPolicy:
    try:
        return policy_list().get(pk=_pk(pk))
    except EscalationPolicy.DoesNotExist as exc:
        raise NotFound("No such escalation policy.") from exc


def escalation_list_for_incident(*, incident: Incident) -> QuerySet[Escalation]:
    return Escalation.objects.filter(incident=incident).order_by("started_at", "id")
