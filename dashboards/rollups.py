"""The daily rollup: one set-based statement per day, delete + insert in one transaction.

Rebuilding a day is idempotent: it replaces that day's rows with what the incidents
table says now. ``rollup_rebuild_range`` runs it for each day of a range; the beat task
``dashboards.rollups_refresh`` rebuilds the last few days every few minutes.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.utils import timezone

from dashboards.models import BUCKET_EDGES, BUCKETS, METRICS, DailyRollup


# Duration expressions, in seconds, for the incident alias ``i``; null when the end is missing.
def _seconds(end: str, start: str) -> str:
    # GREATEST would turn a missing end into 0 (it skips nulls): keep null, clamp negatives.
    diff = f"EXTRACT(EPOCH FROM (i.{end} - i.{start}))"
    return f"(CASE WHEN {diff} < 0 THEN 0 ELSE {diff} END)"


DURATIONS: dict[str, str] = {
    "ttd": _seconds("created_at", "first_signal_at"),
    "tta": _seconds("acknowledged_at", "created_at"),
    "ttm": _seconds("mitigated_at", "created_at"),
    "ttr": _seconds("resolved_at", "created_at"),
}


def _hist_sql(metric: str) -> str:
    expr = DURATIONS[metric]
    cells = []
    for k, low in enumerate(BUCKET_EDGES):
        cond = f"{expr} >= {low}"
        if k + 1 < len(BUCKET_EDGES):
            cond += f" AND {expr} < {BUCKET_EDGES[k + 1]}"
        cells.append(f"(count(*) FILTER (WHERE {created_today} AND {cond}))::int")
    return ", ".join(cells)


created_today = "(i.created_at >= %(start)s AND i.created_at < %(end)s)"
_ENDED = "COALESCE(i.resolved_at, i.closed_at)"
HIST_COLUMNS = ", ".join(f"{m}_b{k}" for m in METRICS for k in range(BUCKETS))

REBUILD_SQL = f"""
INSERT INTO dashboards_dailyrollup (
    day, team_id, harm_category_id, region, channel, severity, compartment_id,
    opened, resolved, open_at_end,
    {HIST_COLUMNS}, ttd_sum, tta_sum, ttm_sum, ttr_sum, rebuilt_at
)
SELECT
    %(day)s, i.team_id, i.harm_category_id, i.region, i.channel, i.severity, i.compartment_id,
    (count(*) FILTER (WHERE {created_today}))::int,
    (count(*) FILTER (WHERE i.resolved_at >= %(start)s AND i.resolved_at < %(end)s))::int,
    (count(*) FILTER (WHERE i.created_at < %(end)s AND ({_ENDED} IS NULL OR {_ENDED} >= %(end)s)
                      AND i.status NOT IN ('declined', 'merged')))::int,
    {_hist_sql("ttd")}, {_hist_sql("tta")}, {_hist_sql("ttm")}, {_hist_sql("ttr")},
    COALESCE(SUM({DURATIONS["ttd"]}) FILTER (WHERE {created_today}), 0)::bigint,
    COALESCE(SUM({DURATIONS["tta"]}) FILTER (WHERE {created_today}), 0)::bigint,
    COALESCE(SUM({DURATIONS["ttm"]}) FILTER (WHERE {created_today}), 0)::bigint,
    COALESCE(SUM({DURATIONS["ttr"]}) FILTER (WHERE {created_today}), 0)::bigint,
    %(now)s
FROM incidents_incident i
WHERE {created_today}
   OR (i.resolved_at >= %(start)s AND i.resolved_at < %(end)s)
   OR (i.created_at < %(end)s AND ({_ENDED} IS NULL OR {_ENDED} >= %(end)s) AND i.status NOT IN ('declined', 'merged'))
GROUP BY i.team_id, i.harm_category_id, i.region, i.channel, i.severity, i.compartment_id
"""  # noqa: S608 - only constant fragments and column names are interpolated; values are bound


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
    return start, start + dt.timedelta(days=1)


def rollup_rebuild_day(day: dt.date, *, now: dt.datetime | None = None) -> int:
    """Replace the rollup rows of one UTC day; returns how many rows it now has."""
    start, end = day_bounds(day)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('dashboards_rollup'), %s)", [day.toordinal()])
        DailyRollup.objects.filter(day=day).delete()
        cur.execute(REBUILD_SQL, {"day": day, "start": start, "end": end, "now": now or timezone.now()})
        return cur.rowcount


def rollup_rebuild_range(start: dt.date, end: dt.date, *, now: dt.datetime | None = None) -> dict[dt.date, int]:
    """Rebuild every day from start to end inclusive, one transaction per day."""
    out: dict[dt.date, int] = {}
    day = start
    while day <= end:
        out[day] = rollup_rebuild_day(day, now=now)
        day += dt.timedelta(days=1)
    return out


def days_with_changes(*, since: dt.datetime) -> set[dt.date]:
    """UTC declaration days of incidents updated since the given time."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT DISTINCT (created_at AT TIME ZONE 'UTC')::date FROM incidents_incident WHERE updated_at >= %s",
            [since],
        )
        return {row[0] for row in cur.fetchall()}
