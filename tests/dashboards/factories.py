import datetime as dt

from accounts.models import Clearance
from escalations.models import Escalation, OnCallSpan, Page, Schedule
from tests.accounts.factories import CompartmentFactory
from tests.incidents.factories import IncidentFactory, TimelineEventFactory

UTC = dt.UTC
DAY = dt.date(2026, 3, 10)


def at(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def incident(**fields):
    return IncidentFactory(**fields)


def status_change(inc, when: dt.datetime, before: str, to: str):
    return TimelineEventFactory(incident=inc, at=when, kind="status_changed", data={"from": before, "to": to})


def restricted_compartment(slug="csea"):
    return CompartmentFactory(slug=slug, name=slug.upper())


def clear(user, compartment):
    return Clearance.objects.create(user=user, compartment=compartment)


def page(inc, recipient, when: dt.datetime, step: int = 0):
    esc = Escalation.objects.filter(incident=inc).first() or Escalation.objects.create(
        incident=inc, policy_snapshot={}, policy_version=1, started_at=when
    )
    return Page.objects.create(escalation=esc, incident=inc, cycle=1, step=step, recipient=recipient, channel="email", created_at=when)


def oncall(user, start: dt.datetime, end: dt.datetime):
    schedule = Schedule.objects.first() or Schedule.objects.create(name="Rapid Response")
    return OnCallSpan.objects.create(schedule=schedule, user=user, start=start, end=end, source="rotation")
