"""The Celery tasks are thin: they read the database clock and call the engine."""

from datetime import timedelta

import pytest
from django.core import mail

from core.models import EngineHeartbeat
from core.time import db_now
from escalations import tasks
from escalations.models import OutgoingMessage, Page
from tests.escalations.factories_paging import make_policy, start_incident

pytestmark = pytest.mark.django_db


def test_engine_tick_and_delivery_tasks_use_the_database_clock(make_user, settings):
    # Parallel batch loops use their own connections, which cannot see this test's rows.
    settings.FIREBREAK_ENGINE_TICK_WORKERS = 1
    alice = make_user("alice", role="responder")
    make_policy(steps=[(5, [("user", alice.pk)])])
    start_incident(at=db_now() - timedelta(seconds=1))

    assert tasks.engine_tick() == {"claimed": 1, "pages": 2}
    assert tasks.deliver_due()["sent"] == 2
    assert Page.objects.filter(state="sent").count() == 2
    assert tasks.engine_audit() == {"repaired": 0}


def test_the_watchdog_emails_the_admins_once_when_the_engine_stops_ticking(admin_user):
    EngineHeartbeat.objects.create(name="escalations", beat_at=db_now() - timedelta(minutes=5))

    first = tasks.engine_watchdog()
    second = tasks.engine_watchdog()

    assert first == 1 and second == 0
    [alert] = mail.outbox
    assert alert.to == [admin_user.email]
    assert "stopped ticking" in alert.subject
    assert alert.extra_headers["X-Firebreak-Idempotency-Key"] == OutgoingMessage.objects.get(kind="alert").idempotency_key


def test_the_watchdog_is_quiet_while_the_engine_ticks(admin_user):
    EngineHeartbeat.objects.create(name="escalations", beat_at=db_now() - timedelta(seconds=5))

    assert tasks.engine_watchdog() == 0
    assert mail.outbox == []


def test_no_task_uses_countdown_or_eta():
    """Long countdown/eta tasks are redelivered by Redis after the visibility timeout:
    timers are rows. No call anywhere in the project passes either keyword."""
    import ast
    from pathlib import Path

    root = Path(tasks.__file__).resolve().parents[1]
    offenders = []
    apps = [d for d in root.iterdir() if (d / "apps.py").exists() or d.name == "config"]
    for path in (p for app in apps for p in app.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Call) and any(k.arg in ("countdown", "eta") for k in node.keywords):
                offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    assert offenders == []
