"""Dashboard numbers for one viewer.

Access rule (see docs/reporting.md): every aggregate counts only incidents that are
unrestricted or in a compartment the viewer holds an active clearance for. Restricted
incidents the viewer is not cleared for are left out of every number entirely (there is
no "restricted" bucket), so no count, duration or series moves with them. Per-incident
grants open an incident in lists and drill-downs (``incident_list_visible``) but do not add
it to aggregates. Drill-down lists always go through ``incident_list_visible``.

Percentiles (median, p90) come from the daily rollup's log-scale histograms, summed over
the range and interpolated linearly inside the bucket holding the rank; ``metric_exact``
computes the exact value from raw rows (for the benchmark and tests).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Clearance
from dashboards.forms import DashboardFilters
from dashboards.models import BUCKET_EDGES, BUCKETS, METRICS
from dashboards.rollups import DURATIONS, day_bounds
from incidents.models import OPEN_STATUSES, Incident
from incidents.selectors import incident_list_visible

METRIC_LABELS: dict[str, tuple[str, str]] = {
    "ttd": ("Time to detect", "Declared in Firebreak minus the earliest known signal (created_at − first_signal_at)."),
    "tta": ("MTTA", "Time to acknowledge: first acknowledgement minus declaration (acknowledged_at − created_at)."),
    "ttm": ("Time to mitigate", "First mitigation action minus declaration (mitigated_at − created_at)."),
    "ttr": ("MTTR", "Time to resolve: resolution minus declaration (resolved_at − created_at)."),
}
DIMENSION_COLUMNS = {"category": "harm_category_id", "region": "region", "channel": "channel", "severity": "severity"}
NIGHT_START, NIGHT_END = 22, 7


def cleared_compartments(user: Any) -> list[int]:
    if not getattr(user, "is_authenticated", False):
        return []
    return sorted(Clearance.objects.active().filter(user=user).values_list("compartment_id", flat=True))


def _where(f: DashboardFilters, cleared: list[int], alias: str, *, category_col: str = "harm_category_id") -> tuple[str, list]:
    """SQL conditions (AND-ed) on an incident or rollup alias: access rule plus filters."""
    parts = [f"({alias}.compartment_id IS NULL OR {alias}.compartment_id = ANY(%s))"]
    params: list[Any] = [cleared]
    if f.team is not None:
        parts.append(f"{alias}.team_id = %s")
        params.append(f.team)
    if f.region is not None:
        parts.append(f"{alias}.region = %s")
        params.append(f.region)
    if f.category is not None:
        parts.append(f"{alias}.{category_col} = %s")
        params.append(f.category)
    if f.channel is not None:
        parts.append(f"{alias}.channel = %s")
        params.append(f.channel)
    if f.severity is not None:
        parts.append(f"{alias}.severity = %s")
        params.append(f.severity)
    return " AND ".join(parts), params


def _fetch(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def _range(f: DashboardFilters) -> tuple[dt.datetime, dt.datetime]:
    return day_bounds(f.date_from)[0], day_bounds(f.date_to)[1]


# ---------------------------------------------------------------- percentiles


def percentile_from_hist(hist: list[int], q: float) -> float | None:
    """The q-quantile of a bucketed sample, linear inside the bucket holding the rank."""
    n = sum(hist)
    if n == 0:
        return None
    target = q * n
    cumulative = 0
    for k, count in enumerate(hist):
        if count and cumulative + count >= target:
            low = BUCKET_EDGES[k]
            if k + 1 >= BUCKETS:
                return float(low)
            high = BUCKET_EDGES[k + 1]
            return low + (high - low) * (target - cumulative) / count
        cumulative += count
    return float(BUCKET_EDGES[-1])


# ---------------------------------------------------------------- widgets


def widget_open(user: Any, f: DashboardFilters, cleared: list[int]) -> dict:
    """Open incidents right now by severity × status (the range does not apply)."""
    where, params = _where(f, cleared, "i")
    rows = _fetch(
        f"SELECT i.severity, i.status, count(*) FROM incidents_incident i "  # noqa: S608 - only constant fragments and column names are interpolated; values are bound
        f"WHERE i.status = ANY(%s) AND {where} GROUP BY 1, 2 ORDER BY 1, 2",
        [list(OPEN_STATUSES), *params],
    )
    cells = {(sev, status): n for sev, status, n in rows}
    statuses = [str(s) for s in OPEN_STATUSES]
    table = [{"severity": sev, **{s: cells.get((sev, s), 0) for s in statuses}} for sev in (1, 2, 3, 4)]
    return {"statuses": statuses, "rows": table, "total": sum(cells.values())}


def _rollup_sums(f: DashboardFilters, cleared: list[int]) -> dict:
    where, params = _where(f, cleared, "r")
    sums = ", ".join(f"SUM(r.{m}_b{k})" for m in METRICS for k in range(BUCKETS))
    row = _fetch(
        f"SELECT COALESCE(SUM(r.opened), 0), COALESCE(SUM(r.resolved), 0), {sums}, "  # noqa: S608 - only constant fragments and column names are interpolated; values are bound
        + ", ".join(f"SUM(r.{m}_sum)" for m in METRICS)
        + f" FROM dashboards_dailyrollup r WHERE r.day BETWEEN %s AND %s AND (r.opened > 0 OR r.resolved > 0) AND {where}",
        [f.date_from, f.date_to, *params],
    )[0]
    out: dict[str, Any] = {"opened": int(row[0]), "resolved": int(row[1])}
    offset = 2
    for m in METRICS:
        out[m + "_hist"] = [int(v or 0) for v in row[offset : offset + BUCKETS]]
        offset += BUCKETS
    for m in METRICS:
        out[m + "_sum"] = int(row[offset] or 0)
        offset += 1
    return out


def _metrics_from_sums(sums: dict) -> dict:
    out = {}
    for m in METRICS:
        hist = sums[m + "_hist"]
        n = sum(hist)
        label, definition = METRIC_LABELS[m]
        out[m] = {
            "label": label,
            "definition": definition,
            "count": n,
            "median_seconds": percentile_from_hist(hist, 0.5),
            "p90_seconds": percentile_from_hist(hist, 0.9),
            "mean_seconds": (sums[m + "_sum"] / n) if n else None,
        }
    return out


def widget_volume(user: Any, f: DashboardFilters, cleared: list[int]) -> dict:
    """Incidents opened per day, one series per value of the chosen dimension."""
    col = DIMENSION_COLUMNS[f.by]
    where, params = _where(f, cleared, "r")
    rows = _fetch(
        f"SELECT r.day, r.{col}, SUM(r.opened) FROM dashboards_dailyrollup r "  # noqa: S608 - only constant fragments and column names are interpolated; values are bound
        f"WHERE r.day BETWEEN %s AND %s AND (r.opened > 0 OR r.resolved > 0) AND {where} "
        "GROUP BY 1, 2 HAVING SUM(r.opened) > 0 ORDER BY 1, 2",
        [f.date_from, f.date_to, *params],
    )
    names: dict[Any, str] = {}
    if f.by == "category":
        from incidents.models import HarmCategory

        names = dict(HarmCategory.objects.values_list("pk", "slug"))
    keys = sorted({names.get(k, str(k)) for _, k, _ in rows})
    days = [f.date_from + dt.timedelta(days=i) for i in range(f.days)]
    series = {k: [0] * len(days) for k in keys}
    for day, key, n in rows:
        series[names.get(key, str(key))][(day - f.date_from).days] = int(n)
    return {"by": f.by, "days": [d.isoformat() for d in days], "series": series, "totals": {k: sum(v) for k, v in series.items()}}


def widget_time_in_status(user: Any, f: DashboardFilters, cleared: list[int], *, now: dt.datetime) -> dict:
    """Hours spent in each open status by incidents declared in the range, from the timeline's
    status transitions (declaration starts in "new"; the last open status runs until now)."""
    where, params = _where(f, cleared, "i")
    start, end = _range(f)
    rows = _fetch(
        f"""
        WITH inc AS (
            SELECT i.id, i.created_at FROM incidents_incident i
            WHERE i.created_at >= %s AND i.created_at < %s AND {where}
        ), steps AS (
            SELECT inc.id, inc.created_at AS at, 'new'::text AS status, 0::bigint AS seq FROM inc
            UNION ALL
            SELECT t.incident_id, t.at, t.data->>'to', t.id FROM incidents_timelineevent t
            JOIN inc ON inc.id = t.incident_id
            WHERE t.kind IN ('status_changed', 'reopened') AND t.data ? 'to'
        ), spans AS (
            SELECT id, status, at, LEAD(at) OVER (PARTITION BY id ORDER BY at, seq) AS until FROM steps
        )
        SELECT status, COUNT(DISTINCT id), SUM(EXTRACT(EPOCH FROM (COALESCE(until, %s) - at)))
        FROM spans WHERE status = ANY(%s) GROUP BY status
        """,  # noqa: S608 - only constant fragments and column names are interpolated; values are bound
        [start, end, *params, now, list(OPEN_STATUSES)],
    )
    by = {status: (int(n), float(secs or 0)) for status, n, secs in rows}
    table = []
    for status in OPEN_STATUSES:
        n, secs = by.get(str(status), (0, 0.0))
        table.append(
            {
                "status": str(status),
                "incidents": n,
                "total_hours": round(secs / 3600, 2),
                "mean_hours": round(secs / 3600 / n, 2) if n else None,
            }
        )
    return {"rows": table}


def widget_oncall(user: Any, f: DashboardFilters, cleared: list[int]) -> dict:
    """Per person: pages received, night pages (22:00–07:00 in the person's own zone) and
    hours on call (OnCallSpan clipped to the range)."""
    where, params = _where(f, cleared, "i")
    start, end = _range(f)
    pages = _fetch(
        f"""
        SELECT p.recipient_id, COUNT(*),
               COUNT(*) FILTER (WHERE EXTRACT(HOUR FROM p.created_at AT TIME ZONE COALESCE(NULLIF(u.time_zone, ''), 'UTC')) >= %s
                                   OR EXTRACT(HOUR FROM p.created_at AT TIME ZONE COALESCE(NULLIF(u.time_zone, ''), 'UTC')) < %s)
        FROM escalations_page p
        JOIN incidents_incident i ON i.id = p.incident_id
        JOIN accounts_user u ON u.id = p.recipient_id
        WHERE p.created_at >= %s AND p.created_at < %s AND {where}
        GROUP BY 1
        """,  # noqa: S608 - only constant fragments and column names are interpolated; values are bound
        [NIGHT_START, NIGHT_END, start, end, *params],
    )
    team_sql, team_params = ("", [])
    if f.team is not None:  # hours on the team's own schedules
        team_sql, team_params = ("AND s.schedule_id IN (SELECT id FROM escalations_schedule WHERE team_id = %s)", [f.team])
    hours = _fetch(
        f"""
        SELECT s.user_id, SUM(EXTRACT(EPOCH FROM (LEAST(s."end", %s) - GREATEST(s.start, %s)))) / 3600.0
        FROM escalations_oncallspan s WHERE s."end" > %s AND s.start < %s {team_sql} GROUP BY 1
        """,  # noqa: S608 - only constant fragments and column names are interpolated; values are bound
        [end, start, start, end, *team_params],
    )
    people: dict[int, dict] = {}
    for uid, n, night in pages:
        people.setdefault(uid, {"pages": 0, "night_pages": 0, "hours_on_call": 0.0})
        people[uid].update(pages=int(n), night_pages=int(night))
    for uid, h in hours:
        people.setdefault(uid, {"pages": 0, "night_pages": 0, "hours_on_call": 0.0})
        people[uid]["hours_on_call"] = round(float(h or 0), 2)
    from django.contrib.auth import get_user_model

    names = dict(get_user_model().objects.filter(pk__in=list(people)).values_list("pk", "username")) if people else {}
    rows = [{"user": names.get(uid, str(uid)), **v} for uid, v in people.items()]
    rows.sort(key=lambda r: (-r["pages"], -r["hours_on_call"], r["user"]))
    return {"rows": rows}


def widget_postmortems(user: Any, f: DashboardFilters, cleared: list[int], *, today: dt.date) -> dict:
    """Post-mortems of incidents declared in the range by status, and overdue action items
    (not done or dropped, due before today)."""
    where, params = _where(f, cleared, "i")
    start, end = _range(f)
    rows = _fetch(
        f"""
        SELECT pm.status, COUNT(*) FROM postmortems_postmortem pm
        JOIN incidents_incident i ON i.id = pm.incident_id
        WHERE i.created_at >= %s AND i.created_at < %s AND {where} GROUP BY 1
        """,  # noqa: S608 - only constant fragments and column names are interpolated; values are bound
        [start, end, *params],
    )
    by_status = {s: int(n) for s, n in rows}
    total = sum(by_status.values())
    published = by_status.get("published", 0)
    overdue = _fetch(
        f"""
        SELECT COUNT(*) FROM postmortems_actionitem a
        JOIN postmortems_postmortem pm ON pm.id = a.postmortem_id
        JOIN incidents_incident i ON i.id = pm.incident_id
        WHERE a.status IN ('open', 'in_progress') AND a.due_on < %s AND {where}
        """,  # noqa: S608 - only constant fragments and column names are interpolated; values are bound
        [today, *params],
    )[0][0]
    return {
        "by_status": by_status,
        "total": total,
        "published": published,
        "completion_pct": round(100 * published / total, 1) if total else None,
        "overdue_action_items": int(overdue),
    }


def widget_exposure(user: Any, f: DashboardFilters, cleared: list[int]) -> dict | None:
    """Reveals of graphic evidence per team in the range (counts only, never content)."""
    if not user.has_perm("incidents.view_team_exposure"):
        return None
    where, params = _where(f, cleared, "i")
    start, end = _range(f)
    rows = _fetch(
        f"""
        SELECT t.name, COUNT(*), COUNT(DISTINCT v.user_id) FROM incidents_evidenceview v
        JOIN incidents_incident i ON i.id = v.incident_id
        JOIN accounts_teammembership m ON m.user_id = v.user_id
        JOIN accounts_team t ON t.id = m.team_id
        WHERE v.at >= %s AND v.at < %s AND {where} GROUP BY t.name ORDER BY t.name
        """,  # noqa: S608 - only constant fragments and column names are interpolated; values are bound
        [start, end, *params],
    )
    return {"rows": [{"team": name, "reveals": int(n), "reviewers": int(r)} for name, n, r in rows]}


def widget_sla(user: Any, f: DashboardFilters, cleared: list[int]) -> dict | None:
    """Attainment per metric for clocks started in the range: met = stopped at or before due;
    breached = breached, or stopped late. Running and paused clocks are not yet decided."""
    if not _sla_available():
        return None
    where, params = _where(f, cleared, "i")
    start, end = _range(f)
    rows = _fetch(
        f"""
        SELECT c.metric,
               COUNT(*) FILTER (WHERE c.stopped_at IS NOT NULL AND c.stopped_at <= c.due_at AND c.state <> 'breached'),
               COUNT(*) FILTER (WHERE c.state = 'breached' OR (c.stopped_at IS NOT NULL AND c.stopped_at > c.due_at)),
               COUNT(*) FILTER (WHERE c.state IN ('running', 'paused'))
        FROM escalations_slaclock c JOIN incidents_incident i ON i.id = c.incident_id
        WHERE c.started_at >= %s AND c.started_at < %s AND {where}
        GROUP BY 1 ORDER BY 1
        """,  # noqa: S608 - only constant fragments and column names are interpolated; values are bound
        [start, end, *params],
    )
    table = [
        {"metric": m, "met": int(a), "breached": int(b), "open": int(o), "attainment_pct": round(100 * a / (a + b), 1) if (a + b) else None}
        for m, a, b, o in rows
    ]
    breaches = _fetch(
        f"""
        SELECT i.reference, c.metric, c.due_at, c.breached_at FROM escalations_slaclock c
        JOIN incidents_incident i ON i.id = c.incident_id
        WHERE c.started_at >= %s AND c.started_at < %s AND c.state = 'breached' AND {where}
        ORDER BY c.breached_at DESC NULLS LAST, c.id DESC LIMIT 50
        """,  # noqa: S608 - only constant fragments and column names are interpolated; values are bound
        [start, end, *params],
    )
    return {
        "rows": table,
        "breaches": [
            {"reference": r, "metric": m, "due_at": d.isoformat() if d else None, "breached_at": b.isoformat() if b else None}
            for r, m, d, b in breaches
        ],
    }


def _sla_available() -> bool:
    from django.apps import apps

    try:
        apps.get_model("escalations", "SLAClock")
    except LookupError:
        return False
    return True


# ---------------------------------------------------------------- the whole dashboard


def dashboard_summary(*, user: Any, filters: DashboardFilters, now: dt.datetime | None = None, compare: bool = True) -> dict:
    now = now or timezone.now()
    cleared = cleared_compartments(user)
    sums = _rollup_sums(filters, cleared)
    out: dict[str, Any] = {
        "range": {"from": filters.date_from.isoformat(), "to": filters.date_to.isoformat(), "days": filters.days},
        "filters": filters.as_query(),
        "totals": {"opened": sums["opened"], "resolved": sums["resolved"]},
        "metrics": _metrics_from_sums(sums),
        "open": widget_open(user, filters, cleared),
        "volume": widget_volume(user, filters, cleared),
        "time_in_status": widget_time_in_status(user, filters, cleared, now=now),
        "oncall": widget_oncall(user, filters, cleared),
        "postmortems": widget_postmortems(user, filters, cleared, today=now.date()),
        "exposure": widget_exposure(user, filters, cleared),
        "sla": widget_sla(user, filters, cleared),
    }
    if compare:
        prev = filters.previous()
        prev_sums = _rollup_sums(prev, cleared)
        out["previous"] = {
            "range": {"from": prev.date_from.isoformat(), "to": prev.date_to.isoformat()},
            "totals": {"opened": prev_sums["opened"], "resolved": prev_sums["resolved"]},
            "metrics": _metrics_from_sums(prev_sums),
        }
    return out


# ---------------------------------------------------------------- raw scans (benchmark, tests)


def metric_exact(*, user: Any, filters: DashboardFilters, metric: str, q: float) -> float | None:
    """The exact q-quantile of a duration over raw incident rows (cohort: declared in range)."""
    where, params = _where(filters, cleared_compartments(user), "i")
    start, end = _range(filters)
    expr = DURATIONS[metric]
    row = _fetch(
        f"SELECT percentile_cont(%s) WITHIN GROUP (ORDER BY {expr}) FROM incidents_incident i "  # noqa: S608 - only constant fragments and column names are interpolated; values are bound
        f"WHERE i.created_at >= %s AND i.created_at < %s AND {expr} IS NOT NULL AND {where}",
        [q, start, end, *params],
    )[0]
    return float(row[0]) if row[0] is not None else None


def totals_raw(*, user: Any, filters: DashboardFilters) -> dict:
    """Opened and resolved in the range straight from the incidents table."""
    where, params = _where(filters, cleared_compartments(user), "i")
    start, end = _range(filters)
    opened, resolved = _fetch(
        f"SELECT COUNT(*) FILTER (WHERE i.created_at >= %s AND i.created_at < %s), "  # noqa: S608 - only constant fragments and column names are interpolated; values are bound
        f"COUNT(*) FILTER (WHERE i.resolved_at >= %s AND i.resolved_at < %s) FROM incidents_incident i WHERE {where}",
        [start, end, start, end, *params],
    )[0]
    return {"opened": int(opened), "resolved": int(resolved)}


def drilldown_incidents(*, user: Any, filters: DashboardFilters) -> QuerySet[Incident]:
    """The incidents behind the numbers, through the visibility selector (404 rules apply)."""
    start, end = _range(filters)
    qs = incident_list_visible(user=user).filter(created_at__gte=start, created_at__lt=end)
    if filters.team is not None:
        qs = qs.filter(team_id=filters.team)
    if filters.region is not None:
        qs = qs.filter(region=filters.region)
    if filters.category is not None:
        qs = qs.filter(harm_category_id=filters.category)
    if filters.channel is not None:
        qs = qs.filter(channel=filters.channel)
    if filters.severity is not None:
        qs = qs.filter(severity=filters.severity)
    return qs
