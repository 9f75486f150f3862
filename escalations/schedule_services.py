"""Writes to on-call schedules. Each service is one transaction, records an
audit entry, and rebuilds the schedule's materialised spans."""

from __future__ import annotations

import secrets
import zoneinfo
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.utils import timezone

from accounts.models import Team
from core.audit import audit_record
from core.errors import Conflict, Forbidden, ValidationError
from escalations import oncall
from escalations.models import ICalFeedToken, OnCallSpan, Override, Rotation, RotationMember, Schedule, ShiftUnit
from escalations.schedule_selectors import ical_token_digest, restriction_specs, schedule_spec

User = get_user_model()

SPANS_HORIZON_DAYS = 30
SPANS_HISTORY = timedelta(days=1)
MAX_NAME = 100
MAX_REASON = 300
EARLIEST_YEAR, LATEST_YEAR = 1971, 2199


def _require(actor: Any, perm: str) -> None:
    """`actor=None` is the system (demo seeding, management commands)."""
    if actor is not None and not actor.has_perm(perm):
        raise Forbidden(f"Your role does not allow this (needs {perm}).")


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


# -- validation ---------------------------------------------------------------------


def _clean_name(value: Any, field: str = "name") -> str:
    name = str(value or "").strip()
    if not name:
        raise ValidationError.for_field(field, "Give it a name.")
    if len(name) > MAX_NAME:
        raise ValidationError.for_field(field, f"Keep it to {MAX_NAME} characters.")
    if not name.isprintable():
        raise ValidationError.for_field(field, "Use one line of text without control characters.")
    return name


def _clean_time_zone(value: Any, field: str = "time_zone") -> str:
    name = str(value or "").strip()
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError.for_field(field, f"'{name}' is not a known time zone (use an IANA name such as Europe/Dublin).") from None
    return name


def _clean_shift(unit: Any, length: Any) -> tuple[str, int]:
    if unit not in ShiftUnit.values:
        raise ValidationError.for_field("shift_unit", f"Shift unit must be one of {', '.join(ShiftUnit.values)}.")
    try:
        length = int(length)
    except (TypeError, ValueError):
        raise ValidationError.for_field("shift_length", "Shift length must be a whole number.") from None
    if length <= 0:
        raise ValidationError.for_field("shift_length", "Shift length must be greater than zero.")
    limits = {ShiftUnit.HOURS: 24 * 366, ShiftUnit.DAYS: 366, ShiftUnit.WEEKS: 52}
    if length > limits[ShiftUnit(unit)]:
        raise ValidationError.for_field("shift_length", f"Shift length must be at most {limits[ShiftUnit(unit)]} {unit}.")
    return unit, length


def _parse_time(value: Any, field: str) -> time:
    if isinstance(value, time):
        return value.replace(tzinfo=None)
    try:
        parsed = time.fromisoformat(str(value))
    except ValueError:
        raise ValidationError.for_field(field, "Use a time of day as HH:MM.") from None
    if parsed.tzinfo is not None:
        raise ValidationError.for_field(field, "Give a wall-clock time without a zone; the schedule's zone applies.")
    return parsed


def _parse_date(value: Any, field: str) -> date:
    if isinstance(value, datetime):
        raise ValidationError.for_field(field, "Use a date as YYYY-MM-DD.")
    if not isinstance(value, date):
        try:
            value = date.fromisoformat(str(value))
        except ValueError:
            raise ValidationError.for_field(field, "Use a date as YYYY-MM-DD.") from None
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValidationError.for_field(field, f"Use a date between {EARLIEST_YEAR} and {LATEST_YEAR}.")
    return value


def _clean_restrictions(value: Any) -> list[dict]:
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        raise ValidationError.for_field("restrictions", "Restrictions must be a list of {weekdays, start, end} windows.")
    cleaned = []
    for i, item in enumerate(value):
        field = f"restrictions[{i}]"
        if not isinstance(item, dict):
            raise ValidationError.for_field(field, "Each restriction is {weekdays: [0-6], start: HH:MM, end: HH:MM}.")
        weekdays = item.get("weekdays")
        if not isinstance(weekdays, list) or not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 6 for d in weekdays):
            raise ValidationError.for_field(f"{field}.weekdays", "Weekdays are numbers 0 (Monday) to 6 (Sunday).")
        if not weekdays:
            raise ValidationError.for_field(f"{field}.weekdays", "This restriction covers no time: pick at least one weekday.")
        start = _parse_time(item.get("start"), f"{field}.start")
        end = _parse_time(item.get("end"), f"{field}.end")
        window = {"weekdays": sorted(set(weekdays)), "start": start.isoformat("minutes"), "end": end.isoformat("minutes")}
        if item.get("time_zone"):
            window["time_zone"] = _clean_time_zone(item["time_zone"], f"{field}.time_zone")
        cleaned.append(window)
    restriction_specs(cleaned)
    return cleaned


