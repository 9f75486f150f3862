from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from core.errors import Forbidden, NotFound
from dashboards import exports, selectors, services
from dashboards.forms import MAX_RANGE_DAYS, DashboardFilterForm
from dashboards.models import ExportState
from incidents.models import Channel, HarmCategory, Region, Severity

VIEW_PERM = "dashboards.view_dashboard"
WIDGET_TITLES = {
    "open": "Open incidents by severity and status (now)",
    "volume": "Incidents declared per day",
    "metrics": "Response times",
    "time_in_status": "Time in each status",
    "oncall": "On-call load",
    "postmortems": "Post-mortems and action items",
    "exposure": "Reviewer exposure to graphic content (counts only)",
    "sla": "SLA attainment",
    "sla_breaches": "SLA breaches (latest 50)",
}


def _shown(summary: dict, widget: str) -> bool:
    if widget == "exposure":
        return summary["exposure"] is not None
    if widget in ("sla", "sla_breaches"):
        return summary["sla"] is not None
    return True


def _bars(summary: dict) -> dict:
    """Small bar charts drawn beside the widgets' tables: one value per label."""
    bars = {
        "open": {
            "label": "open incidents",
            "labels": [f"SEV{r['severity']}" for r in summary["open"]["rows"]],
            "values": [sum(r[s] for s in summary["open"]["statuses"]) for r in summary["open"]["rows"]],
        },
        "time_in_status": {
            "label": "mean hours",
            "labels": [r["status"] for r in summary["time_in_status"]["rows"]],
            "values": [r["mean_hours"] or 0 for r in summary["time_in_status"]["rows"]],
        },
        "oncall": {
            "label": "pages",
            "labels": [r["user"] for r in summary["oncall"]["rows"][:20]],
            "values": [r["pages"] for r in summary["oncall"]["rows"][:20]],
        },
    }
    if summary["sla"] is not None:
        bars["sla"] = {
            "label": "attainment %",
            "labels": [r["metric"] for r in summary["sla"]["rows"]],
            "values": [r["attainment_pct"] or 0 for r in summary["sla"]["rows"]],
        }
    return {k: v for k, v in bars.items() if v["labels"]}


def _fmt_hours(seconds):
    if seconds is None:
        return "—"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _metric_rows(summary: dict) -> list[dict]:
    rows = []
    for key, m in summary["metrics"].items():
        prev = summary["previous"]["metrics"][key]
        rows.append(
            {
                "key": key,
                "label": m["label"],
                "definition": m["definition"],
                "count": m["count"],
                "median": _fmt_hours(m["median_seconds"]),
                "p90": _fmt_hours(m["p90_seconds"]),
                "prev_median": _fmt_hours(prev["median_seconds"]),
                "prev_p90": _fmt_hours(prev["p90_seconds"]),
            }
        )
    return rows


DRILLDOWN_LIMIT = 100


def _require_view(request) -> None:
    if not request.user.has_perm(VIEW_PERM):
        raise Forbidden("You do not have access to the dashboards.")


def _form_context(form) -> dict:
    from accounts.models import Team

    return {
        "form": form,
        "teams": list(Team.objects.order_by("name").values_list("pk", "name")),
        "regions": Region.choices,
        "categories": list(HarmCategory.objects.order_by("order", "name").values_list("slug", "name")),
        "channels": Channel.choices,
        "severities": Severity.choices,
        "max_days": MAX_RANGE_DAYS,
        "date_from_value": form.data.get("date_from", ""),
        "date_to_value": form.data.get("date_to", ""),
    }


@login_required
@require_GET
def dashboard(request):
    _require_view(request)
    form = DashboardFilterForm.from_query(request.GET)
    context = _form_context(form)
    if not form.is_valid():
        return render(request, "dashboards/dashboard.html", context, status=400)
    filters = form.filters()
    summary = selectors.dashboard_summary(user=request.user, filters=filters)
    query = filters.as_query()
    if filters.by != "category":
        query["by"] = filters.by
    context.update(
        date_from_value=filters.date_from.isoformat(),
        date_to_value=filters.date_to.isoformat(),
        summary=summary,
        filters=filters,
        query=query,
        can_export=request.user.has_perm(services.EXPORT_PERM),
        chart={"volume": summary["volume"], "bars": _bars(summary)},
        qs=urlencode(query),
        widgets=[(w, WIDGET_TITLES[w], *exports.widget_table(summary, w)) for w in exports.WIDGETS if _shown(summary, w)],
        metric_rows=_metric_rows(summary),
    )
    return render(request, "dashboards/dashboard.html", context)


def _valid_filters(request):
    form = DashboardFilterForm.from_query(request.GET)
    if not form.is_valid():
        errors = form.api_errors()
        field = next(iter(errors))
        return None, HttpResponse(f"{field}: {errors[field][0]}", status=400, content_type="text/plain; charset=utf-8")
    return form.filters(), None


def _stream(lines, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_GET
def export_widget(request, widget: str):
    _require_view(request)
    if widget not in exports.WIDGETS:
        raise NotFound("No such widget.")
    filters, error = _valid_filters(request)
    if error:
        return error
    services.export_widget_record(actor=request.user, widget=widget, filters=filters)
    summary = selectors.dashboard_summary(user=request.user, filters=filters, compare=False)
    header, rows = exports.widget_table(summary, widget)
    return _stream(exports.csv_lines(header, rows), exports.export_filename(widget))


@login_required
@require_GET
def export_incidents(request):
    _require_view(request)
    filters, error = _valid_filters(request)
    if error:
        return error
    count, job = services.export_incidents_request(actor=request.user, filters=filters)
    if job is not None:
        return redirect(reverse("dashboards:export-job", args=[job.pk]))
    qs = selectors.drilldown_incidents(user=request.user, filters=filters)
    return _stream(exports.csv_lines(exports.incident_header(), exports.incident_rows(qs)), exports.export_filename("incidents"))


@login_required
@require_GET
def export_job(request, pk: int):
    job = services.export_job_get_for_download(actor=request.user, pk=pk)
    template = "dashboards/_export_progress.html" if request.headers.get("HX-Request") == "true" else "dashboards/export_job.html"
    return render(request, template, {"job": job, "done": job.state == ExportState.DONE, "failed": job.state == ExportState.FAILED})


@login_required
@require_GET
def export_job_download(request, pk: int):
    job = services.export_job_get_for_download(actor=request.user, pk=pk)
    if job.state != ExportState.DONE or not job.file_path:
        raise NotFound("This export is not ready.")
    try:
        fh = open(job.file_path, "rb")  # noqa: SIM115 - FileResponse closes it
    except OSError:
        raise NotFound("This export file is no longer available.") from None
    services.export_job_record_download(actor=request.user, job=job)
    return FileResponse(fh, as_attachment=True, filename=f"firebreak-incidents-export-{job.pk}.csv", content_type="text/csv")


@login_required
@require_GET
def drilldown(request):
    _require_view(request)
    form = DashboardFilterForm.from_query(request.GET)
    if not form.is_valid():
        return render(request, "dashboards/drilldown.html", {"form": form, "incidents": []}, status=400)
    filters = form.filters()
    incidents = list(selectors.drilldown_incidents(user=request.user, filters=filters)[:DRILLDOWN_LIMIT])
    return render(
        request,
        "dashboards/drilldown.html",
        {"form": form, "filters": filters, "qs": urlencode(filters.as_query()), "incidents": incidents, "limit": DRILLDOWN_LIMIT},
    )
