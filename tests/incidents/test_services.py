from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Clearance
from core import events
from core.errors import ValidationError
from core.models import AuditEvent
from incidents import services
from incidents.events import (
    IncidentAcknowledged,
    IncidentDeclared,
    IncidentFlagsChanged,
    IncidentMilestoneReached,
    IncidentSeverityChanged,
    IncidentStatusChanged,
    IncidentUpdated,
)
from incidents.models import Notification, Participant, ReachSnapshot
from incidents.severity import severity_propose
from tests.incidents.conftest import incident_data

pytestmark = pytest.mark.django_db


def _audited(action, incident):
    return AuditEvent.objects.filter(action=action, object_id=str(incident.pk)).exists()


@pytest.fixture
def captured():
    seen = []

    def record(event):
        seen.append(event)

    types = [
        IncidentDeclared,
        IncidentStatusChanged,
        IncidentSeverityChanged,
        IncidentAcknowledged,
        IncidentFlagsChanged,
        IncidentMilestoneReached,
        IncidentUpdated,
    ]
    for t in types:
        events.subscribe(t, record, in_transaction=True)
    yield seen
    for t in types:
        events._registry[t] = [s for s in events._registry[t] if s.handler is not record]


def test_every_service_writes_an_audit_row(manager, responder, reviewer, make_incident, captured):
    incident = make_incident()
    assert _audited("incident.create", incident)
    incident = services.incident_transition(actor=manager, incident=incident, to="triaged")
    assert _audited("incident.transition", incident)
    incident = services.incident_set_severity(actor=manager, incident=incident, severity=1, reason="Reach exploding")
    assert _audited("incident.severity", incident)
    incident = services.incident_update(actor=manager, incident=incident, data={"summary": "Now in PL too"}, version=incident.version)
    assert _audited("incident.update", incident)
    incident = services.incident_assign_commander(actor=manager, incident=incident, user=manager)
    assert _audited("incident.commander", incident)
    services.incident_add_participant(actor=manager, incident=incident, user=responder, role="responder")
    assert _audited("incident.participant", incident)
    services.incident_set_flags(actor=manager, incident=incident, flags={"waiting_on_external": True}, reason="Waiting on eSafety")
    assert _audited("incident.flags", incident)
    services.incident_acknowledge(actor=responder, incident=incident)
    services.incident_record_milestone(actor=manager, incident=incident, milestone="report_filed", data={"reference_number": "NCMEC-123"})
    assert _audited("incident.milestone", incident)
    services.incident_record_reach(actor=manager, incident=incident, views=2_000_000)
    assert _audited("incident.reach", incident)
    services.incident_grant_access(actor=manager, incident=incident, user=reviewer)
    assert _audited("incident.grant", incident)
    services.incident_revoke_access(actor=manager, incident=incident, user=reviewer)
    assert _audited("incident.revoke", incident)
    services.timeline_add_key_moment(actor=manager, incident=incident, summary="Hashtag blocked in search", at=None)
    assert _audited("incident.key_moment", incident)
    comment = services.comment_create(actor=manager, incident=incident, body="Noted.")
    assert AuditEvent.objects.filter(action="comment.create", object_id=str(comment.pk)).exists()
    other = make_incident(title="Same challenge again")
    services.incident_merge(actor=manager, duplicate=other, into=incident, reason="Same")
    assert _audited("incident.merge", other)
    services.incident_transition(actor=manager, incident=incident, to="investigating", reason="x")
    services.incident_transition(actor=manager, incident=incident, to="resolved", resolution_summary="Done")
    services.incident_transition(actor=manager, incident=incident, to="investigating", reason="It came back")
    assert _audited("incident.reopen", incident)

    kinds = {type(e).__name__ for e in captured}
    assert kinds == {
        "IncidentDeclared",
        "IncidentStatusChanged",
        "IncidentSeverityChanged",
        "IncidentAcknowledged",
        "IncidentFlagsChanged",
        "IncidentMilestoneReached",
        "IncidentUpdated",
    }


def test_acknowledge_sets_the_time_once_and_publishes_once(manager, responder, incident, captured):
    first = services.incident_acknowledge(actor=responder, incident=incident)
    again = services.incident_acknowledge(actor=manager, incident=incident)
    assert first.acknowledged_at == again.acknowledged_at is not None
    assert len([e for e in captured if isinstance(e, IncidentAcknowledged)]) == 1


def test_milestones_are_recorded_once_per_cycle(manager, incident, captured):
    with pytest.raises(ValidationError):
        services.incident_record_milestone(actor=manager, incident=incident, milestone="report_filed", data={})
    assert services.incident_record_milestone(actor=manager, incident=incident, milestone="first_response", data={}) is True
    assert services.incident_record_milestone(actor=manager, incident=incident, milestone="first_response", data={}) is False
    assert services.incident_record_milestone(actor=manager, incident=incident, milestone="mitigated", data={}) is True
    incident.refresh_from_db()
    assert incident.mitigated_at is not None
    assert [e.milestone for e in captured if isinstance(e, IncidentMilestoneReached)] == ["first_response", "mitigated"]