def _clean_members(members: Any) -> list[Any]:
    if members in (None, "", [], ()):
        raise ValidationError.for_field("members", "A rotation needs at least one member.")
    if not isinstance(members, list | tuple):
        raise ValidationError.for_field("members", "Members are a list of user ids, in rotation order.")
    if len(members) > 100:
        raise ValidationError.for_field("members", "A rotation has at most 100 members.")
    ids = [m.pk if hasattr(m, "pk") else m for m in members]
    try:
        ids = [int(i) for i in ids]
    except (TypeError, ValueError):
        raise ValidationError.for_field("members", "Members are user ids.") from None
    users = User.objects.in_bulk(ids)
    missing = [i for i in ids if i not in users or not users[i].is_active]
    if missing:
        raise ValidationError.for_field("members", f"Unknown or inactive users: {', '.join(map(str, missing))}.")
    return [users[i] for i in ids]


def _clean_team(team: Any) -> Team | None:
    if team in (None, ""):
        return None
    if isinstance(team, Team):
        return team
    try:
        return Team.objects.get(pk=int(team))
    except (Team.DoesNotExist, TypeError, ValueError):
        raise ValidationError.for_field("team", "No such team.") from None


def _check_version(obj: Any, version: Any) -> None:
    if version is None:
        return
    try:
        version = int(version)
    except (TypeError, ValueError):
        raise ValidationError.for_field("version", "Version must be a whole number.") from None
    if version != obj.version:
        raise Conflict(
            "This schedule was changed by someone else; reload and try again.",
            extra={"current": {"version": obj.version, "name": obj.name, "time_zone": obj.time_zone}},
        )


def _schedule_state(schedule: Schedule) -> dict:
    return {"name": schedule.name, "time_zone": schedule.time_zone, "team": schedule.team_id, "description": schedule.description}


def _rotation_state(rotation: Rotation, member_ids: Sequence[int]) -> dict:
    return {
        "name": rotation.name,
        "layer": rotation.layer,
        "shift_unit": rotation.shift_unit,
        "shift_length": rotation.shift_length,
        "handoff_time": rotation.handoff_time,
        "start_date": rotation.start_date,
        "restrictions": rotation.restrictions,
        "members": list(member_ids),
    }


# -- spans ------------------------------------------------------------------------


def schedule_rebuild_spans(schedule: Schedule, horizon_days: int = SPANS_HORIZON_DAYS, *, now: datetime | None = None) -> int:
    """Recompute the materialised resolved schedule for [now - 1 day, now + horizon)."""
    now = _now(now)
    start, end = now - SPANS_HISTORY, now + timedelta(days=horizon_days)
    with transaction.atomic():
        schedule = Schedule.objects.select_for_update().get(pk=schedule.pk)
        shifts = oncall.shifts_between(schedule_spec(schedule=schedule, start=start, end=end), start, end)
        OnCallSpan.objects.filter(schedule=schedule).delete()
        OnCallSpan.objects.bulk_create(
            OnCallSpan(schedule=schedule, user_id=s.user_id, start=s.start, end=s.end, layer=s.layer, source=s.source) for s in shifts
        )
        Schedule.objects.filter(pk=schedule.pk).update(spans_start=start, spans_end=end)
    return len(shifts)


def _touch(schedule: Schedule, now: datetime | None) -> Schedule:
    Schedule.objects.filter(pk=schedule.pk).update(version=schedule.version + 1, updated_at=timezone.now())
    schedule_rebuild_spans(schedule, now=now)
    schedule.refresh_from_db()
    return schedule


# -- schedules ----------------------------------------------------------------------


