from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.utils import timezone

from dashboards import rollups, services

REFRESH_DAYS = 3


@shared_task(acks_late=True, name="dashboards.rollups_refresh")
def rollups_refresh_task(days: int = REFRESH_DAYS) -> int:
    """Rebuild the last ``days`` UTC days (today included); harmless when run twice."""
    today = timezone.now().astimezone(dt.UTC).date()
    done = rollups.rollup_rebuild_range(today - dt.timedelta(days=days - 1), today)
    return sum(done.values())


@shared_task(acks_late=True, name="dashboards.export_run")
def export_run_task(job_id: int) -> str:
    return services.export_job_run(job_id=job_id)