def test_waiting_on_external_needs_a_reason(manager, incident, captured):
    with pytest.raises(ValidationError) as excinfo:
        services.incident_set_flags(actor=manager, incident=incident, flags={"waiting_on_external": True}, reason="")
    assert "reason" in excinfo.value.errors
    incident = services.incident_set_flags(
        actor=manager, incident=incident, flags={"waiting_on_external": True}, reason="Awaiting BKA reply"
    )
    assert incident.waiting_reason == "Awaiting BKA reply"
    event = next(e for e in captured if isinstance(e, IncidentFlagsChanged))
    assert event.before["waiting_on_external"] is False and event.after["waiting_on_external"] is True


def test_references_are_sequential_per_year(make_incident):
    a, b = make_incident(), make_incident(title="Another")
    assert int(b.reference.rsplit("-", 1)[1]) == int(a.reference.rsplit("-", 1)[1]) + 1
    assert a.reference[:9] == f"INC-{timezone.now().year}-"


def test_hashtags_are_normalised(make_incident):
    incident = make_incident(hashtags=["#BlackoutChallenge", "blackoutchallenge", " #Trend "])
    assert incident.hashtags == ["blackoutchallenge", "trend"]


def test_commander_must_be_able_to_see_the_incident(manager, reviewer, csea_incident):
    with pytest.raises(ValidationError):
        services.incident_assign_commander(actor=manager, incident=csea_incident, user=reviewer)
    with pytest.raises(ValidationError):
        services.incident_add_participant(actor=manager, incident=csea_incident, user=reviewer)


def test_compartment_needs_the_author_to_be_cleared(manager, csea):
    with pytest.raises(ValidationError) as excinfo:
        services.incident_create(actor=manager, data=incident_data(compartment="csea"))
    assert "compartment" in excinfo.value.errors
    Clearance.objects.create(user=manager, compartment=csea)
    assert services.incident_create(actor=manager, data=incident_data(compartment="csea")).compartment == csea


def test_merge_moves_participants_and_links(manager, responder, make_incident):
    into = make_incident()
    duplicate = make_incident(title="Duplicate report", hashtags=["#other"])
    services.incident_add_participant(actor=manager, incident=duplicate, user=responder)
    services.incident_merge(actor=manager, duplicate=duplicate, into=into, reason="Same campaign")
    assert Participant.objects.filter(incident=into, user=responder).exists()
    into.refresh_from_db()
    assert "other" in into.hashtags
    with pytest.raises(ValidationError):
        services.incident_merge(actor=manager, duplicate=into, into=into, reason="x")


def test_mentions_notify_people_who_can_see(manager, responder, incident):
    services.comment_create(actor=manager, incident=incident, body="@responder can you check DE? cc @nobody-here")
    assert Notification.objects.filter(user=responder, kind="mention").count() == 1


def test_reach_snapshots_feed_velocity_into_the_severity_proposal(manager, make_incident):
    incident = make_incident(harm_category="misinformation", severity=4, reach_views=0)
    ReachSnapshot.objects.create(incident=incident, at=timezone.now() - timedelta(hours=1), views=10_000)
    ReachSnapshot.objects.create(incident=incident, at=timezone.now(), views=400_000)
    severity, reasons = severity_propose(data_or_incident=incident)
    assert severity == 2
    assert any("views/hour" in r for r in reasons)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"harm_category": "csea"}, 1),
        ({"harm_category": "intellectual-property"}, 4),
        ({"harm_category": "misinformation", "reach_views": 10}, 4),
        ({"harm_category": "misinformation", "reach_views": 5_000}, 3),
        ({"harm_category": "misinformation", "reach_views": 5_000_000}, 2),
        ({"harm_category": "misinformation", "reach_views": 5_000_000, "regulatory": True}, 1),
        ({"harm_category": "dangerous-challenges", "minors_involved": True, "reach_views": 5_000}, 1),
        ({"harm_category": "hate-speech", "media_interest": True, "reach_views": 5_000}, 1),
        ({"harm_category": "intellectual-property", "imminent_risk": True}, 1),
    ],
)
def test_severity_matrix(data, expected):
    severity, reasons = severity_propose(data_or_incident=data)
    assert severity == expected, reasons
    assert reasons


def test_create_without_severity_uses_the_proposal(manager):
    incident = services.incident_create(
        actor=manager, data=incident_data(severity=None, harm_category="dangerous-challenges", minors_involved=True, reach_views=3_000_000)
    )
    assert incident.severity == 1
    assert incident.timeline.get(kind="created").data["proposal"]
