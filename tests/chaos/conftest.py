"""One private PostgreSQL 15 cluster and one private redis-server for the session,
migrated once; each test starts from empty incident, paging and user tables and a
flushed broker, and stops every process it started (also on failure)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.chaos.procs import ROOT, PrivatePostgres, PrivateRedis, Processes, wait_until

SUMMARY: list[dict] = []


@pytest.fixture(scope="session")
def cluster():
    pg, rds = PrivatePostgres(), PrivateRedis()
    try:
        started = time.monotonic()
        template = _template_dir()
        pg.init(template if template.exists() else None)
        rds.start()
        migrate = time.monotonic()
        if not template.exists():
            env = _env(pg, rds, "config.settings.test")
            subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
            pg.save_template(template)
        pg.migrate_seconds = round(time.monotonic() - migrate, 1)
        pg.setup_seconds = round(time.monotonic() - started, 1)
        yield pg, rds
    finally:
        rds.destroy()
        pg.destroy()


def _template_dir() -> Path:
    """A migrated cluster kept between runs, keyed by every migration file: a run with
    the same migrations copies it instead of migrating again (about 40 s here)."""
    digest = hashlib.sha256()
    for path in sorted(ROOT.glob("*/migrations/*.py")):
        digest.update(str(path.relative_to(ROOT)).encode() + path.read_bytes())
    return Path(tempfile.gettempdir()) / f"fb-chaos-template-{digest.hexdigest()[:16]}"


def _env(pg: PrivatePostgres, rds: PrivateRedis, settings: str = "tests.chaos.settings", **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "TEST_DATABASE"))}
    env.update(
        DJANGO_SETTINGS_MODULE=settings,
        DATABASE_URL=pg.url,
        CELERY_BROKER_URL=rds.url,
        REDIS_URL=rds.url,
        PYTHONUNBUFFERED="1",
        FIREBREAK_ADMIN_OTP_REQUIRED="false",
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Chaos:
    def __init__(self, pg: PrivatePostgres, rds: PrivateRedis, name: str):
        self.pg, self.redis, self.name = pg, rds, name
        self.conn = None
        self.procs = Processes(_env(pg, rds), prefix=f"fb-chaos-{name}-")
        self.summary: dict = {"scenario": name, "repaired": 0}

    def configure(self, **extra) -> None:
        self.procs.env = _env(self.pg, self.redis, **extra)

    def control(self, command: str, spec: dict | None = None) -> dict:
        out = subprocess.run(
            [sys.executable, "-m", "tests.chaos.control", command, json.dumps(spec or {})],
            cwd=ROOT,
            env=self.procs.env,
            capture_output=True,
            text=True,
        )
        if out.returncode:
            raise AssertionError(f"control {command} failed:\n{out.stderr[-3000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])

    def audit(self) -> dict:
        report = self.control("audit")
        self.summary["repaired"] += report["repaired"]
        self.summary.setdefault("audits", []).append(
            {k: v for k, v in report.items() if k not in ("at", "details") and v} or {"repaired": 0}
        )
        return report

    def sql(self, query: str, args=()) -> list[tuple]:
        for attempt in range(2):
            try:
                if self.conn is None or self.conn.closed:
                    self.conn = self.pg.connect()
                with self.conn.cursor() as cursor:
                    cursor.execute(query, args)
                    return cursor.fetchall() if cursor.description else []
            except Exception:
                # After a Postgres restart the old connection is gone: reconnect once.
                self.conn = None
                if attempt:
                    raise
        return []

    def value(self, query: str, args=()):
        return self.sql(query, args)[0][0]

    def wait(self, condition, what: str, timeout: float = 40.0):
        return wait_until(condition, what, timeout=timeout, logs=self.state)

    def state(self) -> str:
        try:
            client = self.redis.client()
            queues = {k.decode(): client.llen(k) for k in client.keys("*") if client.type(k) == b"list"}
            beats = self.sql("SELECT name, beat_at, detail FROM core_engineheartbeat")
        except Exception as exc:  # noqa: BLE001 - a diagnostic only
            queues, beats = repr(exc), []
        return f"broker lists: {queues}\nheartbeats: {beats}\n{self.procs.logs()}"

    def wait_consuming(self, queues=("engine", "delivery", "celery")) -> None:
        """Until a worker has bound its queues, Redis drops what is published to them."""
        client = self.redis.client()
        self.wait(lambda: all(client.exists(f"_kombu.binding.{q}") for q in queues), "the worker to bind its queues")

    def heartbeat(self) -> float:
        """Seconds since the epoch of the engine's last tick (0 when it never ticked)."""
        rows = self.sql("SELECT EXTRACT(EPOCH FROM beat_at) FROM core_engineheartbeat WHERE name = 'escalations'")
        return float(rows[0][0]) if rows else 0.0

    def db_now(self) -> float:
        return float(self.value("SELECT EXTRACT(EPOCH FROM now())"))

    def ticks_pass(self, n: int = 3, timeout: float = 30.0) -> None:
        """Wait until the engine has ticked ``n`` more seconds past the present."""
        target = self.db_now() + n
        self.wait(lambda: self.heartbeat() >= target, f"{n} more engine ticks", timeout=timeout)

    def record(self, receivers, incidents: list[int]) -> dict:
        """Count deliveries at the receivers by idempotency key and pages in the database."""
        keys = Counter(r["headers"]["Idempotency-Key"] for rec in receivers for r in rec.requests)
        self.summary.update(
            incidents=len(incidents),
            webhook_requests=sum(keys.values()),
            delivered=len(keys),
            duplicates=sum(n - 1 for n in keys.values()),
        )
        repeated = [k for k, n in keys.items() if n > 1]
        if repeated:
            self.summary["repeated_attempts"] = self.sql(
                "SELECT m.idempotency_key, m.attempts, array_agg(a.number || ':' || a.ok || ':' || COALESCE(a.status_code, 0) || ':' || left(a.error, 60) ORDER BY a.id) "
                "FROM escalations_outgoingmessage m LEFT JOIN escalations_deliveryattempt a ON a.message_id = m.id "
                "WHERE m.idempotency_key = ANY(%s) GROUP BY 1, 2",
                (repeated,),
            )
        return keys

    def lost(self, incidents: list[int]) -> list[tuple]:
        """Page messages of these incidents not delivered (nothing may be left behind)."""
        return self.sql(
            "SELECT id, channel, state, attempts, last_error FROM escalations_outgoingmessage "
            "WHERE incident_id = ANY(%s) AND state <> 'sent'",
            (incidents,),
        )

    def close(self) -> None:
        self.procs.stop_all()
        shutil.rmtree(self.procs.dir, ignore_errors=True)  # a failure has already shown the logs
        if self.conn is not None and not self.conn.closed:
            self.conn.close()


