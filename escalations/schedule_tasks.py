"""Celery task that keeps the materialised on-call spans ahead of the clock."""

from __future__ import annotations

from celery import shared_task

from core.time import db_now
from escalations.schedule_services import schedule_spans_refresh


@shared_task(name="escalations.schedule_spans_refresh", acks_late=True, ignore_result=True)
def schedule_spans_refresh_task() -> int:
    return schedule_spans_refresh(now=db_now())
