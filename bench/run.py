"""The benchmark suite behind `make bench` (see BENCHMARKS.md).

    .venv/bin/python bench/run.py [--smoke] [--incidents N] [--only seed,b1,b2,b3,b4,b5,queries] [--keep-db]

Creates a dedicated database (``firebreak_bench`` on the server of DATABASE_URL, or
BENCH_DATABASE_NAME), migrates it, seeds it with ``seed_scale`` (N from --incidents,
else BENCH_INCIDENTS, else 1,000,000; 2,000 with --smoke) and measures. Every figure
comes with a baseline measured in the same run, because the machine is shared and
noisy: the ratio is the number to compare between runs. Prints one table and writes
bench/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PY = sys.executable
BIG_TABLES = (
    "incidents_incident",
    "incidents_incidentuserobjectpermission",
    "incidents_timelineevent",
    "incidents_comment",
    "escalations_page",
    "escalations_slaclock",
)
STEPS = ("seed", "b1", "b2", "b3", "b4", "b5", "queries")


def _dsn(name: str) -> str:
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/firebreak")
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def _env(name: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        BENCH_DATABASE_NAME=name,
        DATABASE_URL=_dsn(name),
        PYTHONPATH=str(ROOT),
    )
    return env


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))]


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def create_database(name: str) -> None:
    import psycopg2

    conn = psycopg2.connect(_dsn("postgres"))
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def drop_database(name: str) -> None:
    import psycopg2

    conn = psycopg2.connect(_dsn("postgres"))
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


# -- B6: seeding ---------------------------------------------------------------------------

RSS_WRAPPER = (
    "import resource, subprocess, sys\n"
    "rc = subprocess.call(sys.argv[1:])\n"
    "print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, flush=True)\n"
    "sys.exit(rc)\n"
)


def seed(name: str, n: int) -> dict:
    """seed_scale in its own process; wall time and that process's peak RSS."""
    started = time.monotonic()
    out = subprocess.run(  # noqa: S603
        [PY, "-c", RSS_WRAPPER, PY, "manage.py", "seed_scale", "--incidents", str(n)],
        cwd=ROOT,
        env=_env(name),
        capture_output=True,
        text=True,
    )
    seconds = time.monotonic() - started
    if out.returncode != 0:
        raise SystemExit(f"seed_scale failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")
    peak = re.search(r"PEAK_RSS_KB (\d+)", out.stdout)
    summary = [line for line in out.stdout.splitlines() if line.startswith("seed_scale:")]
    return {
        "incidents": n,
        "seconds": round(seconds, 1),
        "incidents_per_second": round(n / seconds, 1),
        "peak_rss_mb": round(int(peak.group(1)) / 1024, 1) if peak else None,
        "rows": summary[0] if summary else "",
        "target_seconds_for_1m": 300,
    }


