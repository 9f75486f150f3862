"""Reads of on-call schedules. Routing, the schedule page, the API and the iCal
feed all answer "who is on call" through these functions, so they agree."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, QuerySet

from accounts.models import Team
from core.errors import NotFound, ValidationError
from escalations import oncall
from escalations.models import ICalFeedToken, OnCallSpan, Override, Rotation, RotationMember, Schedule

User = get_user_model()

# "Until when" looks this far ahead for the end of someone's unbroken cover.
UNTIL_LOOKAHEAD = timedelta(days=14)


@dataclass(frozen=True)
class OnCallNow:
    user: Any
    until: datetime | None  # None: on call beyond the look-ahead
    source: str
    layer: int | None


def schedule_list() -> QuerySet[Schedule]:
    return Schedule.objects.select_related("team").order_by("name", "id")


def schedule_get(*, pk: Any) -> Schedule:
    try:
        return schedule_list().get(pk=int(pk))
    except (Schedule.DoesNotExist, TypeError, ValueError):
        raise NotFound("No such schedule.") from None


def schedule_get_detailed(*, pk: Any) -> Schedule:
    schedule = schedule_get(pk=pk)
    return _with_rotations(Schedule.objects.filter(pk=schedule.pk)).select_related("team").get()


def _with_rotations(qs: QuerySet[Schedule]) -> QuerySet[Schedule]:
    members = Prefetch("members", queryset=RotationMember.objects.select_related("user").order_by("position"))
    rotations = Prefetch("rotations", queryset=Rotation.objects.prefetch_related(members).order_by("-layer"))
    return qs.prefetch_related(rotations)


def schedule_list_detailed() -> QuerySet[Schedule]:
    return _with_rotations(schedule_list())


def override_list(*, schedule: Schedule, start: datetime | None = None, end: datetime | None = None) -> QuerySet[Override]:
    qs = Override.objects.filter(schedule=schedule).select_related("user", "created_by").order_by("start")
    if start is not None:
        qs = qs.filter(end__gt=start)
    if end is not None:
        qs = qs.filter(start__lt=end)
    return qs


def override_get(*, schedule: Schedule, pk: Any) -> Override:
    try:
        return Override.objects.select_related("user").get(schedule=schedule, pk=int(pk))
    except (Override.DoesNotExist, TypeError, ValueError):
        raise NotFound("No such override on this schedule.") from None


# -- the adapter from rows to the pure functions' specs --------------------------


def restriction_specs(restrictions: Iterable[dict]) -> tuple[oncall.RestrictionSpec, ...]:
    return tuple(
        oncall.RestrictionSpec(
            weekdays=frozenset(int(d) for d in r.get("weekdays", [])),
            start=time.fromisoformat(r["start"]),
            end=time.fromisoformat(r["end"]),
            time_zone=r.get("time_zone") or None,
        )
        for r in restrictions
    )


def rotation_spec(rotation: Rotation) -> oncall.RotationSpec:
    members = sorted(rotation.members.all(), key=lambda m: m.position)
    return oncall.RotationSpec(
        layer=rotation.layer,
        members=tuple(m.user_id for m in members),
        shift_unit=rotation.shift_unit,
        shift_length=rotation.shift_length,
        handoff_time=rotation.handoff_time,
        start_date=rotation.start_date,
        restrictions=restriction_specs(rotation.restrictions or []),
        name=rotation.name,
    )


def schedule_spec(*, schedule: Schedule, start: datetime | None = None, end: datetime | None = None) -> oncall.ScheduleSpec:
    rotations = Rotation.objects.filter(schedule=schedule).prefetch_related("members").order_by("-layer")
    overrides = override_list(schedule=schedule, start=start, end=end).select_related(None).only("user_id", "start", "end")
    return oncall.ScheduleSpec(
        time_zone=schedule.time_zone,
        rotations=tuple(rotation_spec(r) for r in rotations),
        overrides=tuple(oncall.OverrideSpec(user_id=o.user_id, start=o.start, end=o.end) for o in overrides),
    )


# -- who is on call ----------------------------------------------------------------


def _spans_cover(schedule: Schedule, start: datetime, end: datetime) -> bool:
    return (
        schedule.spans_start is not None and schedule.spans_end is not None and schedule.spans_start <= start and end <= schedule.spans_end
    )


def schedule_shifts_between(*, schedule: Schedule, start: datetime, end: datetime) -> list[oncall.Shift]:
    """The resolved schedule over [start, end): from the materialised spans when
    they cover the window, computed from the rotations otherwise."""
    if end <= start:
        return []
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if _spans_cover(schedule, start, end):
        spans = OnCallSpan.objects.filter(schedule=schedule, end__gt=start, start__lt=end).order_by("start")
        return [
            oncall.Shift(start=max(s.start, start), end=min(s.end, end), user_id=s.user_id, layer=s.layer, source=s.source)
            for s in spans.only("user_id", "start", "end", "layer", "source")
        ]
    return oncall.shifts_between(schedule_spec(schedule=schedule, start=start, end=end), start, end)


def schedule_layer_shifts_between(*, schedule: Schedule, start: datetime, end: datetime) -> dict[int, list[oncall.Shift]]:
    """Each layer's own shifts, before higher layers and overrides (for the timeline)."""
    return oncall.layer_shifts_between(schedule_spec(schedule=schedule, start=start, end=end), start, end)


