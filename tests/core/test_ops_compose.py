"""docker-compose.yml and the Dockerfile, checked without a Docker engine: the shape of the
services and that everything they name exists in this repository."""

import importlib
import importlib.util
import re
import runpy
import shlex
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose):
    return compose["services"]


def _argv(service) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


def test_compose_has_the_production_services(services):
    assert set(services) == {"postgres", "redis", "migrate", "web", "worker", "beat"}
    assert services["postgres"]["image"].startswith("postgres:15")
    assert services["redis"]["image"].startswith("redis:7")
    for name in ("migrate", "web", "worker", "beat"):
        assert services[name]["build"] == "."


@pytest.mark.parametrize("name", ["postgres", "redis", "web", "worker", "beat"])
def test_long_running_services_have_health_checks(services, name):
    check = services[name]["healthcheck"]
    assert check["test"][0] in {"CMD", "CMD-SHELL"}
    assert check["interval"] and check["retries"] >= 1


def test_web_runs_gunicorn_on_the_wsgi_app_with_two_workers_per_core_plus_one(services, monkeypatch):
    argv = _argv(services["web"])
    assert argv[0] == "gunicorn"
    assert argv[-1] == "config.wsgi:application"
    assert importlib.util.find_spec("config.wsgi") is not None
    config_file = ROOT / argv[argv.index("--config") + 1]

    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.setattr("multiprocessing.cpu_count", lambda: 4)
    assert runpy.run_path(str(config_file))["workers"] == 9
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    assert runpy.run_path(str(config_file))["workers"] == 3
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])


def test_worker_and_a_single_beat_run_the_projects_celery_app(services):
    worker, beat = _argv(services["worker"]), _argv(services["beat"])
    assert worker[:4] == ["celery", "-A", "config", "worker"]
    assert beat[:4] == ["celery", "-A", "config", "beat"]
    from config.celery import app

    assert app.main == "firebreak"
    assert services["beat"]["deploy"]["replicas"] == 1
    # A schedule file a second container could share would be corrupted by two beats.
    assert beat[beat.index("--schedule") + 1].startswith("/tmp/")


def test_app_services_wait_for_healthy_dependencies_and_the_migration(services):
    for name in ("web", "worker"):
        deps = services[name]["depends_on"]
        assert deps["postgres"]["condition"] == "service_healthy"
        assert deps["redis"]["condition"] == "service_healthy"
        assert deps["migrate"]["condition"] == "service_completed_successfully"
    assert services["beat"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert _argv(services["migrate"])[:3] == ["python", "manage.py", "migrate"]


def test_app_environment_names_real_settings_and_no_secrets(services):
    env = services["web"]["environment"]
    for name in ("worker", "beat", "migrate"):
        assert services[name]["environment"] == env
    settings_module = env["DJANGO_SETTINGS_MODULE"]
    assert importlib.util.find_spec(settings_module) is not None
    settings_source = "".join(p.read_text() for p in (ROOT / "config" / "settings").glob("*.py"))
    for variable in env:
        if variable != "DJANGO_SETTINGS_MODULE":
            assert f'"{variable}"' in settings_source, f"{variable} is not read by config/settings"
    assert env["SECRET_KEY"].startswith("${SECRET_KEY:?")
    assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in env["DATABASE_URL"]
    assert env["REDIS_URL"].startswith("redis://redis:6379/")
    assert services["web"]["volumes"] == services["worker"]["volumes"]  # evidence files shared by web and worker


def test_dockerfile_builds_a_slim_non_root_image_with_static_files():
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)", text, flags=re.MULTILINE)
    assert stages and all(s == "python:3.11-slim" for s in stages)
    users = re.findall(r"^USER (\S+)", text, flags=re.MULTILINE)
    assert users and users[-1] not in {"root", "0"}
    assert "collectstatic --noinput" in text
    assert "requirements.txt" in text
    cmd = re.search(r"^CMD (.+)$", text, flags=re.MULTILINE).group(1)
    assert "config.wsgi:application" in cmd
    assert ".venv" in (ROOT / ".dockerignore").read_text().split()
