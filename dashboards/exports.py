"""CSV building blocks: formula-safe cells, incident rows, widget tables."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

INCIDENT_COLUMNS: list[tuple[str, str]] = [
    ("reference", "reference"),
    ("title", "title"),
    ("status", "status"),
    ("severity", "severity"),
    ("channel", "channel"),
    ("harm_category", "harm_category__slug"),
    ("region", "region"),
    ("team", "team__name"),
    ("created_at", "created_at"),
    ("acknowledged_at", "acknowledged_at"),
    ("mitigated_at", "mitigated_at"),
    ("resolved_at", "resolved_at"),
]
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> str:
    """A cell a spreadsheet will not run: text starting with = + - @ tab or CR gets a leading '."""
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(header: list[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([csv_safe(v) for v in row])


def incident_rows(qs: QuerySet, *, chunk_size: int = 2000) -> Iterator[tuple]:
    fields = [f for _, f in INCIDENT_COLUMNS]
    return qs.order_by("created_at", "id").values_list(*fields).iterator(chunk_size=chunk_size)


def incident_header() -> list[str]:
    return [name for name, _ in INCIDENT_COLUMNS]


def _hours(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds / 3600:.3f}"


WIDGETS = ("open", "volume", "metrics", "time_in_status", "oncall", "postmortems", "exposure", "sla", "sla_breaches")


def widget_table(summary: dict, widget: str) -> tuple[list[str], list[list[Any]]]:
    """The table behind one widget, as (header, rows); the same numbers as the page and API."""
    if widget == "open":
        statuses = summary["open"]["statuses"]
        return ["severity", *statuses], [[f"SEV{r['severity']}", *(r[s] for s in statuses)] for r in summary["open"]["rows"]]
    if widget == "volume":
        vol = summary["volume"]
        keys = list(vol["series"])
        return ["day", *keys], [[day, *(vol["series"][k][i] for k in keys)] for i, day in enumerate(vol["days"])]
    if widget == "metrics":
        rows = []
        for key, m in summary["metrics"].items():
            rows.append([key, m["label"], m["count"], _hours(m["median_seconds"]), _hours(m["p90_seconds"]), _hours(m["mean_seconds"])])
        return ["metric", "label", "incidents", "median_hours", "p90_hours", "mean_hours"], rows
    if widget == "time_in_status":
        return ["status", "incidents", "total_hours", "mean_hours"], [
            [r["status"], r["incidents"], r["total_hours"], r["mean_hours"]] for r in summary["time_in_status"]["rows"]
        ]
    if widget == "oncall":
        return ["user", "pages", "night_pages", "hours_on_call"], [
            [r["user"], r["pages"], r["night_pages"], r["hours_on_call"]] for r in summary["oncall"]["rows"]
        ]
    if widget == "postmortems":
        pm = summary["postmortems"]
        rows = [[status, n] for status, n in sorted(pm["by_status"].items())]
        rows += [["total", pm["total"]], ["completion_pct", pm["completion_pct"]], ["overdue_action_items", pm["overdue_action_items"]]]
        return ["measure", "value"], rows
    if widget == "exposure":
        rows = [[r["team"], r["reveals"], r["reviewers"]] for r in (summary["exposure"] or {"rows": []})["rows"]]
        return ["team", "reveals", "reviewers"], rows
    if widget == "sla":
        rows = [[r["metric"], r["met"], r["breached"], r["open"], r["attainment_pct"]] for r in (summary["sla"] or {"rows": []})["rows"]]
        return ["metric", "met", "breached", "open", "attainment_pct"], rows
    if widget == "sla_breaches":
        rows = [[r["reference"], r["metric"], r["due_at"], r["breached_at"]] for r in (summary["sla"] or {"breaches": []})["breaches"]]
        return ["reference", "metric", "due_at", "breached_at"], rows
    raise KeyError(widget)


def export_filename(kind: str) -> str:
    return f"firebreak-{kind}-{timezone.now():%Y%m%d-%H%M%S}.csv"