@transaction.atomic
def schedule_create(
    *,
    actor: Any,
    name: Any,
    time_zone: Any,
    team: Any = None,
    description: str = "",
    rotations: Iterable[dict] = (),
    now: datetime | None = None,
) -> Schedule:
    _require(actor, "escalations.add_schedule")
    name = _clean_name(name)
    if Schedule.objects.filter(name=name).exists():
        raise ValidationError.for_field("name", f"A schedule called '{name}' already exists.")
    schedule = Schedule.objects.create(
        name=name, time_zone=_clean_time_zone(time_zone), team=_clean_team(team), description=str(description or "").strip()
    )
    audit_record(actor=actor, action="schedule.create", obj=schedule, after=_schedule_state(schedule))
    for i, rotation in enumerate(rotations):
        try:
            _rotation_create(actor=actor, schedule=schedule, **_rotation_fields(rotation))
        except ValidationError as exc:
            raise ValidationError(exc.message, errors={f"rotations[{i}].{k}": v for k, v in exc.errors.items()}) from None
    schedule_rebuild_spans(schedule, now=now)
    schedule.refresh_from_db()
    return schedule


@transaction.atomic
def schedule_update(*, actor: Any, schedule: Schedule, version: Any = None, now: datetime | None = None, **fields: Any) -> Schedule:
    _require(actor, "escalations.change_schedule")
    schedule = Schedule.objects.select_for_update().get(pk=schedule.pk)
    _check_version(schedule, version)
    before = _schedule_state(schedule)
    unknown = set(fields) - {"name", "time_zone", "team", "description"}
    if unknown:
        raise ValidationError.for_field(sorted(unknown)[0], "This field cannot be changed here.")
    if "name" in fields:
        name = _clean_name(fields["name"])
        if Schedule.objects.filter(name=name).exclude(pk=schedule.pk).exists():
            raise ValidationError.for_field("name", f"A schedule called '{name}' already exists.")
        schedule.name = name
    if "time_zone" in fields:
        schedule.time_zone = _clean_time_zone(fields["time_zone"])
    if "team" in fields:
        schedule.team = _clean_team(fields["team"])
    if "description" in fields:
        schedule.description = str(fields["description"] or "").strip()
    schedule.save()
    audit_record(actor=actor, action="schedule.update", obj=schedule, before=before, after=_schedule_state(schedule))
    return _touch(schedule, now)


# -- rotations ----------------------------------------------------------------------


ROTATION_FIELDS = {"name", "members", "handoff_time", "start_date", "shift_unit", "shift_length", "layer", "restrictions"}
ROTATION_REQUIRED = ("name", "members", "handoff_time", "start_date")


def _rotation_fields(fields: Any) -> dict:
    if not isinstance(fields, dict):
        raise ValidationError.for_field("rotation", "A rotation is an object of fields.")
    unknown = sorted(set(fields) - ROTATION_FIELDS)
    if unknown:
        raise ValidationError.for_field(unknown[0], "Unknown field for a rotation.")
    for name in ROTATION_REQUIRED:
        if fields.get(name) in (None, "") and name != "members":
            raise ValidationError.for_field(name, "This field is required.")
    return {"members": fields.get("members"), **fields}


def _rotation_create(
    *,
    actor: Any,
    schedule: Schedule,
    name: Any,
    members: Any,
    handoff_time: Any,
    start_date: Any,
    shift_unit: Any = ShiftUnit.DAYS,
    shift_length: Any = 1,
    layer: Any = None,
    restrictions: Any = None,
) -> Rotation:
    name = _clean_name(name)
    shift_unit, shift_length = _clean_shift(shift_unit, shift_length)
    users = _clean_members(members)
    if layer in (None, ""):
        top = Rotation.objects.filter(schedule=schedule).order_by("-layer").values_list("layer", flat=True).first()
        layer = (top or 0) + 1
    try:
        layer = int(layer)
    except (TypeError, ValueError):
        raise ValidationError.for_field("layer", "Layer must be a whole number.") from None
    if not 1 <= layer <= 100:
        raise ValidationError.for_field("layer", "Layer must be between 1 and 100.")
    if Rotation.objects.filter(schedule=schedule, layer=layer).exists():
        raise ValidationError.for_field("layer", f"Layer {layer} is already taken on this schedule.")
    rotation = Rotation.objects.create(
        schedule=schedule,
        name=name,
        layer=layer,
        shift_unit=shift_unit,
        shift_length=shift_length,
        handoff_time=_parse_time(handoff_time, "handoff_time"),
        start_date=_parse_date(start_date, "start_date"),
        restrictions=_clean_restrictions(restrictions),
    )
    RotationMember.objects.bulk_create(RotationMember(rotation=rotation, user=u, position=i) for i, u in enumerate(users))
    audit_record(actor=actor, action="rotation.create", obj=rotation, after=_rotation_state(rotation, [u.pk for u in users]))
    return rotation


