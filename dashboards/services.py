"""Writes of the dashboards app: export requests and the background export run."""

from __future__ import annotations

import csv
import datetime as dt
import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.audit import audit_record
from core.errors import Forbidden, NotFound
from dashboards import exports
from dashboards.forms import DashboardFilterForm, DashboardFilters
from dashboards.models import ExportJob, ExportState
from dashboards.selectors import drilldown_incidents

EXPORT_PERM = "dashboards.export_incidents"


def export_sync_limit() -> int:
    return int(getattr(settings, "DASHBOARDS_EXPORT_SYNC_LIMIT", 50_000))


def export_dir() -> Path:
    return Path(getattr(settings, "DASHBOARDS_EXPORT_DIR", Path(settings.MEDIA_ROOT) / "private-exports"))


def export_check_permission(*, actor: Any) -> None:
    if not (getattr(actor, "is_authenticated", False) and actor.has_perm(EXPORT_PERM)):
        raise Forbidden("You do not have permission to export dashboard data.")


def export_widget_record(*, actor: Any, widget: str, filters: DashboardFilters) -> None:
    export_check_permission(actor=actor)
    audit_record(
        actor=actor, action="dashboards.export_widget", object_type="dashboards.widget", object_id=widget, after=filters.as_query()
    )


def export_incidents_request(*, actor: Any, filters: DashboardFilters, now: dt.datetime | None = None) -> tuple[int, ExportJob | None]:
    """Count the rows; at or under the limit the caller streams them (returns (count, None)),
    over it an ExportJob is queued for a worker (returns (count, job)). Audited either way."""
    export_check_permission(actor=actor)
    count = drilldown_incidents(user=actor, filters=filters).count()
    with transaction.atomic():
        if count <= export_sync_limit():
            audit_record(
                actor=actor,
                action="dashboards.export_incidents",
                object_type="dashboards.export",
                after={**filters.as_query(), "rows": count},
            )
            return count, None
        job = ExportJob.objects.create(
            requested_by=actor, kind="incidents", filters=filters.as_query(), total_rows=count, created_at=now or timezone.now()
        )
        audit_record(actor=actor, action="dashboards.export_queued", obj=job, after={**filters.as_query(), "rows": count})

        def enqueue() -> None:
            from dashboards.tasks import export_run_task

            export_run_task.delay(job.pk)

        transaction.on_commit(enqueue)
    return count, job


def export_job_run(*, job_id: int, chunk_size: int = 5000) -> str:
    """Write a queued export to a file in chunks from a server-side cursor; idempotent for a
    finished job. Rows are what the requester may see when the job runs."""
    job = ExportJob.objects.select_related("requested_by").filter(pk=job_id).first()
    if job is None:
        return "missing"
    if job.state == ExportState.DONE:
        return "done"
    user = job.requested_by
    form = DashboardFilterForm.from_query(job.filters)
    if not form.is_valid() or not user.has_perm(EXPORT_PERM):
        ExportJob.objects.filter(pk=job.pk).update(
            state=ExportState.FAILED, error="Filters or permission no longer valid.", finished_at=timezone.now()
        )
        return "failed"
    ExportJob.objects.filter(pk=job.pk).update(state=ExportState.RUNNING, rows_written=0)
    folder = export_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"export-{job.pk}-{secrets.token_hex(8)}.csv"
    tmp = path.with_suffix(".part")
    written = 0
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(exports.incident_header())
            qs = drilldown_incidents(user=user, filters=form.filters())
            for row in exports.incident_rows(qs, chunk_size=chunk_size):
                writer.writerow([exports.csv_safe(v) for v in row])
                written += 1
                if written % chunk_size == 0:
                    ExportJob.objects.filter(pk=job.pk).update(rows_written=written)
        os.replace(tmp, path)
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        ExportJob.objects.filter(pk=job.pk).update(state=ExportState.FAILED, error=str(exc)[:500], finished_at=timezone.now())
        raise
    ExportJob.objects.filter(pk=job.pk).update(
        state=ExportState.DONE, rows_written=written, total_rows=written, file_path=str(path), finished_at=timezone.now()
    )
    return "done"


def export_job_get_for_download(*, actor: Any, pk: Any) -> ExportJob:
    """The requester's own job; anyone else (and a missing job) gets NotFound."""
    try:
        value = int(pk)
    except (TypeError, ValueError):
        raise NotFound("No such export.") from None
    job = ExportJob.objects.filter(pk=value, requested_by_id=getattr(actor, "pk", None)).first()
    if job is None:
        raise NotFound("No such export.")
    return job


def export_job_record_download(*, actor: Any, job: ExportJob) -> None:
    audit_record(actor=actor, action="dashboards.export_download", obj=job, after={"rows": job.rows_written})
