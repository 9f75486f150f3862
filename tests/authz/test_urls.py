"""Every URL pattern, walked anonymously (login redirect or 401 unless deliberately public),
and every state-changing HTML form protected against cross-site request forgery."""

from __future__ import annotations

import re
import uuid
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern

pytestmark = pytest.mark.django_db

DUMMY = {"int": "1", "str": "x", "slug": "x", "uuid": str(uuid.UUID(int=1)), "path": "x"}

# Reviewed public URLs: route pattern -> the statuses an anonymous GET and POST may answer.
# A URL that answers an anonymous caller without asking for a login must be listed here.
PUBLIC = {
    "healthz": {200, 405},
    "readyz": {200, 503, 405},
    "accounts/login/": {200, 403},  # 403: the POST in this walk carries no CSRF token (Client does not enforce it, the form does)
    "accounts/logout/": {302, 405},  # signing out when signed out changes nothing
    "accounts/sso/start/": {302, 404},  # OpenID Connect hand-off (404 while single sign-on is not configured)
    "accounts/sso/callback/": {302, 400, 404, 405},
    # Signed acknowledgement links identify the recipient themselves (an unknown token: 400).
    "escalations/ack/<str:token>/": {400},
    # iCalendar feeds authenticate by the secret token in the query string (none: 404).
    "api/v1/schedules/<int:pk>.ics": {404, 405},
    "api/v1/schedules/mine.ics": {404, 405},
}
# Django's admin sends anonymous callers to its own login page; its login/logout are public.
ADMIN_PUBLIC = {"admin/login/", "admin/logout/"}


def _fill_route(route: str) -> str:
    return re.sub(r"<(?:(\w+):)?\w+>", lambda m: DUMMY.get(m.group(1) or "str", "x"), route)


def _fill_regex(regex: str) -> str:
    def group(m: re.Match) -> str:
        body = m.group(1)
        if re.fullmatch(r"[\w|-]+", body):
            return body.split("|")[0]  # an alternation of names (admin app labels): the first
        return "1"

    text = re.sub(r"\(\?P<\w+>((?:[^()]|\([^()]*\))*)\)", group, regex)
    text = text.lstrip("^").rstrip("$").replace("\\Z", "").replace("\\", "")
    return text