@transaction.atomic
def rotation_create(*, actor: Any, schedule: Schedule, now: datetime | None = None, **fields: Any) -> Rotation:
    _require(actor, "escalations.add_rotation")
    schedule = Schedule.objects.select_for_update().get(pk=schedule.pk)
    rotation = _rotation_create(actor=actor, schedule=schedule, **_rotation_fields(fields))
    _touch(schedule, now)
    return rotation


@transaction.atomic
def rotation_update(*, actor: Any, rotation: Rotation, now: datetime | None = None, **fields: Any) -> Rotation:
    _require(actor, "escalations.change_rotation")
    schedule = Schedule.objects.select_for_update().get(pk=rotation.schedule_id)
    rotation = Rotation.objects.select_for_update().get(pk=rotation.pk)
    member_ids = list(rotation.members.order_by("position").values_list("user_id", flat=True))
    before = _rotation_state(rotation, member_ids)
    unknown = set(fields) - ROTATION_FIELDS
    if unknown:
        raise ValidationError.for_field(sorted(unknown)[0], "This field cannot be changed here.")
    if "name" in fields:
        rotation.name = _clean_name(fields["name"])
    if "shift_unit" in fields or "shift_length" in fields:
        rotation.shift_unit, rotation.shift_length = _clean_shift(
            fields.get("shift_unit", rotation.shift_unit), fields.get("shift_length", rotation.shift_length)
        )
    if "handoff_time" in fields:
        rotation.handoff_time = _parse_time(fields["handoff_time"], "handoff_time")
    if "start_date" in fields:
        rotation.start_date = _parse_date(fields["start_date"], "start_date")
    if "restrictions" in fields:
        rotation.restrictions = _clean_restrictions(fields["restrictions"])
    if "layer" in fields:
        try:
            layer = int(fields["layer"])
        except (TypeError, ValueError):
            raise ValidationError.for_field("layer", "Layer must be a whole number.") from None
        if not 1 <= layer <= 100:
            raise ValidationError.for_field("layer", "Layer must be between 1 and 100.")
        if Rotation.objects.filter(schedule_id=rotation.schedule_id, layer=layer).exclude(pk=rotation.pk).exists():
            raise ValidationError.for_field("layer", f"Layer {layer} is already taken on this schedule.")
        rotation.layer = layer
    rotation.save()
    if "members" in fields:
        users = _clean_members(fields["members"])
        rotation.members.all().delete()
        RotationMember.objects.bulk_create(RotationMember(rotation=rotation, user=u, position=i) for i, u in enumerate(users))
        member_ids = [u.pk for u in users]
    audit_record(actor=actor, action="rotation.update", obj=rotation, before=before, after=_rotation_state(rotation, member_ids))
    _touch(schedule, now)
    return rotation


@transaction.atomic
def rotation_delete(*, actor: Any, rotation: Rotation, now: datetime | None = None) -> None:
    _require(actor, "escalations.delete_rotation")
    schedule = Schedule.objects.select_for_update().get(pk=rotation.schedule_id)
    member_ids = list(rotation.members.order_by("position").values_list("user_id", flat=True))
    audit_record(actor=actor, action="rotation.delete", obj=rotation, before=_rotation_state(rotation, member_ids))
    rotation.delete()
    _touch(schedule, now)


# -- overrides ------------------------------------------------------------------------


