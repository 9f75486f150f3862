"""Escalation engine benchmark: 10,000 steps due at the same instant.

    .venv/bin/python bench/engine_bench.py [--steps 10000] [--keep-db]

Creates its own database (``bench_fb_engine`` unless BENCH_DATABASE_NAME is set),
then:

1. a **bare-SQL claim loop** (one ``WITH claimed AS (… FOR UPDATE SKIP LOCKED LIMIT
   500) UPDATE … RETURNING`` plus one bulk insert of pages per batch) over N due
   escalations: the floor this machine allows;
2. the **engine** (``escalations.engine.tick``) over N other escalations due at one
   instant, ticked the way beat does it: the first tick one second after the due time
   (the worst phase), then one tick per second, at most two at once (the engine
   queue's worker concurrency); each tick runs ``engine.TICK_WORKERS`` batch loops
   on their own connections, as the Celery task does.

Reports lateness p50/p99 (batch commit − due time), steps/s, duplicate rows (must be
0) and the engine/bare ratio; prints a table and writes bench/results_engine.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ["TEST_DATABASE_NAME"] = os.environ.get("BENCH_DATABASE_NAME", "bench_fb_engine")

import django  # noqa: E402

django.setup()

from django.db import connection, connections  # noqa: E402

BATCH = 500
USERS = 50


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[k]


def setup_data(n: int) -> tuple[list[int], list[int]]:
    """Two sets of n active escalations (bare loop, engine), each on its own incident,
    one step paging one person. Returns the escalation ids of each set."""
    from accounts.models import User
    from escalations.models import Escalation, EscalationPolicy
    from incidents.models import HarmCategory, Incident

    users = [User(username=f"bench{i}", email=f"bench{i}@example.org") for i in range(USERS)]
    User.objects.bulk_create(users, ignore_conflicts=True)
    user_ids = list(User.objects.filter(username__startswith="bench").order_by("id").values_list("id", flat=True))
    category = HarmCategory.objects.order_by("id").first()
    policy, _ = EscalationPolicy.objects.get_or_create(name="Bench", defaults={"repeat": 0})
    far = datetime(2100, 1, 1, tzinfo=UTC)
    now = datetime.now(UTC)
    sets = []
    for label in ("bare", "engine"):
        incidents = Incident.objects.bulk_create(
            [
                Incident(
                    reference=f"BENCH-{label[0].upper()}-{i:06d}",
                    title=f"Bench incident {i}",
                    channel="internal_detection",
                    severity=2,
                    harm_category=category,
                    created_at=now,
                )
                for i in range(n)
            ],
            batch_size=2000,
        )
        escalations = Escalation.objects.bulk_create(
            [
                Escalation(
                    incident=incident,
                    policy=None,
                    policy_snapshot={
                        "id": policy.pk,
                        "name": "Bench",
                        "version": 1,
                        "repeat": 0,
                        "steps": [{"wait_minutes": 5, "targets": [{"kind": "user", "id": user_ids[i % len(user_ids)]}]}],
                    },
                    policy_version=1,
                    next_fire_at=far,
                    started_at=now,
                )
                for i, incident in enumerate(incidents)
            ],
            batch_size=2000,
        )
        sets.append([e.pk for e in escalations])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return sets[0], sets[1]


def _make_due(ids: list[int], at: datetime) -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE escalations_escalation SET next_fire_at = %s WHERE id = ANY(%s)", [at, ids])


BARE_SQL = """
WITH claimed AS (
    SELECT id FROM escalations_escalation
    WHERE state = 'active' AND next_fire_at <= %(now)s
    ORDER BY next_fire_at
    LIMIT %(batch)s
    FOR UPDATE SKIP LOCKED
),
advanced AS (
    UPDATE escalations_escalation e
    SET step_index = e.step_index + 1, next_fire_at = %(now)s + interval '5 minutes', last_fired_at = %(now)s
    FROM claimed c WHERE e.id = c.id
    RETURNING e.id, e.incident_id, e.cycle, (e.policy_snapshot -> 'steps' -> 0 -> 'targets' -> 0 ->> 'id')::bigint AS user_id
),
pages AS (
    INSERT INTO escalations_page (escalation_id, incident_id, cycle, "repeat", step, recipient_id, channel, state, created_at)
    SELECT id, incident_id, cycle, 0, 0, user_id, 'in_app', 'pending', %(now)s FROM advanced
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM advanced), (SELECT count(*) FROM pages)
"""


def run_bare(ids: list[int]) -> dict:
    from django.db import transaction

    due = datetime.now(UTC)
    _make_due(ids, due)
    started = time.perf_counter()
    fired = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(BARE_SQL, {"now": datetime.now(UTC), "batch": BATCH})
            claimed, _ = cursor.fetchone()
        fired += claimed
        if claimed == 0:
            break
    elapsed = time.perf_counter() - started
    return {"fired": fired, "seconds": round(elapsed, 3), "steps_per_second": round(fired / elapsed, 1)}


def run_engine(ids: list[int], *, tick_interval: float = 1.0, max_concurrent: int = 2) -> dict:
    from escalations import engine

    due = datetime.now(UTC)
    _make_due(ids, due)
    due_wall = time.time()
    lateness: list[float] = []
    fired_total = [0]
    lock = threading.Lock()
    first_start: list[float] = []
    last_commit = [0.0]

    def on_batch(claimed: int) -> None:
        committed = time.time()
        with lock:
            lateness.extend([committed - due_wall] * claimed)
            fired_total[0] += claimed
            if claimed:
                last_commit[0] = committed

    def run_tick() -> None:
        try:
            engine.tick(datetime.now(UTC), on_batch=on_batch, workers=engine.TICK_WORKERS)
        finally:
            connections.close_all()

    running: list[threading.Thread] = []
    next_tick = due_wall + tick_interval
    deadline = due_wall + 120
    while time.time() < deadline:
        delay = next_tick - time.time()
        if delay > 0:
            time.sleep(delay)
        running = [t for t in running if t.is_alive()]
        with lock:
            done = fired_total[0] >= len(ids)
        if done:
            break
        if len(running) < max_concurrent:
            if not first_start:
                first_start.append(time.time())
            thread = threading.Thread(target=run_tick)
            thread.start()
            running.append(thread)
        next_tick += tick_interval
    for thread in running:
        thread.join()
    busy = (last_commit[0] - first_start[0]) if first_start else 0.0
    return {
        "fired": fired_total[0],
        "lateness_p50_seconds": round(_percentile(lateness, 50), 3),
        "lateness_p99_seconds": round(_percentile(lateness, 99), 3),
        "lateness_max_seconds": round(max(lateness) if lateness else 0.0, 3),
        "busy_seconds": round(busy, 3),
        "steps_per_second": round(fired_total[0] / busy, 1) if busy else 0.0,
    }


def duplicates(engine_ids: list[int]) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT
              (SELECT count(*) FROM (SELECT 1 FROM escalations_page WHERE escalation_id = ANY(%(ids)s)
                  GROUP BY escalation_id, cycle, "repeat", step, recipient_id, channel HAVING count(*) > 1) d),
              (SELECT count(*) FROM (SELECT 1 FROM escalations_outgoingmessage WHERE escalation_id = ANY(%(ids)s)
                  GROUP BY escalation_id, recipient_id, channel HAVING count(*) > 1) d),
              (SELECT count(*) FROM (SELECT 1 FROM incidents_timelineevent t
                  JOIN escalations_escalation e ON e.incident_id = t.incident_id
                  WHERE e.id = ANY(%(ids)s) AND t.kind = 'page'
                  GROUP BY t.incident_id HAVING count(*) > 1) d),
              (SELECT count(*) FROM escalations_escalation WHERE id = ANY(%(ids)s) AND step_index <> 1),
              (SELECT count(*) FROM escalations_page WHERE escalation_id = ANY(%(ids)s)),
              (SELECT count(*) FROM escalations_outgoingmessage WHERE escalation_id = ANY(%(ids)s))
            """,
            {"ids": engine_ids},
        )
        dup_pages, dup_messages, dup_timeline, not_advanced_once, pages, messages = cursor.fetchone()
    return {
        "duplicate_pages": dup_pages,
        "duplicate_messages": dup_messages,
        "duplicate_timeline_entries": dup_timeline,
        "escalations_not_advanced_exactly_once": not_advanced_once,
        "pages": pages,
        "messages": messages,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--keep-db", action="store_true", help="keep the benchmark database afterwards")
    args = parser.parse_args()

    creation = connection.creation
    print(f"creating benchmark database {os.environ['TEST_DATABASE_NAME']} (migrations)…", flush=True)
    old_name = connection.settings_dict["NAME"]
    creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        t0 = time.perf_counter()
        bare_ids, engine_ids = setup_data(args.steps)
        print(f"set up 2 × {args.steps} escalations in {time.perf_counter() - t0:.1f} s", flush=True)
        bare = run_bare(bare_ids)
        eng = run_engine(engine_ids)
        dups = duplicates(engine_ids)
    finally:
        connections.close_all()
        if not args.keep_db:
            creation.destroy_test_db(old_name, verbosity=0)

    ratio = round(eng["steps_per_second"] / bare["steps_per_second"], 3) if bare["steps_per_second"] else None
    targets = {
        "all_fired": eng["fired"] == args.steps,
        "p99_lateness_le_2s": eng["lateness_p99_seconds"] <= 2.0,
        "steps_per_second_ge_5000": eng["steps_per_second"] >= 5000,
        "no_duplicates": not any(dups[k] for k in dups if k.startswith("duplicate") or k.startswith("escalations_not")),
    }
    results = {
        "at": datetime.now(UTC).isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "steps": args.steps,
        "batch_size": BATCH,
        "bare_sql": bare,
        "engine": eng,
        "engine_to_bare_ratio": ratio,
        "rows": dups,
        "targets": targets,
    }
    rows = [
        ("steps due at one instant", f"{args.steps}"),
        ("engine: fired", f"{eng['fired']}"),
        ("engine: lateness p50", f"{eng['lateness_p50_seconds']:.3f} s"),
        ("engine: lateness p99", f"{eng['lateness_p99_seconds']:.3f} s"),
        ("engine: lateness max", f"{eng['lateness_max_seconds']:.3f} s"),
        ("engine: steps/s (busy time)", f"{eng['steps_per_second']:.0f}"),
        ("bare SQL loop: steps/s", f"{bare['steps_per_second']:.0f}"),
        ("engine / bare", f"{ratio}"),
        ("pages / messages written", f"{dups['pages']} / {dups['messages']}"),
        (
            "duplicate pages / messages / timeline",
            f"{dups['duplicate_pages']} / {dups['duplicate_messages']} / {dups['duplicate_timeline_entries']}",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    print()
    for label, value in rows:
        print(f"  {label.ljust(width)}  {value}")
    print()
    for name, ok in targets.items():
        print(f"  {'PASS' if ok else 'FAIL'}  {name}")
    out = ROOT / "bench" / "results_engine.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {out.relative_to(ROOT)}")
    return 0 if all(targets.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
