"""Security settings on the real pages: a strict CSP on every HTML page a signed-in user can
open, the hardening headers, an idle session timeout, and production's HSTS, secure cookies
and second factor for admins."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from incidents.services import incident_create
from tests.escalations.factories_schedules import make_schedule, rotation
from tests.security.test_deploy_checks import production_environment, run_manage

pytestmark = pytest.mark.django_db

SKIP_PREFIXES = ("admin/", "api/", "accounts/logout/", "healthz", "readyz", "integrations/")


def _routes(patterns=None, prefix: str = "") -> list[str]:
    out: list[str] = []
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            out += _routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            out.append(route)
    return out


def _fill(route: str, ids: dict[str, object]) -> str | None:
    """A concrete path for a route, with the ids of real objects; None when it needs more."""
    if route.startswith("^") or "(?P" in route:
        return None
    owner = "schedule" if route.startswith("schedules/") else "incident"

    def value(match: re.Match) -> str:
        converter, name = match.group(1) or "str", match.group(2)
        if name in ("reference", "ref", "key"):
            return str(ids["reference"])
        if converter == "int" and name in ("pk", "id", "incident_pk", "incident_id", "schedule_pk"):
            return str(ids[owner])
        raise LookupError(name)

    try:
        return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", value, route)
    except LookupError:
        return None


@pytest.fixture
def world(manager):
    incident = incident_create(
        actor=manager, data={"title": "Walk every page", "summary": "x", "channel": "internal_detection", "harm_category": "other"}
    )
    schedule = make_schedule(rotations=[rotation([manager])])
    return {"incident": incident.pk, "reference": incident.reference, "schedule": schedule.pk}


def _csp_directives(header: str) -> dict[str, str]:
    return dict((d.strip().split(" ", 1) + [""])[:2] for d in header.split(";") if d.strip())


@pytest.mark.parametrize("role", ["incident_manager", "lead"])
def test_every_html_page_has_a_strict_csp_and_the_hardening_headers(client, make_user, world, role):
    client.force_login(make_user(f"walker-{role}", role=role))
    checked: list[str] = []
    for route in _routes():
        if route.startswith(SKIP_PREFIXES):
            continue
        path = _fill(route, world)
        if path is None or path.endswith((".csv", ".ics", ".md", ".json")):
            continue
        response = client.get(path)
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        csp = response["Content-Security-Policy"]
        directives = _csp_directives(csp)
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, path
        # A page with scripts names them by nonce; fragments without any get 'self' only.
        assert set(directives["script-src"].split()) <= {"'self'"} | set(re.findall(r"'nonce-[^']+'", csp)), path
        assert directives.get("default-src") in ("'self'", "'none'"), path
        assert directives["object-src"] == "'none'", path
        assert directives["frame-ancestors"] == "'none'", path
        assert response["X-Content-Type-Options"] == "nosniff", path
        assert response["X-Frame-Options"] == "DENY", path
        assert response["Referrer-Policy"] == "same-origin", path
        assert response["Cross-Origin-Opener-Policy"] == "same-origin", path
        assert "camera=()" in response["Permissions-Policy"], path
        checked.append(path)
    # The queue, intake, incident page, post-mortems, schedules, paging, dashboards, profile…
    assert len(checked) >= 12, checked
    assert f"/incidents/{world['reference']}/" in checked, checked


def test_api_and_login_answers_carry_a_permissions_policy(client, api, responder):
    for response in (client.get("/accounts/login/"), api(user=responder).get("/api/v1/me/")):
        policy = response["Permissions-Policy"]
        for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
            assert f"{feature}=()" in policy


def test_sessions_end_after_a_shift_of_idleness():
    assert settings.SESSION_COOKIE_AGE <= 12 * 3600
    assert settings.SESSION_SAVE_EVERY_REQUEST is True  # the age counts from the last request
    assert settings.SESSION_COOKIE_HTTPONLY is True


def test_an_idle_session_past_its_age_is_signed_out(client, responder):
    client.force_login(responder)
    assert client.get("/").status_code == 200
    Session.objects.filter(session_key=client.session.session_key).update(expire_date=timezone.now() - timedelta(seconds=1))

    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_each_request_pushes_the_idle_deadline_forward(client, responder):
    client.force_login(responder)
    key = client.session.session_key
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() + timedelta(minutes=5))

    client.get("/")

    expires = Session.objects.get(session_key=key).expire_date
    assert expires > timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE - 60)


PROD_SNIPPET = """
from django.conf import settings as s
from django.test import Client
r = Client(HTTP_HOST="firebreak.example.org").get("/healthz", secure=True)
print("HSTS", r.get("Strict-Transport-Security"))
print("PP", r.get("Permissions-Policy"))
for name in ("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "FIREBREAK_ADMIN_OTP_REQUIRED",
             "SESSION_COOKIE_NAME", "CSRF_COOKIE_NAME", "SESSION_COOKIE_AGE", "DEBUG"):
    print(name, getattr(s, name))
"""


@pytest.mark.slow
def test_production_sends_hsts_and_keeps_cookies_secure_and_admins_on_totp():
    env = production_environment()
    env.pop("FIREBREAK_ADMIN_OTP_REQUIRED", None)

    result = run_manage("shell", "-c", PROD_SNIPPET, env=env)

    assert result.returncode == 0, result.stderr
    values = dict(line.split(" ", 1) for line in result.stdout.strip().splitlines() if " " in line)
    hsts = values["HSTS"]
    assert int(re.search(r"max-age=(\d+)", hsts).group(1)) >= 31_536_000
    assert "includeSubDomains" in hsts and "preload" in hsts
    assert "camera=()" in values["PP"]
    assert values["SECURE_SSL_REDIRECT"] == "True"
    assert values["SESSION_COOKIE_SECURE"] == "True"
    assert values["CSRF_COOKIE_SECURE"] == "True"
    assert values["FIREBREAK_ADMIN_OTP_REQUIRED"] == "True"
    assert values["SESSION_COOKIE_NAME"].startswith("__Host-")
    assert values["CSRF_COOKIE_NAME"].startswith("__Host-")
    assert int(values["SESSION_COOKIE_AGE"]) <= 12 * 3600
    assert values["DEBUG"] == "False"
