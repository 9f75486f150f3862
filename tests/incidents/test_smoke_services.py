import pytest

from core.models import AuditEvent
from incidents.models import Incident, Status
from incidents.selectors import incident_get_visible, incident_list_visible
from incidents.services import comment_create, incident_find_duplicates, incident_transition

pytestmark = pytest.mark.django_db


def test_create_assigns_yearly_reference_and_records_everything(incident, manager):
    assert incident.reference.startswith("INC-2026-")
    assert incident.timeline.filter(kind="created").exists()
    assert AuditEvent.objects.filter(action="incident.create", object_id=str(incident.pk)).exists()
    assert incident_get_visible(user=manager, pk=incident.pk) == incident


def test_walk_the_lifecycle(incident, manager):
    incident = incident_transition(actor=manager, incident=incident, to="triaged")
    incident = incident_transition(actor=manager, incident=incident, to="investigating")
    incident = incident_transition(actor=manager, incident=incident, to="resolved", resolution_summary="Removed.")
    assert incident.status == Status.RESOLVED
    assert incident.triaged_at and incident.resolved_at and incident.acknowledged_at


def test_csea_hidden_from_uncleared(csea_incident, reviewer, manager):
    assert not incident_list_visible(user=reviewer).filter(pk=csea_incident.pk).exists()
    assert incident_list_visible(user=manager).filter(pk=csea_incident.pk).exists()
    assert incident_list_visible(user=manager, filters={"q": "network"}).count() == 1
    comment_create(actor=manager, incident=csea_incident, body="hello @reviewer <script>alert(1)</script>")


def test_duplicates(incident, manager, make_incident):
    dups = incident_find_duplicates(data={"title": "Dangerous blackout challenge trending with minors", "hashtags": []}, user=manager)
    assert [d[0] for d in dups] == [incident]
    assert Incident.objects.count() == 1
