from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.utils import timezone

from dashboards import rollups, services

REFRESH_DAYS = 3


CHANGED_WITHIN = dt.timedelta(minutes=15)  # three beat intervals: a missed run is caught up


@shared_task(acks_late=True, name="dashboards.rollups_refresh")
def rollups_refresh_task(days: int = REFRESH_DAYS) -> int:
    """Rebuild the last ``days`` UTC days (today included), and the declaration day of every
    incident changed lately (an old incident resolved today moves that day's MTTR);
    harmless when run twice."""
    now = timezone.now()
    today = now.astimezone(dt.UTC).date()
    wanted = {today - dt.timedelta(days=k) for k in range(days)}
    wanted |= rollups.days_with_changes(since=now - CHANGED_WITHIN)
    return sum(rollups.rollup_rebuild_day(day, now=now) for day in sorted(wanted))


@shared_task(acks_late=True, name="dashboards.export_run")
def export_run_task(job_id: int) -> str:
    return services.export_job_run(job_id=job_id)
