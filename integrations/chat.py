"""Incident announcements to chat channels.

Subscribed inside the incident's transaction: the outbox row exists atomically with the
change, and the escalations engine delivers it (retries with backoff, attempts recorded,
idempotency key on every request). The message text is built at send time from the
incident as it then is, so an incident restricted in the meantime is announced without
detail (``escalations.delivery``)."""

from __future__ import annotations

from datetime import datetime

from core import events
from escalations.models import OutgoingMessage
from incidents.events import IncidentDeclared, IncidentSeverityChanged, IncidentStatusChanged
from incidents.models import Incident
from integrations.models_chat import ChatEvent, ChatWebhook


def chat_webhooks_matching(incident: Incident, event: str) -> list[ChatWebhook]:
    hooks = ChatWebhook.objects.filter(active=True, max_severity__gte=incident.severity).prefetch_related("harm_categories")
    matching = []
    for hook in hooks:
        if hook.events and event not in hook.events:
            continue
        if hook.regions and incident.region not in hook.regions:
            continue
        categories = {c.pk for c in hook.harm_categories.all()}
        if categories and incident.harm_category_id not in categories:
            continue
        matching.append(hook)
    return matching


def chat_announce(*, incident_id: int, event: str, at: datetime, before: str | int | None = None, after: str | int | None = None) -> int:
    """Queue one outbox message per matching webhook; a repeat of the same event is a no-op."""
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None:
        return 0
    queued = 0
    for hook in chat_webhooks_matching(incident, event):
        _, created = OutgoingMessage.objects.get_or_create(
            idempotency_key=f"chat:{hook.pk}:{incident.pk}:{event}:{after}:{at.isoformat()}"[:200],
            defaults={
                "incident": incident,
                "kind": "chat",
                "channel": "webhook",
                "target": hook.url,
                "payload": {"format": hook.format, "event": event, "before": before, "after": after, "webhook": hook.pk},
                "created_at": at,
                "next_attempt_at": at,
            },
        )
        queued += created
    return queued


def on_declared(event: IncidentDeclared) -> None:
    chat_announce(incident_id=event.incident_id, event=ChatEvent.DECLARED, at=event.at, after=event.severity)


def on_severity_changed(event: IncidentSeverityChanged) -> None:
    chat_announce(incident_id=event.incident_id, event=ChatEvent.SEVERITY, at=event.at, before=event.before, after=event.after)


def on_status_changed(event: IncidentStatusChanged) -> None:
    chat_announce(incident_id=event.incident_id, event=ChatEvent.STATUS, at=event.at, before=event.before, after=event.after)


def subscribe_all() -> None:
    events.subscribe(IncidentDeclared, on_declared, in_transaction=True)
    events.subscribe(IncidentSeverityChanged, on_severity_changed, in_transaction=True)
    events.subscribe(IncidentStatusChanged, on_status_changed, in_transaction=True)