def _users_by_id(ids: Iterable[int]) -> dict[int, Any]:
    ids = set(ids)
    if not ids:
        return {}
    return {u.pk: u for u in User.objects.filter(pk__in=ids)}


def schedule_oncall_at(*, schedule: Schedule, at: datetime) -> list[Any]:
    shifts = schedule_shifts_between(schedule=schedule, start=at, end=at + timedelta(microseconds=1))
    users = _users_by_id(s.user_id for s in shifts)
    return sorted(users.values(), key=lambda u: (u.username, u.pk))


def schedule_oncall_now(*, schedule: Schedule, at: datetime) -> list[OnCallNow]:
    """Who is on call at `at` and until when their unbroken cover lasts."""
    shifts = schedule_shifts_between(schedule=schedule, start=at, end=at + UNTIL_LOOKAHEAD)
    current = [s for s in shifts if s.start <= at < s.end]
    users = _users_by_id(s.user_id for s in current)
    out = []
    for shift in current:
        until = shift.end
        for later in shifts:
            if later.user_id == shift.user_id and later.start == until:
                until = later.end
        out.append(
            OnCallNow(
                user=users[shift.user_id], until=None if until >= at + UNTIL_LOOKAHEAD else until, source=shift.source, layer=shift.layer
            )
        )
    return out


def oncall_for_team(*, team: Team, at: datetime) -> list[Any]:
    """Everyone on call at `at` on any of the team's schedules."""
    seen: dict[int, Any] = {}
    for schedule in Schedule.objects.filter(team=team).order_by("name", "id"):
        for user in schedule_oncall_at(schedule=schedule, at=at):
            seen.setdefault(user.pk, user)
    return list(seen.values())


def team_oncall_now(*, team: Team, at: datetime) -> list[tuple[Schedule, list[OnCallNow]]]:
    return [(s, schedule_oncall_now(schedule=s, at=at)) for s in Schedule.objects.filter(team=team).order_by("name", "id")]


def all_oncall_now(*, at: datetime, limit: int) -> list[tuple[Schedule, list[OnCallNow]]]:
    return [(s, schedule_oncall_now(schedule=s, at=at)) for s in Schedule.objects.order_by("name", "id")[:limit]]


def user_shifts_between(*, user: Any, start: datetime, end: datetime) -> list[tuple[Schedule, oncall.Shift]]:
    """A person's own shifts on every schedule they take part in."""
    schedule_ids = set(RotationMember.objects.filter(user=user).values_list("rotation__schedule_id", flat=True))
    schedule_ids |= set(Override.objects.filter(user=user, end__gt=start, start__lt=end).values_list("schedule_id", flat=True))
    out: list[tuple[Schedule, oncall.Shift]] = []
    for schedule in Schedule.objects.filter(pk__in=schedule_ids).order_by("name", "id"):
        out.extend((schedule, s) for s in schedule_shifts_between(schedule=schedule, start=start, end=end) if s.user_id == user.pk)
    out.sort(key=lambda pair: (pair[1].start, pair[0].pk))
    return out


def ical_token_list(*, user: Any, schedule: Schedule | None = None) -> QuerySet[ICalFeedToken]:
    return ICalFeedToken.objects.filter(user=user, schedule=schedule, revoked_at__isnull=True).order_by("-created_at")


def ical_token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def ical_token_resolve(*, secret: Any, schedule: Schedule | None = None) -> ICalFeedToken:
    """The live token for a feed URL; a wrong, revoked or mismatched one, or one
    whose owner may no longer view schedules, is simply not found."""
    if not isinstance(secret, str) or not secret.startswith("cal_") or len(secret) > 100:
        raise NotFound("No such calendar feed.")
    token = (
        ICalFeedToken.objects.select_related("user", "schedule")
        .filter(digest=ical_token_digest(secret), revoked_at__isnull=True, schedule=schedule)
        .first()
    )
    if token is None or not token.user.is_active or not token.user.has_perm("escalations.view_schedule"):
        raise NotFound("No such calendar feed.")
    return token


def user_get_active(*, pk: Any, field: str = "user") -> Any:
    try:
        return User.objects.get(pk=int(pk), is_active=True)
    except (User.DoesNotExist, TypeError, ValueError):
        raise ValidationError.for_field(field, "No such active person.") from None


def user_choices() -> QuerySet:
    return User.objects.filter(is_active=True).order_by("username")


def rotation_get(*, schedule: Schedule, pk: Any) -> Rotation:
    try:
        return Rotation.objects.prefetch_related(
            Prefetch("members", queryset=RotationMember.objects.select_related("user").order_by("position"))
        ).get(schedule=schedule, pk=int(pk))
    except (Rotation.DoesNotExist, TypeError, ValueError):
        raise NotFound("No such rotation on this schedule.") from None
