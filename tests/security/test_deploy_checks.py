"""Production settings pass Django's deployment checks, and the OpenAPI schema is clean."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def production_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DEBUG"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.prod",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="firebreak.example.org",
        DATABASE_URL="postgres://firebreak:secret@127.0.0.1:5432/firebreak",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )
    return env


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - fixed arguments, our own manage.py
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.slow
def test_production_settings_pass_check_deploy():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=production_environment())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.slow
def test_production_settings_refuse_to_start_without_a_secret_key():
    env = production_environment()
    del env["SECRET_KEY"]

    result = run_manage("check", env=env)

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.slow
def test_openapi_schema_validates_without_warnings(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    target = tmp_path / "schema.yaml"

    result = run_manage("spectacular", "--validate", "--fail-on-warn", "--file", str(target), env=env)

    assert result.returncode == 0, result.stdout + result.stderr
    schema = target.read_text()
    assert "/api/v1/tokens/" in schema
    assert "bearerToken" in schema


@pytest.mark.slow
@pytest.mark.parametrize(("module", "expected"), [("config.settings.dev", "False"), ("config.settings.prod", "True")])
def test_admin_second_factor_is_off_only_in_dev(module, expected):
    env = {**production_environment(), "DJANGO_SETTINGS_MODULE": module}
    env.pop("FIREBREAK_ADMIN_OTP_REQUIRED", None)

    result = run_manage("shell", "-c", "from django.conf import settings; print(settings.FIREBREAK_ADMIN_OTP_REQUIRED)", env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected
