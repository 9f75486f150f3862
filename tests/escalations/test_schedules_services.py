from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.errors import Conflict, Forbidden, ValidationError
from core.models import AuditEvent
from escalations import oncall, schedule_selectors, schedule_services
from escalations.models import OnCallSpan, Override, Schedule
from tests.escalations.factories_schedules import make_schedule, people, rotation

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 25, 12, tzinfo=UTC)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def crew():
    return people("ann", "bob", "cat")


@pytest.fixture
def schedule(crew):
    return make_schedule(rotations=[rotation(crew)], now=NOW)


def test_create_materialises_spans_that_agree_with_the_pure_function(schedule):
    assert schedule.spans_start == NOW - timedelta(days=1)
    assert schedule.spans_end == NOW + timedelta(days=30)
    start, end = NOW, NOW + timedelta(days=10)
    from_spans = schedule_selectors.schedule_shifts_between(schedule=schedule, start=start, end=end)
    computed = oncall.shifts_between(schedule_selectors.schedule_spec(schedule=schedule), start, end)
    assert from_spans == computed
    assert OnCallSpan.objects.filter(schedule=schedule).count() >= 30


def test_reads_outside_the_materialised_window_are_computed(schedule, crew):
    far = NOW + timedelta(days=90)
    users = schedule_selectors.schedule_oncall_at(schedule=schedule, at=far)
    assert len(users) == 1 and users[0] in crew


def test_oncall_at_returns_the_member_whose_shift_it_is(schedule, crew):
    # Rotation starts Monday 2026-01-05 09:00 Dublin with ann, bob, cat; 79 daily shifts have passed.
    assert schedule_selectors.schedule_oncall_at(schedule=schedule, at=utc(2026, 3, 25, 12)) == [crew[79 % 3]]


@pytest.mark.parametrize(
    ("field", "fields"),
    [
        ("time_zone", {"time_zone": "Mars/Olympus"}),
        ("name", {"name": "  "}),
    ],
)
def test_schedule_create_refuses_bad_input_naming_the_field(field, fields):
    data = {"name": "X", "time_zone": "UTC", **fields}
    with pytest.raises(ValidationError) as exc:
        schedule_services.schedule_create(actor=None, **data)
    assert field in exc.value.errors
    assert not Schedule.objects.exists()


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("members", {"members": []}),
        ("shift_length", {"shift_length": 0}),
        ("shift_length", {"shift_length": -3}),
        ("shift_unit", {"shift_unit": "fortnights"}),
        ("handoff_time", {"handoff_time": "25:00"}),
        ("start_date", {"start_date": "soon"}),
        ("restrictions[0].weekdays", {"restrictions": [{"weekdays": [], "start": "09:00", "end": "17:00"}]}),
        ("restrictions[0].weekdays", {"restrictions": [{"weekdays": [7], "start": "09:00", "end": "17:00"}]}),
        ("restrictions[0].start", {"restrictions": [{"weekdays": [1], "start": "nine", "end": "17:00"}]}),
        ("restrictions[0].time_zone", {"restrictions": [{"weekdays": [1], "start": "09:00", "end": "17:00", "time_zone": "Nowhere/X"}]}),
    ],
)
def test_rotation_create_refuses_bad_input_naming_the_field(schedule, crew, field, change):
    data = {**rotation(crew, name="Secondary"), **change}
    data.pop("layer")
    with pytest.raises(ValidationError) as exc:
        schedule_services.rotation_create(actor=None, schedule=schedule, **data)
    assert field in exc.value.errors, exc.value.errors
    assert schedule.rotations.count() == 1


def test_rotation_in_a_taken_layer_is_refused(schedule, crew):
    with pytest.raises(ValidationError) as exc:
        schedule_services.rotation_create(actor=None, schedule=schedule, **rotation(crew, name="Again", layer=1))
    assert "layer" in exc.value.errors


def test_rotation_update_rebuilds_spans(schedule, crew):
    rot = schedule.rotations.get()
    schedule_services.rotation_update(actor=None, rotation=rot, members=[crew[2].pk], now=NOW)
    schedule.refresh_from_db()
    assert set(OnCallSpan.objects.filter(schedule=schedule).values_list("user_id", flat=True)) == {crew[2].pk}
    assert schedule_selectors.schedule_oncall_at(schedule=schedule, at=NOW) == [crew[2]]


def test_override_wins_and_is_audited(schedule, crew, lead, make_user):
    stand_in = make_user("gus")
    override = schedule_services.override_create(
        actor=lead, schedule=schedule, user=stand_in, start=NOW, end=NOW + timedelta(hours=3), reason="swap", now=NOW
    )
    schedule.refresh_from_db()
    assert schedule_selectors.schedule_oncall_at(schedule=schedule, at=NOW + timedelta(hours=1)) == [stand_in]
    assert schedule_selectors.schedule_oncall_at(schedule=schedule, at=NOW + timedelta(hours=3)) != [stand_in]
    assert AuditEvent.objects.filter(action="override.create", object_id=str(override.pk), actor=lead).exists()
    schedule_services.override_delete(actor=lead, override=override, now=NOW)
    schedule.refresh_from_db()
    assert stand_in not in schedule_selectors.schedule_oncall_at(schedule=schedule, at=NOW + timedelta(hours=1))


