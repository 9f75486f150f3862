"""What post-mortems do when something happens to an incident (wired in PostmortemsConfig.ready)."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from incidents.events import IncidentStatusChanged


def on_incident_status_changed(event: IncidentStatusChanged) -> None:
    # Runs inside the resolving transaction: the post-mortem exists exactly when the
    # resolve commits, and a retried resolve finds it (unique on incident).
    if event.after != "resolved":
        return
    from postmortems.services import postmortem_ensure_for_incident

    actor = get_user_model().objects.filter(pk=event.actor_id).first() if event.actor_id else None
    postmortem_ensure_for_incident(incident_id=event.incident_id, actor=actor)


def subscribe_all() -> None:
    from core import events

    events.subscribe(IncidentStatusChanged, on_incident_status_changed, in_transaction=True)
