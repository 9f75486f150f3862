"""The architecture, enforced: apps depend one way (import-linter), and every domain-event
subscription is written out literally where a reader can grep for it and is live at start-up."""

import ast
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from django.apps import apps
from django.conf import settings

from core import events

ROOT = Path(__file__).resolve().parents[1]


def _first_party_apps() -> list[str]:
    return [c.name for c in apps.get_app_configs() if (ROOT / c.name).is_dir() and c.name in settings.INSTALLED_APPS]


def test_lint_imports_finds_the_layers_contract_kept():
    executable = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert executable, "import-linter is not installed (requirements-dev.txt)"

    result = subprocess.run([executable, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
    assert "KEPT" in result.stdout


def test_every_project_app_is_in_the_layers_contract():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = next(c["layers"] for c in config["contracts"] if c["type"] == "layers")
    # "a | b" is one layer of independent siblings; highest layer first.
    level = {app.strip(): i for i, layer in enumerate(layers) for app in layer.split("|")}
    project_apps = _first_party_apps()

    assert set(project_apps) <= set(config["root_packages"]), "a new app must join import-linter's root_packages"
    assert set(project_apps) <= set(level), "a new app must take its place in the layers contract"
    # INSTALLED_APPS lists them lowest first, so each app's layer is at or above the one before.
    levels = [level[a] for a in project_apps]
    assert levels == sorted(levels, reverse=True), dict(zip(project_apps, levels, strict=True))


def _subscribe_calls_in_source() -> set[tuple[str, str]]:
    """(event type name, handler name) for every literal `subscribe(Event, handler, ...)` call."""
    found = set()
    for app in _first_party_apps():
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts or path == ROOT / "core" / "events.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if not isinstance(node, ast.Call):
                    continue
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if name != "subscribe" or len(node.args) < 2:
                    continue
                event_type, handler = (ast.unparse(arg).rsplit(".", 1)[-1] for arg in node.args[:2])
                found.add((event_type, handler))
    return found


def _registered() -> set[tuple[str, str]]:
    return {
        (event_type.__name__, handler.split(" [", 1)[0].rsplit(".", 1)[-1])
        for event_type, handlers in events.subscriptions().items()
        for handler in handlers
    }


def test_every_subscription_is_explicit_in_the_source_and_live_at_start_up():
    in_source = _subscribe_calls_in_source()
    registered = _registered()

    assert registered - in_source == set(), "subscriptions made indirectly (not a literal subscribe(Event, handler) call)"
    assert in_source - registered == set(), "subscribe() calls that AppConfig.ready() never runs"


def test_subscribers_live_in_the_project_apps():
    for handlers in events.subscriptions().values():
        for handler in handlers:
            module = handler.split(" [", 1)[0].rsplit(".", 1)[0]
            assert module.split(".", 1)[0] in _first_party_apps(), handler