@pytest.fixture
def chaos(cluster, request, record_property):
    pg, rds = cluster
    if rds.proc is None or rds.proc.poll() is not None:
        rds.start()
    with_pg = pg.connect()
    with with_pg.cursor() as cursor:
        cursor.execute("TRUNCATE incidents_incident, escalations_escalationpolicy, escalations_contactmethod, core_engineheartbeat CASCADE")
    with_pg.close()
    rds.client().flushall()
    harness = Chaos(pg, rds, request.node.name.removeprefix("test_"))
    started = time.monotonic()
    try:
        yield harness
    finally:
        harness.close()
        harness.summary["seconds"] = round(time.monotonic() - started, 1)
        harness.summary["setup_seconds"] = pg.setup_seconds
        harness.summary["migrate_seconds"] = pg.migrate_seconds
        for key, value in harness.summary.items():
            record_property(key, value)
        SUMMARY.append(harness.summary)


def pytest_terminal_summary(terminalreporter):
    if not SUMMARY:
        return
    terminalreporter.section("chaos scenarios")
    for row in SUMMARY:
        terminalreporter.write_line(json.dumps(row, default=str))
    path = os.environ.get("FIREBREAK_CHAOS_REPORT")
    if path:
        with open(path, "w") as fh:
            json.dump(SUMMARY, fh, indent=2, default=str)
