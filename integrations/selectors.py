"""Reads for the integrations pages: mailboxes, alert sources and the mail quarantine."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Max, Q, QuerySet

from core.errors import NotFound
from integrations.models import AlertSource, InboundMessage, Mailbox, MessageState

QUARANTINE_PERM = "integrations.review_quarantine"


def can_review_quarantine(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.has_perm(QUARANTINE_PERM))


def mailbox_overview() -> QuerySet[Mailbox]:
    return Mailbox.objects.select_related("default_harm_category").annotate(
        quarantined=Count("messages", filter=Q(messages__state=MessageState.QUARANTINED)),
        last_message_at=Max("messages__fetched_at"),
    )


def alert_source_overview() -> QuerySet[AlertSource]:
    return AlertSource.objects.select_related("token", "token__user").annotate(
        open_links=Count("links", filter=~Q(links__state="resolved") & ~Q(links__dedup_key__startswith="group:")),
    )


def quarantine_list(*, user: Any, state: str | None = MessageState.QUARANTINED) -> QuerySet[InboundMessage]:
    if not can_review_quarantine(user):
        raise NotFound("Not found.")
    qs = InboundMessage.objects.select_related("mailbox", "decided_by", "incident").defer("headers", "references")
    if state:
        qs = qs.filter(state=state)
    else:
        qs = qs.filter(Q(state=MessageState.QUARANTINED) | Q(decided_at__isnull=False))
    return qs.order_by("-fetched_at", "-id")


def inbound_get(*, user: Any, pk: int) -> InboundMessage:
    if not can_review_quarantine(user):
        raise NotFound("Not found.")
    message = InboundMessage.objects.select_related("mailbox", "decided_by", "incident").filter(pk=pk).first()
    if message is None:
        raise NotFound("No such message.")
    return message
