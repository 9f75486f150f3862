"""Thin Celery tasks. Queues come from CELERY_BEAT_SCHEDULE (engine: tick and audit;
delivery: sending and the watchdog). The database clock is read inside the task, never
passed in, so a late or repeated run acts on the present. Postgres holds every timer;
these only run the engine's functions and are harmless when run twice."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from core.models import EngineHeartbeat
from core.time import db_now
from escalations import engine
from escalations.handoff import handoff_notices_due
from escalations.services import engine_alert_admins

WATCHDOG_STALE_SECONDS = 60


@shared_task(name="escalations.engine_tick", acks_late=True, ignore_result=True)
def engine_tick() -> dict:
    result = engine.tick(db_now(), workers=getattr(settings, "FIREBREAK_ENGINE_TICK_WORKERS", engine.TICK_WORKERS))
    return {"claimed": result.claimed, "pages": result.pages}


@shared_task(name="escalations.deliver_due", acks_late=True, ignore_result=True)
def deliver_due() -> dict:
    result = engine.deliver_due(db_now())
    return {"claimed": result.claimed, "sent": result.sent}


@shared_task(name="escalations.engine_audit", acks_late=True, ignore_result=True)
def engine_audit() -> dict:
    report = engine.auditor(db_now())
    return {"repaired": report.repaired}


@shared_task(name="escalations.engine_watchdog", acks_late=True, ignore_result=True)
def engine_watchdog() -> int:
    """Email the admins when the engine has not ticked for a minute (once per outage)."""
    now = db_now()
    beat = EngineHeartbeat.objects.filter(name=engine.HEARTBEAT).first()
    if beat is not None and now - beat.beat_at <= timedelta(seconds=WATCHDOG_STALE_SECONDS):
        return 0
    since = beat.beat_at.isoformat() if beat else "never"
    queued = engine_alert_admins(
        now=now,
        subject="Firebreak: the escalation engine has stopped ticking",
        text=f"The escalation engine last ticked at {since}. Pages are not being sent. Check the workers and beat.",
        key=f"engine-stale:{since}",
    )
    if queued:
        engine.deliver_due(now)
    return queued


@shared_task(name="escalations.handoff_notices", acks_late=True, ignore_result=True)
def handoff_notices() -> int:
    return handoff_notices_due(db_now())