def walk(patterns=None, prefix: str = "", route_prefix: str = ""):
    """(route pattern text, concrete path) for every URL pattern, recursively."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        pattern = entry.pattern
        if isinstance(pattern, RoutePattern):
            piece, route_piece = _fill_route(str(pattern)), str(pattern)
        elif isinstance(pattern, RegexPattern):
            piece, route_piece = _fill_regex(pattern.regex.pattern), pattern.regex.pattern
        else:  # pragma: no cover - Django has no other kind
            raise AssertionError(type(pattern))
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, prefix + piece, route_prefix + route_piece)
        elif isinstance(entry, URLPattern):
            yield route_prefix + route_piece, "/" + prefix + piece


URLS = sorted(set(walk()))


def test_the_walk_sees_every_app():
    routes = {route for route, _ in URLS}
    for expected in ("healthz", "api/v1/incidents/<int:pk>/", "postmortems/<int:pk>/", "schedules/", "incidents/<str:key>/"):
        assert expected in routes, expected
    assert any(route.startswith("admin/") for route in routes)


def _is_login_redirect(response, *, admin: bool = False) -> bool:
    if response.status_code != 302:
        return False
    return response["Location"].startswith("/admin/login/" if admin else "/accounts/login/")


@pytest.mark.parametrize(("route", "path"), URLS, ids=[route for route, _ in URLS])
def test_anonymous_callers_are_sent_to_sign_in(route, path):
    client = Client()
    methods = ("get", "post", "put", "patch", "delete") if route.startswith("api/v1/") else ("get", "post")
    answers = {method: getattr(client, method)(path) for method in methods}
    statuses = {method: r.status_code for method, r in answers.items()}
    assert all(s < 500 for s in statuses.values()), (path, statuses)

    if route in PUBLIC:
        assert set(statuses.values()) <= PUBLIC[route], (path, statuses)
        return
    if route.startswith("admin/"):
        if route.replace("^", "").replace("$", "") in ADMIN_PUBLIC:
            return
        for method, response in answers.items():
            assert _is_login_redirect(response, admin=True) or response.status_code in (403, 404, 405), (method, path, statuses)
        assert any(_is_login_redirect(r, admin=True) for r in answers.values()) or statuses["get"] in (404,), (path, statuses)
        return
    if route.startswith("api/v1/"):
        # 401 with a Bearer challenge; 405 where nothing handles the method (DRF says so before authentication).
        for method, response in answers.items():
            assert response.status_code in (401, 405), (method, path, statuses, response.content[:200])
            if response.status_code == 401:
                assert response["WWW-Authenticate"].startswith("Bearer")
        assert 401 in statuses.values(), (path, statuses)
        return
    # HTML: every method sends the caller to the login page (405 for a method the view never takes).
    for method, response in answers.items():
        assert _is_login_redirect(response) or response.status_code == 405, (
            f"{path} ({route}) answers an anonymous {method.upper()} with {response.status_code}: "
            "add a login requirement, or list it in PUBLIC after review"
        )
    assert any(_is_login_redirect(r) for r in answers.values()), (path, statuses)


# --- CSRF ----------------------------------------------------------------------------------

HTML_URLS = [(route, path) for route, path in URLS if not route.startswith("api/v1/")]
# No HTML view is csrf_exempt: every one of them must refuse a POST without the token.


@pytest.fixture
def signed_in(make_user, settings):
    settings.FIREBREAK_ADMIN_OTP_REQUIRED = False
    user = make_user("csrf-manager", role="incident_manager")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


@pytest.mark.parametrize(("route", "path"), HTML_URLS, ids=[route for route, _ in HTML_URLS])
def test_a_post_without_the_csrf_token_is_refused(route, path, signed_in):
    response = signed_in.post(path, {"body": "forged"})
    assert response.status_code == 403, (path, response.status_code)
    assert b"CSRF" in response.content, (path, response.content[:300])


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._current: dict | None = None
        self.htmx_only = 0
        self.meta_token = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            method = (attrs.get("method") or "get").lower()
            self._current = {"method": method, "action": attrs.get("action") or attrs.get("hx-post"), "token": False}
            self.forms.append(self._current)
            if attrs.get("hx-post") and method != "post":
                self.htmx_only += 1  # posted by htmx with the X-CSRFToken header (static/js/app.js)
        elif tag == "meta" and attrs.get("name") == "csrf-token" and attrs.get("content"):
            self.meta_token = True
        elif tag == "input" and self._current is not None and attrs.get("name") == "csrfmiddlewaretoken" and attrs.get("value"):
            self._current["token"] = True

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def test_every_post_form_on_the_main_pages_carries_the_csrf_token(make_user, settings):
    from accounts.models import Clearance
    from incidents.services import incident_create
    from postmortems.services import postmortem_start
    from tests.accounts.factories import CompartmentFactory
    from tests.escalations.factories_schedules import make_schedule
    from tests.postmortems.conftest import ensure_harm_categories

    settings.FIREBREAK_ADMIN_OTP_REQUIRED = False
    ensure_harm_categories()
    manager = make_user("forms-manager", role="incident_manager")
    csea = CompartmentFactory(slug="csea", name="CSEA")
    Clearance.objects.create(user=manager, compartment=csea)
    incident = incident_create(
        actor=manager,
        data={"title": "Forms probe", "channel": "internal_detection", "harm_category": "csea", "severity": 2, "compartment": "csea"},
    )
    postmortem = postmortem_start(actor=manager, incident=incident, owner=manager)
    schedule = make_schedule()
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)
    pages = [
        "/",
        "/incidents/new/",
        f"/incidents/{incident.pk}/",
        f"/incidents/{incident.reference}/",
        "/postmortems/",
        f"/postmortems/{postmortem.pk}/",
        "/postmortems/action-items/",
        "/schedules/",
        f"/schedules/{schedule.pk}/",
        "/notifications/",
        "/accounts/profile/",
        "/wellbeing/",
    ]
    checked = 0
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        parser = _Forms()
        parser.feed(response.content.decode())
        for form in parser.forms:
            if form["method"] == "post":
                checked += 1
                assert form["token"], f"{url}: the form posting to {form['action']} has no csrfmiddlewaretoken"
        if parser.htmx_only:
            assert parser.meta_token, f"{url}: htmx posts forms but the page has no csrf-token meta tag"
    assert checked >= 10, checked


@pytest.mark.parametrize("content", [{"routing_key": "x"}, {}])
def test_a_form_encoded_post_to_a_json_webhook_is_refused_not_a_server_error(content):
    # The walk found this: a form body made the routing-key authentication read a consumed stream (500).
    response = Client().post("/api/v1/integrations/pagerduty/enqueue/", content)
    assert response.status_code == 401, response.content[:300]
