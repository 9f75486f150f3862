"""SLA over the API: an incident's clocks (404 when not visible), SLA policies (read for the
roles that may view them, writes for admins, validation naming the field) and the
"which policy wins, and why" endpoint."""

from datetime import timedelta

import pytest

from escalations.models import SLAPolicy, SLATarget
from incidents.services import incident_create
from tests.escalations.factories_sla import make_clock, make_legal_clock, make_policy, restricted_incident
from tests.incidents.conftest import incident_data

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def only_test_policies():
    """The shipped default policies would start clocks of their own on every new incident."""
    SLAPolicy.objects.all().delete()


@pytest.fixture
def incident(manager):
    return incident_create(actor=manager, data=incident_data())


@pytest.fixture
def csea_incident(manager):
    return restricted_incident(manager)


@pytest.fixture
def policy():
    return make_policy(
        "Test SEV2 clocks", severities=[2], targets=(("acknowledge", timedelta(minutes=30)), ("mitigation", timedelta(hours=4)))
    )


def _target(policy, metric):
    return policy.targets.get(metric=metric)


def _clock_by_id(body, clock):
    return next(c for c in body["clocks"] if c["id"] == clock.pk)


def test_incident_sla_lists_every_clock_with_legal_citation_and_history(api, manager, incident, policy):
    version = make_legal_clock()
    ack = make_clock(incident, _target(policy, "acknowledge"), due_in=timedelta(minutes=20), warn_in=timedelta(minutes=5))
    paused = make_clock(
        incident, _target(policy, "mitigation"), state="paused", legal_version=version, events=("start", "pause"), elapsed_seconds=600
    )

    response = api(manager).get(f"/api/v1/incidents/{incident.pk}/sla/")

    assert response.status_code == 200
    body = response.json()
    assert body["reference"] == incident.reference
    first = _clock_by_id(body, ack)
    assert first["metric"] == "acknowledge"
    assert first["metric_label"] == "Time to acknowledge"
    assert first["state"] == "running"
    assert first["paused"] is False
    assert first["policy"] == {"id": policy.pk, "name": "Test SEV2 clocks", "version": 1}
    assert first["warn_at"] is not None and first["due_at"] is not None
    assert 590 <= first["elapsed_seconds"] <= 700  # started ten minutes ago, 24/7
    assert [e["kind"] for e in first["events"]] == ["start"]
    second = _clock_by_id(body, paused)
    assert second["paused"] is True
    assert second["pause_reason"] == "Waiting for the platform partner"
    assert second["elapsed_seconds"] == 600
    assert second["legal_clock"]["citation"] == "Test Regulation (EU) 2021/784, Art. 3(3)"
    assert second["legal_clock"]["internal_target"] is False
    assert second["legal_clock_version"]["duration_seconds"] == 3600
    assert [e["kind"] for e in second["events"]] == ["start", "pause"]


def test_incident_sla_is_404_for_an_uncleared_reviewer_and_for_a_missing_incident(api, reviewer, csea_incident, policy):
    make_clock(csea_incident, _target(policy, "acknowledge"))

    assert api(reviewer).get(f"/api/v1/incidents/{csea_incident.pk}/sla/").status_code == 404
    assert api(reviewer).get("/api/v1/incidents/999999999/sla/").status_code == 404
    assert api().get(f"/api/v1/incidents/{csea_incident.pk}/sla/").status_code in (401, 403)


def test_policies_are_readable_by_a_responder_but_only_an_admin_may_write(api, responder, admin_user, policy):
    listed = api(responder).get("/api/v1/sla-policies/")
    assert listed.status_code == 200
    names = [p["name"] for p in listed.json()["results"]]
    assert "Test SEV2 clocks" in names
    detail = api(responder).get(f"/api/v1/sla-policies/{policy.pk}/").json()
    assert detail["severities"] == [2]
    assert {t["metric"]: t["duration_seconds"] for t in detail["targets"]} == {"acknowledge": 1800, "mitigation": 14400}

    body = {"name": "Responder's own", "targets": [{"metric": "acknowledge", "duration_seconds": 600}]}
    assert api(responder).post("/api/v1/sla-policies/", body, format="json").status_code == 403
    assert api(responder).patch(f"/api/v1/sla-policies/{policy.pk}/", {"priority": 9}, format="json").status_code == 403
    assert api(responder).delete(f"/api/v1/sla-policies/{policy.pk}/").status_code == 403

    created = api(admin_user).post("/api/v1/sla-policies/", body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["targets"][0]["duration_seconds"] == 600


@pytest.mark.parametrize(
    ("target", "field"),
    [
        ({"metric": "acknowledge", "duration_seconds": 0}, "targets[0].duration"),
        ({"metric": "acknowledge", "duration_seconds": -60}, "targets[0].duration"),
        ({"metric": "acknowledge"}, "targets[0].duration"),
        ({"metric": "acknowledge", "duration_seconds": 60, "calendar": 999999}, "targets[0].calendar"),
        ({"metric": "acknowledge", "duration_seconds": 60, "legal_clock": "no-such-law"}, "targets[0].legal_clock"),
        ({"metric": "acknowledge", "duration_seconds": 60, "warn_pct": 100}, "targets[0].warn_pct"),
        ({"metric": "acknowledge", "duration_seconds": 60, "on_breach": ["launch_rockets"]}, "targets[0].on_breach"),
        ({"metric": "coffee", "duration_seconds": 60}, "targets.0.metric"),  # shape errors come from the parser
    ],
)
def test_a_bad_target_is_refused_naming_the_field_and_nothing_is_saved(api, admin_user, target, field):
    before = (SLAPolicy.objects.count(), SLATarget.objects.count())

    response = api(admin_user).post(
        "/api/v1/sla-policies/",
        {"name": "Broken", "targets": [{"metric": "triage", "duration_seconds": 3600}, target][1:]},
        format="json",
    )

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert field in response.json()["errors"], response.json()
    assert (SLAPolicy.objects.count(), SLATarget.objects.count()) == before


def test_an_unknown_calendar_time_zone_or_empty_calendar_is_refused_by_the_target(api, admin_user):
    from escalations.models import BusinessCalendar

    empty = BusinessCalendar.objects.create(name="No hours", time_zone="Europe/Dublin", is_24x7=False, working_hours={})
    response = api(admin_user).post(
        "/api/v1/sla-policies/",
        {"name": "Office", "targets": [{"metric": "triage", "duration_seconds": 3600, "calendar": empty.pk}]},
        format="json",
    )
    assert response.status_code == 400
    assert "targets[0].calendar" in response.json()["errors"]


def test_update_keeps_the_target_of_a_metric_bumps_the_version_and_refuses_a_stale_version(api, admin_user, policy):
    ack = _target(policy, "acknowledge")

    response = api(admin_user).patch(
        f"/api/v1/sla-policies/{policy.pk}/",
        {"version": 1, "priority": 5, "targets": [{"metric": "acknowledge", "duration_seconds": 900}]},
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["version"] == 2
    assert body["priority"] == 5
    assert [(t["id"], t["metric"], t["duration_seconds"]) for t in body["targets"]] == [(ack.pk, "acknowledge", 900)]
    stale = api(admin_user).patch(f"/api/v1/sla-policies/{policy.pk}/", {"version": 1, "priority": 7}, format="json")
    assert stale.status_code == 409
    assert api(admin_user).get(f"/api/v1/sla-policies/{policy.pk}/").json()["priority"] == 5


def test_a_policy_change_recomputes_its_open_clocks(api, admin_user, incident, policy):
    clock = make_clock(incident, _target(policy, "acknowledge"), due_in=timedelta(minutes=20))
    before = clock.due_at

    response = api(admin_user).patch(
        f"/api/v1/sla-policies/{policy.pk}/",
        {"targets": [{"metric": "acknowledge", "duration_seconds": 7200}, {"metric": "mitigation", "duration_seconds": 14400}]},
        format="json",
    )

    assert response.status_code == 200, response.json()
    clock.refresh_from_db()
    assert clock.due_at > before
    assert clock.events.filter(kind="recompute").exists()


def test_delete_removes_the_policy(api, admin_user, policy):
    assert api(admin_user).delete(f"/api/v1/sla-policies/{policy.pk}/").status_code == 204
    assert api(admin_user).get(f"/api/v1/sla-policies/{policy.pk}/").status_code == 404


def test_match_says_which_overlapping_policy_wins_and_why(api, lead):
    SLAPolicy.objects.all().delete()
    broad = make_policy("Any SEV1", severities=[1])
    specific = make_policy("SEV1 regulator orders", severities=[1], channels=["regulator_order"])
    same_rules_higher = make_policy("Any SEV1, urgent", severities=[1], priority=10)

    response = api(lead).get("/api/v1/sla-policies/match/", {"channel": "regulator_order", "severity": 1})

    assert response.status_code == 200
    body = response.json()
    assert body["policy"]["id"] == specific.pk
    assert body["reason"].startswith('"SEV1 regulator orders" (specificity 2, priority 0)')
    verdicts = {c["name"]: (c["matches"], c["specificity"], c["reason"].split(" (")[0]) for c in body["candidates"]}
    assert verdicts == {
        "SEV1 regulator orders": (True, 2, "applies: most specific match"),
        "Any SEV1, urgent": (True, 1, "matches, but less specific"),
        "Any SEV1": (True, 1, "matches, but less specific"),
    }

    tie = api(lead).get("/api/v1/sla-policies/match/", {"channel": "media_inquiry", "severity": 1}).json()
    assert tie["policy"]["id"] == same_rules_higher.pk
    assert tie["reason"].startswith('"Any SEV1, urgent" (specificity 1, priority 10)')
    lost = next(c for c in tie["candidates"] if c["policy"] == broad.pk)
    assert lost["reason"] == "matches as specifically, but loses the tie (priority, then older policy first) (SEV1 in [1])"
    assert next(c for c in tie["candidates"] if c["policy"] == specific.pk)["matches"] is False

    none = api(lead).get("/api/v1/sla-policies/match/", {"severity": 3}).json()
    assert none["policy"] is None
    assert none["reason"] == "no active SLA policy matches"


@pytest.mark.parametrize(
    ("params", "field"),
    [({"severity": "9"}, "severity"), ({"channel": "carrier-pigeon"}, "channel"), ({"flags": "sparkly"}, "flags")],
)
def test_match_refuses_bad_samples_naming_the_field(api, lead, params, field):
    response = api(lead).get("/api/v1/sla-policies/match/", params)

    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_match_refuses_a_nul_character_as_bad_input(api, lead):
    assert api(lead).get("/api/v1/sla-policies/match/", {"region": "\x00"}).status_code == 400


def test_hostile_policy_input_gets_400_not_500(api, admin_user):
    for body in (
        {"name": "x" * 5000, "targets": []},
        {"name": "Fine", "targets": "not a list"},
        {"name": "Fine", "targets": [{"metric": "acknowledge", "duration_seconds": 10**12}]},
        {"name": "Fine", "channels": ["nope"], "targets": [{"metric": "acknowledge", "duration_seconds": 60}]},
        {"name": "Fine", "targets": [{"metric": "acknowledge", "duration_seconds": 60, "on_warning": {"page_policy": "x"}}]},
    ):
        response = api(admin_user).post("/api/v1/sla-policies/", body, format="json")
        assert response.status_code == 400, (body, response.content)
