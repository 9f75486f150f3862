"""The authorization matrix: every cell of tests/authz/expectations.py as one request."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from rest_framework.test import APIClient

from tests.authz import expectations as ex

pytestmark = pytest.mark.django_db

CELLS = ex.cells()


@pytest.fixture(scope="module", autouse=True)
def _no_second_factor():
    """Two-factor is its own gate (tests/accounts/test_two_factor.py); admins here are signed in
    as if verified. Set once for the module: per-test settings changes cost more than the cells."""
    from django.test import override_settings

    with override_settings(FIREBREAK_ADMIN_OTP_REQUIRED=False):
        yield


def _id(cell):
    role, rel, action, surface, scope = cell
    return f"{role}-{rel}-{action}-{surface}" + (f"-token:{scope}" if scope else "")


def _html_request(world, target, action):
    incident, pm = target.incident, target.postmortem
    pk = incident.pk
    if action == "view":
        return "get", f"/incidents/{pk}/", None
    if action == "list":
        return "get", "/", None
    if action == "search":
        return "get", f"/?q={target.word}", None
    if action == "autocomplete":
        return "post", "/incidents/new/duplicates/", {"title": incident.title, "hashtags": "", "content_items": ""}
    if action == "comment":
        return "post", f"/incidents/{pk}/comments/new/", {"comment-body": "Matrix probe", "comment-visibility": "internal"}
    if action == "transition":
        return "post", f"/incidents/{pk}/transition/", {"to": "triaged", "version": incident.version}
    if action == "grant":
        return "post", f"/incidents/{pk}/grants/", {"user": world.invitee.username, "reason": "matrix"}
    if action == "acknowledge":
        return "post", f"/notifications/pages/{target.page.pk}/acknowledge/", {}
    if action == "approve_update":
        return "post", f"/incidents/{pk}/updates/{target.update.uid}/approve/", {"version": target.update.version}
    if action == "approve_postmortem":
        return "post", f"/postmortems/{pm.pk}/transition/", {"action": "approve"}
    raise AssertionError(action)


def _postmortem_html_request(target, action):
    pm = target.postmortem
    return {"view": f"/postmortems/{pm.pk}/", "list": "/postmortems/", "export": f"/postmortems/{pm.pk}/export.md"}[action]


def _api_request(world, target, action):
    incident, pm = target.incident, target.postmortem
    pk = incident.pk
    return {
        "view": ("get", f"/api/v1/incidents/{pk}/", None),
        "list": ("get", "/api/v1/incidents/", None),
        "search": ("get", f"/api/v1/incidents/?q={target.word}", None),
        "comment": ("post", f"/api/v1/incidents/{pk}/comments/", {"body": "Matrix probe"}),
        "transition": ("post", f"/api/v1/incidents/{pk}/transition/", {"to": "triaged"}),
        "grant": ("post", f"/api/v1/incidents/{pk}/grants/", {"user": world.invitee.username, "reason": "matrix"}),
        "acknowledge": ("post", f"/api/v1/pages/{target.page.pk}/acknowledge/", None),
        "approve_update": ("post", f"/api/v1/incidents/{pk}/updates/{target.update.uid}/approve/", {"version": target.update.version}),
        "approve_postmortem": ("post", f"/api/v1/postmortems/{pm.pk}/transition/", {"action": "approve"}),
    }[action]


def _postmortem_api_request(target, action):
    pm = target.postmortem
    return {"view": f"/api/v1/postmortems/{pm.pk}/", "list": "/api/v1/postmortems/"}[action]


def _result_ids(response):
    return {row["id"] for row in response.json()["results"]}


# One test per reader (role, relationship, token scope); each of its cells runs in a savepoint
# of its own and every mismatch is reported by cell id. Grouping keeps the matrix fast: the
# per-test fixture machinery cost more than most requests.
GROUPS: dict[tuple, list] = {}
for _cell in CELLS:
    GROUPS.setdefault((_cell[0], _cell[1], _cell[4]), []).append(_cell)


def _group_id(key):
    role, rel, scope = key
    return f"{role}-{rel}" + (f"-token:{scope}" if scope else "")


@pytest.mark.parametrize("key", list(GROUPS), ids=[_group_id(k) for k in GROUPS])
def test_matrix(key, world, settings):
    from django.db import transaction

    failures = []
    for cell in GROUPS[key]:
        try:
            with transaction.atomic():
                try:
                    check_cell(cell, world, settings)
                finally:
                    transaction.set_rollback(True)
        except AssertionError as exc:
            failures.append(f"{_id(cell)}: {exc}")
    assert not failures, f"{len(failures)} of {len(GROUPS[key])} cells disagree with the table:\n" + "\n".join(failures)


def check_cell(cell, world, settings):
    role, rel, action, surface, scope = cell
    anonymous = role == "anonymous"
    user = None if anonymous else world.user(role, rel)
    target = world.target("incident_manager" if anonymous else role, rel)
    want = ex.expected(role, rel, action, scope)
    secret = target.incident.title.split()[-1]

    if surface == "dashboard":
        from django.urls import reverse

        url = reverse("dashboards:drilldown" if action == "drilldown" else "dashboards:export-incidents")
        client = Client()
        if user is not None:
            client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[(role, rel)]
        response = client.get(url)
        if anonymous:
            assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
            return
        assert response.status_code == want, (url, response.status_code, want)
        if want == 200:
            raw = b"".join(response.streaming_content) if response.streaming else response.content
            assert (target.incident.reference.encode() in raw) == ex.listed(role, rel), (url, role, rel)
        return

    if surface in ("html", "postmortem_html"):
        client = Client()
        if user is not None:
            client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[(role, rel)]
        if surface == "html":
            method, url, data = _html_request(world, target, action)
        else:
            method, url, data = "get", _postmortem_html_request(target, action), None
        response = client.post(url, data or {}) if method == "post" else client.get(url)
        if anonymous:
            assert response.status_code in (302, 401), (url, response.status_code)
            if response.status_code == 302:
                assert response["Location"].startswith("/accounts/login/"), response["Location"]
            return
        if want in (403, 404, 409):
            assert response.status_code == want, (method, url, response.status_code, want)
            if want == 404:
                assert secret.encode() not in response.content
            return
        assert 200 <= response.status_code < 400, (method, url, response.status_code, response.content[:300])
        if response.status_code == 302:
            assert not response["Location"].startswith("/accounts/"), (url, response["Location"])
        if action in ("list", "search") and want == 200:
            shown = (target.postmortem.title if surface == "postmortem_html" else target.incident.reference).encode() in response.content
            assert shown == ex.listed(role, rel), (url, "listed" if shown else "missing")
        elif action == "autocomplete" and want == 200:
            assert (target.incident.reference.encode() in response.content) == ex.visible(role, rel)
        return

    # API surfaces
    client = APIClient()
    if scope is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {world.tokens[(role, rel, scope)]}")
    elif user is not None:
        client.force_authenticate(user=user)
    if surface == "api":
        method, url, data = _api_request(world, target, action)
    else:
        method, url, data = "get", _postmortem_api_request(target, action), None
    response = getattr(client, method)(url, data, format="json") if method == "post" else client.get(url)
    if ex.ACTIONS[action].collection and want == 200:
        assert response.status_code == 200, (url, response.status_code)
        wanted_id = target.postmortem.pk if surface == "postmortem_api" else target.incident.pk
        assert (wanted_id in _result_ids(response)) == ex.listed(role, rel, scope), url
        return
    assert response.status_code == want, (method, url, response.status_code, want, response.content[:300])
    if want == 404:
        assert secret.encode() not in response.content


@pytest.mark.parametrize("role", ex.ROLES)
def test_the_table_matches_the_role_groups(role, world):
    group = Group.objects.get(name=role)
    held = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}
    assert ex.ROLE_PERMS[role] <= held, sorted(ex.ROLE_PERMS[role] - held)
    if role != "admin":
        assert not (ex.ROLE_LACKS[role] & held), sorted(ex.ROLE_LACKS[role] & held)
    from django.contrib.auth.models import Permission

    if Permission.objects.filter(content_type__app_label="dashboards").exists():
        dashboards = {p for p in held if p.startswith("dashboards.")}
        assert ex.DASHBOARD_PERMS[role] <= dashboards, sorted(ex.DASHBOARD_PERMS[role] - dashboards)


def test_the_matrix_has_the_cells_it_promises():
    assert len(CELLS) == len({_id(c) for c in CELLS})
    assert {c[0] for c in CELLS} == {*ex.ROLES, "anonymous"}
    assert {c[1] for c in CELLS} == set(ex.RELATIONSHIPS)
    assert {c[4] for c in CELLS} == {None, *ex.TOKEN_SCOPES}


# --- what leaves the incident page: notifications, outgoing pages, feeds, every list -------


def _restricted_words(world):
    words = [t.word for key, t in world.targets.items() if key != "open"]
    return words + [f"{w}summary" for w in words]


def test_mentions_notify_only_readers_who_may_see_the_incident(world):
    from incidents.models import Notification

    for (role, rel), user in world.users.items():
        notified = set(Notification.objects.filter(user=user, kind="mention").values_list("incident_id", flat=True))
        target = world.target(role, rel).incident.pk
        assert (target in notified) == ex.visible(role, rel), (role, rel)
        # and never about an incident the reader cannot see
        visible = {t.incident.pk for key, t in world.targets.items()} - (
            {t.incident.pk for key, t in world.targets.items() if key != "open"} if rel == "uncleared" else set()
        )
        assert notified <= visible, (role, rel, notified - visible)


def test_outgoing_pages_for_restricted_incidents_carry_no_detail(world):
    from escalations.delivery import envelope_for, webhook_body
    from escalations.models import OutgoingMessage

    seen = 0
    for key, target in world.targets.items():
        for message in OutgoingMessage.objects.filter(incident=target.incident, kind="page").select_related("incident", "contact_method"):
            envelope = envelope_for(message)
            text = " ".join([envelope.subject, envelope.text, *envelope.lines, str(webhook_body(envelope)), str(envelope.incident)])
            if key == "open":
                assert target.word in text
            else:
                assert target.word not in text and "summary" not in text and "NCMEC" not in text, text
                assert envelope.restricted
            seen += 1
    assert seen >= 2 * len(world.targets), seen  # a mail and a webhook per incident


def test_the_ical_feed_of_a_commander_has_no_incident_detail(world, client):
    from escalations import schedule_services
    from tests.escalations.factories_schedules import make_schedule, rotation

    commander = world.user("incident_manager", "commander")
    make_schedule(rotations=[rotation([commander, world.owner])])
    _, secret = schedule_services.ical_token_create(actor=commander, schedule=None)
    response = client.get("/api/v1/schedules/mine.ics", {"token": secret})
    assert response.status_code == 200
    body = response.content.decode()
    assert "BEGIN:VEVENT" in body
    for word in [*_restricted_words(world), "Network sharing", "INC-"]:
        assert word not in body, word


def _listing_urls():
    from tests.authz.test_urls import URLS

    skip = ("admin/", "accounts/logout/", "accounts/sso/", "api/v1/schema/", "api/v1/docs/", "healthz", "readyz")
    return sorted(path for route, path in URLS if "<" not in route and "(?P" not in route and not route.startswith(skip))


@pytest.mark.parametrize("role", ex.ROLES)
def test_no_list_export_or_dashboard_shows_an_uncleared_reader_anything_restricted(role, world, settings):
    """Every page and API resource without an id in its path (queues, lists, search,
    notifications, dashboards and their exports when present), plain and with ?q= for each
    restricted word, shows nothing of the restricted incidents."""
    from django.test import Client

    html = Client()
    html.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[(role, "uncleared")]
    api = APIClient()
    api.force_authenticate(user=world.user(role, "uncleared"))
    words = _restricted_words(world)
    references = [t.incident.reference for key, t in world.targets.items() if key != "open"]
    for path in _listing_urls():
        client = api if path.startswith("/api/") else html
        for probe in ["", world.targets["shared"].word, references[0]]:
            query = f"?q={probe}" if probe else ""
            response = client.get(path + query)
            assert response.status_code < 500, (path, response.status_code)
            # The page may echo the search box's own text back; anything else is a leak.
            raw = b"".join(response.streaming_content) if response.streaming else response.content
            body = raw.decode(errors="replace")
            if probe:
                body = body.replace(probe, "")
            for secret in (*words, *references):
                assert secret not in body, (role, path + query, secret)


@pytest.mark.parametrize("role", ex.ROLES)
def test_being_a_participant_grants_nothing_once_the_clearance_goes(role, world):
    from django.utils import timezone

    from accounts.models import Clearance

    user = world.user(role, "participant")
    target = world.target(role, "participant").incident
    api = APIClient()
    api.force_authenticate(user=user)
    assert api.get(f"/api/v1/incidents/{target.pk}/").status_code == 200
    Clearance.objects.filter(user=user).update(revoked_at=timezone.now())
    user._cleared_compartments = None
    assert target.participant_links.filter(user=user).exists()
    assert api.get(f"/api/v1/incidents/{target.pk}/").status_code == 404
    assert target.pk not in _result_ids(api.get("/api/v1/incidents/"))