def _clean_instant(value: Any, field: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError.for_field(field, "Use an ISO 8601 date and time with a zone, e.g. 2026-03-29T09:00:00+01:00.") from None
    if not isinstance(value, datetime):
        raise ValidationError.for_field(field, "A date and time is required.")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError.for_field(field, "Give the time with its zone or UTC offset.")
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValidationError.for_field(field, f"Use a time between {EARLIEST_YEAR} and {LATEST_YEAR}.")
    return value


@transaction.atomic
def override_create(
    *, actor: Any, schedule: Schedule, user: Any, start: Any, end: Any, reason: str = "", now: datetime | None = None
) -> Override:
    _require(actor, "escalations.add_override")
    if user is None or not getattr(user, "is_active", False):
        raise ValidationError.for_field("user", "Choose an active person to cover.")
    start = _clean_instant(start, "start")
    end = _clean_instant(end, "end")
    if end <= start:
        raise ValidationError.for_field("end", "The end must be after the start.")
    if end - start > timedelta(days=366):
        raise ValidationError.for_field("end", "An override lasts at most a year.")
    reason = str(reason or "").strip()
    if len(reason) > MAX_REASON:
        raise ValidationError.for_field("reason", f"Keep the reason to {MAX_REASON} characters.")
    # The lock serialises override writes per schedule so two overlapping ones cannot both pass the check.
    schedule = Schedule.objects.select_for_update().get(pk=schedule.pk)
    clash = Override.objects.filter(schedule=schedule, start__lt=end, end__gt=start).select_related("user").order_by("start").first()
    if clash is not None:
        raise ValidationError.for_field(
            "start",
            f"This overlaps an existing override ({clash.user} from {clash.start.isoformat()} to {clash.end.isoformat()}); "
            "delete or shorten that one first.",
        )
    override = Override.objects.create(schedule=schedule, user=user, start=start, end=end, reason=reason, created_by=actor)
    audit_record(
        actor=actor,
        action="override.create",
        obj=override,
        after={"schedule": schedule.pk, "user": user.pk, "start": start, "end": end, "reason": reason},
    )
    _touch(schedule, now)
    return override


@transaction.atomic
def override_delete(*, actor: Any, override: Override, now: datetime | None = None) -> None:
    _require(actor, "escalations.delete_override")
    schedule = Schedule.objects.select_for_update().get(pk=override.schedule_id)
    audit_record(
        actor=actor,
        action="override.delete",
        obj=override,
        before={"schedule": schedule.pk, "user": override.user_id, "start": override.start, "end": override.end, "reason": override.reason},
    )
    override.delete()
    _touch(schedule, now)


# -- iCal feed tokens -----------------------------------------------------------------


@transaction.atomic
def ical_token_create(*, actor: Any, schedule: Schedule | None = None) -> tuple[ICalFeedToken, str]:
    """A feed token for `schedule`, or for the actor's own shifts. The secret is
    returned once; only its digest is kept."""
    _require(actor, "escalations.view_schedule")
    if actor is None:
        raise ValidationError.for_field("user", "A feed belongs to a person.")
    secret = "cal_" + secrets.token_urlsafe(32)
    token = ICalFeedToken.objects.create(user=actor, schedule=schedule, prefix=secret[:12], digest=ical_token_digest(secret))
    audit_record(
        actor=actor, action="ical_token.create", obj=token, after={"schedule": schedule.pk if schedule else None, "prefix": token.prefix}
    )
    return token, secret


@transaction.atomic
def ical_token_revoke(*, actor: Any, token: ICalFeedToken) -> ICalFeedToken:
    token = ICalFeedToken.objects.select_for_update().get(pk=token.pk)
    if actor is not None and token.user_id != actor.pk and not actor.has_perm("escalations.delete_icalfeedtoken"):
        raise Forbidden("Only the owner can revoke this feed link.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="ical_token.revoke", obj=token, after={"prefix": token.prefix})
    return token


def schedule_spans_refresh(*, now: datetime | None = None, horizon_days: int = SPANS_HORIZON_DAYS) -> int:
    """Slide every schedule's materialised window forward so it always covers
    `now` plus nearly the whole horizon (the engine reads spans directly).
    Rebuilds only schedules whose window ends within a day of the horizon."""
    now = _now(now)
    stale_before = now + timedelta(days=horizon_days - 1)
    ids = list(
        Schedule.objects.filter(models.Q(spans_end__isnull=True) | models.Q(spans_end__lt=stale_before) | models.Q(spans_start__gt=now))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for schedule in Schedule.objects.filter(pk__in=ids):
        schedule_rebuild_spans(schedule, horizon_days, now=now)
    return len(ids)
