"""Reads of post-mortems, scoped by the incident's visibility first: a post-mortem of a
restricted incident is as invisible as the incident (404 on every surface)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from core.errors import NotFound, ValidationError
from incidents.models import Incident
from postmortems.models import OPEN_ITEM_STATUSES, ActionItem, PostMortem, PostMortemStatus, ReviewComment, TimelineEntry

VIEW_PERM = "postmortems.view_postmortem"


def _visible_incidents(user: Any) -> QuerySet[Incident, dict[str, Any]]:
    return Incident.objects.visible_to(user).values("pk")


def postmortem_list_visible(*, user: Any, filters: dict[str, Any] | None = None) -> QuerySet[PostMortem]:
    if not (getattr(user, "is_authenticated", False) and user.has_perm(VIEW_PERM)):
        return PostMortem.objects.none()
    filters = filters or {}
    qs = PostMortem.objects.filter(incident__in=_visible_incidents(user))
    status = filters.get("status")
    if status:
        if status not in PostMortemStatus.values:
            raise ValidationError.for_field("status", f"Status is one of: {', '.join(PostMortemStatus.values)}.")
        qs = qs.filter(status=status)
    if filters.get("owner") == "me":
        qs = qs.filter(owner=user)
    today = filters.get("today") or timezone.localdate()
    return qs.select_related("incident", "owner").annotate(
        open_items=Count("action_items", filter=Q(action_items__status__in=OPEN_ITEM_STATUSES), distinct=True),
        overdue_items=Count(
            "action_items", filter=Q(action_items__status__in=OPEN_ITEM_STATUSES, action_items__due_on__lt=today), distinct=True
        ),
    )


def postmortem_get_visible(*, user: Any, pk: Any) -> PostMortem:
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise NotFound("No such post-mortem.") from None
    try:
        return postmortem_list_visible(user=user).get(pk=pk)
    except PostMortem.DoesNotExist:
        raise NotFound("No such post-mortem.") from None


def postmortem_get_for_incident(*, user: Any, incident_id: int) -> PostMortem | None:
    return postmortem_list_visible(user=user).filter(incident_id=incident_id).first()


def postmortem_detail(*, user: Any, pk: Any) -> PostMortem:
    """One post-mortem with everything its page shows, in a fixed number of queries."""
    postmortem = postmortem_get_visible(user=user, pk=pk)
    return (
        PostMortem.objects.filter(pk=postmortem.pk)
        .select_related("incident", "incident__commander", "owner", "approved_by", "published_by")
        .prefetch_related(
            "factors",
            Prefetch("timeline_entries", queryset=TimelineEntry.objects.order_by("at", "id")),
            Prefetch("action_items", queryset=ActionItem.objects.select_related("owner").order_by("due_on", "id")),
            Prefetch("comments", queryset=ReviewComment.objects.select_related("author").order_by("created_at", "id")),
        )
        .get()
    )


def action_item_list_visible(*, user: Any, filters: dict[str, Any] | None = None, today: dt.date | None = None) -> QuerySet[ActionItem]:
    if not (getattr(user, "is_authenticated", False) and user.has_perm(VIEW_PERM)):
        return ActionItem.objects.none()
    filters = filters or {}
    today = today or timezone.localdate()
    qs = ActionItem.objects.filter(postmortem__incident__in=_visible_incidents(user))
    if filters.get("postmortem") is not None:
        qs = qs.filter(postmortem_id=filters["postmortem"])
    if filters.get("overdue"):
        qs = qs.filter(status__in=OPEN_ITEM_STATUSES, due_on__lt=today)
    if filters.get("open"):
        qs = qs.filter(status__in=OPEN_ITEM_STATUSES)
    if filters.get("owner") == "me":
        qs = qs.filter(owner=user)
    return qs.select_related("owner", "postmortem", "postmortem__incident")


def action_item_get_visible(*, user: Any, postmortem: PostMortem, pk: Any) -> ActionItem:
    try:
        return action_item_list_visible(user=user, filters={"postmortem": postmortem.pk}).get(pk=int(pk))
    except (TypeError, ValueError, ActionItem.DoesNotExist):
        raise NotFound("No such action item.") from None
