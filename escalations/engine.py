"""The escalation engine: plain functions of ``now``.

Celery calls them with the database clock; tests call them with any instant.

- ``tick(now)`` claims due escalations with ``FOR UPDATE SKIP LOCKED`` and, in
  one SQL statement per batch, resolves the step's targets, advances the
  escalation, and bulk-inserts pages, outgoing messages and timeline entries
  (``ON CONFLICT DO NOTHING``), so two ticks at once are harmless.
- ``deliver_due(now)`` claims due outgoing messages (``claim_deadline``),
  commits, sends them outside any transaction, then records the outcome.
- ``auditor(now)`` repairs rows that should not be where they are.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from core.models import EngineHeartbeat
from escalations import delivery, sla_engine
from escalations.models import MessageState, OutgoingMessage, Page, PageState

logger = logging.getLogger(__name__)

HEARTBEAT = "escalations"
DELIVERY_HEARTBEAT = "escalations-delivery"
AUDITOR_HEARTBEAT = "escalations-auditor"

BATCH_SIZE = 500
MAX_BATCHES_PER_TICK = 200
TICK_WORKERS = 2
DELIVERY_BATCH_SIZE = 100
DELIVERY_WORKERS = 8
CLAIM_SECONDS = 60
MAX_ATTEMPTS = 5
BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 30 * 60
STUCK_MINUTES = 5


@dataclass
class TickResult:
    claimed: int = 0
    pages: int = 0
    messages: int = 0
    gaps: int = 0
    exhausted: int = 0
    batches: int = 0
    lag_seconds: float = 0.0
    duration_ms: float = 0.0
    sla_warnings: int = 0
    sla_breaches: int = 0


@dataclass
class DeliveryResult:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0


@dataclass
class AuditReport:
    at: str = ""
    resolved_closed_incidents: int = 0
    stopped_acknowledged: int = 0
    overdue_escalations: int = 0
    overdue_fired: int = 0
    released_messages: int = 0
    page_states_fixed: int = 0
    sla_rescheduled: int = 0
    sla_stopped: int = 0
    sla_overdue: int = 0
    details: list[str] = field(default_factory=list)

    @property
    def repaired(self) -> int:
        return (
            self.resolved_closed_incidents
            + self.stopped_acknowledged
            + self.overdue_fired
            + self.released_messages
            + self.page_states_fixed
            + self.sla_rescheduled
            + self.sla_stopped
        )


# One statement per batch. Every CTE below runs exactly once, to completion.
# The snapshot stores the steps as a JSON array; ``step_index`` past its end
# means "the last wait ran out": the escalation is exhausted.
_TICK_SQL = """
WITH claimed AS (
    SELECT e.id, e.incident_id, e.cycle, e.step_index, e.repeat_count, e.policy_snapshot AS snap
    FROM escalations_escalation e
    WHERE e.state = 'active' AND e.next_fire_at <= %(now)s
    ORDER BY e.next_fire_at, e.id
    LIMIT %(batch)s
    FOR UPDATE SKIP LOCKED
),
-- Key-share the incidents up front, skipping any that a writer holds (a resolve in
-- progress): its escalation waits for the next tick. Taking this lock now, in a fixed
-- order after the escalation, means the foreign-key checks at commit never wait for
-- an incident writer who in turn waits for our escalation row (no deadlock).
incidents_locked AS (
    SELECT i.id, i.severity, i.commander_id, i.status
    FROM incidents_incident i
    WHERE i.id = ANY(ARRAY(SELECT incident_id FROM claimed))
    FOR KEY SHARE SKIP LOCKED
),
closed AS (
    UPDATE escalations_escalation e SET state = 'resolved', next_fire_at = NULL, ended_at = %(now)s, claim_deadline = NULL
    FROM claimed c JOIN incidents_locked il ON il.id = c.incident_id
    WHERE e.id = c.id AND il.status IN ('resolved', 'closed', 'declined', 'merged')
    RETURNING e.id
),
ctx AS (
    SELECT c.id, c.incident_id, c.cycle, c.step_index, c.repeat_count, c.snap,
           il.severity, il.commander_id,
           jsonb_array_length(c.snap -> 'steps') AS n_steps,
           COALESCE((c.snap ->> 'repeat')::int, 0) AS n_repeat,
           c.snap -> 'steps' -> c.step_index AS step
    FROM claimed c JOIN incidents_locked il ON il.id = c.incident_id
    WHERE il.status NOT IN ('resolved', 'closed', 'declined', 'merged')
),
targets AS (
    SELECT ctx.id AS esc_id, t ->> 'kind' AS kind, (t ->> 'id')::bigint AS ref
    FROM ctx CROSS JOIN LATERAL jsonb_array_elements(COALESCE(ctx.step -> 'targets', '[]'::jsonb)) AS t
    WHERE ctx.step_index < ctx.n_steps
),
recipients AS (
    SELECT DISTINCT r.esc_id, r.user_id
    FROM (
        SELECT esc_id, ref AS user_id FROM targets WHERE kind = 'user'
        UNION ALL
        SELECT t.esc_id, s.user_id FROM targets t
            JOIN escalations_oncallspan s ON s.schedule_id = t.ref AND s.start <= %(now)s AND s."end" > %(now)s
            WHERE t.kind = 'schedule'
        UNION ALL
        SELECT t.esc_id, m.user_id FROM targets t
            JOIN accounts_teammembership m ON m.team_id = t.ref
            WHERE t.kind = 'team_members'
        UNION ALL
        SELECT t.esc_id, s.user_id FROM targets t
            JOIN escalations_schedule sc ON sc.team_id = t.ref
            JOIN escalations_oncallspan s ON s.schedule_id = sc.id AND s.start <= %(now)s AND s."end" > %(now)s
            WHERE t.kind = 'team_oncall'
    ) r
    WHERE (SELECT u.is_active FROM accounts_user u WHERE u.id = r.user_id)
),
per_esc AS (
    SELECT esc_id, count(*) AS n, jsonb_agg(user_id ORDER BY user_id) AS user_ids FROM recipients GROUP BY esc_id
),
counts AS (
    SELECT ctx.id AS esc_id, COALESCE(pe.n, 0) AS n, COALESCE(pe.user_ids, '[]'::jsonb) AS user_ids,
           ctx.step_index >= ctx.n_steps AS exhausting
    FROM ctx LEFT JOIN per_esc pe ON pe.esc_id = ctx.id
),
advanced AS (
    UPDATE escalations_escalation e SET
        step_index = CASE
            WHEN ctx.step_index >= ctx.n_steps THEN e.step_index
            WHEN ctx.step_index + 1 < ctx.n_steps THEN ctx.step_index + 1
            WHEN ctx.repeat_count < ctx.n_repeat THEN 0
            ELSE ctx.n_steps END,
        repeat_count = CASE
            WHEN ctx.step_index + 1 = ctx.n_steps AND ctx.repeat_count < ctx.n_repeat THEN ctx.repeat_count + 1
            ELSE ctx.repeat_count END,
        state = CASE WHEN cnt.exhausting THEN 'exhausted' ELSE 'active' END,
        next_fire_at = CASE
            WHEN cnt.exhausting THEN NULL
            WHEN cnt.n = 0 THEN %(now)s
            ELSE %(now)s + make_interval(mins => (ctx.step ->> 'wait_minutes')::int) END,
        ended_at = CASE WHEN cnt.exhausting THEN %(now)s ELSE NULL END,
        last_fired_at = %(now)s,
        claim_deadline = NULL
    FROM ctx JOIN counts cnt ON cnt.esc_id = ctx.id
    WHERE e.id = ctx.id
    RETURNING e.id
),
deliveries AS (
    -- In-app always: the bell is where a page can be acknowledged.
    SELECT r.esc_id, r.user_id, 'in_app'::text AS channel, r.user_id::text AS target,
           NULL::bigint AS cm_id, 0 AS delay_minutes
    FROM recipients r
    UNION ALL
    SELECT r.esc_id, r.user_id, cm.kind, cm.target, cm.id, nr.delay_minutes
    FROM recipients r
    JOIN ctx ON ctx.id = r.esc_id
    JOIN escalations_notificationrule nr ON nr.user_id = r.user_id
    JOIN escalations_contactmethod cm ON cm.id = nr.contact_method_id AND cm.verified AND cm.kind <> 'in_app'
    WHERE nr.urgency = 'any' OR nr.urgency = CASE WHEN ctx.severity <= 2 THEN 'high' ELSE 'low' END
    UNION ALL
    -- Without rules of their own, people get email at their account address.
    SELECT e.esc_id, e.user_id, 'email', e.email, NULL, 0
    FROM (SELECT r.esc_id, r.user_id, (SELECT u.email FROM accounts_user u WHERE u.id = r.user_id) AS email
          FROM recipients r
          WHERE NOT EXISTS (SELECT 1 FROM escalations_notificationrule nr WHERE nr.user_id = r.user_id)) e
    WHERE e.email <> ''
),
new_pages AS (
    INSERT INTO escalations_page (escalation_id, incident_id, cycle, "repeat", step, recipient_id, channel, state, created_at)
    SELECT DISTINCT d.esc_id, ctx.incident_id, ctx.cycle, ctx.repeat_count, ctx.step_index, d.user_id, d.channel, 'pending', %(now)s
    FROM deliveries d JOIN ctx ON ctx.id = d.esc_id
    ON CONFLICT (escalation_id, cycle, "repeat", step, recipient_id, channel) DO NOTHING
    RETURNING id, escalation_id, recipient_id, channel
),
new_messages AS (
    INSERT INTO escalations_outgoingmessage (
        idempotency_key, page_id, escalation_id, incident_id, recipient_id, contact_method_id, kind, channel, target,
        payload, state, attempts, created_at, next_attempt_at, last_error)
    SELECT 'page:' || ctx.id || ':' || ctx.cycle || ':' || ctx.repeat_count || ':' || ctx.step_index || ':'
               || d.user_id || ':' || d.channel || ':' || COALESCE(d.cm_id::text, '-'),
           p.id, ctx.id, ctx.incident_id, d.user_id, d.cm_id, 'page', d.channel, d.target,
           jsonb_build_object('step', ctx.step_index + 1, 'repeat', ctx.repeat_count, 'policy', ctx.snap ->> 'name'),
           'pending', 0, %(now)s, %(now)s + make_interval(mins => d.delay_minutes), ''
    FROM deliveries d
    JOIN ctx ON ctx.id = d.esc_id
    JOIN new_pages p ON p.escalation_id = d.esc_id AND p.recipient_id = d.user_id AND p.channel = d.channel
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING 1
),
gaps AS (
    SELECT ctx.* FROM ctx JOIN counts cnt ON cnt.esc_id = ctx.id WHERE NOT cnt.exhausting AND cnt.n = 0
),
gap_people AS (
    SELECT g.id AS esc_id, g.commander_id AS user_id FROM gaps g WHERE g.commander_id IS NOT NULL
    UNION
    SELECT g.id, u.id FROM gaps g CROSS JOIN accounts_user u
    WHERE u.is_active AND (u.is_superuser OR EXISTS (
        SELECT 1 FROM accounts_user_groups ug JOIN auth_group gr ON gr.id = ug.group_id
        WHERE ug.user_id = u.id AND gr.name = 'admin'))
),
gap_messages AS (
    INSERT INTO escalations_outgoingmessage (
        idempotency_key, escalation_id, incident_id, recipient_id, kind, channel, target,
        payload, state, attempts, created_at, next_attempt_at, last_error)
    SELECT 'gap:' || g.id || ':' || g.cycle || ':' || g.repeat_count || ':' || g.step_index || ':' || gp.user_id,
           g.id, g.incident_id, gp.user_id, 'gap', 'in_app', gp.user_id::text,
           jsonb_build_object('step', g.step_index + 1, 'repeat', g.repeat_count, 'policy', g.snap ->> 'name'),
           'pending', 0, %(now)s, %(now)s, ''
    FROM gaps g JOIN gap_people gp ON gp.esc_id = g.id
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING 1
),
timeline AS (
    INSERT INTO incidents_timelineevent (incident_id, at, kind, actor_id, summary, data, cycle, is_key_moment, recorded_at)
    SELECT ctx.incident_id, %(now)s, 'page', NULL,
           CASE
               WHEN cnt.exhausting THEN
                   'Escalation "' || (ctx.snap ->> 'name') || '" exhausted: nobody acknowledged'
               WHEN cnt.n = 0 THEN
                   'Escalation "' || (ctx.snap ->> 'name') || '" step ' || (ctx.step_index + 1)
                   || ': nobody to page (on-call gap or inactive people), moved to the next step'
               ELSE
                   'Escalation "' || (ctx.snap ->> 'name') || '" step ' || (ctx.step_index + 1)
                   || CASE WHEN ctx.repeat_count > 0 THEN ' (repeat ' || ctx.repeat_count || ')' ELSE '' END
                   || ' paged ' || cnt.n || CASE WHEN cnt.n = 1 THEN ' person' ELSE ' people' END
           END,
           jsonb_build_object(
               'escalation_id', ctx.id, 'step', ctx.step_index + 1, 'repeat', ctx.repeat_count,
               'recipients', cnt.user_ids,
               'gap', (NOT cnt.exhausting AND cnt.n = 0), 'exhausted', cnt.exhausting),
           ctx.cycle, false, %(now)s
    FROM ctx JOIN counts cnt ON cnt.esc_id = ctx.id
    RETURNING 1
)
SELECT
    (SELECT count(*) FROM advanced) + (SELECT count(*) FROM closed),
    (SELECT count(*) FROM new_pages),
    (SELECT count(*) FROM new_messages) + (SELECT count(*) FROM gap_messages),
    (SELECT count(*) FROM gaps),
    (SELECT count(*) FROM counts WHERE exhausting),
    (SELECT count(*) FROM timeline)
