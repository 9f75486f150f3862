"""Dashboard benchmark: each widget's time from the rollup, against the raw scan.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/firebreak_scale \\
        .venv/bin/python bench/dashboards_bench.py [--runs 20] [--days 30] [--rebuild] [--user lead]
    .venv/bin/python bench/dashboards_bench.py --database-url postgres://…/bench_fb_dash --synthetic 20000

Reads a database already seeded (``manage.py seed_scale``); ``--synthetic N`` instead adds
N plain incidents spread over the last year to an empty, migrated database so the script
runs standalone on a small one. ``--rebuild`` rebuilds the rollup over the range first
(timed per day). Each widget runs ``--runs`` times; p50/p95 in milliseconds are printed
and written to bench/results_dashboards.json. The raw rows are the same numbers computed
from the incidents table without the rollup (exact percentiles with percentile_cont).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), help="defaults to $DATABASE_URL")
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--days", type=int, default=30, help="dashboard range ending today")
    p.add_argument("--rebuild", action="store_true", help="rebuild the rollup over the range first")
    p.add_argument("--synthetic", type=int, default=0, help="add N synthetic incidents first")
    p.add_argument("--user", default=None, help="measure as this user (default: an uncleared viewer)")
    p.add_argument("--out", default=str(ROOT / "bench" / "results_dashboards.json"))
    return p.parse_args()


ARGS = _args()
if ARGS.database_url:
    os.environ["DATABASE_URL"] = ARGS.database_url
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402


class _Viewer:
    """An uncleared viewer holding every role permission: sees unrestricted incidents only."""

    pk = None
    is_authenticated = False

    def has_perm(self, perm: str) -> bool:
        return True


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[k]


def _time(fn, runs: int) -> dict:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return {"p50_ms": round(_pct(samples, 0.5), 2), "p95_ms": round(_pct(samples, 0.95), 2), "runs": runs}


def _synthetic(n: int) -> None:
    import random

    from incidents.models import Channel, HarmCategory, Incident, Status

    rng = random.Random(2026)  # noqa: S311 - reproducible test data
    cats = list(HarmCategory.objects.values_list("pk", flat=True))
    now = datetime.now(UTC)
    batch = []
    start = Incident.objects.count()
    for k in range(n):
        created = now - timedelta(seconds=rng.randrange(0, 365 * 86400))
        ack = created + timedelta(seconds=rng.randrange(30, 7200)) if rng.random() < 0.9 else None
        resolved = created + timedelta(seconds=rng.randrange(600, 10 * 86400)) if rng.random() < 0.7 else None
        batch.append(
            Incident(
                reference=f"INC-BENCH-{start + k:07d}",
                title=f"Synthetic incident {start + k}",
                channel=rng.choice(Channel.values),
                severity=rng.randint(1, 4),
                status=Status.RESOLVED if resolved else rng.choice([Status.NEW, Status.INVESTIGATING]),
                harm_category_id=rng.choice(cats),
                region=rng.choice(["emea", "apac", "amer", "global"]),
                created_at=created,
                first_signal_at=created - timedelta(seconds=rng.randrange(0, 3600)),
                acknowledged_at=ack,
                resolved_at=resolved,
            )
        )
        if len(batch) == 5000:
            Incident.objects.bulk_create(batch)
            batch = []
    if batch:
        Incident.objects.bulk_create(batch)


def main() -> int:
    from dashboards import selectors as s
    from dashboards.forms import DashboardFilters
    from dashboards.rollups import rollup_rebuild_day
    from incidents.models import Incident

    if ARGS.synthetic:
        t0 = time.perf_counter()
        _synthetic(ARGS.synthetic)
        print(f"added {ARGS.synthetic} synthetic incidents in {time.perf_counter() - t0:.1f} s")

    user = _Viewer()
    if ARGS.user:
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.get(username=ARGS.user)
    today = datetime.now(UTC).date()
    f = DashboardFilters(date_from=today - timedelta(days=ARGS.days - 1), date_to=today)
    results: dict = {"incidents": Incident.objects.count(), "days": ARGS.days, "runs": ARGS.runs}

    if ARGS.rebuild:
        per_day = []
        day = f.date_from
        while day <= f.date_to:
            t0 = time.perf_counter()
            rollup_rebuild_day(day)
            per_day.append((time.perf_counter() - t0) * 1000)
            day += timedelta(days=1)
        results["rebuild_day_ms"] = {"p50_ms": round(_pct(per_day, 0.5), 2), "p95_ms": round(_pct(per_day, 0.95), 2), "days": len(per_day)}

    cleared = s.cleared_compartments(user)
    now = datetime.now(UTC)
    widgets = {
        "totals+metrics (rollup)": lambda: s._metrics_from_sums(s._rollup_sums(f, cleared)),
        "volume (rollup)": lambda: s.widget_volume(user, f, cleared),
        "open now": lambda: s.widget_open(user, f, cleared),
        "time in status": lambda: s.widget_time_in_status(user, f, cleared, now=now),
        "on-call load": lambda: s.widget_oncall(user, f, cleared),
        "post-mortems": lambda: s.widget_postmortems(user, f, cleared, today=today),
        "exposure": lambda: s.widget_exposure(user, f, cleared),
        "sla": lambda: s.widget_sla(user, f, cleared),
        "whole summary": lambda: s.dashboard_summary(user=user, filters=f, now=now),
        "totals (raw scan)": lambda: s.totals_raw(user=user, filters=f),
        "metrics p50+p90 (raw scan)": lambda: [
            s.metric_exact(user=user, filters=f, metric=m, q=q) for m in ("ttd", "tta", "ttm", "ttr") for q in (0.5, 0.9)
        ],
    }
    results["widgets"] = {}
    for name, fn in widgets.items():
        fn()  # warm the cache, as a busy server would have it
        results["widgets"][name] = _time(fn, ARGS.runs)

    rollup = s._rollup_sums(f, cleared)
    raw = s.totals_raw(user=user, filters=f)
    results["check"] = {"rollup_opened": rollup["opened"], "raw_opened": raw["opened"], "equal": rollup["opened"] == raw["opened"]}
    with connection.cursor() as cur:
        cur.execute("SELECT version()")
        results["postgres"] = cur.fetchone()[0].split(",")[0]
    results["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count()}
    results["at"] = datetime.now(UTC).isoformat(timespec="seconds")

    print(f"{results['incidents']} incidents, {ARGS.days}-day range, {ARGS.runs} runs")
    if "rebuild_day_ms" in results:
        r = results["rebuild_day_ms"]
        print(f"rebuild one day: p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms")
    print(f"{'widget':32} {'p50 ms':>9} {'p95 ms':>9}")
    for name, r in results["widgets"].items():
        print(f"{name:32} {r['p50_ms']:>9} {r['p95_ms']:>9}")
    print(f"rollup opened {rollup['opened']} == raw opened {raw['opened']}: {results['check']['equal']}")
    Path(ARGS.out).write_text(json.dumps(results, indent=2) + "\n")
    return 0 if results["check"]["equal"] else 1


if __name__ == "__main__":
    sys.exit(main())
