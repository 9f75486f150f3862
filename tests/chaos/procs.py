"""Processes the chaos scenarios start, kill and restart: a private PostgreSQL 15
cluster, a private redis-server, Celery workers and beats, and a web process.

Nothing here touches the shared Postgres or Redis the rest of the suite uses."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path("/usr/lib/postgresql/15/bin")
DB_NAME = "firebreak_chaos"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, what: str, timeout: float = 30.0, interval: float = 0.2, logs=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{logs() if logs else ''}")


def _as_postgres() -> list[str]:
    # initdb and postgres refuse to run as root.
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


class PrivatePostgres:
    """A throwaway cluster on a spare port: trust auth, fsync off."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="fb-chaos-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{DB_NAME}"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            [*_as_postgres(), str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30", *args],
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def init(self, template: Path | None = None) -> None:
        if template is not None:
            shutil.copytree(template, self.data)
            subprocess.run(["chown", "-R", "postgres:postgres", str(self.data)] if os.geteuid() == 0 else ["true"], check=True)
        else:
            subprocess.run(
                [*_as_postgres(), str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        (self.data / "chaos.opts").write_text(options)
        self.opts = options
        self.start()
        if template is not None:
            return
        with contextlib.closing(psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres")) as conn:
            conn.autocommit = True
            conn.cursor().execute(f"CREATE DATABASE {DB_NAME}")

    def save_template(self, template: Path) -> None:
        """Keep a stopped copy of this migrated cluster (written aside, then renamed)."""
        self.stop()
        partial = Path(tempfile.mkdtemp(prefix=template.name + "-", dir=template.parent))
        shutil.copytree(self.data, partial / "data", ignore=shutil.ignore_patterns("postmaster.pid", "*.log"))
        with contextlib.suppress(OSError):  # another run saved it first
            (partial / "data").rename(template)
        shutil.rmtree(partial, ignore_errors=True)
        for stale in template.parent.glob("fb-chaos-template-*"):
            if stale != template and stale.stat().st_mtime < time.time() - 3600:
                shutil.rmtree(stale, ignore_errors=True)  # made for migrations that changed since
        self.start()

    def start(self) -> None:
        self._ctl("-o", self.opts, "start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "stop")

    def restart(self) -> None:
        self._ctl("-o", self.opts, "-m", "fast", "restart")

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self._ctl("-m", "immediate", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)

    def connect(self):
        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=DB_NAME)
        conn.autocommit = True
        return conn


class PrivateRedis:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="fb-chaos-redis-"))
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redis

        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(self.dir)],
            stdout=open(self.dir / "redis.log", "ab"),  # noqa: SIM115 - owned by the child process
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        client = redis.Redis.from_url(self.url)
        wait_until(lambda: _pings(client), "redis-server to answer", timeout=10)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def client(self):
        import redis

        return redis.Redis.from_url(self.url)

    def destroy(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)


def _pings(client) -> bool:
    try:
        return bool(client.ping())
    except Exception:  # noqa: BLE001 - not up yet
        return False


class Processes:
    """Celery workers and beats (and a web process), each in its own process group so
    ``kill`` is a real ``kill -9`` of the whole tree."""

    def __init__(self, env: dict, prefix: str = "fb-worker-"):
        self.env = env
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, args: list[str], module: str = "celery") -> None:
        log = open(Path(self.dir) / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child process
        prefix = [sys.executable, "-m", "celery", "-A", "config"] if module == "celery" else [sys.executable]
        self.procs[name] = subprocess.Popen(
            [*prefix, *args], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def worker(self, name: str = "worker", concurrency: int = 2) -> None:
        self.start(
            name,
            [
                "worker",
                "-Q",
                "engine,delivery,celery",
                "-c",
                str(concurrency),
                "-l",
                os.environ.get("FIREBREAK_CHAOS_LOG_LEVEL", "warning"),
                "-n",
                f"{name}-{os.getpid()}@%h",
            ],
        )

    def beat(self, name: str = "beat") -> None:
        self.start(name, ["beat", "-l", "warning", "-s", str(Path(self.dir) / f"{name}-schedule"), "--pidfile", ""])

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def alive(self, name: str) -> bool:
        return name in self.procs and self.procs[name].poll() is None

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.kill(name)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in Path(self.dir).glob("*.log"))
