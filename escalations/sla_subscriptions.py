"""What SLA clocks do when something happens to an incident.

Every handler runs inside the incident's transaction (``in_transaction=True``), so a
clock starts, pauses, stops or is recomputed atomically with the change that causes
it, and a validation error (a regulator order naming an unknown legal clock) rolls
the whole change back.
"""

from __future__ import annotations

from core import events
from core.time import db_now
from escalations import sla_services
from incidents.events import (
    IncidentAcknowledged,
    IncidentDeclared,
    IncidentFlagsChanged,
    IncidentMilestoneReached,
    IncidentSeverityChanged,
    IncidentStatusChanged,
    IncidentUpdated,
)

TERMINAL = ("resolved", "closed", "declined", "merged")
ROUTING = {"harm_category", "region", "channel"}
MATCHING_FLAGS = ("minors_involved", "imminent_risk", "media_interest", "regulatory")


def on_declared(event: IncidentDeclared) -> None:
    sla_services.sla_clocks_start(incident_id=event.incident_id, at=event.at, reason="declared", actor_id=event.actor_id)


def on_status_changed(event: IncidentStatusChanged) -> None:
    if event.reopened:
        sla_services.sla_clocks_start(incident_id=event.incident_id, at=event.at, reason="reopened", actor_id=event.actor_id)
    elif event.after in TERMINAL and event.before not in TERMINAL:
        sla_services.sla_clocks_stop(incident_id=event.incident_id, at=event.at, reason=f"incident {event.after}", actor_id=event.actor_id)
        if event.after == "resolved":
            sla_services.sla_postmortem_clock_start(incident_id=event.incident_id, at=event.at)
    elif event.after in TERMINAL:
        sla_services.sla_clocks_stop(incident_id=event.incident_id, at=event.at, reason=f"incident {event.after}", actor_id=event.actor_id)


def on_acknowledged(event: IncidentAcknowledged) -> None:
    sla_services.sla_clocks_on_milestone(incident_id=event.incident_id, milestone="acknowledged", at=event.at, actor_id=event.actor_id)


def on_milestone(event: IncidentMilestoneReached) -> None:
    sla_services.sla_clocks_on_milestone(incident_id=event.incident_id, milestone=event.milestone, at=event.at, actor_id=event.actor_id)


def on_flags_changed(event: IncidentFlagsChanged) -> None:
    at = event.at or db_now()
    before, after = event.before or {}, event.after or {}
    if bool(before.get("waiting_on_external")) != bool(after.get("waiting_on_external")):
        sla_services.sla_clocks_set_waiting(
            incident_id=event.incident_id,
            waiting=bool(after.get("waiting_on_external")),
            at=at,
            reason=str(after.get("waiting_reason") or before.get("waiting_reason") or ""),
            actor_id=event.actor_id,
        )
    changed = [f for f in MATCHING_FLAGS if bool(before.get(f)) != bool(after.get(f))]
    if changed:
        sla_services.sla_clocks_recompute(
            incident_id=event.incident_id, at=at, reason="flags changed: " + ", ".join(changed), actor_id=event.actor_id
        )


def on_severity_changed(event: IncidentSeverityChanged) -> None:
    sla_services.sla_clocks_recompute(
        incident_id=event.incident_id, at=event.at, reason=f"severity SEV{event.before} → SEV{event.after}", actor_id=event.actor_id
    )


def on_updated(event: IncidentUpdated) -> None:
    fields = sorted(ROUTING & set(event.fields))
    if fields:
        sla_services.sla_clocks_recompute(
            incident_id=event.incident_id,
            at=event.at,
            reason=", ".join(f.replace("_", " ") for f in fields) + " changed",
            actor_id=event.actor_id,
        )


def _ensure_reference_data(sender: object, using: str = "default", **kwargs: object) -> None:
    """The legal clocks and default policies are reference data: a flushed database
    (transactional tests) or a fresh install gets the missing rows back after migrate."""
    from django.db import connections

    from escalations import sla_defaults

    if "escalations_legalclock" not in connections[using].introspection.table_names():
        return
    sla_defaults.ensure(None, using=using)


def subscribe_all() -> None:
    from django.apps import apps
    from django.db.models.signals import post_migrate

    post_migrate.connect(_ensure_reference_data, sender=apps.get_app_config("escalations"), dispatch_uid="escalations.sla_defaults")
    events.subscribe(IncidentDeclared, on_declared, in_transaction=True)
    events.subscribe(IncidentStatusChanged, on_status_changed, in_transaction=True)
    events.subscribe(IncidentAcknowledged, on_acknowledged, in_transaction=True)
    events.subscribe(IncidentMilestoneReached, on_milestone, in_transaction=True)
    events.subscribe(IncidentFlagsChanged, on_flags_changed, in_transaction=True)
    events.subscribe(IncidentSeverityChanged, on_severity_changed, in_transaction=True)
    events.subscribe(IncidentUpdated, on_updated, in_transaction=True)
