import itertools

import pytest

from core.errors import Conflict, ValidationError
from incidents import lifecycle
from incidents.models import Incident, IncidentCycle, Status
from incidents.services import incident_transition, incident_update

pytestmark = pytest.mark.django_db

PAIRS = list(itertools.product(Status.values, Status.values))


def _in_status(incident, status):
    Incident.objects.filter(pk=incident.pk).update(status=status)
    return Incident.objects.get(pk=incident.pk)


@pytest.mark.parametrize(("start", "target"), PAIRS)
def test_every_pair_of_statuses_through_the_service(incident, manager, start, target):
    incident = _in_status(incident, start)
    allowed = lifecycle.allowed_targets(start)
    if target in allowed:
        moved = incident_transition(actor=manager, incident=incident, to=target, reason="Checked", resolution_summary="Removed at source")
        assert moved.status == target
        event = moved.timeline.filter(kind__in=["status_changed", "reopened"]).latest("id")
        assert event.data["from"] == start and event.data["to"] == target
    else:
        with pytest.raises(Conflict) as excinfo:
            incident_transition(actor=manager, incident=incident, to=target, reason="Checked", resolution_summary="Removed at source")
        assert excinfo.value.extra["allowed"] == list(allowed)
        for name in allowed:
            assert name in excinfo.value.message
        assert Incident.objects.get(pk=incident.pk).status == start


@pytest.mark.parametrize(("start", "target"), PAIRS)
def test_every_pair_of_statuses_through_the_api(api, incident, manager, start, target):
    incident = _in_status(incident, start)
    allowed = lifecycle.allowed_targets(start)
    response = api(manager).post(
        f"/api/v1/incidents/{incident.pk}/transition/",
        {"to": target, "reason": "Checked", "resolution_summary": "Removed at source", "version": incident.version},
        format="json",
    )
    if target in allowed:
        assert response.status_code == 200, response.json()
        assert response.json()["status"] == target
    else:
        assert response.status_code == 409
        body = response.json()
        assert body["allowed"] == list(allowed)
        assert response["Content-Type"] == "application/problem+json"


def test_resolving_needs_a_resolution_summary(incident, manager):
    incident = incident_transition(actor=manager, incident=incident, to="investigating")
    with pytest.raises(ValidationError) as excinfo:
        incident_transition(actor=manager, incident=incident, to="resolved")
    assert "resolution_summary" in excinfo.value.errors


def test_resolving_without_summary_via_api_names_the_field(api, incident, manager):
    incident = incident_transition(actor=manager, incident=incident, to="investigating")
    response = api(manager).post(f"/api/v1/incidents/{incident.pk}/transition/", {"to": "resolved"}, format="json")
    assert response.status_code == 400
    assert "resolution_summary" in response.json()["errors"]


def test_reopen_starts_a_new_cycle_and_keeps_the_first_cycles_times(incident, manager):
    incident = incident_transition(actor=manager, incident=incident, to="triaged")
    incident = incident_transition(actor=manager, incident=incident, to="investigating")
    incident = incident_transition(actor=manager, incident=incident, to="monitoring")
    incident = incident_transition(actor=manager, incident=incident, to="resolved", resolution_summary="Hashtag blocked.")
    first = {f: getattr(incident, f) for f in ("acknowledged_at", "triaged_at", "mitigated_at", "resolved_at")}
    assert all(first.values())

    with pytest.raises(ValidationError):
        incident_transition(actor=manager, incident=incident, to="investigating")  # reopening needs a reason
    incident = incident_transition(actor=manager, incident=incident, to="investigating", reason="New wave of uploads")
    assert incident.cycle == 2
    assert incident.timeline.filter(kind="reopened", cycle=2).exists()
    incident = incident_transition(actor=manager, incident=incident, to="resolved", resolution_summary="Second wave removed.")

    incident.refresh_from_db()
    assert {f: getattr(incident, f) for f in first} == first
    cycles = list(IncidentCycle.objects.filter(incident=incident).order_by("number"))
    assert [c.number for c in cycles] == [1, 2]
    assert cycles[0].resolved_at == first["resolved_at"]
    assert cycles[1].resolved_at is not None and cycles[1].resolved_at >= cycles[0].resolved_at
    assert cycles[1].reopen_reason == "New wave of uploads"


def test_milestone_times_are_not_overwritten_by_an_edit(api, incident, manager):
    incident = incident_transition(actor=manager, incident=incident, to="triaged")
    triaged_at = incident.triaged_at
    response = api(manager).patch(
        f"/api/v1/incidents/{incident.pk}/",
        {"version": incident.version, "title": "Renamed", "triaged_at": "2020-01-01T00:00:00Z", "resolved_at": "2020-01-01T00:00:00Z"},
        format="json",
    )
    assert response.status_code == 200
    incident.refresh_from_db()
    assert incident.title == "Renamed"
    assert incident.triaged_at == triaged_at
    assert incident.resolved_at is None

    # An already recorded received time is not changed through an edit either.
    incident_update(actor=manager, incident=incident, data={"received_at": "2026-01-01T00:00:00Z"}, version=incident.version)
    incident.refresh_from_db()
    with pytest.raises(ValidationError):
        incident_update(actor=manager, incident=incident, data={"received_at": "2025-01-01T00:00:00Z"}, version=incident.version)


def test_merge_is_only_reached_through_merge(incident, manager, make_incident):
    from incidents.services import incident_merge

    other = make_incident(title="Same blackout challenge, reported by a partner")
    with pytest.raises(Conflict):
        incident_transition(actor=manager, incident=other, to="merged")
    merged = incident_merge(actor=manager, duplicate=other, into=incident, reason="Same challenge")
    assert merged.status == Status.MERGED and merged.merged_into_id == incident.pk
    assert incident.related.filter(pk=other.pk).exists()
