"""Builders for SLA tests: policies and calendars go through the services, so they are valid."""

from __future__ import annotations

from datetime import timedelta

from escalations.models import SLAPolicy
from escalations.sla_services import business_calendar_save, sla_policy_save
from incidents.services import incident_create

DUBLIN_OFFICE = {str(d): [["09:00", "17:30"]] for d in range(5)}


def only_policies(*keep: str) -> None:
    """Deactivate the shipped default policies except those named, so a test controls matching."""
    SLAPolicy.objects.exclude(name__in=keep).update(active=False)


def make_policy(name="Test policy", targets=None, **rules):
    return sla_policy_save(
        actor=None,
        data={"name": name, **rules},
        targets=targets if targets is not None else [{"metric": "acknowledge", "duration": 3600}],
    )


def make_calendar(name="Dublin office", zone="Europe/Dublin", hours=None, holidays=None):
    return business_calendar_save(
        actor=None, data={"name": name, "time_zone": zone, "working_hours": hours or DUBLIN_OFFICE}, holidays=holidays
    )


def declare(actor, **overrides):
    data = {
        "title": "Dangerous challenge spreading",
        "channel": "internal_detection",
        "harm_category": "dangerous-challenges",
        "region": "emea",
        "severity": 2,
    }
    data.update(overrides)
    return incident_create(actor=actor, data=data)


def regulator_order(actor, *, instrument, received_at, severity=2, **overrides):
    return declare(
        actor,
        channel="regulator_order",
        severity=severity,
        received_at=received_at.isoformat(),
        authority="The authority",
        legal_instrument=instrument,
        **overrides,
    )


HOUR = timedelta(hours=1)
