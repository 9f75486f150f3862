from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import Conflict, Forbidden, ValidationError
from core.models import AuditEvent
from incidents.models import Incident, Notification, TimelineEvent
from incidents.models_collab import MitigationAction, Task, TaskStatus
from incidents.services_collab import mitigation_record, task_complete, task_create, task_update
from tests.accounts.factories import TeamFactory

pytestmark = pytest.mark.django_db


def test_task_create_records_timeline_audit_and_notifies_the_assignee(incident, manager, responder):
    due = timezone.now() + timedelta(hours=2)
    task = task_create(actor=manager, incident=incident, title="Pull the hashtag from search", assignee=responder, due_at=due)
    assert task.status == TaskStatus.OPEN and task.assignee == responder
    event = TimelineEvent.objects.get(incident=incident, kind="task")
    assert "Pull the hashtag from search" in event.summary and event.data["task_id"] == task.pk
    assert AuditEvent.objects.filter(action="task.create", object_id=str(task.pk)).exists()
    note = Notification.objects.get(user=responder, kind="task_assigned")
    assert incident.reference in note.text


def test_task_can_go_to_a_team_but_not_to_a_person_and_a_team(incident, manager, responder):
    team = TeamFactory(slug="policy", name="Policy")
    task = task_create(actor=manager, incident=incident, title="Draft policy line", assignee_team=team)
    assert task.assignee_team == team
    with pytest.raises(ValidationError) as exc:
        task_create(actor=manager, incident=incident, title="Both", assignee=responder, assignee_team=team)
    assert "assignee" in exc.value.errors


def test_task_cannot_be_assigned_to_someone_who_cannot_see_the_incident(csea_incident, manager, reviewer):
    with pytest.raises(ValidationError) as exc:
        task_create(actor=manager, incident=csea_incident, title="Review", assignee=reviewer)
    assert "assignee" in exc.value.errors
    assert not Notification.objects.filter(user=reviewer).exists()


def test_task_needs_a_title_and_a_role_that_may_add_tasks(incident, manager, make_user):
    with pytest.raises(ValidationError) as exc:
        task_create(actor=manager, incident=incident, title="   ")
    assert "title" in exc.value.errors
    viewer = make_user("viewer1", role="viewer")
    with pytest.raises(Forbidden):
        task_create(actor=viewer, incident=incident, title="Nope")


def test_task_update_and_complete_are_versioned_and_on_the_timeline(incident, manager, responder):
    task = task_create(actor=manager, incident=incident, title="Contact partner")
    task = task_update(actor=responder, task=task, status=TaskStatus.IN_PROGRESS, version=1)
    assert task.version == 2 and task.completed_at is None
    with pytest.raises(Conflict) as exc:
        task_update(actor=manager, task=task, title="Stale", version=1)
    assert exc.value.extra["current_version"] == 2
    done = task_complete(actor=responder, task=task, version=2)
    assert done.status == TaskStatus.DONE and done.completed_at is not None
    summaries = list(TimelineEvent.objects.filter(incident=incident, kind="task").values_list("summary", flat=True))
    assert any("in progress" in s for s in summaries) and any("done" in s for s in summaries)


def test_first_mitigation_sets_mitigated_at_once(incident, responder):
    first_at = timezone.now() - timedelta(minutes=30)
    mitigation_record(actor=responder, incident=incident, kind="content_removed", count=412, at=first_at)
    mitigation_record(actor=responder, incident=incident, kind="geo_restricted", count=3, countries=["de", "FR"])
    incident = Incident.objects.get(pk=incident.pk)
    assert incident.mitigated_at == first_at
    assert list(MitigationAction.objects.filter(incident=incident).values_list("kind", flat=True)) == [
        "content_removed",
        "geo_restricted",
    ]
    assert MitigationAction.objects.get(kind="geo_restricted").countries == ["DE", "FR"]
    assert TimelineEvent.objects.filter(incident=incident, kind="milestone", data__milestone="mitigated").count() == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kind": "nuked"}, "kind"),
        ({"kind": "geo_restricted", "countries": []}, "countries"),
        ({"kind": "other", "countries": ["Germany"]}, "countries"),
        ({"kind": "other", "count": -1}, "count"),
    ],
)
def test_mitigation_refuses_bad_input_naming_the_field(incident, responder, kwargs, field):
    with pytest.raises(ValidationError) as exc:
        mitigation_record(actor=responder, incident=incident, **kwargs)
    assert field in exc.value.errors
    assert not MitigationAction.objects.exists()


def test_mitigation_cannot_take_effect_in_the_future(incident, responder):
    with pytest.raises(ValidationError) as exc:
        mitigation_record(actor=responder, incident=incident, kind="other", at=timezone.now() + timedelta(hours=1))
    assert "at" in exc.value.errors


# --- API -----------------------------------------------------------------------------------


