"""SLA warnings and breaches, fired by the engine's ``tick(now)``.

A running clock's ``next_check_at`` is its warning time, then its due time. Each
batch claims due clocks with ``FOR UPDATE SKIP LOCKED`` together with their
incidents (``FOR NO KEY UPDATE SKIP LOCKED``: an incident being changed right now
waits for the next tick, and nobody waits on us in a cycle), then moves each clock
with an UPDATE guarded by its own columns (``warned_at IS NULL`` / ``state =
'running'``), so a second tick, or two ticks at once, fire nothing twice. The
actions (in-app notifications, outbox e-mail with an idempotency key, a page, a
timeline entry) are written in the same transaction as the transition.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction

from escalations.models import OutgoingMessage, SLAClock, SLAClockEvent

logger = logging.getLogger(__name__)

SLA_BATCH_SIZE = 200
SLA_MAX_BATCHES = 50

_DUE_SQL = "SELECT EXISTS (SELECT 1 FROM escalations_slaclock WHERE state = 'running' AND next_check_at <= %s)"

_CLAIM_SQL = """
WITH claimed AS (
    SELECT c.id, c.incident_id FROM escalations_slaclock c
    WHERE c.state = 'running' AND c.next_check_at <= %(now)s
    ORDER BY c.next_check_at, c.id
    LIMIT %(batch)s
    FOR UPDATE SKIP LOCKED
),
incidents_locked AS (
    SELECT i.id FROM incidents_incident i
    WHERE i.id = ANY(ARRAY(SELECT incident_id FROM claimed))
    FOR NO KEY UPDATE SKIP LOCKED
)
SELECT c.id, il.id IS NOT NULL FROM claimed c LEFT JOIN incidents_locked il ON il.id = c.incident_id ORDER BY c.id
"""


@dataclass
class SLAResult:
    claimed: int = 0
    warnings: int = 0
    breaches: int = 0
    lag_seconds: float = 0.0


def _due(now: datetime) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(_DUE_SQL, [now])
        return bool(cursor.fetchone()[0])


def fire_due(now: datetime, *, batch_size: int = SLA_BATCH_SIZE, max_batches: int = SLA_MAX_BATCHES) -> SLAResult:
    """Fire every SLA warning and breach due at ``now``; one transaction per batch.
    When nothing is due this is one indexed EXISTS query."""
    result = SLAResult()
    if not _due(now):
        return result
    result.lag_seconds = lag_seconds(now)
    for _ in range(max_batches):
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(_CLAIM_SQL, {"now": now, "batch": batch_size})
                rows = cursor.fetchall()
            ids = [clock_id for clock_id, incident_free in rows if incident_free]
            clocks = list(SLAClock.objects.filter(pk__in=ids).select_related("incident", "target", "incident__commander").order_by("pk"))
            for clock in clocks:
                _advance(clock, now, result)
        result.claimed += len(ids)
        # Stop when the due rows ran out, or when every claimed clock's incident was busy
        # (being changed, or in another tick's batch): the next tick takes those.
        if not ids or (len(rows) < batch_size and len(ids) == len(rows)):
            break
    if result.warnings or result.breaches:
        logger.info("SLA tick: %s warnings, %s breaches", result.warnings, result.breaches)
    return result


def _advance(clock: SLAClock, now: datetime, result: SLAResult) -> None:
    if now >= clock.due_at:
        fired = SLAClock.objects.filter(pk=clock.pk, state="running", breached_at__isnull=True).update(
            state="breached", breached_at=now, next_check_at=None
        )
        if fired:
            result.breaches += 1
            _breached(clock, now)
        return
    if clock.warned_at is None and clock.warn_at is not None and now >= clock.warn_at:
        fired = SLAClock.objects.filter(pk=clock.pk, state="running", warned_at__isnull=True).update(
            warned_at=now, next_check_at=clock.due_at
        )
        if fired:
            result.warnings += 1
            _warned(clock, now)
        return
    # Checked early (the clock was recomputed since): look again at the right time.
    next_check = clock.warn_at if clock.warned_at is None and clock.warn_at and clock.warn_at < clock.due_at else clock.due_at
    SLAClock.objects.filter(pk=clock.pk, state="running").update(next_check_at=next_check)


def _fmt(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def _label(clock: SLAClock) -> str:
    incident = clock.incident
    return f"SEV{incident.severity} {incident.reference}: {clock.name or clock.get_metric_display()}"


def _warned(clock: SLAClock, now: datetime) -> None:
    summary = f"SLA warning: {clock.name} at {clock.warn_pct} % — due {_fmt(clock.due_at)}"
    SLAClockEvent.objects.create(clock=clock, kind="warn", at=now, data={"due_at": clock.due_at.isoformat(), "warn_pct": clock.warn_pct})
    actions = _actions(clock, "on_warning")
    done = _run_actions(clock, now, actions, kind="warn")
    _timeline(clock, summary, {"clock_id": clock.pk, "event": "warn", "actions": done}, now)


def _breached(clock: SLAClock, now: datetime) -> None:
    late = (now - clock.due_at).total_seconds()
    summary = f"SLA breached: {clock.name} was due {_fmt(clock.due_at)}"
    SLAClockEvent.objects.create(
        clock=clock, kind="breach", at=now, data={"due_at": clock.due_at.isoformat(), "seen_late_seconds": round(late, 3)}
    )
    actions = _actions(clock, "on_breach")
    done = _run_actions(clock, now, actions, kind="breach")
    _timeline(clock, summary, {"clock_id": clock.pk, "event": "breach", "actions": done}, now)


def _actions(clock: SLAClock, field: str) -> list[Any]:
    if clock.target is None:
        return ["notify_commander"] if field == "on_breach" else []
    return list(getattr(clock.target, field) or [])


def _timeline(clock: SLAClock, summary: str, data: dict[str, Any], at: datetime) -> None:
    from incidents.services import timeline_record

    timeline_record(incident=clock.incident, kind="sla", summary=summary, data=data, at=at)


def _people_to_tell(clock: SLAClock) -> list[Any]:
    """The commander; without one, the active incident managers."""
    from accounts.models import User

    incident = clock.incident
    if incident.commander is not None and incident.commander.is_active:
        return [incident.commander]
    return list(User.objects.filter(is_active=True, groups__name="incident_manager").order_by("pk").distinct()[:20])


def _run_actions(clock: SLAClock, now: datetime, actions: list[Any], *, kind: str) -> list[str]:
    from incidents.services import notification_create

    done: list[str] = []
    incident = clock.incident
    url = f"/incidents/{incident.pk}/"
    for action in actions:
        if action == "notify_commander":
            people = _people_to_tell(clock)
            word = "warning" if kind == "warn" else "BREACHED"
            text = f"SLA {word}: {_label(clock)} — due {_fmt(clock.due_at)}"
            for person in people:
                notification_create(user=person, incident=incident, kind=f"sla_{kind}", text=text, url=url)
            if kind == "breach":
                _email(clock, people, now, text)
            done.append(f"notified {', '.join(p.get_username() for p in people) or 'nobody (no commander, no incident managers)'}")
        elif action == "propose_severity_raise":
            if incident.severity <= 1:
                done.append("severity raise not proposed: already SEV1")
                continue
            proposal = f"SEV{incident.severity - 1}"
            text = f"SLA {'warning' if kind == 'warn' else 'breach'} on {_label(clock)}: consider raising the severity to {proposal}"
            for person in _people_to_tell(clock):
                notification_create(user=person, incident=incident, kind="sla_severity_proposal", text=text, url=url)
            done.append(f"proposed raising the severity to {proposal} (the commander decides)")
        elif isinstance(action, dict) and "page_policy" in action:
            done.append(_page(clock, int(action["page_policy"]), now))
    return done


def _email(clock: SLAClock, people: list[Any], now: datetime, text: str) -> None:
    incident = clock.incident
    # Restricted incidents: the reference and the metric only, never the title.
    subject = f"[SEV{incident.severity}] {incident.reference}: SLA breached ({clock.name})"
    rows = [
        OutgoingMessage(
            idempotency_key=f"sla:{clock.pk}:{clock.cycle}:breach:{person.pk}:email",
            incident=incident,
            recipient=person,
            kind="alert",
            channel="email",
            target=person.email,
            payload={"subject": subject, "text": text},
            state="pending",
            created_at=now,
            next_attempt_at=now,
        )
        for person in people
        if person.email
    ]
    if rows:
        OutgoingMessage.objects.bulk_create(rows, ignore_conflicts=True)


def _page(clock: SLAClock, policy_id: int, now: datetime) -> str:
    from escalations.models import Escalation, EscalationPolicy
    from escalations.services import policy_snapshot

    incident = clock.incident
    policy = EscalationPolicy.objects.filter(pk=policy_id, active=True).first()
    if policy is None:
        return f"escalation policy {policy_id} not found or inactive: nobody paged"
    if Escalation.objects.filter(incident=incident, policy=policy, cycle=incident.cycle).exists():
        return f'escalation "{policy.name}" already ran in this cycle'
    snapshot = policy_snapshot(policy)
    if not snapshot["steps"]:
        return f'escalation "{policy.name}" has no steps'
    Escalation.objects.create(
        incident=incident,
        policy=policy,
        policy_snapshot=snapshot,
        policy_version=policy.version,
        cycle=incident.cycle,
        next_fire_at=now,
        started_at=now,
    )
    return f'started escalation "{policy.name}"'


def sla_audit(now: datetime, stuck_before: datetime) -> dict[str, int]:
    """Repairs for the auditor: a running clock with nothing scheduled, open clocks on a
    closed incident; and how many clocks are overdue by more than the stuck window."""
    from escalations.sla_services import sla_clocks_stop

    report = {"sla_rescheduled": 0, "sla_stopped": 0, "sla_overdue": 0}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE escalations_slaclock SET next_check_at =
                CASE WHEN warned_at IS NULL AND warn_at IS NOT NULL AND warn_at < due_at THEN warn_at ELSE due_at END
            WHERE state = 'running' AND next_check_at IS NULL
            """
        )
        report["sla_rescheduled"] = cursor.rowcount
        cursor.execute(
            """
            SELECT DISTINCT c.incident_id FROM escalations_slaclock c JOIN incidents_incident i ON i.id = c.incident_id
            WHERE c.stopped_at IS NULL AND c.state IN ('running', 'paused') AND c.metric <> 'postmortem'
              AND i.status IN ('resolved', 'closed', 'declined', 'merged') AND c.cycle = i.cycle
            """
        )
        stale = [row[0] for row in cursor.fetchall()]
    for incident_id in stale:
        with transaction.atomic():
            report["sla_stopped"] += len(sla_clocks_stop(incident_id=incident_id, at=now, reason="incident no longer open (auditor)"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM escalations_slaclock WHERE state = 'running' AND next_check_at <= %s", [stuck_before])
        report["sla_overdue"] = cursor.fetchone()[0]
    return report


def lag_seconds(now: datetime) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(next_check_at) FROM escalations_slaclock WHERE state = 'running' AND next_check_at <= %s", [now])
        oldest = cursor.fetchone()[0]
    return max((now - oldest).total_seconds(), 0.0) if oldest else 0.0
