"""`make run` from nothing: embedded PostgreSQL in a fresh folder, migrations, demo data,
web + worker + beat, an answering login page and /readyz, then a clean stop."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def run_dir():
    # Short path: the server's Unix socket lives in it and socket paths are limited to ~100 bytes.
    path = Path(tempfile.mkdtemp(prefix="fb-run-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.slow
def test_make_run_starts_everything_from_an_empty_folder_and_stops_cleanly(run_dir):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "TEST_DATABASE_NAME", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.dev"
    # The in-memory broker keeps this run away from a developer's .run/broker/ queue.
    env["CELERY_BROKER_URL"] = "memory://"
    port = _free_port()

    result = subprocess.run(
        [sys.executable, "scripts/devserver.py", "--smoke", "--run-dir", str(run_dir), "--addr", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert f"Firebreak is up at http://127.0.0.1:{port}/" in output
    assert "demo logins (manager, reviewer, responder, lead, analyst, admin), password firebreak-demo" in output
    assert "accounts: 18 users (18 new)" in output
    assert "/readyz answered 200" in output
    assert result.stdout.splitlines()[-1] == "[make run] stopped"
    assert (run_dir / "pg" / "PG_VERSION").exists()
    assert (run_dir / "celery").is_dir()
    leftovers = [
        p.info["cmdline"]
        for p in psutil.process_iter(attrs=["cmdline"])
        if p.info["cmdline"] and any(str(run_dir) in part or f"127.0.0.1:{port}" in part for part in p.info["cmdline"])
    ]
    assert leftovers == []
