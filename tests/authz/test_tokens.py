"""Token scopes across the whole API: a token never does more than its scope allows nor
sees more than its user."""

from __future__ import annotations

import pytest
from django.urls import resolve

from accounts.models import Clearance
from accounts.services import api_token_create
from core.api.permissions import Rule
from incidents.services import incident_create, incident_grant_access, incident_revoke_access
from tests.authz.test_urls import URLS
from tests.incidents.conftest import incident_data

pytestmark = pytest.mark.django_db

API_URLS = [(route, path) for route, path in URLS if route.startswith("api/v1/")]


def _rules(path: str) -> dict[str, Rule]:
    view = resolve(path).func
    cls = getattr(view, "cls", None) or getattr(view, "view_class", None)
    return getattr(cls, "required_permissions", None) or {}


def _public(path: str) -> bool:
    return any(rule.public for rule in _rules(path).values())


# Public routes (the iCal feeds) authenticate by a feed token in the URL, not an API token;
# test_public_feeds_refuse_without_their_feed_token covers them.
TOKEN_URLS = [(route, path) for route, path in API_URLS if not _public(path)]
PUBLIC_URLS = [(route, path) for route, path in API_URLS if _public(path)]


@pytest.mark.parametrize(("route", "path"), PUBLIC_URLS, ids=[r for r, _ in PUBLIC_URLS])
def test_public_feeds_refuse_without_their_feed_token(route, path, api, manager_tokens):
    for client in (api(), api(token=manager_tokens["read"])):
        response = client.get(path)
        assert response.status_code in (401, 403, 404), (path, response.status_code)
        assert b"BEGIN:VCALENDAR" not in response.content
        assert client.post(path, {}, format="json").status_code in (401, 403, 404, 405)


def _intake(path: str) -> bool:
    return _rules(path).get("post", Rule()).scope == "intake"


def _token(user, *scopes):
    return api_token_create(actor=user, user=user, name="scope probe", scopes=list(scopes))[1]


@pytest.fixture
def manager_tokens(manager):
    return {scope: _token(manager, scope) for scope in ("read", "write", "intake")}


@pytest.mark.parametrize(("route", "path"), TOKEN_URLS, ids=[r for r, _ in TOKEN_URLS])
def test_an_intake_token_can_only_post_intake(route, path, api, manager_tokens):
    client = api(token=manager_tokens["intake"])
    for method in ("get", "post", "put", "patch", "delete"):
        if method == "post" and _intake(path):
            continue
        response = getattr(client, method)(path, {}, format="json")
        assert response.status_code in (403, 405), (method, path, response.status_code, response.content[:200])


@pytest.mark.parametrize(("route", "path"), TOKEN_URLS, ids=[r for r, _ in TOKEN_URLS])
def test_a_read_token_cannot_write_anywhere(route, path, api, manager_tokens):
    client = api(token=manager_tokens["read"])
    for method in ("post", "put", "patch", "delete"):
        response = getattr(client, method)(path, {}, format="json")
        assert response.status_code in (403, 405), (method, path, response.status_code, response.content[:200])
        if response.status_code == 403:
            assert "scope" in response.json()["detail"], response.json()


def test_an_intake_token_files_a_report(api, manager_tokens):
    response = api(token=manager_tokens["intake"]).post("/api/v1/intake/", incident_data(title="Filed by a partner key"), format="json")
    assert response.status_code == 201, response.content


@pytest.fixture
def restricted(manager, csea):
    Clearance.objects.create(user=manager, compartment=csea)
    return incident_create(actor=manager, data=incident_data(title="Nightjar operation", compartment="csea", harm_category="csea"))


def test_break_glass_needs_the_admin_scope_on_a_token(api, admin_user, restricted):
    url = f"/api/v1/incidents/{restricted.pk}/break-glass/"
    body = {"reason": "Commander unreachable; regulator asks for status"}
    for scope in ("read", "write", "intake"):
        response = api(token=_token(admin_user, scope)).post(url, body, format="json")
        assert response.status_code == 403, (scope, response.status_code)
        assert "admin" in response.json()["detail"]
    assert api(token=_token(admin_user, "read")).get(f"/api/v1/incidents/{restricted.pk}/").status_code == 404
    assert api(token=_token(admin_user, "admin")).post(url, body, format="json").status_code == 201
    assert api(token=_token(admin_user, "read")).get(f"/api/v1/incidents/{restricted.pk}/").status_code == 200


def test_an_admin_scope_token_of_an_uncleared_admin_sees_no_restricted_incident(api, admin_user, restricted, incident):
    client = api(token=_token(admin_user, "admin"))
    assert client.get(f"/api/v1/incidents/{restricted.pk}/").status_code == 404
    assert [row["id"] for row in client.get("/api/v1/incidents/").json()["results"]] == [incident.pk]
    assert client.get("/api/v1/incidents/", {"q": "Nightjar"}).json()["results"] == []


def test_a_token_follows_its_users_access_as_it_changes(api, manager, reviewer, restricted):
    client = api(token=_token(reviewer, "read"))
    assert client.get(f"/api/v1/incidents/{restricted.pk}/").status_code == 404
    incident_grant_access(actor=manager, incident=restricted, user=reviewer)
    assert client.get(f"/api/v1/incidents/{restricted.pk}/").status_code == 200
    incident_revoke_access(actor=manager, incident=restricted, user=reviewer)
    assert client.get(f"/api/v1/incidents/{restricted.pk}/").status_code == 404
    reviewer.groups.clear()
    assert client.get("/api/v1/incidents/").status_code == 403


@pytest.fixture
def incident(manager):
    return incident_create(actor=manager, data=incident_data(title="Open case"))


@pytest.fixture
def csea():
    from tests.accounts.factories import CompartmentFactory

    return CompartmentFactory(slug="csea", name="CSEA")


@pytest.fixture(autouse=True)
def _reference_rows(db):
    from tests.postmortems.conftest import ensure_harm_categories

    ensure_harm_categories()