"""


def _lag_seconds(now: datetime) -> float:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXTRACT(EPOCH FROM (%s - min(next_fire_at))) FROM escalations_escalation WHERE state = 'active' AND next_fire_at <= %s",
            [now, now],
        )
        value = cursor.fetchone()[0]
    return max(float(value or 0.0), 0.0)


def _heartbeat(name: str, now: datetime, lag: float, detail: dict[str, Any]) -> None:
    EngineHeartbeat.objects.update_or_create(name=name, defaults={"beat_at": now, "lag_seconds": lag, "detail": detail})


def _run_batches(now: datetime, result: TickResult, batch_size: int, max_batches: int, on_batch: Callable[[int], None] | None) -> None:
    for _ in range(max_batches):
        with transaction.atomic(), connection.cursor() as cursor:
            # The planner sees the freshly claimed batch as one row (the due rows are
            # newer than its statistics) and would join the CTEs with nested loops,
            # quadratic in the batch; big-table lookups above are scalar subqueries on
            # primary keys, so hash joins between CTEs are right. The huge estimated
            # cost that disabling nested loops implies would also trigger JIT
            # compilation, which costs seconds: keep it off for this statement.
            cursor.execute("SET LOCAL enable_nestloop = off")
            cursor.execute("SET LOCAL jit = off")
            cursor.execute(_TICK_SQL, {"now": now, "batch": batch_size})
            claimed, pages, messages, gaps, exhausted, _timeline = cursor.fetchone()
        if on_batch is not None:
            on_batch(claimed)
        with _result_lock:
            result.batches += 1
            result.claimed += claimed
            result.pages += pages
            result.messages += messages
            result.gaps += gaps
            result.exhausted += exhausted
        # A step with nobody to page is due again at ``now`` (the next step at
        # once), so keep going while a batch still found work.
        if claimed == 0:
            break


_result_lock = threading.Lock()


def tick(
    now: datetime,
    *,
    batch_size: int = BATCH_SIZE,
    max_batches: int = MAX_BATCHES_PER_TICK,
    on_batch: Callable[[int], None] | None = None,
    workers: int = 1,
) -> TickResult:
    """Fire every escalation step due at ``now``; one transaction per batch.

    ``workers`` > 1 runs that many batch loops at once, each on its own database
    connection (SKIP LOCKED keeps them apart), so a burst uses every core. Those
    connections see only committed rows, so tests inside a transaction use 1.
    ``on_batch(claimed)`` runs after each batch commits (the benchmark times it)."""
    started = time.monotonic()
    result = TickResult(lag_seconds=_lag_seconds(now))
    if workers <= 1:
        _run_batches(now, result, batch_size, max_batches, on_batch)
    else:

        def loop() -> None:
            try:
                _run_batches(now, result, batch_size, max_batches, on_batch)
            finally:
                connection.close()

        threads = [threading.Thread(target=loop, name=f"engine-tick-{i}") for i in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    # SLA warnings and breaches: one indexed EXISTS query when none is due.
    sla = sla_engine.fire_due(now)
    result.sla_warnings, result.sla_breaches = sla.warnings, sla.breaches
    result.lag_seconds = max(result.lag_seconds, sla.lag_seconds)  # the oldest overdue row of either kind
    result.duration_ms = round((time.monotonic() - started) * 1000, 1)
    _heartbeat(HEARTBEAT, now, result.lag_seconds, asdict(result))
    if result.claimed:
        logger.info("engine tick fired %s steps (%s pages, %s gaps)", result.claimed, result.pages, result.gaps)
    return result


# --- delivery ---------------------------------------------------------------------

_CLAIM_SQL = """
UPDATE escalations_outgoingmessage m
SET state = 'claimed', claim_deadline = %(deadline)s, attempts = m.attempts + 1
WHERE m.id IN (
    SELECT id FROM escalations_outgoingmessage
    WHERE (state = 'pending' AND next_attempt_at <= %(now)s) OR (state = 'claimed' AND claim_deadline <= %(now)s)
    ORDER BY next_attempt_at, id
    LIMIT %(batch)s
    FOR UPDATE SKIP LOCKED
)
RETURNING m.id
"""


def _claim_messages(now: datetime, batch: int) -> tuple[list[int], datetime]:
    deadline = now + timedelta(seconds=getattr(settings, "FIREBREAK_DELIVERY_CLAIM_SECONDS", CLAIM_SECONDS))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, {"now": now, "deadline": deadline, "batch": batch})
        ids = [row[0] for row in cursor.fetchall()]
    return ids, deadline


def backoff_seconds(attempts: int) -> int:
    return min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS)


def deliver_due(now: datetime, *, batch_size: int = DELIVERY_BATCH_SIZE) -> DeliveryResult:
    """Claim (and commit), send outside any transaction, then record each outcome."""
    ids, deadline = _claim_messages(now, batch_size)
    result = DeliveryResult(claimed=len(ids))
    if not ids:
        _heartbeat(DELIVERY_HEARTBEAT, now, 0.0, asdict(result))
        return result
    messages = list(
        OutgoingMessage.objects.filter(pk__in=ids).select_related(
            "incident", "incident__harm_category", "recipient", "contact_method", "page", "escalation"
        )
    )
    jobs: list[tuple[OutgoingMessage, delivery.Envelope]] = []
    for message in messages:
        if not delivery.still_wanted(message):
            _finish_cancelled(message, deadline)
            result.cancelled += 1
            continue
        jobs.append((message, delivery.envelope_for(message)))
    in_app = [(m, e) for m, e in jobs if m.channel == "in_app"]
    remote = [(m, e) for m, e in jobs if m.channel != "in_app"]
    for message, envelope in in_app:
        # In-app delivery is a row in our own database: write it and its outcome together.
        with transaction.atomic():
            state = _record_outcome(message, delivery.send(envelope), now, deadline)
        _count(result, state)
    if remote:
        # Network sends only: no database work happens in these threads. Each outcome is
        # recorded as soon as its send returns, so one hanging receiver does not hold the
        # others' results back (a crash meanwhile would send them all again).
        with ThreadPoolExecutor(max_workers=min(DELIVERY_WORKERS, len(remote))) as pool:
            sending = {pool.submit(delivery.send, envelope): message for message, envelope in remote}
            for done in as_completed(sending):
                _count(result, _record_outcome(sending[done], done.result(), now, deadline))
    _heartbeat(DELIVERY_HEARTBEAT, now, 0.0, asdict(result))
    return result


def _count(result: DeliveryResult, state: str | None) -> None:
    if state == MessageState.SENT:
        result.sent += 1
    elif state == MessageState.FAILED:
        result.failed += 1
    elif state == MessageState.PENDING:
        result.retried += 1


def _finish_cancelled(message: OutgoingMessage, deadline: datetime) -> None:
    OutgoingMessage.objects.filter(pk=message.pk, state=MessageState.CLAIMED, claim_deadline=deadline).update(
        state=MessageState.CANCELLED, claim_deadline=None, attempts=message.attempts - 1
    )


@transaction.atomic
def _record_outcome(message: OutgoingMessage, outcome: delivery.Outcome, now: datetime, deadline: datetime) -> str | None:
    from escalations.models import DeliveryAttempt

    locked = OutgoingMessage.objects.select_for_update().get(pk=message.pk)
    finished = now + timedelta(seconds=outcome.elapsed)
    DeliveryAttempt.objects.create(
        message=locked,
        number=message.attempts,
        started_at=now,
        finished_at=finished,
        ok=outcome.ok,
        status_code=outcome.status_code,
        error=outcome.error[:2000],
    )
    if locked.state != MessageState.CLAIMED or locked.claim_deadline != deadline:
        # Our claim ran out and someone else owns the message now; the attempt is on record.
        return None
    if outcome.ok:
        locked.state = MessageState.SENT
        locked.sent_at = finished
        locked.last_error = ""
        if locked.page_id:
            Page.objects.filter(pk=locked.page_id, state__in=[PageState.PENDING, PageState.FAILED]).update(state=PageState.SENT)
    elif outcome.permanent or locked.attempts >= MAX_ATTEMPTS:
        locked.state = MessageState.FAILED
        locked.last_error = outcome.error[:2000]
        if locked.page_id:
            _page_failed_if_nothing_left(locked.page_id)
    else:
        locked.state = MessageState.PENDING
        locked.last_error = outcome.error[:2000]
        locked.next_attempt_at = now + timedelta(seconds=backoff_seconds(locked.attempts))
    locked.claim_deadline = None
    locked.save(update_fields=["state", "sent_at", "last_error", "next_attempt_at", "claim_deadline"])
    return locked.state


def _page_failed_if_nothing_left(page_id: int) -> None:
    alive = OutgoingMessage.objects.filter(page_id=page_id).exclude(state__in=[MessageState.FAILED, MessageState.CANCELLED])
    if not alive.exists():
        Page.objects.filter(pk=page_id, state=PageState.PENDING).update(state=PageState.FAILED)


# --- auditor ----------------------------------------------------------------------


def auditor(now: datetime, *, stuck_minutes: int = STUCK_MINUTES) -> AuditReport:
    """Find rows stuck where they should not be, repair them, and say what was done."""
    report = AuditReport(at=now.isoformat())
    stuck_before = now - timedelta(minutes=stuck_minutes)
    with transaction.atomic(), connection.cursor() as cursor:
        # An escalation still active on an incident that is no longer open.
        cursor.execute(
            """
            UPDATE escalations_escalation e SET state = 'resolved', next_fire_at = NULL, ended_at = %s
            FROM incidents_incident i
            WHERE i.id = e.incident_id AND e.state = 'active'
              AND i.status IN ('resolved', 'closed', 'declined', 'merged')
            """,
            [now],
        )
        report.resolved_closed_incidents = cursor.rowcount
        # An escalation still active although one of its pages was acknowledged.
        cursor.execute(
            """
            UPDATE escalations_escalation e SET state = 'acknowledged', next_fire_at = NULL, ended_at = %s
            WHERE e.state = 'active' AND EXISTS (
                SELECT 1 FROM escalations_page p WHERE p.escalation_id = e.id AND p.state = 'acknowledged')
            """,
            [now],
        )
        report.stopped_acknowledged = cursor.rowcount
        cursor.execute(
            "UPDATE escalations_outgoingmessage SET state = 'cancelled', claim_deadline = NULL "
            "WHERE state IN ('pending', 'claimed') AND escalation_id IN ("
            "  SELECT id FROM escalations_escalation WHERE state <> 'active') AND kind = 'page' "
            "  AND (state = 'pending' OR claim_deadline <= %s)",
            [now],
        )
        # Messages whose claim ran out go back to the queue explicitly (deliver_due would
        # also pick them up; this makes the repair visible).
        cursor.execute(
            "UPDATE escalations_outgoingmessage SET state = 'pending', claim_deadline = NULL, next_attempt_at = %s "
            "WHERE state = 'claimed' AND claim_deadline <= %s",
            [now, now],
        )
        report.released_messages = cursor.rowcount
        cursor.execute(
            """
            UPDATE escalations_page p SET state = 'sent'
            WHERE p.state IN ('pending', 'failed') AND EXISTS (
                SELECT 1 FROM escalations_outgoingmessage m WHERE m.page_id = p.id AND m.state = 'sent')
            """
        )
        report.page_states_fixed = cursor.rowcount
        cursor.execute(
            "SELECT count(*) FROM escalations_escalation WHERE state = 'active' AND next_fire_at <= %s",
            [stuck_before],
        )
        report.overdue_escalations = cursor.fetchone()[0]
    sla = sla_engine.sla_audit(now, stuck_before)
    report.sla_rescheduled, report.sla_stopped, report.sla_overdue = sla["sla_rescheduled"], sla["sla_stopped"], sla["sla_overdue"]
    if report.sla_overdue:
        report.details.append(f"{report.sla_overdue} SLA clocks overdue by more than {stuck_minutes} min")
    if report.overdue_escalations or report.sla_overdue:
        fired = tick(now)
        report.overdue_fired = fired.claimed
        report.details.append(
            f"{report.overdue_escalations} escalations overdue by more than {stuck_minutes} min; tick fired {fired.claimed}"
        )
    if report.repaired:
        logger.warning("engine auditor repaired rows: %s", asdict(report))
    payload = asdict(report)
    payload["repaired"] = report.repaired
    _heartbeat(AUDITOR_HEARTBEAT, now, 0.0, payload)
    return report


def engine_status(now: datetime) -> dict[str, Any]:
    """What the admin page and the watchdog read."""
    beats = {b.name: b for b in EngineHeartbeat.objects.filter(name__in=[HEARTBEAT, DELIVERY_HEARTBEAT, AUDITOR_HEARTBEAT])}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT
              (SELECT count(*) FROM escalations_escalation WHERE state = 'active'),
              (SELECT count(*) FROM escalations_escalation WHERE state = 'active' AND next_fire_at <= %(now)s),
              (SELECT count(*) FROM escalations_outgoingmessage WHERE state = 'pending' AND next_attempt_at <= %(now)s),
              (SELECT count(*) FROM escalations_outgoingmessage WHERE state = 'claimed'),
              (SELECT count(*) FROM escalations_outgoingmessage WHERE state = 'failed')
            """,
            {"now": now},
        )
        active, due, messages_due, claimed, failed = cursor.fetchone()
    tick_beat = beats.get(HEARTBEAT)
    return {
        "now": now,
        "last_tick": tick_beat.beat_at if tick_beat else None,
        "seconds_since_tick": (now - tick_beat.beat_at).total_seconds() if tick_beat else None,
        "lag_seconds": tick_beat.lag_seconds if tick_beat else None,
        "tick": tick_beat.detail if tick_beat else {},
        "delivery": beats.get(DELIVERY_HEARTBEAT),
        "auditor": beats.get(AUDITOR_HEARTBEAT),
        "active_escalations": active,
        "due_escalations": due,
        "due_messages": messages_due,
        "claimed_messages": claimed,
        "failed_messages": failed,
    }