def test_overlapping_overrides_are_refused_with_a_clear_error(schedule, make_user):
    gus, hal = make_user("gus"), make_user("hal")
    schedule_services.override_create(actor=None, schedule=schedule, user=gus, start=NOW, end=NOW + timedelta(hours=3), now=NOW)
    with pytest.raises(ValidationError, match="overlaps an existing override"):
        schedule_services.override_create(
            actor=None, schedule=schedule, user=hal, start=NOW + timedelta(hours=2), end=NOW + timedelta(hours=5), now=NOW
        )
    # Touching end to start is not an overlap.
    schedule_services.override_create(
        actor=None, schedule=schedule, user=hal, start=NOW + timedelta(hours=3), end=NOW + timedelta(hours=5), now=NOW
    )
    assert Override.objects.filter(schedule=schedule).count() == 2


def test_override_end_must_follow_start(schedule, make_user):
    with pytest.raises(ValidationError) as exc:
        schedule_services.override_create(actor=None, schedule=schedule, user=make_user("gus"), start=NOW, end=NOW, now=NOW)
    assert "end" in exc.value.errors


def test_override_needs_zone_aware_times(schedule, make_user):
    with pytest.raises(ValidationError) as exc:
        schedule_services.override_create(
            actor=None, schedule=schedule, user=make_user("gus"), start="2026-03-25T10:00", end="2026-03-25T12:00", now=NOW
        )
    assert "start" in exc.value.errors


def test_responder_may_not_manage_schedules(schedule, responder, crew):
    with pytest.raises(Forbidden):
        schedule_services.override_create(actor=responder, schedule=schedule, user=crew[0], start=NOW, end=NOW + timedelta(hours=1))
    with pytest.raises(Forbidden):
        schedule_services.schedule_create(actor=responder, name="Mine", time_zone="UTC")


def test_stale_version_is_a_conflict(schedule, manager):
    schedule_services.schedule_update(actor=manager, schedule=schedule, name="Renamed", version=schedule.version)
    with pytest.raises(Conflict):
        schedule_services.schedule_update(actor=manager, schedule=schedule, name="Again", version=schedule.version)


def test_time_zone_change_moves_the_handoffs(schedule, manager):
    before = schedule_selectors.schedule_shifts_between(schedule=schedule, start=NOW, end=NOW + timedelta(days=2))
    updated = schedule_services.schedule_update(actor=manager, schedule=schedule, time_zone="Asia/Singapore", now=NOW)
    after = schedule_selectors.schedule_shifts_between(schedule=updated, start=NOW, end=NOW + timedelta(days=2))
    # 09:00 in Dublin (GMT in March) is 09:00 UTC; 09:00 in Singapore is 01:00 UTC.
    assert before[1].start - after[1].start == timedelta(hours=8)


def test_oncall_for_team_unions_the_teams_schedules(crew):
    first = make_schedule(name="A", rotations=[rotation(crew[:1])], now=NOW)
    make_schedule(name="B", team=first.team, rotations=[rotation(crew[1:2])], now=NOW)
    assert {u.username for u in schedule_selectors.oncall_for_team(team=first.team, at=NOW)} == {"ann", "bob"}


def test_ical_tokens_resolve_until_revoked(schedule, responder):
    token, secret = schedule_services.ical_token_create(actor=responder, schedule=schedule)
    assert schedule_selectors.ical_token_resolve(secret=secret, schedule=schedule) == token
    schedule_services.ical_token_revoke(actor=responder, token=token)
    from core.errors import NotFound

    with pytest.raises(NotFound):
        schedule_selectors.ical_token_resolve(secret=secret, schedule=schedule)


def test_spans_refresh_keeps_the_window_ahead_of_the_clock(schedule, crew):
    later = NOW + timedelta(days=20)
    assert schedule_services.schedule_spans_refresh(now=NOW) == 0  # fresh
    assert schedule_services.schedule_spans_refresh(now=later) == 1
    schedule.refresh_from_db()
    assert schedule.spans_end == later + timedelta(days=30)
    at = later + timedelta(days=25)
    from_spans = schedule_selectors.schedule_shifts_between(schedule=schedule, start=at, end=at + timedelta(days=2))
    computed = oncall.shifts_between(schedule_selectors.schedule_spec(schedule=schedule), at, at + timedelta(days=2))
    assert from_spans == computed
    assert OnCallSpan.objects.filter(schedule=schedule, start__lte=at, end__gt=at).count() == 1


def test_spans_refresh_task_runs(schedule):
    from escalations.schedule_tasks import schedule_spans_refresh_task

    assert schedule_spans_refresh_task.apply().get() in (0, 1)