# -- B1: HTTP under gunicorn -----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    def __init__(self, app: str, env: dict[str, str]):
        self.port = _free_port()
        workers = 2 * (os.cpu_count() or 1) + 1
        gunicorn = str(Path(PY).with_name("gunicorn"))
        self.proc = subprocess.Popen(  # noqa: S603
            [gunicorn, "-w", str(workers), "-b", f"127.0.0.1:{self.port}", "--log-level", "warning", app],
            cwd=ROOT,
            env=env,
        )
        self.base = f"http://127.0.0.1:{self.port}"

    def wait(self, path: str, headers: dict[str, str] | None = None) -> None:
        import urllib.request

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                req = urllib.request.Request(self.base + path, headers=headers or {})  # noqa: S310
                with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310
                    if resp.status == 200:
                        return
            except Exception:
                time.sleep(0.5)
        raise SystemExit(f"gunicorn did not answer {path}")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def hey(url: str, seconds: int, headers: dict[str, str] | None = None) -> dict:
    cmd = ["hey", "-z", f"{seconds}s", "-c", "8"]
    for key, value in (headers or {}).items():
        cmd += ["-H", f"{key}: {value}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True).stdout  # noqa: S603
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p95 = re.search(r"95%+ in ([\d.]+) secs", out)
    p50 = re.search(r"50%+ in ([\d.]+) secs", out)
    codes = dict(re.findall(r"\[(\d{3})\]\s+(\d+) responses", out))
    return {
        "requests_per_second": float(rps.group(1)) if rps else 0.0,
        "p50_ms": round(float(p50.group(1)) * 1000, 1) if p50 else None,
        "p95_ms": round(float(p95.group(1)) * 1000, 1) if p95 else None,
        "status_codes": {k: int(v) for k, v in codes.items()},
    }


def b1(name: str, seconds: int) -> dict:
    env = _env(name)
    token = subprocess.run(  # noqa: S603
        [PY, "manage.py", "create_api_token", "bench_manager", "--scope", "read", "--name", "bench"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    auth = {"Authorization": f"Bearer {token}"}
    api = "/api/v1/incidents/?page_size=50"
    server = Gunicorn("config.wsgi:application", env)
    try:
        server.wait(api, auth)
        server.wait("/bench/minimal/")
        hey(server.base + api, 2, auth)  # warm-up
        firebreak = hey(server.base + api, seconds, auth)
        minimal = hey(server.base + "/bench/minimal/", seconds)
    finally:
        server.stop()
    raw_env = dict(env, BENCH_DSN=_dsn(name))
    server = Gunicorn("bench.raw_wsgi:app", raw_env)
    try:
        server.wait("/")
        raw = hey(server.base + "/", seconds)
    finally:
        server.stop()
    return {
        "firebreak_api": firebreak,
        "minimal_django_values": minimal,
        "raw_psycopg": raw,
        "ratio_to_minimal": _ratio(firebreak["requests_per_second"], minimal["requests_per_second"]),
        "ratio_to_raw": _ratio(firebreak["requests_per_second"], raw["requests_per_second"]),
        "target": "ratio_to_minimal >= 0.35, p95 <= 150 ms",
        "met": bool(
            firebreak["p95_ms"] is not None
            and firebreak["p95_ms"] <= 150
            and (_ratio(firebreak["requests_per_second"], minimal["requests_per_second"]) or 0) >= 0.35
        ),
    }


# -- in-process measurements (B2, B4, query counts) -----------------------------------------


def _django(name: str) -> None:
    os.environ.update(_env(name))
    import django

    django.setup()


def bench_users() -> dict:
    """A manager (sees everything unrestricted), responders with 0, 20 and 20,000 direct
    grants, and one cleared for every compartment."""
    from django.contrib.auth.models import Group, Permission

    from accounts.models import Clearance, Compartment, User
    from incidents.models import Incident, IncidentUserObjectPermission

    users = {}
    for username, role in (
        ("bench_manager", "incident_manager"),
        ("bench_grants_0", "responder"),
        ("bench_grants_20", "responder"),
        ("bench_grants_20000", "responder"),
        ("bench_cleared", "responder"),
    ):
        user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.org"})
        group = Group.objects.filter(name=role).first()
        if group is not None:
            user.groups.add(group)
        users[username] = user
    perm = Permission.objects.get(content_type__app_label="incidents", codename="view_incident")
    for username, count in (("bench_grants_20", 20), ("bench_grants_20000", 20_000)):
        user = users[username]
        if IncidentUserObjectPermission.objects.filter(user=user).exists():
            continue
        # Restricted incidents first (the realistic case), then others, spread over the years.
        ids = list(Incident.objects.filter(compartment__isnull=False).order_by("?").values_list("id", flat=True)[:count])
        if len(ids) < count:
            total = Incident.objects.count()
            step = max(1, total // (count - len(ids)))
            ids += list(
                Incident.objects.filter(compartment__isnull=True).order_by("id").values_list("id", flat=True)[::step][: count - len(ids)]
            )
        IncidentUserObjectPermission.objects.bulk_create(
            [IncidentUserObjectPermission(user=user, permission=perm, content_object_id=i, reason="bench") for i in ids],
            batch_size=5000,
        )
    cleared = users["bench_cleared"]
    for compartment in Compartment.objects.all():
        if not Clearance.objects.filter(user=cleared, compartment=compartment, revoked_at__isnull=True).exists():
            Clearance.objects.create(user=cleared, compartment=compartment, reason="bench")
    from django.db import connection

    with connection.cursor() as cursor:
        # As autovacuum would: the visibility map lets the grant lookup scan its index only.
        cursor.execute("VACUUM ANALYZE incidents_incidentuserobjectpermission")
        cursor.execute("ANALYZE accounts_clearance")
    return users


def _time_sql(sql: str, params, runs: int) -> tuple[list[float], str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            cursor.execute(sql, params)
            cursor.fetchall()
            times.append((time.perf_counter() - started) * 1000)
    return times, plan


def _seq_scans(plan: str) -> list[str]:
    return sorted({t for t in BIG_TABLES if re.search(rf"Seq Scan on {t}\b", plan)})


def b2(users: dict, runs: int) -> dict:
    from incidents.models import Incident
    from incidents.selectors import incident_list_visible

    base_sql, base_params = Incident.objects.order_by("-created_at", "-id")[:50].query.sql_with_params()
    base_times, _ = _time_sql(base_sql, base_params, runs)
    base_p95 = _pct(base_times, 95)
    out: dict = {"baseline_unscoped_p95_ms": round(base_p95, 2), "cases": {}}
    for label in ("bench_manager", "bench_grants_0", "bench_grants_20", "bench_grants_20000", "bench_cleared"):
        qs = incident_list_visible(user=users[label])[:50]
        sql, params = qs.query.sql_with_params()
        times, plan = _time_sql(sql, params, runs)
        scans = _seq_scans(plan)
        p95 = _pct(times, 95)
        server = re.search(r"Execution Time: ([\d.]+) ms", plan)
        out["cases"][label] = {
            "server_execution_ms": float(server.group(1)) if server else None,
            "p50_ms": round(_pct(times, 50), 2),
            "p95_ms": round(p95, 2),
            "ratio_to_unscoped": _ratio(p95, base_p95),
            "seq_scans_on_big_tables": scans,
            "met": p95 <= 20 and not scans,
            "explain": plan,
        }
    out["target"] = "p95 <= 20 ms, no Seq Scan on big tables"
    out["met"] = all(c["met"] for c in out["cases"].values())
    return out


def b4(users: dict, runs: int) -> dict:
    from django.db import connection

    from incidents.selectors import incident_list_visible

    with connection.cursor() as cursor:
        cursor.execute("SELECT keywords[2] FROM incidents_incident WHERE array_length(keywords, 1) >= 2 ORDER BY id DESC LIMIT 1")
        row = cursor.fetchone()
        term = row[0] if row else "kalomi"
        cursor.execute("SELECT count(*) FROM incidents_incident WHERE search_vector @@ websearch_to_tsquery('english', %s)", [term])
        matches = cursor.fetchone()[0]
    raw_sql = (
        "SELECT id, reference, title FROM incidents_incident WHERE search_vector @@ websearch_to_tsquery('english', %s) "
        "ORDER BY created_at DESC, id DESC LIMIT 50"
    )
    raw_times, _ = _time_sql(raw_sql, [term], runs)
    qs = incident_list_visible(user=users["bench_manager"], filters={"q": term})[:50]
    sql, params = qs.query.sql_with_params()
    times, plan = _time_sql(sql, params, runs)
    p95 = _pct(times, 95)
    scans = _seq_scans(plan)
    return {
        "term": term,
        "matching_incidents": matches,
        "p50_ms": round(_pct(times, 50), 2),
        "p95_ms": round(p95, 2),
        "raw_gin_p95_ms": round(_pct(raw_times, 95), 2),
        "ratio_to_raw": _ratio(p95, _pct(raw_times, 95)),
        "seq_scans_on_big_tables": scans,
        "target": "p95 <= 20 ms",
        "met": p95 <= 20 and not scans,
        "explain": plan,
    }


def query_counts(users: dict) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from incidents.models import Incident

    client = Client()
    client.force_login(users["bench_manager"])
    incident = Incident.objects.filter(compartment__isnull=True).order_by("-created_at").first()
    paths = {
        "queue page": "/",
        "queue page, page_size=1": "/?page_size=1",
        "incident page": f"/incidents/{incident.reference}/",
        "API list, page_size=1": "/api/v1/incidents/?page_size=1",
        "API list, page_size=50": "/api/v1/incidents/?page_size=50",
        "API detail": f"/api/v1/incidents/{incident.pk}/",
        "API timeline": f"/api/v1/incidents/{incident.pk}/timeline/",
    }
    out = {}
    for label, path in paths.items():
        client.get(path)  # caches (permissions, sessions) warm
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(path)
        out[label] = {"path": path, "status": response.status_code, "queries": len(ctx.captured_queries)}
    return out


# -- subprocess benches (B3, B5) --------------------------------------------------------------


def b3(name: str, smoke: bool) -> dict:
    """bench/dashboards_bench.py against this run's seeded database (rollup rebuilt first)."""
    script = ROOT / "bench" / "dashboards_bench.py"
    if not script.exists():
        return {"skipped": "bench/dashboards_bench.py not present"}
    # A smoke run must not replace the committed full-size results.
    out_path = Path(tempfile.gettempdir()) / f"{name}_dashboards.json" if smoke else ROOT / "bench" / "results_dashboards.json"
    cmd = [PY, str(script), "--database-url", _dsn(name), "--rebuild", "--out", str(out_path)]
    if smoke:
        cmd += ["--days", "7", "--runs", "3"]
    out = subprocess.run(cmd, cwd=ROOT, env=_env(name), capture_output=True, text=True)  # noqa: S603
    if out.returncode != 0 or not out_path.exists():
        return {"returncode": out.returncode, "output_tail": (out.stdout + out.stderr)[-1500:]}
    return json.loads(out_path.read_text())


def b5(name: str, smoke: bool) -> dict:
    """bench/engine_bench.py on its own database; its JSON is merged even when one of its
    own targets fails (it then exits non-zero). A smoke run keeps the committed results."""
    path = ROOT / "bench" / "results_engine.json"
    kept = path.read_text() if smoke and path.exists() else None
    cmd = [PY, str(ROOT / "bench" / "engine_bench.py")]
    if smoke:
        cmd += ["--steps", "500"]
    env = dict(os.environ, PYTHONPATH=str(ROOT), BENCH_DATABASE_NAME=name + "_engine")
    started = time.time()
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)  # noqa: S603
    try:
        if path.exists() and path.stat().st_mtime >= started:
            result = json.loads(path.read_text())
            result["returncode"] = out.returncode
            return result
        return {"returncode": out.returncode, "output_tail": (out.stdout + out.stderr)[-1500:]}
    finally:
        if kept is not None:
            path.write_text(kept)


# -- report ------------------------------------------------------------------------------------


def table(results: dict) -> str:
    lines = [f"{'figure':58} {'value':>14} {'baseline':>14} {'ratio':>7}  target"]

    def row(label, value, base="", ratio=None, target="", met=None):
        mark = "" if met is None else ("ok" if met else "FAIL")
        ratio_s = "" if ratio is None else f"{ratio:.3f}"
        lines.append(f"{label:58} {value!s:>14} {base!s:>14} {ratio_s:>7}  {target} {mark}")

    if "seed" in results:
        s = results["seed"]
        row(f"B6 seed_scale {s['incidents']:,} incidents (s)", s["seconds"], "", None, "1M <= 300 s")
        row("B6 seed_scale peak RSS (MB)", s["peak_rss_mb"])
    if "b1" in results:
        r = results["b1"]
        f, m, w = r["firebreak_api"], r["minimal_django_values"], r["raw_psycopg"]
        row(
            "B1 API list page 50 (req/s) vs minimal view",
            f["requests_per_second"],
            m["requests_per_second"],
            r["ratio_to_minimal"],
            ">= 0.35x",
            r["met"],
        )
        row("B1 API list page 50 (req/s) vs raw psycopg", f["requests_per_second"], w["requests_per_second"], r["ratio_to_raw"])
        row("B1 API list p95 (ms) vs minimal view", f["p95_ms"], m["p95_ms"], _ratio(f["p95_ms"] or 0, m["p95_ms"] or 0), "<= 150 ms")
    if "b2" in results:
        r = results["b2"]
        for label, c in r["cases"].items():
            extra = f" SEQ SCAN {','.join(c['seq_scans_on_big_tables'])}" if c["seq_scans_on_big_tables"] else ""
            row(
                f"B2 scoped list {label} p95 (ms){extra}",
                c["p95_ms"],
                r["baseline_unscoped_p95_ms"],
                c["ratio_to_unscoped"],
                "<= 20 ms",
                c["met"],
            )
    if "b3" in results:
        widgets = results["b3"].get("widgets") or {}
        if not widgets:
            row("B3 dashboards", results["b3"].get("skipped") or f"failed ({results['b3'].get('returncode')})")
        for label, w in widgets.items():
            if "raw" not in label:
                row(f"B3 dashboard {label} p95 (ms)", w.get("p95_ms"), "", None, "<= 100 ms", (w.get("p95_ms") or 0) <= 100)
    if "b4" in results:
        r = results["b4"]
        row(
            f"B4 search '{r['term']}' ({r['matching_incidents']} hits) p95 (ms)",
            r["p95_ms"],
            r["raw_gin_p95_ms"],
            r["ratio_to_raw"],
            "<= 20 ms",
            r["met"],
        )
    if "b5" in results:
        r = results["b5"]
        eng = r.get("engine", {})
        row("B5 engine lateness p99 (s)", eng.get("lateness_p99_seconds"), "", None, "<= 2 s")
        row(
            "B5 engine steps/s vs bare SQL",
            eng.get("steps_per_second"),
            r.get("bare_sql", {}).get("steps_per_second"),
            r.get("engine_to_bare_ratio"),
            ">= 5000/s",
        )
    if "queries" in results:
        for label, q in results["queries"].items():
            row(f"queries: {label} [{q['status']}]", q["queries"])
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="2,000 incidents, short runs (CI)")
    parser.add_argument("--incidents", type=int, default=None)
    parser.add_argument("--only", default=",".join(STEPS), help=f"comma-separated subset of {','.join(STEPS)}")
    parser.add_argument("--keep-db", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument("--reuse-db", action="store_true", help="measure an existing, already seeded benchmark database")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results.json"))
    args = parser.parse_args(argv)
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = only - set(STEPS)
    if unknown:
        parser.error(f"unknown steps: {', '.join(sorted(unknown))}")
    n = args.incidents or (2_000 if args.smoke else int(os.environ.get("BENCH_INCIDENTS", "1000000")))
    name = os.environ.get("BENCH_DATABASE_NAME", "firebreak_bench")
    seconds, runs = (3, 5) if args.smoke else (15, 30)
    results: dict = {
        "at": datetime.now(UTC).isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "incidents": n,
        "smoke": args.smoke,
    }
    started = time.monotonic()
    if not args.reuse_db:
        print(f"creating {name} and migrating…", flush=True)
        create_database(name)
        subprocess.run([PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env=_env(name), check=True)  # noqa: S603
        print(f"seeding {n:,} incidents…", flush=True)
        seeded = seed(name, n)
        if "seed" in only:
            results["seed"] = seeded
    try:
        in_process = only & {"b1", "b2", "b4", "queries"}
        if in_process:
            _django(name)
            users = bench_users()
            from django.db import connection

            connection.close()
            if "b1" in only:
                print("B1 API list under gunicorn…", flush=True)
                results["b1"] = b1(name, seconds)
            if "b2" in only:
                print("B2 scoped list…", flush=True)
                results["b2"] = b2(users, runs)
            if "b4" in only:
                print("B4 search…", flush=True)
                results["b4"] = b4(users, runs)
            if "queries" in only:
                print("query counts…", flush=True)
                results["queries"] = query_counts(users)
            connection.close()
        if "b3" in only:
            print("B3 dashboards…", flush=True)
            results["b3"] = b3(name, args.smoke)
        if "b5" in only:
            print("B5 engine…", flush=True)
            results["b5"] = b5(name, args.smoke)
    finally:
        if not args.keep_db and not args.reuse_db:
            drop_database(name)
    results["total_seconds"] = round(time.monotonic() - started, 1)
    Path(args.output).write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(table(results))
    print(f"\nwritten {args.output} ({results['total_seconds']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
