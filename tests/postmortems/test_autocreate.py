import datetime as dt

import pytest

from core.models import AuditEvent
from incidents.models import TimelineEvent
from incidents.services import incident_transition
from postmortems.models import PostMortem, PostMortemPolicy, TimelineEntry
from tests.postmortems.conftest import resolve

pytestmark = pytest.mark.django_db


def test_resolving_a_sev1_creates_one_postmortem_owned_by_the_commander(manager, make_resolved):
    incident = make_resolved()

    postmortem = PostMortem.objects.get(incident=incident)
    assert postmortem.owner == manager
    assert postmortem.auto_created is True
    assert postmortem.status == "draft"
    assert postmortem.due_on == incident.resolved_at.date() + dt.timedelta(days=14)
    assert TimelineEvent.objects.filter(incident=incident, kind="postmortem", summary__startswith="Post-mortem started").count() == 1
    assert AuditEvent.objects.filter(action="postmortem.create", object_id=str(postmortem.pk)).count() == 1


def test_the_commander_is_told_when_someone_else_resolves(make_user, manager, make_incident):
    from incidents.models import Notification

    other = make_user("other-manager", role="incident_manager")
    incident = resolve(other, make_incident())
    note = Notification.objects.get(user=manager, kind="postmortem_assigned")
    assert incident.reference in note.text and note.url == f"/postmortems/{incident.postmortem.pk}/"


def test_reopen_and_resolve_again_keeps_the_single_postmortem(manager, make_resolved):
    incident = make_resolved()
    first = PostMortem.objects.get(incident=incident)

    incident = incident_transition(actor=manager, incident=incident, to="investigating", reason="The trend came back in FR")
    incident = incident_transition(actor=manager, incident=incident, to="resolved", resolution_summary="Blocked again.")

    assert PostMortem.objects.filter(incident=incident).count() == 1
    assert PostMortem.objects.get(incident=incident).pk == first.pk
    assert TimelineEvent.objects.filter(incident=incident, kind="postmortem").count() == 1


def test_a_retried_creation_returns_the_existing_postmortem(manager, make_resolved):
    from postmortems.services import postmortem_ensure_for_incident

    incident = make_resolved()
    again = postmortem_ensure_for_incident(incident_id=incident.pk, actor=manager)

    assert again.pk == incident.postmortem.pk
    assert PostMortem.objects.filter(incident=incident).count() == 1


def test_sev3_resolve_creates_no_postmortem(make_resolved):
    incident = make_resolved(severity=3)
    assert not PostMortem.objects.filter(incident=incident).exists()


def test_policy_is_data_sev3_required_when_the_admin_widens_it(make_resolved):
    PostMortemPolicy.objects.update(max_severity=3, due_days=5)
    incident = make_resolved(severity=3)
    postmortem = PostMortem.objects.get(incident=incident)
    assert postmortem.due_on == incident.resolved_at.date() + dt.timedelta(days=5)


def test_other_transitions_do_not_create_postmortems(manager, make_incident):
    incident = make_incident()
    incident_transition(actor=manager, incident=incident, to="investigating")
    assert not PostMortem.objects.exists()


def test_impact_and_timeline_are_prefilled_from_the_incident(make_resolved):
    incident = make_resolved()
    postmortem = incident.postmortem

    assert postmortem.impact_data["reach_views"] == 1_250_000
    assert postmortem.impact_data["countries"] == ["DE", "FR"]
    assert postmortem.impact_data["languages"] == ["de", "fr"]
    assert postmortem.impact_data["duration_seconds"] is not None
    assert "1,250,000 views" in postmortem.impact
    assert "Time to detect" in postmortem.detection

    entries = list(TimelineEntry.objects.filter(postmortem=postmortem))
    key_moment = TimelineEvent.objects.get(incident=incident, kind="key_moment")
    assert any(e.source_event_id == key_moment.pk and e.text == "Hashtag blocked in search" for e in entries)
    assert any(e.kind == "status_changed" for e in entries)
    # Every copy links back to the event it came from.
    assert all(e.source_event_id is not None for e in entries)


def test_timeline_reimport_adds_only_new_events_and_keeps_edits(manager, make_resolved):
    from incidents.services import timeline_add_key_moment
    from postmortems.services import postmortem_timeline_import, timeline_entry_update

    incident = make_resolved()
    postmortem = incident.postmortem
    entry = TimelineEntry.objects.get(postmortem=postmortem, kind="key_moment")
    timeline_entry_update(actor=manager, entry=entry, text="Search intervention on the hashtag")
    count = TimelineEntry.objects.filter(postmortem=postmortem).count()

    timeline_add_key_moment(actor=manager, incident=incident, summary="Press statement sent", at=None)
    added = postmortem_timeline_import(actor=manager, postmortem=postmortem)

    assert added == 1
    assert TimelineEntry.objects.filter(postmortem=postmortem).count() == count + 1
    entry.refresh_from_db()
    assert entry.text == "Search intervention on the hashtag"


def test_manager_can_start_one_by_hand_for_a_sev3_but_not_twice(manager, make_resolved):
    from core.errors import Conflict
    from postmortems.services import postmortem_start

    incident = make_resolved(severity=3)
    postmortem = postmortem_start(actor=manager, incident=incident)
    assert postmortem.auto_created is False
    with pytest.raises(Conflict):
        postmortem_start(actor=manager, incident=incident)
    assert PostMortem.objects.filter(incident=incident).count() == 1


def test_resolve_helper_publishes_inside_the_transaction(manager, make_incident):
    # The subscriber writes in the resolving transaction: no on_commit callback needed.
    incident = resolve(manager, make_incident(severity=2))
    assert PostMortem.objects.filter(incident=incident).exists()


def test_content_removed_comes_from_the_recorded_mitigation_counts(client, manager, make_incident):
    from incidents.services_collab import mitigation_record

    incident = make_incident()
    mitigation_record(actor=manager, incident=incident, kind="content_removed", count=1200)
    mitigation_record(actor=manager, incident=incident, kind="content_removed", count=34)
    mitigation_record(actor=manager, incident=incident, kind="hashtag_intervention", count=3)
    postmortem = resolve(manager, incident).postmortem

    assert postmortem.impact_data["content_removed"] == 1234
    assert postmortem.impact_data["mitigations"] == {"content_removed": 1234, "hashtag_intervention": 3}
    assert "Content removed: 1,234 items" in postmortem.impact
    client.force_login(manager)
    page = client.get(f"/postmortems/{postmortem.pk}/").content.decode()
    assert "1,234 items" in page and "1,250,000 views" in page
