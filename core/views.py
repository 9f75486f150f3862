import time

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from core.models import EngineHeartbeat


@never_cache
def healthz(request):
    """The process is up. No I/O, so a slow database never makes the orchestrator kill us."""
    return JsonResponse({"status": "ok"})


def _check_database() -> dict:
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}


def _check_broker() -> dict:
    from config.celery import app

    started = time.monotonic()
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}


def _engine_status() -> dict:
    try:
        beats = list(EngineHeartbeat.objects.all())
    except Exception:  # noqa: BLE001 - reported by the database check
        return {}
    now = timezone.now()
    return {
        b.name: {"last_tick_seconds_ago": round((now - b.beat_at).total_seconds(), 1), "lag_seconds": round(b.lag_seconds, 1)}
        for b in beats
    }


@never_cache
def readyz(request):
    checks = {"database": _check_database(), "broker": _check_broker()}
    ready = all(c["ok"] for c in checks.values())
    body = {"status": "ok" if ready else "unavailable", "checks": checks}
    if checks["database"]["ok"]:
        body["engine"] = _engine_status()
    return JsonResponse(body, status=200 if ready else 503)


def home_placeholder(request):
    from django.shortcuts import redirect, render

    if not request.user.is_authenticated:
        return redirect(f"{settings.LOGIN_URL}?next=/")
    return render(request, "core/home.html")
