"""What escalations do when something happens to an incident.

Every handler runs inside the incident's transaction (``in_transaction=True``):
the escalation row exists, or stops, atomically with the incident change, so a
crash after commit cannot lose a page.
"""

from __future__ import annotations

from core import events
from escalations.models import EscalationState, Page
from escalations.services import escalations_start, escalations_stop
from incidents.events import IncidentAcknowledged, IncidentDeclared, IncidentSeverityChanged, IncidentStatusChanged, IncidentUpdated
from incidents.models import TERMINAL_STATUSES


def on_incident_declared(event: IncidentDeclared) -> None:
    escalations_start(incident_id=event.incident_id, at=event.at, reason=f"declared SEV{event.severity}")


def on_severity_changed(event: IncidentSeverityChanged) -> None:
    if event.raised:
        escalations_start(incident_id=event.incident_id, at=event.at, reason=f"severity raised to SEV{event.after}")


ROUTING_FIELDS = {"harm_category", "region", "channel"}


def on_incident_updated(event: IncidentUpdated) -> None:
    """A new category, region or channel can make other policies match (an incident
    re-filed as CSEA in EMEA pages the CSEA policy); those start, running ones go on."""
    changed = sorted(ROUTING_FIELDS & set(event.fields))
    if changed:
        escalations_start(incident_id=event.incident_id, at=event.at, reason=f"{', '.join(changed).replace('_', ' ')} changed")


def on_status_changed(event: IncidentStatusChanged) -> None:
    if event.after in TERMINAL_STATUSES:
        escalations_stop(incident_id=event.incident_id, at=event.at, state=EscalationState.RESOLVED, reason=f"incident {event.after}")
    elif event.reopened:
        escalations_start(incident_id=event.incident_id, at=event.at, reason="incident reopened")


def on_acknowledged(event: IncidentAcknowledged) -> None:
    """An acknowledgement in the app stops the escalations that paged this person; when
    none did (the commander takes it from the incident page), it stops them all, so
    Legal's own policy keeps paging Legal when a responder acknowledges theirs."""
    from accounts.models import User

    actor = User.objects.filter(pk=event.actor_id).first() if event.actor_id else None
    reason = f"acknowledged by {actor.get_username()}" if actor else "acknowledged"
    was_paged = actor is not None and Page.objects.filter(incident_id=event.incident_id, recipient=actor).exists()
    escalations_stop(
        incident_id=event.incident_id,
        at=event.at,
        state=EscalationState.ACKNOWLEDGED,
        reason=reason,
        actor=actor,
        only_paging=actor if was_paged else None,
    )


def subscribe_all() -> None:
    events.subscribe(IncidentDeclared, on_incident_declared, in_transaction=True)
    events.subscribe(IncidentSeverityChanged, on_severity_changed, in_transaction=True)
    events.subscribe(IncidentStatusChanged, on_status_changed, in_transaction=True)
    events.subscribe(IncidentAcknowledged, on_acknowledged, in_transaction=True)
    events.subscribe(IncidentUpdated, on_incident_updated, in_transaction=True)

    from escalations.sla_subscriptions import subscribe_all as subscribe_sla

    subscribe_sla()
