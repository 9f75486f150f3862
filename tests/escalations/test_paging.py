"""Escalations follow the incident: declare, raise, resolve, acknowledge; ack links and the API."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import signing
from django.utils import timezone

from escalations import engine
from escalations.models import Escalation, Page
from escalations.services import page_ack_token
from incidents import services as incident_services
from incidents.models import TimelineEvent
from tests.escalations.factories_paging import make_policy, start_incident

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _declare(actor, **fields):
    data = {
        "title": "Dangerous challenge spreading",
        "channel": "internal_detection",
        "harm_category": "dangerous-challenges",
        "severity": 2,
    }
    data.update(fields)
    return incident_services.incident_create(actor=actor, data=data)


def _now():
    """Incidents declared through the service start at the real clock, so the engine
    runs from there (a fixed instant would be in the past once the day has moved on)."""
    return timezone.now()


def _paged(user, *, at=None):
    engine.tick(at or _now())
    return Page.objects.filter(recipient=user, channel="in_app").latest("id")


# --- following the incident ---------------------------------------------------------


def test_declaring_an_incident_starts_every_matching_policy_in_the_same_transaction(manager, make_user):
    alice, legal = make_user("alice", role="responder"), make_user("legal", role="reviewer")
    make_policy("Responders", steps=[(5, [("user", alice.pk)])], rules=[{"max_severity": 2}])
    make_policy("Legal", steps=[(5, [("user", legal.pk)])], rules=[{"max_severity": 4, "channel": "internal_detection"}])
    make_policy("Only SEV1", steps=[(5, [("user", alice.pk)])], rules=[{"max_severity": 1}])

    incident = _declare(manager)

    names = sorted(e.policy_snapshot["name"] for e in Escalation.objects.filter(incident=incident))
    assert names == ["Legal", "Responders"]
    assert TimelineEvent.objects.filter(incident=incident, kind="page", summary__contains="started").count() == 2


def test_a_rule_on_harm_category_and_region_must_match(manager, make_user):
    alice = make_user("alice", role="responder")
    make_policy("CSEA only", steps=[(5, [("user", alice.pk)])], rules=[{"max_severity": 4, "harm_category": "csea"}])
    make_policy("EU only", steps=[(5, [("user", alice.pk)])], rules=[{"max_severity": 4, "region": "eu"}])

    incident = _declare(manager, region="apac")

    assert not Escalation.objects.filter(incident=incident).exists()


def test_refiling_the_category_or_region_starts_policies_that_now_match(manager, make_user):
    alice, legal = make_user("alice", role="responder"), make_user("legal", role="reviewer")
    make_policy("Responders", steps=[(5, [("user", alice.pk)])])
    make_policy("EMEA legal", steps=[(5, [("user", legal.pk)])], rules=[{"max_severity": 4, "region": "emea"}])
    incident = _declare(manager, region="apac")
    assert list(Escalation.objects.filter(incident=incident).values_list("policy_snapshot__name", flat=True)) == ["Responders"]

    incident = incident_services.incident_update(actor=manager, incident=incident, data={"region": "emea"}, version=incident.version)

    names = sorted(Escalation.objects.filter(incident=incident).values_list("policy_snapshot__name", flat=True))
    assert names == ["EMEA legal", "Responders"]
    assert TimelineEvent.objects.filter(incident=incident, summary__contains='"EMEA legal" started (region changed)').exists()

    incident_services.incident_update(actor=manager, incident=incident, data={"summary": "More detail"}, version=incident.version)
    assert Escalation.objects.filter(incident=incident).count() == 2


def test_raising_the_severity_starts_policies_that_now_match(manager, make_user):
    alice = make_user("alice", role="responder")
    make_policy("SEV1 bridge", steps=[(5, [("user", alice.pk)])], rules=[{"max_severity": 1}])
    incident = _declare(manager, severity=3)
    assert not Escalation.objects.filter(incident=incident).exists()

    incident_services.incident_set_severity(actor=manager, incident=incident, severity=1, reason="Imminent risk to life")

    assert Escalation.objects.get(incident=incident).policy_snapshot["name"] == "SEV1 bridge"


def test_resolving_the_incident_stops_its_escalations(manager, make_user):
    alice = make_user("alice", role="responder")
    make_policy(steps=[(5, [("user", alice.pk)]), (5, [("user", alice.pk)])])
    incident = _declare(manager)
    escalation = Escalation.objects.get(incident=incident)

    incident_services.incident_transition(actor=manager, incident=incident, to="declined", reason="Not a real incident")

    escalation.refresh_from_db()
    assert escalation.state == "resolved"
    assert engine.tick(_now() + timedelta(days=1)).claimed == 0


def test_acknowledging_in_the_app_stops_only_the_escalations_that_paged_that_person(manager, make_user):
    alice, legal = make_user("alice", role="responder"), make_user("legal", role="reviewer")
    make_policy("Responders", steps=[(5, [("user", alice.pk)]), (5, [("user", alice.pk)])])
    make_policy("Legal", steps=[(5, [("user", legal.pk)]), (5, [("user", legal.pk)])])
    incident = _declare(manager)
    engine.tick(_now())

    incident_services.incident_acknowledge(actor=alice, incident=incident)

    states = dict(Escalation.objects.filter(incident=incident).values_list("policy_snapshot__name", "state"))
    assert states == {"Responders": "acknowledged", "Legal": "active"}


def test_the_commander_acknowledging_from_the_incident_stops_them_all(manager, make_user):
    alice = make_user("alice", role="responder")
    make_policy("Responders", steps=[(5, [("user", alice.pk)])])
    incident = _declare(manager)
    engine.tick(_now())

    incident_services.incident_acknowledge(actor=manager, incident=incident)

    assert set(Escalation.objects.filter(incident=incident).values_list("state", flat=True)) == {"acknowledged"}


# --- policy validation ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "field"),
    [
        ([], "steps"),
        ([{"wait_minutes": 0, "targets": [{"kind": "user", "id": 1}]}], "steps[0].wait_minutes"),
        ([{"wait_minutes": -5, "targets": [{"kind": "user", "id": 1}]}], "steps[0].wait_minutes"),
        ([{"wait_minutes": 5, "targets": []}], "steps[0].targets"),
        ([{"wait_minutes": 5, "targets": [{"kind": "planet", "id": 1}]}], "steps[0].targets[0]"),
    ],
)
def test_invalid_policies_are_refused_naming_the_field(api, manager, steps, field):
    response = api(manager).post("/api/v1/escalation-policies/", {"name": "Bad", "steps": steps}, format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_a_step_targeting_an_inactive_or_deleted_user_is_refused(api, manager, make_user):
    gone = make_user("gone", is_active=False)
    for ref in (gone.pk, 999999):
        body = {"name": "Bad", "steps": [{"wait_minutes": 5, "targets": [{"kind": "user", "id": ref}]}]}
        response = api(manager).post("/api/v1/escalation-policies/", body, format="json")
        assert response.status_code == 400
        assert "inactive" in response.json()["errors"]["steps[0].targets[0].id"][0]


def test_policy_crud_through_the_api_bumps_the_version(api, manager, responder):
    body = {
        "name": "Comms",
        "repeat": 2,
        "steps": [{"wait_minutes": 5, "targets": [{"kind": "user", "id": responder.pk}]}],
        "rules": [{"max_severity": 2, "channel": "media_inquiry"}],
    }
    created = api(manager).post("/api/v1/escalation-policies/", body, format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]

    patched = api(manager).patch(f"/api/v1/escalation-policies/{pk}/", {"name": "Comms", "repeat": 1}, format="json")

    assert patched.status_code == 200
    assert patched.json()["version"] == 2 and patched.json()["repeat"] == 1
    assert patched.json()["rules"][0]["channel"] == "media_inquiry"
    assert api(responder).get(f"/api/v1/escalation-policies/{pk}/").status_code == 200
    assert api(responder).delete(f"/api/v1/escalation-policies/{pk}/").status_code == 403
    assert api(manager).delete(f"/api/v1/escalation-policies/{pk}/").status_code == 204


# --- acknowledging a page ----------------------------------------------------------


def test_the_recipient_acknowledges_through_the_api(api, make_user):
    alice = make_user("alice", role="responder")
    make_policy(steps=[(5, [("user", alice.pk)])])
    incident, [escalation] = start_incident(at=T0)
    page = _paged(alice)

    response = api(alice).post(f"/api/v1/pages/{page.pk}/acknowledge/")

    assert response.status_code == 200
    assert response.json()["state"] == "acknowledged"
    escalation.refresh_from_db()
    assert escalation.state == "acknowledged"
    again = api(alice).post(f"/api/v1/pages/{page.pk}/acknowledge/")
    assert again.status_code == 409
    assert "Already acknowledged by alice" in again.json()["detail"]


def test_someone_else_gets_404_and_a_manager_may_acknowledge(api, make_user, manager):
    alice, bob = make_user("alice", role="responder"), make_user("bob", role="responder")
    make_policy(steps=[(5, [("user", alice.pk)])])
    start_incident(at=T0)
    page = _paged(alice)

    assert api(bob).post(f"/api/v1/pages/{page.pk}/acknowledge/").status_code == 404
    assert api(bob).get(f"/api/v1/pages/{page.pk}/").status_code == 404
    assert api(manager).post(f"/api/v1/pages/{page.pk}/acknowledge/").status_code == 200


def test_page_list_shows_own_pages_and_managers_see_all(api, make_user, manager):
    alice, bob = make_user("alice", role="responder"), make_user("bob", role="responder")
    make_policy(steps=[(5, [("user", alice.pk), ("user", bob.pk)])])
    start_incident(at=T0)
    engine.tick(T0)

    own = api(alice).get("/api/v1/pages/").json()["results"]
    everyone = api(manager).get("/api/v1/pages/").json()["results"]

    assert {p["recipient"] for p in own} == {"alice"}
    assert {p["recipient"] for p in everyone} == {"alice", "bob"}


@pytest.mark.parametrize("size", [1, 50])
def test_page_list_query_count_does_not_grow_with_rows(api, make_user, manager, django_assert_num_queries, size):
    people = [make_user(f"p{i}", role="responder") for i in range(50)]
    make_policy(steps=[(5, [("user", p.pk) for p in people])])
    start_incident(at=T0)
    engine.tick(T0)
    client = api(manager)

    with django_assert_num_queries(3):
        response = client.get(f"/api/v1/pages/?page_size={size}")

    assert len(response.json()["results"]) == size


# --- the signed link ---------------------------------------------------------------


def test_opening_the_link_does_not_acknowledge_but_the_confirmation_post_does(client, make_user):
    alice = make_user("alice", role="responder")
    make_policy(steps=[(5, [("user", alice.pk)])])
    incident, [escalation] = start_incident(at=T0)
    page = _paged(alice)
    url = f"/escalations/ack/{page_ack_token(page)}/"

    shown = client.get(url)
    page.refresh_from_db()
    assert shown.status_code == 200 and page.state != "acknowledged"
    assert f"SEV{incident.severity} incident {incident.reference} needs you" in shown.content.decode()

    confirmed = client.post(url)

    assert confirmed.status_code == 200
    assert "Acknowledged at" in confirmed.content.decode()
    escalation.refresh_from_db()
    assert escalation.state == "acknowledged" and escalation.acknowledged_by == alice
    reused = client.get(url).content.decode()
    assert "Already acknowledged by alice at" in reused


def test_a_forged_link_is_refused_clearly(client, make_user):
    forged = signing.dumps({"p": 1, "u": 1}, salt="something-else")

    response = client.get(f"/escalations/ack/{forged}/")

    assert response.status_code == 400
    assert "not valid" in response.content.decode()


def test_an_expired_link_is_refused_clearly(client, make_user, monkeypatch):
    alice = make_user("alice", role="responder")
    make_policy(steps=[(5, [("user", alice.pk)])])
    start_incident(at=T0)
    page = _paged(alice)
    token = page_ack_token(page)
    monkeypatch.setattr("escalations.services.ACK_MAX_AGE", timedelta(seconds=-1))

    response = client.post(f"/escalations/ack/{token}/")

    page.refresh_from_db()
    assert response.status_code == 400
    assert "expired" in response.content.decode()
    assert page.state != "acknowledged"


def test_a_link_for_a_resolved_incident_says_so(client, make_user):
    alice = make_user("alice", role="responder")
    make_policy(steps=[(5, [("user", alice.pk)])])
    incident, _ = start_incident(at=T0)
    page = _paged(alice)
    type(incident).objects.filter(pk=incident.pk).update(status="resolved")

    response = client.post(f"/escalations/ack/{page_ack_token(page)}/")

    assert response.status_code == 409
    assert "already resolved" in response.content.decode()


# --- browser surfaces ----------------------------------------------------------------------


def test_the_bell_answers_304_when_nothing_changed(client, make_user):
    alice = make_user("alice", role="responder")
    make_policy(steps=[(5, [("user", alice.pk)])])
    start_incident(at=T0)
    engine.tick(T0)
    client.force_login(alice)

    first = client.get("/notifications/bell/")
    second = client.get("/notifications/bell/", HTTP_IF_NONE_MATCH=first["ETag"])

    assert first.status_code == 200 and "1 open pages" in first.content.decode()
    assert second.status_code == 304


def test_the_notification_list_acknowledges_with_a_post(client, make_user):
    alice = make_user("alice", role="responder")
    make_policy(steps=[(5, [("user", alice.pk)])])
    _, [escalation] = start_incident(at=T0)
    page = _paged(alice)
    client.force_login(alice)
    assert "Acknowledge" in client.get("/notifications/").content.decode()

    response = client.post(f"/notifications/pages/{page.pk}/acknowledge/")

    assert response.status_code == 302
    escalation.refresh_from_db()
    assert escalation.state == "acknowledged"


def test_the_engine_page_is_for_admins(client, admin_user, responder, settings):
    settings.FIREBREAK_ADMIN_OTP_REQUIRED = False
    engine.tick(T0)
    client.force_login(responder)
    assert client.get("/escalations/engine/").status_code == 403
    client.force_login(admin_user)

    response = client.get("/escalations/engine/")

    assert response.status_code == 200
    assert "Last tick" in response.content.decode()
