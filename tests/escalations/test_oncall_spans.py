"""The materialised spans (what routing, the API and the iCal feed read) agree
with the pure functions for random schedules across DST changes."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escalations import oncall, schedule_selectors, schedule_services
from escalations.models import OnCallSpan
from tests.escalations.factories_schedules import people
from tests.escalations.test_oncall_properties import scenario

pytestmark = pytest.mark.django_db

names = itertools.count()


@pytest.fixture
def users():
    return people(*(f"p{i}" for i in range(1, 10)))


def as_payload(rot, by_index):
    return {
        "name": f"Layer {rot.layer}",
        "layer": rot.layer,
        "members": [by_index[m].pk for m in rot.members],
        "shift_unit": rot.shift_unit,
        "shift_length": rot.shift_length,
        "handoff_time": rot.handoff_time.isoformat("minutes"),
        "start_date": rot.start_date.isoformat(),
        "restrictions": [
            {
                "weekdays": sorted(r.weekdays),
                "start": r.start.isoformat("minutes"),
                "end": r.end.isoformat("minutes"),
                **({"time_zone": r.time_zone} if r.time_zone else {}),
            }
            for r in rot.restrictions
        ],
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=scenario(layers=2), cut=st.floats(0.05, 0.6), length=st.floats(0.05, 0.5))
def test_materialised_spans_agree_with_the_pure_function(users, case, cut, length):
    zone, rots, start, end = case
    by_index = {i: users[i - 1] for i in range(1, 10)}
    schedule = schedule_services.schedule_create(
        actor=None, name=f"Random {next(names)}", time_zone=zone, rotations=[as_payload(r, by_index) for r in rots], now=start
    )
    spec = schedule_selectors.schedule_spec(schedule=schedule)
    assert schedule_selectors.schedule_shifts_between(schedule=schedule, start=start, end=end) == oncall.shifts_between(spec, start, end)

    o_start = (start + (end - start) * cut).replace(microsecond=0)
    o_end = o_start + max((end - start) * length, timedelta(minutes=1))
    schedule_services.override_create(actor=None, schedule=schedule, user=users[0], start=o_start, end=o_end, now=start)
    schedule.refresh_from_db()
    spec = schedule_selectors.schedule_spec(schedule=schedule)
    from_spans = schedule_selectors.schedule_shifts_between(schedule=schedule, start=start, end=end)
    assert from_spans == oncall.shifts_between(spec, start, end)
    mid = o_start + (o_end - o_start) / 2
    if mid < end:
        assert schedule_selectors.schedule_oncall_at(schedule=schedule, at=mid) == [users[0]]
    # Spans never overlap within a schedule.
    spans = list(OnCallSpan.objects.filter(schedule=schedule).order_by("start"))
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))