def test_tasks_api_create_list_patch_complete(api, incident, manager, responder):
    client = api(manager)
    url = f"/api/v1/incidents/{incident.pk}/tasks/"
    created = client.post(url, {"title": "Escalate to search team", "assignee": responder.pk}, format="json")
    assert created.status_code == 201, created.content
    task_id = created.json()["id"]
    listed = client.get(url).json()
    assert [t["title"] for t in listed["results"]] == ["Escalate to search team"]
    patched = client.patch(f"{url}{task_id}/", {"status": "in_progress", "version": 1}, format="json")
    assert patched.status_code == 200 and patched.json()["status"] == "in_progress"
    stale = client.patch(f"{url}{task_id}/", {"title": "x", "version": 1}, format="json")
    assert stale.status_code == 409 and stale["Content-Type"] == "application/problem+json"
    done = api(responder).post(f"{url}{task_id}/complete/", {}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "done"


def test_tasks_api_bad_input_is_a_problem_naming_the_field(api, incident, manager):
    response = api(manager).post(f"/api/v1/incidents/{incident.pk}/tasks/", {"title": ""}, format="json")
    assert response.status_code == 400
    assert "title" in response.json()["errors"]


def test_mitigations_api(api, incident, responder, manager):
    url = f"/api/v1/incidents/{incident.pk}/mitigations/"
    response = api(responder).post(url, {"kind": "hashtag_intervention", "count": 2, "detail": "#blackoutchallenge"}, format="json")
    assert response.status_code == 201, response.content
    assert api(manager).get(url).json()["results"][0]["kind"] == "hashtag_intervention"
    bad = api(responder).post(url, {"kind": "geo_restricted", "count": 1}, format="json")
    assert bad.status_code == 400 and "countries" in bad.json()["errors"]


def test_viewer_may_list_but_not_add_tasks(api, incident, make_user):
    viewer = make_user("viewer2", role="viewer")
    assert api(viewer).get(f"/api/v1/incidents/{incident.pk}/tasks/").status_code == 200
    assert api(viewer).post(f"/api/v1/incidents/{incident.pk}/tasks/", {"title": "x"}, format="json").status_code == 403
    assert not Task.objects.exists()


def test_changing_only_the_detail_is_saved_and_an_unchanged_save_is_a_no_op(incident, manager):
    task = task_create(actor=manager, incident=incident, title="Brief Comms")
    task = task_update(actor=manager, task=task, detail="Use the holding line from 09:00.")
    assert Task.objects.get(pk=task.pk).detail == "Use the holding line from 09:00." and task.version == 2
    again = task_update(actor=manager, task=task, detail="Use the holding line from 09:00.", title="Brief Comms")
    assert again.version == 2
    assert TimelineEvent.objects.filter(incident=incident, kind="task").count() == 2


# --- HTML partial ------------------------------------------------------------------------------


def test_tasks_partial_placeholder_loads_itself(incident, rf):
    from django.template.loader import render_to_string

    html = render_to_string("incidents/_tasks.html", {"incident": incident})
    assert f'hx-get="/incidents/{incident.pk}/tasks/"' in html and 'hx-trigger="load"' in html


def test_tasks_partial_adds_changes_and_refuses_in_place(client, incident, manager, responder):
    client.force_login(manager)
    url = f"/incidents/{incident.pk}/tasks/"
    added = client.post(url, {"task-title": "Call the trusted flagger", "task-assignee": responder.pk}, HTTP_HX_REQUEST="true")
    assert added.status_code == 200 and "Call the trusted flagger" in added.content.decode()
    assert added["HX-Trigger"] == "incident-changed"  # the page's timeline refreshes
    task = Task.objects.get()
    changed = client.post(f"{url}{task.pk}/status/", {"status": "done", "version": task.version}, HTTP_HX_REQUEST="true")
    assert changed.status_code == 200 and Task.objects.get().status == "done"
    refused = client.post(url, {"task-title": ""})
    assert refused.status_code == 400 and 'aria-invalid="true"' in refused.content.decode()
    assert "HX-Trigger" not in refused
    stale = client.post(f"{url}{task.pk}/status/", {"status": "open", "version": 1})
    assert stale.status_code == 409 and "Someone else changed" in stale.content.decode()


def test_mitigation_form_records_and_names_bad_fields(client, incident, responder):
    client.force_login(responder)
    url = f"/incidents/{incident.pk}/mitigations/"
    ok = client.post(url, {"mit-kind": "geo_restricted", "mit-count": 4, "mit-countries": "de, at"}, HTTP_HX_REQUEST="true")
    assert ok.status_code == 200 and "DE, AT" in ok.content.decode()
    bad = client.post(url, {"mit-kind": "geo_restricted", "mit-count": 4, "mit-countries": ""})
    assert bad.status_code == 400 and "Name the countries" in bad.content.decode()
    assert Incident.objects.get(pk=incident.pk).mitigated_at is not None


def test_an_open_task_past_its_due_time_is_marked_overdue(client, incident, manager):
    task_create(actor=manager, incident=incident, title="Late one", due_at=timezone.now() - timedelta(minutes=5))
    task_create(actor=manager, incident=incident, title="Future one", due_at=timezone.now() + timedelta(hours=5))
    client.force_login(manager)
    html = client.get(f"/incidents/{incident.pk}/tasks/").content.decode()
    assert html.count(">overdue<") == 1
