from __future__ import annotations

from datetime import date, time

from escalations import schedule_services
from tests.accounts.factories import TeamFactory, UserFactory


def make_schedule(*, name="Rapid Response", time_zone="Europe/Dublin", team=None, rotations=(), now=None):
    """A schedule built through the services, so spans are materialised as in production."""
    return schedule_services.schedule_create(
        actor=None, name=name, time_zone=time_zone, team=team if team is not None else TeamFactory(), rotations=list(rotations), now=now
    )


def rotation(members, *, name="Primary", layer=None, unit="days", length=1, handoff=time(9), start=date(2026, 1, 5), restrictions=()):
    return {
        "name": name,
        "members": [m.pk for m in members],
        "layer": layer,
        "shift_unit": unit,
        "shift_length": length,
        "handoff_time": handoff.isoformat("minutes"),
        "start_date": start.isoformat(),
        "restrictions": list(restrictions),
    }


def people(*names):
    return [UserFactory(username=n) for n in names]
