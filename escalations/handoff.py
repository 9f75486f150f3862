"""Shift handoff: notes left for the next on-call person, and the notice each
incoming person gets at a shift change. The notice's outbox row carries the key
``handoff:<schedule>:<user>:<shift start>``, so any number of runs (or beats)
send it once."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction

from core.audit import audit_record
from core.errors import Forbidden, ValidationError
from core.time import db_now
from escalations.models import HandoffNote, MessageState, Schedule
from escalations.schedule_selectors import schedule_shifts_between
from incidents.models import Incident

User = get_user_model()

NOTE_MAX_LENGTH = 2000
# A shift that started this long ago still gets its notice (a late or missed beat).
NOTICE_WINDOW = timedelta(minutes=5)
# Read a little before the window so a shift starting at its edge is not mistaken
# for one clipped by the read.
_LOOKBEHIND = NOTICE_WINDOW + timedelta(minutes=1)


@transaction.atomic
def handoff_notes_add(*, actor: Any, schedule: Schedule, body: Any) -> HandoffNote:
    if not actor.has_perm("escalations.view_schedule"):
        raise Forbidden("Your role does not allow this (needs escalations.view_schedule).")
    text = body.strip() if isinstance(body, str) else ""
    if not text:
        raise ValidationError.for_field("body", "Write the note.")
    if len(text) > NOTE_MAX_LENGTH:
        raise ValidationError.for_field("body", f"Keep the note under {NOTE_MAX_LENGTH} characters.")
    note = HandoffNote.objects.create(schedule=schedule, author=actor, body=text, created_at=db_now())
    audit_record(actor=actor, action="handoff_note.create", obj=note, after={"schedule": schedule.pk, "body": text})
    return note


def handoff_notes_pending(*, schedule: Schedule) -> list[HandoffNote]:
    return list(
        HandoffNote.objects.filter(schedule=schedule, consumed_at__isnull=True).select_related("author").order_by("created_at", "id")
    )


@dataclass(frozen=True)
class ShiftChange:
    user_id: int
    start: datetime
    outgoing_ids: frozenset[int]


def shift_changes(*, schedule: Schedule, now: datetime) -> list[ShiftChange]:
    """People whose cover on ``schedule`` began in (now - 5 min, now]; someone whose
    cover merely continues into a new shift is not a change."""
    window_start = now - _LOOKBEHIND
    shifts = schedule_shifts_between(schedule=schedule, start=window_start, end=now + timedelta(microseconds=1))
    changes = []
    for shift in shifts:
        if not (shift.start > window_start and now - NOTICE_WINDOW < shift.start <= now):
            continue
        before = {s.user_id for s in shifts if s.start < shift.start <= s.end}
        if shift.user_id in before:
            continue
        after = {s.user_id for s in shifts if s.start <= shift.start < s.end}
        changes.append(ShiftChange(user_id=shift.user_id, start=shift.start.astimezone(UTC), outgoing_ids=frozenset(before - after)))
    # One order for every run, so two runs racing wait on each other instead of deadlocking.
    return sorted(changes, key=lambda c: (c.start, c.user_id))


def _incident_line(incident: Incident) -> str:
    if incident.compartment_id:
        return f"SEV{incident.severity} {incident.reference} (restricted)"
    return f"SEV{incident.severity} {incident.reference}: {incident.title} ({incident.get_status_display()})"


def inherited_incidents(*, schedule: Schedule, user: Any) -> list[Incident]:
    if schedule.team_id is None:
        return []
    qs = Incident.objects.visible_to(user).open().filter(team_id=schedule.team_id)
    return list(qs.order_by("severity", "created_at", "id"))


def _notice(schedule: Schedule, user: Any, change: ShiftChange, notes: list[HandoffNote], names: dict[int, str]) -> dict:
    incidents = inherited_incidents(schedule=schedule, user=user)
    outgoing = ", ".join(sorted(names[i] for i in change.outgoing_ids if i in names)) or "nobody"
    lines = [f"You are now on call for {schedule.name} (from {change.start:%Y-%m-%d %H:%M} UTC), taking over from {outgoing}."]
    if incidents:
        lines.append(f"Open incidents you inherit ({len(incidents)}):")
        lines.extend(f"- {_incident_line(i)}" for i in incidents)
    else:
        lines.append("No open incidents for this team.")
    if notes:
        lines.append("Handoff notes:")
        for note in notes:
            author = names.get(note.author_id, "someone") if note.author_id else "someone"
            lines.append(f"- {author}: {note.body}")
    return {
        "subject": f"On call for {schedule.name}: {len(incidents)} open incident(s), {len(notes)} handoff note(s)",
        "lines": lines,
        "schedule": schedule.pk,
        "shift_start": change.start.isoformat(),
        "incidents": [i.pk for i in incidents],
        "notes": [n.pk for n in notes],
    }


_ENQUEUE = """
INSERT INTO escalations_outgoingmessage (
    idempotency_key, recipient_id, kind, channel, target, payload, state, attempts, created_at, next_attempt_at, last_error)
VALUES (%s, %s, 'handoff', 'email', %s, %s::jsonb, %s, 0, %s, %s, %s)
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING id
"""


def _enqueue(*, key: str, user: Any, payload: dict, now: datetime) -> bool:
    state, error = (MessageState.PENDING, "") if user.email else (MessageState.CANCELLED, "No email address")
    with connection.cursor() as cursor:
        cursor.execute(_ENQUEUE, [key, user.pk, user.email, json.dumps(payload), state, now, now, error])
        return cursor.fetchone() is not None


def _schedule_notices(schedule: Schedule, now: datetime) -> int:
    from incidents import services as incident_services

    changes = shift_changes(schedule=schedule, now=now)
    if not changes:
        return 0
    with transaction.atomic():
        notes = handoff_notes_pending(schedule=schedule)
        people = {u.pk: u for u in User.objects.filter(pk__in={c.user_id for c in changes} | {i for c in changes for i in c.outgoing_ids})}
        names = {pk: (u.get_full_name() or u.username) for pk, u in people.items()}
        sent = 0
        for change in changes:
            user = people.get(change.user_id)
            if user is None or not user.is_active:
                continue
            payload = _notice(schedule, user, change, notes, names)
            key = f"handoff:{schedule.pk}:{user.pk}:{change.start.isoformat()}"
            if not _enqueue(key=key, user=user, payload=payload, now=now):
                continue
            sent += 1
            incidents = len(payload["incidents"])
            incident_services.notification_create(
                user=user,
                incident=None,
                kind="handoff",
                text=f"You are now on call for {schedule.name}: {incidents} open incident(s), {len(notes)} handoff note(s).",
                url=f"/schedules/{schedule.pk}/",
            )
        if sent and notes:
            HandoffNote.objects.filter(pk__in=[n.pk for n in notes], consumed_at__isnull=True).update(consumed_at=now)
    return sent


def handoff_notices_due(now: datetime) -> int:
    """Queue a notice for everyone whose shift began in (now - 5 min, now]; returns
    how many were new."""
    return sum(_schedule_notices(schedule, now) for schedule in Schedule.objects.order_by("pk"))
